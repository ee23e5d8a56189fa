// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { DescribeSessionsCommand, SSMClient, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 29, point 2: the agent ends a session without the exit status its document promises when
// the session is terminated while the command runs (processCommandsWithOutputStreamSeparate kills
// it and sends nothing). That is a failure, not exit 0.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--agent-pacing', 'off']);
  const { info } = emulator;
  ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
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
