import { EventEmitter } from 'node:events';
import { ChannelDriver, type WireDebug } from '../channel/driver.js';
import { ReliableChannel } from '../channel/reliable-channel.js';
import { systemTimers, type Timers } from '../channel/timers.js';
import { FlagValue, MessageType, PayloadType, SessionType } from '../protocol/constants.js';
import type { SessionCipher } from '../protocol/crypto.js';
import { ProtocolError } from '../protocol/errors.js';
import { encodeFlag, type ChannelClosed } from '../protocol/payloads.js';
import { AgentGates, isVersionGreater } from '../protocol/version.js';
import type { DataChannelTransport } from '../transport/websocket.js';
import { ClientHandshake, type DataKeyResult, type HandshakeStep, type SessionReady } from './client-handshake.js';
import { SessionError } from './errors.js';
import { Link } from './link.js';
import { DEFAULT_RECONNECT_TIMEOUT_MS, ReconnectPolicy } from './reconnect-policy.js';

export type { SessionReady } from './client-handshake.js';
export { DEFAULT_RECONNECT_TIMEOUT_MS } from './reconnect-policy.js';

export interface SessionEvents {
  ready: [ready: SessionReady];
  /** Stream data from the agent, decrypted when the session is encrypted. */
  output: [payloadType: number, payload: Buffer];
  'customer-message': [text: string];
  /** The channel can take more after `canSend` was false. */
  writable: [];
  /** Everything sent so far has been acknowledged. */
  acknowledged: [];
  /** The service's channel_closed: the session is over. */
  closed: [closed: ChannelClosed];
  error: [error: SessionError];
  reconnecting: [reason: SessionError];
  resumed: [ms: number];
}

export interface DataChannelSessionOptions {
  clientVersion: string;
  windowSize?: number;
  /** Clock and timers (retransmission, reconnect backoff); the system's unless a test gives its own. */
  timers?: Timers;
  /** Jitter for the reconnect backoff, in [0, 1). */
  random?: () => number;
  /** Reopens the data channel after it dropped: see LinkOptions.reopen. */
  reconnect?: () => Promise<DataChannelTransport>;
  reconnectTimeoutMs?: number;
  /**
   * KMS GenerateDataKey (64 bytes, the session's encryption context, with the agent's random
   * challenge in it when the agent sent one) for a handshake that asks for KMSEncryption. Without
   * it such a session is refused with a reason.
   */
  kms?: (keyId: string, challenge: string | undefined) => Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array }>;
  /** The TerminateSession API for this session, for agents too old for the flag (docs/protocol.md §8). */
  terminateOnService?: () => Promise<unknown>;
  /** One line per frame, resend, reconnect and discarded frame (--debug); never payload contents. */
  debug?: WireDebug;
}

/** How long ending a session on the service may hold up ssmx's exit. */
export const TERMINATE_WAIT_MS = 2000;

type State = 'starting' | 'ready' | 'ended';

/**
 * One session's data channel on the client, put together from its parts: the link (transport and
 * reconnects), the reliable channel and its driver, the handshake and, once KMS gave a key, the
 * cipher. Only session data flows through here once `ready` has fired.
 *
 * Output that arrives with the handshake's end is emitted right after `ready`, in the same turn:
 * whoever consumes it attaches its listeners in a `ready` listener, not after awaiting a promise.
 */
export class DataChannelSession extends EventEmitter<SessionEvents> {
  private readonly driver: ChannelDriver;
  private readonly link: Link;
  private readonly handshake: ClientHandshake;
  private cipher: SessionCipher | undefined;
  private state: State = 'starting';
  /** The service's channel_closed came: nothing of the session is left to end. */
  private closedByService = false;
  private ready: SessionReady | undefined;
  private probe: { payloadType: number; payload: () => Buffer } | undefined;

