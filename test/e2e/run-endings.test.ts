// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { DescribeSessionsCommand, type SSMClient, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ssmClientFor, startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 29, point 2: the agent ends a session without the exit status its document promises when
// the session is terminated while the command runs (processCommandsWithOutputStreamSeparate kills
// it and sends nothing). That is a failure, not exit 0.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--agent-pacing', 'off']);
  ssm = ssmClientFor(emulator);
  expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: emulator.env })).code).toBe(0);
});
afterAll(async () => {
  ssm?.destroy();
  await emulator?.stop();
});

describe('ssmx run when the session ends without the exit status', () => {
  it('terminated on the service while the command runs: one clear line, exit 255', async () => {
    const child = spawn(process.execPath, [ssmxBin, 'run', TARGET, '--', 'echo started; sleep 30'], { env: emulator.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 15_000;
    while (!stdout.includes('started')) {
      if (Date.now() > deadline) throw new Error(`the command did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }));
    const session = active.Sessions!.find((s) => s.DocumentName === 'SSMX-RunCommand')!;
    const terminatedAt = Date.now();
    await ssm.send(new TerminateSessionCommand({ SessionId: session.SessionId! }));
    expect(await exited).toBe(255);
    expect(Date.now() - terminatedAt).toBeLessThan(5000);
    expect(stderr).toContain(`ssmx: the session ${session.SessionId} on ${TARGET} ended without the command's exit status: the session was terminated (TerminateSession, or the service ended it) while the command ran`);
  });

  it('a command that exits still gives its own status (0 and 3)', async () => {
    expect((await runProgram(process.execPath, [ssmxBin, 'run', TARGET, '--', 'true'], { env: emulator.env })).code).toBe(0);
    expect((await runProgram(process.execPath, [ssmxBin, 'run', TARGET, '--', 'exit 3'], { env: emulator.env })).code).toBe(3);
  });
});

describe('a Run As user the instance does not have (the account\'s preferences)', () => {
  // shell_unix.go StartCommandExecutor: "failed to start pty since RunAs user … does not exist"
  // (or, for an agent not running as root, "the agent must run as root to use RunAs"); shell.go
  // execute sends it as StdErr to a non-interactive command and nothing to a shell, and the
  // session is Failed.
  let runAs: EmulatorProcess;
  const refusal = /failed to start pty since RunAs user ssmx-nosuch-user does not exist|the agent must run as root to use RunAs/;
  beforeAll(async () => {
    runAs = await startEmulatorProcess(['--run-as', 'ssmx-nosuch-user']);
    expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: runAs.env })).code).toBe(0);
  });
  afterAll(async () => {
    await runAs?.stop();
  });

  it('run: the agent\'s error, then the line saying the session failed, exit 255', async () => {
    const ran = await runProgram(process.execPath, [ssmxBin, 'run', TARGET, '--', 'echo never'], { env: runAs.env, timeoutMs: 20_000 });
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(refusal);
    expect(ran.stderr).toMatch(/ended without the command's exit status: the agent reports the session failed/);
    expect(ran.code).toBe(255);
  }, 30_000);

  it('a piped shell: one line saying the session failed on the instance, exit 255 (it exited 0, saying nothing)', async () => {
    const ran = await runProgram(process.execPath, [ssmxBin, 'shell', TARGET], { env: runAs.env, input: 'echo never\nexit\n', timeoutMs: 20_000 });
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(/ssmx: the session \S+ failed on the instance: the agent could not start its shell/);
    expect(ran.code).toBe(255);
  }, 30_000);

  it.runIf(process.getuid?.() === 0)('a user that exists: run and the shell start as that user', async () => {
    const other = await startEmulatorProcess(['--run-as', 'nobody']);
    try {
      expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: other.env })).code).toBe(0);
      const ran = await runProgram(process.execPath, [ssmxBin, 'run', TARGET, '--', 'id -un'], { env: other.env, timeoutMs: 20_000 });
      expect(ran.stdout.trim()).toBe('nobody');
      expect(ran.code).toBe(0);
      const shell = await runProgram(process.execPath, [ssmxBin, 'shell', TARGET], { env: other.env, input: 'id -un\nexit\n', timeoutMs: 20_000 });
      expect(shell.stdout).toMatch(/^nobody\r?$/m);
      expect(shell.code).toBe(0);
    } finally {
      await other.stop();
    }
  }, 40_000);
});
