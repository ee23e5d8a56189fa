import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { Header, MessageType } from './constants.js';
import { ProtocolError } from './errors.js';
import { readMessageId, writeMessageId } from './uuid.js';

/** One agent message (docs/protocol.md §2): a header of fixed fields and a payload. */
export interface AgentMessage {
  messageType: string;
  schemaVersion: number;
  /** Milliseconds since the epoch. */
  createdDate: number;
  /** int64 on the wire; a bigint so that every value round-trips. */
  sequenceNumber: bigint;
  /** uint64 on the wire. */
  flags: bigint;
  messageId: string;
  payloadType: number;
  payload: Buffer;
}

export interface DecodedAgentMessage extends AgentMessage {
  headerLength: number;
  payloadLength: number;
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * One-shot SHA-256 (crypto.hash, Node 20.12 and later; a Hash object otherwise), one per message
 * each way. As a latin1 ('binary') string of 32 characters: on a 1 KiB message a Buffer for the result costs
 * more than the hash itself (0.8 µs against 1.9 µs per call on Node 20, measured for issue 13).
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'binary') => string }).hash;

function digestLatin1(data: Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'binary') : createHash('sha256').update(data).digest('binary');
}

export function sha256(data: Uint8Array): Buffer {
  return Buffer.from(digestLatin1(data), 'latin1');
}

/** Whether `frame` holds SHA-256 of `data` at `offset`, compared without a Buffer for the digest. */
function digestAt(frame: Buffer, offset: number, data: Uint8Array): boolean {
  const digest = digestLatin1(data);
  for (let i = 0; i < 32; i++) if (frame[offset + i] !== digest.charCodeAt(i)) return false;
  return true;
}

const TWO_32 = 2 ** 32;
/** The int64 range in which a header number is exact as a double: (-2^53, 2^53). */
const SAFE_HIGH = 2 ** 21;
/** Flags are 0 to 3 in practice (docs/protocol.md §2): their bigints made once. */
const SMALL_FLAGS = [0n, 1n, 2n, 3n];

/** A uint64 field as a number: exact below 2^53, rounded to the nearest double above, as Number(bigint) rounds. */
function readUint64Number(frame: Buffer, offset: number): number {
  return frame.readUInt32BE(offset) * TWO_32 + frame.readUInt32BE(offset + 4);
}

/** An int64 field as a bigint; through a double, with no bigint arithmetic, when it is exact there. */
function readInt64(frame: Buffer, offset: number): bigint {
  const high = frame.readInt32BE(offset);
  if (high >= SAFE_HIGH || high < -SAFE_HIGH) return frame.readBigInt64BE(offset);
  return BigInt(high * TWO_32 + frame.readUInt32BE(offset + 4));
}

function readUint64(frame: Buffer, offset: number): bigint {
  const high = frame.readUInt32BE(offset);
  const low = frame.readUInt32BE(offset + 4);
  if (high === 0 && low < SMALL_FLAGS.length) return SMALL_FLAGS[low]!;
  return high < SAFE_HIGH ? BigInt(high * TWO_32 + low) : frame.readBigUInt64BE(offset);
}

/** Writes a 64-bit field from a number or bigint in range (the caller has checked it): two 32-bit halves when exact as a double. */
function writeInt64(frame: Buffer, value: bigint | number, offset: number): void {
  const n = Number(value);
  if (Number.isSafeInteger(n)) {
    const high = Math.floor(n / TWO_32);
    frame.writeInt32BE(high | 0, offset);
    frame.writeUInt32BE(n - high * TWO_32, offset + 4);
  } else if (typeof value === 'bigint') {
    frame.writeBigUInt64BE(BigInt.asUintN(64, value), offset);
  } else {
    frame.writeBigUInt64BE(BigInt(value), offset);
  }
}

/** Encodes a message; the digest and both lengths are derived here, never given. */
export function encodeAgentMessage(message: AgentMessage): Buffer {
  const { payload } = message;
  const frame = Buffer.allocUnsafe(Header.payloadOffset + payload.length);
  payload.copy(frame, Header.payloadOffset);
  return writeHeader(frame, message);
}

/**
 * Encodes a message whose payload is text (UTF-8): the same bytes as encodeAgentMessage with
 * Buffer.from(text), written straight into the frame (an acknowledgement's JSON, one per message received).
 */
export function encodeTextMessage(message: Omit<AgentMessage, 'payload'>, text: string): Buffer {
  const frame = Buffer.allocUnsafe(Header.payloadOffset + Buffer.byteLength(text, 'utf8'));
  frame.write(text, Header.payloadOffset, 'utf8');
  return writeHeader(frame, message);
}

/**
 * The message type field of each type sent (space-padded ASCII), made once: a handful of types
 * go out, one of them with every message received (the acknowledgement).
 */
const typeFields = new Map<string, Buffer>();

function typeField(messageType: string): Buffer {
  let field = typeFields.get(messageType);
  if (field) return field;
  if (Buffer.byteLength(messageType, 'ascii') > Header.messageTypeWidth || messageType.length === 0) {
    throw new ProtocolError('BAD_MESSAGE_TYPE', `message type must be 1 to 32 ASCII bytes: ${messageType}`);
  }
  field = Buffer.alloc(Header.messageTypeWidth, 0x20);
  field.write(messageType, 'ascii');
  if (typeFields.size < 64) typeFields.set(messageType, field);
  return field;
}

