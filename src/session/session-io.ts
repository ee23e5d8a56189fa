import { Duplex } from 'node:stream';
import { streamPayloads } from '../protocol/constants.js';
import type { DataChannelSession } from './data-channel-session.js';

/**
 * Writes into a session: each write is cut into payloads of at most 1,024 bytes, and its callback
 * waits while the channel's window is full. Every local source (a terminal, stdin, a socket) is
 * held back through this one place, by Node's own stream backpressure.
 */
export class SessionWriter {
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly session: DataChannelSession) {
    session.on('writable', () => this.release());
  }

  /** Sends `data` as messages of `payloadType`; `done` runs once the channel can take more. */
  write(payloadType: number, data: Buffer, done: () => void = noop): void {
    this.writeAll(payloadType, [data], done);
  }

  writeAll(payloadType: number, chunks: Buffer[], done: () => void = noop): void {
    // After the session has ended nothing more goes out; whoever owns the source hears of the end.
    if (!this.session.isReady) return done();
    for (const chunk of chunks) for (const payload of streamPayloads(chunk)) this.session.send(payloadType, payload);
    if (this.session.canSend) done();
    else this.waiting.push(done);
  }

  private release(): void {
    while (this.waiting.length > 0 && this.session.canSend) this.waiting.shift()!();
  }
}

const noop = () => undefined;

/**
 * Bytes from the agent that local readers have not taken yet, as one budget per session. Past it
 * ssmx stops reading the data channel; below half of it, it reads again. Memory stays bounded
 * whatever the local readers do (docs/protocol.md §8: smux's own session buffer is 4 MiB).
 */
export class ReceiveBudget {
  private paused = false;
  private readonly holders = new Set<() => number>();

  constructor(
    private readonly session: Pick<DataChannelSession, 'pauseReceiving' | 'resumeReceiving'>,
    private readonly limit: number = RECEIVE_BUDGET,
  ) {}

  /** Counts what `measure` says a holder keeps; returns the function that stops counting it. */
  hold(measure: () => number): () => void {
    this.holders.add(measure);
    return () => {
      this.holders.delete(measure);
      this.relieve();
    };
  }

  /** Bytes were handed to a local reader. */
  check(): void {
    if (!this.paused && this.held() > this.limit) {
      this.paused = true;
      this.session.pauseReceiving();
    }
  }

  /** A local reader took bytes. */
  relieve(): void {
    if (this.paused && this.held() <= this.limit / 2) {
      this.paused = false;
      this.session.resumeReceiving();
    }
  }

  private held(): number {
    let total = 0;
    for (const measure of this.holders) total += measure();
    return total;
  }
}

/** The receive budget of a session: smux's own session receive buffer. */
export const RECEIVE_BUDGET = 4 * 1024 * 1024;

export interface ChannelEnds {
  /** Sends what the local side wrote; `done` once the channel can take more. */
  send(data: Buffer, done: () => void): void;
  /** The local side has ended its input (smux FIN, DisconnectToPort). */
  finish?(done: () => void): void;
  budget: ReceiveBudget;
}

/**
 * One local connection's view of a session (the whole session's byte stream, or one smux stream)
 * as a standard Duplex: what is written goes to the agent, what the agent sends is read. Callers
 * join it to a socket or to stdin/stdout with `pipe`; chunking and backpressure are not theirs.
 */
export class ChannelDuplex extends Duplex {
  private readonly release: () => void;
  /** What the agent's messages of this turn carried, for the reader in one chunk (see deliver). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly ends: ChannelEnds) {
    super({ allowHalfOpen: true });
    this.release = ends.budget.hold(() => this.readableLength + this.pendingBytes);
  }

  /**
   * Bytes from the agent for the local reader. The messages of one read of the data channel (a
   * busy download brings a few dozen of 1 KiB) reach the reader as one chunk, at the end of the
   * turn: one write to a socket, not one per message, and no stream machinery per message.
   */
  deliver(data: Buffer): void {
    if (this.destroyed) return;
    if (this.pending.length === 0) process.nextTick(this.flushPending);
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.ends.budget.check();
  }

  /** The agent's side has ended: the local reader sees the end once it has read the rest. */
  deliverEnd(): void {
    this.flushPending();
    if (!this.destroyed) this.push(null);
  }

  private readonly flushPending = (): void => {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.destroyed) this.push(data);
  };

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.ends.send(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.ends.finish) this.ends.finish(() => callback());
    else callback();
  }

  override _read(): void {
    this.ends.budget.relieve();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }
}
