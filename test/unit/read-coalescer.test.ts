import { describe, expect, it } from 'vitest';
import { DEFAULT_COALESCING, ReadCoalescer } from '../../src/transport/read-coalescer.js';

describe('read coalescing: when a turn of reads waits a moment for more', () => {
  it('a busy turn that emptied the socket waits 1 ms; a small one (typing, replies) and a full one (the peer ahead) do not', () => {
    const coalescer = new ReadCoalescer();
    expect(DEFAULT_COALESCING).toEqual({ minBytes: 4096, maxBytes: 32_768, pauseMs: 1 });
    expect(coalescer.afterTurn(1)).toBe(0);
    expect(coalescer.afterTurn(4095)).toBe(0);
    expect(coalescer.afterTurn(4096)).toBe(1);
    expect(coalescer.afterTurn(20_000)).toBe(1);
    expect(coalescer.afterTurn(32_767)).toBe(1);
    expect(coalescer.afterTurn(32_768)).toBe(0);
    expect(coalescer.afterTurn(65_536)).toBe(0);
  });

  it('the turn that hands over what Node read during the wait is not judged: the kernel backlog is read first', () => {
    const coalescer = new ReadCoalescer({ minBytes: 10, maxBytes: 100, pauseMs: 3 });
    expect(coalescer.afterTurn(50)).toBe(3);
    coalescer.resumed(true);
    expect(coalescer.afterTurn(50)).toBe(0);
    expect(coalescer.afterTurn(50)).toBe(3);
    coalescer.resumed(false);
    expect(coalescer.afterTurn(50)).toBe(3);
  });
});
