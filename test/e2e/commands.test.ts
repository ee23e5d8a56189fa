// @module-tag needs-node-pty
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// The agent runs non-interactive commands, and every ECS Exec command, with no shell: split with
// shlex and executed (agent/session/shell/shell_unix.go, StartCommandExecutor). The emulator does
// the same, and `ssmx run` / `ssmx exec` give one string to `sh -c` and keep argv words intact.

const DEMO = 'i-0123456789abcdef0';
const WINDOWS = 'i-0aaaaaaaaaaaaaaa0';
const TASK = '0123456789abcdef0123456789abcdef';

let emulator: EmulatorProcess;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-commands-'));
  const config = join(dir, 'emulator.json');
  writeFileSync(config, JSON.stringify({ instances: [{ id: DEMO, name: 'demo' }, { id: WINDOWS, name: 'win', platformType: 'Windows', platformName: 'Microsoft Windows Server 2022 Datacenter' }] }));
  emulator = await startEmulatorProcess(['--config', config]);
  execFileSync(process.execPath, [ssmxBin, 'setup'], { env: emulator.env });
});
afterAll(async () => {
  await emulator?.stop();
});

const ssmx = (args: string[]) => runProgram(process.execPath, [ssmxBin, ...args], { env: emulator.env, timeoutMs: 20_000 });

describe('the agent runs a non-interactive command with no shell', () => {
  it('shell syntax sent as it is arrives as plain arguments (what the README\'s example did on AWS)', async () => {
    const raw = await ssmx(['shell', DEMO, '--document', 'AWS-StartNonInteractiveCommand', '--parameters', JSON.stringify({ command: ['echo a-b | tr - +; exit 3'] })]);
    expect(raw.stdout).toBe('a-b | tr - +; exit 3\n');
    expect(raw.code).toBe(0);
  });

  it('a command line shlex cannot split is reported as the agent reports it', async () => {
    const raw = await ssmx(['shell', DEMO, '--document', 'SSMX-RunCommand', '--parameters', JSON.stringify({ command: ["echo 'unbalanced"] })]);
    expect(raw.stderr).toContain('Unable to start command: Failed to parse commands input: EOF found when expecting closing quote');
  });
});

describe('ssmx run: one string is shell syntax, several words an argv', () => {
  it('pipes and ;, with the remote status', async () => {
    const result = await ssmx(['run', 'demo', '--', 'echo a-b | tr - +; exit 3']);
    expect(result.stdout).toBe('a+b\n');
    expect(result.code).toBe(3);
  });

  it('redirections, $VAR, && and globs; stderr apart', async () => {
    const file = `/tmp/ssmx-run-${process.pid}`;
    const result = await ssmx(['run', 'demo', '--', `echo "home=$HOME" > ${file} && cat ${file} && rm ${file}; ls -d /etc/host* | head -1; echo err >&2`]);
    expect(result.stdout).toMatch(/^home=\/\S*\n\/etc\/host\S*\n$/);
    expect(result.stderr).toBe('err\n');
    expect(result.code).toBe(0);
  });

  it('argv words arrive exactly: spaces, quotes, $ and an empty word', async () => {
    const result = await ssmx(['run', 'demo', '--', 'printf', '[%s]\\n', 'two  words', "it's", '$HOME', '', 'a"b']);
    expect(result.stdout).toBe('[two  words]\n[it\'s]\n[$HOME]\n[]\n[a"b]\n');
    expect(result.code).toBe(0);
  });

  it('exit statuses come through: 0 and 42', async () => {
    expect((await ssmx(['run', 'demo', '--', 'exit 0'])).code).toBe(0);
    expect((await ssmx(['run', 'demo', '--', 'exit 42'])).code).toBe(42);
  });

  it('a command killed by a signal: said, and 255 (the agent reports -1, not the signal)', async () => {
    const result = await ssmx(['run', 'demo', '--', 'kill -9 $$']);
    expect(result.stderr).toMatch(/ssmx: the command on demo was killed by a signal/);
    expect(result.code).toBe(255);
  });

  it('a program that does not exist: the agent\'s status 1 and its error on stderr', async () => {
    const result = await ssmx(['run', 'demo', '--', 'no-such-program-ssmx', 'x']);
    expect(result.stderr).toContain('exec: "no-such-program-ssmx": executable file not found in $PATH');
    expect(result.code).toBe(1);
  });

  it('a Windows instance is refused clearly, before any session', async () => {
    const result = await ssmx(['run', 'win', '--', 'echo hi']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/win is a Windows instance: ssmx run speaks to a POSIX shell, not to PowerShell/);
  });
});

describe('ssmx run: one target, or --targets, not both', () => {
  // Issue 28, point 11: `run web-1 --targets web-2 -- true` ran `web-1 true` on web-2.
  it('a target beside --targets is a usage error, and nothing is sent', async () => {
    const { info } = emulator;
    const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const sent = async () => (await ssm.send(new ListCommandsCommand({}))).Commands?.length ?? 0;
    try {
      const before = await sent();
      for (const args of [
        ['run', 'demo', '--targets', 'demo', '--', 'true'],
        ['run', '--targets', 'demo', 'demo', '--', 'true'],
        // Without --, the first word is the target, as in `ssmx run demo true`.
        ['run', 'demo', '--targets', 'demo', 'true'],
      ]) {
        const result = await ssmx(args);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr).toMatch(/^ssmx: error: a target \((demo|true)\) and --targets demo: give one or the other\n/);
      }
      expect(await sent()).toBe(before);
      // The command after -- is the command, words and all.
      const fleet = await ssmx(['run', '--targets', 'demo', '--', 'echo', 'two', 'words']);
      expect(fleet.stdout).toBe(`demo ${DEMO}: two words\n`);
      expect(fleet.code).toBe(0);
    } finally {
      ssm.destroy();
    }
  }, 60_000);
});

describe('ssmx exec (ECS Exec: the agent\'s container mode splits every command)', () => {
  it('one string is shell syntax', async () => {
    const result = await ssmx(['exec', 'demo', TASK, '-q', '--', 'echo a-b | tr - +; echo $((6*7))']);
    expect(result.stdout).toMatch(/a\+b\r?\n42\r?\n/);
    expect(result.code).toBe(0);
  });

  it('argv words arrive exactly', async () => {
    const result = await ssmx(['exec', 'demo', TASK, '-q', '--', 'printf', '[%s]\\n', 'two  words', '$HOME']);
    expect(result.stdout).toMatch(/\[two {2}words\]\r?\n\[\$HOME\]\r?\n/);
  });
});
