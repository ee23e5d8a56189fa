import { ProtocolError } from './errors.js';

/** xtaci/smux protocol version 1 (docs/protocol.md §8): all the agent speaks. */
export const SMUX_VERSION = 1;
export const SMUX_HEADER_SIZE = 8;
export const SMUX_MAX_FRAME_SIZE = 32_768;

export const SmuxCommand = {
  /** Open a stream. */
  Syn: 0,
  /** Close a stream. */
  Fin: 1,
  /** Data. */
  Psh: 2,
  /** Keep-alive, stream id 0. */
  Nop: 3,
} as const;

export interface SmuxFrame {
  command: number;
  streamId: number;
  data: Buffer;
}

/** Encodes one frame: version, command, length (LE16), stream id (LE32), data. */
export function encodeSmuxFrame(command: number, streamId: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  if (data.length > 0xffff) throw new ProtocolError('BAD_PAYLOAD', `smux frame of ${data.length} bytes exceeds 65535`);
  const frame = Buffer.allocUnsafe(SMUX_HEADER_SIZE + data.length);
  frame[0] = SMUX_VERSION;
  frame[1] = command;
  frame.writeUInt16LE(data.length, 2);
  frame.writeUInt32LE(streamId >>> 0, 4);
  frame.set(data, SMUX_HEADER_SIZE);
  return frame;
}

/** What a piece that completes no frame gives: most pieces, as a frame spans many messages. */
const NO_FRAMES: readonly SmuxFrame[] = Object.freeze([]);

/**
 * Cuts a byte stream into smux frames. The stream arrives in arbitrary pieces (the data channel
 * carries it in ≤1024-byte messages); pieces are kept in a list and only a frame's own bytes are
 * ever joined, so nothing is copied twice on the data path.
 */
export class SmuxFrameParser {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): readonly SmuxFrame[] | ProtocolError {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    let frames: SmuxFrame[] | undefined;
    while (this.buffered >= SMUX_HEADER_SIZE) {
      const header = this.peek(SMUX_HEADER_SIZE);
      if (header[0] !== SMUX_VERSION) {
        return new ProtocolError('BAD_PAYLOAD', `smux version ${header[0]} where 1 was expected`);
      }
      const command = header[1]!;
      if (command > SmuxCommand.Nop) {
        // UPD (4) exists only in version 2; anything else is garbage.
        return new ProtocolError('BAD_PAYLOAD', `smux command ${command} is not valid in version 1`);
      }
      const length = header.readUInt16LE(2);
      if (this.buffered < SMUX_HEADER_SIZE + length) break;
      this.take(SMUX_HEADER_SIZE);
      (frames ??= []).push({ command, streamId: header.readUInt32LE(4), data: this.take(length) });
    }
    return frames ?? NO_FRAMES;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.min(this.buffered, Math.max(n, 0))).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        this.chunks[0] = chunk.subarray(want);
        filled += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}
