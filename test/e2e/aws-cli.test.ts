// @module-tag needs-sshd
// @module-tag needs-ssh-keygen
// @module-tag needs-ssh
// @module-tag needs-aws
// @module-tag needs-node-pty
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';
import { freePort } from '../support/redis.js';
import { startSshd, type Sshd } from '../support/sshd.js';

const TARGET = 'i-0123456789abcdef0';
/** An instance whose stream URL refuses connections: a failure of ssmx's own. */
const UNREACHABLE = 'i-0dead0000000dead0';
const PROMPT = 'ssmx-awscli$ ';
const SHELL = `PS1='${PROMPT}' exec bash --norc --noprofile`;

/**
 * The AWS CLIs to drive: Debian's package (what CI installs; it passes the response as an
 * argument) and, when the machine has another `aws` on its PATH, that one too (newer ones pass it
 * through AWS_SSM_START_SESSION_RESPONSE).
 */
function awsClis(): string[] {
  const found = new Map<string, string>();
  if (existsSync('/usr/bin/aws')) found.set(realpathSync('/usr/bin/aws'), '/usr/bin/aws');
  try {
    const onPath = execFileSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).trim();
    if (onPath && !found.has(realpathSync(onPath))) found.set(realpathSync(onPath), onPath);
  } catch {
    // none on the PATH
  }
  return [...found.values()];
}

const clis = awsClis();

let emulator: EmulatorProcess;
let sshd: Sshd;
let binDir: string;
let env: NodeJS.ProcessEnv;
let echoServer: Server;
let echoPort: number;

beforeAll(async () => {
  [emulator, sshd] = await Promise.all([startEmulatorProcess(['--shell', SHELL, '--instance', `${TARGET}=demo`, '--instance', `${UNREACHABLE}=gone:unreachable-stream`]), startSshd()]);
  binDir = mkdtempSync(join(tmpdir(), 'ssmx-awscli-bin-'));
  execFileSync(process.execPath, [ssmxBin, 'install-plugin', binDir], { env: emulator.env });
  execFileSync(process.execPath, [ssmxBin, 'setup'], { env: emulator.env });
  // The launcher first on the PATH, as a user who ran `ssmx install-plugin` has it.
  env = { ...emulator.env, PATH: `${binDir}:${emulator.env.PATH}`, AWS_PAGER: '', AWS_DEFAULT_OUTPUT: 'json' };
  echoServer = createServer((socket) => socket.on('data', (data: Buffer) => socket.write(data.toString().toUpperCase())).on('error', () => undefined));
  await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
  echoPort = (echoServer.address() as AddressInfo).port;
});
afterAll(async () => {
  echoServer?.close();
  await Promise.all([emulator?.stop(), sshd?.stop()]);
});

const common = () => ['--endpoint-url', emulator.info.endpoint, '--region', emulator.info.region];

it('finds an AWS CLI to test with (CI installs Debian\'s awscli)', () => {
  expect(clis.length).toBeGreaterThan(0);
});

describe.each(clis)('the real AWS CLI (%s) with ssmx as session-manager-plugin', (aws) => {
  it('aws ssm start-session opens a shell in a terminal, and exits 0 after exit', async () => {
    const term = runInPty(aws, ['ssm', 'start-session', '--target', TARGET, ...common()], { env });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    expect(term.output()).toMatch(/Starting session with SessionId: \S+/);
    const mark = term.output().length;
    term.write('echo aws-cli-$((6*7))\r');
    await term.waitFor(/aws-cli-42\r\n/, { from: mark });
    term.write('exit\r');
    const { exitCode } = await term.exited;
    expect(exitCode).toBe(0);
    expect(term.output()).toMatch(/Exiting session with sessionId: \S+\./);
  }, 40_000);

  it('aws ecs execute-command runs a command in the container (the target from its DescribeTasks)', async () => {
    const task = '0123456789abcdef0123456789abcdef';
    const term = runInPty(aws, ['ecs', 'execute-command', '--cluster', 'demo', '--task', task, '--interactive', '--command', "sh -c 'echo ecs-$((6*7))'", ...common()], { env });
    await term.waitFor(/ecs-42\r\n/, { timeoutMs: 20_000 });
    expect((await term.exited).exitCode).toBe(0);
    expect(term.output()).toMatch(/Exiting session with sessionId: ecs-execute-command-\S+\./);
  }, 40_000);

  it('aws ssm start-session with AWS-StartPortForwardingSession forwards a local port until Ctrl-C', async () => {
    const localPort = await freePort();
    const child = spawn(
      aws,
      ['ssm', 'start-session', '--target', TARGET, '--document-name', 'AWS-StartPortForwardingSession', '--parameters', `portNumber=${echoPort},localPortNumber=${localPort}`, ...common()],
      { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('Waiting for connections...')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no listener: ${stdout} ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stdout).toContain(`Port ${localPort} opened for sessionId`);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: localPort }, () => socket.write('through the aws cli'));
      socket.on('data', (data: Buffer) => {
        socket.end();
        resolve(data.toString());
      });
      socket.on('error', reject);
    });
    expect(reply).toBe('THROUGH THE AWS CLI');
    // Ctrl-C at a terminal reaches the whole foreground process group: the CLI ignores it, the plugin ends.
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('Terminate signal received, exiting.');
  }, 40_000);

  it('ssh with the classic ProxyCommand through aws ssm start-session and AWS-StartSSHSession', async () => {
    const proxy = `${aws} ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p ${common().join(' ')}`;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('ssh', ['-o', `ProxyCommand=${proxy}`, ...sshd.clientOptions, '-p', String(sshd.port), `${sshd.user}@${TARGET}`, 'echo ok'], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.stdout).toBe('ok\n');
    expect(result.code).toBe(0);
  }, 40_000);

  /** Runs the CLI to its end, stdin empty, and keeps both streams. */
  const runAws = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(aws, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  /**
   * No StartSession response in the CLI's output: neither its field names nor a token (the
   * emulator's are 128 base64 characters). A CLI that passes the response through the environment
   * may print the plugin's command line, which then holds only the variable's name.
   */
  const expectNoToken = (output: string) => {
    expect(output).not.toMatch(/TokenValue|tokenValue/);
    expect(output).not.toMatch(/[A-Za-z0-9+/]{100,}/);
  };

  it('a remote command that exits 4 does not make the AWS CLI print the session token', async () => {
    const result = await runAws(['ssm', 'start-session', '--target', TARGET, '--document-name', 'SSMX-RunCommand', '--parameters', 'command="sh -c \'echo remote-out; exit 4\'"', ...common()]);
    expectNoToken(result.stdout + result.stderr);
    expect(result.stdout).toContain('remote-out');
    // As the official plugin: the remote status is not the plugin's, so the CLI's is 0.
    expect(result.code).toBe(0);
  }, 40_000);

  it('a failure of ssmx\'s own is said on stderr, and the token stays out of the output', async () => {
    const result = await runAws(['ssm', 'start-session', '--target', UNREACHABLE, ...common()]);
    expectNoToken(result.stdout + result.stderr);
    expect(result.stderr).toMatch(/ssmx: error: cannot open the data channel/);
  }, 40_000);

  it('a bad target shows the emulator\'s error and exits non-zero', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(aws, ['ssm', 'start-session', '--target', 'i-0fffffffffffffff0', ...common()], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/TargetNotConnected/);
    expect(result.stderr).toMatch(/i-0fffffffffffffff0 is not connected/);
  }, 40_000);
});
