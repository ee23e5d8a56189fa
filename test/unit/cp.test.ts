import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Base64Stream, checkCpEnds, finishScript, parseCpEnd, parseProbe, probeScript, rangeScript, splitRanges } from '../../src/cli/cp.js';

const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'latin1' });

describe('which end is on an instance', () => {
  it("scp's rule: a colon before any slash; a drive letter and ./a:b are local; tag filters keep their colon", () => {
    expect(parseCpEnd('web-1:/tmp/x')).toEqual({ target: 'web-1', path: '/tmp/x' });
    expect(parseCpEnd('i-0123456789abcdef0:notes.txt')).toEqual({ target: 'i-0123456789abcdef0', path: 'notes.txt' });
    expect(parseCpEnd('./a:b')).toEqual({ path: './a:b' });
    expect(parseCpEnd('C:\\Users\\me\\f', 'win32')).toEqual({ path: 'C:\\Users\\me\\f' });
    expect(parseCpEnd('db:/x', 'win32')).toEqual({ target: 'db', path: '/x' });
    expect(parseCpEnd('/tmp/plain')).toEqual({ path: '/tmp/plain' });
    expect(parseCpEnd('tag:Role=web:/var/log/app.log')).toEqual({ target: 'tag:Role=web', path: '/var/log/app.log' });
    expect(checkCpEnds(parseCpEnd('web:/x'), parseCpEnd('./y'))).toBe('download');
    expect(() => checkCpEnds(parseCpEnd('a:/x'), parseCpEnd('b:/y'))).toThrow(/both ends/);
    expect(() => checkCpEnds(parseCpEnd('web-1:'), parseCpEnd('./y'))).toThrow(/no path on the instance/);
  });
});

describe('decoding as it arrives', () => {
  it('base64 cut anywhere, with line breaks, decodes to the bytes', () => {
    const data = randomBytes(10_000);
    const text = data.toString('base64').replace(/.{76}/g, '$&\n');
    for (const step of [1, 3, 7, 1000]) {
      const stream = new Base64Stream();
      const parts: Buffer[] = [];
      for (let i = 0; i < text.length; i += step) parts.push(stream.push(text.slice(i, i + step)));
      expect(Buffer.concat(parts).equals(data)).toBe(true);
      expect(stream.leftover).toBe('');
    }
  });

  it('ranges: multiples of 3 bytes but the last, covering the file, one for a small or empty file', () => {
    expect(splitRanges(0, 4)).toEqual([{ offset: 0, length: 0 }]);
    expect(splitRanges(1000, 4)).toEqual([{ offset: 0, length: 1000 }]);
    const ranges = splitRanges(5 * 1024 * 1024 + 1, 4);
    expect(ranges).toHaveLength(4);
    expect(ranges.slice(0, -1).every((range) => range.length % 3 === 0)).toBe(true);
    expect(ranges.reduce((sum, range) => sum + range.length, 0)).toBe(5 * 1024 * 1024 + 1);
  });
});

describe('the scripts, run by a real sh', () => {
  it('probe, ranges and finish: a file described, read in pieces, and rebuilt under its name only once checked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-cp-unit-'));
    const file = join(dir, "it's here.bin");
    const data = randomBytes(100_000);
    writeFileSync(file, data, { mode: 0o640 });
    const facts = parseProbe(sh(probeScript(file, false)))!;
    expect(facts).toEqual({ kind: 'file', mode: '640', size: 100_000, sha256: createHash('sha256').update(data).digest('hex'), file });
    const pieces = splitRanges(facts.size, 3, 10_000).map((range) => Buffer.from(sh(rangeScript(file, range.offset, range.length, false)).trim(), 'base64'));
    expect(Buffer.concat(pieces).equals(data)).toBe(true);

    writeFileSync(join(dir, 'p1'), data.subarray(0, 50_001));
    writeFileSync(join(dir, 'p2'), data.subarray(50_001));
    const destination = join(dir, 'copy.bin');
    sh(finishScript([join(dir, 'p1'), join(dir, 'p2')], destination, 'copy.bin', facts.sha256, '600', false));
    expect(readFileSync(destination).equals(data)).toBe(true);
    expect(statSync(destination).mode & 0o777).toBe(0o600);

    writeFileSync(join(dir, 'bad'), 'not it');
    expect(() => sh(finishScript([join(dir, 'bad')], join(dir, 'never.bin'), 'never.bin', facts.sha256, '600', false))).toThrow();
    expect(() => statSync(join(dir, 'never.bin'))).toThrow();
    expect(() => statSync(join(dir, 'bad'))).toThrow();
  });
});
