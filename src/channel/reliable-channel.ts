import { MessageFlags, MessageType, SchemaVersion } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeAgentMessage, encodeAcknowledgement, encodeAgentMessage, type AgentMessage, type DecodedAgentMessage, type FrameRules } from '../protocol/message.js';
import { decodeAcknowledge, decodeChannelClosed, type ChannelClosed } from '../protocol/payloads.js';
import { newMessageId, writeMessageId, writeNewMessageId } from '../protocol/uuid.js';
import { ChannelError } from './errors.js';
import { LongestRoundTrip, RtoEstimator } from './rto.js';

/** What the channel asks its owner to do; it never does I/O itself. */
export type ChannelEvent =
  /** A frame for the link; a resend says the timeout it waited (for --debug). */
  | { kind: 'write'; frame: Buffer; resend?: { timeout: number } }
  /** A stream message, in sequence order, exactly once. */
  | { kind: 'deliver'; message: AgentMessage }
  | { kind: 'channel-closed'; closed: ChannelClosed }
  /** The window has room again after being full (or the remote resumed publication). */
  | { kind: 'writable' }
  /** Everything sent so far has been acknowledged, and nothing waits to be sent. */
  | { kind: 'acknowledged' }
  /** A frame that failed validation (a bad digest, a wrong length) was dropped unacknowledged. */
  | { kind: 'discarded'; reason: string }
  | { kind: 'failed'; error: ChannelError };

export interface ReliableChannelOptions {
  /** The stream message type this side sends: the client sends input, the agent output. */
  sendType: typeof MessageType.InputStreamData | typeof MessageType.OutputStreamData;
  /** Unacknowledged messages allowed in flight before the producer is told to wait. */
  windowSize?: number;
  /** Messages ahead of the expected one kept for reordering; beyond it they are dropped unacked. */
  reorderCapacity?: number;
  /** A message unacknowledged this long (ms since first sent) fails the channel. */
  giveUpAfter?: number;
  /**
   * False when the peer may drop duplicates without acknowledging them (docs/protocol.md §6 says the agent
   * acknowledges them again; the agent sources in public repositories do not). Acks lost
   * with a dropped connection are then inferred: see `onOvertaken`.
   */
  peerAcknowledgesDuplicates?: boolean;
  /** The agent sets SYN (Flags 1) on its sequence-0 message (docs/protocol.md §8); the client never does. */
  synOnFirstMessage?: boolean;
  /**
   * Acknowledge a duplicate again (docs/protocol.md §6: ssmx does, so a peer that missed an ack stops
   * resending). The emulator does by default and can drop them silently instead (--duplicate-acks).
   */
  acknowledgeDuplicates?: boolean;
  /**
   * What an invalid frame does. Both the agent and the plugin log and drop one, unacknowledged, so
   * the sender's retransmission repairs a damaged frame: 'drop' does the same. The client uses
   * 'drop-after-first-valid': a peer whose very first frame is garbage does not speak the protocol,
   * and waiting for a valid frame from it would only hang. Either way, MAX_INVALID_IN_A_ROW invalid
   * frames with no valid one between them fail the channel.
   */
  invalidFrames?: 'drop' | 'drop-after-first-valid';
  /**
   * Whose checks a frame must pass (see FrameRules): the client checks digest and length, the
   * agent does not, and the emulator's agent side forgives what the agent forgives (it counts it).
   */
  frameRules?: FrameRules;
  /**
   * Acknowledge the expected message only after it has been delivered, as the agent does: it hands
   * the message to its plugin, whose write may block, and then acknowledges it
   * (agent/session/datachannel/datachannel.go, `handleStreamDataMessage`, read at 7a15400). With a
   * driver whose `deliver` hook holds the events back, the ack then waits for the destination.
   * The client acknowledges first (the plugin's `processStreamMessage` does).
   */
  acknowledgeAfterDelivery?: boolean;
  newId?: () => string;
}

