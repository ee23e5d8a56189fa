// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';

// Issue 28, point 4: no warning of Node's or of a library's reaches a user. Each was seen on the
// terminal before: MaxListenersExceededWarning through cp's progress bar (a 'close' listener left
// per wait for 'drain') and from socks under 50 connections (listeners per waiting connection on
// the shared session), and ora's "Multiple concurrent spinners detected" at every forward and
// socks to a name (the lookup's spinner inside the command's own).

const TARGET = 'i-0123456789abcdef0';
const NAME = 'demo';
/** What Node (`(node:PID) …Warning: …`) and ora (`[ora] …`) print. */
const WARNING = /Warning|MaxListeners|concurrent spinners|\(node:\d+\)|\[ora\]/;
let emulator: EmulatorProcess;
let web: Server;
let webPort: number;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  // Each answer waits a little, so that the connections are all open at once.
  web = createHttpServer((request, response) => setTimeout(() => response.end(`hello ${request.url}`), 100));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: emulator.env })).code).toBe(0);
});
afterAll(async () => {
  await new Promise((resolve) => web?.close(resolve));
  await emulator?.stop();
});

/** An HTTP GET through a SOCKS 5 proxy, by hand: greeting, CONNECT by name, then the request. */
function getThroughSocks(proxyPort: number, host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxyPort, '127.0.0.1');
    let stage: 'greeting' | 'connect' | 'body' = 'greeting';
    let buffered = Buffer.alloc(0);
    socket.setTimeout(20_000, () => socket.destroy(new Error(`${path}: no answer through the proxy`)));
    socket.once('error', reject);
    socket.write(Buffer.from([5, 1, 0]));
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      if (stage === 'greeting' && buffered.length >= 2) {
        buffered = buffered.subarray(2);
        stage = 'connect';
        const name = Buffer.from(host);
        socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
      }
      if (stage === 'connect' && buffered.length >= 10) {
        if (buffered[1] !== 0) return reject(new Error(`${path}: the proxy replied ${buffered[1]}`));
        buffered = buffered.subarray(10);
        stage = 'body';
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      }
    });
    socket.once('end', () => resolve(buffered.toString()));
  });
}

describe('no warning of Node or a library reaches the user', () => {
  it('cp: a 50 MiB upload on a terminal (the progress bar), whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-warnings-'));
    const data = randomBytes(50 * 1024 * 1024);
    writeFileSync(join(dir, 'big.bin'), data);
    const term = runInPty(process.execPath, [ssmxBin, 'cp', join(dir, 'big.bin'), `${TARGET}:${join(dir, 'big.up')}`], { env: emulator.env });
    expect((await term.exited).exitCode).toBe(0);
    expect(term.output()).toContain('50.0 MiB / 50.0 MiB');
    expect(term.output()).not.toMatch(WARNING);
    expect(readFileSync(join(dir, 'big.up')).equals(data)).toBe(true);
  }, 120_000);

  it('socks: 50 connections at once to one destination, each answered', async () => {
    const child = spawn(process.execPath, [ssmxBin, 'socks', NAME, '--listen', '127.0.0.1:0'], { env: emulator.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/SOCKS proxy on \S+:(\d+) /.test(stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`ssmx socks did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const port = Number(/SOCKS proxy on \S+:(\d+) /.exec(stderr)![1]);
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => getThroughSocks(port, '127.0.0.1', webPort, `/${i}`)));
      answers.forEach((answer, i) => expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 200 [^]*\\r\\n\\r\\nhello /${i}$`)));
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(WARNING);
  }, 60_000);

  for (const [command, args, ready] of [
    ['forward', [NAME, '0:80'], /forwarding 127\.0\.0\.1:\d+ ->/],
    ['socks', [NAME, '--listen', '127.0.0.1:0'], /SOCKS proxy on /],
  ] as const) {
    it(`${command} to a name, started on a terminal: its spinner and the lookup's, one at a time`, async () => {
      const term = runInPty(process.execPath, [ssmxBin, command, ...args], { env: emulator.env });
      await term.waitFor(ready, { timeoutMs: 20_000 });
      term.write('\x03');
      expect((await term.exited).exitCode).toBe(0);
      expect(term.output()).not.toMatch(WARNING);
    }, 60_000);
  }
});
