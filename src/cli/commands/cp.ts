import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { AwsError } from '../../aws/errors.js';
import { describeManagedInstance } from '../../aws/targets.js';
import { SessionError } from '../../session/errors.js';
import { runShell } from '../../session/shell.js';
import { awsFor, type CommandAws } from '../aws-context.js';
import { openSession } from '../connect.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { Base64Stream, checkCpEnds, finishScript, parseCpEnd, parseProbe, probeScript, rangeScript, receiveScript, REMOTE_ERRORS, splitRanges } from '../cp.js';
import { UsageError } from '../errors.js';
import { Lifecycle } from '../lifecycle.js';
import { DEFAULT_SESSIONS, RUN_DOCUMENT } from '../names.js';
import { agentCommandLine } from './exec.js';
import { shQuote } from '../../protocol/shlex.js';

export interface CpOptions extends GlobalOptions {
  recursive?: boolean;
  /** Sessions a large file is split over (checked as the command line is read). */
  sessions?: number;
  reason?: string;
}

/** Upload: base64 characters written to the remote terminal at a time. */
const INPUT_CHUNK = 48 * 1024;

/** `ssmx cp SRC DST`: one end on an instance (TARGET:PATH), the other here. */
export async function cpCommand(sourceText: string, destinationText: string, options: CpOptions, context: CliContext): Promise<number> {
  const source = parseCpEnd(sourceText);
  const destination = parseCpEnd(destinationText);
  const direction = checkCpEnds(source, destination);
  const remote = direction === 'download' ? source : destination;
  const sessions = options.sessions ?? DEFAULT_SESSIONS;
  const aws = awsFor(options, context, remote.target);
  const lifecycle = new Lifecycle({ signals: context.signals, stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'] });
  const cleanups: Array<() => void> = [];
  try {
    return await lifecycle.run(async () => {
      const instanceId = await aws.resolve(remote.target);
      // The scripts are POSIX shell with GNU coreutils; PowerShell would need its own.
      if ((await describeManagedInstance(aws.ssm.session, instanceId))?.PlatformType === 'Windows') {
        throw new UsageError(`${remote.target} is a Windows instance: ssmx cp does not support Windows instances yet`, 'ssmx forward to its SMB or WinRM port, or copy through S3');
      }
      const remote_ = new Remote(aws, instanceId, lifecycle, context, options.reason);
      const progress = new Progress(context, options);
      cleanups.push(() => progress.done());
      if (direction === 'download') await download(remote_, source.path, destination.path, options.recursive === true, sessions, progress, cleanups);
      else await upload(remote_, source.path, destination.path, options.recursive === true, sessions, progress, cleanups);
      progress.done();
      return 0;
    });
  } finally {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    aws.destroy();
  }
}

async function download(remote: Remote, path: string, local: string, recursive: boolean, sessions: number, progress: Progress, cleanups: Array<() => void>): Promise<void> {
  const probe = await remote.run(probeScript(path, recursive), path);
  const facts = parseProbe(probe.stdout.split('\n').find((line) => line.startsWith('SSMXCP ')) ?? '');
  if (!facts) throw new SessionError('PROTOCOL', `the instance did not describe ${path} as ssmx expects (${probe.stdout.slice(0, 200).trim() || 'no output'})`);
  const into = existsSync(local) && statSync(local).isDirectory();
  const final = into ? join(local, basename(path.replace(/\/+$/, '')) || 'root') : local;
  const temporary = recursive ? join(mkdtempSync(join(tmpdir(), 'ssmx-cp-')), 'tree.tar') : join(dirname(final), `.${basename(final)}.ssmx-partial-${randomBytes(4).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(temporary, 'w', 0o600);
  } catch (error) {
    throw new UsageError(`cannot write ${final}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  cleanups.push(() => {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(recursive ? dirname(temporary) : temporary, { recursive: true, force: true });
  });
  progress.start(facts.size);
  const ranges = splitRanges(facts.size, sessions);
  await Promise.all(
    ranges.map(async (range, index) => {
      const decoder = new Base64Stream();
      let position = range.offset;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          const bytes = decoder.push(chunk.toString('latin1'));
          if (bytes.length) {
            writeSync(fd, bytes, 0, bytes.length, position);
            position += bytes.length;
            progress.add(bytes.length);
          }
          done();
        },
      });
      const last = index === ranges.length - 1;
      await remote.run(rangeScript(facts.file, range.offset, range.length, recursive && last && ranges.length === 1), path, sink);
      if (position - range.offset !== range.length || decoder.leftover !== '') {
        throw new CopyError(`${path}: bytes ${range.offset}-${range.offset + range.length} came back short (${position - range.offset} bytes)`);
      }
    }),
  );
  if (recursive && ranges.length > 1) await remote.run(`rm -f ${shQuote(facts.file)}`, path);
  closeSync(fd);
  if ((await sha256Of(temporary)) !== facts.sha256) throw new CopyError(`${path} arrived damaged: its SHA-256 differs from the instance's; nothing was written`);
  if (recursive) {
    const target = existsSync(local) ? join(local, basename(path.replace(/\/+$/, '')) || 'root') : local;
    await runLocal('tar', ['-xf', temporary, '-C', makeDirectory(target)]);
    return;
  }
  chmodSync(temporary, parseInt(facts.mode, 8) & 0o7777);
  renameSync(temporary, final);
}

