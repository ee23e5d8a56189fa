// @module-tag needs-curl
// @module-tag needs-node-pty
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { DescribeSessionsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 15: `ssmx socks`, a SOCKS 5 server whose CONNECTs ride port forwarding sessions, driven by
// curl (a real SOCKS client) and by raw bytes where curl cannot go.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
let web: Server;
let webPort: number;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  web = createHttpServer((request, response) => response.end(`hello ${request.url}`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  const { info } = emulator;
  ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
});
afterAll(async () => {
  ssm?.destroy();
  await new Promise((resolve) => web?.close(resolve));
  await emulator?.stop();
});

interface Proxy {
  port: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

async function startSocks(args: string[] = [], env: NodeJS.ProcessEnv = emulator.env): Promise<Proxy> {
  const child = spawn(process.execPath, [ssmxBin, 'socks', TARGET, '--listen', '127.0.0.1:0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!/SOCKS proxy on \S+:(\d+) /.test(stderr)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`ssmx socks did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    port: Number(/SOCKS proxy on \S+:(\d+) /.exec(stderr)![1]),
    child,
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

const curl = (args: string[]) => runProgram('curl', ['-sS', '--max-time', '20', ...args], { env: emulator.env, timeoutMs: 30_000 });

/** Raw bytes to the proxy; resolves with all it answered once it closes (or after `ms`). */
function exchange(port: number, messages: Buffer[], ms = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    let sent = 0;
    socket.on('data', (data: Buffer) => {
      got.push(data);
      if (sent < messages.length) socket.write(messages[sent++]!);
    });
    socket.once('connect', () => socket.write(messages[sent++]!));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(got)));
    setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(got));
    }, ms).unref();
  });
}

const activeSessions = async () => (await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).Sessions ?? [];

