// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { isAlive, runProgram } from '../support/run.js';

// ssmx forward for scripts: they learn when every listener is ready, and never race the tunnel.

let emulator: EmulatorProcess;
let echo: Server;
let echoPort: number;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(async () => {
  echo?.close();
  await emulator?.stop();
});

const echoThrough = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('ready?'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.once('error', reject);
  });

/** Polls for a condition a process outside this one makes true (a file appears, a pid ends). */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('ssmx forward for scripts', () => {
  it('--ready-file: written whole (0600) once the port is ready, removed at the end', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ssmx-ready-')), 'db.ready');
    const child = spawn(process.execPath, [ssmxBin, 'forward', 'i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1', '--ready-file', file], { env: emulator.env, stdio: 'ignore' });
    await until(() => existsSync(file), 15_000, 'the ready file');
    const { localPort } = JSON.parse(readFileSync(file, 'utf8')) as { localPort: number };
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await echoThrough(localPort)).toBe('ready?');
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('--ready-fd: the JSON lines come down the descriptor, which then closes', async () => {
    const child = spawn(process.execPath, [ssmxBin, 'forward', 'i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1', '--ready-fd', '3'], { env: emulator.env, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let text = '';
    const fd = child.stdio[3] as NodeJS.ReadableStream;
    fd.on('data', (data: Buffer) => (text += data.toString()));
    await new Promise((resolve) => fd.once('end', resolve));
    const { localPort } = JSON.parse(text) as { localPort: number };
    expect(await echoThrough(localPort)).toBe('ready?');
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  });

  it('--background: returns once ready with the lines and the pid; the forward goes on until killed', async () => {
    const started = await runProgram(process.execPath, [ssmxBin, 'forward', 'i-0123456789abcdef0', `0:${echoPort}`, '--sessions', '1', '--background'], { env: emulator.env, timeoutMs: 20_000 });
    expect(started.code).toBe(0);
    const { localPort, pid } = JSON.parse(started.stdout) as { localPort: number; pid: number };
    expect(started.stderr).toContain(`forwarding in the background, pid ${pid}`);
    try {
      expect(await echoThrough(localPort)).toBe('ready?');
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    const alive = () => isAlive(pid);
    await until(() => !alive(), 10_000, 'the background forward to end');
  });

  it('--background with a target that does not exist: its error, and its status', async () => {
    const failed = await runProgram(process.execPath, [ssmxBin, 'forward', 'no-such-name', '0:5432', '--background'], { env: emulator.env, timeoutMs: 20_000 });
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/ssmx: error: no managed instance is named no-such-name/);
    expect(failed.stdout).toBe('');
  });
});
