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
  payloadDigest: Buffer;
  payloadLength: number;
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** One-shot SHA-256 (crypto.hash, Node 20.12 and later; a Hash object otherwise): one per message both ways. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;

export function sha256(data: Uint8Array): Buffer {
  return oneShot ? oneShot('sha256', data, 'buffer') : createHash('sha256').update(data).digest();
}

/** Encodes a message; the digest and both lengths are derived here, never given. */
export function encodeAgentMessage(message: AgentMessage): Buffer {
  const { messageType, payload } = message;
  if (Buffer.byteLength(messageType, 'ascii') > Header.messageTypeWidth || messageType.length === 0) {
    throw new ProtocolError('BAD_MESSAGE_TYPE', `message type must be 1 to 32 ASCII bytes: ${messageType}`);
  }
  if (message.sequenceNumber < INT64_MIN || message.sequenceNumber > INT64_MAX) {
    throw new ProtocolError('UNSAFE_INTEGER', `sequence number out of int64 range: ${message.sequenceNumber}`);
  }
  if (message.flags < 0n || message.flags > UINT64_MAX) {
    throw new ProtocolError('UNSAFE_INTEGER', `flags out of uint64 range: ${message.flags}`);
  }
  const frame = Buffer.allocUnsafe(Header.payloadOffset + payload.length);
  frame.writeUInt32BE(Header.headerLength, Header.headerLengthOffset);
  frame.fill(0x20, Header.messageTypeOffset, Header.messageTypeOffset + Header.messageTypeWidth);
  frame.write(messageType, Header.messageTypeOffset, 'ascii');
  frame.writeUInt32BE(message.schemaVersion, Header.schemaVersionOffset);
  frame.writeBigUInt64BE(BigInt(message.createdDate), Header.createdDateOffset);
  frame.writeBigInt64BE(message.sequenceNumber, Header.sequenceNumberOffset);
  frame.writeBigUInt64BE(message.flags, Header.flagsOffset);
  writeMessageId(message.messageId, frame, Header.messageIdOffset);
  sha256(payload).copy(frame, Header.payloadDigestOffset);
  frame.writeUInt32BE(message.payloadType, Header.payloadTypeOffset);
  frame.writeUInt32BE(payload.length, Header.payloadLengthOffset);
  payload.copy(frame, Header.payloadOffset);
  return frame;
}

function trimMessageType(raw: string): string {
  // The plugin strips NULs, then white space (docs/protocol.md §2).
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
  const messageType = trimMessageType(
    frame.toString('latin1', Header.messageTypeOffset, Header.messageTypeOffset + Header.messageTypeWidth),
  );
  const payloadLength = frame.readUInt32BE(Header.payloadLengthOffset);
  const payload = frame.subarray(headerLength + 4);
  const payloadDigest = frame.subarray(Header.payloadDigestOffset, Header.payloadDigestOffset + Header.payloadDigestWidth);
  const message: DecodedAgentMessage & Forgiven = {
    headerLength,
    messageType,
    schemaVersion: frame.readUInt32BE(Header.schemaVersionOffset),
    createdDate: Number(frame.readBigUInt64BE(Header.createdDateOffset)),
    sequenceNumber: frame.readBigInt64BE(Header.sequenceNumberOffset),
    flags: frame.readBigUInt64BE(Header.flagsOffset),
    messageId: readMessageId(frame, Header.messageIdOffset),
    payloadDigest,
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
      : payloadLength !== 0 && !sha256(payload).equals(payloadDigest)
        ? new ProtocolError('BAD_DIGEST', `payload digest does not match (${messageType} #${message.sequenceNumber})`)
        : undefined;
  if (!mismatch) return message;
  if (rules === 'client') return mismatch;
  message.forgiven = mismatch.message;
  return message;
}
