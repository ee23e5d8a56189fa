// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { freePort } from '../support/redis.js';

let emulator: EmulatorProcess;
let deadPort: number;

beforeAll(async () => {
  deadPort = await freePort();
  emulator = await startEmulatorProcess([
    '--instance', 'i-0123456789abcdef0=demo',
    '--instance', 'i-00000000000000001=unreachable:unreachable-stream',
    '--instance', 'i-00000000000000002=closer:close-websocket',
    '--instance', 'i-00000000000000003=garbage:malformed-frame',
  ]);
});
afterAll(async () => {
  await emulator?.stop();
});

/** Runs `ssmx shell` with a stdin that never ends, so only ssmx's own handling can end it. */
function runShell(target: string, env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const child = spawn(process.execPath, [ssmxBin, 'shell', target], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string; elapsed: number }>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, elapsed: Date.now() - started });
    }),
  );
}

describe('ssmx shell fails fast and clearly', () => {
  const cases: Array<{ name: string; target: string; env?: () => NodeJS.ProcessEnv; code: number; message: RegExp }> = [
    { name: 'unknown target', target: 'i-0fffffffffffffff0', code: 4, message: /i-0fffffffffffffff0 is not a managed instance in this account and region/ },
    { name: 'unknown Name tag', target: 'no-such-name', code: 4, message: /no managed instance is named no-such-name/ },
    // A name resolves to its instance, whose fault then shows: the session really went there.
    { name: 'Name tag of an instance whose stream is unreachable', target: 'unreachable', code: 5, message: /cannot open the data channel/ },
    {
      name: 'rejected signature',
      target: 'i-0123456789abcdef0',
      env: () => ({ ...emulator.env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' }),
      code: 3,
      message: /signature we calculated does not match/,
    },
    // A StreamUrl on a port nobody listens on: the data channel endpoint named for it refuses the connection.
    {
      name: 'unreachable stream URL',
      target: 'i-0123456789abcdef0',
      env: () => ({ ...emulator.env, AWS_ENDPOINT_URL_SSMMESSAGES: `http://127.0.0.1:${deadPort}` }),
      code: 5,
      message: /cannot open the data channel at ws:\/\/127\.0\.0\.1:\d+\/v1\/data-channel\/.*ECONNREFUSED/,
    },
    // The same StreamUrl as the service gave it: another port than the endpoint's, so no credentials go there (issue 27).
    { name: 'a stream URL that is not a Session Manager endpoint', target: 'i-00000000000000001', code: 5, message: /cannot open the data channel at ws:\/\/127\.0\.0\.1:\d+\/v1\/data-channel\/\S+: 127\.0\.0\.1:\d+ is not an endpoint ssmx sends credentials to/ },
    { name: 'server closing the WebSocket at once', target: 'i-00000000000000002', code: 5, message: /data channel closed/ },
    { name: 'malformed frame from the server', target: 'i-00000000000000003', code: 6, message: /malformed frame/ },
  ];

  for (const c of cases) {
    it(`${c.name}: one clear error line, exit ${c.code}, within 2 s`, async () => {
      const result = await runShell(c.target, c.env ? c.env() : emulator.env);
      expect(result.code).toBe(c.code);
      expect(result.elapsed).toBeLessThan(2000);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ssmx: error: /);
      expect(lines[0]).toMatch(c.message);
      expect(lines.length).toBeLessThanOrEqual(2);
      if (lines[1] !== undefined) expect(lines[1]).toMatch(/^hint: /);
    });
  }

  it('no target and no terminal to pick on is a usage error (exit 2)', async () => {
    const child = spawn(process.execPath, [ssmxBin, 'shell'], { env: emulator.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/no target given/);
  });
});

describe('a session cut in the middle', () => {
  it('ssmx tries to reconnect, then ends with status 5 and one line once --reconnect-timeout passes, and restores the terminal', async () => {
    const { runInPty } = await import('../support/pty.js');
    const own = await startEmulatorProcess();
    try {
      const script = [
        'before=$(stty -g)',
        `"${process.execPath}" "${ssmxBin}" --reconnect-timeout 1 shell i-0123456789abcdef0; echo "status=$?"`,
        '[ "$(stty -g)" = "$before" ] && echo modes-restored || echo modes-changed',
      ].join('\n');
      const term = runInPty('/bin/bash', ['--norc', '--noprofile', '-c', script], { env: own.env });
      await term.waitFor(/[$#] $/);
      const mark = term.output().length;
      const cutAt = Date.now();
      own.kill();
      const after = await term.waitFor(/status=\d+/, { from: mark });
      expect(Date.now() - cutAt).toBeLessThan(4000);
      expect(after).toMatch(/ssmx: the connection dropped \(the data channel closed[^\n]*reconnecting/);
      expect(after).toMatch(/\nssmx: error: the connection was lost and could not be restored within 1 s[^\n]*\r?\n/);
      expect(after).toMatch(/status=5/);
      await term.waitFor('modes-restored', { from: mark });
      await term.exited;
    } finally {
      await own.stop();
    }
  });
});
