// @module-tag needs-qemu-aarch64-static
// @module-tag needs-arm64-root
// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arm64Root } from '../support/arm64-root.js';
import { echoed, listenEcho } from '../support/echo.js';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { buildExecutable } from '../support/executable.js';
import { startForward } from '../support/forward.js';
import { pluginPortSession } from '../support/plugin-session.js';
import { runProgram } from '../support/run.js';
import { requireTool } from '../support/tools.js';

// Issue 28, point 16: the linux-arm64 executable, run for real under Debian's qemu-user-static
// with an arm64 Debian root for its loader and libraries (-L), against the emulator running here.

const TARGET = 'i-0123456789abcdef0';

let emulator: EmulatorProcess;
let echo: Server;
let echoPort: number;
let dir: string;
/** The words that run the executable: qemu-aarch64-static -L ROOT ssmx. */
let ssmx: string[];
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const [built, root] = [buildExecutable('linux-arm64'), arm64Root()];
  emulator = await startEmulatorProcess(['--agent-pacing', 'off']);
  dir = mkdtempSync(join(tmpdir(), 'ssmx-arm64-'));
  copyFileSync(await built, join(dir, 'ssmx'));
  symlinkSync(join(dir, 'ssmx'), join(dir, 'session-manager-plugin'));
  ssmx = [requireTool('qemu-aarch64-static'), '-L', await root, join(dir, 'ssmx')];
  env = emulator.env;
  ({ server: echo, port: echoPort } = await listenEcho());
}, 300_000);
afterAll(async () => {
  echo?.close();
  await emulator?.stop();
});

const run = (args: string[], words = ssmx) => runProgram(words[0]!, [...words.slice(1), ...args], { env, input: '', timeoutMs: 60_000 });

/** Sends `bytes` through a local port and resolves with the SHA-256 of what came back, once as many came. */
const echoedDigest = (port: number, bytes: Buffer) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    let received = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(bytes));
    socket.on('data', (data: Buffer) => {
      hash.update(data);
      received += data.length;
      if (received >= bytes.length) {
        socket.destroy();
        resolve(hash.digest('hex'));
      }
    });
    socket.on('error', reject);
  });

describe('ssmx-linux-arm64 under qemu-aarch64-static, against the emulator here', () => {
  it('--version', async () => {
    const ran = await run(['--version']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('forward: a MiB goes through and back', async () => {
    const forward = await startForward(env, [TARGET, `0:${echoPort}`, '--sessions', '1'], 1, ssmx);
    try {
      const bytes = randomBytes(1 << 20);
      expect(await echoedDigest(forward.listeners[0]!.localPort!, bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    } finally {
      expect(await forward.stop()).toBe(0);
    }
  }, 120_000);

  it('setup, then run: the remote output and its exit status', async () => {
    expect((await run(['setup'])).code).toBe(0);
    const ran = await run(['run', TARGET, '--', 'echo arm64-$((6*7)); exit 3']);
    expect(ran.stdout).toBe('arm64-42\n');
    expect(ran.code).toBe(3);
  }, 90_000);

  it("as session-manager-plugin: a port-forwarding session with the AWS CLI's arguments", async () => {
    const { args, sessionId, localPort } = await pluginPortSession(emulator, TARGET, echoPort);
    const [qemu, ...words] = [...ssmx.slice(0, -1), join(dir, 'session-manager-plugin')];
    const plugin = spawn(qemu!, [...words, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    plugin.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    const exited = new Promise<number | null>((resolve) => plugin.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        plugin.stdout.on('data', () => stdout.includes('Waiting for connections...') && resolve());
        void exited.then((code) => reject(new Error(`the plugin exited with ${code}: ${stdout}`)));
      });
      expect(stdout).toContain(`Starting session with SessionId: ${sessionId}`);
      expect(await echoed(localPort, 'plugin under qemu')).toBe('plugin under qemu');
    } finally {
      plugin.kill('SIGKILL');
      await exited;
    }
  }, 90_000);
});
