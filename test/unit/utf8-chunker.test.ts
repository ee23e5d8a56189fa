import { describe, expect, it } from 'vitest';
import { Utf8Chunker } from '../../src/emulator/agent/utf8-chunker.js';

describe('agent output chunking', () => {
  it('cuts at 1024 bytes', () => {
    const chunks = new Utf8Chunker(1024).push(Buffer.alloc(2500, 0x61));
    expect(chunks.map((c) => c.length)).toEqual([1024, 1024, 452]);
  });

  it('never splits a multi-byte character across messages', () => {
    const text = 'é€😀'.repeat(400);
    const chunker = new Utf8Chunker(1024);
    const chunks = chunker.push(Buffer.from(text));
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(1024);
      expect(Buffer.from(chunk.toString('utf8'))).toEqual(chunk);
    }
    expect(Buffer.concat(chunks).toString()).toBe(text);
  });

  it('holds an incomplete character until its remaining bytes arrive', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    const chunker = new Utf8Chunker(1024);
    expect(chunker.push(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 2)]))).toEqual([Buffer.from('ab')]);
    expect(chunker.push(euro.subarray(2))).toEqual([euro]);
    expect(chunker.push(euro.subarray(0, 1))).toEqual([]);
    expect(chunker.flush()).toEqual([euro.subarray(0, 1)]);
  });

  it('passes invalid bytes through', () => {
    const data = Buffer.from([0xff, 0xfe, 0x80, 0x41]);
    expect(Buffer.concat(new Utf8Chunker(1024).push(data))).toEqual(data);
  });

  it('random byte streams come out whole, in order, in chunks of at most size + 3', () => {
    let seed = 99;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 200; round++) {
      const chunker = new Utf8Chunker(16);
      const parts: Buffer[] = [];
      const out: Buffer[] = [];
      for (let i = 0; i < 20; i++) {
        const part = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => (random() < 0.5 ? 0x61 : Math.floor(random() * 256))));
        parts.push(part);
        out.push(...chunker.push(part));
      }
      out.push(...chunker.flush());
      for (const c of out) expect(c.length).toBeLessThanOrEqual(16);
      expect(Buffer.concat(out)).toEqual(Buffer.concat(parts));
    }
  });
});
