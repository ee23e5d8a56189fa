// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSIONS } from '../../src/cli/names.js';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { socksConnectReply } from '../support/socks-client.js';

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

/** `ssmx socks`, started: its port and what it said; stopped with SIGINT by `stop`. */
async function startSocks(emulator: EmulatorProcess) {
  const child = spawn(process.execPath, [ssmxBin, 'socks', TARGET, '--listen', '127.0.0.1:0'], { env: emulator.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const deadline = Date.now() + 20_000;
  while (!/SOCKS proxy on \S+:(\d+) /.test(stderr)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`ssmx socks did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const port = Number(/SOCKS proxy on \S+:(\d+) /.exec(stderr)![1]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { port, stderr: () => stderr, stop: () => (child.kill('SIGINT'), exited) };
}

describe('socks: a destination the agent refuses, asked for again and again', () => {
  for (const output of ['on', 'off']) {
    it(`channel_closed ${output === 'on' ? 'with' : 'without'} the reason: each CONNECT refused, sessions backing off, then none for a while; a handful of StartSession calls in 25 CONNECTs`, async () => {
      const emulator = await startEmulatorProcess(['--events', '--channel-closed-output', output]);
      try {
        const socks = await startSocks(emulator);
        const replies: number[] = [];
        const started = Date.now();
        // A client that retries at once, as a browser or a script does.
        for (let i = 0; i < 25 && Date.now() - started < 30_000; i++) replies.push(await socksConnectReply(socks.port, '169.254.169.254', 80));
        expect(await socks.stop()).toBe(0);
        expect(replies.every((reply) => reply !== 0)).toBe(true);
        const starts = emulator.events().filter((event) => event.event === 'start-session').length;
        expect(starts).toBeLessThanOrEqual(5);
        expect(socks.stderr()).toMatch(/refused 169\.254\.169\.254:80: 5 sessions in a row ended before carrying any data; the last: /);
        if (output === 'on') expect(socks.stderr()).toContain('Forwarding to IP address 169.254.169.254 is forbidden.');
      } finally {
        await emulator.stop();
      }
    }, 60_000);
  }
});
