// @module-tag needs-sshd
// @module-tag needs-ssh-keygen
// @module-tag needs-ssh
// @module-tag needs-scp
// @module-tag needs-node-pty
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSessionsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { isAlive, runProgram } from '../support/run.js';
import { startSshd, type Sshd } from '../support/sshd.js';

const TARGET = 'i-0123456789abcdef0';
const proxyCommand = `${process.execPath} ${ssmxBin} proxy %h %p`;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let emulator: EmulatorProcess;
let sshd: Sshd;
let dir: string;

beforeAll(async () => {
  // Pacing off: these tests are about integrity and endings; throughput is measured by npm run bench.
  [emulator, sshd] = await Promise.all([startEmulatorProcess(['--agent-pacing', 'off']), startSshd()]);
  dir = mkdtempSync(join(tmpdir(), 'ssmx-ssh-'));
});
afterAll(async () => {
  await Promise.all([emulator?.stop(), sshd?.stop()]);
});

const ssh = (args: string[], input?: Buffer | string) =>
  runProgram('ssh', ['-o', `ProxyCommand=${proxyCommand}`, ...sshd.clientOptions, '-p', String(sshd.port), `${sshd.user}@${TARGET}`, ...args], {
    env: emulator.env,
    ...(input !== undefined ? { input } : {}),
  });

async function activeSessions(): Promise<string[]> {
  const { info } = emulator;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }));
  ssm.destroy();
  return (active.Sessions ?? []).filter((s) => s.DocumentName === 'AWS-StartSSHSession').map((s) => s.SessionId!);
}

async function sshSessions(state: 'Active' | 'History') {
  const { info } = emulator;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  const found = await ssm.send(new DescribeSessionsCommand({ State: state }));
  ssm.destroy();
  return (found.Sessions ?? []).filter((s) => s.DocumentName === 'AWS-StartSSHSession');
}

