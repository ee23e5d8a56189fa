// @module-tag needs-node-pty
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { startForward, type ForwardProcess } from '../support/forward.js';

// Issue 12: 10,000 short connections through one forward; its descriptors come back to what they
// were, and its memory stays within a bound of its warm baseline — and does not grow over 10,000
// more (a connection's state kept after its end would be megabytes by then).

const TARGET = 'i-0123456789abcdef0';
const CONNECTIONS = 10_000;
const AT_ONCE = 16;
/** What RSS may stay above its warm baseline after the churn: memory the allocator keeps. */
const RSS_BOUND_MIB = 24;
/** What it may grow over the next 10,000 (the allocator's noise is a few MiB either way): a connection that left 1 KiB behind would add ten. */
const RSS_GROWTH_MIB = 10;
let emulator: EmulatorProcess;
let echo: Server;
let forward: ForwardProcess;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--agent-pacing', 'off']);
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  forward = await startForward(emulator.env, [TARGET, `0:${(echo.address() as AddressInfo).port}`, '--sessions', '2']);
});
afterAll(async () => {
  await forward?.stop();
  echo?.close();
  await emulator?.stop();
});

const rssMib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const descriptors = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** One connection: 1 KiB there and back, compared. */
function once(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const data = randomBytes(1024);
    const got: Buffer[] = [];
    let length = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(data));
    socket.on('data', (chunk: Buffer) => {
      got.push(chunk);
      length += chunk.length;
      if (length >= data.length) socket.end();
    });
    socket.once('error', reject);
    socket.once('close', () => (Buffer.concat(got).equals(data) ? resolve() : reject(new Error(`echo differed (${length} bytes)`))));
  });
}

async function churn(port: number, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < count) {
        next += 1;
        await once(port);
      }
    }),
  );
}

async function settle(pid: number, baseline: number): Promise<number> {
  // The agent's FINs and the sockets' closes finish a moment after the last echo.
  const deadline = Date.now() + 10_000;
  let count = descriptors(pid);
  while (count > baseline && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    count = descriptors(pid);
  }
  return count;
}

describe('one forward through many short connections', () => {
  it(`${CONNECTIONS.toLocaleString('en')} connections, every byte back; descriptors back to their baseline, RSS within ${RSS_BOUND_MIB} MiB of it, and flat over ${CONNECTIONS.toLocaleString('en')} more`, async () => {
    const pid = forward.child.pid!;
    const port = forward.listeners[0]!.localPort!;
    // Warm: code compiled, buffers and the allocator at their working sizes.
    await churn(port, 2000);
    const baseFds = await settle(pid, descriptors(pid));
    const baseRss = rssMib(pid);
    await churn(port, CONNECTIONS);
    const fds = await settle(pid, baseFds);
    const rss = rssMib(pid);
    await churn(port, CONNECTIONS);
    const fdsAfterMore = await settle(pid, baseFds);
    const rssAfterMore = rssMib(pid);
    process.stderr.write(`churn: descriptors ${baseFds} -> ${fds} -> ${fdsAfterMore}; RSS ${baseRss.toFixed(1)} -> ${rss.toFixed(1)} -> ${rssAfterMore.toFixed(1)} MiB\n`);
    expect(fds).toBeLessThanOrEqual(baseFds);
    expect(fdsAfterMore).toBeLessThanOrEqual(baseFds);
    expect(rss - baseRss).toBeLessThan(RSS_BOUND_MIB);
    expect(rssAfterMore - rss).toBeLessThan(RSS_GROWTH_MIB);
    expect(forward.child.exitCode).toBeNull();
  }, 240_000);
});