/** Invalid frames in a row, none valid between them, after which the peer is given up on. */
export const MAX_INVALID_IN_A_ROW = 100;

interface Unacknowledged {
  frame: Buffer;
  firstSent: number;
  lastSent: number;
  resent: boolean;
  /** The order of its last transmission, and the connection (epoch) it went on. */
  sendOrder: number;
  epoch: number;
  /** This message's own timeout: the RTO when sent, doubled by each resend (up to MAX_BACKOFF). */
  timeout: number;
}

/**
 * The longest wait between two sends of one message. Over a WebSocket (TCP) nothing is lost
 * inside one connection: a late ack means queueing, not loss, so resends back off as TCP's do
 * instead of flooding a busy peer with copies of its whole window every RTO.
 */
const MAX_BACKOFF = 8_000;
/** The most the quiet backoff multiplies a timeout by (the wait is MAX_BACKOFF at most anyway). */
const MAX_QUIET_BACKOFF = 256;
/**
 * How long a message inferred delivered is still resent (at its backoff, and on every reconnect),
 * in case the copy the inference rested on had been lost after all.
 */
const INFERRED_KEEP_MS = 60_000;

interface Pending {
  payloadType: number;
  payload: Buffer;
}

export const ChannelDefaults = {
  windowSize: 2048,
  // The plugin keeps 10,000 out-of-order messages, the agent 100,000 (docs/protocol.md §6).
  reorderCapacity: 10_000,
  giveUpAfter: 5 * 60_000,
} as const;

/**
 * The reliable data channel of docs/protocol.md §6 as a state machine. Inputs: `receive(frame, now)`,
 * `send(payloadType, payload, now)`, `tick(now)`; outputs: the events they return. Time is
 * always passed in, so tests drive retransmission with a fake clock.
 */
export class ReliableChannel {
  readonly rto = new RtoEstimator();
  private readonly longestRoundTrip = new LongestRoundTrip();
  private readonly sendType: ReliableChannelOptions['sendType'];
  private readonly windowSize: number;
  private readonly reorderCapacity: number;
  private readonly giveUpAfter: number;
  private readonly synOnFirstMessage: boolean;
  private readonly acknowledgeDuplicates: boolean;
  private readonly acknowledgeAfterDelivery: boolean;
  /**
   * Doubled by each timeout with no ack of a message sent once since the last: it multiplies every
   * message's least wait, so a peer that has gone quiet gets one copy per doubling, of the oldest
   * message, not one per RTO of each in turn.
   */
  private quietBackoff = 1;
  /** Stream messages received, every copy, and how many of them were copies of one already taken. */
  private streamMessagesTotal = 0;
  private duplicatesTotal = 0;
  private readonly newId: () => string;
  /** Writes a new id into a header: an acknowledgement's, one per message received. */
  private readonly writeId: (target: Buffer, offset: number) => void;
  private readonly invalidFrames: 'drop' | 'drop-after-first-valid';
  private receivedValid = false;
  private invalidInARow = 0;
  private invalidTotal = 0;
  private forgivenTotal = 0;
  private readonly frameRules: FrameRules;

  private nextSequenceNumber = 0;
  private expectedSequenceNumber = 0;
  private readonly unacknowledged = new Map<number, Unacknowledged>();
  private sendCounter = 0;
  private epoch = 0;
  /**
   * Messages resent after a reconnect whose ack may have been lost with the old connection (the
   * peer then never acks them). They do not hold the window shut: new messages must flow for
   * their acks to show which of these were delivered.
   */
  private readonly suspects = new Set<number>();
  private readonly peerAcknowledgesDuplicates: boolean;
  /** Messages inferred delivered without an ack, still resent for a while (see onOvertaken). */
  private readonly inferred = new Map<number, Unacknowledged & { forgetAt: number }>();
  private readonly pending: Pending[] = [];
  private readonly reorder = new Map<number, AgentMessage>();
  private paused = false;
  private wasBlocked = false;
  private failed = false;

