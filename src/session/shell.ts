import { Writable, type Readable } from 'node:stream';
import type { ReadStream, WriteStream } from 'node:tty';
import { PayloadType } from '../protocol/constants.js';
import { decodeExitCode, encodeSize, type ChannelClosed } from '../protocol/payloads.js';
import type { DataChannelSession } from './data-channel-session.js';
import { SessionError } from './errors.js';
import { SessionWriter } from './session-io.js';
import type { SignalSource } from './signals.js';
import { enterRawMode } from './terminal.js';
import { EscapeFilter, escapeHelp } from './escapes.js';

export interface ShellIo {
  stdin: Readable | ReadStream;
  stdout: Writable | WriteStream;
  stderr: Writable;
  /** Whether stdin and stdout are terminals (raw mode, the window's size): the caller knows. */
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  /** Keyboard signals that reach ssmx (SIGINT…) while the terminal is not raw: sent on as bytes. */
  signals: SignalSource;
  /**
   * False for a command with no terminal (ssmx run): the local terminal stays as it is, no size is
   * sent, keyboard signals stay local, and the end of stdin sends no EOT.
   */
  terminal?: boolean;
  /**
   * OpenSSH's escapes on a terminal (`~.` ends the session, `~?` lists them, `~~` sends `~`): the
   * escape character's byte, or undefined for none. Only when stdin is a terminal.
   */
  escapeChar?: number | undefined;
  /** --record: what the terminal shows (and, if asked, what is typed), and its size, as it goes. */
  recorder?: { output(data: Buffer): void; input(data: Buffer): void; resize(cols: number, rows: number): void } | undefined;
}

export interface ShellOutcome {
  /** The service's word on the end; absent when the person left with the escape (`~.`). */
  closed?: ChannelClosed | undefined;
  /** Set when the agent reported one (NonInteractiveCommands with separate streams). */
  exitCode: number | undefined;
  /** The person ended the session with the escape (`~.`), not the remote. */
  escaped?: boolean;
}

/**
 * After piped input ends, how long the remote must stay quiet before ssmx (re)sends an EOT.
 *
 * An EOT that reaches the remote terminal while a command runs (canonical mode) is stored as an
 * end-of-file mark, and becomes a NUL when the shell's line editor switches the terminal back to
 * raw mode: the EOF is lost and the shell waits for ever. No single moment to send is safe, so the
 * EOT goes again each time the remote has produced output and then gone quiet — the prompt after
 * a lost EOT brings the next one, and a steady stream of output brings none.
 */
const EOT_AFTER_QUIET_MS = 100;
const EOT = Buffer.from([0x04]);

/** Keyboard signals that reach ssmx while the terminal is not raw become the remote's bytes. */
const signalBytes: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 0x03],
  ['SIGQUIT', 0x1c],
  ['SIGTSTP', 0x1a],
];

/**
 * Joins a shell-type session to the local terminal (docs/protocol.md §7) until the channel closes. Nothing is
 * sent before the session is ready; stdin is read only while the channel can take more. Call it
 * before the session is ready, or from a `ready` listener.
 */
