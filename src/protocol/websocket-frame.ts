import { ProtocolError } from './errors.js';

/**
 * The WebSocket framing the data channel rides on (RFC 6455 §5), as a client speaks it: every frame
 * it sends is masked, none it receives may be. No extension is negotiated, so the RSV bits are
 * always clear. Pure: bytes in, frames out; the socket and the handshake are src/transport's.
 */

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** The handshake's fixed GUID (RFC 6455 §1.3): Sec-WebSocket-Accept is base64(SHA-1(key + GUID)). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Close codes ssmx sends or reads (RFC 6455 §7.4.1). */
export const CloseCode = {
  Normal: 1000,
  ProtocolError: 1002,
  /** Never on the wire: a close frame without a code. */
  NoStatus: 1005,
  /** Never on the wire: the connection ended without a close frame. */
  Abnormal: 1006,
  TooBig: 1009,
} as const;

/** The largest message taken, as the ws library's default (agent messages are a few KiB). */
export const MAX_MESSAGE_BYTES = 100 * 1024 * 1024;

/** Bytes of a client frame's header for a payload of `length`: 2, then 2 or 8 for the length, then the 4-byte mask. */
export function clientHeaderLength(length: number): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + 4;
}

/** The whole client frame's size for a payload of `length`. */
export function clientFrameLength(length: number): number {
  return clientHeaderLength(length) + length;
}

/**
 * Writes one final client frame into `target` at `offset`: header, the mask taken from
 * `mask[maskAt..maskAt+4]`, and the payload masked with it (§5.3). Returns the offset after it.
 * Writing straight into a buffer shared by several frames lets a turn's frames leave in one write.
 */
export function writeClientFrame(target: Buffer, offset: number, opcode: number, payload: Uint8Array, mask: Uint8Array, maskAt: number): number {
  const length = payload.length;
  let at = offset;
  target[at++] = 0x80 | opcode;
  if (length < 126) {
    target[at++] = 0x80 | length;
  } else if (length < 0x10000) {
    target[at++] = 0x80 | 126;
    target[at++] = length >>> 8;
    target[at++] = length & 0xff;
  } else {
    target[at++] = 0x80 | 127;
    target.writeUInt32BE(Math.floor(length / 2 ** 32), at);
    target.writeUInt32BE(length >>> 0, at + 4);
    at += 8;
  }
  const m0 = mask[maskAt]!;
  const m1 = mask[maskAt + 1]!;
  const m2 = mask[maskAt + 2]!;
  const m3 = mask[maskAt + 3]!;
  target[at] = m0;
  target[at + 1] = m1;
  target[at + 2] = m2;
  target[at + 3] = m3;
  at += 4;
  target.set(payload, at);
  maskInPlace(target, at, length, m0, m1, m2, m3);
  return at + length;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes a payload is masked a byte at a time. */
const WORDWISE_FROM = 32;
/** A word view of the memory masked last: a turn's frames are masked into one buffer. */
let wordsOf: ArrayBufferLike | undefined;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * XORs `length` bytes at `start` with the key (§5.3: byte i with key byte i mod 4). The bytes that
 * sit on whole aligned words of memory go 4 at a time, the key turned to match where they start.
 */
function maskInPlace(target: Buffer, start: number, length: number, m0: number, m1: number, m2: number, m3: number): void {
  // The key as a little-endian word: byte i of the payload takes (key >>> 8 * (i & 3)) & 0xff.
  const key = (m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)) >>> 0;
  let i = 0;
  if (length >= WORDWISE_FROM) {
    const address = target.byteOffset + start;
    for (const lead = (4 - (address & 3)) & 3; i < lead; i++) target[start + i]! ^= (key >>> (8 * (i & 3))) & 0xff;
    if (wordsOf !== target.buffer) {
      wordsOf = target.buffer;
      words = new Uint32Array(target.buffer, 0, target.buffer.byteLength >>> 2);
    }
    const turned = i === 0 ? key : ((key >>> (8 * i)) | (key << (32 - 8 * i))) >>> 0;
    const word = LITTLE_ENDIAN ? turned : (((turned & 0xff) << 24) | ((turned & 0xff00) << 8) | ((turned >>> 8) & 0xff00) | (turned >>> 24)) >>> 0;
    const first = (address + i) >>> 2;
    const count = (length - i) >>> 2;
    for (let w = first, end = first + count; w < end; w++) words[w]! ^= word;
    i += count * 4;
  }
  for (; i < length; i++) target[start + i]! ^= (key >>> (8 * (i & 3))) & 0xff;
}

