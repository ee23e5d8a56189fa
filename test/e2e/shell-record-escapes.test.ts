// @module-tag needs-asciinema
// @module-tag needs-node-pty
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSessionsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';

// Issue 16: ssmx shell --record FILE, an asciicast v2 recording that Debian's asciinema plays.

const TARGET = 'i-0123456789abcdef0';
const PROMPT = 'rec$ ';
const ASCIINEMA = ['/usr/bin/asciinema', '/usr/local/bin/asciinema'].find((path) => existsSync(path));
let emulator: EmulatorProcess;
let dir: string;

beforeAll(async () => {
  if (!ASCIINEMA) throw new Error('asciinema is not installed (apt-get install asciinema; .ci/run does)');
  emulator = await startEmulatorProcess(['--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`]);
  dir = mkdtempSync(join(tmpdir(), 'ssmx-record-'));
});
afterAll(async () => {
  await emulator?.stop();
});

const events = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);

/** The ids of the sessions active on the emulator. */
async function activeSessions(): Promise<string[]> {
  const { info } = emulator;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  try {
    return ((await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).Sessions ?? []).map((session) => session.SessionId!).sort();
  } finally {
    ssm.destroy();
  }
}

/** asciinema reads its keys from /dev/tty: it runs in a terminal of its own. */
async function asciinema(args: string[]): Promise<{ exitCode: number; output: string }> {
  const term = runInPty(ASCIINEMA!, args, { env: { ...process.env, TERM: 'xterm-256color' } });
  const { exitCode } = await term.exited;
  return { exitCode, output: term.output() };
}

describe('ssmx shell --record', () => {
  it('writes a 0600 asciicast v2 file (--overwrite: over an old one): header, output with times, a resize; asciinema plays it; no input unless asked', async () => {
    const file = join(dir, 'session.cast');
    writeFileSync(file, 'old contents', { mode: 0o644 });
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET, '--record', file, '--overwrite'], { env: emulator.env, cols: 100, rows: 30 });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    term.write('echo recorded-$((6*7))\r');
    await term.waitFor(/recorded-42\r\n/);
    term.pty.resize(120, 40);
    term.write('echo typed-secret-$((1+1))\r');
    await term.waitFor(/typed-secret-2\r\n/);
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);

    expect(statSync(file).mode & 0o777).toBe(0o600);
    const [header, ...rest] = events(file) as [Record<string, unknown>, ...Array<[number, string, string]>];
    expect(header).toMatchObject({ version: 2, width: 100, height: 30, command: `ssmx shell ${TARGET}`, target: TARGET });
    expect(typeof header.timestamp).toBe('number');
    const output = rest.filter((event) => event[1] === 'o').map((event) => event[2]).join('');
    expect(output).toContain('recorded-42');
    expect(rest.some((event) => event[1] === 'r' && event[2] === '120x40')).toBe(true);
    expect(rest.some((event) => event[1] === 'i')).toBe(false);
    const times = rest.map((event) => event[0]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const play = await asciinema(['play', '-s', '50', '-i', '0.1', file]);
    expect(play.exitCode).toBe(0);
    expect(play.output).toContain('recorded-42');
    expect(play.output).toContain('typed-secret-2');
  }, 60_000);

  it('--record-input keeps what is typed too', async () => {
    const file = join(dir, 'with-input.cast');
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET, '--record', file, '--record-input'], { env: emulator.env });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    term.write('exit\r');
    await term.exited;
    const typed = (events(file).slice(1) as Array<[number, string, string]>).filter((event) => event[1] === 'i').map((event) => event[2]).join('');
    expect(typed).toContain('exit\r');
  }, 60_000);

  it('a session cut mid-way leaves a recording that plays up to the cut', async () => {
    const file = join(dir, 'cut.cast');
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET, '--record', file], { env: emulator.env });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    term.write('echo before-the-$((2+2))-cut\r');
    // The command's output, not its echo.
    await term.waitFor(/before-the-4-cut\r\n/);
    term.pty.kill('SIGKILL');
    await term.exited;
    expect(() => events(file)).not.toThrow();
    const played = await asciinema(['play', '-s', '50', '-i', '0.1', file]);
    expect(played.exitCode).toBe(0);
    expect(played.output).toContain('before-the-4-cut');
  }, 60_000);

  // Issue 28, point 14: --record replaced whatever file was there.
  it('an existing recording is kept: without --overwrite it is a usage error, as asciinema rec refuses, before any session', async () => {
    const file = join(dir, 'kept.cast');
    writeFileSync(file, 'an earlier recording\n');
    const activeBefore = await activeSessions();
    const result = await runProgram(process.execPath, [ssmxBin, 'shell', TARGET, '--record', file], { env: emulator.env, input: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`ssmx: error: the recording ${file} already exists\nhint: --overwrite replaces it (as asciinema rec --overwrite)\n`);
    expect(readFileSync(file, 'utf8')).toBe('an earlier recording\n');
    expect(await activeSessions()).toEqual(activeBefore);
  });

  it('--record-input and --overwrite without --record are usage errors', async () => {
    for (const flag of ['--record-input', '--overwrite']) {
      const result = await runProgram(process.execPath, [ssmxBin, 'shell', TARGET, flag], { env: emulator.env, input: '' });
      expect(result.code, flag).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^ssmx: error: ${flag} is for --record FILE\n`));
    }
  });

  it('a file that cannot be written is a usage error, before any session', async () => {
    const result = await runProgram(process.execPath, [ssmxBin, 'shell', TARGET, '--record', join(dir, 'no', 'such', 'dir.cast')], { env: emulator.env, input: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot write the recording .*: ENOENT/);
  });
});

describe('escapes in ssmx shell (OpenSSH\'s), in a real PTY', () => {
  it('~? lists them; ~~ sends one ~; ~. ends a busy session at once, terminated on the service, exit 255', async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET], { env: emulator.env });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    term.write('\r~?');
    await term.waitFor('~.   - end the session');
    term.write('echo ~~home\r');
    await term.waitFor(/~home\r\n/);
    // A command that ignores everything: only the escape gets out.
    term.write('sleep 600\r');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    term.write('\r~.');
    const { exitCode } = await term.exited;
    // 255, as OpenSSH's ssh after ~.: a script tells a cut-off session from a clean end (0).
    expect(exitCode).toBe(255);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(term.output()).toContain('session ended by the escape (~.)');
    // Terminated on the service, not left running there.
    const sessionId = /SessionId: (\S+)/.exec(term.output())![1]!;
    const { info } = emulator;
    const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const history = await ssm.send(new DescribeSessionsCommand({ State: 'History' }));
    ssm.destroy();
    expect(history.Sessions?.find((session) => session.SessionId === sessionId)?.Status).toBe('Terminated');
  }, 60_000);

  it('--escape-char none: ~. is sent as typed', async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET, '--escape-char', 'none'], { env: emulator.env });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    term.write('echo ~.\r');
    await term.waitFor(/~\.\r\n/);
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  }, 60_000);
});