  constructor(
    transport: DataChannelTransport,
    private readonly options: DataChannelSessionOptions,
  ) {
    super();
    const timers = options.timers ?? systemTimers;
    const reconnects = options.reconnect !== undefined && (options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS) > 0;
    this.link = new Link(transport, {
      receive: (frame) => this.driver.receive(frame),
      ...(reconnects ? { reopen: options.reconnect } : {}),
      policy: new ReconnectPolicy(options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS),
      timers,
      random: options.random ?? Math.random,
      ...(options.debug ? { debug: options.debug } : {}),
    });
    const channel = new ReliableChannel({
      sendType: MessageType.InputStreamData,
      // An agent may drop duplicates without an ack (older agents do); see the channel.
      peerAcknowledgesDuplicates: false,
      ...(options.windowSize !== undefined ? { windowSize: options.windowSize } : {}),
    });
    this.driver = new ChannelDriver(
      channel,
      timers,
      {
        write: (frame) => this.link.send(frame),
        deliver: (message) => this.onStreamData(message.payloadType, message.payload),
        writable: () => this.state === 'ready' && this.emit('writable'),
        acknowledged: () => this.state === 'ready' && this.emit('acknowledged'),
        closed: (closed) => {
          this.closedByService = true;
          this.end();
          this.emit('closed', closed);
        },
        failed: (error) => this.fail(new SessionError(error.code === 'RESEND_TIMEOUT' ? 'TIMEOUT' : 'PROTOCOL', error.message)),
      },
      options.debug,
    );
    this.handshake = new ClientHandshake(options.clientVersion, options.kms !== undefined);
    this.link.on('lost', (reason) => {
      if (this.state === 'ended') return;
      // A session that was running is resumed; one that never got going fails as it is.
      if (this.link.canReconnect && this.state === 'ready') return this.link.reconnect(reason);
      this.end();
      this.emit('error', reason);
    });
    this.link.on('reconnecting', (reason) => {
      this.driver.linkDown();
      options.debug?.(`link lost (${reason.message}); reconnecting`);
      this.emit('reconnecting', reason);
    });
    this.link.on('resumed', (ms) => this.onResumed(ms));
    this.link.on('failed', (error) => this.fail(error));
  }

