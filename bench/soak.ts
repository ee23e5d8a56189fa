/**
 * npm run soak -- --minutes N: one `ssmx forward` under mixed load for N minutes, as a database
 * client leaves it running all day. Short connections in a loop, long transfers both ways, a
 * reader that stalls and resumes, the link cut at random moments, the gateway closing WebSockets
 * and the service terminating sessions on its own schedule; every byte checked (echo compared,
 * transfers by SHA-256). It reports connections, bytes, reconnects, replacements, and the RSS and
 * open descriptors of the forward sampled over time, and writes a "Soak" section to BENCHMARKS.md.
 * A benchmark, not a test: it judges nothing, it measures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { seeded } from './fuzz.js';
import { startFaultProxy } from '../test/support/fault-proxy.js';
import { TAG_BYTES, hashClient, startHashServer } from '../test/support/hash-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ssmx = `${root}bin/ssmx`;

const minutes = Number(/--minutes[= ](\d+(?:\.\d+)?)/.exec(process.argv.slice(2).join(' '))?.[1] ?? 5);
const GATEWAY_CLOSE_S = 90;
const TERMINATE_S = 300;
const SHORT_WORKERS = 8;

const rssMib = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function startEmulator(args: string[]): Promise<{ child: ChildProcess; info: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string } }> {
  const child = spawn(process.execPath, [ssmx, 'emulator', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, info: JSON.parse(line) };
}

/** One short connection: random bytes out, the same bytes back. */
function echoOnce(port: number, random: () => number): Promise<{ ok: boolean; bytes: number; cutShort: boolean }> {
  const payload = randomBytes(1024 + Math.floor(random() * 8192));
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => finish(false, true), 60_000);
    const finish = (ok: boolean, cutShort: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, bytes: ok ? payload.length : 0, cutShort });
    };
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      got += data.length;
      if (got >= payload.length) finish(Buffer.concat(chunks).subarray(0, payload.length).equals(payload), false);
    });
    socket.on('error', () => finish(false, true));
    socket.on('close', () => got < payload.length && finish(false, true));
  });
}

async function main() {
  const random = seeded(20261129);
  const proxy = await startFaultProxy(7);
  const emulator = await startEmulator(['--public-endpoint', proxy.endpoint, '--agent-pacing', 'off', '--gateway-close-after', String(GATEWAY_CLOSE_S), '--terminate-after', String(TERMINATE_S)]);
  proxy.setUpstream(Number(new URL(emulator.info.endpoint).port));
  const echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  // One destination per transfer worker; each connection names itself first, so that the server's
  // record is paired with the right client even when a connection cut short arrives late.
  const hashes = await Promise.all([0, 1, 2].map(() => startHashServer(8 << 20, { confirmUpload: 4 << 20 })));
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: emulator.info.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.info.secretAccessKey,
    AWS_REGION: emulator.info.region,
    AWS_ENDPOINT_URL: proxy.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const specs = [`0:${(echo.address() as AddressInfo).port}`, ...hashes.map((server) => `0:${server.port}`)];
  const forward = spawn(process.execPath, [ssmx, 'forward', 'i-0123456789abcdef0', ...specs, '--sessions', '2', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  forward.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const lines = createInterface({ input: forward.stdout! });
  const ports: number[] = [];
  await new Promise<void>((resolve) => lines.on('line', (line) => ports.push(JSON.parse(line).localPort) === specs.length && resolve()));
  const [echoPort, ...hashPorts] = ports as [number, ...number[]];
  const pid = forward.pid!;
  const deadline = Date.now() + minutes * 60_000;
  const totals = { short: 0, shortBytes: 0, shortCutShort: 0, shortWrong: 0, long: 0, longBytes: 0, longCutShort: 0, longWrong: 0, stalled: 0, cuts: 0 };
  const samples: Array<{ at: number; rss: number; fds: number }> = [];
  const started = Date.now();
  const sample = () => samples.push({ at: (Date.now() - started) / 1000, rss: rssMib(pid), fds: fds(pid) });
  sample();
  const sampler = setInterval(sample, 5000);

  const shortWorker = async () => {
    while (Date.now() < deadline) {
      const result = await echoOnce(echoPort, random);
      if (result.ok) {
        totals.short++;
        totals.shortBytes += result.bytes;
      } else if (result.cutShort) totals.shortCutShort++;
      else totals.shortWrong++;
    }
  };
  /** A transfer both ways, checked by SHA-256; `stallMs` makes the reader stop for that long first. */
  const transferWorker = async (worker: number, stallMs: number) => {
    const destination = hashes[worker]!;
    while (Date.now() < deadline) {
      const tag = randomBytes(TAG_BYTES);
      try {
        // Bounded: a transfer that stalls past two minutes counts as cut short (it is reported).
        const client = await Promise.race([
          hashClient(hashPorts[worker]!, 4 << 20, 8 << 20, { tag, ...(stallMs ? { stallMs } : {}) }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no end within 120 s')), 120_000).unref()),
        ]);
        // The client saw every byte, and the destination's digest of what it received: its record is there.
        const server = await Promise.race([
          destination.resultFor(tag.toString('hex')),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000).unref()),
        ]);
        const downOk = server !== undefined && client.receivedSha256 === server.sentSha256;
        const upOk = server !== undefined && server.receivedSha256 === client.sentSha256 && client.confirmedSha256 === client.sentSha256;
        if (downOk && upOk) {
          totals.long++;
          totals.longBytes += (4 << 20) + (8 << 20);
          if (stallMs) totals.stalled++;
        } else {
          totals.longWrong++;
          const what = server ? `down ${downOk ? 'ok' : 'WRONG'}, up ${upOk ? 'ok' : 'WRONG'} (${server.receivedBytes} bytes reached the destination)` : 'the destination never saw the end';
          process.stderr.write(`soak: transfer ${tag.toString('hex')} on worker ${worker}: ${what}\n`);
        }
      } catch {
        totals.longCutShort++;
      }
    }
  };
  const cutter = async () => {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20_000 + random() * 20_000));
      if (Date.now() < deadline) {
        proxy.cut();
        totals.cuts++;
      }
    }
  };
  await Promise.all([...Array.from({ length: SHORT_WORKERS }, shortWorker), transferWorker(0, 0), transferWorker(1, 0), transferWorker(2, 15_000), cutter()]);
  clearInterval(sampler);
  sample();
  forward.kill('SIGINT');
  await new Promise((resolve) => forward.once('exit', resolve));
  echo.close();
  await Promise.all(hashes.map((server) => server.close()));
  emulator.child.kill('SIGTERM');
  await proxy.close();

  const reconnects = (stderr.match(/reconnected after/g) ?? []).length;
  const replacements = (stderr.match(/ replaces /g) ?? []).length;
  const firstMinute = samples.filter((s) => s.at <= 60);
  const lastMinute = samples.filter((s) => s.at >= samples.at(-1)!.at - 60);
  const report = {
    minutes,
    ...totals,
    reconnects,
    replacements,
    rssMib: { firstMinuteMedian: median(firstMinute.map((s) => s.rss)), lastMinuteMedian: median(lastMinute.map((s) => s.rss)), max: Math.max(...samples.map((s) => s.rss)) },
    fds: { firstMinuteMedian: median(firstMinute.map((s) => s.fds)), lastMinuteMedian: median(lastMinute.map((s) => s.fds)), max: Math.max(...samples.map((s) => s.fds)) },
    // The trend: the medians of each sixth of the run, to tell a plateau from a leak.
    trend: Array.from({ length: 6 }, (_, sixth) => {
      const span = (minutes * 60) / 6;
      const inSpan = samples.filter((s) => s.at >= sixth * span && s.at < (sixth + 1) * span);
      return { fromMinute: (sixth * span) / 60, rss: median(inSpan.map((s) => s.rss)), fds: median(inSpan.map((s) => s.fds)) };
    }),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  writeSection(report);
}

