// @module-tag needs-node-pty
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSessionDataKey } from '../../src/aws/kms.js';
import { PayloadType } from '../../src/protocol/constants.js';
import { DataChannelSession } from '../../src/session/data-channel-session.js';
import { WebSocketTransport } from '../../src/transport/websocket.js';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';

let emulator: EmulatorProcess | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

/**
 * Runs a command through a real session and records every output message with its arrival time.
 * The agent runs it with no shell (split with shlex), so a pipeline goes through `sh -c`.
 */
async function collectOutput(command: string) {
  const { info } = emulator!;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  const started = await ssm.send(new StartSessionCommand({ Target: info.instances[0]!.id, DocumentName: 'AWS-StartNonInteractiveCommand', Parameters: { command: [command] } }));
  ssm.destroy();
  const transport = await WebSocketTransport.open(started.StreamUrl!, { tokenValue: started.TokenValue!, clientId: randomUUID(), clientVersion: '1.2.650.0' });
  const session = new DataChannelSession(transport, { clientVersion: '1.2.650.0' });
  const messages: Array<{ at: number; size: number; type: number }> = [];
  let agentVersion = '';
  session.on('ready', (ready) => (agentVersion = ready.agentVersion));
  session.on('output', (type: number, payload: Buffer) => messages.push({ at: performance.now(), size: payload.length, type }));
  await new Promise<void>((resolve, reject) => {
    session.once('closed', () => resolve());
    session.once('error', reject);
  });
  return { messages, agentVersion };
}

describe('the emulated agent', () => {
  it('paces output as the real agent: at most 1,024 bytes a message, about 1 ms apart', async () => {
    emulator = await startEmulatorProcess();
    const { messages } = await collectOutput(`sh -c "head -c 204800 /dev/zero | tr '\\\\0' a"`);
    const total = messages.reduce((sum, m) => sum + m.size, 0);
    expect(total).toBe(204_800);
    expect(Math.max(...messages.map((m) => m.size))).toBeLessThanOrEqual(1024);
    expect(messages.length).toBeGreaterThanOrEqual(200);
    const span = messages.at(-1)!.at - messages[0]!.at;
    // 200 messages with a ≥1 ms pause after each: at least ~0.2 s, i.e. about 1 MB/s at most.
    expect(span).toBeGreaterThanOrEqual((messages.length - 1) * 0.9);
  });

  it('with --agent-pacing off sends as fast as the window allows, and announces --agent-version', async () => {
    emulator = await startEmulatorProcess(['--agent-pacing', 'off', '--agent-version', '2.3.722.0']);
    const { messages, agentVersion } = await collectOutput(`sh -c "head -c 204800 /dev/zero | tr '\\\\0' a"`);
    expect(messages.reduce((sum, m) => sum + m.size, 0)).toBe(204_800);
    expect(messages.at(-1)!.at - messages[0]!.at).toBeLessThan(messages.length * 0.9);
    expect(agentVersion).toBe('2.3.722.0');
  });

  it('takes its instances and settings from a JSON file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-emu-'));
    const file = join(dir, 'emulator.json');
    writeFileSync(file, JSON.stringify({ region: 'eu-west-3', instances: [{ id: 'i-0abc0abc0abc0abc0', name: 'from-file' }, { id: 'mi-0123456789abcdef0', name: 'onprem' }] }));
    emulator = await startEmulatorProcess(['--config', file]);
    expect(emulator.info.region).toBe('eu-west-3');
    expect(emulator.info.instances).toEqual([{ id: 'i-0abc0abc0abc0abc0', name: 'from-file' }, { id: 'mi-0123456789abcdef0', name: 'onprem' }]);
    const { messages } = await collectOutput('echo from-file');
    expect(messages.filter((m) => m.type === PayloadType.Output).length).toBeGreaterThan(0);
  });
});

describe("the emulated agent's KMS random challenge (agent 3.3.808.0, Kms.RequireKMSChallengeResponse)", () => {
  /**
   * A KMS shell as today's official plugin opens one: the data key made without the challenge and
   * the response without ChallengeAcknowledgement (plugin 1.2.835.0 knows neither). ssmx's own
   * handshake always acknowledges, so the test takes the acknowledgement out of its response on the
   * way: the agent compares no digest (agentmessage.go), so the header is kept as it is.
   */
  async function pluginLikeShell(args: string[]) {
    emulator = await startEmulatorProcess(['--kms-key-id', 'alias/ssm-sessions', ...args]);
    const { info } = emulator;
    const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const target = info.instances[0]!.id;
    const started = await ssm.send(new StartSessionCommand({ Target: target, DocumentName: 'AWS-StartNonInteractiveCommand', Parameters: { command: ['echo plugin-like'] } }));
    ssm.destroy();
    const transport = await WebSocketTransport.open(started.StreamUrl!, { tokenValue: started.TokenValue!, clientId: randomUUID(), clientVersion: '1.2.835.0' });
    const send = transport.send.bind(transport);
    transport.send = (frame: Buffer) => {
      if (frame.readUInt32BE(112) !== PayloadType.HandshakeResponse) return send(frame);
      const headerEnd = frame.readUInt32BE(0) + 4;
      const payload = Buffer.from(frame.subarray(headerEnd).toString().replace(/,"ChallengeAcknowledgement":true/, ''));
      const header = Buffer.from(frame.subarray(0, headerEnd));
      header.writeUInt32BE(payload.length, 116);
      send(Buffer.concat([header, payload]));
    };
    const kmsOptions = { region: info.region, endpointUrl: info.endpoint, env: emulator.env };
    const session = new DataChannelSession(transport, {
      clientVersion: '1.2.835.0',
      kms: (keyId) => generateSessionDataKey(kmsOptions, keyId, { sessionId: started.SessionId!, targetId: target }),
    });
    let output = '';
    session.on('output', (_type: number, payload: Buffer) => (output += payload.toString()));
    const closed = await new Promise<string>((resolve, reject) => {
      session.once('closed', (message) => resolve(message.output));
      session.once('error', reject);
    });
    return { output, closed };
  }

  it('a client that does not acknowledge it still gets the old two-key context where the agent does not require it', async () => {
    const { output } = await pluginLikeShell([]);
    expect(output).toBe('plugin-like\n');
  });

  it('with --require-kms-challenge such a client has its session ended, with the failure the agent reports', async () => {
    const { output, closed } = await pluginLikeShell(['--require-kms-challenge']);
    expect(output).toBe('');
    expect(closed).toBe('Encountered error while initiating handshake. client does not support required encryption context random challenge');
  });
});
