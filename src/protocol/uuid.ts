import { randomFillSync } from 'node:crypto';
import { ProtocolError } from './errors.js';

/** The value of each hex digit's character code, -1 for any other: a UUID is read at every message each way. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}
const HEX_DIGIT = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of a UUID's 16 bytes sits in its 36-character text. */
const TEXT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** Where each byte of the text goes on the wire: its second 8 bytes first (docs/protocol.md §2). */
const WIRE_AT = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/**
 * Writes a UUID as the wire carries it: its second 8 bytes first, then its first 8 (docs/protocol.md §2)
 * — the plugin writes the "least significant" half before the "most significant". The text must be
 * 32 hex digits with the dashes where a UUID has them.
 */
export function writeMessageId(id: string, target: Buffer, offset: number): void {
  let valid = id.length === 36 && id.charCodeAt(8) === 0x2d && id.charCodeAt(13) === 0x2d && id.charCodeAt(18) === 0x2d && id.charCodeAt(23) === 0x2d;
  for (let i = 0; i < 16 && valid; i++) {
    const high = HEX_VALUE[id.charCodeAt(TEXT_AT[i]!)] ?? -1;
    const low = HEX_VALUE[id.charCodeAt(TEXT_AT[i]! + 1)] ?? -1;
    if (high < 0 || low < 0) valid = false;
    else target[offset + WIRE_AT[i]!] = (high << 4) | low;
  }
  if (!valid) throw new ProtocolError('BAD_MESSAGE_ID', `not a UUID: ${JSON.stringify(id)}`);
}

/** Reads a wire UUID (halves swapped, as above) into its text, lowercase. */
export function readMessageId(source: Buffer, offset: number): string {
  writeMessageIdText(source, offset, text, 0);
  return text.toString('latin1');
}

/** The text of the 16 bytes at `offset`, in their order: one string, built in place. */
function uuidText(source: Buffer, offset: number): string {
  for (let i = 0; i < 16; i++) hexPair(text, TEXT_AT[i]!, source[offset + i]!);
  text[8] = text[13] = text[18] = text[23] = 0x2d;
  return text.toString('latin1');
}

/** Each byte's two hex digits, lowercase. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  HEX_HIGH[byte] = HEX_DIGIT[byte >> 4]!;
  HEX_LOW[byte] = HEX_DIGIT[byte & 15]!;
}

function hexPair(target: Buffer, at: number, byte: number): void {
  target[at] = HEX_HIGH[byte]!;
  target[at + 1] = HEX_LOW[byte]!;
}

/**
 * Writes the 36-character text of the wire id at `offset` in `source` into `target` at `at`: the
 * same characters as readMessageId, with no string between (an acknowledgement names the id of
 * every message received). Written out byte by byte, the text's second 8 bytes taken first: a loop
 * over the two position tables took some 80 ns, this 25.
 */
export function writeMessageIdText(source: Buffer, offset: number, target: Buffer, at: number): void {
  hexPair(target, at, source[offset + 8]!);
  hexPair(target, at + 2, source[offset + 9]!);
  hexPair(target, at + 4, source[offset + 10]!);
  hexPair(target, at + 6, source[offset + 11]!);
  target[at + 8] = 0x2d;
  hexPair(target, at + 9, source[offset + 12]!);
  hexPair(target, at + 11, source[offset + 13]!);
  target[at + 13] = 0x2d;
  hexPair(target, at + 14, source[offset + 14]!);
  hexPair(target, at + 16, source[offset + 15]!);
  target[at + 18] = 0x2d;
  hexPair(target, at + 19, source[offset]!);
  hexPair(target, at + 21, source[offset + 1]!);
  target[at + 23] = 0x2d;
  hexPair(target, at + 24, source[offset + 2]!);
  hexPair(target, at + 26, source[offset + 3]!);
  hexPair(target, at + 28, source[offset + 4]!);
  hexPair(target, at + 30, source[offset + 5]!);
  hexPair(target, at + 32, source[offset + 6]!);
  hexPair(target, at + 34, source[offset + 7]!);
}

/**
 * Random bytes for new ids, drawn 1,024 ids at a time (crypto.randomUUID pools its bytes too): a
 * refill costs about 3 µs for 256 ids and 5 µs for 1,024, and an id goes out with every message received.
 */
const pool = Buffer.alloc(16 * 1024);
let used = pool.length;

/** The next 16 random bytes of the pool, with the version 4 and variant bits set: where they start. */
function drawId(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += 16;
  pool[at + 6] = (pool[at + 6]! & 0x0f) | 0x40;
  pool[at + 8] = (pool[at + 8]! & 0x3f) | 0x80;
  return at;
}

/**
 * A random (version 4) UUID for a message this side sends, one per message and acknowledgement.
 * Made in one string, where crypto.randomUUID joins it from pieces (about 350 bytes of garbage each).
 */
export function newMessageId(): string {
  return uuidText(pool, drawId());
}

/** A new random id written straight into a header in wire order: newMessageId then writeMessageId, without the text. */
export function writeNewMessageId(target: Buffer, offset: number): void {
  const at = drawId();
  for (let i = 0; i < 16; i++) target[offset + WIRE_AT[i]!] = pool[at + i]!;
}