function writeSection(r: { minutes: number; short: number; shortBytes: number; shortCutShort: number; shortWrong: number; long: number; longBytes: number; longCutShort: number; longWrong: number; stalled: number; cuts: number; reconnects: number; replacements: number; rssMib: Record<string, number>; fds: Record<string, number>; trend: Array<{ fromMinute: number; rss: number; fds: number }> }) {
  const path = `${root}BENCHMARKS.md`;
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const section = `## Soak

Measured by \`npm run soak -- --minutes ${r.minutes}\` (bench/soak.ts) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}: one
\`ssmx forward\` (4 specs, 2 sessions each) through the tests' fault proxy to the emulator (pacing
off) for ${r.minutes} minutes. ${SHORT_WORKERS} workers open short echo connections in a loop (1–9 KiB each, compared
byte for byte); three more move 4 MiB up and 8 MiB down per connection, checked by SHA-256 (a
transfer counts only once the destination has sent back the digest of all it received), one of
them stalling its reader 15 s each time; the link is cut every 20–40 s; the gateway closes every
WebSocket ${GATEWAY_CLOSE_S} s after it opens, and the service terminates every session ${TERMINATE_S} s after it starts.

| what | figure |
| --- | --- |
| short connections, every byte back | ${r.short} (${mb(r.shortBytes)} MB) |
| transfers, both digests matching | ${r.long} (${mb(r.longBytes)} MB), ${r.stalled} of them with a 15 s stall |
| connections with a wrong byte | ${r.shortWrong} short, ${r.longWrong} transfers |
| connections cut short (closed with a session the service terminated, or timed out) | ${r.shortCutShort} short, ${r.longCutShort} transfers |
| link cuts / reconnects / sessions replaced | ${r.cuts} / ${r.reconnects} / ${r.replacements} |
| RSS of the forward: median of the first minute, of the last, max | ${r.rssMib.firstMinuteMedian!.toFixed(1)} / ${r.rssMib.lastMinuteMedian!.toFixed(1)} / ${r.rssMib.max!.toFixed(1)} MiB |
| open descriptors: the same | ${r.fds.firstMinuteMedian} / ${r.fds.lastMinuteMedian} / ${r.fds.max} |
| RSS (MiB) / descriptors, median of each sixth of the run | ${r.trend.map((t) => `${t.rss.toFixed(1)} / ${t.fds}`).join(' · ')} |
`;
  let text = readFileSync(path, 'utf8');
  text = /## Soak\n[\s\S]*?(?=\n## |$)/.test(text) ? text.replace(/## Soak\n[\s\S]*?(?=\n## |$)/, section.trimEnd() + '\n') : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(path, text);
}

await main();