  /** True when a send goes out now; otherwise wait for `writable`. */
  get canSend(): boolean {
    return this.state === 'ready' && this.driver.channel.canSend;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  /** What the agent announced in its handshake (empty without one). */
  get agentVersion(): string {
    return this.ready?.agentVersion ?? '';
  }

  /** Messages sent or queued and not yet acknowledged. */
  get unacknowledged(): number {
    return this.driver.channel.inFlight + this.driver.channel.queued;
  }

  /** Sends session data; only valid once `ready` has fired (the agent drops earlier data). */
  send(payloadType: number, payload: Buffer): void {
    if (this.state !== 'ready') throw new Error(`send before the session is ready (${this.state})`);
    this.driver.send(payloadType, this.cipher ? this.cipher.outgoing(payloadType, payload) : payload);
  }

  /**
   * A message the agent takes without effect (the terminal's current size for a shell, an smux
   * NOP for multiplexed ports), sent after a reconnect to learn which resent messages it had.
   */
  setProbe(payloadType: number, payload: () => Buffer): void {
    this.probe = { payloadType, payload };
  }

  /**
   * Receive-side backpressure: stop reading the data channel while a local writer is full. The
   * agent never blocks on acknowledgements, so ssmx never withholds them; it stops reading instead,
   * and the agent's blocking write holds its reading of the destination.
   */
  pauseReceiving(): void {
    this.link.pause();
  }

  resumeReceiving(): void {
    this.link.resume();
  }

  /** While true, silence from the agent is ssmx's own doing: no liveness check may count it. */
  get isReceivePaused(): boolean {
    return this.link.isReceivePaused;
  }

  /** The clock and timers the session runs on, for whoever keeps time beside it (smux keep-alive). */
  get timers(): Timers {
    return this.options.timers ?? systemTimers;
  }

  /** Ends the session from this side with a reason, through the same path as any failure. */
  abort(error: SessionError): void {
    this.fail(error);
  }

  /** Closes the data channel; the session on the service is left as it is (see `terminate`). */
  end(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.driver.stop();
    this.link.close();
  }

  /**
   * Ends the session on the service too, as the agent allows (docs/protocol.md §8): the
   * TerminateSession flag in a Port session with an agent newer than 2.3.722.0 while the channel
   * is up, else the TerminateSession API (bounded, best effort). Only the port plugins act on the
   * flag (agent/session/plugins/port: basicportsession.go and muxportsession.go,
   * HandleStreamMessage); the shell plugin's InputStreamMessageHandler takes Output and Size only,
   * so a shell, run or exec session sent the flag went on, its command with it. Nothing when the service already closed it. With
   * a reason, the session then fails with it, so whoever is attached finishes. Once only.
   */
  terminate(reason?: SessionError): Promise<void> {
    this.terminating ??= this.endOnService(reason);
    return this.terminating;
  }

  private terminating: Promise<void> | undefined;

  private async endOnService(reason: SessionError | undefined): Promise<void> {
    if (this.closedByService) return;
    const byFlag = this.state === 'ready' && this.link.isUp && this.ready?.sessionType === SessionType.Port && isVersionGreater(this.agentVersion, AgentGates.terminateSessionFlag);
    // The flag leaves before the close frame: the transport writes what it holds, then closes.
    if (byFlag) this.driver.send(PayloadType.Flag, encodeFlag(FlagValue.TerminateSession));
    const linkClosed = this.link.connectionGone();
    if (reason) this.fail(reason);
    else this.end();
    const onService = !byFlag && this.options.terminateOnService ? this.options.terminateOnService() : undefined;
    // ssmx then reads on until the service has closed the connection. A process that exits with
    // bytes unread makes its kernel reset the connection, and a reset can destroy the flag before
    // the service has read it: the session would stay active.
    await withTimeout(Promise.all([linkClosed, onService]), TERMINATE_WAIT_MS);
  }

  private onStreamData(payloadType: number, payload: Buffer): void {
    if (this.state === 'ended') return;
    // After the handshake every message is output (the handshake's own rule), so the steps of
    // one message each are skipped on the way.
    if (this.handshake.isReady) return this.reveal(payloadType, payload);
    this.run(this.handshake.receive(payloadType, payload));
  }

  private run(steps: HandshakeStep[]): void {
    for (const step of steps) {
      if (this.state === 'ended') return;
      switch (step.kind) {
        case 'send':
          this.driver.send(step.payloadType, step.payload);
          break;
        case 'need-data-key':
          this.fetchDataKey(step.keyId, step.challenge);
          break;
        case 'customer-message':
          this.emit('customer-message', step.text);
          break;
        case 'ready':
          this.state = 'ready';
          this.ready = step.ready;
          this.cipher = step.cipher;
          this.options.debug?.(`handshake done: ${step.ready.sessionType}${step.ready.agentVersion ? `, agent ${step.ready.agentVersion}` : ' (no handshake)'}${step.cipher ? ', KMS-encrypted' : ''}`);
          this.emit('ready', step.ready);
          break;
        case 'output':
          this.reveal(step.payloadType, step.payload);
          break;
        case 'refused':
          this.fail(step.error);
          return;
      }
    }
  }

  /** The data key comes from KMS first; messages meanwhile wait in the handshake. */
  private fetchDataKey(keyId: string, challenge: string | undefined): void {
    this.options.kms!(keyId, challenge).then(
      (dataKey): DataKeyResult => dataKey,
      (error: Error): DataKeyResult => ({ error: `KMS GenerateDataKey for ${keyId || 'the session key'} failed: ${error.message}` }),
    ).then((result) => {
      if (this.state !== 'ended') this.run(this.handshake.dataKey(result));
    });
  }

  /** An agent payload as the session sees it: decrypted when the session is encrypted. */
  private reveal(payloadType: number, payload: Buffer): void {
    const plain = this.cipher ? this.cipher.incoming(payloadType, payload) : payload;
    if (plain instanceof ProtocolError) return this.fail(new SessionError('PROTOCOL', `cannot decrypt a message from the agent: ${plain.message}`));
    this.emit('output', payloadType, plain);
  }

  private onResumed(ms: number): void {
    if (this.state === 'ended') return;
    this.driver.linkUp();
    // A harmless message right behind the resent ones: its ack shows which of them the agent
    // already had (if it never acks a duplicate), even when nothing else is left to send.
    if (this.probe && this.driver.channel.hasSuspects && this.state === 'ready') this.send(this.probe.payloadType, this.probe.payload());
    this.options.debug?.(`reconnected after ${ms} ms`);
    this.emit('resumed', ms);
  }

  private fail(error: SessionError): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.driver.stop();
    // The last writes (a refusing handshake response) still leave: the transport writes what it
    // holds before its close frame.
    this.link.close();
    this.emit('error', error);
  }
}

/**
 * Resolves when the session is ready (after the handshake, if any), rejects if it fails first.
 * `attach` runs inside the `ready` event, so the listeners it adds see the output and the close
 * that may come in the same read as the handshake's end; awaiting first would miss them.
 */
export function waitReady<T = SessionReady>(session: DataChannelSession, attach?: (ready: SessionReady) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    const onClosed = (closed: ChannelClosed) =>
      reject(new SessionError('CONNECTION_LOST', `the session closed before it was ready${closed.output ? `: ${closed.output}` : ''}`));
    session.once('error', onError);
    session.once('closed', onClosed);
    session.once('ready', (ready: SessionReady) => {
      session.off('error', onError);
      session.off('closed', onClosed);
      try {
        resolve(attach ? attach(ready) : (ready as T));
      } catch (error) {
        session.end();
        reject(error);
      }
    });
  });
}

/** Waits at most `ms` for a promise; resolves undefined on timeout or failure (for best-effort work on the way out). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