async function upload(remote: Remote, local: string, path: string, recursive: boolean, sessions: number, progress: Progress, cleanups: Array<() => void>): Promise<void> {
  let info;
  try {
    info = statSync(local);
  } catch (error) {
    throw new UsageError(`${local}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`);
  }
  if (info.isDirectory() && !recursive) throw new UsageError(`${local} is a directory`, 'give -r to copy a directory');
  let file = local;
  if (recursive) {
    if (!info.isDirectory()) throw new UsageError(`${local} is not a directory (-r copies a directory)`);
    const folder = mkdtempSync(join(tmpdir(), 'ssmx-cp-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    file = join(folder, 'tree.tar');
    await runLocal('tar', ['-cf', file, '-C', local, '.']);
  }
  const size = statSync(file).size;
  const sha256 = await sha256Of(file);
  const mode = (info.mode & 0o7777).toString(8);
  const name = basename(local.replace(/[/\\]+$/, '')) || 'upload';
  const destination = path.endsWith('/') ? `${path}${name}` : path;
  progress.start(size);
  const ranges = splitRanges(size, sessions);
  const settled = await Promise.allSettled(ranges.map((range) => remote.receive(file, range, destination, progress)));
  const parts = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    // The parts that did arrive are not left beside the destination.
    if (parts.length) await remote.run(`rm -f ${parts.map(shQuote).join(' ')}`, path).catch(() => undefined);
    throw failed.reason;
  }
  await remote.run(finishScript(parts, destination, name, sha256, mode, recursive), path);
}

/** Sessions on the instance, each ended with the command whatever happens. */
class Remote {
  constructor(
    private readonly aws: CommandAws,
    private readonly instanceId: string,
    private readonly lifecycle: Lifecycle,
    private readonly context: CliContext,
    private readonly reason: string | undefined,
  ) {}

  /** A script as a non-interactive command: its stdout to `sink` (or kept), its status checked. */
  async run(script: string, path: string, sink?: Writable): Promise<{ stdout: string }> {
    let stdout = '';
    const out = sink ?? new Writable({ write: (chunk: Buffer, _encoding, done) => ((stdout += chunk.toString('utf8')), done()) });
    let stderr = '';
    const err = new Writable({ write: (chunk: Buffer, _encoding, done) => ((stderr += chunk.toString('utf8')), done()) });
    let session;
    try {
      session = await this.open(RUN_DOCUMENT, script);
    } catch (error) {
      if (error instanceof AwsError && error.code === 'InvalidDocument') {
        throw new UsageError(`ssmx cp needs the ${RUN_DOCUMENT} session document, which this account does not have`, 'ssmx setup creates it (once per account and region)');
      }
      throw error;
    }
    const outcome = await runShell(session, { stdin: new PassThrough().end(), stdout: out, stderr: err, stdinIsTTY: false, stdoutIsTTY: false, signals: this.context.signals, terminal: false });
    failOn(outcome.exitCode, path, stderr);
    return { stdout };
  }

  /**
   * One part of an upload through an interactive command's terminal: once the instance says the
   * terminal is raw, the part goes in as base64; the instance answers with the SHA-256 of what it
   * decoded, which must be the part's. Resolves with the part's file on the instance.
   */
  async receive(file: string, range: { offset: number; length: number }, destination: string, progress: Progress): Promise<string> {
    const encodedLength = Math.ceil(range.length / 3) * 4;
    const session = await this.open('AWS-StartInteractiveCommand', receiveScript(destination, encodedLength));
    const input = new PassThrough();
    let seen = '';
    let part: string | undefined;
    let got: string | undefined;
    let sending: Promise<void> | undefined;
    const expected = createHash('sha256');
    const output = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        seen += chunk.toString('utf8');
        const ready = /SSMXCP READY (\S+)/.exec(seen);
        if (ready && !part) {
          part = ready[1]!;
          sending = this.send(file, range, input, expected, progress);
        }
        got ??= /SSMXCP GOT ([0-9a-f]{64})/.exec(seen)?.[1];
        if (seen.length > 65_536) seen = seen.slice(-4096);
        done();
      },
    });
    const outcome = await runShell(session, { stdin: input, stdout: output, stderr: output, stdinIsTTY: false, stdoutIsTTY: false, signals: this.context.signals, terminal: false });
    // The remote may have stopped reading (a disk full, a failure): what was still to go stays here.
    input.destroy();
    await sending;
    failOn(outcome.exitCode, destination, seen);
    if (!part || !got) {
      const said = seen.replace(/SSMXCP \S+ \S+/g, '').replace(/\s+/g, ' ').trim();
      throw new CopyError(`the upload to ${destination} did not complete${said ? `: ${said.slice(0, 300)}` : ''}`);
    }
    if (got !== expected.digest('hex')) throw new CopyError(`a part of ${destination} arrived damaged (its SHA-256 on the instance differs); nothing was written`);
    return part;
  }

  private async send(file: string, range: { offset: number; length: number }, input: PassThrough, hash: ReturnType<typeof createHash>, progress: Progress): Promise<void> {
    if (range.length === 0) return;
    const stream = createReadStream(file, { start: range.offset, end: range.offset + range.length - 1, highWaterMark: (INPUT_CHUNK / 4) * 3 });
    let carry: Buffer = Buffer.alloc(0);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (input.destroyed) break;
      hash.update(chunk);
      const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = bytes.length - (bytes.length % 3);
      carry = bytes.subarray(whole);
      if (!input.write(bytes.subarray(0, whole).toString('base64'))) {
        await new Promise((resolve) => {
          input.once('drain', resolve);
          input.once('close', resolve);
        });
      }
      progress.add(chunk.length);
    }
    stream.destroy();
    if (carry.length && !input.destroyed) input.write(carry.toString('base64'));
  }

  /**
   * A session running the script: a non-interactive command is split into words and run with no
   * shell, so it goes as `sh -c '<script>'`; an interactive one already runs as `sh -c <command>`
   * (agent/session/shell/shell_unix.go, StartCommandExecutor).
   */
  private async open(documentName: string, script: string) {
    const command = documentName === 'AWS-StartInteractiveCommand' ? script : agentCommandLine([script]);
    const { session } = await openSession({ target: this.instanceId, documentName, parameters: { command: [command] }, reason: this.reason }, this.aws.connect);
    this.lifecycle.track(session);
    return session;
  }
}

/** A copy that failed on its way (no such file, no room, damaged): exit status 1. */
class CopyError extends Error {}

/** A remote script's exit status, said as what it means. */
function failOn(exitCode: number | undefined, path: string, said: string): void {
  if (exitCode === undefined || exitCode === 0) return;
  const meaning = REMOTE_ERRORS[exitCode];
  const detail = said.replace(/SSMXCP \S+ \S+/g, '').replace(/\s+/g, ' ').trim();
  throw new CopyError(`${path}: ${meaning ?? `the copy failed on the instance (status ${exitCode})`}${detail && !meaning ? `: ${detail.slice(0, 300)}` : ''}`);
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .once('error', reject)
      .once('end', () => resolve(hash.digest('hex')));
  });
}

function makeDirectory(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

function runLocal(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => reject(new UsageError(`${command} could not run here: ${error.message}`, `ssmx cp -r needs ${command} on this machine`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new UsageError(`${command} ${args.join(' ')} failed: ${stderr.trim()}`))));
  });
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
