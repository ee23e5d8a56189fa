import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, createReadStream, createWriteStream, fstatSync, mkdirSync, mkdtempSync, open, openSync, read as readAt, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyError, UPLOAD_READ_BYTES, type CopyErrorCode } from './cp.js';

/**
 * `ssmx cp`'s side on this machine: the file an upload reads (checked, and taken as it is when
 * the copy starts), and the file or tree a download writes (under a temporary name beside its
 * destination until it is checked). Whatever the copy made here is removed if it does not finish.
 */

/** GNU tar and bsdtar unpacking as scp -r writes files without -p: the copier's ownership, modes less the umask. */
const UNTAR = ['--no-same-owner', '--no-same-permissions'];

/** Files of the copy's own in this machine's temporary directory (an upload's tar or snapshot), made when first needed. */
export class Scratch {
  private folder: string | undefined;

  path(name: string): string {
    this.folder ??= mkdtempSync(join(tmpdir(), 'ssmx-cp-'));
    return join(this.folder, name);
  }

  remove(): void {
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
    this.folder = undefined;
  }
}

/** What an upload sends: opened once; its size and SHA-256 taken when the copy starts. */
export interface UploadSource {
  /** A directory is sent as a tar file (-r). */
  kind: 'file' | 'dir';
  size: number;
  sha256: string;
  /** The permission bits (setuid, setgid and sticky are not copied, as scp and cp drop them). */
  mode: number;
  /** Bytes `offset` to `offset + length` of it, as they were when it was opened. */
  read(range: { offset: number; length: number }): Readable;
  close(): void;
}

/**
 * The local end of an upload. Opened without blocking, so a FIFO cannot hang the copy, and
 * checked as scp checks it: a regular file (or a directory with -r), followed through symbolic
 * links; anything else is refused. A file is read up to the size it has when opened — a log that
 * grows meanwhile goes as it was, and its SHA-256 is of those bytes — and a file whose size says 0
 * (those of /proc and /sys) is read to its end first, into a snapshot.
 */
export async function openUploadSource(path: string, recursive: boolean, scratch: Scratch, signal: AbortSignal): Promise<UploadSource> {
  let named: Stats;
  try {
    named = statSync(path);
  } catch (error) {
    throw localFailure(path, error, 'read');
  }
  if (named.isDirectory()) {
    if (!recursive) throw new CopyError('IS_A_DIRECTORY', `${path}: is a directory (give -r to copy a directory)`);
    const tar = scratch.path('tree.tar');
    await runLocal('tar', ['-cf', tar, '-C', path, '.'], signal, path);
    return snapshotOf(await openForReading(tar), 'dir', named.mode, path, signal);
  }
  if (!named.isFile()) throw notRegular(path);
  // What is read is what was opened: checked again, should the name have changed hands meanwhile.
  const fd = await openForReading(path);
  const info = fstatSync(fd);
  if (!info.isFile()) {
    closeSync(fd);
    throw notRegular(path);
  }
  if (info.size > 0) return snapshotOf(fd, 'file', info.mode, path, signal, info.size);
  const snapshot = scratch.path('snapshot');
  try {
    await pipeline(createReadStream('', { fd }), createWriteStream(snapshot), { signal });
  } catch (error) {
    throw signal.aborted ? signal.reason : localFailure(path, error, 'read');
  }
  return snapshotOf(await openForReading(snapshot), 'file', info.mode, path, signal);
}

async function snapshotOf(fd: number, kind: 'file' | 'dir', mode: number, path: string, signal: AbortSignal, size = fstatSync(fd).size): Promise<UploadSource> {
  const read = (range: { offset: number; length: number }) => rangeOf(fd, range.offset, range.length, path);
  let sha256: string;
  try {
    sha256 = await sha256Of(read({ offset: 0, length: size }), signal);
  } catch (error) {
    closeSync(fd);
    throw signal.aborted ? signal.reason : localFailure(path, error, 'read');
  }
  return { kind, size, sha256, mode: mode & 0o777, read, close: () => closeSync(fd) };
}

async function sha256Of(bytes: Readable, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const into = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done();
    },
  });
  await (signal ? pipeline(bytes, into, { signal }) : pipeline(bytes, into));
  return hash.digest('hex');
}

