// @module-tag needs-node-pty
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';

// The service ends things on its own schedule: the gateway closes a WebSocket normally (1000),
// ResumeSession fails now and then, sessions are terminated (idle timeout, maximum duration, an
// administrator). A forward left running all day must heal, not exit.

let echo: Server;
let echoPort: number;

beforeAll(async () => {
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(() => echo?.close());

const echoThrough = (port: number, text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.once('error', reject);
  });

async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the service\'s own endings', () => {
  let emulator: EmulatorProcess | undefined;
  afterAll(async () => emulator?.stop());

  it('a gateway close (1000) is resumed, also when ResumeSession fails a few times first', async () => {
    emulator = await startEmulatorProcess(['--gateway-close-after', '1', '--fail-resume', '4']);
    const forward = await startForward(emulator.env, ['i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1']);
    try {
      const port = forward.listeners[0]!.localPort!;
      expect(await echoThrough(port, 'before')).toBe('before');
      await until(() => /reconnected after/.test(forward.stderr()), 20_000, () => forward.stderr());
      expect(forward.stderr()).toMatch(/the data channel closed \(WebSocket code 1000/);
      expect(await echoThrough(port, 'after')).toBe('after');
    } finally {
      expect(await forward.stop()).toBe(0);
      await emulator.stop();
      emulator = undefined;
    }
  }, 40_000);

  it('a session whose resume keeps failing is replaced', async () => {
    emulator = await startEmulatorProcess(['--gateway-close-after', '1', '--fail-resume', '1000']);
    const forward = await startForward(emulator.env, ['--reconnect-timeout', '2', 'i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1']);
    try {
      const port = forward.listeners[0]!.localPort!;
      const first = forward.listeners[0]!.sessions[0]!;
      await until(() => new RegExp(`session \\S+ replaces ${first}`).test(forward.stderr()), 20_000, () => forward.stderr());
      expect(forward.stderr()).toMatch(new RegExp(`ssmx: session ${first} ended \\(the connection was lost and could not be restored within 2 s`));
      // The replacement serves (between its own closes: the fault goes on).
      let answer = '';
      for (let i = 0; i < 50 && answer !== 'again'; i++) {
        answer = await echoThrough(port, 'again').catch(() => '');
        if (answer !== 'again') await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(answer).toBe('again');
    } finally {
      expect(await forward.stop()).toBe(0);
      await emulator.stop();
      emulator = undefined;
    }
  }, 60_000);

  it('replacements that keep failing end the forward with a clear error (5)', async () => {
    emulator = await startEmulatorProcess(['--terminate-after', '1', '--starts-before-failing', '1']);
    const forward = await startForward(emulator.env, ['i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1']);
    try {
      const code = await new Promise<number | null>((resolve) => forward.child.once('exit', resolve));
      expect(code).toBe(5);
      expect(forward.stderr()).toMatch(/ssmx: error: a session for 127\.0\.0\.1:\d+ ended and 5 replacements failed in a row; the last: i-0123456789abcdef0 is not connected/);
    } finally {
      await emulator.stop();
      emulator = undefined;
    }
  }, 60_000);

  it('a session the service terminates is replaced: the listener stays, connections go on', async () => {
    emulator = await startEmulatorProcess(['--terminate-after', '1']);
    const forward = await startForward(emulator.env, ['i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1']);
    try {
      const port = forward.listeners[0]!.localPort!;
      const first = forward.listeners[0]!.sessions[0]!;
      expect(await echoThrough(port, 'first')).toBe('first');
      await until(() => new RegExp(`session \\S+ replaces ${first}`).test(forward.stderr()), 20_000, () => forward.stderr());
      expect(forward.stderr()).toMatch(new RegExp(`ssmx: session ${first} ended \\(.*\\); starting another`));
      expect(await echoThrough(port, 'second')).toBe('second');
    } finally {
      expect(await forward.stop()).toBe(0);
    }
  }, 40_000);
});
