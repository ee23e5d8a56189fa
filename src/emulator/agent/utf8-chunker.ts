/** Bytes a UTF-8 sequence has, from its lead byte; 0 for a continuation or invalid byte. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Length of an incomplete multi-byte sequence at the end of `data` (0 when it ends cleanly). */
function incompleteTail(data: Uint8Array, end: number): number {
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = data[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation: keep looking for the lead byte
    const needed = sequenceLength(byte);
    return needed > back ? back : 0;
  }
  return 0;
}

/**
 * Cuts a byte stream into messages of at most `size` bytes as the agent does (docs/protocol.md §7): a
 * multi-byte UTF-8 character is never split across two messages; an incomplete one at the end is
 * held until the next bytes arrive. Bytes that are not UTF-8 pass through unchanged.
 */
export class Utf8Chunker {
  private carry: Buffer = Buffer.alloc(0);

  constructor(private readonly size: number) {}

  push(data: Buffer): Buffer[] {
    const input = this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data;
    const chunks: Buffer[] = [];
    let start = 0;
    while (input.length - start > this.size) {
      let end = start + this.size;
      const tail = incompleteTail(input, end);
      if (tail > 0 && tail < this.size) end -= tail;
      chunks.push(input.subarray(start, end));
      start = end;
    }
    const rest = input.subarray(start);
    const tail = incompleteTail(rest, rest.length);
    if (tail > 0 && tail < rest.length) chunks.push(rest.subarray(0, rest.length - tail));
    else if (tail === 0 && rest.length > 0) chunks.push(rest);
    this.carry = Buffer.from(rest.subarray(rest.length - tail));
    return chunks;
  }

  /** Whatever is held back, for when the stream ends. */
  flush(): Buffer[] {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    return rest.length > 0 ? [rest] : [];
  }
}