/**
 * `length` bytes from `offset` of an open file, read where they are (pread): parts read at once
 * share the descriptor, which stays open (an fs.ReadStream closes its descriptor when destroyed).
 * A file that has become shorter meanwhile fails it: the instance waits for every byte.
 */
function rangeOf(fd: number, offset: number, length: number, path: string): Readable {
  let position = offset;
  const end = offset + length;
  return new Readable({
    read(size) {
      const want = Math.min(Math.max(size, UPLOAD_READ_BYTES), end - position);
      if (want <= 0) return void this.push(null);
      readAt(fd, Buffer.allocUnsafe(want), 0, want, position, (error, count, buffer) => {
        if (error) return this.destroy(localFailure(path, error, 'read'));
        if (count === 0) return this.destroy(new CopyError('CHANGED', `${path}: became shorter while it was copied; nothing was written`));
        position += count;
        this.push(buffer.subarray(0, count));
      });
    },
  });
}

const notRegular = (path: string) => new CopyError('NOT_REGULAR', `${path}: not a regular file (ssmx cp copies files, and directories with -r)`);

/** Opened for reading in the thread pool, and without waiting for a FIFO's writer: the event loop keeps answering Ctrl-C. */
function openForReading(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0), (error, fd) => (error ? reject(localFailure(path, error, 'read')) : resolve(fd)));
  });
}

/** Where a download goes, checked before any session: a destination written `dir/`, or one that exists as a directory, receives it under its own name. */
export interface DownloadPlan {
  path: string;
  into: boolean;
}

export function planDownload(path: string): DownloadPlan {
  const info = statOrUndefined(path);
  if (info?.isDirectory()) return { path, into: true };
  if (/[/\\]$/.test(path) || ['.', '..'].includes(basename(path))) {
    throw info ? new CopyError('NOT_A_DIRECTORY', `${path}: is not a directory`) : new CopyError('NOT_FOUND', `${path}: no such directory`);
  }
  checkParent(path);
  if (info && !info.isFile()) throw notRegular(path);
  return { path, into: false };
}

/** The final path, once the instance has said the source's name and kind, checked as the plan was. */
export function downloadTarget(plan: DownloadPlan, name: string, kind: 'file' | 'dir'): { path: string; existing: Stats | undefined } {
  const path = plan.into ? join(plan.path, name || 'root') : plan.path;
  const existing = statOrUndefined(path);
  if (kind === 'file' && existing?.isDirectory()) throw new CopyError('IS_A_DIRECTORY', `${path}: is a directory`);
  if (kind === 'dir' && existing && !existing.isDirectory()) throw new CopyError('NOT_A_DIRECTORY', `${path}: is not a directory`);
  if (kind === 'file' && existing && !existing.isFile()) throw notRegular(path);
  return { path, existing };
}

function checkParent(path: string): void {
  const parent = dirname(path);
  const info = statOrUndefined(parent);
  if (!info) throw new CopyError('NOT_FOUND', `${path}: no such directory ${parent}`);
  if (!info.isDirectory()) throw new CopyError('NOT_A_DIRECTORY', `${path}: ${parent} is not a directory`);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * A download's bytes, written where they go as they arrive, under a temporary name beside the
 * destination; renamed to it only once its SHA-256 is the instance's. A write that fails (a full
 * disk) is said once, and the copy stopped by `onFailure`; the writes that still arrive are dropped.
 */
export class PartialFile {
  private fd: number | undefined;
  private failure: CopyError | undefined;
  readonly path: string;

  /**
   * `mode`: the permission bits it is made with, less the umask by the kernel, as scp and cp make a
   * new file; a file it replaces keeps its own (`keep`).
   */
  constructor(
    private readonly final: string,
    mode: number,
    private readonly keep: number | undefined,
    private readonly onFailure: (failure: CopyError) => void,
    suffix = '',
  ) {
    this.path = join(dirname(final), `.${basename(final)}.ssmx-partial-${randomBytes(4).toString('hex')}${suffix}`);
    try {
      this.fd = openSync(this.path, 'wx', keep === undefined ? mode & 0o777 : mode & keep & 0o777);
    } catch (error) {
      throw localFailure(final, error, 'write');
    }
  }

