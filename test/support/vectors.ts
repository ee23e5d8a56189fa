import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Vector {
  name: string;
  messageType: string;
  schemaVersion: number;
  createdDate: number;
  sequenceNumber: bigint;
  flags: bigint;
  messageId: string;
  payloadType: number;
  payloadHex: string;
  payloadText?: string;
  hex: string;
  length: number;
}

/** The plugin-encoded vectors, copied into the repository (test/fixtures/README.md says from where). */
export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Loads vectors.json keeping 64-bit fields exact: JSON.parse would round 9007199254740993. */
export function loadVectors(): Vector[] {
  const text = readFileSync(`${fixturesDir}vectors.json`, 'utf8');
  const quoted = text.replace(/"(sequenceNumber|flags)":\s*(-?\d+)/g, '"$1": "$2"');
  const raw = JSON.parse(quoted) as Array<Record<string, unknown>>;
  return raw.map((v) => ({
    ...(v as unknown as Vector),
    sequenceNumber: BigInt(v.sequenceNumber as string),
    flags: BigInt(v.flags as string),
  }));
}