export function runShell(session: DataChannelSession, io: ShellIo): Promise<ShellOutcome> {
  const { stdin, stderr } = io;
  const terminal = io.terminal ?? true;
  const stdout = io.stdout;
  const ttyOut = terminal && io.stdoutIsTTY;
  let restoreTerminal = () => {};
  let exitCode: number | undefined;
  let lastOutputByte = 0x0a;
  const cleanups: Array<() => void> = [];
  let inputEnded = false;
  let eotTimer: NodeJS.Timeout | undefined;
  const writer = new SessionWriter(session);
  const armEot = () => {
    clearTimeout(eotTimer);
    if (!terminal) return;
    eotTimer = setTimeout(() => session.isReady && session.send(PayloadType.Output, EOT), EOT_AFTER_QUIET_MS);
  };
  cleanups.push(() => clearTimeout(eotTimer));

  return new Promise<ShellOutcome>((resolve, reject) => {
    const finish = (outcome: { ok: ShellOutcome } | { error: SessionError }) => {
      for (const cleanup of cleanups.splice(0)) cleanup();
      restoreTerminal();
      stdin.pause();
      if ('ok' in outcome) return resolve(outcome.ok);
      // The reason goes on a line of its own, not after a half-drawn remote prompt.
      if (io.stdoutIsTTY && lastOutputByte !== 0x0a) stderr.write('\n');
      reject(outcome.error);
    };

    // Keys typed just after a resize can be read before the SIGWINCH is handled: the size goes
    // first, so the remote program sees its new window before the keys meant for it.
    const escapes = terminal && io.stdinIsTTY && io.escapeChar !== undefined ? new EscapeFilter(io.escapeChar) : undefined;
    const input = new Writable({
      write: (typed: Buffer, _encoding, done) => {
        sendSizeIfChanged();
        io.recorder?.input(typed);
        let chunk = typed;
        if (escapes) {
          const { send, actions } = escapes.feed(typed);
          chunk = send;
          if (actions.includes('help')) stderr.write(`\r\n${escapeHelp(String.fromCharCode(io.escapeChar!))}\r\n`);
          if (actions.includes('disconnect')) {
            if (chunk.length > 0) writer.write(PayloadType.Output, chunk);
            // At once, whatever the remote is doing: the session is ended on the service too.
            void session.terminate();
            stderr.write('\r\nssmx: session ended by the escape (~.)\r\n'.replace('~', String.fromCharCode(io.escapeChar!)));
            return finish({ ok: { closed: undefined, exitCode: undefined, escaped: true } });
          }
          if (chunk.length === 0) return done();
        }
        writer.write(PayloadType.Output, chunk, () => done());
      },
    });

    let sentCols = 0;
    let sentRows = 0;
    const sendSizeIfChanged = () => {
      if (!ttyOut) return;
      // getWindowSize() answers from a cache that only the SIGWINCH handler refreshes; the stream's
      // own refresh asks the terminal (one ioctl). It is internal to Node, so it is optional here.
      (stdout as unknown as { _refreshSize?: () => void })._refreshSize?.();
      const [cols, rows] = (stdout as WriteStream).getWindowSize();
      if (cols === sentCols && rows === sentRows) return;
      sentCols = cols;
      sentRows = rows;
      session.send(PayloadType.Size, encodeSize({ cols, rows }));
      io.recorder?.resize(cols, rows);
      // Resending the size the terminal already has changes nothing: a probe after a reconnect.
      session.setProbe(PayloadType.Size, () => encodeSize({ cols: sentCols, rows: sentRows }));
    };

    session.on('output', (payloadType, payload) => {
      if (inputEnded) armEot();
      switch (payloadType) {
        case PayloadType.Output:
          // Recorded before it is shown: whatever the user has seen is in the file, however the
          // process ends the next instant.
          io.recorder?.output(payload);
          stdout.write(payload);
          lastOutputByte = payload[payload.length - 1]!;
          break;
        case PayloadType.StdErr:
          stderr.write(payload);
          break;
        case PayloadType.ExitCode: {
          exitCode = decodeExitCode(payload) ?? exitCode;
          break;
        }
        default:
          break;
      }
    });
    session.on('customer-message', (text) => stderr.write(`${text}\n`));
    session.once('closed', (closed) => finish({ ok: { closed, exitCode } }));
    session.once('error', (error) => finish({ error }));

    const start = () => {
      if (terminal && io.stdinIsTTY) restoreTerminal = enterRawMode(stdin as ReadStream);
      sendSizeIfChanged();
      if (ttyOut) {
        stdout.on('resize', sendSizeIfChanged);
        cleanups.push(() => stdout.off('resize', sendSizeIfChanged));
      }
      if (terminal) {
        const bytes = new Map(signalBytes);
        cleanups.push(io.signals.on([...bytes.keys()], (signal) => session.isReady && session.send(PayloadType.Output, Buffer.from([bytes.get(signal)!]))));
      }
      stdin.pipe(input);
      cleanups.push(() => stdin.unpipe(input));
      stdin.once('end', () => {
        // Piped input has ended: an EOT at the remote terminal ends the shell's input the same way.
        inputEnded = true;
        armEot();
      });
    };
    // Called before `ready` (ssmx shell), or from a `ready` listener once the session type is known.
    if (session.isReady) start();
    else session.once('ready', start);
  });
}
