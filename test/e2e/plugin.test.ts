// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSessionsCommand, SSMClient, StartSessionCommand, type StartSessionCommandInput } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { freePort } from '../support/redis.js';
import { runProgram } from '../support/run.js';

const TARGET = 'i-0123456789abcdef0';
const UNREACHABLE = 'i-0000000000000dead';
const PROMPT = 'ssmx-plugin$ ';
const SHELL = `PS1='${PROMPT}' exec bash --norc --noprofile`;

let emulator: EmulatorProcess;
let ssm: SSMClient;
let binDir: string;
let launcher: string;
let echoServer: Server;
let echoPort: number;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--shell', SHELL, '--instance', TARGET, '--instance', `${UNREACHABLE}=dead:unreachable-stream`]);
  const { info } = emulator;
  ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  binDir = mkdtempSync(join(tmpdir(), 'ssmx-plugin-bin-'));
  launcher = join(binDir, 'session-manager-plugin');
  // An echo server that upper-cases, as a destination for port forwarding.
  echoServer = createServer((socket) => socket.on('data', (data: Buffer) => socket.write(data.toString().toUpperCase())).on('error', () => undefined));
  await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
  echoPort = (echoServer.address() as AddressInfo).port;
});
afterAll(async () => {
  ssm?.destroy();
  echoServer?.close();
  await emulator?.stop();
});

