import { EventEmitter } from 'node:events';
import { ReliableChannel, type ChannelEvent } from '../channel/reliable-channel.js';
import { ActionType, MessageType, PayloadType, SessionType } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import type { JsonObject } from '../protocol/json.js';
import {
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  encodeHandshakeResponse,
  type ChannelClosed,
  type HandshakeRequest,
} from '../protocol/payloads.js';
import type { DataChannelTransport } from '../transport/websocket.js';
import { AGENT_ENCRYPTED_TYPES, CLIENT_ENCRYPTED_TYPES, decodeEncChallenge, encodeEncChallenge, open, seal, splitDataKey, type SessionKeys } from '../protocol/crypto.js';
import { SessionError } from './errors.js';
import { answerHandshake, type KmsAnswer } from './handshake.js';
import { field } from '../protocol/json.js';

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
  /**
   * Opens the data channel again after it dropped (ResumeSession, then a new WebSocket). It
   * rejects with an ENDED_BY_SERVICE error when the service has ended the session; any other
   * rejection is retried, with capped exponential backoff and jitter, for `reconnectTimeoutMs`.
   */
  reconnect?: () => Promise<DataChannelTransport>;
  reconnectTimeoutMs?: number;
  /**
   * KMS GenerateDataKey (64 bytes, the session's encryption context) for a handshake that asks for
   * KMSEncryption. Without it such a session is refused with a reason.
   */
  kms?: (keyId: string) => Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array }>;
}

