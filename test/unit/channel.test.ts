import { describe, expect, it } from 'vitest';
import { MAX_INVALID_IN_A_ROW, ReliableChannel, type ChannelEvent } from '../../src/channel/reliable-channel.js';
import { RtoEstimator } from '../../src/channel/rto.js';
import { MessageType, PayloadType } from '../../src/protocol/constants.js';
import { decodeAgentMessage, encodeAgentMessage, type DecodedAgentMessage } from '../../src/protocol/message.js';
import { decodeAcknowledge } from '../../src/protocol/payloads.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const writes = (events: ChannelEvent[]) => events.flatMap((e) => (e.kind === 'write' ? [e.frame] : []));
const delivered = (events: ChannelEvent[]) => events.flatMap((e) => (e.kind === 'deliver' ? [e.message.payload.toString()] : []));
const decode = (frame: Buffer): DecodedAgentMessage => {
  const m = decodeAgentMessage(frame);
  if (m instanceof ProtocolError) throw m;
  return m;
};

/** Epoch-like milliseconds: a created date of 0 is invalid on the wire. */
const T = 1_732_800_000_000;

let idCounter = 0;
const newId = () => `00000000-0000-4000-8000-${(++idCounter).toString(16).padStart(12, '0')}`;

function agentFrame(sequenceNumber: number, text: string, createdDate = 1): Buffer {
  return encodeAgentMessage({
    messageType: MessageType.OutputStreamData, schemaVersion: 1, createdDate, sequenceNumber: BigInt(sequenceNumber),
    flags: 0n, messageId: newId(), payloadType: PayloadType.Output, payload: Buffer.from(text),
  });
}

function ackFor(frame: Buffer, createdDate = 1): Buffer {
  const m = decode(frame);
  return encodeAgentMessage({
    messageType: MessageType.Acknowledge, schemaVersion: 1, createdDate, sequenceNumber: 0n, flags: 3n,
    messageId: newId(), payloadType: 0,
    payload: Buffer.from(JSON.stringify({
      AcknowledgedMessageType: m.messageType, AcknowledgedMessageId: m.messageId,
      AcknowledgedMessageSequenceNumber: Number(m.sequenceNumber), IsSequentialMessage: true,
    })),
  });
}

describe('sequence numbers out of the exact range', () => {
  it('a stream message numbered 2^53 or more, or below 0, fails the channel; 2^53 - 1 is taken', () => {
    for (const [sequenceNumber, fails] of [[2n ** 53n, true], [2n ** 63n - 1n, true], [-1n, true], [-(2n ** 53n), true], [2n ** 53n - 1n, false]] as const) {
      const channel = new ReliableChannel({ sendType: MessageType.InputStreamData });
      const frame = encodeAgentMessage({
        messageType: MessageType.OutputStreamData, schemaVersion: 1, createdDate: T, sequenceNumber, flags: 0n,
        messageId: newId(), payloadType: PayloadType.Output, payload: Buffer.from('x'),
      });
      const events = channel.receive(frame, T);
      const failed = events.find((e) => e.kind === 'failed');
      expect(failed !== undefined).toBe(fails);
      if (fails && failed?.kind === 'failed') expect(failed.error.message).toContain(`sequence number ${sequenceNumber} is out of range`);
      // Taken, it is acknowledged (and held for reordering: 0 has not come).
      if (!fails) {
        const ack = decodeAcknowledge(decode(writes(events)[0]!).payload);
        if (ack instanceof ProtocolError) throw ack;
        expect(ack.acknowledgedMessageSequenceNumber).toBe(Number(sequenceNumber));
      }
    }
  });
});

describe('RTO estimator (docs/protocol.md §6 vector)', () => {
  it('a 140 ms sample from the initial state gives RTTVAR 10, RTT 105, RTO 145', () => {
    const rto = new RtoEstimator();
    expect(rto.timeout).toBe(200);
    rto.sample(140);
    expect(rto.roundTripTimeVariation).toBe(10);
    expect(rto.roundTripTime).toBe(105);
    expect(rto.timeout).toBe(145);
  });
  it('is capped at 1 s and floored by the clock granularity', () => {
    const rto = new RtoEstimator();
    for (let i = 0; i < 50; i++) rto.sample(5000);
    expect(rto.timeout).toBe(1000);
    const steady = new RtoEstimator();
    for (let i = 0; i < 200; i++) steady.sample(100);
    expect(steady.timeout).toBeCloseTo(110, 3);
  });
});

