// @module-tag needs-redis-server
// @module-tag needs-redis-cli
// @module-tag needs-node-pty
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { DescribeSessionsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';
import { hashClient, startHashServer } from '../support/hash-server.js';
import { freePort, startRedis } from '../support/redis.js';

const run = promisify(execFile);
const TARGET = 'i-0123456789abcdef0';
/** The ceiling the README states for one `ssmx forward` process (resident memory). */
export const RSS_CEILING_MIB = 128;

let redis: Awaited<ReturnType<typeof startRedis>>;
let bigValue: string;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'ssmx-fwd-'));
  bigValue = randomBytes(768 * 1024).toString('base64'); // 1 MiB of text
  writeFileSync(join(dir, 'big.txt'), bigValue);
});
afterAll(async () => {
  await redis?.stop();
});

async function redisRoundTrip(port: number): Promise<void> {
  const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { maxBuffer: 8 << 20 });
  expect((await cli('PING')).stdout.trim()).toBe('PONG');
  // -x reads the value from stdin: 1 MiB through the tunnel each way.
  const set = execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '-x', 'SET', 'big'], () => undefined);
  set.stdin!.end(bigValue);
  await new Promise((resolve) => set.on('exit', resolve));
  const { stdout } = await cli('--raw', 'GET', 'big');
  expect(stdout.replace(/\n$/, '') === bigValue).toBe(true);
}

async function sessionStates(emulator: EmulatorProcess, ids: string[]) {
  const { info } = emulator;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  const history = await ssm.send(new DescribeSessionsCommand({ State: 'History' }));
  ssm.destroy();
  return ids.map((id) => history.Sessions?.find((s) => s.SessionId === id)?.Status);
}

function sampleRss(pid: number) {
  let max = 0;
  const timer = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      max = Math.max(max, kb / 1024);
    } catch {
      // the process has gone
    }
  }, 50);
  return { stop: () => (clearInterval(timer), max) };
}

describe.each([
  { mode: 'multiplexed', agentVersion: '3.3.1142.0' },
  { mode: 'basic', agentVersion: '3.0.196.0' },
  // Too old for the TerminateSession flag: Ctrl-C ends the session through the API instead.
  { mode: 'basic', agentVersion: '2.3.722.0' },
])('ssmx forward, $mode mode (agent $agentVersion)', ({ mode, agentVersion }) => {
  let emulator: EmulatorProcess;
  beforeAll(async () => {
    emulator = await startEmulatorProcess(['--agent-version', agentVersion]);
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('carries redis-cli to a real Redis: SET and GET of 1 MiB come back identical; Ctrl-C ends the session', async () => {
    const forward = await startForward(emulator.env, [TARGET, `0:${redis.port}`]);
    expect(forward.listeners[0]).toMatchObject({ mode, localSocket: null });
    const port = forward.listeners[0]!.localPort!;
    await redisRoundTrip(port);
    // Another connection afterwards, as a second client would make it.
    expect((await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'DBSIZE'])).stdout.trim()).toMatch(/^\d+$/);
    expect(forward.stderr()).toMatch(new RegExp(`forwarding 127\\.0\\.0\\.1:${port} -> ${TARGET}:${redis.port} \\(4 sessions, ${mode}\\)`));
    expect(await forward.stop('SIGINT')).toBe(0);
    // The default pool: every one of its sessions is ended on the service.
    expect(forward.listeners[0]!.sessions).toHaveLength(4);
    expect(await sessionStates(emulator, forward.listeners[0]!.sessions)).toEqual(['Terminated', 'Terminated', 'Terminated', 'Terminated']);
  });
});

