import { describe, expect, it } from 'vitest';
import { ActionType, PayloadType } from '../../src/protocol/constants.js';
import { decodeEncChallenge, encodeEncChallenge, open, seal, splitDataKey, type SessionKeys } from '../../src/protocol/crypto.js';
import { decodeHandshakeResponse, encodeHandshakeRequest } from '../../src/protocol/payloads.js';
import { DataChannelSession } from '../../src/session/data-channel-session.js';
import type { SessionError } from '../../src/session/errors.js';
import { FakeTransport } from '../support/fake-transport.js';

const dataKey = Buffer.from(Array.from({ length: 64 }, (_, i) => 255 - i));
const blob = Buffer.from('wrapped-data-key');
const agent = splitDataKey(dataKey, 'agent') as SessionKeys;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A shell's HandshakeRequest that asks for KMS encryption with `keyId` (and a challenge, as agents from 3.3.808.0 send). */
const kmsHandshake = (keyId: string, challenge?: string) =>
  encodeHandshakeRequest({
    agentVersion: '3.3.1142.0',
    requestedClientActions: [
      { actionType: ActionType.SessionType, actionParameters: { SessionType: 'Standard_Stream', Properties: {} } },
      { actionType: ActionType.KMSEncryption, actionParameters: { KMSKeyId: keyId, ...(challenge !== undefined ? { Challenge: challenge } : {}) } },
    ],
  });

async function encryptedShell(kmsKeyIds: string[] = [], challenge?: string, challenges: Array<string | undefined> = []) {
  const transport = new FakeTransport();
  const session = new DataChannelSession(transport, {
    clientVersion: '1.2.650.0',
    kms: async (keyId, given) => {
      kmsKeyIds.push(keyId);
      challenges.push(given);
      return { plaintext: dataKey, ciphertextBlob: blob };
    },
  });
  const events: string[] = [];
  session.on('ready', () => events.push('ready'));
  session.on('customer-message', (m: string) => events.push(`message:${m}`));
  session.on('output', (type: number, payload: Buffer) => events.push(`output:${type}:${payload.toString()}`));
  session.on('error', (e: SessionError) => events.push(`error:${e.code}:${e.message}`));
  transport.deliver(0, PayloadType.HandshakeRequest, kmsHandshake('alias/ssm', challenge));
  await tick();
  return { transport, session, events };
}

describe('a KMS-encrypted session on the wire (docs/protocol.md §5)', () => {
  it('answers with the wrapped key, returns the challenge under its own key, then encrypts Output both ways', async () => {
    const keyIds: string[] = [];
    const { transport, session, events } = await encryptedShell(keyIds);
    expect(keyIds).toEqual(['alias/ssm']);
    const response = decodeHandshakeResponse(transport.data()[0]!.payload);
    expect(response).toMatchObject({ processedClientActions: [{ actionType: 'SessionType', actionStatus: 1 }, { actionType: 'KMSEncryption', actionStatus: 1, actionResult: { KMSCipherTextKey: blob.toString('base64') } }] });

    const secret = Buffer.alloc(64, 9);
    transport.deliver(1, PayloadType.EncChallengeRequest, encodeEncChallenge(seal(agent.encryptKey, secret)));
    const answer = transport.data().find((m) => m.payloadType === PayloadType.EncChallengeResponse)!;
    expect(Number(answer.sequenceNumber)).toBe(1);
    const returned = open(agent.decryptKey, decodeEncChallenge(answer.payload) as Buffer);
    expect(returned).toEqual(secret);

    transport.deliver(2, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":"This session is encrypted using AWS KMS."}');
    transport.deliver(3, PayloadType.Output, seal(agent.encryptKey, Buffer.from('$ ')));
    transport.deliver(4, PayloadType.StdErr, seal(agent.encryptKey, Buffer.from('warn')));
    expect(events).toEqual(['message:This session is encrypted using AWS KMS.', 'ready', 'output:1:$ ', 'output:11:warn']);

    session.send(PayloadType.Output, Buffer.from('ls\r'));
    session.send(PayloadType.Size, Buffer.from('{"cols":80,"rows":24}'));
    const [keys, size] = transport.data().slice(-2);
    expect(keys!.payload.length).toBe(3 + 28);
    expect(open(agent.decryptKey, keys!.payload)).toEqual(Buffer.from('ls\r'));
    expect(size!.payload.toString()).toBe('{"cols":80,"rows":24}'); // sizes stay clear
  });

  it('an agent\'s random challenge goes into the data key\'s encryption context, and the response acknowledges it (agent 3.3.808.0)', async () => {
    const challenges: Array<string | undefined> = [];
    const { transport } = await encryptedShell([], 'q83vEjRWeJCrze8SNFZ4kA==', challenges);
    expect(challenges).toEqual(['q83vEjRWeJCrze8SNFZ4kA==']);
    const response = transport.data()[0]!.payload.toString();
    expect(JSON.parse(response).ProcessedClientActions[1]).toEqual({
      ActionType: 'KMSEncryption',
      ActionStatus: 1,
      ActionResult: { KMSCipherTextKey: blob.toString('base64'), ChallengeAcknowledgement: true },
      Error: '',
    });

    // Without a challenge (older agents) the response is as the plugin's: the wrapped key alone.
    const older: Array<string | undefined> = [];
    const plain = await encryptedShell([], undefined, older);
    expect(older).toEqual([undefined]);
    expect(JSON.parse(plain.transport.data()[0]!.payload.toString()).ProcessedClientActions[1].ActionResult).toEqual({ KMSCipherTextKey: blob.toString('base64') });
  });

  it('a challenge under another key, or agent data that does not decrypt, ends the session with a clear error', async () => {
    const a = await encryptedShell();
    a.transport.deliver(1, PayloadType.EncChallengeRequest, encodeEncChallenge(seal(Buffer.alloc(32, 1), Buffer.alloc(64))));
    expect(a.events).toEqual([expect.stringMatching(/^error:HANDSHAKE:the agent's encryption challenge failed/)]);

    const b = await encryptedShell();
    b.transport.deliver(1, PayloadType.EncChallengeRequest, encodeEncChallenge(seal(agent.encryptKey, Buffer.alloc(64))));
    b.transport.deliver(2, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1,"CustomerMessage":""}');
    b.transport.deliver(3, PayloadType.Output, Buffer.from('not encrypted at all, but long enough'));
    expect(b.events).toEqual(['ready', expect.stringMatching(/^error:PROTOCOL:cannot decrypt a message from the agent/)]);
  });

  it('a KMS failure is refused in the response (the agent logs it) and ends the session', async () => {
    const transport = new FakeTransport();
    const session = new DataChannelSession(transport, { clientVersion: '1.2.650.0', kms: async () => { throw new Error('NotFoundException: Key alias/gone does not exist'); } });
    const errors: string[] = [];
    session.on('error', (e: SessionError) => errors.push(e.message));
    transport.deliver(0, PayloadType.HandshakeRequest, kmsHandshake('alias/gone'));
    await tick();
    expect(decodeHandshakeResponse(transport.data()[0]!.payload)).toMatchObject({ processedClientActions: [{ actionStatus: 1 }, { actionType: 'KMSEncryption', actionStatus: 2 }] });
    expect(errors).toEqual([expect.stringMatching(/KMS GenerateDataKey for alias\/gone failed: NotFoundException/)]);
  });
});
