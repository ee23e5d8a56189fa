/** Port-forwarding measurements for npm run bench: every figure comes from this run. */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { createInterface } from 'node:readline';

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

/**
 * A destination that either answers a one-byte request with `download` bytes or swallows what it
 * gets. It waits for the request because in basic mode the agent dials again only when the client
 * sends something (docs/protocol.md §8): a server that speaks first is silent on the second connection.
 */
export async function destination(download: number): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
    let remaining = download;
    const pump = () => {
      while (remaining > 0) {
        const n = Math.min(remaining, CHUNK.length);
        remaining -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void socket.once('drain', pump);
      }
      socket.end();
    };
    let asked = false;
    socket.on('data', () => {
      if (download > 0 && !asked) {
        asked = true;
        pump();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/**
 * One connection: uploads `upload` bytes then half-closes; resolves when the far end has closed.
 * `passing`, if given, is told when the download passes `at` bytes.
 */
function transfer(port: number, upload: number, download: number, passing?: { at: number; then: () => void }): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let remaining = upload;
    let received = 0;
    const pump = () => {
      while (remaining > 0) {
        const n = Math.min(remaining, CHUNK.length);
        remaining -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void socket.once('drain', pump);
      }
      if (download === 0) socket.end();
    };
    socket.on('connect', () => (download > 0 ? socket.write(CHUNK.subarray(0, 1)) : pump()));
    socket.on('data', (d: Buffer) => {
      if (passing && received < passing.at && received + d.length >= passing.at) passing.then();
      received += d.length;
      if (received >= download && download > 0) socket.end();
    });
    socket.on('close', () => (received >= download ? resolve() : reject(new Error(`got ${received} of ${download}`))));
    socket.on('error', reject);
  });
}

export interface Scenario {
  name: string;
  agentVersion?: string;
  pacing: 'on' | 'off';
  sessions: number;
  connections: number;
}

export interface Emulator {
  env: Record<string, string>;
  stop(): void;
}

export async function startForward(ssmx: string | string[], env: Record<string, string>, destPort: number, sessions: number) {
  const [program, ...words] = typeof ssmx === 'string' ? [process.execPath, ssmx] : ssmx;
  const child: ChildProcess = spawnChild(program!, [...words, 'forward', 'i-0123456789abcdef0', `0:${destPort}`, '--json', '--quiet', '--sessions', String(sessions)], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { child, port: JSON.parse(line).localPort as number };
}

/** Bytes per second for `connections` parallel transfers of `perConnection` bytes in one direction; NaN past 3 minutes. */
async function rate(port: number, connections: number, perConnection: number, direction: 'up' | 'down'): Promise<number> {
  const started = performance.now();
  const all = Promise.all(
    Array.from({ length: connections }, () => (direction === 'up' ? transfer(port, perConnection, 0) : transfer(port, 0, perConnection))),
  ).then(() => true);
  const finished = await Promise.race([all, new Promise<false>((resolve) => setTimeout(() => resolve(false), 180_000).unref())]);
  return finished ? (connections * perConnection) / ((performance.now() - started) / 1000) : NaN;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

function rssMib(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

export async function measureForwarding(ssmx: string, startEmulator: (args: string[]) => Promise<Emulator>, scenarios: Scenario[], perConnectionBytes: (s: Scenario) => number) {
  const rows: Array<{ scenario: Scenario; up: number; down: number; directUp: number; directDown: number }> = [];
  for (const scenario of scenarios) {
    const bytes = perConnectionBytes(scenario);
    const emulator = await startEmulator(['--agent-pacing', scenario.pacing, ...(scenario.agentVersion ? ['--agent-version', scenario.agentVersion] : [])]);
    try {
      const down = await destination(bytes);
      const up = await destination(0);
      const directDown = await rate(down.port, scenario.connections, bytes, 'down');
      const directUp = await rate(up.port, scenario.connections, bytes, 'up');
      const fDown = await startForward(ssmx, emulator.env, down.port, scenario.sessions);
      const downRate = await rate(fDown.port, scenario.connections, bytes, 'down');
      fDown.child.kill('SIGINT');
      const fUp = await startForward(ssmx, emulator.env, up.port, scenario.sessions);
      const upRate = await rate(fUp.port, scenario.connections, bytes, 'up');
      fUp.child.kill('SIGINT');
      await Promise.all([fDown.child, fUp.child].map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(0) : c.once('exit', resolve)))));
      down.server.close();
      up.server.close();
      rows.push({ scenario, up: upRate, down: downRate, directUp, directDown });
      process.stderr.write(`bench: ${scenario.name}: down ${(downRate / 1e6).toFixed(2)} MB/s, up ${(upRate / 1e6).toFixed(2)} MB/s\n`);
    } finally {
      emulator.stop();
    }
  }
  return rows;
}

/**
 * Peak RSS and CPU seconds per GiB of ssmx (the words that run it) while `bytes` come down one
 * connection, pacing off; with `firstPart`, also the CPU seconds per GiB of the download's first
 * `firstPart` bytes (what starting up and V8's compiling of the hot code weigh in a shorter one).
 */
export async function measureResources(ssmx: string | string[], startEmulator: (args: string[]) => Promise<Emulator>, bytes = 256 << 20, firstPart?: number) {
  const emulator = await startEmulator(['--agent-pacing', 'off']);
  try {
    const down = await destination(bytes);
    const forward = await startForward(ssmx, emulator.env, down.port, 1);
    const pid = forward.child.pid!;
    let peak = rssMib(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMib(pid))), 50);
    const cpuBefore = cpuSeconds(pid);
    let firstPartCpu = NaN;
    const started = performance.now();
    await transfer(forward.port, 0, bytes, firstPart ? { at: firstPart, then: () => (firstPartCpu = cpuSeconds(pid) - cpuBefore) } : undefined);
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(pid) - cpuBefore;
    clearInterval(sampler);
    forward.child.kill('SIGINT');
    down.server.close();
    return {
      peakRssMib: peak,
      cpuSecondsPerGiB: (cpu * (1 << 30)) / bytes,
      firstPartCpuSecondsPerGiB: firstPart ? (firstPartCpu * (1 << 30)) / firstPart : NaN,
      seconds,
      mbPerSecond: bytes / seconds / 1e6,
    };
  } finally {
    emulator.stop();
  }
}

/**
 * The CPU floor of moving bytes through a Node process at all: a plain relay (socket piped to
 * socket, on the same Node) carrying `bytes` down one connection, as CPU seconds per GiB. What a
 * forward costs over it is the data channel's own work.
 */
export async function measureRelayCpu(node: string, bytes = 256 << 20): Promise<number> {
  const down = await destination(bytes);
  const relayScript = `const net=require('net');const s=net.createServer(c=>{const u=net.connect(${down.port},'127.0.0.1');c.pipe(u);u.pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy())}).listen(0,'127.0.0.1',()=>console.log(JSON.stringify({localPort:s.address().port})))`;
  const child = spawnChild(node, ['-e', relayScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
    const port = (JSON.parse(line) as { localPort: number }).localPort;
    const before = cpuSeconds(child.pid!);
    await transfer(port, 0, bytes);
    return ((cpuSeconds(child.pid!) - before) * (1 << 30)) / bytes;
  } finally {
    child.kill();
    down.server.close();
  }
}