describe('sending', () => {
  it('numbers input_stream_data from 0 with Flags 0; never sends an empty payload', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    expect(channel.send(PayloadType.Output, Buffer.alloc(0), 5)).toEqual([]);
    const frames = [0, 1, 2].map((i) => writes(channel.send(PayloadType.Output, Buffer.from(`k${i}`), 1000 + i))[0]!);
    frames.forEach((frame, i) => {
      const m = decode(frame);
      expect(m.messageType).toBe('input_stream_data');
      expect(m.sequenceNumber).toBe(BigInt(i));
      expect(m.flags).toBe(0n);
      expect(m.createdDate).toBe(1000 + i);
      expect(m.payload.toString()).toBe(`k${i}`);
    });
  });

  it('the agent side sets SYN on its sequence-0 message only', () => {
    const channel = new ReliableChannel({ sendType: MessageType.OutputStreamData, synOnFirstMessage: true, newId });
    const a = decode(writes(channel.send(1, Buffer.from('a'), 1))[0]!);
    const b = decode(writes(channel.send(1, Buffer.from('b'), 1))[0]!);
    expect([a.flags, b.flags]).toEqual([1n, 0n]);
  });

  it('an acknowledgement removes the message and samples the round trip', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const [frame] = writes(channel.send(1, Buffer.from('x'), 1000));
    expect(channel.inFlight).toBe(1);
    channel.receive(ackFor(frame!), 1140);
    expect(channel.inFlight).toBe(0);
    expect(channel.rto.timeout).toBe(145);
    expect(channel.nextDeadline(T)).toBeUndefined();
  });

  it('a timeout resends the oldest overdue message (identical bytes) and restarts the timers of the others', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const sent = [0, 1, 2].map((i) => writes(channel.send(1, Buffer.from(`m${i}`), 1000))[0]!);
    expect(channel.nextDeadline(1000)).toBe(1200);
    expect(writes(channel.tick(1199))).toEqual([]);
    expect(writes(channel.tick(1200))).toEqual([sent[0]]);
    // m0's own timeout doubles (exponential backoff, as TCP's), and so, while no ack comes, does
    // the wait of m1 and m2: a quiet peer gets one copy per doubling, of the oldest message.
    expect(channel.nextDeadline(1200)).toBe(1600);
    expect(writes(channel.tick(1600))).toEqual([sent[0]]);
    // m0's ack (of a copy: no sample) leaves m1 the oldest, due after the backoff reached.
    channel.receive(ackFor(sent[0]!), 1700);
    expect(channel.nextDeadline(1700)).toBe(2400);
    expect(writes(channel.tick(2400))).toEqual([sent[1]]);
  });

  it('an ack of a message sent once ends the quiet backoff', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const [m0] = writes(channel.send(1, Buffer.from('m0'), 1000));
    expect(writes(channel.tick(1200))).toEqual([m0]);
    // The ack of a copy says nothing of the round trip: the backoff holds for the next message.
    channel.receive(ackFor(m0!), 1250);
    const [m1] = writes(channel.send(1, Buffer.from('m1'), 1300));
    expect(channel.nextDeadline(1300)).toBe(1300 + 400);
    // m1 went once: its round trip is sampled (100 ms: a 110 ms RTO) and the backoff ends.
    channel.receive(ackFor(m1!), 1400);
    expect(channel.rto.timeout).toBe(110);
    writes(channel.send(1, Buffer.from('m2'), 1400));
    expect(channel.nextDeadline(1400)).toBe(1400 + 110);
  });

  it('after a late ack a message waits at least that long before it goes again (the agent acks in bursts)', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    // Quick acks first: the RTO falls to tens of milliseconds.
    for (let i = 0; i < 50; i++) {
      const [frame] = writes(channel.send(1, Buffer.from(`q${i}`), 1000 + i * 10));
      channel.receive(ackFor(frame!), 1000 + i * 10 + 5);
    }
    expect(channel.rto.timeout).toBeLessThan(30);
    // Then one the agent held for 1.5 s (its write blocked on a full socket buffer).
    const [held] = writes(channel.send(1, Buffer.from('held'), 2000));
    channel.receive(ackFor(held!), 3500);
    // The next one waits 1.5 s, not the RTO, before its first resend…
    const [next] = writes(channel.send(1, Buffer.from('next'), 4000));
    expect(channel.nextDeadline(4000)).toBe(5500);
    expect(writes(channel.tick(5499))).toEqual([]);
    expect(writes(channel.tick(5500))).toEqual([next]);
    // …for 15 to 30 s after that ack; then quick acks bring the wait down to the RTO again.
    channel.receive(ackFor(next!), 5600);
    for (let i = 0; i < 50; i++) {
      const [frame] = writes(channel.send(1, Buffer.from(`r${i}`), 40_000 + i * 10));
      channel.receive(ackFor(frame!), 40_000 + i * 10 + 5);
    }
    writes(channel.send(1, Buffer.from('last'), 41_000));
    expect(channel.nextDeadline(41_000)! - 41_000).toBeLessThan(100);
  });

  it('fast retransmit: an ack that overtakes an unacknowledged message sends that one again at once, once', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const sent = [0, 1, 2, 3].map((i) => writes(channel.send(1, Buffer.from(`m${i}`), 1000))[0]!);
    expect(writes(channel.receive(ackFor(sent[0]!), 1010))).toEqual([]);
    // m1 (or its ack) was lost: m2's ack comes first.
    expect(writes(channel.receive(ackFor(sent[2]!), 1011))).toEqual([sent[1]]);
    // m3's ack, for a message sent before m1 went again, does not send m1 a third time.
    expect(writes(channel.receive(ackFor(sent[3]!), 1012))).toEqual([]);
    channel.receive(ackFor(sent[1]!), 1020);
    expect(channel.inFlight).toBe(0);
  });

  it('backoff stops growing at 8 s between resends of one message', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    channel.send(1, Buffer.from('x'), T);
    let now = T;
    const gaps: number[] = [];
    for (let i = 0; i < 8; i++) {
      const due = channel.nextDeadline(T)!;
      gaps.push(due - now);
      now = due;
      expect(writes(channel.tick(now))).toHaveLength(1);
    }
    expect(gaps).toEqual([200, 400, 800, 1600, 3200, 6400, 8000, 8000]);
  });

  it('a retransmitted message is not sampled (Karn)', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const [frame] = writes(channel.send(1, Buffer.from('x'), T));
    channel.tick(T + 200);
    channel.receive(ackFor(frame!), T + 900);
    expect(channel.rto.timeout).toBe(200);
  });

  it('gives up with RESEND_TIMEOUT when a message stays unacknowledged too long', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, giveUpAfter: 10_000, newId });
    channel.send(1, Buffer.from('x'), 0);
    let failed: ChannelEvent | undefined;
    for (let t = 0; t <= 10_000 && !failed; t += 100) failed = channel.tick(t).find((e) => e.kind === 'failed');
    expect(failed).toMatchObject({ kind: 'failed', error: { code: 'RESEND_TIMEOUT' } });
  });

  it('window full: the producer is held (canSend false), never dropped; writable once acks arrive', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, windowSize: 2, newId });
    const first = writes(channel.send(1, Buffer.from('a'), T));
    writes(channel.send(1, Buffer.from('b'), T));
    expect(channel.canSend).toBe(false);
    expect(writes(channel.send(1, Buffer.from('c'), T))).toEqual([]);
    expect(channel.queued).toBe(1);
    const events = channel.receive(ackFor(first[0]!), T + 10);
    const released = writes(events).map((f) => decode(f));
    expect(released.map((m) => [Number(m.sequenceNumber), m.payload.toString()])).toEqual([[2, 'c']]);
    expect(events.some((e) => e.kind === 'writable')).toBe(false); // still full: 'b' and 'c' in flight
    const more = channel.receive(ackFor(writes(channel.retransmitAll(T + 10))[0]!), T + 20);
    expect(more.some((e) => e.kind === 'writable')).toBe(true);
  });

  it('a send that fills the window exactly still brings a writable event once an ack frees a slot', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, windowSize: 2, newId });
    const [a] = writes(channel.send(1, Buffer.from('a'), T));
    writes(channel.send(1, Buffer.from('b'), T));
    expect(channel.canSend).toBe(false);
    expect(channel.queued).toBe(0);
    expect(channel.receive(ackFor(a!), T + 5).some((e) => e.kind === 'writable')).toBe(true);
  });

  it('reports acknowledged once every message sent (and queued) has been acknowledged, not before', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, windowSize: 1, newId });
    const [a] = writes(channel.send(1, Buffer.from('a'), T));
    writes(channel.send(1, Buffer.from('b'), T)); // queued behind a full window
    const afterA = channel.receive(ackFor(a!), T + 5);
    expect(afterA.some((e) => e.kind === 'acknowledged')).toBe(false); // 'b' has only just gone out
    const [b] = writes(afterA);
    const afterB = channel.receive(ackFor(b!), T + 10);
    expect(afterB.some((e) => e.kind === 'acknowledged')).toBe(true);
    expect(channel.receive(ackFor(b!), T + 11).some((e) => e.kind === 'acknowledged')).toBe(false); // a late duplicate ack
  });

  it('after a reconnect, a resent message the agent never acks (a duplicate to it) is known delivered once a later one is acked', () => {
    // The agent drops duplicates silently: acks lost with the old connection never come again.
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, windowSize: 2, peerAcknowledgesDuplicates: false, newId });
    const [a] = writes(channel.send(1, Buffer.from('a'), T));
    writes(channel.send(1, Buffer.from('b'), T));
    expect(channel.canSend).toBe(false);
    channel.receive(ackFor(a!), T + 1); // b's ack is lost with the connection
    writes(channel.send(1, Buffer.from('c'), T + 2));
    const resent = channel.retransmitAll(T + 10);
    expect(writes(resent).map((f) => decode(f).payload.toString())).toEqual(['b', 'c']);
    // The resent ones do not hold the window shut: new data flows, and says so.
    expect(resent.some((e) => e.kind === 'writable')).toBe(true);
    const [d] = writes(channel.send(1, Buffer.from('d'), T + 11));
    const events = channel.receive(ackFor(d!), T + 12);
    // d was sent after b and c on this connection and its ack came first: b and c reached the agent.
    expect(channel.inFlight).toBe(0);
    expect(events.some((e) => e.kind === 'acknowledged')).toBe(true);
  });

  it('on one connection too: a resent message whose ack was damaged is known delivered once a later one is acked, then still resent for a minute and forgotten', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, peerAcknowledgesDuplicates: false, newId });
    const [a] = writes(channel.send(1, Buffer.from('a'), T));
    // a's ack was damaged on the way: after the RTO (200 ms) it goes again, and the agent, which has it, stays silent.
    expect(writes(channel.tick(T + 200))).toEqual([a]);
    const [b] = writes(channel.send(1, Buffer.from('b'), T + 201));
    const events = channel.receive(ackFor(b!), T + 210);
    expect(channel.inFlight).toBe(0);
    expect(events.some((e) => e.kind === 'acknowledged')).toBe(true);
    // In case the copy of a that went before b was itself lost, a still goes at its backoff, from the RTO up, for a minute.
    let resends = 0;
    for (let deadline = channel.nextDeadline(T); deadline !== undefined; deadline = channel.nextDeadline(T)) {
      resends += writes(channel.tick(deadline)).length;
      expect(deadline).toBeLessThan(T + 70_000);
    }
    expect(resends).toBeGreaterThan(5);
    expect(resends).toBeLessThan(15);
    expect(writes(channel.tick(T + 120_000))).toEqual([]);
  });

  it('a message inferred delivered and then acknowledged is not resent again', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, peerAcknowledgesDuplicates: false, newId });
    const [a] = writes(channel.send(1, Buffer.from('a'), T));
    writes(channel.tick(T + 200));
    const [b] = writes(channel.send(1, Buffer.from('b'), T + 201));
    channel.receive(ackFor(b!), T + 210);
    channel.receive(ackFor(a!), T + 211); // an agent that does ack duplicates (docs/protocol.md §6)
    expect(channel.nextDeadline(T)).toBeUndefined();
  });

  it('pause_publication stops sending and resending; start_publication resumes both', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const publication = (type: string) => encodeAgentMessage({
      messageType: type, schemaVersion: 1, createdDate: 1, sequenceNumber: 0n, flags: 0n, messageId: newId(),
      payloadType: 0, payload: Buffer.alloc(0),
    });
    const [a] = writes(channel.send(1, Buffer.from('a'), T));
    channel.receive(publication('pause_publication'), T);
    expect(channel.isPaused).toBe(true);
    expect(writes(channel.send(1, Buffer.from('b'), T))).toEqual([]);
    expect(writes(channel.tick(T + 5000))).toEqual([]);
    expect(channel.nextDeadline(T)).toBeUndefined();
    const resumed = channel.receive(publication('start_publication'), T + 5000);
    expect(writes(resumed).map((f) => decode(f).payload.toString())).toEqual(['b', 'a']);
    expect(writes(resumed)).toContainEqual(a);
    expect(resumed.some((e) => e.kind === 'writable')).toBe(true);
  });
});

