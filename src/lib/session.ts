import { Readable } from 'node:stream';
import { PayloadType, SessionType } from '../protocol/constants.js';
import { decodeExitCode, encodeSize, KILLED_BY_SIGNAL, type ChannelClosed, type TerminalSize } from '../protocol/payloads.js';
import { UsageError } from '../errors.js';
import { waitReady, type DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { ChannelDuplex, ReceiveBudget, SessionWriter, type ChannelEnds } from '../session/session-io.js';
import type { SessionEnd } from './types.js';

/** What opening a session gives: the data channel, once StartSession has answered (`started` said so). */
export interface OpenedChannel {
  session: DataChannelSession;
}

/** Starts a session and opens its data channel; tells `started` the id as soon as the service gives it. */
export type Opener = (started: (sessionId: string) => void) => Promise<OpenedChannel>;

/**
 * The ends of a session's Duplex while the session is not there yet: writes wait for it, and
 * its receive budget pauses whatever channel is there once it is.
 */
class LateEnds implements ChannelEnds {
  session: DataChannelSession | undefined;
  writer: SessionWriter | undefined;
  private waiting: Array<[Buffer, () => void]> = [];
  readonly budget = new ReceiveBudget({
    pauseReceiving: () => this.session?.pauseReceiving(),
    resumeReceiving: () => this.session?.resumeReceiving(),
  });

  /** What was written before the session was ready goes out now, in order. */
  bind(session: DataChannelSession): void {
    this.session = session;
    this.writer = new SessionWriter(session);
    for (const [data, done] of this.waiting.splice(0)) this.writer.write(PayloadType.Output, data, done);
  }

  send(data: Buffer, done: () => void): void {
    if (this.writer) this.writer.write(PayloadType.Output, data, done);
    else this.waiting.push([data, done]);
  }

  /** The data channel has no half-close: the end of what is written sends nothing. */
  finish(done: () => void): void {
    done();
  }

  /** Writes that can never go: their callbacks run, so the stream can end. */
  drop(): void {
    for (const [, done] of this.waiting.splice(0)) done();
  }
}

/**
 * A shell or command session as the library gives it (src/lib/types.ts, Session): a Duplex of
 * the remote terminal's input and output, with its stderr apart, its exit status, its events.
 * It exists before the session does: StartSession and the data channel are opened behind it, and
 * what is written meanwhile waits.
 */
export class RemoteSession extends ChannelDuplex {
  sessionId: string | undefined;
  readonly stderr: Readable;
  private readonly late: LateEnds;
  private channel: DataChannelSession | undefined;
  private size: TerminalSize | undefined;
  private exitCode: number | undefined;
  private ended = false;
  private terminating: Promise<void> | undefined;
  /** The data channel once opened; undefined when opening failed. */
  private readonly opening: Promise<DataChannelSession | undefined>;

  constructor(
    open: Opener,
    private readonly options: { signal?: AbortSignal | undefined; release: () => void },
  ) {
    const ends = new LateEnds();
    super(ends);
    this.late = ends;
    this.stderr = new Readable({ read: () => ends.budget.relieve() });
    ends.budget.hold(() => this.stderr.readableLength);
    // Once the remote has ended and everything was read, nothing more can be written either.
    this.once('end', () => {
      if (!this.writableEnded) this.end();
    });
    const { signal } = options;
    if (signal?.aborted) {
      this.opening = Promise.resolve(undefined);
      queueMicrotask(() => this.abort(signal));
      return;
    }
    const onAbort = () => this.abort(signal!);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.once('close', () => signal?.removeEventListener('abort', onAbort));
    this.opening = open((id) => this.started(id)).then(
      ({ session }) => {
        this.attach(session);
        return session;
      },
      (error: Error) => {
        this.fail(error);
        return undefined;
      },
    );
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.channel?.isReady) this.sendSize();
  }

  /** Ends the session on the service, once it is open if it is being opened; `ended` follows. */
  terminate(): Promise<void> {
    this.terminating ??= (async () => {
      await (await this.opening)?.terminate();
      this.finish({ terminated: true });
    })();
    return this.terminating;
  }

  private started(sessionId: string): void {
    this.sessionId = sessionId;
    this.emit('started', sessionId);
  }

  private attach(session: DataChannelSession): void {
    this.channel = session;
    // Stopped while the data channel was being opened: terminate() ends it.
    if (this.terminating || this.ended) return;
    session.on('reconnecting', (reason) => this.emit('reconnecting', reason));
    session.on('resumed', (ms) => this.emit('reconnected', ms));
    waitReady(session, (ready) => {
      if (ready.sessionType === SessionType.Port) {
        throw new UsageError(
          'this session is a port forwarding or ssh session, not a shell or a command',
          'connect() opens a connection to a port, forward() listens for them',
        );
      }
      session.on('output', (payloadType, payload) => this.output(payloadType, payload));
      session.once('closed', (closed) => this.onClosed(closed));
      session.once('error', (error) => this.fail(error));
      // The size first: the remote program sees its window before the keys meant for it.
      if (this.size) this.sendSize();
      this.late.bind(session);
    }).catch((error: Error) => this.fail(error));
  }

  private output(payloadType: number, payload: Buffer): void {
    switch (payloadType) {
      case PayloadType.Output:
        this.deliver(payload);
        break;
      case PayloadType.StdErr:
        this.stderr.push(payload);
        this.late.budget.check();
        break;
      case PayloadType.ExitCode:
        this.exitCode = decodeExitCode(payload) ?? this.exitCode;
        break;
      default:
        break;
    }
  }

  private sendSize(): void {
    const size = this.size!;
    this.channel!.send(PayloadType.Size, encodeSize(size));
    // Resending the size the terminal already has changes nothing: a probe after a reconnect.
    this.channel!.setProbe(PayloadType.Size, () => encodeSize(size));
  }

  private onClosed(closed: ChannelClosed): void {
    this.finish({ message: closed.output || undefined });
  }

  /** The session is over: the reader sees the end of stdout and stderr, then `ended`. */
  private finish(how: { message?: string | undefined; terminated?: boolean }): void {
    if (this.ended) return;
    this.ended = true;
    this.late.drop();
    const signaled = this.exitCode === KILLED_BY_SIGNAL;
    const end: SessionEnd = {
      exitCode: this.exitCode === undefined || signaled ? null : this.exitCode,
      signaled,
      message: how.message,
      terminated: how.terminated === true,
    };
    this.deliverEnd();
    this.stderr.push(null);
    this.emit('ended', end);
    this.options.release();
  }

  private abort(signal: AbortSignal): void {
    // A session already over has nothing left to abort.
    if (this.ended) return;
    const error = new SessionError('INTERRUPTED', 'the session was aborted');
    Object.defineProperty(error, 'cause', { value: signal.reason, enumerable: false });
    void this.terminate().then(() => this.destroy(error));
  }

  /** The session failed: the stream is destroyed with the error, and the session ended on the service. */
  private fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.late.drop();
    this.stderr.destroy();
    this.destroy(error);
    void (this.channel?.terminate() ?? Promise.resolve()).finally(() => this.options.release());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Destroyed by its user while it runs: nothing may linger on the service.
    if (!this.ended) {
      void this.terminate();
      if (!this.stderr.destroyed) this.stderr.destroy();
    }
    super._destroy(error, callback);
  }
}