/** Fills in the header of a frame whose payload is already in place after it. */
function writeHeader(frame: Buffer, message: Omit<AgentMessage, 'payload'>): Buffer {
  const type = typeField(message.messageType);
  if (message.sequenceNumber < INT64_MIN || message.sequenceNumber > INT64_MAX) {
    throw new ProtocolError('UNSAFE_INTEGER', `sequence number out of int64 range: ${message.sequenceNumber}`);
  }
  if (message.flags < 0n || message.flags > UINT64_MAX) {
    throw new ProtocolError('UNSAFE_INTEGER', `flags out of uint64 range: ${message.flags}`);
  }
  const payload = frame.subarray(Header.payloadOffset);
  frame.writeUInt32BE(Header.headerLength, Header.headerLengthOffset);
  frame.set(type, Header.messageTypeOffset);
  frame.writeUInt32BE(message.schemaVersion, Header.schemaVersionOffset);
  writeInt64(frame, message.createdDate, Header.createdDateOffset);
  writeInt64(frame, message.sequenceNumber, Header.sequenceNumberOffset);
  writeInt64(frame, message.flags, Header.flagsOffset);
  writeMessageId(message.messageId, frame, Header.messageIdOffset);
  frame.write(digestLatin1(payload), Header.payloadDigestOffset, Header.payloadDigestWidth, 'latin1');
  frame.writeUInt32BE(message.payloadType, Header.payloadTypeOffset);
  frame.writeUInt32BE(payload.length, Header.payloadLengthOffset);
  return frame;
}

/** Printable ASCII other than the space: a byte no trimming rule removes. */
const printable = (byte: number) => byte > 0x20 && byte < 0x7f;

/**
 * The message type, as the plugin reads it: NULs stripped from both ends, then white space (docs/protocol.md §2).
 * The usual field, a name padded with spaces, is cut by its bytes into one string.
 */
function readMessageType(frame: Buffer): string {
  const start = Header.messageTypeOffset;
  let end = start + Header.messageTypeWidth;
  while (end > start && frame[end - 1] === 0) end--;
  while (end > start && frame[end - 1] === 0x20) end--;
  let plain = true;
  for (let i = start; i < end && plain; i++) plain = frame[i] !== 0;
  if (plain && (end === start || (printable(frame[start]!) && printable(frame[end - 1]!)))) return frame.toString('latin1', start, end);
  const raw = frame.toString('latin1', Header.messageTypeOffset, Header.messageTypeOffset + Header.messageTypeWidth);
  return raw.replace(/^\0+|\0+$/g, '').trim();
}

/**
 * Whose checks a frame must pass (docs/protocol.md §2). The client's are the plugin's
 * `ClientMessage.Validate`: a header length of at least 116, a message type, a created date, a
 * payload length equal to the bytes present, and a digest equal to SHA-256 of the payload. The
 * agent's are lenient (agent/session/contracts/agentmessage.go): `Deserialize` reads every field
 * with bounds checks and takes the payload from HeaderLength + 4 onwards, and `Validate` asks only
 * for a non-zero header length, a message type and a created date; digest and payload length are
 * never compared.
 */
export type FrameRules = 'client' | 'agent';

/** A frame the agent's rules accepted and the client's would have dropped, and why. */
export interface Forgiven {
  forgiven?: string;
}

/**
 * Decodes and validates one frame. Returns a ProtocolError instead of throwing, so a bad frame
 * from the network is a value the caller handles. Nothing is allocated from a length field: the
 * payload is a view of the frame.
 */
export function decodeAgentMessage(frame: Buffer, rules: FrameRules = 'client'): (DecodedAgentMessage & Forgiven) | ProtocolError {
  if (frame.length < Header.payloadOffset) {
    return new ProtocolError('FRAME_TOO_SHORT', `frame of ${frame.length} bytes is shorter than the ${Header.payloadOffset}-byte header`);
  }
  const headerLength = frame.readUInt32BE(Header.headerLengthOffset);
  const lowest = rules === 'agent' ? 1 : Header.headerLength;
  if (headerLength < lowest || headerLength + 4 > frame.length) {
    return new ProtocolError('BAD_HEADER_LENGTH', `header length ${headerLength} does not fit a frame of ${frame.length} bytes`);
  }
  const messageType = readMessageType(frame);
  const payloadLength = frame.readUInt32BE(Header.payloadLengthOffset);
  const payload = frame.subarray(headerLength + 4);
  const message: DecodedAgentMessage & Forgiven = {
    headerLength,
    messageType,
    schemaVersion: frame.readUInt32BE(Header.schemaVersionOffset),
    createdDate: readUint64Number(frame, Header.createdDateOffset),
    sequenceNumber: readInt64(frame, Header.sequenceNumberOffset),
    flags: readUint64(frame, Header.flagsOffset),
    messageId: readMessageId(frame, Header.messageIdOffset),
    payloadType: frame.readUInt32BE(Header.payloadTypeOffset),
    payloadLength,
    payload,
  };
  // The plugin accepts publication messages without further checks (docs/protocol.md §2).
  if (messageType === MessageType.StartPublication || messageType === MessageType.PausePublication) {
    return message;
  }
  if (messageType.length === 0) return new ProtocolError('BAD_MESSAGE_TYPE', 'empty message type');
  if (message.createdDate === 0) return new ProtocolError('BAD_CREATED_DATE', 'created date is zero');
  const mismatch =
    payloadLength !== payload.length
      ? new ProtocolError('BAD_PAYLOAD_LENGTH', `payload length ${payloadLength} but ${payload.length} bytes present`)
      : payloadLength !== 0 && !digestAt(frame, Header.payloadDigestOffset, payload)
        ? new ProtocolError('BAD_DIGEST', `payload digest does not match (${messageType} #${message.sequenceNumber})`)
        : undefined;
  if (!mismatch) return message;
  if (rules === 'client') return mismatch;
  message.forgiven = mismatch.message;
  return message;
}