describe('receiving', () => {
  it('acknowledges a message with the exact acknowledge shape, then delivers it', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const frame = agentFrame(0, 'hello');
    const events = channel.receive(frame, 77);
    const ack = decode(writes(events)[0]!);
    expect(ack.messageType).toBe('acknowledge');
    expect([ack.sequenceNumber, ack.flags, ack.payloadType, ack.createdDate]).toEqual([0n, 3n, 0, 77]);
    expect(decodeAcknowledge(ack.payload)).toEqual({
      acknowledgedMessageType: 'output_stream_data', acknowledgedMessageId: decode(frame).messageId,
      acknowledgedMessageSequenceNumber: 0, isSequentialMessage: true,
    });
    expect(delivered(events)).toEqual(['hello']);
  });

  it('buffers ahead, delivers in order; with {2,3,4,6} buffered and 1 expected, 1 delivers through 4', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    channel.receive(agentFrame(0, 'm0'), 1);
    for (const s of [2, 3, 4, 6]) expect(delivered(channel.receive(agentFrame(s, `m${s}`), 1))).toEqual([]);
    expect(delivered(channel.receive(agentFrame(1, 'm1'), 1))).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(delivered(channel.receive(agentFrame(5, 'm5'), 1))).toEqual(['m5', 'm6']);
  });

  it('the agent side, as the real agent does, drops a duplicate without acknowledging it again', () => {
    const channel = new ReliableChannel({ sendType: MessageType.OutputStreamData, acknowledgeDuplicates: false, newId });
    const frame = encodeAgentMessage({
      messageType: MessageType.InputStreamData, schemaVersion: 1, createdDate: T, sequenceNumber: 0n, flags: 0n,
      messageId: newId(), payloadType: 1, payload: Buffer.from('k'),
    });
    expect(writes(channel.receive(frame, T))).toHaveLength(1);
    expect(channel.receive(frame, T)).toEqual([]);
  });

  it('a duplicate is acknowledged again but delivered once', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const frame = agentFrame(0, 'once');
    expect(delivered(channel.receive(frame, 1))).toEqual(['once']);
    const again = channel.receive(frame, 2);
    expect(delivered(again)).toEqual([]);
    expect(writes(again).map((f) => decode(f).messageType)).toEqual(['acknowledge']);
  });

  it('the reorder buffer is bounded: beyond capacity a message is dropped unacknowledged', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, reorderCapacity: 2, newId });
    const acks = [1, 2, 3].flatMap((s) => writes(channel.receive(agentFrame(s, `m${s}`), 1)));
    expect(acks.length).toBe(2);
    expect(delivered(channel.receive(agentFrame(0, 'm0'), 1))).toEqual(['m0', 'm1', 'm2']);
    expect(delivered(channel.receive(agentFrame(3, 'm3'), 1))).toEqual(['m3']);
  });

  it('channel_closed is reported with its output; a peer whose first frame is garbage fails the channel', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    expect(channel.receive(Buffer.from('garbage'), 1)).toMatchObject([{ kind: 'failed', error: { code: 'MALFORMED_FRAME' } }]);
    const other = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const closed = encodeAgentMessage({
      messageType: 'channel_closed', schemaVersion: 1, createdDate: 1, sequenceNumber: 0n, flags: 0n, messageId: newId(),
      payloadType: 0, payload: Buffer.from('{"Output":"bye","SessionId":"s-1","CreatedDate":"1"}'),
    });
    expect(other.receive(closed, 1)).toMatchObject([{ kind: 'channel-closed', closed: { output: 'bye', sessionId: 's-1' } }]);
  });

  it('a damaged frame after a valid one is dropped unacknowledged, and its resend is taken', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    expect(delivered(channel.receive(agentFrame(0, 'first'), 1))).toEqual(['first']);
    const good = agentFrame(1, 'second');
    for (const at of [122, 90, 117]) { // a payload byte, a digest byte, the payload length
      const damaged = Buffer.from(good);
      damaged[at]! ^= 0x40;
      const events = channel.receive(damaged, 2);
      expect(events).toMatchObject([{ kind: 'discarded' }]);
    }
    expect(channel.discardedFrames).toBe(3);
    const events = channel.receive(good, 3);
    expect(delivered(events)).toEqual(['second']);
    expect(writes(events)).toHaveLength(1); // its ack
  });

  it(`gives up on a peer after ${MAX_INVALID_IN_A_ROW} invalid frames in a row; one valid frame resets the count`, () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    channel.receive(agentFrame(0, 'first'), 1);
    const garbage = Buffer.alloc(130, 7);
    for (let i = 0; i < MAX_INVALID_IN_A_ROW - 1; i++) expect(channel.receive(garbage, 2)[0]!.kind).toBe('discarded');
    channel.receive(agentFrame(1, 'second'), 2);
    for (let i = 0; i < MAX_INVALID_IN_A_ROW - 1; i++) expect(channel.receive(garbage, 2)[0]!.kind).toBe('discarded');
    expect(channel.receive(garbage, 2)).toMatchObject([{ kind: 'failed', error: { code: 'MALFORMED_FRAME', message: expect.stringMatching(/100 malformed frames in a row/) } }]);
  });

  it("the agent's side drops garbage even before anything valid came (its datachannel.go logs and drops)", () => {
    const channel = new ReliableChannel({ sendType: MessageType.OutputStreamData, invalidFrames: 'drop', newId });
    expect(channel.receive(Buffer.from('garbage'), 1)).toMatchObject([{ kind: 'discarded' }]);
  });

  it('refuses a sequence number beyond 2^53 with a clear error instead of rounding', () => {
    const channel = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    const frame = encodeAgentMessage({
      messageType: 'output_stream_data', schemaVersion: 1, createdDate: 1, sequenceNumber: 9007199254740993n, flags: 0n,
      messageId: newId(), payloadType: 1, payload: Buffer.from('x'),
    });
    expect(channel.receive(frame, 1)).toMatchObject([{ kind: 'failed', error: { code: 'MALFORMED_FRAME' } }]);
  });
});