/** One client frame on its own (tests, and a frame that goes alone). */
export function encodeClientFrame(opcode: number, payload: Uint8Array, mask: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(clientFrameLength(payload.length));
  writeClientFrame(frame, 0, opcode, payload, mask, 0);
  return frame;
}

/** A close frame's payload: the code, then the reason in UTF-8 (§5.5.1). */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

export type WebSocketEvent =
  /** A whole data message: `binary` false for a text one, whose bytes are given as they came. */
  | { kind: 'message'; binary: boolean; data: Buffer }
  | { kind: 'ping'; data: Buffer }
  | { kind: 'pong'; data: Buffer }
  | { kind: 'close'; code: number; reason: string };

/**
 * Cuts a server's byte stream into WebSocket events. A frame whole within one chunk is a view of
 * that chunk, never a copy; only a frame cut across reads, or a fragmented message, is joined.
 * A violation of §5 (a masked frame, a set RSV bit, an unknown opcode, a control frame that is
 * fragmented or longer than 125 bytes, a continuation out of place, a message past
 * MAX_MESSAGE_BYTES) is a ProtocolError, after which the parser takes nothing more.
 */
export class WebSocketFrameParser {
  /** The start of a frame cut by the end of a chunk, in pieces. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** A fragmented message's frames so far, and its type. */
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentBinary = false;
  private fragmenting = false;
  private failed = false;

  push(chunk: Buffer): WebSocketEvent[] | ProtocolError {
    const events: WebSocketEvent[] = [];
    if (this.failed) return events;
    let at = 0;
    if (this.partialBytes > 0) {
      // Complete the cut frame from the front of this chunk; the rest is parsed in place.
      const needed = this.frameLength(chunk);
      if (needed instanceof ProtocolError) return this.fail(needed);
      if (needed === undefined || this.partialBytes + chunk.length < needed) {
        this.partial.push(chunk);
        this.partialBytes += chunk.length;
        return events;
      }
      at = needed - this.partialBytes;
      const frame = Buffer.concat([...this.partial, chunk.subarray(0, at)], needed);
      this.partial = [];
      this.partialBytes = 0;
      const error = this.parse(frame, 0, events);
      if (error instanceof ProtocolError) return this.fail(error);
    }
    const end = this.parse(chunk, at, events);
    if (end instanceof ProtocolError) return this.fail(end);
    if (end < chunk.length) {
      this.partial.push(chunk.subarray(end));
      this.partialBytes = chunk.length - end;
    }
    return events;
  }

  private fail(error: ProtocolError): ProtocolError {
    this.failed = true;
    this.partial = [];
    this.fragments = [];
    return error;
  }

  /** The whole length of the frame cut at the end of the last chunk, read on into `more`; undefined while its header is incomplete. */
  private frameLength(more: Buffer): number | undefined | ProtocolError {
    const head = Buffer.allocUnsafe(Math.min(14, this.partialBytes + more.length));
    let filled = 0;
    for (const piece of [...this.partial, more]) {
      filled += piece.copy(head, filled, 0, Math.min(piece.length, head.length - filled));
      if (filled === head.length) break;
    }
    const header = this.header(head, 0);
    return typeof header === 'number' ? header + this.payloadLength : header;
  }

  /** Set by `header`: the payload length of the frame it read. */
  private payloadLength = 0;

