/**
 * Start-up and footprint (issue 13), each as a ratio to a baseline taken in the same run:
 * `ssmx --version` and launch-to-first-byte through a new `ssmx forward` against `node -e 0`, run
 * in turn so that the machine's drift touches both; the forward's peak RSS during a 64 MiB
 * download and its CPU seconds for a GiB coming down (agent pacing off), with the first 256 MiB's
 * rate beside it. For the npm package (the bundle under this Node) and, when given, the standalone
 * executable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { measureRelayCpu, measureResources, type Emulator } from './forward.js';

export const STARTUP_RUNS = 15;
/** Downloads whose peak RSS is taken; the median is reported. */
export const RSS_RUNS = 3;
/** Downloads of 1 GiB whose CPU is taken, each beside a plain relay's; the medians are reported. */
export const CPU_RUNS = 3;
/** What each of them carries, and the first part whose rate is reported beside the whole's. */
export const CPU_BYTES = 1 << 30;
export const CPU_FIRST_PART = 256 << 20;
const RUNS = STARTUP_RUNS;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Wall milliseconds of one run of a command, to its exit. */
function wallMs(command: string[]): number {
  const started = performance.now();
  const result = spawnSync(command[0]!, command.slice(1), { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}`);
  return performance.now() - started;
}

/** Milliseconds from launching `ssmx forward` to the first byte echoed back through it. */
async function firstByteMs(ssmx: string[], env: Record<string, string>, echoPort: number): Promise<number> {
  const started = performance.now();
  const child = spawn(ssmx[0]!, [...ssmx.slice(1), 'forward', 'i-0123456789abcdef0', `0:${echoPort}`, '--json', '--quiet', '--sessions', '1'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const port = (JSON.parse(line) as { localPort: number }).localPort;
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('x'));
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
  const ms = performance.now() - started;
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
  return ms;
}

export interface StartupFigures {
  label: string;
  /** `node -e 0`, the median of the runs taken beside `--version`. */
  baselineMs: number;
  versionMs: number;
  versionRatio: number;
  firstByteMs: number;
  firstByteRatio: number;
  peakRssMib64: number;
  /** RSS of the Node the build runs on, running `-e 0`: what any program on it starts from. */
  nodeRssMib: number;
  /** CPU seconds for a GiB coming down (CPU_BYTES). */
  cpuSecondsPerGiB: number;
  /** The rate of the same downloads' first CPU_FIRST_PART bytes, start-up and warming included. */
  firstPartCpuSecondsPerGiB: number;
  /** The same transfer through a plain socket-to-socket relay on the same Node: the floor. */
  relayCpuSecondsPerGiB: number;
}

/** Peak RSS (MiB, VmHWM) of a Node binary that runs nothing: the median of 5. */
function nodeRssMib(node: string): number {
  const script = "process.stdout.write(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])";
  const runs = Array.from({ length: 5 }, () => Number(spawnSync(node, ['-e', script], { encoding: 'utf8' }).stdout) / 1024);
  return median(runs);
}

/**
 * `ssmx` is the words that run the build; `nodeBinary`, the Node binary it runs on (the standalone
 * executable's own Node, for its baseline RSS).
 */
export async function measureStartup(label: string, ssmx: string[], startEmulator: (args: string[]) => Promise<Emulator>, nodeBinary = process.execPath): Promise<StartupFigures> {
  const node = [process.execPath, '-e', '0'];
  wallMs(node);
  wallMs([...ssmx, '--version']);
  const version: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(wallMs(node));
    version.push(wallMs([...ssmx, '--version']));
  }
  const emulator = await startEmulator([]);
  const echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const firstBytes: number[] = [];
  const baseline2: number[] = [];
  try {
    await firstByteMs(ssmx, emulator.env, (echo.address() as AddressInfo).port);
    for (let i = 0; i < RUNS; i++) {
      baseline2.push(wallMs(node));
      firstBytes.push(await firstByteMs(ssmx, emulator.env, (echo.address() as AddressInfo).port));
    }
  } finally {
    echo.close();
    emulator.stop();
  }
  // A peak is one sample of a noisy process (when V8 compiles, what is in flight): the median of three.
  const peaks: number[] = [];
  for (let i = 0; i < RSS_RUNS; i++) peaks.push((await measureResources(ssmx, startEmulator, 64 << 20)).peakRssMib);
  // CPU per GiB drifts with the machine as the peak does: three downloads, each followed by a plain
  // relay's (so both meet the same machine), and the median of each.
  const cpus: number[] = [];
  const firstParts: number[] = [];
  const relays: number[] = [];
  for (let i = 0; i < CPU_RUNS; i++) {
    const download = await measureResources(ssmx, startEmulator, CPU_BYTES, CPU_FIRST_PART);
    cpus.push(download.cpuSecondsPerGiB);
    firstParts.push(download.firstPartCpuSecondsPerGiB);
    relays.push(await measureRelayCpu(nodeBinary, CPU_BYTES));
  }
  return {
    label,
    baselineMs: median(baseline),
    versionMs: median(version),
    versionRatio: median(version) / median(baseline),
    firstByteMs: median(firstBytes),
    firstByteRatio: median(firstBytes) / median(baseline2),
    peakRssMib64: median(peaks),
    nodeRssMib: nodeRssMib(nodeBinary),
    cpuSecondsPerGiB: median(cpus),
    firstPartCpuSecondsPerGiB: median(firstParts),
    relayCpuSecondsPerGiB: median(relays),
  };
}


/**
 * Where the forward's CPU goes while `bytes` come down one connection: the process runs under
 * `node --cpu-prof`, and the profile's samples are summed by function (self time), the largest first.
 */
export async function profileDownload(bin: string, startEmulator: (args: string[]) => Promise<Emulator>, bytes = 128 << 20): Promise<Array<{ name: string; share: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-bench-prof-'));
  await measureResources([process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, bin], startEmulator, bytes);
  // The profile is written as the forward exits (measureResources ends it with SIGINT).
  for (let i = 0; i < 100 && !readdirSync(dir).some((name) => name.endsWith('.cpuprofile')); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) return [];
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') return;
    const where = frame.url ? frame.url.replace(/^.*\/(node_modules|dist|lib)\//, '').replace(/^node:/, '') : 'native';
    const name = `${frame.functionName || '(anonymous)'} (${where})`;
    const delta = profile.timeDeltas[index] ?? 0;
    busy += delta;
    self.set(name, (self.get(name) ?? 0) + delta);
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([name, time]) => ({ name, share: time / busy }));
}
