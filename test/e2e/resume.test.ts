// @module-tag needs-node-pty
import { DescribeSessionsCommand, SSMClient, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { INTEGRITY_SCHEDULE, cutEvenly, startFaultProxy, type FaultProxy, type Faults } from '../support/fault-proxy.js';
import { startForward } from '../support/forward.js';
import { hashClient, startHashServer } from '../support/hash-server.js';
import { runInPty } from '../support/pty.js';

const TARGET = 'i-0123456789abcdef0';
const PROMPT = 'ssmx-resume$ ';

let proxy: FaultProxy;
let emulator: EmulatorProcess;
let env: NodeJS.ProcessEnv;
let ssm: SSMClient;

beforeAll(async () => {
  proxy = await startFaultProxy();
  emulator = await startEmulatorProcess(['--public-endpoint', proxy.endpoint, '--agent-pacing', 'off', '--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`]);
  proxy.setUpstream(Number(new URL(emulator.info.endpoint).port));
  // Everything ssmx does goes through the proxy; the test's own SDK client goes straight.
  env = { ...emulator.env, AWS_ENDPOINT_URL: proxy.endpoint };
  const { info } = emulator;
  ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
});
afterAll(async () => {
  ssm?.destroy();
  await proxy?.close();
  await emulator?.stop();
});


/**
 * A transfer through `ssmx forward` (one session) with the fault proxy's schedule on, and the link
 * cut `drops` times, evenly over the download. Both digests must match: no byte lost or repeated.
 */
async function faultyTransfer(proxy: FaultProxy, env: NodeJS.ProcessEnv, plan: { download: number; upload: number; drops: number; faults: Faults }) {
  const server = await startHashServer(plan.download);
  const forward = await startForward(env, [TARGET, `0:${server.port}`, '--sessions', '1']);
  const before = { ...proxy.counts };
  const cuts = cutEvenly(proxy, plan.download, plan.drops);
  proxy.faults = plan.faults;
  try {
    const client = await hashClient(forward.listeners[0]!.localPort!, plan.upload, plan.download, { onProgress: cuts.onProgress });
    const seen = await server.results[0]!;
    expect(client.receivedBytes).toBe(plan.download);
    expect(client.receivedSha256).toBe(seen.sentSha256);
    expect(seen.receivedBytes).toBe(plan.upload);
    expect(seen.receivedSha256).toBe(client.sentSha256);
    const counts = Object.fromEntries(Object.entries(proxy.counts).map(([key, value]) => [key, value - before[key as keyof typeof before]])) as FaultProxy['counts'];
    proxy.faults = NO_FAULTS;
    expect(await forward.stop()).toBe(0);
    return { drops: cuts.made(), counts, stderr: forward.stderr() };
  } finally {
    proxy.faults = NO_FAULTS;
    await forward.stop();
    await server.close();
  }
}

const NO_FAULTS: Faults = { duplicate: 0, reorder: 0, delay: 0 };

describe('a dropped connection is resumed (ResumeSession, new token, resend)', () => {
  it('a shell keeps its state across a drop: cd /tmp, drop, pwd prints /tmp', async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET], { env });
    await term.waitFor(PROMPT);
    let mark = term.output().length;
    term.write('cd /tmp\r');
    await term.waitFor(PROMPT, { from: mark });
    proxy.cut();
    await term.waitFor(/reconnected after \d+\.\d s/, { from: mark });
    expect(term.output().slice(mark)).toMatch(/the connection dropped .*reconnecting/);
    mark = term.output().length;
    term.write('pwd\r');
    await term.waitFor(/\/tmp\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  });

  it('128 MiB down and 16 MiB up through ssmx forward while the link drops 10 times and 5% of frames are duplicated or reordered: every byte once', async () => {
    const result = await faultyTransfer(proxy, env, { download: 128 << 20, upload: 16 << 20, ...INTEGRITY_SCHEDULE });
    expect(result.drops).toBe(10);
    expect(result.counts.duplicated).toBeGreaterThan(100);
    expect(result.counts.reordered).toBeGreaterThan(100);
    expect(result.stderr.match(/reconnected after/g)?.length).toBeGreaterThanOrEqual(10);
  }, 180_000);

  it('16 MiB each way while the link drops 5 times, evenly over the download: every byte once', async () => {
    const server = await startHashServer(16 << 20);
    const forward = await startForward(env, [TARGET, `0:${server.port}`, '--sessions', '1']);
    // By bytes received, not by the clock: drops 150 ms apart let a fast transfer end before the fifth.
    const cuts = cutEvenly(proxy, 16 << 20, 5);
    try {
      const client = await hashClient(forward.listeners[0]!.localPort!, 16 << 20, 16 << 20, { onProgress: cuts.onProgress });
      const seen = await server.results[0]!;
      expect(client.receivedBytes).toBe(16 << 20);
      expect(client.receivedSha256).toBe(seen.sentSha256);
      expect(seen.receivedBytes).toBe(16 << 20);
      expect(seen.receivedSha256).toBe(client.sentSha256);
      expect(cuts.made()).toBe(5);
      expect(await forward.stop()).toBe(0);
    } finally {
      await forward.stop();
      await server.close();
    }
  }, 120_000);

  it('1% of frames damaged (a payload or digest byte flipped), and the link cut on a seeded schedule: dropped unacknowledged, resent, every byte once', async () => {
    const result = await faultyTransfer(proxy, env, { download: 16 << 20, upload: 16 << 20, drops: 0, faults: { duplicate: 0.01, reorder: 0.01, delay: 0, corrupt: 0.01, cut: 1 / 8000 } });
    expect(result.counts.corrupted).toBeGreaterThan(50);
    expect(result.counts.cuts).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/reconnected after/);
  }, 120_000);

  it('a session the service ended while the link was down ends at once, with a clear message (5)', async () => {
    const activeIds = async () => new Set((await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).Sessions!.map((s) => s.SessionId!));
    const before = await activeIds();
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET], { env });
    await term.waitFor(PROMPT);
    const sessionId = [...(await activeIds())].find((id) => !before.has(id))!;
    proxy.refusing = true;
    proxy.cut();
    await term.waitFor('reconnecting');
    await ssm.send(new TerminateSessionCommand({ SessionId: sessionId }));
    proxy.refusing = false;
    const { exitCode } = await term.exited;
    expect(exitCode).toBe(5);
    expect(term.output()).toMatch(/has ended on the service/);
  });

  it('--reconnect-timeout bounds the retries: a link down for longer fails with a clear error (5)', async () => {
    const term = runInPty(process.execPath, [ssmxBin, '--reconnect-timeout', '2', 'shell', TARGET], { env });
    await term.waitFor(PROMPT);
    proxy.refusing = true;
    proxy.cut();
    const started = Date.now();
    const { exitCode } = await term.exited;
    proxy.refusing = false;
    expect(exitCode).toBe(5);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(term.output()).toMatch(/could not be restored within 2 s/);
  });
});

describe('against an agent that never acknowledges a duplicate (as its published sources do)', () => {
  let quietProxy: FaultProxy;
  let quiet: EmulatorProcess;
  let quietEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    quietProxy = await startFaultProxy(2);
    quiet = await startEmulatorProcess(['--public-endpoint', quietProxy.endpoint, '--agent-pacing', 'off', '--duplicate-acks', 'off']);
    quietProxy.setUpstream(Number(new URL(quiet.info.endpoint).port));
    quietEnv = { ...quiet.env, AWS_ENDPOINT_URL: quietProxy.endpoint };
  });
  afterAll(async () => {
    await quietProxy?.close();
    await quiet?.stop();
  });

  it('acks lost with 5 drops and with 1% damaged frames are inferred: 16 MiB each way, every byte once', async () => {
    const result = await faultyTransfer(quietProxy, quietEnv, { download: 16 << 20, upload: 16 << 20, drops: 5, faults: { duplicate: 0.01, reorder: 0.01, delay: 0, corrupt: 0.01 } });
    expect(result.counts.corrupted).toBeGreaterThan(20);
  }, 120_000);
});
