import type { SsmClients } from '../../src/aws/ssm.js';
import { describe, expect, it } from 'vitest';
import { resumer } from '../../src/lib/open.js';
import { PayloadType } from '../../src/protocol/constants.js';
import { DataChannelSession } from '../../src/session/data-channel-session.js';
import { SessionError } from '../../src/session/errors.js';
import { FakeTransport } from '../support/fake-transport.js';
import { FakeTimers } from '../support/fake-timers.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function shellSession(reconnect: () => Promise<FakeTransport>) {
  const first = new FakeTransport();
  const session = new DataChannelSession(first, { clientVersion: '1.2.650.0', reconnect, reconnectTimeoutMs: 1000 });
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
    expect(session.unacknowledged).toBe(0);
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
    const session = new DataChannelSession(first, { clientVersion: '1.2.650.0', reconnect: async () => (calls++, new FakeTransport()) });
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
  // The session calls' client answering every call with `answer`; the SDK's is never needed here.
  const answering = (answer: () => Promise<unknown>) =>
    ({ session: { call: answer, destroy: () => undefined }, sdk: () => Promise.reject(new Error('not used')), destroy: () => undefined }) as unknown as SsmClients;
  const failingWith = (name: string, message: string) => answering(async () => Promise.reject(Object.assign(new Error(message), { name, $fault: 'client' })));
  // None of these answers lets the reconnect get as far as the data channel.
  const notDialled = async (): Promise<never> => {
    throw new Error('the data channel was dialled');
  };

  it('TargetNotConnected (the instance went away meanwhile) ends the session at once', async () => {
    const reopen = resumer(failingWith('TargetNotConnected', 'i-0123456789abcdef0 is not connected.'), started, notDialled);
    await expect(reopen()).rejects.toMatchObject({ code: 'ENDED_BY_SERVICE', message: expect.stringMatching(/cannot be resumed: .*not connected/) });
  });

  it('no token means the service ended the session; a throttled call is retried instead', async () => {
    const noToken = answering(async () => ({ SessionId: started.sessionId }));
    await expect(resumer(noToken, started, notDialled)()).rejects.toMatchObject({ code: 'ENDED_BY_SERVICE', message: expect.stringMatching(/has ended on the service/) });
    const throttled = resumer(failingWith('ThrottlingException', 'Rate exceeded'), started, notDialled);
    await expect(throttled()).rejects.not.toMatchObject({ code: 'ENDED_BY_SERVICE' });
  });
});

describe('the reconnect schedule, in fake time', () => {
  /** A running shell whose link drops at `dropAt`; `reopen` plays each reconnect attempt. */
  function droppingShell(timers: FakeTimers, reopen: () => Promise<FakeTransport>, reconnectTimeoutMs: number) {
    const first = new FakeTransport();
    const attempts: number[] = [];
    const session = new DataChannelSession(first, {
      clientVersion: '1.2.650.0',
      timers,
      random: () => 0.5,
      reconnectTimeoutMs,
      reconnect: () => {
        attempts.push(timers.now() - start);
        return reopen();
      },
    });
    const start = timers.now();
    const events: string[] = [];
    session.on('reconnecting', () => events.push(`reconnecting@${timers.now() - start}`));
    session.on('resumed', () => events.push(`resumed@${timers.now() - start}`));
    session.on('error', (error: SessionError) => events.push(`error@${timers.now() - start}:${error.code}:${error.message}`));
    first.deliver(0, PayloadType.Output, '$ ');
    return { first, session, attempts, events, start };
  }

  const refused = () => Promise.reject(new SessionError('CONNECTION_LOST', 'connection refused'));

  it('backs off exponentially with jitter between failed attempts, then resumes', async () => {
    const timers = new FakeTimers();
    const results = [refused, refused, refused, async () => new FakeTransport()];
    const { first, attempts, events } = droppingShell(timers, () => results.shift()!(), 60_000);
    first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
    await timers.advance(10_000);
    // Backoff 100, 200, 400 ms, each × (0.5 + random/2) = 0.75: waits of 75, 150 and 300 ms.
    expect(attempts).toEqual([0, 75, 225, 525]);
    expect(events).toEqual(['reconnecting@0', 'resumed@525']);
  });

  it('caps the backoff at 5 s and gives up when the window closes, with the window in the message', async () => {
    const timers = new FakeTimers();
    const { first, attempts, events } = droppingShell(timers, refused, 12_000);
    first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
    await timers.advance(60_000);
    // 75, 150, 300, 600, 1200, 2400, then 3750 (5 s × 0.75), the last cut to the deadline at 12 s.
    expect(attempts).toEqual([0, 75, 225, 525, 1125, 2325, 4725, 8475, 12_000]);
    expect(events).toEqual(['reconnecting@0', 'error@12000:CONNECTION_LOST:the connection was lost and could not be restored within 12 s: connection refused']);
  });

  it('a link that drops again at once does not earn a new window; one that stayed up does', async () => {
    for (const [secondDropAt, givesUpAt] of [
      [500, 1000],
      [1500, 2500],
    ] as const) {
      const timers = new FakeTimers();
      const second = new FakeTransport();
      const results = [refused, async () => second];
      const { first, events } = droppingShell(timers, () => (results.shift() ?? refused)(), 1000);
      first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
      await timers.advance(secondDropAt);
      expect(events).toEqual(['reconnecting@0', 'resumed@75']);
      second.emit('close', new SessionError('CONNECTION_LOST', 'dropped again'));
      await timers.advance(10_000);
      expect(events.at(-1)).toMatch(new RegExp(`^error@${givesUpAt}:CONNECTION_LOST:.*within 1 s`));
    }
  });

  it('the service ending the session stops the attempts at once, whatever the window', async () => {
    const timers = new FakeTimers();
    const results = [refused, () => Promise.reject(new SessionError('ENDED_BY_SERVICE', 'the session has ended on the service'))];
    const { first, attempts, events } = droppingShell(timers, () => (results.shift() ?? refused)(), 60_000);
    first.emit('close', new SessionError('CONNECTION_LOST', 'dropped'));
    await timers.advance(60_000);
    expect(attempts).toEqual([0, 75]);
    expect(events).toEqual(['reconnecting@0', 'error@75:ENDED_BY_SERVICE:the session has ended on the service']);
  });

  it('retransmits on its own timer in fake time, and stops once acknowledged', async () => {
    const timers = new FakeTimers();
    const { first, session } = droppingShell(timers, refused, 60_000);
    session.send(PayloadType.Output, Buffer.from('ls\r'));
    await timers.advance(199);
    expect(first.data()).toHaveLength(1);
    // The initial retransmission timeout is 200 ms (docs/protocol.md §6); then it backs off.
    await timers.advance(1);
    expect(first.data()).toHaveLength(2);
    first.acknowledge(first.data()[0]!);
    await timers.advance(60_000);
    expect(first.data()).toHaveLength(2);
    expect(timers.nextAt).toBeUndefined();
  });
});
