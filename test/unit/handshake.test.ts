import { describe, expect, it } from 'vitest';
import { PayloadType } from '../../src/protocol/constants.js';
import { encodeAgentMessage } from '../../src/protocol/message.js';
import { decodeHandshakeResponse, encodeHandshakeRequest } from '../../src/protocol/payloads.js';
import { DataChannelSession } from '../../src/session/data-channel-session.js';
import { answerHandshake } from '../../src/session/handshake.js';
import type { SessionError } from '../../src/session/errors.js';
import { loadVectors } from '../support/vectors.js';
import { FakeTransport, T } from '../support/fake-transport.js';

function makeSession() {
  const transport = new FakeTransport();
  const session = new DataChannelSession(transport, { clientVersion: '1.2.650.0' });
  const events: string[] = [];
  session.on('ready', (r) => events.push(`ready:${r.sessionType}:${r.agentVersion}`));
  session.on('output', (t: number, p: Buffer) => events.push(`output:${t}:${p.toString()}`));
  session.on('customer-message', (m: string) => events.push(`message:${m}`));
  session.on('error', (e: SessionError) => events.push(`error:${e.code}:${e.message}`));
  return { transport, session, events };
}

const portRequest = Buffer.from(loadVectors().find((v) => v.name === 'handshake-request')!.payloadHex, 'hex');

describe('answering the handshake', () => {
  it('accepts a Port session type and reports the client version', () => {
    const request = { agentVersion: '3.3.1142.0', requestedClientActions: [{ actionType: 'SessionType', actionParameters: { SessionType: 'Port', Properties: { portNumber: '5432', type: 'LocalPortForwarding' } } }] };
    const outcome = answerHandshake(request, '1.2.650.0');
    expect(outcome.sessionType).toBe('Port');
    expect(outcome.properties).toEqual({ portNumber: '5432', type: 'LocalPortForwarding' });
    expect(outcome.refusal).toBeUndefined();
    expect(outcome.response).toEqual({
      clientVersion: '1.2.650.0',
      processedClientActions: [{ actionType: 'SessionType', actionStatus: 1, actionResult: null, error: '' }],
      errors: null,
    });
  });

  it('maps InteractiveCommands and NonInteractiveCommands to Standard_Stream, as the plugin does', () => {
    for (const type of ['InteractiveCommands', 'NonInteractiveCommands', 'Standard_Stream']) {
      const outcome = answerHandshake({ agentVersion: '3.3.1142.0', requestedClientActions: [{ actionType: 'SessionType', actionParameters: { SessionType: type } }] }, 'v');
      expect(outcome.sessionType).toBe('Standard_Stream');
    }
  });

  it('refuses KMS encryption with status 2, an error the agent logs, and a reason for the user', () => {
    const outcome = answerHandshake({
      agentVersion: '3.3.1142.0',
      requestedClientActions: [
        { actionType: 'SessionType', actionParameters: { SessionType: 'Standard_Stream' } },
        { actionType: 'KMSEncryption', actionParameters: { KMSKeyId: 'alias/x' } },
      ],
    }, '1.2.650.0');
    expect(outcome.response.processedClientActions.map((a) => [a.actionType, a.actionStatus])).toEqual([['SessionType', 1], ['KMSEncryption', 2]]);
    expect(outcome.response.errors).toEqual([expect.stringMatching(/^Failed to process action KMSEncryption: .*KMS encryption/)]);
    expect(outcome.refusal).toMatch(/KMS encryption/);
  });

  it('an unknown action is answered Unsupported (3), an unknown session type Failed (2)', () => {
    const outcome = answerHandshake({ agentVersion: '9', requestedClientActions: [{ actionType: 'Teleport', actionParameters: {} }, { actionType: 'SessionType', actionParameters: { SessionType: 'Fax' } }] }, 'v');
    expect(outcome.response.processedClientActions.map((a) => a.actionStatus)).toEqual([3, 2]);
  });
});

describe('the session around the handshake', () => {
  it('no handshake: the first output message makes a Standard_Stream session ready and is delivered', () => {
    const { transport, events } = makeSession();
    transport.deliver(0, PayloadType.Output, 'prompt$ ');
    expect(events).toEqual(['ready:Standard_Stream:', 'output:1:prompt$ ']);
    expect(transport.sent.map((m) => m.messageType)).toEqual(['acknowledge']);
  });

  it('handshake: acknowledges, answers at sequence 0, sends nothing else until HandshakeComplete, shows its message', () => {
    const { transport, session, events } = makeSession();
    transport.deliver(0, PayloadType.HandshakeRequest, portRequest);
    expect(transport.sent.map((m) => m.messageType)).toEqual(['acknowledge', 'input_stream_data']);
    const response = transport.data()[0]!;
    expect([response.sequenceNumber, response.payloadType, response.flags]).toEqual([0n, PayloadType.HandshakeResponse, 0n]);
    expect(decodeHandshakeResponse(response.payload)).toMatchObject({ clientVersion: '1.2.650.0', processedClientActions: [{ actionType: 'SessionType', actionStatus: 1 }] });
    expect(session.isReady).toBe(false);
    expect(() => session.send(PayloadType.Output, Buffer.from('x'))).toThrow(/before the session is ready/);
    // Output that overtakes the completion is kept, not dropped.
    transport.deliver(2, PayloadType.Output, 'early');
    expect(events).toEqual([]);
    transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":"Welcome aboard"}');
    expect(events).toEqual(['message:Welcome aboard', 'ready:Port:3.3.1142.0', 'output:1:early']);
    session.send(PayloadType.Output, Buffer.from('after'));
    expect(transport.data().map((m) => [m.sequenceNumber, m.payload.toString()])).toEqual([[0n, response.payload.toString()], [1n, 'after']]);
  });

  it('a KMS request is refused on the wire and ends the session with a clear protocol error', async () => {
    const { transport, events } = makeSession();
    transport.deliver(0, PayloadType.HandshakeRequest, encodeHandshakeRequest({
      agentVersion: '3.3.1142.0',
      requestedClientActions: [
        { actionType: 'SessionType', actionParameters: { SessionType: 'Standard_Stream', Properties: {} } },
        { actionType: 'KMSEncryption', actionParameters: { KMSKeyId: 'arn:aws:kms:us-east-1:1:key/k' } },
      ],
    }));
    const response = decodeHandshakeResponse(transport.data()[0]!.payload);
    expect(response).toMatchObject({ processedClientActions: [{ actionStatus: 1 }, { actionType: 'KMSEncryption', actionStatus: 2 }] });
    expect(events).toEqual([expect.stringMatching(/^error:HANDSHAKE:.*KMS encryption/)]);
    await new Promise((r) => setImmediate(r));
    expect(transport.closed).toBe(true);
  });

  it('channel_closed ends the session; a transport that drops is CONNECTION_LOST', () => {
    const a = makeSession();
    const closed: unknown[] = [];
    a.session.on('closed', (c) => closed.push(c));
    a.transport.emit('frame', encodeAgentMessage({
      messageType: 'channel_closed', schemaVersion: 1, createdDate: T, sequenceNumber: 0n, flags: 0n,
      messageId: '00000000-0000-4000-8000-000000000009', payloadType: 1, payload: Buffer.from('{"Output":"","SessionId":"s"}'),
    }));
    expect(closed).toHaveLength(1);
    expect(a.transport.closed).toBe(true);
    const b = makeSession();
    b.transport.emit('close', undefined);
    expect(b.events).toEqual([expect.stringMatching(/^error:CONNECTION_LOST/)]);
  });
});
