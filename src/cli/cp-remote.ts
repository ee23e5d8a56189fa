import { createHash } from 'node:crypto';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { AwsError } from '../aws/errors.js';
import { terminateSession } from '../aws/ssm.js';
import type { ChannelClosed } from '../protocol/payloads.js';
import { TERMINATE_WAIT_MS, withTimeout, type DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { runShell, type ShellOutcome } from '../session/shell.js';
import type { CommandAws } from './aws-context.js';
import { startDataChannel } from '../lib/open.js';
import { CopyError, parseFailure, REMOTE_ERRORS } from './cp.js';
import { UsageError } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import { RUN_DOCUMENT } from './names.js';
import { agentCommandLine } from '../lib/run.js';

/** How long the removal of an interrupted copy's files on the instance may take, on the way out. */
const CLEANUP_WAIT_MS = 15_000;

/** What an error names: the path, or (an upload's) the file or the directory it goes in, as the failure is about one or the other. */
export type Where = string | ((status: number) => string);

/**
 * The copy's sessions on the instance. Whatever way the copy ends (a failure on either side,
 * Ctrl-C), `stop` ends every session it has open — on the service through TerminateSession too,
 * since the agent honours the TerminateSession flag in port sessions only (port_basic.go and
 * port_mux.go; a shell's InputStreamMessageHandler ignores flags), as the plugin ends a shell
 * session through the API — and every script still waited on fails with the stop's cause.
 */
export class Remote {
  private readonly open = new Map<DataChannelSession, string>();
  private readonly ending: Array<Promise<unknown>> = [];
  private cause: Error | undefined;
  /**
   * The script that removes what the copy may have made on the instance (cleanupScript), from the
   * moment a script that makes something starts until the copy has removed or renamed it.
   */
  leftovers: string | undefined;

  constructor(
    private readonly aws: CommandAws,
    private readonly instanceId: string,
    private readonly lifecycle: Lifecycle,
    private readonly reason: string | undefined,
  ) {}

  /** Ends every session of the copy; what waits on them fails with `cause`. Once. */
  stop(cause: Error): void {
    if (this.cause) return;
    this.cause = cause;
    for (const [session, sessionId] of this.open) this.end(session, sessionId);
  }

  /** A script as a non-interactive command: its stdout to `sink` (or kept), its failure said. */
  async run(script: string, path: Where, sink?: Writable): Promise<{ stdout: string }> {
    let stdout = '';
    const out = sink ?? collect((text) => (stdout += text));
    let stderr = '';
    const outcome = await this.attach(await this.start(RUN_DOCUMENT, agentCommandLine([script])), new PassThrough().end(), out, collect((text) => (stderr += text)));
    const failure = parseFailure(stdout) ?? (outcome.exitCode ? { status: outcome.exitCode, said: stderr } : undefined);
    if (failure) throw remoteFailure(path, failure.status, failure.said || stderr);
    // The agent sends the status of a command that has ended: a session closed without one was
    // ended before its command was (the service stopped, the instance went away).
    if (outcome.exitCode === undefined) throw endedEarly(path, outcome.closed, stderr);
    return { stdout };
  }

  /**
   * One part of an upload through an interactive command's terminal: once the instance says the
   * terminal is raw, `bytes` go in as base64; the instance answers with the SHA-256 of what it
   * decoded, which must be theirs.
   */
  async receive(script: string, path: Where, bytes: () => Readable, sent: (count: number) => void): Promise<void> {
    const session = await this.start('AWS-StartInteractiveCommand', script);
    const input = new PassThrough();
    let seen = '';
    let sending: Promise<void> | undefined;
    let got: string | undefined;
    const expected = createHash('sha256');
    const output = collect((text) => {
      seen += text;
      // A part that cannot be read to its end (the file became shorter) stops the copy: the instance would wait for ever.
      if (!sending && seen.includes('SSMXCP READY')) sending = send(bytes(), input, expected, sent).catch((error: Error) => this.stop(error));
      got ??= /SSMXCP GOT ([0-9a-f]{64})/.exec(seen)?.[1];
      if (seen.length > 65_536) seen = seen.slice(-4096);
    });
    try {
      const outcome = await this.attach(session, input, output, output);
      const failure = parseFailure(seen);
      if (failure) throw remoteFailure(path, failure.status, failure.said);
      if (!got) throw endedEarly(path, outcome.closed, seen.replace(/SSMXCP \S+/g, ''));
    } finally {
      // The remote may have stopped reading (a disk full, a failure): what was still to go stays here.
      input.destroy();
      await sending;
    }
    if (got !== expected.digest('hex')) throw new CopyError('DAMAGED', `a part of ${named(path, 25)} arrived damaged (its SHA-256 on the instance differs); nothing was written`);
  }

  /**
   * On the way out of a copy that did not finish: one more session removes what it made on the
   * instance. Not the command's lifecycle's (which has ended its sessions), and bounded. Says what
   * could not be removed.
   */
  async cleanup(): Promise<string | undefined> {
    const script = this.leftovers;
    if (!script) return undefined;
    this.leftovers = undefined;
    const removing = (async () => {
      const { session, started } = await startDataChannel({ target: this.instanceId, documentName: RUN_DOCUMENT, parameters: { command: [agentCommandLine([script])] }, reason: this.reason }, this.aws.connect);
      const outcome = await runShell(session, { stdin: new PassThrough().end(), stdout: collect(() => {}), stderr: collect(() => {}), stdinIsTTY: false, stdoutIsTTY: false, signals: { on: () => () => {} }, terminal: false }).finally(() => {
        this.ending.push(session.terminate(), terminateSession(this.aws.ssm, started.sessionId));
      });
      return outcome.exitCode === 0;
    })();
    return (await withTimeout(removing, CLEANUP_WAIT_MS)) ? undefined : 'the files this copy made on the instance (.ssmx-cp.*) could not be removed';
  }

  /** Waits, bounded, until the service has heard every TerminateSession. */
  async ended(): Promise<void> {
    await withTimeout(Promise.all(this.ending), TERMINATE_WAIT_MS);
  }

  private async start(documentName: string, command: string): Promise<DataChannelSession> {
    if (this.cause) throw this.cause;
    let sessionId: string | undefined;
    try {
      const { session } = await startDataChannel({ target: this.instanceId, documentName, parameters: { command: [command] }, reason: this.reason }, this.aws.connect, (started) => (sessionId = started.sessionId));
      this.lifecycle.track(session);
      this.open.set(session, sessionId!);
      session.once('closed', () => this.open.delete(session));
      // Stopped while it opened: it is ended at once.
      if (this.cause) {
        this.end(session, sessionId!);
        throw this.cause;
      }
      return session;
    } catch (error) {
      // Started on the service, but its data channel never opened: ended there all the same.
      if (sessionId && error !== this.cause) this.ending.push(terminateSession(this.aws.ssm, sessionId));
      if (error instanceof AwsError && error.code === 'InvalidDocument') {
        throw new UsageError(`ssmx cp needs the ${documentName} session document, which this account does not have`, 'ssmx setup creates it (once per account and region)');
      }
      throw error;
    }
  }

  /** The session joined to these streams until it ends; a stop's cause replaces the error it brings. */
  private async attach(session: DataChannelSession, stdin: Readable, stdout: Writable, stderr: Writable): Promise<ShellOutcome> {
    try {
      return await runShell(session, { stdin, stdout, stderr, stdinIsTTY: false, stdoutIsTTY: false, signals: { on: () => () => {} }, terminal: false });
    } catch (error) {
      throw this.cause ?? error;
    }
  }

  private end(session: DataChannelSession, sessionId: string): void {
    this.open.delete(session);
    this.ending.push(session.terminate(new SessionError('INTERRUPTED', 'the copy stopped')), terminateSession(this.aws.ssm, sessionId));
  }
}

/** Writes `bytes` into the terminal as base64, whole triples at a time, as fast as it takes them. */
async function send(bytes: Readable, input: PassThrough, hash: ReturnType<typeof createHash>, sent: (count: number) => void): Promise<void> {
  let carry: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of bytes as AsyncIterable<Buffer>) {
      if (input.destroyed) break;
      hash.update(chunk);
      const joined = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const whole = joined.length - (joined.length % 3);
      carry = joined.subarray(whole);
      if (!input.write(joined.subarray(0, whole).toString('base64'))) await drained(input);
      sent(chunk.length);
    }
    if (carry.length && !input.destroyed) input.write(carry.toString('base64'));
  } finally {
    bytes.destroy();
  }
}

