import { shQuote } from '../protocol/shlex.js';
import { UsageError } from './errors.js';

/**
 * `ssmx cp`: what is pure in it — which side is remote, the scripts the instance runs, and the
 * decoding of what comes back. The copy rides Session Manager documents alone: a download is a
 * non-interactive command whose stdout carries the file in base64 (the agent's output path is not
 * binary-safe: shell.go processStdoutData turns a literal EF BF BD into EF); an upload goes in
 * through the terminal of an interactive command (a non-interactive one gets no stdin), raw and
 * without echo, in base64 too. Every copy is checked with a SHA-256 computed on the remote side.
 * The instance needs a POSIX shell, base64, sha256sum, head, tail and stat (GNU coreutils, as on
 * Linux), and GNU tar for -r.
 *
 * Every file a copy makes on the instance is named `.ssmx-cp.<id>.<what>` (the id is the copy's
 * own), beside the destination or in the instance's temporary directory, so that one `rm` of
 * `.ssmx-cp.<id>.*` there removes whatever an interrupted copy left (cleanupScript).
 */

/** Why a copy failed, on either side; a script matches the code. Exit status 1, as scp's. */
export type CopyErrorCode = 'NOT_FOUND' | 'NOT_A_DIRECTORY' | 'IS_A_DIRECTORY' | 'NOT_REGULAR' | 'PERMISSION' | 'NO_SPACE' | 'READ' | 'WRITE' | 'DAMAGED' | 'CHANGED' | 'REMOTE';

