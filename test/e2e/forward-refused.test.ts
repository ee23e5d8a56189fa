// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSIONS } from '../../src/cli/names.js';
import { startEmulatorProcess, ssmxBin } from '../support/emulator.js';

// Issue 29, point 1: the agent refuses a destination on its deny list after the handshake
// (port.go initializeParameters: "Forwarding to IP address 169.254.169.254 is forbidden.") and
// closes the data channel; the service's channel_closed may or may not carry the text. Without
// it, ssmx started a replacement session at once, again and again (924 StartSession calls in 30 s).

const TARGET = 'i-0123456789abcdef0';

/** Runs `ssmx forward` to the metadata address until it ends by itself (or 40 s pass). */
function forwardToMetadata(env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const child = spawn(process.execPath, [ssmxBin, 'forward', TARGET, '0:169.254.169.254:80'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise<{ code: number | null; stderr: string; elapsed: number }>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr, elapsed: Date.now() - started });
    }),
  );
}

describe('a destination the agent refuses', () => {
  it('with the reason in channel_closed: the forward ends at once with it (5), no replacement started', async () => {
    const emulator = await startEmulatorProcess(['--events']);
    try {
      const result = await forwardToMetadata(emulator.env);
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('Forwarding to IP address 169.254.169.254 is forbidden.');
      expect(emulator.events().filter((event) => event.event === 'start-session')).toHaveLength(DEFAULT_SESSIONS);
    } finally {
      await emulator.stop();
    }
  });

  it('without it: the replacements back off and the forward gives up after the bound, a handful of StartSession calls', async () => {
    const emulator = await startEmulatorProcess(['--events', '--channel-closed-output', 'off']);
    try {
      const result = await forwardToMetadata(emulator.env);
      expect(result.code).toBe(5);
      expect(result.elapsed).toBeLessThan(30_000);
      expect(result.stderr).toMatch(/ssmx: error: a session for 127\.0\.0\.1:\d+ ended and 5 replacements failed in a row/);
      expect(result.stderr).toMatch(/hint: .*may reach 169\.254\.169\.254:80/);
      // The pool's own sessions, and the bound of replacements: no more.
      const starts = emulator.events().filter((event) => event.event === 'start-session').length;
      expect(starts).toBeLessThanOrEqual(DEFAULT_SESSIONS + 5);
    } finally {
      await emulator.stop();
    }
  }, 45_000);
});
