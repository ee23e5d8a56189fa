import { randomUUID } from 'node:crypto';
import { ProtocolError } from './errors.js';


export function newMessageId(): string {
  return randomUUID();
}

/**
 * Writes a UUID as the wire carries it: its second 8 bytes first, then its first 8 (docs/protocol.md §2,
 * docs/protocol.md §2) — the plugin writes the "least significant" half before the "most significant".
 */
export function writeMessageId(id: string, target: Buffer, offset: number): void {
  // Hex decoding stops at the first character that is not hex: 16 bytes from 32 characters and the
  // dashes where a UUID has them is the pattern's check, at a fraction of its cost (one per message).
  const hex = id.length === 36 && id[8] === '-' && id[13] === '-' && id[18] === '-' && id[23] === '-' ? id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24) : '';
  const canonical = Buffer.from(hex, 'hex');
  if (canonical.length !== 16) throw new ProtocolError('BAD_MESSAGE_ID', `not a UUID: ${JSON.stringify(id)}`);
  canonical.copy(target, offset, 8, 16);
  canonical.copy(target, offset + 8, 0, 8);
}

export function readMessageId(source: Buffer, offset: number): string {
  const hex =
    source.toString('hex', offset + 8, offset + 16) + source.toString('hex', offset, offset + 8);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