export class CopyError extends Error {
  override readonly name = 'CopyError';
  constructor(
    readonly code: CopyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Upload: bytes read at a time, 48 KiB of base64 in the remote terminal. */
export const UPLOAD_READ_BYTES = ((48 * 1024) / 4) * 3;

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

/**
 * Why a remote script failed: its exit status, each said as what it means, and whether what the
 * script said (a tool's own error: "Read-only file system") follows. Every script reports a
 * failure as a line `SSMXCP FAIL <status> <what the tool said>` too, since an interactive command
 * (an upload's part) has no exit status for the client.
 */
export const REMOTE_ERRORS: Record<number, { meaning: string; detail: boolean }> = {
  21: { meaning: 'is a directory (give -r to copy a directory)', detail: false },
  22: { meaning: 'no such file or directory', detail: false },
  23: { meaning: 'permission denied', detail: false },
  24: { meaning: 'cannot be written on the instance', detail: true },
  25: { meaning: 'arrived damaged: its SHA-256 on the instance differs; nothing was written', detail: false },
  26: { meaning: 'is not a directory', detail: false },
  27: { meaning: 'a tool the copy needs is missing on the instance (sh, base64, sha256sum, head, tail, stat; GNU tar for -r)', detail: false },
  28: { meaning: 'could not be read on the instance', detail: true },
  29: { meaning: 'not a regular file (ssmx cp copies files, and directories with -r)', detail: false },
  30: { meaning: 'no such directory on the instance', detail: false },
};

const NEEDS = 'for c in base64 sha256sum head tail stat od; do command -v $c >/dev/null 2>&1 || fail 27; done';
/** `fail STATUS [WHAT]`: the FAIL line with the first line the tool said (its reason; later ones repeat it), then the status. */
const FAIL = `fail() { printf 'SSMXCP FAIL %s %s\\n' "$1" "$(printf '%s\\n' "$2" | head -n 1)"; exit "$1"; }`;
/** GNU tar unpacking as scp -r writes files without -p: the copier's ownership, modes less the umask. */
const UNTAR = 'tar --no-same-owner --no-same-permissions';

/**
 * A remote path as a shell word: `~` and `~/…` in the home directory, `~user/…` in that user's, and
 * a relative path from the home directory too, as scp takes them — the agent starts a command in
 * its own working directory, not the user's home (shell_unix.go StartCommandExecutor sets no Dir),
 * but it does set HOME for the user it runs as.
 */
export function remotePathWord(path: string): string {
  const home = /^~([A-Za-z0-9._-]*)(\/.*)?$/.exec(path);
  if (home) {
    const rest = (home[2] ?? '').replace(/^\/+/, '');
    const base = home[1] ? `~${home[1]}` : '"$HOME"';
    return rest ? `${base}/${shQuote(rest)}` : base;
  }
  return path.startsWith('/') ? shQuote(path) : `"$HOME"/${shQuote(path)}`;
}

/** The stem of the copy's files in the instance's temporary directory (a download's tar or snapshot). */
const remoteTemporary = (id: string) => `"\${TMPDIR:-/tmp}"/.ssmx-cp.${id}`;

export type RemoteSource = 'path' | 'tar' | 'snapshot';

/**
 * Facts about what is to be downloaded, on one line:
 * `SSMXCP <kind> <mode> <size> <sha256> <source> <name in hex>`. A regular file is read up to the
 * size it has now, and that is what the SHA-256 covers: a log that grows meanwhile comes as it was
 * (a snapshot, checked as such). A file whose size says 0 (those of /proc and /sys) is copied
 * first, to its end, into a snapshot; a directory (-r) is packed with tar. Symbolic links are
 * followed, as scp follows them; anything else that is not a regular file is refused.
 */
export function probeScript(path: string, recursive: boolean, id: string): string {
  const temporary = remoteTemporary(id);
  const pack = recursive
    ? `command -v tar >/dev/null 2>&1 || fail 27; e=$(tar -C "$f" -cf ${temporary}.tar . 2>&1) || { rm -f -- ${temporary}.tar; fail 28 "$e"; }; s=${temporary}.tar; z=$(stat -c %s "$s"); k=dir; o=tar`
    : 'fail 21';
  return [
    FAIL,
    NEEDS,
    `f=${remotePathWord(path)}`,
    '[ -e "$f" ] || fail 22',
    '[ -r "$f" ] || fail 23',
    `if [ -d "$f" ]; then ${pack}`,
    `elif [ -f "$f" ]; then k=file; s=$f; o=path; z=$(stat -L -c %s "$f")`,
    `  if [ "$z" = 0 ]; then e=$(cat -- "$f" 2>&1 > ${temporary}.snapshot) || { rm -f -- ${temporary}.snapshot; fail 28 "$e"; }; s=${temporary}.snapshot; z=$(stat -c %s "$s"); o=snapshot; fi`,
    'else fail 29; fi',
    `h=$(head -c "$z" -- "$s" | sha256sum | cut -d' ' -f1)`,
    `n=$(basename -- "$f" | od -An -tx1 | tr -d ' \\n')`,
    `printf 'SSMXCP %s %s %s %s %s %s\\n' "$k" "$(stat -L -c %a "$f")" "$z" "$h" "$o" "$n"`,
  ].join('; ');
}

/** A line `SSMXCP <kind> <mode> <size> <sha256> <source> <name in hex>` from probeScript. */
export function parseProbe(text: string): { kind: 'file' | 'dir'; mode: number; size: number; sha256: string; source: RemoteSource; name: string } | undefined {
  const match = /^SSMXCP (file|dir) ([0-7]{3,4}) (\d+) ([0-9a-f]{64}) (path|tar|snapshot) ((?:[0-9a-f]{2})*)$/m.exec(text);
  if (!match) return undefined;
  // basename's own newline is the last byte of the name.
  const name = Buffer.from(match[6]!, 'hex').toString('utf8').replace(/\n$/, '');
  return { kind: match[1] as 'file' | 'dir', mode: parseInt(match[2]!, 8), size: Number(match[3]), sha256: match[4]!, source: match[5] as RemoteSource, name };
}

/** The file a download's ranges read: the path itself, or the probe's tar or snapshot. */
export function sourceWord(path: string, source: RemoteSource, id: string): string {
  return source === 'path' ? remotePathWord(path) : `${remoteTemporary(id)}.${source}`;
}

/** One range of a file, in base64: `length` bytes from `offset`. */
export const rangeScript = (file: string, offset: number, length: number, removeAfter: boolean): string =>
  `tail -c +${offset + 1} -- ${file} | head -c ${length} | base64 -w 0; r=$?; echo${removeAfter ? `; rm -f -- ${file}` : ''}; exit $r`;

/**
 * Where an upload goes: `$d` the final path (inside the destination when that is a directory, under
 * the source's name), `$p` the directory it is made in, `$t` the stem of the copy's files there.
 * A destination written `dir/` must be a directory, as scp has it.
 */
function destination(path: string, name: string, id: string, strict = true): string {
  return [
    FAIL,
    `d=${remotePathWord(path)}`,
    ...(strict ? ['case "$d" in */) [ -d "$d" ] || fail 30;; esac'] : []),
    `[ -d "$d" ] && d="\${d%/}/"${shQuote(name)}`,
    'p=$(dirname -- "$d")',
    `t="$p/.ssmx-cp.${id}"`,
  ].join('; ');
}

/** What must hold before any byte is sent: the directory exists and takes a file, the destination is not a directory. */
function destinationChecks(recursive: boolean): string {
  return [
    '[ -e "$p" ] || fail 30',
    '[ -d "$p" ] || fail 26',
    recursive ? '[ -e "$d" ] && ! [ -d "$d" ] && fail 26' : '[ -d "$d" ] && fail 21',
  ].join('; ');
}

/**
 * An upload part: the checks, the part's file made (private until the end), the terminal made raw
 * with no echo, a line READY, then exactly `encodedLength` base64 characters read from the terminal
 * and decoded into the part, and a line with its SHA-256.
 */
export function receiveScript(path: string, name: string, id: string, part: number, recursive: boolean, encodedLength: number): string {
  return [
    destination(path, name, id),
    'for c in base64 sha256sum head; do command -v $c >/dev/null 2>&1 || fail 27; done',
    destinationChecks(recursive),
    `f="$t.${part}"`,
    'e=$( (umask 077; set -C; : > "$f") 2>&1 ) || fail 24 "$e"',
    'stty raw -echo',
    "printf 'SSMXCP READY\\n'",
    `e=$(head -c ${encodedLength} | base64 -d 2>&1 > "$f") || { rm -f -- "$f"; fail 24 "$e"; }`,
    `printf 'SSMXCP GOT %s\\n' "$(sha256sum < "$f" | cut -d' ' -f1)"`,
  ].join('; ');
}

/**
 * The end of an upload: the parts joined in order, the SHA-256 of the whole checked, then the file
 * renamed to its final name — a partial upload is never there. Its mode is the destination's when
 * it replaces a file, else the source's permission bits less the instance's umask, as scp and cp
 * give a new file (setuid and setgid dropped). With -r the tar is unpacked into a new directory
 * beside the destination, renamed into place; into one that exists already, it is unpacked there
 * (merged, as scp -r does).
 */
export function finishScript(path: string, name: string, id: string, parts: number, sha256: string, mode: number, recursive: boolean): string {
  const rest = Array.from({ length: parts - 1 }, (_, i) => `"$t.${i + 1}"`).join(' ');
  const lines = [destination(path, name, id), destinationChecks(recursive), 'f="$t.0"'];
  if (parts > 1) lines.push(`e=$(cat ${rest} 2>&1 >> "$f") || fail 24 "$e"`, `rm -f -- ${rest}`);
  lines.push(`[ "$(sha256sum < "$f" | cut -d' ' -f1)" = ${sha256} ] || { rm -f -- "$f"; fail 25; }`);
  if (recursive) {
    lines.push(
      `if [ -d "$d" ]; then e=$(${UNTAR} -C "$d" -xf "$f" 2>&1) || fail 24 "$e"`,
      `else e=$(mkdir -- "$t.d" 2>&1 && ${UNTAR} -C "$t.d" -xf "$f" 2>&1 && mv -- "$t.d" "$d" 2>&1) || fail 24 "$e"; fi`,
      'rm -f -- "$f"',
    );
  } else {
    lines.push(
      `if [ -f "$d" ]; then m=$(printf %o $(( 0$(stat -L -c %a "$d") & 0777 ))); else m=$(printf %o $(( 0${(mode & 0o777).toString(8)} & ~0$(umask) & 0777 ))); fi`,
      'e=$(chmod "$m" "$f" 2>&1 && mv -f -- "$f" "$d" 2>&1) || fail 24 "$e"',
    );
  }
  return lines.join('; ');
}

/** Whatever a copy that did not finish left on the instance: its files beside the destination, or in the temporary directory. */
export function cleanupScript(id: string, upload?: { path: string; name: string }): string {
  if (!upload) return `rm -rf -- ${remoteTemporary(id)}.*`;
  return `${destination(upload.path, upload.name, id, false)}; rm -rf -- "$t".*`;
}

/** A script's `SSMXCP FAIL <status> <what>` line: the status, and what the tool said. */
export function parseFailure(text: string): { status: number; said: string } | undefined {
  const match = /SSMXCP FAIL (\d+) ?([^\r\n]*)/.exec(text);
  return match ? { status: Number(match[1]), said: match[2]!.trim() } : undefined;
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
