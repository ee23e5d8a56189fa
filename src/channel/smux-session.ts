import { ProtocolError } from '../protocol/errors.js';
import { SMUX_MAX_FRAME_SIZE, SmuxCommand, SmuxFrameParser, encodeSmuxFrame } from '../protocol/smux.js';

export type SmuxEvent =
  /** The peer opened a stream (the agent side sees these). */
  | { kind: 'open'; streamId: number }
  | { kind: 'data'; streamId: number; data: Buffer }
  /** The peer closed the stream: no more data will come, and smux v1 takes no more from us. */
  | { kind: 'close'; streamId: number }
  | { kind: 'nop' }
  | { kind: 'error'; error: ProtocolError };

/** What a piece that completes no frame gives: most pieces, as a frame spans many messages. */
const NO_EVENTS: readonly SmuxEvent[] = Object.freeze([]);

/**
 * One smux v1 session as a state machine over its byte stream (docs/protocol.md §8, xtaci/smux). It never
 * touches a socket: `receive` takes bytes from the peer and returns events, and every method that
 * makes frames returns the bytes to send. The client opens odd stream ids from 3; the server
 * accepts them.
 */
export class SmuxSession {
  private readonly parser: SmuxFrameParser;
  /** Open streams, with which halves are closed: smux sends one FIN each way. */
  private readonly streams = new Map<number, { sentFin: boolean; gotFin: boolean }>();
  private nextStreamId: number;
  private failed = false;

  /**
   * With `streaming`, a stream's data is given as it arrives, a frame in as many `data` events as
   * the pieces it came in (see SmuxFrameParser); without, one event per frame.
   */
  constructor(
    readonly role: 'client' | 'server',
    options: { streaming?: boolean } = {},
  ) {
    this.parser = new SmuxFrameParser(options.streaming ?? false);
    // xtaci/smux: a client starts its counter at 1 and adds 2 before each open, so ids are 3, 5, 7…
    this.nextStreamId = role === 'client' ? 1 : 0;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** True while this side may still write to the stream. */
  isOpen(streamId: number): boolean {
    const stream = this.streams.get(streamId);
    return stream !== undefined && !stream.sentFin && !stream.gotFin;
  }

  openStream(): { streamId: number; bytes: Buffer } {
    if (this.role !== 'client') throw new Error('only the smux client opens streams here');
    this.nextStreamId += 2;
    const streamId = this.nextStreamId;
    this.streams.set(streamId, { sentFin: false, gotFin: false });
    return { streamId, bytes: encodeSmuxFrame(SmuxCommand.Syn, streamId) };
  }

  /** Data for a stream, cut into frames of at most 32 KiB. */
  write(streamId: number, data: Buffer): Buffer[] {
    // After a FIN either way smux refuses writes (the peer's FIN makes them fail with EOF).
    if (!this.isOpen(streamId)) return [];
    const frames: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += SMUX_MAX_FRAME_SIZE) {
      frames.push(encodeSmuxFrame(SmuxCommand.Psh, streamId, data.subarray(offset, offset + SMUX_MAX_FRAME_SIZE)));
    }
    return frames;
  }

  /** Closes a stream from this side; returns the FIN, or nothing if it was already closed. */
  close(streamId: number): Buffer | undefined {
    const stream = this.streams.get(streamId);
    if (!stream || stream.sentFin) return undefined;
    stream.sentFin = true;
    if (stream.gotFin) this.streams.delete(streamId);
    return encodeSmuxFrame(SmuxCommand.Fin, streamId);
  }

  nop(): Buffer {
    return encodeSmuxFrame(SmuxCommand.Nop, 0);
  }

  receive(chunk: Buffer): readonly SmuxEvent[] {
    if (this.failed) return NO_EVENTS;
    const frames = this.parser.push(chunk);
    if (frames instanceof ProtocolError) {
      this.failed = true;
      return [{ kind: 'error', error: frames }];
    }
    if (frames.length === 0) return NO_EVENTS;
    const events: SmuxEvent[] = [];
    for (const frame of frames) {
      switch (frame.command) {
        case SmuxCommand.Syn:
          if (this.role === 'server' && !this.streams.has(frame.streamId)) {
            this.streams.set(frame.streamId, { sentFin: false, gotFin: false });
            events.push({ kind: 'open', streamId: frame.streamId });
          }
          break;
        case SmuxCommand.Psh: {
          // Data for a stream unknown or finished by its sender is dropped, as smux drops it.
          const stream = this.streams.get(frame.streamId);
          if (stream && !stream.gotFin && frame.data.length > 0) {
            events.push({ kind: 'data', streamId: frame.streamId, data: frame.data });
          }
          break;
        }
        case SmuxCommand.Fin: {
          const stream = this.streams.get(frame.streamId);
          if (!stream || stream.gotFin) break;
          stream.gotFin = true;
          if (stream.sentFin) this.streams.delete(frame.streamId);
          events.push({ kind: 'close', streamId: frame.streamId });
          break;
        }
        case SmuxCommand.Nop:
          events.push({ kind: 'nop' });
          break;
      }
    }
    return events;
  }
}
