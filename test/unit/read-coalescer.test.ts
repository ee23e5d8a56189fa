import { describe, expect, it } from 'vitest';
import { DEFAULT_COALESCING, ReadCoalescer } from '../../src/transport/read-coalescer.js';

describe('read coalescing: when a pass of reads waits a moment for more', () => {
  it('a busy pass that emptied the socket waits 1 ms; a small one (typing, replies) and a full one (the peer ahead) do not', () => {
    const coalescer = new ReadCoalescer();
    expect(DEFAULT_COALESCING).toEqual({ minBytes: 4096, maxBytes: 32_768, pauseMs: 1 });
    expect(coalescer.afterPass(1)).toBe(0);
    expect(coalescer.afterPass(4095)).toBe(0);
    expect(coalescer.afterPass(4096)).toBe(1);
    expect(coalescer.afterPass(20_000)).toBe(1);
    expect(coalescer.afterPass(32_767)).toBe(1);
    expect(coalescer.afterPass(32_768)).toBe(0);
    expect(coalescer.afterPass(65_536)).toBe(0);
  });

  it('its thresholds and wait are its options', () => {
    const coalescer = new ReadCoalescer({ minBytes: 10, maxBytes: 100, pauseMs: 3 });
    expect([9, 10, 99, 100].map((bytes) => coalescer.afterPass(bytes))).toEqual([0, 3, 3, 0]);
  });
});
