// @module-tag needs-node-pty
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenEcho } from '../support/echo.js';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';

const TARGET = 'i-0123456789abcdef0';
const UPLOAD = 16 << 20;

let emulator: EmulatorProcess;
let echo: Awaited<ReturnType<typeof listenEcho>>;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--events']);
  echo = await listenEcho();
});
afterAll(async () => {
  echo?.server.close();
  await emulator?.stop();
});

/** Writes `data` as fast as the socket takes it and reads as much back; resolves with the echo's hash. */
function throughEcho(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let received = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => {
      for (let offset = 0; offset < data.length; offset += 64 * 1024) socket.write(data.subarray(offset, offset + 64 * 1024));
    });
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (received >= data.length) {
        socket.destroy();
        resolve(hash.digest('hex'));
      }
    });
    socket.on('error', reject);
  });
}

describe('resends (issue 29, point 4)', () => {
  it(
    'a 16 MiB upload through an echo reaches the agent with at most 0.1 % of messages sent twice',
    async () => {
      // The emulator's agent acknowledges a message once its write to the echo returns, as the
      // agent does (datachannel.go, handleStreamDataMessage): the acks lag while the echo's
      // replies back up, and a retransmission timeout under that lag shows as copies received.
      const forward = await startForward(emulator.env, [TARGET, `0:${echo.port}`, '--sessions', '1']);
      const data = randomBytes(UPLOAD);
      const started = Date.now();
      const digest = await throughEcho(forward.listeners[0]!.localPort!, data);
      const seconds = (Date.now() - started) / 1000;
      expect(digest).toBe(createHash('sha256').update(data).digest('hex'));
      const sessionId = forward.listeners[0]!.sessions[0];
      expect(await forward.stop()).toBe(0);
      const deadline = Date.now() + 10_000;
      let closed: Record<string, unknown> | undefined;
      while (!(closed = emulator.events().find((e) => e.event === 'data-channel-closed' && (sessionId === undefined || e.sessionId === sessionId))) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(closed, 'the emulator reported the session closed').toBeDefined();
      const messages = closed!.messagesReceived as number;
      const duplicates = closed!.duplicatesReceived as number;
      const ratio = duplicates / (messages - duplicates);
      console.log(`16 MiB through an echo in ${seconds.toFixed(1)} s: ${messages - duplicates} messages, ${duplicates} received twice (${(ratio * 100).toFixed(3)} %)`);
      expect(messages - duplicates).toBeGreaterThan(UPLOAD / (64 * 1024));
      expect(ratio).toBeLessThanOrEqual(0.001);
    },
    120_000,
  );
});
