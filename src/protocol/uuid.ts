import { randomUUID } from 'node:crypto';
import { ProtocolError } from './errors.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function newMessageId(): string {
  return randomUUID();
}

/**
 * Writes a UUID as the wire carries it: its second 8 bytes first, then its first 8 (docs/protocol.md §2,
 * docs/protocol.md §2) — the plugin writes the "least significant" half before the "most significant".
 */
export function writeMessageId(id: string, target: Buffer, offset: number): void {
  if (!UUID_PATTERN.test(id)) throw new ProtocolError('BAD_MESSAGE_ID', `not a UUID: ${JSON.stringify(id)}`);
  const canonical = Buffer.from(id.replace(/-/g, ''), 'hex');
  canonical.copy(target, offset, 8, 16);
  canonical.copy(target, offset + 8, 0, 8);
}

export function readMessageId(source: Buffer, offset: number): string {
  const hex =
    source.toString('hex', offset + 8, offset + 16) + source.toString('hex', offset, offset + 8);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
