import { EventEmitter } from 'node:events';
import type { Timers, TimerHandle } from '../channel/timers.js';
import type { WireDebug } from '../channel/driver.js';
import type { TransportError } from '../transport/errors.js';
import type { DataChannelTransport } from '../transport/websocket.js';
import { SessionError } from './errors.js';
import { ReconnectPolicy } from './reconnect-policy.js';

export interface LinkEvents {
  /** The link went while nobody asked it to; the owner may `reconnect` or give up. */
  lost: [reason: SessionError];
  reconnecting: [reason: SessionError];
  /** A new link is up; ms since the old one went. */
  resumed: [ms: number];
  /** Reconnecting failed for good. */
  failed: [error: SessionError];
}

export interface LinkOptions {
  /** Where each frame from the present transport goes (one per agent message, so a call, not an event). */
  receive: (frame: Buffer) => void;
  /**
   * Opens the data channel again (ResumeSession, then a new WebSocket). It rejects with an
   * ENDED_BY_SERVICE error when the service has ended the session; any other rejection is retried.
   */
  reopen?: () => Promise<DataChannelTransport>;
  policy: ReconnectPolicy;
  timers: Timers;
  random: () => number;
  debug?: WireDebug;
}

/** A transport error as the session reports it: the same code, words and hint. */
export const asSessionError = (error: TransportError | SessionError | Error | undefined, fallback: string): SessionError =>
  error instanceof SessionError
    ? error
    : error && 'code' in error && (error.code === 'CONNECTION_LOST' || error.code === 'STREAM_UNREACHABLE')
      ? new SessionError(error.code, error.message, (error as TransportError).hint)
      : new SessionError('CONNECTION_LOST', error?.message ?? fallback);

/**
 * The session's link to the service: the present transport, and reopening it when it drops. Frames
 * sent while it is down are not written (the reliable channel keeps them); receiving can be paused,
 * and stays paused across a reconnect.
 */
export class Link extends EventEmitter<LinkEvents> {
  private transport: DataChannelTransport;
  private up = true;
  private closed = false;
  private receivePaused = false;
  private connectedAt: number;
  private retryTimer: TimerHandle | undefined;

  constructor(
    transport: DataChannelTransport,
    private readonly options: LinkOptions,
  ) {
    super();
    this.transport = transport;
    this.connectedAt = options.timers.now();
    this.use(transport);
  }

  get canReconnect(): boolean {
    return this.options.reopen !== undefined;
  }

  /** True while ssmx itself has stopped reading (a local reader is full). */
  get isReceivePaused(): boolean {
    return this.receivePaused;
  }

  get isUp(): boolean {
    return this.up && !this.closed;
  }

  send(frame: Buffer): void {
    if (this.isUp) this.transport.send(frame);
  }

  pause(): void {
    this.receivePaused = true;
    this.transport.pause();
  }

  resume(): void {
    this.receivePaused = false;
    this.transport.resume();
  }

  /**
   * Resolves once the present connection has gone: after `close`, when the service has answered
   * the close and closed its end (at once if the link is already down).
   */
  connectionGone(): Promise<void> {
    const transport = this.transport;
    if (!this.up || transport.isClosed) return Promise.resolve();
    return new Promise((resolve) => transport.on('close', () => resolve()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.timers.clearTimeout(this.retryTimer);
    this.transport.close();
  }

  /** Reopens the link after `lost`: attempts on the policy's schedule until one works or the window ends. */
  reconnect(reason: SessionError): void {
    const { timers, policy } = this.options;
    const lostAt = timers.now();
    this.up = false;
    policy.dropped(lostAt, this.connectedAt);
    this.emit('reconnecting', reason);
    const attempt = async () => {
      this.retryTimer = undefined;
      if (this.closed) return;
      try {
        const transport = await this.options.reopen!();
        // The session may have been ended (Ctrl-C, a signal) while the call was out.
        if (this.closed) return transport.close();
        this.transport = transport;
        this.connectedAt = timers.now();
        this.up = true;
        this.use(transport);
        if (this.receivePaused) transport.pause();
        this.emit('resumed', timers.now() - lostAt);
      } catch (error) {
        const failure = asSessionError(error as Error, 'reconnecting failed');
        // Neither gets better by trying again: the session is over, or its new StreamUrl is one
        // ssmx must not send credentials to.
        if (failure.code === 'ENDED_BY_SERVICE' || failure.code === 'UNTRUSTED_ENDPOINT') return this.giveUp(failure);
        const delay = policy.nextDelay(timers.now(), this.options.random());
        if (delay === undefined) {
          return this.giveUp(
            new SessionError(
              'CONNECTION_LOST',
              `the connection was lost and could not be restored within ${Math.round(policy.timeoutMs / 1000)} s: ${failure.message}`,
              'check the network; --reconnect-timeout sets how long ssmx keeps trying',
            ),
          );
        }
        this.options.debug?.(`reconnect attempt failed (${failure.message}); next in ${Math.round(delay)} ms`);
        this.retryTimer = timers.setTimeout(() => void attempt(), delay);
      }
    };
    void attempt();
  }

  private giveUp(error: SessionError): void {
    if (this.closed) return;
    this.emit('failed', error);
  }

  private use(transport: DataChannelTransport): void {
    const receive = this.options.receive;
    transport.on('frame', (frame) => {
      if (transport === this.transport && !this.closed) receive(frame);
    });
    const onClose = (error: TransportError | SessionError | undefined) => {
      if (transport !== this.transport || this.closed || !this.up) return;
      this.up = false;
      this.emit('lost', asSessionError(error, 'the data channel closed'));
    };
    transport.on('close', onClose);
    // A link can go between its opening and this: that close was emitted to no one.
    if (transport.isClosed) queueMicrotask(() => onClose(new SessionError('CONNECTION_LOST', 'the data channel closed as it opened')));
  }
}
