import { Header, MessageType, PayloadType } from './constants.js';

const payloadTypeNames = new Map<number, string>(Object.entries(PayloadType).map(([name, value]) => [value, name]));

/** A payload type as a person reads it: `Output`, `Flag`, or the number when it has no name. */
export const payloadTypeName = (payloadType: number): string => payloadTypeNames.get(payloadType) ?? String(payloadType);

/**
 * One line about a frame for --debug: its type, sequence number, flags, payload type and size, or
 * for an acknowledgement the sequence number it acknowledges. Never payload contents: a shell's
 * input holds passwords. Reads the header only (no digest check), and never throws.
 */
export function describeFrame(frame: Buffer): string {
  if (frame.length < Header.payloadOffset) return `a ${frame.length}-byte frame (too short for a header)`;
  const messageType = frame.toString('latin1', Header.messageTypeOffset, Header.messageTypeOffset + Header.messageTypeWidth).replace(/[\0 ]+$/, '');
  const sequenceNumber = frame.readBigInt64BE(Header.sequenceNumberOffset);
  const flags = frame.readBigUInt64BE(Header.flagsOffset);
  const payloadType = frame.readUInt32BE(Header.payloadTypeOffset);
  const size = frame.length - Header.payloadOffset;
  if (messageType === MessageType.Acknowledge) {
    // The acknowledged number is a field of the JSON payload, which carries no secret.
    const acknowledged = /"AcknowledgedMessageSequenceNumber":\s*(-?\d+)/.exec(frame.toString('utf8', Header.payloadOffset));
    return `acknowledge of #${acknowledged?.[1] ?? '?'}`;
  }
  if (messageType === MessageType.InputStreamData || messageType === MessageType.OutputStreamData) {
    return `${messageType} #${sequenceNumber} flags=${flags} ${payloadTypeName(payloadType)} ${size} B`;
  }
  return `${messageType || '(no type)'} ${size} B`;
}