async function waitFor(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('ssh through ssmx proxy, with a real OpenSSH server', () => {
  it("ssh runs a command: 'echo ok' prints ok", async () => {
    const result = await ssh(['echo ok']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('ok\n');
    expect(result.code).toBe(0);
  });

  it('the remote exit status reaches ssh: exit 7 makes ssh exit 7', async () => {
    const result = await ssh(['exit 7']);
    expect(result.code).toBe(7);
  });

  it('binary-safe both ways: 1 MiB of random bytes through cat comes back equal', async () => {
    const data = randomBytes(1 << 20);
    const result = await ssh(['cat'], data);
    expect(result.code).toBe(0);
    expect(sha256(result.stdoutBytes)).toBe(sha256(data));
  });

  it('scp of a 32 MiB random file, there and back, keeps its SHA-256', async () => {
    const original = join(dir, 'random.bin');
    const back = join(dir, 'random.back');
    writeFileSync(original, randomBytes(32 << 20));
    const remote = join(dir, 'random.remote');
    const scp = (from: string, to: string) =>
      runProgram('scp', ['-q', '-o', `ProxyCommand=${proxyCommand}`, ...sshd.clientOptions, '-P', String(sshd.port), from, to], { env: emulator.env, timeoutMs: 120_000 });
    const up = await scp(original, `${sshd.user}@${TARGET}:${remote}`);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const down = await scp(`${sshd.user}@${TARGET}:${remote}`, back);
    expect(down.code).toBe(0);
    expect(sha256(readFileSync(back))).toBe(sha256(readFileSync(original)));
  }, 240_000);

  it('ssmx exits when ssh does, and leaves no session active', async () => {
    const pidFile = join(dir, 'proxy.pid');
    // The ProxyCommand records its pid, then becomes ssmx.
    const recording = `sh -c 'echo $$ > ${pidFile}; exec ${process.execPath} ${ssmxBin} proxy %h %p'`;
    const result = await runProgram(
      'ssh',
      ['-o', `ProxyCommand=${recording}`, ...sshd.clientOptions, '-p', String(sshd.port), `${sshd.user}@${TARGET}`, 'true'],
      { env: emulator.env },
    );
    expect(result.code).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const alive = () => isAlive(pid);
    expect(await waitFor(() => !alive(), 3000)).toBe(true);
    expect(await waitFor(async () => (await activeSessions()).length === 0, 3000)).toBe(true);
  });

  it("ssh and scp through ssmx proxy leave their sessions Success in the history, not Failed (issue 29: the agent's handleSSHDPortError)", async () => {
    const before = new Set((await sshSessions('History')).map((session) => session.SessionId));
    expect((await ssh(['echo history'])).stdout).toBe('history\n');
    const file = join(dir, 'history.txt');
    writeFileSync(file, 'scp, audited\n');
    const scp = await runProgram('scp', ['-q', '-o', `ProxyCommand=${proxyCommand}`, ...sshd.clientOptions, '-P', String(sshd.port), file, `${sshd.user}@${TARGET}:${join(dir, 'history.copy')}`], { env: emulator.env });
    expect(scp.code).toBe(0);
    let ended: Array<{ SessionId?: string; Status?: string }> = [];
    expect(
      await waitFor(async () => {
        ended = (await sshSessions('History')).filter((session) => !before.has(session.SessionId));
        return ended.length === 2;
      }, 5000),
    ).toBe(true);
    expect(ended.map((session) => session.Status)).toEqual(['Terminated', 'Terminated']);
  });

  it('ssmx ssh runs the system ssh with the proxy set', async () => {
    const result = await runProgram(process.execPath, [ssmxBin, 'ssh', `${sshd.user}@${TARGET}`, '--', ...sshd.clientOptions, '-p', String(sshd.port), 'echo via-ssmx-ssh; exit 3'], { env: emulator.env });
    expect(result.stdout).toBe('via-ssmx-ssh\n');
    expect(result.code).toBe(3);
  });

  it('ssmx ssh -p and -l: the port on the instance and the login, as ssh takes them', async () => {
    const result = await runProgram(process.execPath, [ssmxBin, 'ssh', '-p', String(sshd.port), '-l', sshd.user, TARGET, '--', ...sshd.clientOptions, 'echo via-ssmx-ssh-p'], { env: emulator.env });
    expect(result.stdout).toBe('via-ssmx-ssh-p\n');
    expect(result.code).toBe(0);
    const bad = await runProgram(process.execPath, [ssmxBin, 'ssh', '-p', '99999', TARGET], { env: emulator.env });
    expect(bad.code).toBe(2);
  });

  it('ssmx ssh-config gives a config that works as printed, by id and by Name tag alias', async () => {
    const printed = await runProgram(process.execPath, [ssmxBin, '--region', emulator.info.region, 'ssh-config', '--user', sshd.user], { env: emulator.env });
    expect(printed.code).toBe(0);
    const text = printed.stdout.toString();
    expect(text).toMatch(/^Host i-\* mi-\*$/m);
    expect(text).toMatch(/^Host \*\.ssmx$/m);
    expect(text).toMatch(new RegExp(`ProxyCommand .*--region ${emulator.info.region} proxy %h %p`));
    const config = join(dir, 'ssh_config');
    writeFileSync(config, text);
    const options = sshd.clientOptions.filter((_, i, all) => all[i] !== '-F' && all[i - 1] !== '-F');
    for (const host of [TARGET, `${emulator.info.instances[0]!.name}.ssmx`]) {
      const result = await runProgram('ssh', ['-F', config, ...options, '-p', String(sshd.port), host, 'echo ok'], { env: emulator.env });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('ok\n');
    }
  });
});

/** A destination that greets, records all it receives and whether its input ended, and optionally hangs up. */
async function startRecorder(options: { greeting: string; hangUpAfterGreeting?: boolean }) {
  const connections: Array<{ received: Buffer[]; ended: Promise<'end' | 'reset'> }> = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    const received: Buffer[] = [];
    const ended = new Promise<'end' | 'reset'>((resolve) => {
      socket.once('end', () => {
        resolve('end');
        socket.end();
      });
      socket.once('close', () => resolve('reset'));
    });
    connections.push({ received, ended });
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', () => undefined);
    socket.write(options.greeting);
    if (options.hangUpAfterGreeting) socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  return { port: (server.address() as AddressInfo).port, connections, close };
}

describe('ssmx proxy as a byte stream', () => {
  it('stdout carries only the stream; stdin EOF reaches the destination after every byte', async () => {
    const recorder = await startRecorder({ greeting: 'hello\n' });
    const data = randomBytes(3 << 20);
    const result = await runProgram(process.execPath, [ssmxBin, 'proxy', TARGET, String(recorder.port)], { env: emulator.env, input: data });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('hello\n');
    const [connection] = recorder.connections;
    expect(await connection!.ended).toBe('end');
    expect(sha256(Buffer.concat(connection!.received))).toBe(sha256(data));
    await recorder.close();
  });

  it('stdin EOF ends the session as Success in the history, while the destination still has its end open (issue 29)', async () => {
    // A destination that does not hang up first (sshd waits for the client): the agent closes it,
    // and a close under its read after DisconnectToPort is what it reports as Failed.
    const recorder = await startRecorder({ greeting: 'hi\n' });
    const before = new Set((await sshSessions('History')).map((session) => session.SessionId));
    const result = await runProgram(process.execPath, [ssmxBin, 'proxy', TARGET, String(recorder.port)], { env: emulator.env, input: 'audited' });
    expect(result.code).toBe(0);
    expect(await recorder.connections[0]!.ended).toBe('end');
    let ended: Array<{ Status?: string }> = [];
    expect(await waitFor(async () => (ended = (await sshSessions('History')).filter((session) => !before.has(session.SessionId))).length === 1, 5000)).toBe(true);
    expect(ended[0]!.Status).toBe('Terminated');
    await recorder.close();
  });

  it('ends when the destination closes, though stdin stays open', async () => {
    const recorder = await startRecorder({ greeting: 'bye\n', hangUpAfterGreeting: true });
    const result = await runProgram(process.execPath, [ssmxBin, 'proxy', TARGET, String(recorder.port)], { env: emulator.env, keepStdinOpen: true, timeoutMs: 10_000 });
    expect(result.stdout).toBe('bye\n');
    expect(result.code).toBe(0);
    await recorder.close();
  });

  it('a Name tag as the target, and its .ssmx alias form', async () => {
    const recorder = await startRecorder({ greeting: 'named\n', hangUpAfterGreeting: true });
    const name = emulator.info.instances[0]!.name;
    for (const target of [name, `${name}.ssmx`]) {
      const result = await runProgram(process.execPath, [ssmxBin, 'proxy', target, String(recorder.port)], { env: emulator.env, keepStdinOpen: true, timeoutMs: 10_000 });
      expect(result.stdout).toBe('named\n');
      expect(result.code).toBe(0);
    }
    await recorder.close();
  });

  it('fails clearly, with nothing on stdout: unknown name (4), bad port (2), refused destination (5)', async () => {
    const unknown = await runProgram(process.execPath, [ssmxBin, 'proxy', 'no-such-host', '22'], { env: emulator.env, keepStdinOpen: true, timeoutMs: 10_000 });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/no managed instance is named no-such-host/);
    expect(unknown.stdoutBytes.length).toBe(0);

    const badPort = await runProgram(process.execPath, [ssmxBin, 'proxy', TARGET, '70000'], { env: emulator.env, timeoutMs: 10_000 });
    expect(badPort.code).toBe(2);
    expect(badPort.stdoutBytes.length).toBe(0);

    const closed = await startRecorder({ greeting: '' });
    const port = closed.port;
    await closed.close();
    const refused = await runProgram(process.execPath, [ssmxBin, 'proxy', TARGET, String(port)], { env: emulator.env, keepStdinOpen: true, timeoutMs: 10_000 });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Unable to connect to specified port/);
    expect(refused.stdoutBytes.length).toBe(0);
  });
});
