// @module-tag needs-node-pty
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';
import { runProgram } from '../support/run.js';

// Issue 14: IPv6 everywhere a user can name an address: the emulator on [::1], local listeners on
// ::1 and ::, a spec with an IPv6 local address, and an IPv6 literal as the remote host.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
let echo6: Server;
let echo6Port: number;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--host', '::1', '--agent-pacing', 'off']);
  echo6 = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo6.listen(0, '::1', resolve));
  echo6Port = (echo6.address() as AddressInfo).port;
});
afterAll(async () => {
  echo6?.close();
  await emulator?.stop();
});

/** One round trip to [::1]:port. */
const echoed6 = (port: number, text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '::1', port }, () => socket.write(text));
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.on('error', reject);
  });

describe('IPv6', () => {
  it('the emulator serves on [::1], and ssmx reaches it there', async () => {
    expect(emulator.info.endpoint).toMatch(/^http:\/\/\[::1\]:\d+$/);
    const result = await runProgram(process.execPath, [ssmxBin, 'run', TARGET, '--', 'echo over-v6'], { env: emulator.env, input: '' });
    expect(result.stdout).toBe('over-v6\n');
  });

  it('forward --bind ::1: the listener is on [::1]', async () => {
    const forward = await startForward(emulator.env, [TARGET, `0:[::1]:${echo6Port}`, '--bind', '::1', '--sessions', '1']);
    try {
      expect(forward.listeners[0]!.local).toMatch(/^\[::1\]:\d+$/);
      expect(await echoed6(forward.listeners[0]!.localPort!, 'bound')).toBe('bound');
    } finally {
      await forward.stop();
    }
  });

  it('a spec with an IPv6 local address, [::1]:0:PORT, and the remote host as an IPv6 literal (ToRemoteHost)', async () => {
    const forward = await startForward(emulator.env, [TARGET, `[::1]:0:[::1]:${echo6Port}`, '--sessions', '1']);
    try {
      expect(forward.listeners[0]!.local).toMatch(/^\[::1\]:\d+$/);
      expect(await echoed6(forward.listeners[0]!.localPort!, 'literal')).toBe('literal');
    } finally {
      await forward.stop();
    }
  });

  it('--bind :: listens on every IPv6 address, with the warning', async () => {
    const forward = await startForward(emulator.env, [TARGET, `0:[::1]:${echo6Port}`, '--bind', '::', '--sessions', '1']);
    try {
      expect(forward.stderr()).toMatch(/warning: listening on ::: anyone who can reach this address can use the tunnel/);
      expect(await echoed6(forward.listeners[0]!.localPort!, 'any')).toBe('any');
    } finally {
      await forward.stop();
    }
  });
});
