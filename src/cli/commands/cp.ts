import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { Writable } from 'node:stream';
import { describeManagedInstance } from '../../aws/targets.js';
import { TERMINATE_WAIT_MS, withTimeout } from '../../session/data-channel-session.js';
import { SessionError } from '../../session/errors.js';
import { awsFor } from '../aws-context.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { Base64Stream, checkCpEnds, cleanupScript, CopyError, finishScript, parseCpEnd, parseProbe, probeScript, rangeScript, receiveScript, sourceWord, splitRanges } from '../cp.js';
import { downloadTarget, openUploadSource, PartialFile, planDownload, Scratch, unpack, type UploadSource } from '../cp-local.js';
import { Remote } from '../cp-remote.js';
import { UsageError } from '../errors.js';
import { Lifecycle } from '../lifecycle.js';
import { DEFAULT_SESSIONS } from '../names.js';

export interface CpOptions extends GlobalOptions {
  recursive?: boolean;
  /** Sessions a large file is split over (checked as the command line is read). */
  sessions?: number;
  reason?: string;
}

/** What a copy holds while it runs: what it must stop, and what it must remove if it does not finish. */
interface Copy {
  remote: Remote;
  progress: Progress;
  stop: AbortSignal;
  /** Files made here, removed unless the copy finished (a renamed file is gone from its temporary name already). */
  partials: PartialFile[];
  id: string;
  recursive: boolean;
  sessions: number;
}

/**
 * `ssmx cp SRC DST`: one end on an instance (TARGET:PATH), the other here. However it ends — done,
 * failed on either side, Ctrl-C — nothing of it is left: its sessions are ended on the service,
 * the files it made here are removed, and so are those it made on the instance (one more session).
 */
export async function cpCommand(sourceText: string, destinationText: string, options: CpOptions, context: CliContext): Promise<number> {
  const source = parseCpEnd(sourceText);
  const destination = parseCpEnd(destinationText);
  const direction = checkCpEnds(source, destination);
  const remoteEnd = direction === 'download' ? source : destination;
  const aws = awsFor(options, context, remoteEnd.target);
  const stopping = new AbortController();
  const lifecycle = new Lifecycle({ signals: context.signals, stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'], onStop: (signal) => stopping.abort(new SessionError('INTERRUPTED', `stopped by ${signal}`)) });
  const progress = new Progress(context, options);
  const scratch = new Scratch();
  const partials: PartialFile[] = [];
  const held: { remote?: Remote } = {};
  let copying: Promise<number> | undefined;
  const copy = async (): Promise<number> => {
    // What can be checked here is checked before any session.
    const local = direction === 'download' ? planDownload(destination.path) : await openUploadSource(source.path, options.recursive === true, scratch, stopping.signal);
    try {
      const instanceId = await aws.resolve(remoteEnd.target);
      // The scripts are POSIX shell with GNU coreutils; PowerShell would need its own.
      if ((await describeManagedInstance(aws.ssm.session, instanceId))?.PlatformType === 'Windows') {
        throw new UsageError(`${remoteEnd.target} is a Windows instance: ssmx cp does not support Windows instances yet`, 'ssmx forward to its SMB or WinRM port, or copy through S3');
      }
      if (stopping.signal.aborted) throw stopping.signal.reason;
      const remote = (held.remote = new Remote(aws, instanceId, lifecycle, options.reason));
      stopping.signal.addEventListener('abort', () => remote.stop(stopping.signal.reason as Error));
      const state: Copy = { remote, progress, stop: stopping.signal, partials, id: randomBytes(8).toString('hex'), recursive: options.recursive === true, sessions: options.sessions ?? DEFAULT_SESSIONS };
      if ('into' in local) await download(state, source.path, local);
      else await upload(state, local, source.path, destination.path);
      progress.done();
      return 0;
    } finally {
      if (!('into' in local)) local.close();
    }
  };
  try {
    return await lifecycle.run(() => (copying = copy()));
  } finally {
    // Nothing writes once every session has ended, then what the copy made is removed, both sides.
    await withTimeout(copying ?? Promise.resolve(0), TERMINATE_WAIT_MS);
    progress.done();
    for (const partial of partials) partial.remove();
    scratch.remove();
    const left = await held.remote?.cleanup();
    if (left) context.stderr.write(`ssmx: warning: ${left}\n`);
    await held.remote?.ended();
    aws.destroy();
  }
}

async function download(copy: Copy, path: string, plan: ReturnType<typeof planDownload>): Promise<void> {
  const { remote } = copy;
  // The probe may pack a tree or snapshot a file in the instance's temporary directory.
  remote.leftovers = cleanupScript(copy.id);
  const probe = await remote.run(probeScript(path, copy.recursive, copy.id), path).catch((error: unknown) => {
    // A script that said why it failed removed what it had made.
    if (error instanceof CopyError) remote.leftovers = undefined;
    throw error;
  });
  const facts = parseProbe(probe.stdout);
  if (!facts) throw new SessionError('PROTOCOL', `the instance did not describe ${path} as ssmx expects (${probe.stdout.slice(0, 200).trim() || 'no output'})`);
  if (facts.source === 'path') remote.leftovers = undefined;
  const target = downloadTarget(plan, facts.name, facts.kind);
  const stopOnFailure = (failure: CopyError) => remote.stop(failure);
  const file = facts.kind === 'dir' ? new PartialFile(target.path, 0o600, undefined, stopOnFailure, '.tar') : new PartialFile(target.path, facts.mode, target.existing && target.existing.mode & 0o777, stopOnFailure);
  copy.partials.push(file);
  copy.progress.start(facts.size);
  const ranges = splitRanges(facts.size, copy.sessions);
  const word = sourceWord(path, facts.source, copy.id);
  await together(
    remote,
    ranges.map((range) => async () => {
      const decoder = new Base64Stream();
      let position = range.offset;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          const bytes = decoder.push(chunk.toString('latin1'));
          if (bytes.length) {
            file.write(bytes, position);
            position += bytes.length;
            copy.progress.add(bytes.length);
          }
          done();
        },
      });
      await remote.run(rangeScript(word, range.offset, range.length, facts.source !== 'path' && ranges.length === 1), path, sink);
      if (file.failed) throw file.failed;
      // The command ended well, with fewer bytes than the file had: it was cut short meanwhile.
      if (position - range.offset !== range.length || decoder.leftover !== '') {
        throw new CopyError('CHANGED', `${path}: became shorter on the instance while it was copied (bytes ${range.offset}-${range.offset + range.length} came back ${position - range.offset}); nothing was written`);
      }
    }),
  );
  if (facts.source !== 'path') {
    if (ranges.length > 1) await remote.run(`rm -f -- ${word}`, path);
    remote.leftovers = undefined;
  }
  if (facts.kind === 'file') return file.finish(facts.sha256);
  await file.finish(facts.sha256, false);
  await unpack(file.path, target.path, copy.stop);
}

