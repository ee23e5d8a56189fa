/**
 * Recovery measurements for npm run bench: how long a forwarded connection is dead after the link
 * drops, and how much throughput the fault schedule of the resume tests costs. Every figure comes
 * from this run, through the tests' own fault proxy.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { INTEGRITY_SCHEDULE, cutEvenly, startFaultProxy, type Faults } from '../test/support/fault-proxy.js';
import { destination, startForward, type Emulator } from './forward.js';

export const DROPS = 20;
export const SCHEDULE_BYTES = 64 << 20;
const RUNS = 3;

const NO_FAULTS: Faults = { duplicate: 0, reorder: 0, delay: 0 };

async function echoServer() {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** Downloads `bytes` (the destination sends them after a 1-byte request), calling `onProgress`. */
function download(port: number, bytes: number, onProgress: (received: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = 0;
    socket.on('connect', () => socket.write('x'));
    socket.on('data', (data: Buffer) => {
      received += data.length;
      onProgress(received);
      if (received >= bytes) {
        socket.end();
        resolve(bytes / ((performance.now() - started) / 1000));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => received < bytes && reject(new Error(`got ${received} of ${bytes} bytes`)));
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Time to recover: a connection through `ssmx forward` to an echo server; the link is cut, one byte
 * is written at once, and the time until its echo is back is taken — what a user waits for after
 * a drop: detection, ResumeSession, a new WebSocket, and the resend.
 */
export async function measureRecovery(ssmx: string, startEmulator: (args: string[]) => Promise<Emulator>, pacing: 'on' | 'off') {
  const proxy = await startFaultProxy(1);
  const emulator = await startEmulator(['--agent-pacing', pacing, '--public-endpoint', proxy.endpoint]);
  proxy.setUpstream(Number(new URL(emulator.env.AWS_ENDPOINT_URL!).port));
  const env = { ...emulator.env, AWS_ENDPOINT_URL: proxy.endpoint };
  const echo = await echoServer();
  const forward = await startForward(ssmx, env, echo.port, 1);
  const socket = connect({ host: '127.0.0.1', port: forward.port });
  let onEcho: (() => void) | undefined;
  socket.on('data', () => onEcho?.());
  const roundTrip = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const timer = setTimeout(() => reject(new Error('no echo within 60 s')), 60_000);
      onEcho = () => {
        clearTimeout(timer);
        onEcho = undefined;
        resolve(performance.now() - started);
      };
      socket.write('x');
    });
  try {
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const clean: number[] = [];
    for (let i = 0; i < 20; i++) clean.push(await roundTrip());
    const recoveries: number[] = [];
    for (let i = 0; i < DROPS; i++) {
      await pause(500);
      proxy.cut();
      recoveries.push(await roundTrip());
    }
    return { recoveries: recoveries.sort((a, b) => a - b), clean: clean.sort((a, b) => a - b) };
  } finally {
    socket.destroy();
    forward.child.kill('SIGINT');
    echo.close();
    emulator.stop();
    await proxy.close();
  }
}

/**
 * Throughput under faults: SCHEDULE_BYTES down one connection, one session, RUNS times through the
 * fault proxy with no faults and RUNS times with the schedule (the link cut INTEGRITY_SCHEDULE.drops times,
 * evenly over the download, plus the frame faults); the medians and their ratio.
 */
export async function measureThroughputUnderFaults(ssmx: string, startEmulator: (args: string[]) => Promise<Emulator>) {
  const proxy = await startFaultProxy(1);
  const emulator = await startEmulator(['--agent-pacing', 'off', '--public-endpoint', proxy.endpoint]);
  proxy.setUpstream(Number(new URL(emulator.env.AWS_ENDPOINT_URL!).port));
  const env = { ...emulator.env, AWS_ENDPOINT_URL: proxy.endpoint };
  const dest = await destination(SCHEDULE_BYTES);
  const forward = await startForward(ssmx, env, dest.port, 1);
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  try {
    const clean: number[] = [];
    const faulty: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      proxy.faults = NO_FAULTS;
      clean.push(await download(forward.port, SCHEDULE_BYTES, () => undefined));
      proxy.faults = INTEGRITY_SCHEDULE.faults;
      faulty.push(await download(forward.port, SCHEDULE_BYTES, cutEvenly(proxy, SCHEDULE_BYTES, INTEGRITY_SCHEDULE.drops).onProgress));
      proxy.faults = NO_FAULTS;
    }
    process.stderr.write(`bench: under faults: clean ${clean.map((r) => (r / 1e6).toFixed(1))} MB/s, faulty ${faulty.map((r) => (r / 1e6).toFixed(1))} MB/s\n`);
    return { clean: median(clean), faulty: median(faulty) };
  } finally {
    forward.child.kill('SIGINT');
    dest.server.close();
    emulator.stop();
    await proxy.close();
  }
}
