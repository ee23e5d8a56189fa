import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { Header, MessageFlags, MessageType, PayloadType, SchemaVersion } from './constants.js';
import { ProtocolError } from './errors.js';
import { acknowledgeJson, encodeAcknowledge } from './payloads.js';
import { readMessageId, writeMessageId, writeMessageIdText } from './uuid.js';

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
  /** The sequence number as a number where it is read exactly as one (from -2^53 to 2^53 - 1), else NaN. */
  sequence: number;
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

/** An int64 field as a number where it is read exactly as one (from -2^53 to 2^53 - 1), else NaN. */
function readInt64Number(frame: Buffer, offset: number): number {
  const high = frame.readInt32BE(offset);
  if (high >= SAFE_HIGH || high < -SAFE_HIGH) return NaN;
  return high * TWO_32 + frame.readUInt32BE(offset + 4);
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
 * An acknowledgement of a message received (docs/protocol.md §3), one per message: the bytes of
 * encodeAgentMessage with the acknowledge JSON of payloads.ts as its payload, made from a template
 * per acknowledged type in which only the date, the new id, the acknowledged id (its text written
 * from the received header) and sequence number, the digest and the length change. What it names
 * of the message acknowledged: the frame received, its type and sequence number as decoded.
 * `writeId` puts the acknowledgement's own new id into its header.
 */
export function encodeAcknowledgement(
  received: Buffer,
  messageType: string,
  sequenceNumber: number,
  createdDate: number,
  writeId: (target: Buffer, offset: number) => void,
): Buffer {
  const template = acknowledgementTemplate(messageType);
  if (!template || !Number.isSafeInteger(sequenceNumber) || sequenceNumber < 0) {
    const frame = encodeAgentMessage({ ...ACK_HEADER, createdDate, messageId: NIL_ID, payload: encodeAcknowledge(acknowledgeOf(messageType, readMessageId(received, Header.messageIdOffset), sequenceNumber)) });
    writeId(frame, Header.messageIdOffset);
    return frame;
  }
  let digits = 1;
  for (let bound = 10; bound <= sequenceNumber; bound *= 10) digits++;
  // The payload is written into the template's buffer for its length, whose fixed parts are already
  // there, and hashed where it lies; the frame is then the header template and that payload.
  const payload = template.payloads[digits] ?? payloadOfLength(template, digits);
  writeMessageIdText(received, Header.messageIdOffset, payload, template.head.length);
  const first = numberOffset(template);
  for (let rest = sequenceNumber, at = first + digits - 1; at >= first; at--) {
    const digit = rest % 10;
    payload[at] = 0x30 + digit;
    rest = (rest - digit) / 10;
  }
  const frame = ackFrame(Header.payloadOffset + payload.length);
  frame.set(template.header, 0);
  frame.set(payload, Header.payloadOffset);
  writeInt64(frame, createdDate, Header.createdDateOffset);
  writeId(frame, Header.messageIdOffset);
  writeDigest(frame, digestLatin1(payload));
  frame.writeUInt32BE(payload.length, Header.payloadLengthOffset);
  return frame;
}

/**
 * Acknowledgements are cut from slabs of their own, as Buffer.allocUnsafe cuts small buffers from
 * its pool, only larger: one ArrayBuffer for some 200 of them where that pool of 8 KiB gives one
 * for 27, and each new ArrayBuffer costs an allocation, a free and the collector's bookkeeping.
 */
const ACK_SLAB_BYTES = 64 * 1024;
let ackSlab = Buffer.allocUnsafeSlow(ACK_SLAB_BYTES);
let ackSlabUsed = 0;

function ackFrame(size: number): Buffer {
  if (size > ACK_SLAB_BYTES / 8) return Buffer.allocUnsafe(size);
  if (ackSlabUsed + size > ACK_SLAB_BYTES) {
    ackSlab = Buffer.allocUnsafeSlow(ACK_SLAB_BYTES);
    ackSlabUsed = 0;
  }
  const frame = ackSlab.subarray(ackSlabUsed, ackSlabUsed + size);
  // Each frame starts on an 8-byte boundary, as the pool's do.
  ackSlabUsed += (size + 7) & ~7;
  return frame;
}

/** A digest as digestLatin1 gives it, into its header field. */
function writeDigest(frame: Buffer, digest: string): void {
  for (let i = 0; i < 32; i++) frame[Header.payloadDigestOffset + i] = digest.charCodeAt(i);
}

const UUID_TEXT_LENGTH = 36;
const NIL_ID = '00000000-0000-0000-0000-000000000000';

const ACK_HEADER = {
  messageType: MessageType.Acknowledge,
  schemaVersion: SchemaVersion,
  sequenceNumber: 0n,
  flags: MessageFlags.Acknowledge,
  payloadType: PayloadType.Unset,
};

const acknowledgeOf = (messageType: string, messageId: string, sequenceNumber: number) => ({
  acknowledgedMessageType: messageType,
  acknowledgedMessageId: messageId,
  acknowledgedMessageSequenceNumber: sequenceNumber,
  isSequentialMessage: true,
});

interface AcknowledgementTemplate {
  /** The header: date, id, digest and length to fill in. */
  header: Buffer;
  /** The JSON before the acknowledged id, between it and the sequence number, and after the number. */
  head: Buffer;
  middle: Buffer;
  end: Buffer;
  /** A payload for each count of digits, fixed parts in place, made when first needed. */
  payloads: Array<Buffer | undefined>;
}

/** One per acknowledged type: nearly every acknowledgement names output_stream_data. */
const ackTemplates = new Map<string, AcknowledgementTemplate | undefined>();
let lastAckType: string | undefined;
let lastAckTemplate: AcknowledgementTemplate | undefined;

/** Cut from the acknowledge JSON itself, so the two cannot disagree; undefined for a type the cut would not survive. */
function acknowledgementTemplate(messageType: string): AcknowledgementTemplate | undefined {
  if (messageType === lastAckType) return lastAckTemplate;
  if (!ackTemplates.has(messageType)) {
    const mark = NIL_ID;
    const json = acknowledgeJson(acknowledgeOf(messageType, mark, 0));
    const idAt = json.indexOf(mark);
    const numberAt = json.indexOf(':0,', idAt + mark.length) + 1;
    const plain = json.indexOf(mark, idAt + 1) === -1 && numberAt > 0 && Buffer.byteLength(json) === json.length;
    const template = plain
      ? {
          header: encodeAgentMessage({ ...ACK_HEADER, createdDate: 0, messageId: mark, payload: Buffer.alloc(0) }),
          head: Buffer.from(json.slice(0, idAt), 'latin1'),
          middle: Buffer.from(json.slice(idAt + mark.length, numberAt), 'latin1'),
          end: Buffer.from(json.slice(numberAt + 1), 'latin1'),
          payloads: [],
        }
      : undefined;
    if (ackTemplates.size >= 64) return template;
    ackTemplates.set(messageType, template);
  }
  lastAckType = messageType;
  lastAckTemplate = ackTemplates.get(messageType);
  return lastAckTemplate;
}

/** Where a template's payload has the sequence number: after the JSON's head, the id's text and its middle. */
const numberOffset = (template: AcknowledgementTemplate) => template.head.length + UUID_TEXT_LENGTH + template.middle.length;

/** The template's payload for a sequence number of `digits` digits: the JSON with room for the id and the number. */
function payloadOfLength(template: AcknowledgementTemplate, digits: number): Buffer {
  const payload = Buffer.alloc(numberOffset(template) + digits + template.end.length);
  payload.set(template.head, 0);
  payload.set(template.middle, template.head.length + UUID_TEXT_LENGTH);
  payload.set(template.end, numberOffset(template) + digits);
  template.payloads[digits] = payload;
  return payload;
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
  writeDigest(frame, digestLatin1(payload));
  frame.writeUInt32BE(message.payloadType, Header.payloadTypeOffset);
  frame.writeUInt32BE(payload.length, Header.payloadLengthOffset);
  return frame;
}

/** Printable ASCII other than the space: a byte no trimming rule removes. */
const printable = (byte: number) => byte > 0x20 && byte < 0x7f;

/** The types of the protocol as bytes, so that a received one is named by its constant, not a new string each time. */
const KNOWN_TYPES = Object.values(MessageType).map((text) => ({ text, bytes: Buffer.from(text, 'latin1') }));

function knownType(frame: Buffer, start: number, end: number): string | undefined {
  search: for (const { text, bytes } of KNOWN_TYPES) {
    if (bytes.length !== end - start) continue;
    for (let i = 0; i < bytes.length; i++) if (frame[start + i] !== bytes[i]) continue search;
    return text;
  }
  return undefined;
}

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
  if (plain && (end === start || (printable(frame[start]!) && printable(frame[end - 1]!)))) return knownType(frame, start, end) ?? frame.toString('latin1', start, end);
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
 * A message as decoded: the fields read from its frame, except the id and the sequence number as a
 * bigint, which are made only when asked for (the channel reads the number, and an acknowledgement
 * writes the id's text from the frame: encodeAcknowledgement).
 */
class ReceivedMessage implements DecodedAgentMessage, Forgiven {
  forgiven?: string;

  constructor(
    private readonly frame: Buffer,
    readonly headerLength: number,
    readonly messageType: string,
    readonly schemaVersion: number,
    readonly createdDate: number,
    readonly sequence: number,
    readonly flags: bigint,
    readonly payloadType: number,
    readonly payloadLength: number,
    readonly payload: Buffer,
  ) {}

  get sequenceNumber(): bigint {
    return Number.isNaN(this.sequence) ? this.frame.readBigInt64BE(Header.sequenceNumberOffset) : BigInt(this.sequence);
  }

  get messageId(): string {
    return readMessageId(this.frame, Header.messageIdOffset);
  }
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
  const message = new ReceivedMessage(
    frame,
    headerLength,
    messageType,
    frame.readUInt32BE(Header.schemaVersionOffset),
    readUint64Number(frame, Header.createdDateOffset),
    readInt64Number(frame, Header.sequenceNumberOffset),
    readUint64(frame, Header.flagsOffset),
    frame.readUInt32BE(Header.payloadTypeOffset),
    payloadLength,
    payload,
  );
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