  constructor(options: ReliableChannelOptions) {
    this.sendType = options.sendType;
    this.windowSize = options.windowSize ?? ChannelDefaults.windowSize;
    this.reorderCapacity = options.reorderCapacity ?? ChannelDefaults.reorderCapacity;
    this.giveUpAfter = options.giveUpAfter ?? ChannelDefaults.giveUpAfter;
    this.synOnFirstMessage = options.synOnFirstMessage ?? false;
    this.acknowledgeDuplicates = options.acknowledgeDuplicates ?? true;
    this.acknowledgeAfterDelivery = options.acknowledgeAfterDelivery ?? false;
    this.peerAcknowledgesDuplicates = options.peerAcknowledgesDuplicates ?? true;
    this.newId = options.newId ?? newMessageId;
    const newId = options.newId;
    this.writeId = newId ? (target, offset) => writeMessageId(newId(), target, offset) : writeNewMessageId;
    this.invalidFrames = options.invalidFrames ?? 'drop-after-first-valid';
    this.frameRules = options.frameRules ?? 'client';
  }

  /** Frames dropped because they failed validation. */
  get discardedFrames(): number {
    return this.invalidTotal;
  }

  /** Frames taken under the agent's rules that the client's would have dropped (a wrong digest or length). */
  get forgivenFrames(): number {
    return this.forgivenTotal;
  }

  /** Stream messages received (every copy) and the copies among them of one already delivered. */
  get receivedCounts(): { messages: number; duplicates: number } {
    return { messages: this.streamMessagesTotal, duplicates: this.duplicatesTotal };
  }

  /** True while the producer may hand over more data without it waiting in the channel. */
  get canSend(): boolean {
    return !this.paused && !this.failed && this.pending.length === 0 && this.windowUsed < this.windowSize;
  }

  get inFlight(): number {
    return this.unacknowledged.size;
  }

  /** Resent after a reconnect and not yet known to be delivered (see `suspects`). */
  get hasSuspects(): boolean {
    return this.suspects.size > 0;
  }

  private get windowUsed(): number {
    return this.unacknowledged.size - this.suspects.size;
  }