async function upload(copy: Copy, source: UploadSource, local: string, path: string): Promise<void> {
  const { remote } = copy;
  const name = basename(local.replace(/[/\\]+$/, '')) || 'upload';
  // What the errors call the destination: the file in it, when it was written `dir/`, unless
  // the directory is what is wrong (30: there is none, 26: not a directory).
  const shown = (status: number) => (path.endsWith('/') && status !== 30 && status !== 26 ? `${path}${name}` : path);
  const tree = source.kind === 'dir';
  copy.progress.start(source.size);
  const ranges = splitRanges(source.size, copy.sessions);
  remote.leftovers = cleanupScript(copy.id, { path, name });
  await together(
    remote,
    ranges.map((range, part) => () => remote.receive(receiveScript(path, name, copy.id, part, tree, Math.ceil(range.length / 3) * 4), shown, () => source.read(range), (count) => copy.progress.add(count))),
  );
  await remote.run(finishScript(path, name, copy.id, ranges.length, source.sha256, source.mode, tree), shown).catch((error: unknown) => {
    // Every part arrived as it was sent (each part's SHA-256 is checked): the whole differs from
    // what it was at the start because the file changed here meanwhile.
    if (error instanceof CopyError && error.code === 'DAMAGED') throw new CopyError('CHANGED', `${local}: changed while it was copied (its SHA-256 is not the one it had at the start); nothing was written`);
    throw error;
  });
  remote.leftovers = undefined;
}

/** The tasks at once; the first to fail stops the others (their sessions ended), and once all have settled its error is thrown. */
async function together(remote: Remote, tasks: Array<() => Promise<void>>): Promise<void> {
  let first: { error: unknown } | undefined;
  await Promise.all(
    tasks.map((task) =>
      task().catch((error: unknown) => {
        if (first) return;
        first = { error };
        remote.stop(error as Error);
      }),
    ),
  );
  if (first) throw first.error;
}

/** Bytes and rate on a terminal's stderr; nothing elsewhere, nothing on stdout. */
class Progress {
  private total = 0;
  private done_ = 0;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly shown: boolean;

  constructor(
    private readonly context: CliContext,
    options: GlobalOptions,
  ) {
    this.shown = context.stderrIsTTY && !options.quiet;
  }

  start(total: number): void {
    this.total = total;
    this.started = Date.now();
    if (this.shown) this.timer = setInterval(() => this.draw(), 200);
  }

  add(bytes: number): void {
    this.done_ += bytes;
  }

  done(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    this.context.stderr.write('\n');
  }

  private draw(): void {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const share = this.total ? Math.min(1, this.done_ / this.total) : 1;
    const bar = '#'.repeat(Math.round(share * 20)).padEnd(20, '.');
    this.context.stderr.write(`\r[${bar}] ${mib(this.done_)} / ${mib(this.total)}  ${(this.done_ / seconds / 1e6).toFixed(1)} MB/s `);
  }
}