  get failed(): CopyError | undefined {
    return this.failure;
  }

  write(bytes: Buffer, position: number): void {
    if (this.fd === undefined || this.failure) return;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    } catch (error) {
      this.failure = localFailure(this.final, error, 'write');
      this.onFailure(this.failure);
    }
  }

  /** Closed, checked against the instance's SHA-256, then under its final name (a file) or left for unpacking (a tree). */
  async finish(sha256: string, rename = true): Promise<void> {
    this.close();
    if (this.failure) throw this.failure;
    if ((await sha256Of(createReadStream(this.path))) !== sha256) throw new CopyError('DAMAGED', `${this.final} arrived damaged: its SHA-256 differs from the instance's (or the file changed there while it was copied); nothing was written`);
    if (!rename) return;
    try {
      if (this.keep !== undefined) chmodSync(this.path, this.keep);
      renameSync(this.path, this.final);
    } catch (error) {
      throw localFailure(this.final, error, 'write');
    }
  }

  /** Gone, whatever state it is in (nothing when it was renamed). */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  private close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch (error) {
      // A network file system may say only now that the bytes did not fit.
      this.failure ??= localFailure(this.final, error, 'write');
    }
  }
}

/**
 * A downloaded tree unpacked at `target`: into a new directory beside it, renamed into place, so
 * that a failure leaves nothing; into one that exists, merged there (as scp -r does).
 */
export async function unpack(tar: string, target: string, signal: AbortSignal): Promise<void> {
  if (statOrUndefined(target)?.isDirectory()) return runLocal('tar', [...UNTAR, '-xf', tar, '-C', target], signal, target);
  const fresh = join(dirname(target), `.${basename(target)}.ssmx-partial-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(fresh);
    await runLocal('tar', [...UNTAR, '-xf', tar, '-C', fresh], signal, target);
    renameSync(fresh, target);
  } catch (error) {
    rmSync(fresh, { recursive: true, force: true });
    throw error instanceof CopyError || signal.aborted ? error : localFailure(target, error, 'write');
  }
}

function runLocal(command: string, args: string[], signal: AbortSignal, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (signal.aborted) return reject(signal.reason);
      reject(error.code === 'ENOENT' ? new CopyError('REMOTE', `${command} is not on this machine, and ssmx cp -r needs it`) : error);
    });
    child.once('close', (code) => {
      if (code === 0) return resolve();
      if (signal.aborted) return reject(signal.reason);
      const reason = stderr.trim().split('\n')[0]?.split(': ').at(-1) ?? `status ${code}`;
      reject(new CopyError(/No space left/i.test(reason) ? 'NO_SPACE' : 'WRITE', `${path}: ${command} failed here: ${reason}`));
    });
  });
}

/** A local file system error, said as scp says it, with the code for scripts. */
export function localFailure(path: string, error: unknown, doing: 'read' | 'write'): CopyError {
  const code = (error as NodeJS.ErrnoException).code;
  const known: Record<string, [CopyErrorCode, string]> = {
    ENOENT: ['NOT_FOUND', 'no such file or directory'],
    ENOTDIR: ['NOT_A_DIRECTORY', 'not a directory'],
    EISDIR: ['IS_A_DIRECTORY', 'is a directory'],
    EACCES: ['PERMISSION', 'permission denied'],
    EPERM: ['PERMISSION', 'permission denied'],
    EROFS: ['WRITE', 'cannot be written: read-only file system'],
    ENOSPC: ['NO_SPACE', "no space left on this machine's disk (ENOSPC); nothing was written"],
    EDQUOT: ['NO_SPACE', 'over the disk quota on this machine (EDQUOT); nothing was written'],
    EIO: [doing === 'read' ? 'READ' : 'WRITE', `${doing === 'read' ? 'could not be read' : 'cannot be written'}: input/output error`],
  };
  const [kind, meaning] = known[code ?? ''] ?? [doing === 'read' ? 'READ' : 'WRITE', `${doing === 'read' ? 'could not be read' : 'cannot be written'}: ${code ?? (error as Error).message}`];
  return new CopyError(kind, `${path}: ${meaning}`);
}
