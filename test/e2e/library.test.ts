// @module-tag needs-node-pty
// @module-tag needs-redis-server
import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsError, connect, forward, listInstances, openSession, resolveTarget, run, SessionError, setup, SsmxError, startEmulator, type Emulator } from '../../src/lib/index.js';
import { inProcessEmulator } from '../support/in-process.js';
import { startRedis } from '../support/redis.js';

/**
 * The library (src/lib/index.ts) in this process against emulators it starts itself: no process
 * is spawned but redis-server and the emulated instance's shells and commands.
 */

let redis: Awaited<ReturnType<typeof startRedis>>;
let first: Emulator;
let second: Emulator;

beforeAll(async () => {
  [redis, first, second] = await Promise.all([
    startRedis(),
    startEmulator(),
    startEmulator({ region: 'eu-west-1', instances: [{ id: 'i-0fedcba9876543210', name: 'web-2', tags: { Env: 'test' } }] }),
  ]);
});

afterAll(async () => {
  await Promise.all([first?.close(), second?.close(), redis?.stop()]);
});

/** One RESP command to Redis through a Duplex, its whole reply. */
function redisCommand(stream: NodeJS.ReadWriteStream, words: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const onData = (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.endsWith('\r\n') && (!reply.startsWith('$') || reply.split('\r\n').length >= 3)) {
        stream.off('data', onData);
        resolve(reply);
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.write(`*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('')}`);
  });
}

