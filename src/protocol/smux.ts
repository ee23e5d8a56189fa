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
 * ever joined, so nothing is copied twice on the data path. A frame's header is read once, where
 * it lies; what the last frame left of a piece is marked by an offset, not cut off.
 */
export class SmuxFrameParser {
  /**
   * With `streaming`, a data (PSH) frame's bytes are given as they arrive, in as many pieces as
   * they came in (views of them, never joined): a frame of 32 KiB spans some 33 messages, and
   * joining it only to have the local connection's turn join it again would copy every byte of a
   * download twice. The pieces of one frame come in order, and together they are the frame's data.
   */
  constructor(private readonly streaming = false) {}

  private chunks: Buffer[] = [];
  /** The first piece not wholly taken, and how much of it was. */
  private head = 0;
  private offset = 0;
  private buffered = 0;
  /** The header of the frame whose data is still coming (a frame spans many pieces). */
  private command = -1;
  private streamId = 0;
  private length = 0;

  push(chunk: Buffer): readonly SmuxFrame[] | ProtocolError {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    let frames: SmuxFrame[] | undefined;
    for (;;) {
      if (this.command < 0) {
        if (this.buffered < SMUX_HEADER_SIZE) break;
        const error = this.readHeader();
        if (error) return error;
      }
      if (this.streaming && this.command === SmuxCommand.Psh && this.length > 0) {
        // What has come of the data so far, piece by piece; the frame ends with its last byte.
        while (this.length > 0 && this.buffered > 0) {
          const first = this.chunks[this.head]!;
          const data = this.take(Math.min(this.length, first.length - this.offset));
          this.length -= data.length;
          (frames ??= []).push({ command: this.command, streamId: this.streamId, data });
        }
        if (this.length > 0) break;
        this.command = -1;
        continue;
      }
      if (this.buffered < this.length) break;
      (frames ??= []).push({ command: this.command, streamId: this.streamId, data: this.take(this.length) });
      this.command = -1;
    }
    return frames ?? NO_FRAMES;
  }

  private readHeader(): ProtocolError | undefined {
    let source = this.chunks[this.head]!;
    let at = this.offset;
    if (source.length - at >= SMUX_HEADER_SIZE) this.skip(SMUX_HEADER_SIZE);
    else {
      source = this.take(SMUX_HEADER_SIZE);
      at = 0;
    }
    if (source[at] !== SMUX_VERSION) {
      return new ProtocolError('BAD_PAYLOAD', `smux version ${source[at]} where 1 was expected`);
    }
    const command = source[at + 1]!;
    if (command > SmuxCommand.Nop) {
      // UPD (4) exists only in version 2; anything else is garbage.
      return new ProtocolError('BAD_PAYLOAD', `smux command ${command} is not valid in version 1`);
    }
    this.command = command;
    this.length = source.readUInt16LE(at + 2);
    this.streamId = source.readUInt32LE(at + 4);
    return undefined;
  }

  /** Passes over `n` bytes of the first piece, which holds at least that many. */
  private skip(n: number): void {
    this.offset += n;
    this.buffered -= n;
    if (this.offset === this.chunks[this.head]!.length) this.nextPiece();
  }

  private nextPiece(): void {
    // A piece is a view of a whole socket read: let go of it at once.
    this.chunks[this.head++] = EMPTY;
    this.offset = 0;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[this.head]!;
    const at = this.offset;
    if (first.length - at >= n) {
      this.skip(n);
      return at === 0 && n === first.length ? first : first.subarray(at, at + n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(chunk.length - this.offset, n - filled);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.skip(count);
    }
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
