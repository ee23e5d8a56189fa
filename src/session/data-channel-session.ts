import { EventEmitter } from 'node:events';
import { ReliableChannel, type ChannelEvent } from '../channel/reliable-channel.js';
import { MessageType, PayloadType, SessionType } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import type { JsonObject } from '../protocol/json.js';
import {
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  encodeHandshakeResponse,
  type ChannelClosed,
} from '../protocol/payloads.js';
import type { DataChannelTransport } from '../transport/websocket.js';
import { SessionError } from './errors.js';
import { answerHandshake } from './handshake.js';

export interface SessionReady {
  sessionType: string;
  properties: JsonObject;
  /** Empty when the agent skipped the handshake (a plain shell). */
  agentVersion: string;
}

export interface DataChannelSessionOptions {
  clientVersion: string;
  windowSize?: number;
  now?: () => number;
}

type State = 'awaiting-first-message' | 'handshaking' | 'ready' | 'ended';

/**
 * One session's data channel on the client: feeds frames from the transport into the reliable
 * channel, answers the handshake, and only then lets the session's own data flow. Events:
 * `ready`, `output` (payloadType, payload), `customer-message`, `writable`, `acknowledged`
 * (everything sent has been acknowledged), `closed`, `error`.
 *
 * Output that arrives with the handshake's end is emitted right after `ready`, in the same turn:
 * whoever consumes it attaches its listeners in a `ready` listener, not after awaiting a promise.
 */
export class DataChannelSession extends EventEmitter {
  private readonly channel: ReliableChannel;
  private readonly now: () => number;
  private state: State = 'awaiting-first-message';
  private retransmitTimer: NodeJS.Timeout | undefined;
  /** Stream data that arrived before the session was ready: kept, never dropped. */
  private readonly early: Array<{ payloadType: number; payload: Buffer }> = [];

  constructor(
    private readonly transport: DataChannelTransport,
    private readonly options: DataChannelSessionOptions,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.channel = new ReliableChannel({
      sendType: MessageType.InputStreamData,
      ...(options.windowSize !== undefined ? { windowSize: options.windowSize } : {}),
    });
    transport.on('frame', (frame) => this.apply(this.channel.receive(frame, this.now())));
    transport.on('close', (error) => {
      if (this.state === 'ended') return;
      this.end();
      this.emit('error', error ?? new SessionError('CONNECTION_LOST', 'the data channel closed'));
    });
  }

  /** True when a send goes out now; otherwise wait for `writable`. */
  get canSend(): boolean {
    return this.state === 'ready' && this.channel.canSend;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Sends session data; only valid once `ready` has fired (the agent drops earlier data). */
  send(payloadType: number, payload: Buffer): void {
    if (this.state !== 'ready') throw new Error(`send before the session is ready (${this.state})`);
    this.apply(this.channel.send(payloadType, payload, this.now()));
  }

  /**
   * Receive-side backpressure: stop reading the data channel while a local writer is full. The
   * agent never blocks on acknowledgements (it drops what overflows its buffer from
   * retransmission), so ssmx never withholds them; it stops reading instead, and the agent's
   * blocking write holds its reading of the destination.
   */
  pauseReceiving(): void {
    this.transport.pause();
  }

  resumeReceiving(): void {
    this.transport.resume();
  }

  /** Unacknowledged messages still in flight from this side. */
  get inFlight(): number {
    return this.channel.inFlight + this.channel.queued;
  }

  /** Ends the session from this side with a reason, through the same path as any failure. */
  abort(error: SessionError): void {
    this.fail(error);
  }

  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.retransmitTimer);
    this.transport.close();
  }

  private apply(events: ChannelEvent[]): void {
    for (const event of events) {
      if (this.state === 'ended') return;
      switch (event.kind) {
        case 'write':
          this.transport.send(event.frame);
          break;
        case 'deliver':
          this.onStreamData(event.message.payloadType, event.message.payload);
          break;
        case 'writable':
          if (this.state === 'ready') this.emit('writable');
          break;
        case 'acknowledged':
          if (this.state === 'ready') this.emit('acknowledged');
          break;
        case 'channel-closed':
          this.end();
          this.emit('closed', event.closed satisfies ChannelClosed);
          return;
        case 'failed':
          this.fail(new SessionError(event.error.code === 'RESEND_TIMEOUT' ? 'TIMEOUT' : 'PROTOCOL', event.error.message));
          return;
      }
    }
    this.armRetransmit();
  }

  private onStreamData(payloadType: number, payload: Buffer): void {
    switch (this.state) {
      case 'awaiting-first-message':
        if (payloadType === PayloadType.HandshakeRequest) {
          this.onHandshakeRequest(payload);
        } else {
          // No handshake: a plain shell, whose first message is already output (SPEC §1).
          this.becomeReady({ sessionType: SessionType.StandardStream, properties: {}, agentVersion: '' });
          this.emit('output', payloadType, payload);
        }
        return;
      case 'handshaking':
        if (payloadType === PayloadType.HandshakeComplete) {
          const complete = decodeHandshakeComplete(payload);
          if (complete instanceof ProtocolError) {
            this.fail(new SessionError('PROTOCOL', `bad HandshakeComplete: ${complete.message}`));
            return;
          }
          if (complete.customerMessage) this.emit('customer-message', complete.customerMessage);
          this.becomeReady(this.pendingReady!);
        } else if (payloadType === PayloadType.EncChallengeRequest) {
          this.fail(new SessionError('HANDSHAKE', 'the agent sent an encryption challenge for a session ssmx did not encrypt'));
        } else {
          this.early.push({ payloadType, payload });
        }
        return;
      case 'ready':
        this.emit('output', payloadType, payload);
        return;
      case 'ended':
        return;
    }
  }

  private pendingReady: SessionReady | undefined;

  private onHandshakeRequest(payload: Buffer): void {
    const request = decodeHandshakeRequest(payload);
    if (request instanceof ProtocolError) {
      this.fail(new SessionError('PROTOCOL', `bad HandshakeRequest: ${request.message}`));
      return;
    }
    const outcome = answerHandshake(request, this.options.clientVersion);
    this.state = 'handshaking';
    // The response goes out even when it refuses, so the agent ends its side with the reason.
    this.apply(this.channel.send(PayloadType.HandshakeResponse, encodeHandshakeResponse(outcome.response), this.now()));
    if (outcome.refusal !== undefined || outcome.sessionType === undefined) {
      this.fail(new SessionError('HANDSHAKE', outcome.refusal ?? 'the agent asked for no session type'));
      return;
    }
    this.pendingReady = { sessionType: outcome.sessionType, properties: outcome.properties, agentVersion: outcome.agentVersion };
  }

  private becomeReady(ready: SessionReady): void {
    this.state = 'ready';
    this.emit('ready', ready);
    for (const { payloadType, payload } of this.early.splice(0)) this.emit('output', payloadType, payload);
  }

  private fail(error: SessionError): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.retransmitTimer);
    // Let the last writes (a refusing handshake response) leave before the socket closes.
    setImmediate(() => this.transport.close());
    this.emit('error', error);
  }

  private armRetransmit(): void {
    if (this.retransmitTimer || this.state === 'ended') return;
    const deadline = this.channel.nextDeadline();
    if (deadline === undefined) return;
    this.retransmitTimer = setTimeout(() => {
      this.retransmitTimer = undefined;
      this.apply(this.channel.tick(this.now()));
    }, Math.max(1, deadline - this.now()));
  }
}