/** The first pause before a reconnect attempt, the cap of its doubling, and the default window. */
const RECONNECT_FIRST_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 5000;
export const DEFAULT_RECONNECT_TIMEOUT_MS = 180_000;
/** A connection that lived less than this before it dropped does not restart the reconnect window. */
const STABLE_CONNECTION_MS = 1000;

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
  private transport: DataChannelTransport;
  /** False while the data channel is down and being reopened; writes then wait for the resend. */
  private connected = true;
  private connectedAt = 0;
  private receivePaused = false;
  /** When the present reconnect window closes. */
  private reconnectDeadline: number | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    transport: DataChannelTransport,
    private readonly options: DataChannelSessionOptions,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.channel = new ReliableChannel({
      sendType: MessageType.InputStreamData,
      // An agent may drop duplicates without an ack (its published datachannel.go does); see the channel.
      peerAcknowledgesDuplicates: false,
      ...(options.windowSize !== undefined ? { windowSize: options.windowSize } : {}),
    });
    this.transport = transport;
    this.attach(transport);
  }

  private attach(transport: DataChannelTransport): void {
    this.connectedAt = this.now();
    transport.on('frame', (frame) => {
      if (transport === this.transport) this.apply(this.channel.receive(frame, this.now()));
    });
    const onClose = (error: SessionError | undefined) => {
      if (transport !== this.transport || this.state === 'ended') return;
      // A session that was running is resumed; one that never got going fails as it is.
      if (this.options.reconnect && this.state === 'ready') return this.reconnect(error);
      this.end();
      this.emit('error', error ?? new SessionError('CONNECTION_LOST', 'the data channel closed'));
    };
    transport.on('close', onClose);
    // A link can go between its opening and this: that close was emitted to no one.
    if (transport.isClosed) queueMicrotask(() => onClose(new SessionError('CONNECTION_LOST', 'the data channel closed as it opened')));
  }

  /**
   * The data channel dropped: reopen it (ResumeSession, new token, new WebSocket) and resend what
   * was not acknowledged; sequence numbers, buffers and the handshake's outcome carry over.
   * Events: `reconnecting` (the reason), `resumed` (ms it took).
   */
  private reconnect(reason: SessionError | undefined): void {
    const lostAt = this.now();
    this.connected = false;
    clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
    const timeout = this.options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
    // A link that keeps dropping at once does not earn a fresh window each time.
    if (this.reconnectDeadline === undefined || lostAt - this.connectedAt >= STABLE_CONNECTION_MS) this.reconnectDeadline = lostAt + timeout;
    this.emit('reconnecting', reason ?? new SessionError('CONNECTION_LOST', 'the data channel closed'));
    let attempt = 0;
    const tryOnce = async () => {
      this.reconnectTimer = undefined;
      if (this.state === 'ended') return;
      try {
        const transport = await this.options.reconnect!();
        // The session may have been ended (Ctrl-C, a signal) while the call was out.
        if (this.isEnded) return transport.close();
        this.transport = transport;
        this.connected = true;
        this.attach(transport);
        if (this.receivePaused) transport.pause();
        this.apply(this.channel.retransmitAll(this.now()));
        // A harmless message right behind the resent ones: its ack shows which of them the agent
        // already had (if it never acks a duplicate), even when nothing else is left to send.
        if (this.probe && this.channel.hasSuspects && this.state === 'ready') this.send(this.probe.payloadType, this.probe.payload());
        this.emit('resumed', this.now() - lostAt);
      } catch (error) {
        const failure = error instanceof SessionError ? error : new SessionError('CONNECTION_LOST', (error as Error).message);
        if (failure.code === 'ENDED_BY_SERVICE') return this.fail(failure);
        if (this.now() >= this.reconnectDeadline!) {
          return this.fail(
            new SessionError('CONNECTION_LOST', `the connection was lost and could not be restored within ${Math.round(timeout / 1000)} s: ${failure.message}`, 'check the network; --reconnect-timeout sets how long ssmx keeps trying'),
          );
        }
        const backoff = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** attempt++);
        const delay = Math.min(backoff * (0.5 + Math.random() / 2), Math.max(0, this.reconnectDeadline! - this.now()));
        this.reconnectTimer = setTimeout(() => void tryOnce(), delay);
      }
    };
    void tryOnce();
  }

  /** True when a send goes out now; otherwise wait for `writable`. */
  get canSend(): boolean {
    return this.state === 'ready' && this.channel.canSend;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  /** Sends session data; only valid once `ready` has fired (the agent drops earlier data). */
  send(payloadType: number, payload: Buffer): void {
    if (this.state !== 'ready') throw new Error(`send before the session is ready (${this.state})`);
    const wire = this.keys && CLIENT_ENCRYPTED_TYPES.has(payloadType) ? seal(this.keys.encryptKey, payload) : payload;
    this.apply(this.channel.send(payloadType, wire, this.now()));
  }

  private probe: { payloadType: number; payload: () => Buffer } | undefined;

  /**
   * A message the agent takes without effect (the terminal's current size for a shell, an smux
   * NOP for multiplexed ports), sent after a reconnect to learn which resent messages it had.
   */
  setProbe(payloadType: number, payload: () => Buffer): void {
    this.probe = { payloadType, payload };
  }

  /** The session keys once KMS gave the data key (docs/protocol.md §5). */
  private keys: SessionKeys | undefined;

  /** An agent payload as the session sees it: decrypted when the session is encrypted. */
  private reveal(payloadType: number, payload: Buffer): Buffer | undefined {
    if (!this.keys || !AGENT_ENCRYPTED_TYPES.has(payloadType)) return payload;
    const plain = open(this.keys.decryptKey, payload);
    if (plain instanceof ProtocolError) {
      this.fail(new SessionError('PROTOCOL', `cannot decrypt a message from the agent: ${plain.message}`));
      return undefined;
    }
    return plain;
  }

  /**
   * Receive-side backpressure: stop reading the data channel while a local writer is full. The
   * agent never blocks on acknowledgements (it drops what overflows its buffer from
   * retransmission), so ssmx never withholds them; it stops reading instead, and the agent's
   * blocking write holds its reading of the destination.
   */
  pauseReceiving(): void {
    this.receivePaused = true;
    this.transport.pause();
  }

  resumeReceiving(): void {
    this.receivePaused = false;
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
    clearTimeout(this.reconnectTimer);
    this.transport.close();
  }

  private apply(events: ChannelEvent[]): void {
    for (const event of events) {
      if (this.state === 'ended') return;
      switch (event.kind) {
        case 'write':
          // While the link is down the frame waits among the unacknowledged, resent on resume.
          if (this.connected) this.transport.send(event.frame);
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
          // No handshake: a plain shell, whose first message is already output (docs/protocol.md §1).
          this.becomeReady({ sessionType: SessionType.StandardStream, properties: {}, agentVersion: '' });
          this.emit('output', payloadType, payload);
        }
        return;
      case 'handshaking':
        if (payloadType === PayloadType.EncChallengeRequest && this.keys) {
          this.answerChallenge(payload);
        } else if (payloadType === PayloadType.HandshakeComplete) {
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
      case 'ready': {
        const plain = this.reveal(payloadType, payload);
        if (plain) this.emit('output', payloadType, plain);
        return;
      }
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
    this.state = 'handshaking';
    const kmsAction = request.requestedClientActions.find((action) => action.actionType === ActionType.KMSEncryption);
    if (!kmsAction || !this.options.kms) return this.respond(request, undefined);
    // The data key comes from KMS first; messages meanwhile wait in the channel as usual.
    const keyId = String(field(kmsAction.actionParameters, 'KMSKeyId') ?? '');
    this.options.kms(keyId).then(
      (dataKey) => {
        if (this.state === 'ended') return;
        const keys = splitDataKey(dataKey.plaintext, 'client');
        if (keys instanceof ProtocolError) return this.respond(request, { error: `KMS gave an unusable data key: ${keys.message}` });
        this.keys = keys;
        this.respond(request, { cipherTextKey: dataKey.ciphertextBlob });
      },
      (error: Error) => {
        if (this.state !== 'ended') this.respond(request, { error: `KMS GenerateDataKey for ${keyId || 'the session key'} failed: ${error.message}` });
      },
    );
  }

  private respond(request: HandshakeRequest, kms: KmsAnswer | undefined): void {
    const outcome = answerHandshake(request, this.options.clientVersion, kms);
    // The response goes out even when it refuses, so the agent ends its side with the reason.
    this.apply(this.channel.send(PayloadType.HandshakeResponse, encodeHandshakeResponse(outcome.response), this.now()));
    if (outcome.refusal !== undefined || outcome.sessionType === undefined) {
      this.fail(new SessionError('HANDSHAKE', outcome.refusal ?? 'the agent asked for no session type'));
      return;
    }
    this.pendingReady = { sessionType: outcome.sessionType, properties: outcome.properties, agentVersion: outcome.agentVersion };
  }

  /** The agent proves the key: its random bytes, decrypted with ours and encrypted back (docs/protocol.md §5). */
  private answerChallenge(payload: Buffer): void {
    const challenge = decodeEncChallenge(payload);
    const plain = challenge instanceof ProtocolError ? challenge : open(this.keys!.decryptKey, challenge);
    if (plain instanceof ProtocolError) {
      this.fail(new SessionError('HANDSHAKE', `the agent's encryption challenge failed: ${plain.message}`, 'the agent and ssmx do not hold the same KMS data key'));
      return;
    }
    this.apply(this.channel.send(PayloadType.EncChallengeResponse, encodeEncChallenge(seal(this.keys!.encryptKey, plain)), this.now()));
  }

  private becomeReady(ready: SessionReady): void {
    this.state = 'ready';
    this.emit('ready', ready);
    for (const { payloadType, payload } of this.early.splice(0)) {
      const plain = this.reveal(payloadType, payload);
      if (!plain) return;
      this.emit('output', payloadType, plain);
    }
  }

  private fail(error: SessionError): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.retransmitTimer);
    clearTimeout(this.reconnectTimer);
    // Let the last writes (a refusing handshake response) leave before the socket closes.
    setImmediate(() => this.transport.close());
    this.emit('error', error);
  }

  private armRetransmit(): void {
    if (this.retransmitTimer || this.state === 'ended' || !this.connected) return;
    const deadline = this.channel.nextDeadline();
    if (deadline === undefined) return;
    this.retransmitTimer = setTimeout(() => {
      this.retransmitTimer = undefined;
      this.apply(this.channel.tick(this.now()));
    }, Math.max(1, deadline - this.now()));
  }
}