describe('integrity and memory, agent pacing off (the client at full speed)', () => {
  let emulator: EmulatorProcess;
  beforeAll(async () => {
    emulator = await startEmulatorProcess(['--agent-pacing', 'off']);
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('64 MiB each way through 8 concurrent connections, multiplexed over one session: SHA-256 equal on both ends', async () => {
    const server = await startHashServer(8 << 20);
    const forward = await startForward(emulator.env, [TARGET, `0:${server.port}`, '--sessions', '1']);
    const port = forward.listeners[0]!.localPort!;
    const clients = await Promise.all(Array.from({ length: 8 }, () => hashClient(port, 8 << 20, 8 << 20)));
    const servers = await Promise.all(server.results);
    expect(servers).toHaveLength(8);
    for (const client of clients) {
      expect(client.receivedBytes).toBe(8 << 20);
      const peer = servers.find((s) => s.sentSha256 === client.receivedSha256);
      expect(peer?.receivedSha256).toBe(client.sentSha256);
      expect(peer?.receivedBytes).toBe(8 << 20);
    }
    expect(await forward.stop()).toBe(0);
    await server.close();
  }, 120_000);

  it('a local half-close closes the connection at the destination, as the agent does: what came before arrives, a reply after it does not', async () => {
    // agent port_mux.go, handleDataTransfer: the stream's EOF ends the copy into the destination,
    // which the agent then closes outright; the client's stream is closed in turn.
    const seen: { data: string; ended: boolean; closed: Promise<void> }[] = [];
    const destination = createServer({ allowHalfOpen: true }, (socket) => {
      const entry = { data: '', ended: false, closed: new Promise<void>((resolve) => socket.once('close', () => resolve())) };
      seen.push(entry);
      socket.on('error', () => undefined);
      socket.on('data', (data: Buffer) => (entry.data += data.toString()));
      socket.on('end', () => {
        entry.ended = true;
        socket.end('a late reply');
      });
    });
    await new Promise<void>((resolve) => destination.listen(0, '127.0.0.1', resolve));
    const forward = await startForward(emulator.env, [TARGET, `0:${(destination.address() as { port: number }).port}`, '--sessions', '1']);
    const got = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: forward.listeners[0]!.localPort!, allowHalfOpen: true }, () => socket.end('all of the request'));
      let text = '';
      socket.on('data', (data: Buffer) => (text += data.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    await seen[0]!.closed;
    expect(seen[0]).toMatchObject({ data: 'all of the request', ended: true });
    expect(got).toBe('');
    expect(await forward.stop()).toBe(0);
    destination.close();
  }, 60_000);

  it(`a reader that stalls 5 s while 256 MiB come: ssmx stays under ${RSS_CEILING_MIB} MiB and every byte arrives`, async () => {
    const server = await startHashServer(256 << 20);
    const forward = await startForward(emulator.env, [TARGET, `0:${server.port}`, '--sessions', '1']);
    const rss = sampleRss(forward.child.pid!);
    const client = await hashClient(forward.listeners[0]!.localPort!, 0, 256 << 20, { stallMs: 5000 });
    const peak = rss.stop();
    const [sent] = await Promise.all(server.results);
    expect(client.receivedBytes).toBe(256 << 20);
    expect(client.receivedSha256).toBe(sent!.sentSha256);
    process.stderr.write(`ssmx forward peak RSS during the stalled 256 MiB transfer: ${peak.toFixed(1)} MiB\n`);
    expect(peak).toBeLessThan(RSS_CEILING_MIB);
    expect(await forward.stop()).toBe(0);
    await server.close();
  }, 180_000);
});

describe('basic mode, integrity', () => {
  it('3 connections one after another, 2 MiB each way each: SHA-256 equal', async () => {
    const emulator = await startEmulatorProcess(['--agent-pacing', 'off', '--agent-version', '3.0.196.0']);
    try {
      const server = await startHashServer(2 << 20);
      const forward = await startForward(emulator.env, [TARGET, `0:${server.port}`, '--sessions', '1']);
      expect(forward.listeners[0]!.mode).toBe('basic');
      for (let i = 0; i < 3; i++) {
        const client = await hashClient(forward.listeners[0]!.localPort!, 2 << 20, 2 << 20);
        const peer = await server.results[i]!;
        expect([client.receivedSha256, client.sentSha256]).toEqual([peer.sentSha256, peer.receivedSha256]);
      }
      expect(await forward.stop()).toBe(0);
      await server.close();
    } finally {
      await emulator.stop();
    }
  }, 60_000);
});

describe('forwarding errors and the other forms', () => {
  let emulator: EmulatorProcess;
  beforeAll(async () => {
    emulator = await startEmulatorProcess();
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  async function fails(args: string[]) {
    const started = Date.now();
    const result = await run(process.execPath, [ssmxBin, 'forward', ...args], { env: emulator.env }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    return { ...result, elapsed: Date.now() - started };
  }

  it('a bad port spec is exit 2 with the forms as a hint', async () => {
    for (const spec of ['99999', 'abc']) {
      const result = await fails([TARGET, spec]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^ssmx: error: bad port spec/);
      expect(result.stderr).toMatch(/hint: forms:/);
    }
  });

  it('a local port already in use is exit 2, within 2 s', async () => {
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    const result = await fails([TARGET, `${port}:${redis.port}`]);
    busy.close();
    expect(result.code).toBe(2);
    expect(result.elapsed).toBeLessThan(2000);
    expect(result.stderr).toMatch(`local address 127.0.0.1:${port} is already in use`);
  });

  it('a refused destination fails that connection with a clear line; the tunnel and its other specs go on', async () => {
    const closed = await freePort();
    const forward = await startForward(emulator.env, [TARGET, `0:${closed}`, `0:${redis.port}`], 2);
    const refused = connect({ host: '127.0.0.1', port: forward.listeners[0]!.localPort! });
    refused.on('error', () => undefined);
    await new Promise((resolve) => refused.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(forward.stderr()).toMatch(new RegExp(`could not connect to localhost:${closed}.*ConnectToPortError`));
    await redisRoundTrip(forward.listeners[1]!.localPort!);
    expect(forward.child.exitCode).toBeNull();
    expect(await forward.stop()).toBe(0);
  });

  it('a Unix socket (mode 0600) as the local end, and a remote host (ToRemoteHost), in one command', async () => {
    const socketPath = join(dir, 'redis.sock');
    const forward = await startForward(emulator.env, [TARGET, `${socketPath}:${redis.port}`, `0:127.0.0.1:${redis.port}`], 2);
    expect(forward.listeners[0]).toMatchObject({ localSocket: socketPath, localPort: null });
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    const { stdout } = await run('redis-cli', ['-s', socketPath, 'PING']);
    expect(stdout.trim()).toBe('PONG');
    await redisRoundTrip(forward.listeners[1]!.localPort!);
    expect(forward.stderr()).toMatch(`-> ${TARGET}:127.0.0.1:${redis.port}`);
    expect(await forward.stop()).toBe(0);
  });

  it('the emulator never connects beyond loopback: another address is a connection error', async () => {
    const forward = await startForward(emulator.env, [TARGET, '0:192.0.2.1:80']);
    const socket = connect({ host: '127.0.0.1', port: forward.listeners[0]!.localPort! });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(forward.stderr()).toMatch(/could not connect to 192\.0\.2\.1:80/);
    expect(await forward.stop()).toBe(0);
  });
});

describe('basic mode with a destination down at start', () => {
  it('the agent ends the session with the reason; ssmx says so and exits 5', async () => {
    const emulator = await startEmulatorProcess(['--agent-version', '3.0.196.0']);
    try {
      const closed = await freePort();
      const result = await run(process.execPath, [ssmxBin, 'forward', TARGET, `0:${closed}`], { env: emulator.env }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/Unable to connect to specified port/);
    } finally {
      await emulator.stop();
    }
  });
});

describe('agent-dependent details', () => {
  it('with an agent that runs smux keep-alive (3.1.1511.0), ssmx sends NOPs and the idle tunnel survives its 30 s timeout', async () => {
    const emulator = await startEmulatorProcess(['--agent-version', '3.1.1511.0']);
    try {
      const forward = await startForward(emulator.env, [TARGET, `0:${redis.port}`, '--sessions', '1']);
      expect(forward.listeners[0]!.mode).toBe('multiplexed');
      // The emulated agent checks every 10 s and drops a session silent for more than 30 s.
      await new Promise((resolve) => setTimeout(resolve, 41_000));
      expect(forward.child.exitCode).toBeNull();
      await redisRoundTrip(forward.listeners[0]!.localPort!);
      expect(await forward.stop()).toBe(0);
    } finally {
      await emulator.stop();
    }
  }, 90_000);

  it('--bind beyond loopback is honoured, with a warning', async () => {
    const emulator = await startEmulatorProcess();
    try {
      const forward = await startForward(emulator.env, [TARGET, `0:${redis.port}`, '--sessions', '1', '--bind', '0.0.0.0']);
      expect(forward.listeners[0]!.local).toMatch(/^0\.0\.0\.0:\d+$/);
      expect(forward.stderr()).toMatch(/^warning: listening on 0\.0\.0\.0: anyone who can reach this address can use the tunnel/m);
      expect(await forward.stop()).toBe(0);
    } finally {
      await emulator.stop();
    }
  });
});
