import type { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { resumer } from '../../src/cli/connect.js';
import { PayloadType } from '../../src/protocol/constants.js';
import { DataChannelSession } from '../../src/session/data-channel-session.js';
import { SessionError } from '../../src/session/errors.js';
import { FakeTransport, T } from '../support/fake-transport.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function shellSession(reconnect: () => Promise<FakeTransport>) {
  const first = new FakeTransport();
  const session = new DataChannelSession(first, { clientVersion: '1.2.650.0', now: () => T, reconnect, reconnectTimeoutMs: 1000 });
  const events: string[] = [];
  session.on('reconnecting', () => events.push('reconnecting'));
  session.on('resumed', () => events.push('resumed'));
  session.on('error', (error: SessionError) => events.push(`error:${error.code}`));
  session.on('output', (_type: number, payload: Buffer) => events.push(`output:${payload.toString()}`));
  // A plain shell: no handshake, its first output makes the session ready.
  first.deliver(0, PayloadType.Output, '$ ');
  return { first, session, events };
}

describe('resuming a dropped data channel', () => {
  it('resends what was not acknowledged on the new link, with the same sequence numbers, and goes on', async () => {
    const second = new FakeTransport();
    const { first, session, events } = shellSession(async () => second);
    session.send(PayloadType.Output, Buffer.from('ls\r'));
    const [sent] = first.data();
    expect(Number(sent!.sequenceNumber)).toBe(0);
    first.emit('close', new SessionError('CONNECTION_LOST', 'the data channel closed (WebSocket code 1006)'));
    // Input typed while the link is down waits; it is not lost.
    session.send(PayloadType.Output, Buffer.from('pwd\r'));
    await tick();
    expect(events).toEqual(['output:$ ', 'reconnecting', 'resumed']);
    expect(second.data().map((m) => [Number(m.sequenceNumber), m.payload.toString()])).toEqual([[0, 'ls\r'], [1, 'pwd\r']]);
    expect(second.data()[0]!.messageId).toBe(sent!.messageId);
    // The agent resends its own unacknowledged output; the duplicate is acknowledged, not shown twice.
    second.deliver(0, PayloadType.Output, '$ ');
    second.deliver(1, PayloadType.Output, 'file\r\n');
    expect(events.slice(3)).toEqual(['output:file\r\n']);
  });

  it('after a drop that lost only acks, a probe right behind the resent messages shows they were delivered', async () => {
    const second = new FakeTransport();
    const { first, session } = shellSession(async () => second);
    session.setProbe(PayloadType.Size, () => Buffer.from('{"cols":80,"rows":24}'));
    session.send(PayloadType.Output, Buffer.from('ls\r'));
    // The agent had it; its ack is lost with the connection.
    first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
    await tick();
    const [resent, probe] = second.data();
    expect(resent!.payload.toString()).toBe('ls\r');
    expect(probe!.payloadType).toBe(PayloadType.Size);
    // The agent drops the duplicate silently and acks the probe: both are done.
    second.acknowledge(probe!);
    expect(session.inFlight).toBe(0);
  });

  it('ends at once when the service has ended the session', async () => {
    const { first, events } = shellSession(async () => {
      throw new SessionError('ENDED_BY_SERVICE', 'the session has ended on the service');
    });
    first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
    await tick();
    expect(events).toEqual(['output:$ ', 'reconnecting', 'error:ENDED_BY_SERVICE']);
  });

  it('a session that never got going is not resumed: the drop is its error', async () => {
    const first = new FakeTransport();
    let calls = 0;
    const session = new DataChannelSession(first, { clientVersion: '1.2.650.0', now: () => T, reconnect: async () => (calls++, new FakeTransport()) });
    const errors: string[] = [];
    session.on('error', (error: SessionError) => errors.push(error.code));
    first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
    await tick();
    expect(calls).toBe(0);
    expect(errors).toEqual(['CONNECTION_LOST']);
  });
});

describe('ResumeSession (the reconnect ssmx makes)', () => {
  const started = { sessionId: 'user-0123456789abcdef0', tokenValue: 't', streamUrl: 'wss://127.0.0.1:1/v1/data-channel/user-0123456789abcdef0' };
  const failingWith = (name: string, message: string) =>
    ({ send: async () => Promise.reject(Object.assign(new Error(message), { name, $fault: 'client' })) }) as unknown as SSMClient;

  it('TargetNotConnected (the instance went away meanwhile) ends the session at once', async () => {
    const reopen = resumer(failingWith('TargetNotConnected', 'i-0123456789abcdef0 is not connected.'), started);
    await expect(reopen()).rejects.toMatchObject({ code: 'ENDED_BY_SERVICE', message: expect.stringMatching(/cannot be resumed: .*not connected/) });
  });

  it('no token means the service ended the session; a throttled call is retried instead', async () => {
    const noToken = { send: async () => ({ SessionId: started.sessionId }) } as unknown as SSMClient;
    await expect(resumer(noToken, started)()).rejects.toMatchObject({ code: 'ENDED_BY_SERVICE', message: expect.stringMatching(/has ended on the service/) });
    const throttled = resumer(failingWith('ThrottlingException', 'Rate exceeded'), started);
    await expect(throttled()).rejects.not.toMatchObject({ code: 'ENDED_BY_SERVICE' });
  });
});
