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

/**
 * One smux v1 session as a state machine over its byte stream (SPEC §8, xtaci/smux). It never
 * touches a socket: `receive` takes bytes from the peer and returns events, and every method that
 * makes frames returns the bytes to send. The client opens odd stream ids from 3; the server
 * accepts them.
 */
export class SmuxSession {
  private readonly parser = new SmuxFrameParser();
  private readonly open = new Set<number>();
  private nextStreamId: number;
  private failed = false;

  constructor(readonly role: 'client' | 'server') {
    // xtaci/smux: a client starts its counter at 1 and adds 2 before each open, so ids are 3, 5, 7…
    this.nextStreamId = role === 'client' ? 1 : 0;
  }

  get streamCount(): number {
    return this.open.size;
  }

  isOpen(streamId: number): boolean {
    return this.open.has(streamId);
  }

  openStream(): { streamId: number; bytes: Buffer } {
    if (this.role !== 'client') throw new Error('only the smux client opens streams here');
    this.nextStreamId += 2;
    const streamId = this.nextStreamId;
    this.open.add(streamId);
    return { streamId, bytes: encodeSmuxFrame(SmuxCommand.Syn, streamId) };
  }

  /** Data for a stream, cut into frames of at most 32 KiB. */
  write(streamId: number, data: Buffer): Buffer[] {
    if (!this.open.has(streamId)) return [];
    const frames: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += SMUX_MAX_FRAME_SIZE) {
      frames.push(encodeSmuxFrame(SmuxCommand.Psh, streamId, data.subarray(offset, offset + SMUX_MAX_FRAME_SIZE)));
    }
    return frames;
  }

  /** Closes a stream from this side; returns the FIN, or nothing if it was already closed. */
  close(streamId: number): Buffer | undefined {
    if (!this.open.delete(streamId)) return undefined;
    return encodeSmuxFrame(SmuxCommand.Fin, streamId);
  }

  nop(): Buffer {
    return encodeSmuxFrame(SmuxCommand.Nop, 0);
  }

  receive(chunk: Buffer): SmuxEvent[] {
    if (this.failed) return [];
    const frames = this.parser.push(chunk);
    if (frames instanceof ProtocolError) {
      this.failed = true;
      return [{ kind: 'error', error: frames }];
    }
    const events: SmuxEvent[] = [];
    for (const frame of frames) {
      switch (frame.command) {
        case SmuxCommand.Syn:
          if (this.role === 'server' && !this.open.has(frame.streamId)) {
            this.open.add(frame.streamId);
            events.push({ kind: 'open', streamId: frame.streamId });
          }
          break;
        case SmuxCommand.Psh:
          // Data for a stream already closed here is dropped, as smux drops it.
          if (this.open.has(frame.streamId) && frame.data.length > 0) {
            events.push({ kind: 'data', streamId: frame.streamId, data: frame.data });
          }
          break;
        case SmuxCommand.Fin:
          if (this.open.delete(frame.streamId)) events.push({ kind: 'close', streamId: frame.streamId });
          break;
        case SmuxCommand.Nop:
          events.push({ kind: 'nop' });
          break;
      }
    }
    return events;
  }
}
