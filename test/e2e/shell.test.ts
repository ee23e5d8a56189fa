// @module-tag needs-node-pty
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';

const INSTANCE = 'i-0123456789abcdef0';
const PROMPT = 'ssmx-test$ ';
// A deterministic prompt and no rc files, so tests read the shell, not a distribution's dotfiles.
const SHELL = `PS1='${PROMPT}' exec bash --norc --noprofile`;

let emulator: EmulatorProcess;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--shell', SHELL]);
});
afterAll(async () => {
  await emulator?.stop();
});

function openShell(cols = 80, rows = 24) {
  return runInPty(process.execPath, [ssmxBin, 'shell', INSTANCE], { env: emulator.env, cols, rows });
}

describe('ssmx shell in a real terminal', () => {
  it('shows the prompt, echoes typed input, runs it, and ends with status 0 within a second of exit', async () => {
    const term = openShell();
    await term.waitFor(PROMPT);
    const mark = term.output().length;
    term.write('echo typed-$((6*7))\r');
    await term.waitFor('echo typed-$((6*7))', { from: mark });
    await term.waitFor(/typed-42\r\n/, { from: mark });
    const sentExit = Date.now();
    term.write('exit\r');
    const { exitCode, at } = await term.exited;
    expect(exitCode).toBe(0);
    expect(at - sentExit).toBeLessThan(1000);
  });

  it('sends the terminal size at start and again on every resize', async () => {
    const term = openShell(120, 40);
    await term.waitFor(PROMPT);
    let mark = term.output().length;
    term.write('stty size\r');
    await term.waitFor(/40 120\r\n/, { from: mark });
    term.pty.resize(100, 30);
    // The resize travels as its own message; the next keystrokes follow it in sequence order.
    mark = term.output().length;
    term.write('stty size\r');
    await term.waitFor(/30 100\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  });

  it('Ctrl-C stops a remote sleep and the session goes on; Ctrl-Z and Ctrl-\\ reach the remote too', async () => {
    const term = openShell();
    await term.waitFor(PROMPT);
    // Each command says when it runs, then becomes the sleep: the key is typed only once that
    // process holds the terminal (a key typed earlier goes to the shell, which ignores it).
    const runUntilReady = async (name: string, seconds: number) => {
      const mark = term.output().length;
      term.write(`sh -c 'echo ${name}-$((1+1)); exec sleep ${seconds}'\r`);
      await term.waitFor(`${name}-2\r\n`, { from: mark });
      return term.output().length;
    };
    let mark = await runUntilReady('int', 100);
    term.write('\x03');
    await term.waitFor(PROMPT, { from: mark });
    mark = await runUntilReady('stop', 101);
    term.write('\x1a');
    await term.waitFor(/Stopped/, { from: mark });
    mark = term.output().length;
    term.write('kill -9 %1\r');
    await term.waitFor(PROMPT, { from: mark });
    mark = await runUntilReady('quit', 102);
    term.write('\x1c');
    await term.waitFor(/Quit/, { from: mark });
    mark = term.output().length;
    term.write('echo still-$((1+1))\r');
    await term.waitFor(/still-2\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  });

  it('leaves the terminal modes exactly as it found them, after exit and after SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-stty-'));
    const ssmx = `"${process.execPath}" "${ssmxBin}" shell ${INSTANCE}`;
    const script = [
      `stty -g > ${dir}/before`,
      `${ssmx}; echo "status=$?"`,
      `stty -g > ${dir}/after-exit`,
      // exec keeps the pid the test reads, and keeps ssmx in the foreground on the terminal.
      `sh -c 'echo "pid=$$"; exec ${ssmx}'; echo "status=$?"`,
      `stty -g > ${dir}/after-term`,
    ].join('\n');
    const term = runInPty('/bin/bash', ['--norc', '--noprofile', '-c', script], { env: emulator.env });
    const tty = (term.pty as unknown as { _pty: string })._pty;
    const modes = () => execFileSync('stty', ['-a', '-F', tty], { encoding: 'utf8' });
    await term.waitFor(PROMPT);
    // While the session runs the terminal is raw, output untranslated.
    expect(modes()).toMatch(/-icanon\b[\s\S]*-echo\b/);
    expect(modes()).toMatch(/-opost\b/);
    term.write('exit\r');
    await term.waitFor('status=0');
    const mark = term.output().indexOf('status=0');
    const pid = Number(/pid=(\d+)/.exec(await term.waitFor(/pid=\d+/, { from: mark }))![1]);
    await term.waitFor(PROMPT, { from: mark });
    expect(modes()).toMatch(/-icanon\b/);
    process.kill(pid, 'SIGTERM');
    await term.waitFor('status=143', { from: mark });
    await term.exited;
    const before = readFileSync(`${dir}/before`, 'utf8');
    expect(before).toMatch(/:/);
    expect(readFileSync(`${dir}/after-exit`, 'utf8')).toBe(before);
    expect(readFileSync(`${dir}/after-term`, 'utf8')).toBe(before);
  });
});

describe('ssmx shell with piped stdin', () => {
  it('runs what is piped in, writes only remote output to stdout, and exits 0', async () => {
    // The input ends while `sleep` still runs: an EOT sent at that moment is lost by the remote
    // terminal, and the session must still end once the shell is back at its prompt.
    const child = spawn(process.execPath, [ssmxBin, 'shell', INSTANCE], { env: emulator.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end('echo piped-$((2+3))\nsleep 0.5\necho after-$((1+1))\n');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(killer);
    expect({ code, stdout, stderr }).toMatchObject({ code: 0 });
    expect(stdout).toMatch(/piped-5\r?\n/);
    expect(stdout).toMatch(/after-2\r?\n/);
    expect(stderr).toBe('');
  });
});

describe('sessions that open with a handshake', () => {
  it('a non-interactive command runs through the agent handshake; stdout and stderr come back; exit 0', async () => {
    const child = spawn(
      process.execPath,
      [ssmxBin, 'shell', INSTANCE, '--document', 'AWS-StartNonInteractiveCommand', '--parameters', '{"command":["sh -c \'echo out-$((1+2)); echo err >&2; exit 3\'"]}'],
      { env: emulator.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    // Without separate output streams the agent reports no status: 0, as the issue says.
    expect(code).toBe(0);
    expect(stdout).toBe('out-3\nerr\n');
    expect(stderr).toBe('');
  });
});

describe('ssmx demo', () => {
  it('starts the emulator and opens a working shell through ssmx, then exits 0', async () => {
    const env = { ...process.env, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true' } as NodeJS.ProcessEnv;
    for (const key of Object.keys(env)) if (key.startsWith('AWS_') && key !== 'AWS_EC2_METADATA_DISABLED') delete env[key];
    const term = runInPty(process.execPath, [ssmxBin, 'demo'], { env });
    await term.waitFor(/opening a shell on i-0123456789abcdef0/);
    const mark = term.output().length;
    term.write('echo demo-$((40+2))\r');
    await term.waitFor(/demo-42\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  });
});