  /**
   * The header of the frame at `at` (§5.2): its length in bytes, a masking key's 4 counted, with
   * the payload's length left in `payloadLength`; undefined while `data` does not hold it all.
   */
  private header(data: Buffer, at: number): number | undefined | ProtocolError {
    if (data.length - at < 2) return undefined;
    const size = data[at + 1]! & 0x7f;
    const lengthBytes = size === 126 ? 2 : size === 127 ? 8 : 0;
    if (data.length - at < 2 + lengthBytes) return undefined;
    const length = size === 126 ? data.readUInt16BE(at + 2) : size === 127 ? readLength64(data, at + 2) : size;
    if (length instanceof ProtocolError) return length;
    if (length > MAX_MESSAGE_BYTES) return new ProtocolError('BAD_WEBSOCKET_FRAME', `WebSocket frame of ${length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
    this.payloadLength = length;
    return 2 + lengthBytes + ((data[at + 1]! & 0x80) !== 0 ? 4 : 0);
  }

  /** Parses whole frames from `start`; returns where the first incomplete one starts. */
  private parse(data: Buffer, start: number, events: WebSocketEvent[]): number | ProtocolError {
    let at = start;
    for (;;) {
      const header = this.header(data, at);
      if (header === undefined) break;
      if (header instanceof ProtocolError) return header;
      const b0 = data[at]!;
      if ((b0 & 0x70) !== 0) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'WebSocket frame with RSV bits set, and no extension agreed');
      if ((data[at + 1]! & 0x80) !== 0) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'masked WebSocket frame from the server');
      const length = this.payloadLength;
      if (data.length - at - header < length) break;
      const payload = data.subarray(at + header, at + header + length);
      at += header + length;
      const error = this.frame((b0 & 0x80) !== 0, b0 & 0x0f, payload, events);
      if (error) return error;
    }
    return at;
  }

  private frame(fin: boolean, opcode: number, payload: Buffer, events: WebSocketEvent[]): ProtocolError | undefined {
    switch (opcode) {
      case Opcode.Binary:
      case Opcode.Text:
        if (this.fragmenting) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'a new WebSocket message began inside a fragmented one');
        if (fin) {
          events.push({ kind: 'message', binary: opcode === Opcode.Binary, data: payload });
          return undefined;
        }
        this.fragmenting = true;
        this.fragmentBinary = opcode === Opcode.Binary;
        this.fragments = [payload];
        this.fragmentBytes = payload.length;
        return undefined;
      case Opcode.Continuation: {
        if (!this.fragmenting) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'a WebSocket continuation frame with no message to continue');
        this.fragments.push(payload);
        this.fragmentBytes += payload.length;
        if (this.fragmentBytes > MAX_MESSAGE_BYTES) return new ProtocolError('BAD_WEBSOCKET_FRAME', `WebSocket message over the ${MAX_MESSAGE_BYTES}-byte limit`);
        if (!fin) return undefined;
        const data = Buffer.concat(this.fragments, this.fragmentBytes);
        this.fragmenting = false;
        this.fragments = [];
        this.fragmentBytes = 0;
        events.push({ kind: 'message', binary: this.fragmentBinary, data });
        return undefined;
      }
      case Opcode.Close:
      case Opcode.Ping:
      case Opcode.Pong:
        if (!fin || payload.length > 125) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'a WebSocket control frame fragmented or over 125 bytes');
        if (opcode === Opcode.Ping) events.push({ kind: 'ping', data: payload });
        else if (opcode === Opcode.Pong) events.push({ kind: 'pong', data: payload });
        else if (payload.length === 1) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'a WebSocket close frame of one byte');
        else events.push({ kind: 'close', code: payload.length >= 2 ? payload.readUInt16BE(0) : CloseCode.NoStatus, reason: payload.toString('utf8', 2) });
        return undefined;
      default:
        return new ProtocolError('BAD_WEBSOCKET_FRAME', `WebSocket frame with the unknown opcode ${opcode}`);
    }
  }
}

/** A 64-bit length (§5.2): its top bit must be clear; past 2^53 it cannot be a length here anyway. */
function readLength64(data: Buffer, at: number): number | ProtocolError {
  const high = data.readUInt32BE(at);
  if (high >= 0x200000) return new ProtocolError('BAD_WEBSOCKET_FRAME', 'WebSocket frame length out of range');
  return high * 2 ** 32 + data.readUInt32BE(at + 4);
}
