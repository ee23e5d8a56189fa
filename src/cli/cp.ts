import { shQuote } from '../protocol/shlex.js';
import { UsageError } from './errors.js';

/**
 * `ssmx cp`: what is pure in it — which side is remote, the scripts the instance runs, and the
 * decoding of what comes back. The copy rides Session Manager documents alone: a download is a
 * non-interactive command whose stdout carries the file in base64 (the agent's output path is not
 * binary-safe: shell.go processStdoutData turns a literal EF BF BD into EF); an upload goes in
 * through the terminal of an interactive command (a non-interactive one gets no stdin), raw and
 * without echo, in base64 too. Every copy is checked with a SHA-256 computed on the remote side.
 * The instance needs a POSIX shell, base64, sha256sum, head, tail and mktemp (GNU coreutils, as on
 * Linux), and tar for -r.
 */

export interface CpEnd {
  /** The target (id, name, alias, tag:Key=Value) when the path is on an instance. */
  target?: string;
  path: string;
}

/**
 * `TARGET:PATH` is on an instance, as scp reads it: a colon before any slash. A single letter
 * before the colon is a Windows drive (`C:\file`), and `./a:b` a local name.
 */
export function parseCpEnd(text: string, platform: NodeJS.Platform = process.platform): CpEnd {
  const colon = text.indexOf(':');
  const slash = text.search(platform === 'win32' ? /[/\\]/ : /\//);
  if (colon <= 0 || (slash >= 0 && slash < colon) || (platform === 'win32' && /^[A-Za-z]:/.test(text))) return { path: text };
  // tag:Key=Value:path — the tag's own colon is not the separator.
  if (text.startsWith('tag:')) {
    const separator = text.indexOf(':', 4);
    if (separator < 0) return { path: text };
    return { target: text.slice(0, separator), path: text.slice(separator + 1) };
  }
  return { target: text.slice(0, colon), path: text.slice(colon + 1) };
}

export function checkCpEnds(source: CpEnd, destination: CpEnd): 'upload' | 'download' {
  if (source.target && destination.target) throw new UsageError('both ends are on instances; ssmx cp copies between this machine and one instance', 'copy to here first, then on');
  if (!source.target && !destination.target) throw new UsageError('neither end is on an instance', 'write the remote end as TARGET:PATH, for example web-1:/tmp/file');
  const remote = source.target ? source : destination;
  if (remote.path === '') throw new UsageError(`${remote.target}: no path on the instance`, `for example ${remote.target}:/tmp/file`);
  return source.target ? 'download' : 'upload';
}


/** Exit statuses of the remote scripts, each with what it means. */
export const REMOTE_ERRORS: Record<number, string> = {
  21: 'is a directory (give -r to copy a directory)',
  22: 'no such file or directory',
  23: 'permission denied',
  24: 'could not be written (no such directory, no permission, or the disk is full)',
  25: 'arrived damaged: its SHA-256 on the instance differs',
  26: 'is not a directory',
  27: 'a tool the copy needs is missing on the instance (sh, base64, sha256sum, head, tail, mktemp; tar for -r)',
};

const NEEDS = 'for c in base64 sha256sum head tail mktemp; do command -v $c >/dev/null 2>&1 || exit 27; done';

/**
 * Facts about what is to be downloaded, on one line: `SSMXCP <kind> <mode> <size> <sha256> <file>`,
 * where a directory (-r) is first packed with tar into a temporary file, whose name is the last
 * field (removed by the last range's script).
 */
export function probeScript(path: string, recursive: boolean): string {
  const check = `f=${shQuote(path)}; ${NEEDS}; [ -e "$f" ] || exit 22; [ -r "$f" ] || exit 23`;
  const facts = (file: string, kind: string) =>
    `printf 'SSMXCP ${kind} %s %s %s %s\\n' "$(stat -c %a "$f")" "$(wc -c < ${file} | tr -d ' ')" "$(sha256sum < ${file} | cut -d' ' -f1)" ${file}`;
  if (!recursive) return `${check}; [ -d "$f" ] && exit 21; ${facts('"$f"', 'file')}`;
  return `${check}; [ -d "$f" ] || exit 26; command -v tar >/dev/null 2>&1 || exit 27; t=$(mktemp) || exit 24; tar -C "$f" -cf "$t" . || exit 23; ${facts('"$t"', 'dir')}`;
}

/** One range of a file, in base64: `length` bytes from `offset`. */
export const rangeScript = (file: string, offset: number, length: number, removeAfter: boolean): string =>
  `tail -c +${offset + 1} ${shQuote(file)} | head -c ${length} | base64 -w 0; r=$?; echo${removeAfter ? `; rm -f ${shQuote(file)}` : ''}; exit $r`;

/**
 * An upload part: the terminal made raw with no echo, a line naming the new temporary file beside
 * the destination, then exactly `encodedLength` base64 characters read from the terminal and
 * decoded into it, and a line with its SHA-256.
 */
export function receiveScript(destination: string, encodedLength: number): string {
  return `${NEEDS}; t=$(mktemp "$(dirname -- ${shQuote(destination)})/.ssmx-cp.XXXXXX") || exit 24; stty raw -echo; printf 'SSMXCP READY %s\\n' "$t"; head -c ${encodedLength} | base64 -d > "$t" || { rm -f "$t"; exit 24; }; printf 'SSMXCP GOT %s\\n' "$(sha256sum < "$t" | cut -d' ' -f1)"`;
}

/**
 * The end of an upload: parts joined in order (when there are several), the SHA-256 of the whole
 * checked, the mode set, then the rename to the final name (inside the destination when it is a
 * directory) — a partial upload is never left there. With -r the tar file is unpacked into the
 * destination directory instead (a new one inside it when it exists), and removed.
 */
export function finishScript(parts: string[], destination: string, name: string, sha256: string, mode: string, recursive: boolean): string {
  const rest = parts.slice(1).map(shQuote).join(' ');
  const joined = parts.length === 1 ? `t=${shQuote(parts[0]!)}` : `t=${shQuote(parts[0]!)}; cat ${rest} >> "$t" || { rm -f "$t" ${rest}; exit 24; }; rm -f ${rest}`;
  const verify = `[ "$(sha256sum < "$t" | cut -d' ' -f1)" = ${sha256} ] || { rm -f "$t"; exit 25; }`;
  const final = `d=${shQuote(destination)}; [ -d "$d" ] && d="$d/"${shQuote(name)}`;
  if (recursive) return `${joined}; ${verify}; ${final}; mkdir -p "$d" && tar -C "$d" -xf "$t"; r=$?; rm -f "$t"; [ $r = 0 ] || exit 24`;
  return `${joined}; ${verify}; ${final}; [ -d "$d" ] && { rm -f "$t"; exit 21; }; chmod ${mode} "$t" && mv -f "$t" "$d" || { rm -f "$t"; exit 24; }`;
}

/**
 * Base64 text as it arrives, in pieces cut anywhere, decoded as it goes: whitespace dropped, whole
 * quadruples decoded, the rest kept for the next piece.
 */
export class Base64Stream {
  private rest = '';

  push(text: string): Buffer {
    const clean = this.rest + text.replace(/\s+/g, '');
    const whole = clean.length - (clean.length % 4);
    this.rest = clean.slice(whole);
    return Buffer.from(clean.slice(0, whole), 'base64');
  }

  /** Whatever could not be decoded: empty when the text was whole. */
  get leftover(): string {
    return this.rest;
  }
}

/** Splits `size` bytes into up to `count` ranges, each a multiple of 3 bytes but the last (so each part's base64 stands alone). */
export function splitRanges(size: number, count: number, minimum = 256 * 1024): Array<{ offset: number; length: number }> {
  const parts = Math.max(1, Math.min(count, Math.floor(size / minimum)));
  const each = Math.ceil(size / parts / 3) * 3;
  const ranges: Array<{ offset: number; length: number }> = [];
  for (let offset = 0; offset < size || ranges.length === 0; offset += each) ranges.push({ offset, length: Math.min(each, size - offset) });
  return ranges;
}

/** A line `SSMXCP <kind> <mode> <size> <sha256> <file>` from probeScript. */
export function parseProbe(line: string): { kind: 'file' | 'dir'; mode: string; size: number; sha256: string; file: string } | undefined {
  const match = /^SSMXCP (file|dir) ([0-7]{3,4}) (\d+) ([0-9a-f]{64}) (.+)$/.exec(line.trim());
  if (!match) return undefined;
  return { kind: match[1] as 'file' | 'dir', mode: match[2]!, size: Number(match[3]), sha256: match[4]!, file: match[5]! };
}
