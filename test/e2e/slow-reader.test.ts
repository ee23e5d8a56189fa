// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 28, point 1: a reader that stalls loses nothing. Every command that writes a stream to
// stdout is run into a pipe whose reader sleeps first (`| (sleep N; wc -c)`, the pipe's 64 KiB
// fill at once and ssmx is held), and every byte must arrive, with ssmx's own exit status.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
/** A destination on this machine (the instance) that sends `SENT` bytes to whoever connects, then hangs up. */
let source: Server;
const SENT = 4 * 1024 * 1024;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--instance', `${TARGET}=web-1`, '--instance', 'i-0123456789abcdef1=web-2']);
  expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: emulator.env })).code).toBe(0);
  source = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(Buffer.alloc(SENT, 0x5a));
  });
  await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  source?.close();
  await emulator?.stop();
});

/**
 * `ssmx ARGS` with stdout into a reader that sleeps `stallS` seconds before it reads: what the
 * reader counted, and ssmx's exit status (said on stderr by the shell).
 */
async function throughStalledReader(args: string[], stallS: number, stdin = ': |'): Promise<{ bytes: number; code: number; stderr: string }> {
  const quoted = args.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const script = `{ ${stdin} "$NODE" "$SSMX" ${quoted}; echo "ssmx-exit $?" >&2; } | (sleep ${stallS}; wc -c)`;
  const ran = await runProgram('sh', ['-c', script], { env: { ...emulator.env, NODE: process.execPath, SSMX: ssmxBin }, timeoutMs: 90_000 });
  const code = /ssmx-exit (\d+)/.exec(ran.stderr);
  return { bytes: Number(ran.stdout.trim()), code: code ? Number(code[1]) : -1, stderr: ran.stderr };
}

describe('a reader that stalls gets every byte, whatever the command', { concurrent: true }, () => {
  it('run: 6,888,896 bytes of seq through a reader asleep 4 s', async () => {
    const got = await throughStalledReader(['run', 'web-1', '--', 'seq 1 1000000'], 4);
    expect(got.bytes).toBe(6_888_896);
    expect(got.code).toBe(0);
  }, 90_000);

  it('run: the command\'s own exit status still comes through after the stall', async () => {
    const got = await throughStalledReader(['run', 'web-1', '--', 'seq 1 100000; exit 3'], 3);
    expect(got.bytes).toBe(588_895);
    expect(got.code).toBe(3);
  }, 90_000);

  it('shell with piped input: all that the terminal showed, through a reader asleep 4 s', async () => {
    const got = await throughStalledReader(['shell', 'web-1'], 4, "printf 'seq 1 300000\\nexit\\n' |");
    // What the terminal showed: the output (seq's lines, each CR LF), the prompt and the echo around it.
    expect(got.bytes).toBeGreaterThan(1_988_895 + 300_000);
    expect(got.code).toBe(0);
  }, 90_000);

  it('exec (ECS): a reader asleep 3 s', async () => {
    const got = await throughStalledReader(['exec', 'demo', '0123456789abcdef0123456789abcdef', '--', 'seq', '1', '200000'], 3);
    // Through the container's terminal, each newline comes as CR LF.
    expect(got.bytes).toBe(1_288_895 + 200_000);
    expect(got.code).toBe(0);
  }, 90_000);

  it(`proxy: ${SENT / 1024 / 1024} MiB from the port through a reader asleep 4 s (stdin still open)`, async () => {
    const port = (source.address() as { port: number }).port;
    // ssh keeps the proxy's stdin open until it is done: here until ssmx has exited.
    const reader = spawn('sh', ['-c', 'sleep 4; wc -c'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let counted = '';
    reader.stdout.on('data', (data: Buffer) => (counted += data.toString()));
    const ssmx = spawn(process.execPath, [ssmxBin, 'proxy', TARGET, String(port)], { env: emulator.env, stdio: ['pipe', reader.stdin, 'pipe'] });
    const code = await new Promise<number | null>((resolve) => ssmx.once('close', resolve));
    ssmx.stdin.end();
    reader.stdin.destroy();
    await new Promise((resolve) => reader.once('close', resolve));
    expect(Number(counted.trim())).toBe(SENT);
    expect(code).toBe(0);
  }, 90_000);

  for (const json of [false, true]) {
    it(`run --targets${json ? ' --json' : ''}: what a fast reader gets, through a reader asleep 3 s`, async () => {
      const args = ['run', '--targets', 'web-1,web-2', ...(json ? ['--json'] : []), '--', 'seq 1 3000'];
      const fast = await throughStalledReader(args, 0);
      const slow = await throughStalledReader(args, 3);
      expect(fast.code).toBe(0);
      expect(slow.code).toBe(0);
      expect(fast.bytes).toBeGreaterThan(2 * 13_893);
      // The JSON lines' durations may differ by a digit between the two runs.
      if (json) expect(Math.abs(slow.bytes - fast.bytes)).toBeLessThan(8);
      else expect(slow.bytes).toBe(fast.bytes);
    }, 90_000);
  }
});
