import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Base64Stream, checkCpEnds, cleanupScript, finishScript, parseCpEnd, parseFailure, parseProbe, probeScript, rangeScript, remotePathWord, sourceWord, splitRanges } from '../../src/cli/cp.js';

const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'latin1' });
/** A copy's id: its files on the instance are `.ssmx-cp.<id>.*`. */
const ID = '0123456789abcdef';

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
    const facts = parseProbe(sh(probeScript(file, false, ID)))!;
    expect(facts).toEqual({ kind: 'file', mode: 0o640, size: 100_000, sha256: createHash('sha256').update(data).digest('hex'), source: 'path', name: "it's here.bin" });
    const word = sourceWord(file, facts.source, ID);
    const pieces = splitRanges(facts.size, 3, 10_000).map((range) => Buffer.from(sh(rangeScript(word, range.offset, range.length, false)).trim(), 'base64'));
    expect(Buffer.concat(pieces).equals(data)).toBe(true);

    writeFileSync(join(dir, `.ssmx-cp.${ID}.0`), data.subarray(0, 50_001));
    writeFileSync(join(dir, `.ssmx-cp.${ID}.1`), data.subarray(50_001));
    const destination = join(dir, 'copy.bin');
    sh(finishScript(destination, 'copy.bin', ID, 2, facts.sha256, 0o600, false));
    expect(readFileSync(destination).equals(data)).toBe(true);
    expect(statSync(destination).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['copy.bin', "it's here.bin"]);

    writeFileSync(join(dir, `.ssmx-cp.${ID}.0`), 'not it');
    expect(() => sh(finishScript(join(dir, 'never.bin'), 'never.bin', ID, 1, facts.sha256, 0o600, false))).toThrow();
    expect(() => statSync(join(dir, 'never.bin'))).toThrow();
    expect(() => statSync(join(dir, `.ssmx-cp.${ID}.0`))).toThrow();
  });

  it('a new file gets the permission bits less the umask, setuid dropped; a file replaced keeps its mode (scp, cp)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-cp-unit-'));
    const part = (data: string) => {
      writeFileSync(join(dir, `.ssmx-cp.${ID}.0`), data);
      return createHash('sha256').update(data).digest('hex');
    };
    sh(`umask 077; ${finishScript(join(dir, 'new'), 'new', ID, 1, part('a'), 0o644, false)}`);
    expect(statSync(join(dir, 'new')).mode & 0o7777).toBe(0o600);
    sh(`umask 022; ${finishScript(join(dir, 'tool'), 'tool', ID, 1, part('b'), 0o4755, false)}`);
    expect(statSync(join(dir, 'tool')).mode & 0o7777).toBe(0o755);
    writeFileSync(join(dir, 'old'), 'old');
    chmodSync(join(dir, 'old'), 0o640);
    sh(`umask 022; ${finishScript(join(dir, 'old'), 'old', ID, 1, part('c'), 0o777, false)}`);
    expect(readFileSync(join(dir, 'old'), 'utf8')).toBe('c');
    expect(statSync(join(dir, 'old')).mode & 0o7777).toBe(0o640);
  });

  it('~, ~/x, ~user/x and a relative path are in a home directory, as scp takes them; an absolute one as it is', () => {
    const echo = (path: string) => execFileSync('sh', ['-c', `printf %s ${remotePathWord(path)}`], { encoding: 'utf8', env: { ...process.env, HOME: "/home/it's me" } });
    expect(echo('~')).toBe("/home/it's me");
    expect(echo('~/')).toBe("/home/it's me");
    expect(echo('~/a b/$c')).toBe("/home/it's me/a b/$c");
    expect(echo('notes.txt')).toBe("/home/it's me/notes.txt");
    expect(echo('~root/x')).toBe(`${execFileSync('sh', ['-c', 'printf %s ~root'], { encoding: 'utf8' })}/x`);
    expect(echo("/tmp/it's")).toBe("/tmp/it's");
  });

  it('the probe follows a symbolic link to its file, refuses what is not a regular file, and snapshots a file whose size says 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-cp-unit-'));
    writeFileSync(join(dir, 'secret'), 'secret', { mode: 0o600 });
    symlinkSync('secret', join(dir, 'link'));
    expect(parseProbe(sh(probeScript(join(dir, 'link'), false, ID)))).toMatchObject({ kind: 'file', mode: 0o600, size: 6, name: 'link' });

    const refused = (path: string) => {
      try {
        sh(probeScript(path, false, ID));
      } catch (error) {
        return { status: (error as { status: number }).status, line: parseFailure(String((error as { stdout: string }).stdout)) };
      }
      return undefined;
    };
    expect(refused('/dev/zero')).toEqual({ status: 29, line: { status: 29, said: '' } });
    expect(refused(join(dir, 'absent'))).toEqual({ status: 22, line: { status: 22, said: '' } });

    const id = randomBytes(8).toString('hex');
    const temporary = join(tmpdir(), `.ssmx-cp.${id}.snapshot`);
    const facts = parseProbe(sh(probeScript('/proc/version', false, id)))!;
    expect(facts).toMatchObject({ kind: 'file', source: 'snapshot', size: readFileSync('/proc/version').length, name: 'version' });
    expect(readFileSync(temporary).equals(readFileSync('/proc/version'))).toBe(true);
    sh(cleanupScript(id));
    expect(existsSync(temporary)).toBe(false);
  });
});