describe('two channels over a hostile simulated network, fake clock', () => {
  function run(seed: number, lossRate: number, duplicateRate: number, reorderRate: number) {
    let state = seed;
    const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const client = new ReliableChannel({ sendType: MessageType.InputStreamData, windowSize: 64 });
    const agent = new ReliableChannel({ sendType: MessageType.OutputStreamData, windowSize: 64, synOnFirstMessage: true });
    type Packet = { to: 'client' | 'agent'; frame: Buffer; at: number };
    let wire: Packet[] = [];
    const got = { client: [] as string[], agent: [] as string[] };
    let now = T;
    let retransmissions = 0;
    const written = new Set<Buffer>();
    const lastAt = { client: 0, agent: 0 };
    const total = 2000;
    const queues = { client: [] as string[], agent: [] as string[] };
    for (let i = 0; i < total; i++) {
      queues.client.push(`c${i}`);
      queues.agent.push(`a${i}`);
    }
    const emit = (from: 'client' | 'agent', events: ChannelEvent[]) => {
      const to = from === 'client' ? 'agent' : 'client';
      for (const e of events) {
        if (e.kind === 'deliver') got[from].push(e.message.payload.toString());
        if (e.kind === 'failed') throw e.error;
        if (e.kind !== 'write') continue;
        if (written.has(e.frame)) retransmissions++;
        written.add(e.frame);
        if (random() < lossRate) continue;
        // A path in order, as TCP's (a jitter never lets a frame pass another), unless reordered.
        const reordered = random() < reorderRate;
        const at = reordered ? now + 5 + random() * 80 : Math.max(lastAt[to], now + 5 + random() * 5);
        if (!reordered) lastAt[to] = at;
        wire.push({ to, frame: e.frame, at });
        const delay = at - now;
        if (random() < duplicateRate) wire.push({ to, frame: e.frame, at: now + delay + random() * 30 });
      }
    };
    while ((got.client.length < total || got.agent.length < total) && now < T + 600_000) {
      for (const side of ['client', 'agent'] as const) {
        const channel = side === 'client' ? client : agent;
        while (channel.canSend && queues[side].length > 0) emit(side, channel.send(1, Buffer.from(queues[side].shift()!), now));
        const before = channel.inFlight;
        emit(side, channel.tick(now));
        expect(channel.inFlight).toBe(before);
      }
      const due = wire.filter((p) => p.at <= now);
      wire = wire.filter((p) => p.at > now);
      for (const p of due) emit(p.to, (p.to === 'client' ? client : agent).receive(p.frame, now));
      now += 1;
    }
    return { got, retransmissions, now, total };
  }

  it('delivers every message exactly once, in order, both ways, under 10% loss, 5% duplication and reordering', () => {
    const { got, retransmissions, total } = run(42, 0.1, 0.05, 0.1);
    expect(got.client).toEqual(Array.from({ length: total }, (_, i) => `a${i}`));
    expect(got.agent).toEqual(Array.from({ length: total }, (_, i) => `c${i}`));
    expect(retransmissions).toBeGreaterThan(100);
  });

  it('a clean network needs no retransmission', () => {
    const { got, retransmissions, total } = run(7, 0, 0, 0);
    expect(got.client.length).toBe(total);
    expect(retransmissions).toBe(0);
  });
});