/** Until the stream takes more or is gone; both listeners removed either way (one pair per wait would pile up). */
function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function collect(take: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      take(chunk.toString('utf8'));
      done();
    },
  });
}

/**
 * A remote script's failure, said as what it means: the tool's own reason after it where that
 * helps ("Read-only file system"), the last part of its first line (the rest names temporary files).
 */
function remoteFailure(where: Where, status: number, said: string): CopyError {
  const path = named(where, status);
  const known = REMOTE_ERRORS[status];
  const reason = said.trim().split('\n')[0]!.split(': ').at(-1)!.trim();
  if (!known) return new CopyError('REMOTE', `${path}: the copy failed on the instance (status ${status})${said.trim() ? `: ${said.trim().slice(0, 300)}` : ''}`);
  return new CopyError(status === 25 ? 'DAMAGED' : 'REMOTE', `${path}: ${known.meaning}${known.detail && reason ? `: ${reason}` : ''}`);
}

const named = (where: Where, status: number) => (typeof where === 'string' ? where : where(status));

/** A session that ended before its script did: a connection error, with what the service or the instance said. */
function endedEarly(where: Where, closed: ChannelClosed | undefined, said: string): SessionError {
  const detail = [closed?.output, said.replace(/\s+/g, ' ').trim()].filter(Boolean).join('; ');
  return new SessionError('ENDED_BY_SERVICE', `${named(where, 0)}: the session ended before the copy was done${detail ? ` (${detail.slice(0, 300)})` : ''}`);
}
