// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { DescribeSessionsCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesNaming, ssmClientFor, startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 28, point 2: a stopped command (Ctrl-C, SIGTERM, SIGHUP) ends its session on the service,
// within a bound, and the command on the instance ends with it. The agent acts on the
// TerminateSession flag in port sessions only, so shell, run and exec end theirs through the API;
// the emulated agent then ends the command as the agent does (shell.go: the process killed, its
// PTY or its pipes closed). The emulated instance is this machine: its processes are ours to see.

const TARGET = 'i-0123456789abcdef0';
/** Makes each run's remote commands its own (sleep 120.NNN…), so a run cannot see another's. */
const unique = (base: number) => `${base}${String(process.pid).padStart(7, '0')}`;
let emulator: EmulatorProcess;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--instance', `${TARGET}=web-1`]);
  ssm = ssmClientFor(emulator);
  expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: emulator.env })).code).toBe(0);
});
afterAll(async () => {
  ssm?.destroy();
  await emulator?.stop();
});


async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

/** What the service says of the session of this document: its status and whether it is still active. */
async function sessionState(document: string): Promise<{ active: boolean; status: string | undefined }> {
  const [active, history] = await Promise.all(['Active', 'History'].map((State) => ssm.send(new DescribeSessionsCommand({ State: State as 'Active' | 'History' }))));
  const isOurs = (s: { DocumentName?: string }) => s.DocumentName === document;
  const live = (active!.Sessions ?? []).filter(isOurs);
  const ended = (history!.Sessions ?? []).filter(isOurs);
  return { active: live.length > 0, status: (live[0] ?? ended[ended.length - 1])?.Status };
}

/**
 * Starts `ssmx ARGS`, waits until `marker` runs on the instance, sends `signal`, and returns
 * how long ssmx took to exit, its status, and what is left of the command a moment later.
 */
async function stopMidCommand(args: string[], marker: string, signal: NodeJS.Signals, input?: string) {
  const child = spawn(process.execPath, [ssmxBin, ...args], { env: emulator.env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  if (input) child.stdin.write(input);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  expect(await until(() => processesNaming(marker).length > 0, 15_000), `${marker} did not start: ${stderr}`).toBe(true);
  const sent = Date.now();
  child.kill(signal);
  const code = await exited;
  const took = Date.now() - sent;
  child.stdin.destroy();
  await until(() => processesNaming(marker).length === 0, 5_000);
  return { code, took, left: processesNaming(marker), stderr };
}

describe('a command stopped by a signal ends its session and its command on the instance', () => {
  it('run, Ctrl-C: the session Terminated on the service, the remote command gone, exit 130 within 3 s', async () => {
    // Words, not one string: the agent runs sleep itself, and kills it (execcmd.go Kill). Of a
    // string run by `sh -c`, the agent kills the sh only; what it started dies at its next write.
    const ended = await stopMidCommand(['run', 'web-1', '--', 'sleep', unique(120.25)], `sleep ${unique(120.25)}`, 'SIGINT');
    expect(ended.code).toBe(130);
    expect(ended.took).toBeLessThan(3000);
    expect(ended.left).toEqual([]);
    expect(await sessionState('SSMX-RunCommand')).toEqual({ active: false, status: 'Terminated' });
  }, 40_000);

  it('run, Ctrl-C on a pipeline that writes without end: nothing of it keeps the instance busy', async () => {
    const ended = await stopMidCommand(['run', 'web-1', '--', `cat /dev/zero | base64 -w ${unique(77)} | cat -u`], `base64 -w ${unique(77)}`, 'SIGINT');
    expect(ended.code).toBe(130);
    expect(ended.left).toEqual([]);
    expect(processesNaming('cat /dev/zero')).toEqual([]);
  }, 40_000);

  it('exec (ECS), SIGTERM: its session Terminated, the command gone', async () => {
    const ended = await stopMidCommand(['exec', 'demo', '0123456789abcdef0123456789abcdef', '--', 'sleep', unique(120.5)], `sleep ${unique(120.5)}`, 'SIGTERM');
    expect(ended.code).toBe(143);
    expect(ended.took).toBeLessThan(3000);
    expect(ended.left).toEqual([]);
    expect((await sessionState('AWS-StartInteractiveCommand')).active).toBe(false);
  }, 40_000);

  it('shell with piped input, SIGHUP: the session ended, the pipeline the shell started gone', async () => {
    const ended = await stopMidCommand(['shell', 'web-1'], `sleep ${unique(120.75)}`, 'SIGHUP', `sleep ${unique(120.75)} | cat\n`);
    expect(ended.code).toBe(129);
    expect(ended.took).toBeLessThan(3000);
    expect(ended.left).toEqual([]);
    expect(await until(async () => !(await sessionState('SSM-SessionManagerRunShell')).active, 3000)).toBe(true);
  }, 40_000);
});