describe("the agent's side: acknowledged once delivered (datachannel.go, handleStreamDataMessage)", () => {
  function clientFrame(sequenceNumber: number, text: string): Buffer {
    return encodeAgentMessage({
      messageType: MessageType.InputStreamData, schemaVersion: 1, createdDate: T, sequenceNumber: BigInt(sequenceNumber),
      flags: 0n, messageId: newId(), payloadType: PayloadType.Output, payload: Buffer.from(text),
    });
  }
  const kinds = (events: ChannelEvent[]) =>
    events.map((e) => (e.kind === 'write' ? `ack ${(decodeAcknowledge(decode(e.frame).payload) as { acknowledgedMessageSequenceNumber: number }).acknowledgedMessageSequenceNumber}` : e.kind === 'deliver' ? `deliver ${e.message.payload}` : e.kind));
  const agentChannel = () => new ReliableChannel({ sendType: MessageType.OutputStreamData, acknowledgeAfterDelivery: true, acknowledgeDuplicates: false, newId });

  it('the expected message is delivered, then acknowledged; one ahead is acknowledged as it comes', () => {
    const channel = agentChannel();
    expect(kinds(channel.receive(clientFrame(0, 'a'), T))).toEqual(['deliver a', 'ack 0']);
    expect(kinds(channel.receive(clientFrame(2, 'c'), T))).toEqual(['ack 2']);
    // Then what waited behind it, delivered and not acknowledged again.
    expect(kinds(channel.receive(clientFrame(1, 'b'), T))).toEqual(['deliver b', 'ack 1', 'deliver c']);
    // The client's side keeps acknowledging first (the plugin's processStreamMessage).
    const client = new ReliableChannel({ sendType: MessageType.InputStreamData, newId });
    expect(kinds(client.receive(agentFrame(0, 'x'), T))).toEqual(['ack 0', 'deliver x']);
  });

  it('counts every copy received and the copies of one already taken', () => {
    const channel = agentChannel();
    const first = clientFrame(0, 'a');
    channel.receive(first, T);
    channel.receive(clientFrame(2, 'c'), T);
    channel.receive(clientFrame(2, 'c'), T); // held ahead: a copy
    channel.receive(first, T); // delivered: a copy, dropped unacknowledged
    expect(channel.receivedCounts).toEqual({ messages: 4, duplicates: 2 });
  });

  it("a driver whose consumer is full holds the ack and every frame after it until it has room", async () => {
    const { ChannelDriver } = await import('../../src/channel/driver.js');
    const timers = { now: () => T, setTimeout: () => ({}) as never, clearTimeout: () => undefined };
    const written: string[] = [];
    const consumed: string[] = [];
    let full = true;
    const driver = new ChannelDriver(agentChannel(), timers, {
      write: (frame) => written.push(kinds([{ kind: 'write', frame }])[0]!),
      deliver: (message) => {
        consumed.push(message.payload.toString());
        return !full;
      },
      failed: () => undefined,
    });
    driver.receive(clientFrame(0, 'a'));
    driver.receive(clientFrame(1, 'b'));
    // 'a' went to a consumer that is now full: no ack for it, and 'b' not even read.
    expect([consumed, written]).toEqual([['a'], []]);
    full = false;
    driver.resumeDelivery();
    expect([consumed, written]).toEqual([['a', 'b'], ['ack 0', 'ack 1']]);
  });
});
