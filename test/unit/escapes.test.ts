import { describe, expect, it } from 'vitest';
import { EscapeFilter, parseEscapeChar } from '../../src/session/escapes.js';

const TILDE = 0x7e;
const feed = (filter: EscapeFilter, text: string) => {
  const { send, actions } = filter.feed(Buffer.from(text, 'latin1'));
  return { send: send.toString('latin1'), actions };
};

describe('escape sequences (OpenSSH\'s)', () => {
  it('~. at the start or after a newline ends the session; nothing after it is sent', () => {
    expect(feed(new EscapeFilter(TILDE), '~.')).toEqual({ send: '', actions: ['disconnect'] });
    expect(feed(new EscapeFilter(TILDE), 'ls\r~.rm -rf /\r')).toEqual({ send: 'ls\r', actions: ['disconnect'] });
    expect(feed(new EscapeFilter(TILDE), 'ls\n~.')).toEqual({ send: 'ls\n', actions: ['disconnect'] });
  });

  it('not after a newline, ~ is an ordinary byte', () => {
    expect(feed(new EscapeFilter(TILDE), 'cd ~.')).toEqual({ send: 'cd ~.', actions: [] });
  });

  it('~? asks for the list; ~~ sends one ~; ~ and another byte sends both', () => {
    expect(feed(new EscapeFilter(TILDE), '~?')).toEqual({ send: '', actions: ['help'] });
    expect(feed(new EscapeFilter(TILDE), '~~/x')).toEqual({ send: '~/x', actions: [] });
    expect(feed(new EscapeFilter(TILDE), '~/x')).toEqual({ send: '~/x', actions: [] });
  });

  it('an escape at the end of a chunk waits for the next byte', () => {
    const filter = new EscapeFilter(TILDE);
    expect(feed(filter, 'echo\r~')).toEqual({ send: 'echo\r', actions: [] });
    expect(feed(filter, '.')).toEqual({ send: '', actions: ['disconnect'] });
    const other = new EscapeFilter(TILDE);
    feed(other, '~');
    expect(feed(other, 'a')).toEqual({ send: '~a', actions: [] });
  });

  it('another escape character; --escape-char forms', () => {
    expect(feed(new EscapeFilter(0x25), '%.')).toEqual({ send: '', actions: ['disconnect'] });
    expect(feed(new EscapeFilter(0x25), '~.')).toEqual({ send: '~.', actions: [] });
    expect(parseEscapeChar('none')).toBeUndefined();
    expect(parseEscapeChar('~')).toBe(TILDE);
    expect(parseEscapeChar('^]')).toBe(0x1d);
    expect(() => parseEscapeChar('ab')).toThrow(/one character/);
  });
});
