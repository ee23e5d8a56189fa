import { DescribeSessionsCommand, SSMClient, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
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

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

  it('5% of frames duplicated or reordered, both ways, on a live link: 32 MiB down and 8 MiB up, every byte once', async () => {
    const server = await startHashServer(32 << 20);
    const forward = await startForward(env, [TARGET, `0:${server.port}`, '--sessions', '1']);
    proxy.faults = { duplicate: 0.025, reorder: 0.025, delay: 0.01 };
    const before = { ...proxy.counts };
    try {
      const client = await hashClient(forward.listeners[0]!.localPort!, 8 << 20, 32 << 20);
      const seen = await server.results[0]!;
      expect(client.receivedSha256).toBe(seen.sentSha256);
      expect(seen.receivedSha256).toBe(client.sentSha256);
      expect(proxy.counts.duplicated - before.duplicated).toBeGreaterThan(100);
      expect(proxy.counts.reordered - before.reordered).toBeGreaterThan(100);
    } finally {
      proxy.faults = { duplicate: 0, reorder: 0, delay: 0 };
      await forward.stop();
      await server.close();
    }
  }, 60_000);

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
