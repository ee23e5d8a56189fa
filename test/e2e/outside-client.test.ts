// @module-tag needs-node-pty
import { createRequire } from 'node:module';
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';

/**
 * A client nobody here wrote: the npm package ssm-session (used in browsers and Node against AWS),
 * its own code, unmodified. Its frames carry a digest that is not SHA-256 (it writes the first 32
 * hex characters of the hash as text), NUL-padded message types and acks with payload type 3: the
 * agent checks none of that (agentmessage.go), so neither may the emulator.
 */
const { ssm } = createRequire(import.meta.url)('ssm-session') as {
  ssm: {
    init(connection: WebSocket, data: { token: string; termOptions: { rows: number; cols: number } }): void;
    decode(data: ArrayBuffer): { messageType: string; payloadType: number; payload: Uint8Array };
    sendACK(connection: WebSocket, message: unknown): void;
    sendText(connection: WebSocket, text: Uint8Array): void;
  };
};

const PROMPT = 'outside$ ';
let emulator: EmulatorProcess;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`]);
});
afterAll(async () => {
  await emulator?.stop();
});

describe('an outside client (ssm-session from npm) against the emulator', () => {
  it('drives a shell: a command\'s output comes back, and exit ends the session', async () => {
    const { info } = emulator;
    const client = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const started = await client.send(new StartSessionCommand({ Target: info.instances[0]!.id }));
    client.destroy();

    const socket = new WebSocket(started.StreamUrl!);
    socket.binaryType = 'arraybuffer';
    let output = '';
    const decoder = new TextDecoder();
    const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
    const waitFor = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(output)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${JSON.stringify(output)}`)), 15_000);
        waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      });
    socket.on('open', () => ssm.init(socket, { token: started.TokenValue!, termOptions: { rows: 24, cols: 80 } }));
    socket.on('message', (data: ArrayBuffer) => {
      const message = ssm.decode(data);
      ssm.sendACK(socket, message);
      if (message.messageType === 'output_stream_data' && message.payloadType === 1) output += decoder.decode(message.payload);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(output)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));

    await waitFor(new RegExp(PROMPT.replace('$', '\\$')));
    ssm.sendText(socket, new TextEncoder().encode('echo outside-$((6*7))\r'));
    await waitFor(/outside-42\r\n/);
    ssm.sendText(socket, new TextEncoder().encode('exit\r'));
    expect(await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 15_000))])).toBe(1000);
  });
});