describe('ssmx as a library', () => {
  it('connect(): a Duplex to a real Redis through a port session, with no listener; ends on the service with the stream', async () => {
    const db = connect({ target: first.instances[0]!.id, port: redis.port, aws: first.aws });
    const started = new Promise<string>((resolve) => db.once('started', resolve));
    expect(await redisCommand(db, ['SET', 'library-key', 'a value through ssmx'])).toBe('+OK\r\n');
    expect(await redisCommand(db, ['GET', 'library-key'])).toBe('$20\r\na value through ssmx\r\n');
    expect(await started).toMatch(/^ssmx-/);
    const closed = new Promise<void>((resolve) => db.once('close', resolve));
    db.end();
    await closed;
  });

  it('run(): stdout, stderr and the exit status apart, under SSMX-RunCommand once it exists', async () => {
    const target = first.instances[0]!.id;
    // Without the document: the combined fallback, no status.
    const fallback = await run({ target, command: 'echo out; echo err >&2', aws: first.aws });
    expect(fallback).toMatchObject({ combined: true, exitCode: null });
    expect(fallback.stdout.toString()).toContain('out');
    expect(await setup({ aws: first.aws })).toBe('created');
    expect(await setup({ aws: first.aws })).toBe('unchanged');
    const result = await run({ target, command: 'echo out; echo err >&2; exit 3', aws: first.aws });
    expect(result).toMatchObject({ combined: false, exitCode: 3, signaled: false });
    expect(result.stdout.toString()).toBe('out\n');
    expect(result.stderr.toString()).toBe('err\n');
    expect(result.sessionId).toMatch(/^ssmx-/);
  });

  it('openSession(): a shell as a Duplex; `ended` once it exits', async () => {
    const shell = openSession({ target: first.instances[0]!.id, aws: first.aws });
    let seen = '';
    shell.on('data', (chunk) => (seen += chunk.toString()));
    // `ended` may come before the last output is read: the readable side's `end` says all was.
    const read = new Promise((resolve) => shell.once('end', resolve));
    const ended = new Promise((resolve) => shell.once('ended', resolve));
    shell.resize(100, 30);
    shell.write('stty size; echo "mark""er-$((6*7))"; exit\n');
    expect(await ended).toMatchObject({ terminated: false, exitCode: null });
    await read;
    expect(seen).toContain('marker-42');
    expect(seen).toContain('30 100');
  });

  it('two sessions to two emulators with different credentials, in one process, at once', async () => {
    expect(first.credentials.accessKeyId).not.toBe(second.credentials.accessKeyId);
    const [a, b] = await Promise.all([
      run({ target: first.instances[0]!.id, command: ['echo', 'first'], aws: first.aws }),
      run({ target: 'web-2', command: ['echo', 'second'], aws: second.aws }),
    ]);
    expect(a.stdout.toString()).toContain('first');
    expect(b.stdout.toString()).toContain('second');
    // Each emulator knows only its own keys: the first's are refused by the second.
    const crossed = await listInstances({ aws: { ...second.aws, credentials: first.credentials } }).catch((error: unknown) => error);
    expect(crossed).toBeInstanceOf(AwsError);
    expect(crossed).toBeInstanceOf(SsmxError);
    expect((crossed as AwsError).kind).toBe('credentials');
    expect(await resolveTarget('tag:Env=test', { aws: second.aws })).toBe('i-0fedcba9876543210');
    expect((await listInstances({ aws: second.aws })).map((instance) => instance.name)).toEqual(['web-2']);
  });

  it('forward(): a listener on a free port with its sessions; close() ends them', async () => {
    const tunnel = await forward({ target: first.instances[0]!.id, specs: [`0:${redis.port}`], sessions: 2, aws: first.aws });
    const [listener] = tunnel.listening;
    expect(listener).toMatchObject({ address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), remotePort: redis.port, mode: 'multiplexed' });
    expect(listener!.sessionIds).toHaveLength(2);
    const socket = connectTcp(listener!.port!, '127.0.0.1');
    expect(await redisCommand(socket, ['PING'])).toBe('+PONG\r\n');
    socket.destroy();
    await tunnel.close();
  });

  it('an AbortSignal ends a session on the service and fails the stream with INTERRUPTED', async () => {
    const controller = new AbortController();
    const shell = openSession({ target: first.instances[0]!.id, aws: first.aws, signal: controller.signal });
    await new Promise((resolve) => shell.once('started', resolve));
    controller.abort();
    const error = await new Promise((resolve) => shell.once('error', resolve));
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'INTERRUPTED' });
  });

  it('a dropped data channel is resumed: reconnecting, reconnected, and the shell goes on; the AWS side from `env` alone, the wire under `debug`', async () => {
    // The gateway closes every data-channel WebSocket 2 s after it opened, as the service does on
    // its own schedule: after the shell is up (the agent reads its PTY first after 1 s).
    const { emulator, env } = await inProcessEmulator((config) => (config.gatewayCloseAfterMs = 2000));
    try {
      const lines: string[] = [];
      const shell = openSession({ target: 'i-0123456789abcdef0', aws: { env }, debug: (line) => lines.push(line) });
      let seen = '';
      shell.on('data', (chunk) => (seen += chunk.toString()));
      const failed = new Promise((_, reject) => shell.once('error', reject));
      const reconnecting = Promise.race([failed, new Promise((resolve) => shell.once('reconnecting', resolve))]);
      const reconnected = new Promise<number>((resolve) => shell.once('reconnected', resolve));
      expect(await reconnecting).toBeInstanceOf(SsmxError);
      expect(await reconnected).toBeGreaterThanOrEqual(0);
      const read = new Promise((resolve) => shell.once('end', resolve));
      shell.write('echo "after the drop: $((6*7))"; exit\n');
      await read;
      expect(seen).toContain('after the drop: 42');
      expect(lines.some((line) => line.startsWith('ssm StartSessionCommand'))).toBe(true);
      expect(lines.some((line) => line.startsWith('ssm ResumeSessionCommand'))).toBe(true);
      expect(lines.some((line) => /^wire ssmx-emulator-\w+: /.test(line))).toBe(true);
    } finally {
      await emulator.close();
    }
  });

  it("a program's own request handler (the SDK's NodeHttpHandler) carries every AWS call: SSM's and EC2's", async () => {
    const { NodeHttpHandler } = await import('@smithy/node-http-handler');
    const sdkHandler = new NodeHttpHandler();
    const services: string[] = [];
    const requestHandler = {
      handle: (request: Parameters<NodeHttpHandler['handle']>[0]) => {
        services.push(/Credential=[^/]+\/\d+\/[^/]+\/(\w+)\//.exec(request.headers.authorization ?? '')?.[1] ?? '?');
        return sdkHandler.handle(request);
      },
    };
    try {
      // A Name tag is looked up through EC2 (the SDK's client) and SSM (ssmx's own JSON client).
      expect(await resolveTarget('web-2', { aws: { ...second.aws, requestHandler } })).toBe('i-0fedcba9876543210');
      expect(new Set(services)).toEqual(new Set(['ssm', 'ec2']));
    } finally {
      sdkHandler.destroy();
    }
  });
});
