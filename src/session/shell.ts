import type { Readable, Writable } from 'node:stream';
import type { ReadStream, WriteStream } from 'node:tty';
import { PayloadType, StreamDataPayloadSize } from '../protocol/constants.js';
import { encodeSize, type ChannelClosed } from '../protocol/payloads.js';
import type { DataChannelSession } from './data-channel-session.js';
import { SessionError } from './errors.js';
import { enterRawMode } from './terminal.js';

export interface ShellIo {
  stdin: Readable | ReadStream;
  stdout: Writable | WriteStream;
  stderr: Writable;
  /**
   * False for a command with no terminal (ssmx run): the local terminal stays as it is, no size is
   * sent, keyboard signals stay local, and the end of stdin sends no EOT.
   */
  terminal?: boolean;
}

export interface ShellOutcome {
  closed: ChannelClosed;
  /** Set when the agent reported one (NonInteractiveCommands with separate streams). */
  exitCode: number | undefined;
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

const isTty = (stream: unknown): stream is ReadStream & WriteStream => Boolean((stream as { isTTY?: boolean }).isTTY);

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
  const ttyOut = terminal && isTty(stdout);
  let restoreTerminal = () => {};
  let exitCode: number | undefined;
  let lastOutputByte = 0x0a;
  const cleanups: Array<() => void> = [];
  let inputEnded = false;
  let eotTimer: NodeJS.Timeout | undefined;
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
      if (isTty(stdout) && lastOutputByte !== 0x0a) stderr.write('\n');
      reject(outcome.error);
    };

    const sendInput = (data: Buffer) => {
      // Keys typed just after a resize can be read before the SIGWINCH is handled: the size goes
      // first, so the remote program sees its new window before the keys meant for it.
      sendSizeIfChanged();
      for (let offset = 0; offset < data.length; offset += StreamDataPayloadSize) {
        session.send(PayloadType.Output, data.subarray(offset, offset + StreamDataPayloadSize));
      }
      if (!session.canSend) stdin.pause();
    };

    let sentCols = 0;
    let sentRows = 0;
    const sendSizeIfChanged = () => {
      if (!ttyOut) return;
      // getWindowSize() answers from a cache that only the SIGWINCH handler refreshes; the stream's
      // own refresh asks the terminal (one ioctl). It is internal to Node, so it is optional here.
      (stdout as unknown as { _refreshSize?: () => void })._refreshSize?.();
      const [cols, rows] = stdout.getWindowSize();
      if (cols === sentCols && rows === sentRows) return;
      sentCols = cols;
      sentRows = rows;
      session.send(PayloadType.Size, encodeSize({ cols, rows }));
      // Resending the size the terminal already has changes nothing: a probe after a reconnect.
      session.setProbe(PayloadType.Size, () => encodeSize({ cols: sentCols, rows: sentRows }));
    };

    session.on('output', (payloadType: number, payload: Buffer) => {
      if (inputEnded) armEot();
      switch (payloadType) {
        case PayloadType.Output:
          stdout.write(payload);
          lastOutputByte = payload[payload.length - 1]!;
          break;
        case PayloadType.StdErr:
          stderr.write(payload);
          break;
        case PayloadType.ExitCode: {
          const match = /EXIT_CODE:\s*(-?\d+)/.exec(payload.toString('utf8'));
          if (match) exitCode = Number(match[1]);
          break;
        }
        default:
          break;
      }
    });
    session.on('customer-message', (text: string) => stderr.write(`${text}\n`));
    session.on('writable', () => stdin.resume());
    session.once('closed', (closed: ChannelClosed) => finish({ ok: { closed, exitCode } }));
    session.once('error', (error: SessionError) => finish({ error }));

    const start = () => {
      if (terminal && isTty(stdin)) restoreTerminal = enterRawMode(stdin);
      sendSizeIfChanged();
      if (ttyOut) {
        stdout.on('resize', sendSizeIfChanged);
        cleanups.push(() => stdout.off('resize', sendSizeIfChanged));
      }
      for (const [signal, byte] of terminal ? signalBytes : []) {
        const forward = () => session.isReady && session.send(PayloadType.Output, Buffer.from([byte]));
        process.on(signal, forward);
        cleanups.push(() => process.off(signal, forward));
      }
      stdin.on('data', (chunk: Buffer | string) => sendInput(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      stdin.once('end', () => {
        // Piped input has ended: an EOT at the remote terminal ends the shell's input the same way.
        inputEnded = true;
        armEot();
      });
      stdin.resume();
    };
    // Called before `ready` (ssmx shell), or from a `ready` listener once the session type is known.
    if (session.isReady) start();
    else session.once('ready', start);
  });
}