describe('ssmx socks', () => {
  it('curl through it: a name the instance resolves (socks5h), an IP (socks5), SOCKS 4a; one session per destination', async () => {
    const proxy = await startSocks();
    try {
      const before = (await activeSessions()).length;
      const byName = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${webPort}/by-name`]);
      expect(byName.stdout).toBe('hello /by-name');
      const byIp = await curl(['--socks5', `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${webPort}/by-ip`]);
      expect(byIp.stdout).toBe('hello /by-ip');
      const again = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${webPort}/again`]);
      expect(again.stdout).toBe('hello /again');
      const four = await curl(['--socks4a', `127.0.0.1:${proxy.port}`, `http://localhost:${webPort}/four-a`]);
      expect(four.stdout).toBe('hello /four-a');
      // localhost:PORT and 127.0.0.1:PORT: two destinations, two sessions, reused.
      const sessions = (await activeSessions()).slice(before);
      expect(sessions).toHaveLength(2);
      expect(sessions.every((session) => session.DocumentName === 'AWS-StartPortForwardingSessionToRemoteHost')).toBe(true);
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
    // Ctrl-C ends its sessions on the service.
    expect((await activeSessions()).filter((session) => session.DocumentName === 'AWS-StartPortForwardingSessionToRemoteHost')).toHaveLength(0);
  }, 60_000);

  it('50 parallel curls, to the same and to another destination, all answered', async () => {
    const proxy = await startSocks();
    const before = (await activeSessions()).length;
    try {
      const urls = Array.from({ length: 50 }, (_, i) => `http://${i % 2 ? 'localhost' : '127.0.0.1'}:${webPort}/parallel-${i}`);
      const result = await curl(['--parallel', '--parallel-max', '50', '--socks5-hostname', `127.0.0.1:${proxy.port}`, '-w', '%{http_code} %{url_effective}\\n', ...urls.flatMap((url) => ['-o', '/dev/null', url])]);
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines).toHaveLength(50);
      expect(lines.every((line) => line.startsWith('200 '))).toBe(true);
      // Two destinations, a multiplexed session each, however many connections came at once.
      expect((await activeSessions()).length - before).toBe(2);
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it('a destination the instance cannot reach: connection refused at once, and a line on stderr', async () => {
    const proxy = await startSocks();
    try {
      const closed = createHttpServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadPort = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const started = Date.now();
      const result = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${deadPort}/`]);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(result.code).toBe(97);
      expect(result.stderr).toMatch(/\(5\)/);
      expect(proxy.stderr()).toContain(`could not connect to localhost:${deadPort} (the agent reported ConnectToPortError)`);
      // The same destination again: refused again, not hung.
      expect((await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${deadPort}/`])).stderr).toMatch(/\(5\)/);
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it('refuses what it does not serve: no acceptable method, BIND, UDP ASSOCIATE, a non-SOCKS client', async () => {
    const proxy = await startSocks();
    try {
      expect(await exchange(proxy.port, [Buffer.from([5, 1, 2])])).toEqual(Buffer.from([5, 0xff]));
      const bind = await exchange(proxy.port, [Buffer.from([5, 1, 0]), Buffer.from([5, 2, 0, 1, 127, 0, 0, 1, 0, 80])]);
      expect(bind).toEqual(Buffer.from([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
      const udp = await exchange(proxy.port, [Buffer.from([5, 1, 0]), Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0])]);
      expect(udp).toEqual(Buffer.from([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
      expect(await exchange(proxy.port, [Buffer.from('GET / HTTP/1.1\r\n\r\n')])).toEqual(Buffer.alloc(0));
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it('--max-sessions: a CONNECT past it gets "not allowed" and a line saying why; --idle-timeout ends idle sessions', async () => {
    const proxy = await startSocks(['--max-sessions', '1', '--idle-timeout', '1']);
    try {
      expect((await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${webPort}/one`])).stdout).toBe('hello /one');
      const refused = await curl(['--socks5', `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${webPort}/two`]);
      expect(refused.code).toBe(97);
      expect(refused.stderr).toMatch(/\(2\)/);
      expect(proxy.stderr()).toContain(`refused 127.0.0.1:${webPort}: --max-sessions 1 reached`);
      // After a second with no connection the first destination's session ends, making room.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await curl(['--socks5', `127.0.0.1:${proxy.port}`, `http://127.0.0.1:${webPort}/three`])).stdout).toBe('hello /three');
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it('an older agent (basic port forwarding): a session per connection, in parallel, and each works', async () => {
    const old = await startEmulatorProcess(['--agent-version', '3.0.196.0']);
    const proxy = await startSocks([], old.env);
    try {
      const urls = Array.from({ length: 4 }, (_, i) => `http://localhost:${webPort}/old-${i}`);
      const result = await curl(['--parallel', '--parallel-max', '4', '--socks5-hostname', `127.0.0.1:${proxy.port}`, '-w', '%{http_code}\\n', ...urls.flatMap((url) => ['-o', '/dev/null', url])]);
      expect(result.stdout.trim().split('\n')).toEqual(['200', '200', '200', '200']);
    } finally {
      await proxy.stop();
      await old.stop();
    }
  }, 60_000);

  it('IPv6: a CONNECT to [::1] (curl, socks5h) reaches a server listening there', async () => {
    const v6 = createHttpServer((request, response) => response.end(`v6 ${request.url}`));
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    const proxy = await startSocks();
    try {
      const result = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://[::1]:${(v6.address() as AddressInfo).port}/six`]);
      expect(result.stdout).toBe('v6 /six');
    } finally {
      await proxy.stop();
      await new Promise((resolve) => v6.close(resolve));
    }
  }, 60_000);

  it('a session that cannot start: "general failure" and a line on stderr saying why', async () => {
    const failing = await startEmulatorProcess(['--starts-before-failing', '0']);
    const proxy = await startSocks([], failing.env);
    try {
      const result = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://localhost:${webPort}/`]);
      expect(result.code).toBe(97);
      expect(result.stderr).toMatch(/\(1\)/);
      expect(proxy.stderr()).toMatch(new RegExp(`could not start a session for localhost:${webPort}: .*not connected`));
    } finally {
      await proxy.stop();
      await failing.stop();
    }
  }, 60_000);

  it('--listen beyond loopback is honoured, with the warning forward --bind gives', async () => {
    // The last --listen given is the one taken.
    const proxy = await startSocks(['--listen', '0.0.0.0:0']);
    const stderr = proxy.stderr();
    await proxy.stop();
    expect(stderr).toContain('warning: listening on 0.0.0.0: anyone who can reach this address can use the proxy');
    expect(stderr).toMatch(/SOCKS proxy on 0\.0\.0\.0:\d+/);
  }, 60_000);
});
