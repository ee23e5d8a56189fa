import { describe, expect, it } from 'vitest';
import { visibleControls } from '../../src/cli/visible-controls.js';

const shown = (bytes: number[]) => Buffer.from(visibleControls(Buffer.from(bytes).toString('latin1')), 'latin1');

describe('visibleControls', () => {
  it('writes every C0 control but the tab, and DEL, as \\xHH; printable ASCII and the tab as they are', () => {
    // "a" CR "b" BS ESC "[2J" BEL NUL TAB DEL
    expect(shown([0x61, 0x0d, 0x62, 0x08, 0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x00, 0x09, 0x7f])).toEqual(Buffer.from('a\\x0db\\x08\\x1b[2J\\x07\\x00\t\\x7f', 'latin1'));
    for (let code = 0x20; code < 0x7f; code++) expect(shown([code])).toEqual(Buffer.from([code]));
    for (let code = 0; code < 0x20; code++) if (code !== 0x09 && code !== 0x0d) expect(shown([code])).toEqual(Buffer.from(`\\x${code.toString(16).padStart(2, '0')}`));
  });

  it('C1 controls (U+0080 to U+009F; U+009B is CSI to some terminals) too; other characters stay', () => {
    expect(visibleControls('\u009b2J \u0085 \u00a0é☃\u202e')).toBe('\\x9b2J \\x85 \u00a0é☃\u202e');
    // As UTF-8 bytes: C2 9B becomes the four bytes of "\x9b"; C2 A0 (no-break space) stays.
    expect(Buffer.from(visibleControls(Buffer.from([0xc2, 0x9b, 0xc2, 0xa0]).toString('utf8')), 'utf8')).toEqual(Buffer.from([0x5c, 0x78, 0x39, 0x62, 0xc2, 0xa0]));
  });

  it('a carriage return that ends the line (CRLF) is dropped; one inside it is shown', () => {
    expect(visibleControls('done\r')).toBe('done');
    expect(visibleControls('50%\r100%\r')).toBe('50%\\x0d100%');
    expect(visibleControls('\r\r')).toBe('\\x0d');
    expect(visibleControls('')).toBe('');
  });
});