  get queued(): number {
    return this.pending.length;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Queues one stream message. It goes out at once when the window has room; otherwise it waits
   * here, and the owner should stop reading its source until a `writable` event.
   */
  send(payloadType: number, payload: Buffer, now: number): ChannelEvent[] {
    if (payload.length === 0) return []; // the agent ignores empty stream data (docs/protocol.md §2)
    this.pending.push({ payloadType, payload });
    const events: ChannelEvent[] = [];
    this.flush(now, events);
    // Whoever sees canSend turn false waits for `writable`, whether or not this message had to queue.
    if (!this.canSend) this.wasBlocked = true;
    return events;
  }

  /**
   * Handles one binary WebSocket frame from the peer. The events are appended to `events` when
   * given (the driver hands in one array for every frame it feeds, as one comes per message).
   */
  receive(frame: Buffer, now: number, events: ChannelEvent[] = []): ChannelEvent[] {
    if (this.failed) return events;
    const message = decodeAgentMessage(frame, this.frameRules);
    if (message instanceof ProtocolError) {
      this.invalidTotal++;
      const giveUp = (this.invalidFrames === 'drop-after-first-valid' && !this.receivedValid) || ++this.invalidInARow >= MAX_INVALID_IN_A_ROW;
      if (giveUp) {
        const why = this.receivedValid ? `${this.invalidInARow} malformed frames in a row from the peer` : 'malformed frame from the peer';
        this.fail(events, new ChannelError('MALFORMED_FRAME', `${why}: ${message.message}`));
      } else {
        // Unacknowledged, so the peer sends it again; a damaged copy must not end a session.
        events.push({ kind: 'discarded', reason: message.message });
      }
      return events;
    }
    this.receivedValid = true;
    this.invalidInARow = 0;
    if (message.forgiven) this.forgivenTotal++;
    switch (message.messageType) {
      case MessageType.Acknowledge:
        this.onAcknowledge(message, now, events);
        break;
      case MessageType.InputStreamData:
      case MessageType.OutputStreamData:
        if (message.messageType === this.sendType) {
          this.fail(events, new ChannelError('UNEXPECTED_MESSAGE', `peer sent ${message.messageType}, which only this side sends`));
        } else {
          this.onStreamData(frame, message, now, events);
        }
        break;
      case MessageType.ChannelClosed:
        events.push({ kind: 'channel-closed', closed: decodeChannelClosed(message.payload) });
        break;
      case MessageType.PausePublication:
        this.paused = true;
        this.wasBlocked = true;
        break;
      case MessageType.StartPublication:
        if (this.paused) {
          this.paused = false;
          this.flush(now, events);
          this.retransmitDue(now, events);
          this.notifyIfWritable(events);
        }
        break;
      default:
        // Unknown message types are dropped, as the plugin and agent both do.
        break;
    }
    return events;
  }

  /** Retransmits every unacknowledged message older than the timeout. */
  tick(now: number): ChannelEvent[] {
    const events: ChannelEvent[] = [];
    if (!this.paused && !this.failed) this.retransmitDue(now, events);
    return events;
  }

  /** When `tick` next has work to do, or undefined when nothing is outstanding. */
  nextDeadline(now: number): number | undefined {
    if (this.paused || this.failed || this.unacknowledged.size + this.inferred.size === 0) return undefined;
    let earliest = Infinity;
    const floor = this.waitFloor(now);
    for (const entry of this.unacknowledged.values()) earliest = Math.min(earliest, entry.lastSent + this.waitFor(entry, floor));
    for (const entry of this.inferred.values()) earliest = Math.min(earliest, entry.lastSent + entry.timeout);
    return earliest;
  }

  /** After a reconnect every unacknowledged message goes out again, oldest first, on the new connection. */
  retransmitAll(now: number): ChannelEvent[] {
    const events: ChannelEvent[] = [];
    this.epoch++;
    this.longestRoundTrip.reset();
    this.quietBackoff = 1;
    if (!this.peerAcknowledgesDuplicates) for (const sequenceNumber of this.unacknowledged.keys()) this.suspects.add(sequenceNumber);
    for (const entry of this.unacknowledged.values()) this.resend(entry, now, events);
    for (const entry of this.inferred.values()) this.resend(entry, now, events);
    // The window may have opened: suspects no longer hold it, and new messages must follow them.
    this.flush(now, events);
    this.notifyIfWritable(events);
    return events;
  }

  private flush(now: number, events: ChannelEvent[]): void {
    while (!this.paused && !this.failed && this.pending.length > 0 && this.windowUsed < this.windowSize) {
      const { payloadType, payload } = this.pending.shift()!;
      const sequenceNumber = this.nextSequenceNumber++;
      const frame = encodeAgentMessage({
        messageType: this.sendType,
        schemaVersion: SchemaVersion,
        createdDate: now,
        sequenceNumber: BigInt(sequenceNumber),
        flags: this.synOnFirstMessage && sequenceNumber === 0 ? MessageFlags.Syn : MessageFlags.Data,
        messageId: this.newId(),
        payloadType,
        payload,
      });
      this.unacknowledged.set(sequenceNumber, { frame, firstSent: now, lastSent: now, resent: false, timeout: this.rto.timeout, sendOrder: ++this.sendCounter, epoch: this.epoch });
      events.push({ kind: 'write', frame });
    }
  }

  private notifyIfWritable(events: ChannelEvent[]): void {
    if (this.wasBlocked && this.canSend) {
      this.wasBlocked = false;
      events.push({ kind: 'writable' });
    }
  }

  private onAcknowledge(message: AgentMessage, now: number, events: ChannelEvent[]): void {
    const ack = decodeAcknowledge(message.payload);
    if (ack instanceof ProtocolError) {
      this.fail(events, new ChannelError('MALFORMED_FRAME', `malformed acknowledge: ${ack.message}`));
      return;
    }
    const entry = this.unacknowledged.get(ack.acknowledgedMessageSequenceNumber);
    if (entry === undefined) {
      // A late duplicate acknowledgement, or one for a message inferred delivered: it was.
      this.inferred.delete(ack.acknowledgedMessageSequenceNumber);
      return;
    }
    this.unacknowledged.delete(ack.acknowledgedMessageSequenceNumber);
    this.suspects.delete(ack.acknowledgedMessageSequenceNumber);
    // Karn's rule: a retransmitted message's round trip is ambiguous, so it is not sampled.
    if (!entry.resent) {
      this.rto.sample(now - entry.firstSent);
      this.longestRoundTrip.sample(now - entry.firstSent, now);
      this.quietBackoff = 1;
    }
    this.onOvertaken(entry, ack.acknowledgedMessageSequenceNumber, now, events);
    this.flush(now, events);
    this.notifyIfWritable(events);
    if (this.unacknowledged.size === 0 && this.pending.length === 0) events.push({ kind: 'acknowledged' });
  }

  /**
   * What an ack says of the messages sent before the acknowledged one on the same connection and
   * still unacknowledged. The peer takes messages in the order sent and acknowledges each new one
   * (one ahead of a gap too), so each of them was lost on the way, or its ack was:
   *
   * - Fast retransmit, as TCP's: it goes again now, not after its timeout. Its send order then
   *   passes the acknowledged one's, so it goes once per such loss.
   * - Acks the peer will never send again: an agent that drops a duplicate silently never acks a
   *   message whose ack was lost (with a dropped connection, or damaged on the way). So a message
   *   already resent, and overtaken by a later one's ack, reached the agent: delivered. Only if that
   *   resent copy was itself lost (damaged, or held back by a reordering path that then dropped) is
   *   this wrong, so such a message is still resent, from the RTO up, for INFERRED_KEEP_MS and on
   *   every reconnect meanwhile, without holding the window: to an agent that has it these are
   *   duplicates it drops, to one that lacks it they fill the gap.
   */
  private onOvertaken(acked: Unacknowledged, ackedSequenceNumber: number, now: number, events: ChannelEvent[]): void {
    if (acked.epoch !== this.epoch) return;
    // The map is in sequence order, and acks come mostly in order: this loop rarely runs at all.
    for (const [sequenceNumber, entry] of this.unacknowledged) {
      if (sequenceNumber >= ackedSequenceNumber) break;
      if (entry.epoch !== this.epoch || entry.sendOrder > acked.sendOrder) continue;
      if (entry.resent && !this.peerAcknowledgesDuplicates) {
        this.unacknowledged.delete(sequenceNumber);
        this.suspects.delete(sequenceNumber);
        this.inferred.set(sequenceNumber, { ...entry, timeout: this.rto.timeout, lastSent: now, forgetAt: now + INFERRED_KEEP_MS });
      } else {
        this.resend(entry, now, events);
      }
    }
  }

  private onStreamData(frame: Buffer, message: DecodedAgentMessage, now: number, events: ChannelEvent[]): void {
    // NaN where the number is not read exactly as a double (2^53 and more; negatives fail anyway).
    const sequenceNumber = message.sequence;
    if (!(sequenceNumber >= 0)) {
      this.fail(events, new ChannelError('MALFORMED_FRAME', `sequence number ${message.sequenceNumber} is out of range`));
      return;
    }
    this.streamMessagesTotal++;
    if (sequenceNumber < this.expectedSequenceNumber || this.reorder.has(sequenceNumber)) this.duplicatesTotal++;
    if (sequenceNumber < this.expectedSequenceNumber) {
      // A duplicate: the peer missed our acknowledgement, so acknowledge again (the plugin does
      // not, and a lost ack then makes the agent resend forever — docs/protocol.md §6).
      if (this.acknowledgeDuplicates) events.push({ kind: 'write', frame: this.acknowledgement(frame, message, now) });
      return;
    }
    if (sequenceNumber > this.expectedSequenceNumber) {
      if (!this.reorder.has(sequenceNumber) && this.reorder.size >= this.reorderCapacity) return; // unacked: resent later
      this.reorder.set(sequenceNumber, message);
      events.push({ kind: 'write', frame: this.acknowledgement(frame, message, now) });
      return;
    }
    const ack: ChannelEvent = { kind: 'write', frame: this.acknowledgement(frame, message, now) };
    if (this.acknowledgeAfterDelivery) events.push({ kind: 'deliver', message }, ack);
    else events.push(ack, { kind: 'deliver', message });
    this.expectedSequenceNumber++;
    for (let next = this.reorder.get(this.expectedSequenceNumber); next; next = this.reorder.get(this.expectedSequenceNumber)) {
      this.reorder.delete(this.expectedSequenceNumber);
      events.push({ kind: 'deliver', message: next });
      this.expectedSequenceNumber++;
    }
  }

  private acknowledgement(frame: Buffer, message: DecodedAgentMessage, now: number): Buffer {
    return encodeAcknowledgement(frame, message.messageType, message.sequence, now, this.writeId);
  }

  /**
   * On a timeout the oldest overdue message goes again, with its timeout doubled; the timers of the
   * others overdue with it restart instead. Over TCP a late ack means queueing far more often than
   * loss, and copies of a whole window sent into a queue only lengthen it; a real loss among them
   * shows as an ack that overtakes it (see `onOvertaken`), or comes up on its own timer.
   */
  private retransmitDue(now: number, events: ChannelEvent[]): void {
    let resent = false;
    const floor = this.waitFloor(now);
    for (const entry of this.unacknowledged.values()) {
      if (now - entry.firstSent >= this.giveUpAfter) {
        this.fail(events, new ChannelError('RESEND_TIMEOUT', `a message went unacknowledged for ${Math.round(this.giveUpAfter / 1000)} s`));
        return;
      }
      if (now - entry.lastSent < this.waitFor(entry, floor)) continue;
      if (resent) {
        entry.lastSent = now;
        continue;
      }
      this.resend(entry, now, events, this.waitFor(entry, floor));
      entry.timeout = Math.min(entry.timeout * 2, MAX_BACKOFF);
      resent = true;
    }
    if (resent) this.quietBackoff = Math.min(this.quietBackoff * 2, MAX_QUIET_BACKOFF);
    for (const [sequenceNumber, entry] of this.inferred) {
      if (now >= entry.forgetAt) {
        this.inferred.delete(sequenceNumber);
      } else if (now - entry.lastSent >= entry.timeout) {
        this.resend(entry, now, events);
        entry.timeout = Math.min(entry.timeout * 2, MAX_BACKOFF);
      }
    }
  }

  /** How long an unacknowledged message waits, from its last send, before it goes again. */
  private waitFor(entry: Unacknowledged, floor: number): number {
    return Math.min(Math.max(entry.timeout, floor * this.quietBackoff), MAX_BACKOFF);
  }

  /**
   * The least any message waits: the RTO now, not only the one when it was sent (TCP keeps one
   * timer, at the current RTO), and the longest recent round trip (see LongestRoundTrip).
   */
  private waitFloor(now: number): number {
    return Math.max(this.rto.timeout, this.longestRoundTrip.value(now));
  }

  private resend(entry: Unacknowledged, now: number, events: ChannelEvent[], waited = entry.timeout): void {
    // The same bytes go again: same sequence number, id and date, as the plugin resends.
    entry.lastSent = now;
    entry.resent = true;
    entry.sendOrder = ++this.sendCounter;
    entry.epoch = this.epoch;
    events.push({ kind: 'write', frame: entry.frame, resend: { timeout: waited } });
  }

  private fail(events: ChannelEvent[], error: ChannelError): void {
    if (this.failed) return;
    this.failed = true;
    events.push({ kind: 'failed', error });
  }
}