const run = (file: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
  runProgram(file, args, { env: options.env ?? emulator.env, input: options.input ?? '', timeoutMs: 20_000 });

async function startSession(input: Partial<StartSessionCommandInput> = {}) {
  const response = await ssm.send(new StartSessionCommand({ Target: TARGET, ...input }));
  return { SessionId: response.SessionId!, TokenValue: response.TokenValue!, StreamUrl: response.StreamUrl! };
}

/** The arguments exactly as the AWS CLI builds them (docs/protocol.md §9). */
function cliArgs(first: string, params: object) {
  return [first, emulator.info.region, 'StartSession', '', JSON.stringify(params), emulator.info.endpoint];
}

async function sessionStatus(sessionId: string): Promise<string | undefined> {
  for (const state of ['Active', 'History'] as const) {
    const found = (await ssm.send(new DescribeSessionsCommand({ State: state }))).Sessions?.find((s) => s.SessionId === sessionId);
    if (found) return found.Status;
  }
  return undefined;
}

describe('ssmx install-plugin', () => {
  it('writes an executable session-manager-plugin launcher, says so, and notes the PATH', async () => {
    const result = await run(process.execPath, [ssmxBin, 'install-plugin', binDir], { env: { ...emulator.env, PATH: '/usr/bin:/bin' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`installed ${launcher}`);
    expect(result.stdout).toContain(`${binDir} is not on your PATH`);
    expect(statSync(launcher).mode & 0o111).not.toBe(0);
    const again = await run(process.execPath, [ssmxBin, 'install-plugin', binDir], { env: { ...emulator.env, PATH: `${binDir}:/usr/bin:/bin` } });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already');
  });

  it('refuses to replace another program of that name unless --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-plugin-other-'));
    const other = join(dir, 'session-manager-plugin');
    writeFileSync(other, '#!/bin/sh\necho the official plugin\n', { mode: 0o755 });
    const refused = await run(process.execPath, [ssmxBin, 'install-plugin', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/exists and is another program/);
    expect(refused.stderr).toMatch(/--force/);
    expect(readFileSync(other, 'utf8')).toContain('the official plugin');
    const forced = await run(process.execPath, [ssmxBin, 'install-plugin', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`replaced ${other}`);
    expect((await run(other, ['--version'])).stdout).toMatch(/^\d+(\.\d+){3}\n$/);
  });
});

describe('the session-manager-plugin contract, through the installed launcher', () => {
  it('no arguments: says it is installed; --version: a dotted version; other single words: an error', async () => {
    expect(existsSync(launcher)).toBe(true);
    const probe = await run(launcher, []);
    expect(probe.code).toBe(0);
    expect(probe.stdout).toMatch(/installed/);
    const version = await run(launcher, ['--version']);
    expect(version.code).toBe(0);
    // The AWS CLI passes the response through the environment only to versions above 1.2.497.0.
    expect(version.stdout).toMatch(/^1\.2\.\d+\.0\n$/);
    expect(Number(version.stdout.split('.')[2])).toBeGreaterThan(497);
    const unknown = await run(launcher, ['start']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown operation "start"/);
  });

  it('a shell, with the response JSON as the first argument', async () => {
    const response = await startSession();
    const result = await run(launcher, cliArgs(JSON.stringify(response), { Target: TARGET }), { input: 'echo plugin-$((6*7))\nexit\n' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Starting session with SessionId: ${response.SessionId}`);
    expect(result.stdout).toContain('plugin-42');
    expect(result.stdout).toContain(`Exiting session with sessionId: ${response.SessionId}.`);
  });

  it('the token given as an argument does not stay in the process list', async () => {
    const response = await startSession();
    const child = spawn(launcher, cliArgs(JSON.stringify(response), { Target: TARGET }), { env: emulator.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitUntil(() => stdout.includes('Starting session'), 10_000, () => stdout);
    // The launcher execs node, so the pid is ssmx's own.
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(response.TokenValue);
    expect(cmdline).toContain('session-manager-plugin');
    child.stdin.end('exit\n');
    await exited;
  });

  it('a shell, with the response in AWS_SSM_START_SESSION_RESPONSE and its name as the argument', async () => {
    const response = await startSession();
    const env = { ...emulator.env, AWS_SSM_START_SESSION_RESPONSE: JSON.stringify(response) };
    const result = await run(launcher, cliArgs('AWS_SSM_START_SESSION_RESPONSE', { Target: TARGET }), { env, input: 'echo env-form-ok\nexit\n' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('env-form-ok');
  });

  it('aws ecs execute-command style: camelCase response keys, an ecs: target, run as `ssmx plugin`', async () => {
    const response = await startSession();
    const ecs = JSON.stringify({ sessionId: response.SessionId, streamUrl: response.StreamUrl, tokenValue: response.TokenValue });
    const result = await run(process.execPath, [ssmxBin, 'plugin', ecs, emulator.info.region, 'StartSession', '', JSON.stringify({ Target: 'ecs:cluster_task_runtime' })], {
      input: 'echo ecs-ok\nexit\n',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ecs-ok');
  });

  it('port forwarding: the plugin lines on stdout, a working local port, Ctrl-C ends the session', async () => {
    const localPort = await freePort();
    const parameters = { portNumber: [String(echoPort)], localPortNumber: [String(localPort)] };
    const response = await startSession({ DocumentName: 'AWS-StartPortForwardingSession', Parameters: parameters });
    const child = spawn(launcher, cliArgs(JSON.stringify(response), { Target: TARGET, DocumentName: 'AWS-StartPortForwardingSession', Parameters: parameters }), {
      env: emulator.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitUntil(() => stdout.includes('Waiting for connections...'), 10_000, () => stdout);
    expect(stdout).toContain(`Port ${localPort} opened for sessionId ${response.SessionId}.`);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: localPort }, () => socket.write('hello through the plugin'));
      let text = '';
      socket.on('data', (data: Buffer) => {
        text += data.toString();
        if (text.length >= 24) {
          socket.end();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    expect(reply).toBe('HELLO THROUGH THE PLUGIN');
    expect(stdout).toContain(`Connection accepted for session [${response.SessionId}]`);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('Terminate signal received, exiting.');
    expect(stdout).toContain(`Exiting session with sessionId: ${response.SessionId}.`);
    await waitUntil(async () => (await sessionStatus(response.SessionId)) === 'Terminated', 3000, () => 'session still active');
  });

  it('bad JSON, a missing field, a wrong operation: a clear error and a non-zero exit', async () => {
    const response = await startSession();
    const good = JSON.stringify(response);
    const cases: Array<[string[], RegExp]> = [
      [cliArgs('{"SessionId": "s-1",', { Target: TARGET }), /StartSession response is not valid JSON/],
      [cliArgs(JSON.stringify({ SessionId: response.SessionId, TokenValue: response.TokenValue }), { Target: TARGET }), /has no StreamUrl/],
      [[good, emulator.info.region, 'StopSession', '', '{}', emulator.info.endpoint], /invalid operation "StopSession"/],
      [[good, emulator.info.region, 'StartSession', '', '{"DocumentName":"x"}', emulator.info.endpoint], /request parameters have no Target/],
      [cliArgs('AWS_SSM_START_SESSION_RESPONSE', { Target: TARGET }), /AWS_SSM_START_SESSION_RESPONSE is not set/],
    ];
    for (const [args, message] of cases) {
      const result = await run(launcher, args);
      // With the response on the command line, a non-zero status would make the AWS CLI print
      // that command line, token and all: the failure is said on stderr and the status is 0.
      expect(result.code, args.join(' ')).toBe(args[0]!.startsWith('AWS_SSM_START_SESSION_RESPONSE') ? 2 : 0);
      expect(result.stderr).toMatch(message);
    }
  });

  it('an unreachable stream URL fails within seconds instead of hanging: non-zero when the response came through the environment', async () => {
    for (const through of ['environment', 'argument'] as const) {
      const response = await ssm.send(new StartSessionCommand({ Target: UNREACHABLE }));
      const json = JSON.stringify({ SessionId: response.SessionId, TokenValue: response.TokenValue, StreamUrl: response.StreamUrl });
      const started = Date.now();
      const result =
        through === 'environment'
          ? await run(launcher, cliArgs('AWS_SSM_START_SESSION_RESPONSE', { Target: UNREACHABLE }), { env: { ...emulator.env, AWS_SSM_START_SESSION_RESPONSE: json } })
          : await run(launcher, cliArgs(json, { Target: UNREACHABLE }));
      expect(result.code, through).toBe(through === 'environment' ? 5 : 0);
      expect(result.stderr).toMatch(/ssmx: error: cannot open the data channel/);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
