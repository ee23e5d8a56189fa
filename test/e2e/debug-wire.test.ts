// @module-tag needs-node-pty
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { runInPty } from '../support/pty.js';

const TARGET = 'i-0123456789abcdef0';
const PROMPT = 'ssmx-debug$ ';
const SECRET = 'hunter2-not-for-logs';

let proxy: FaultProxy;
let emulator: EmulatorProcess;

beforeAll(async () => {
  proxy = await startFaultProxy();
  // KMS on: even a shell opens with a handshake, so the wire shows one.
  emulator = await startEmulatorProcess(['--public-endpoint', proxy.endpoint, '--kms-key-id', 'alias/ssm-sessions', '--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`]);
  proxy.setUpstream(Number(new URL(emulator.info.endpoint).port));
});
afterAll(async () => {
  await proxy?.close();
  await emulator?.stop();
});

describe('ssmx --debug shows the data channel, never its contents', () => {
  it('the handshake, data frames with sequence numbers, acks, and the resend after a cut', async () => {
    const term = runInPty(process.execPath, [ssmxBin, '--debug', 'shell', TARGET], { env: { ...emulator.env, AWS_ENDPOINT_URL: proxy.endpoint } });
    await term.waitFor(PROMPT, { timeoutMs: 15_000 });
    let mark = term.output().length;
    term.write(`echo ${SECRET} > /dev/null\r`);
    await term.waitFor(PROMPT, { from: mark });
    // Cut the link and keep it down: what is typed meanwhile waits, unacknowledged, for the resend.
    mark = term.output().length;
    proxy.refusing = true;
    proxy.cut();
    await term.waitFor(/reconnecting/, { from: mark });
    term.write('echo after-$((6*7))\r');
    await term.waitFor(/held, the link is down: input_stream_data #\d+ flags=0 Output/, { from: mark });
    proxy.refusing = false;
    await term.waitFor(/after-42\r\n/, { from: mark, timeoutMs: 20_000 });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);

    const wire = term
      .output()
      .split(/\r?\n/)
      .filter((line) => line.includes('ssmx: debug: wire '))
      // The remote's output shares the terminal: a debug line can follow its echo on the same row.
      .map((line) => line.slice(line.indexOf('ssmx: debug: wire ')));
    const text = wire.join('\n');
    // The handshake, each way, and its outcome.
    expect(text).toMatch(/← output_stream_data #0 flags=1 HandshakeRequest \d+ B/);
    expect(text).toMatch(/→ input_stream_data #0 flags=0 HandshakeResponse \d+ B/);
    expect(text).toMatch(/→ input_stream_data #1 flags=0 EncChallengeResponse \d+ B/);
    expect(text).toMatch(/handshake done: Standard_Stream, agent 3\.3\.1142\.0, KMS-encrypted/);
    // Data both ways, with sequence numbers, and acknowledgements both ways.
    expect(text).toMatch(/→ input_stream_data #\d+ flags=0 Output \d+ B/);
    expect(text).toMatch(/← output_stream_data #\d+ flags=0 Output \d+ B/);
    expect(text).toMatch(/→ acknowledge of #\d+/);
    expect(text).toMatch(/← acknowledge of #\d+/);
    // The cut, the reconnect, and the message typed meanwhile sent again.
    expect(text).toMatch(/link lost \(.*\); reconnecting/);
    expect(text).toMatch(/held, the link is down: input_stream_data #\d+ flags=0 Output \d+ B/);
    expect(text).toMatch(/link up: resending [1-9]\d* unacknowledged/);
    expect(text).toMatch(/→ input_stream_data #\d+ flags=0 Output \d+ B \(resend, timeout \d+ ms\)/);
    expect(text).toMatch(/reconnected after \d+ ms/);
    // Sizes and numbers only: what was typed never reaches the log (it is encrypted on the wire, and not logged here).
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('after-');
  });
});
