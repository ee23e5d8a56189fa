import { openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { ReadStream, WriteStream } from 'node:tty';
import { systemTimers, type Timers } from '../channel/timers.js';
import { processSignals, type SignalSource } from './lifecycle.js';
import { Spinners } from './progress.js';

export { useColor } from './color.js';

/** A terminal to ask a person on, besides stdin (an MFA code while stdin carries ssh's bytes). */
export interface Terminal {
  input: Readable;
  output: Writable;
  close(): void;
}

/**
 * What a command needs from the outside world, handed in (as the GitHub CLI's IOStreams and
 * factory are) so that a test runs a command in-process with its own streams, terminal facts,
 * environment, signals and clock. Whether a stream is a terminal is decided here once.
 */
export interface CliContext {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** The environment: configuration, credentials, region and endpoints are read from it. */
  env: NodeJS.ProcessEnv;
  /** Stop signals (SIGTERM, SIGHUP, …): the process's, or a test's. */
  signals: SignalSource;
  timers: Timers;
  /** The spinners this run shows: a prompt stops them before it asks. */
  spinners: Spinners;
  /** The controlling terminal, or undefined when there is none. */
  openTerminal(): Terminal | undefined;
}

const isTty = (stream: unknown): boolean => Boolean((stream as { isTTY?: boolean } | undefined)?.isTTY);

/** The context of a real run, with whatever a caller (a test) gives in place of the process's. */
export function cliContext(given: Partial<CliContext> = {}): CliContext {
  const stdin = given.stdin ?? process.stdin;
  const stdout = given.stdout ?? process.stdout;
  const stderr = given.stderr ?? process.stderr;
  return {
    stdin,
    stdout,
    stderr,
    stdinIsTTY: given.stdinIsTTY ?? isTty(stdin),
    stdoutIsTTY: given.stdoutIsTTY ?? isTty(stdout),
    stderrIsTTY: given.stderrIsTTY ?? isTty(stderr),
    env: given.env ?? process.env,
    signals: given.signals ?? processSignals,
    timers: given.timers ?? systemTimers,
    spinners: given.spinners ?? new Spinners(),
    openTerminal: given.openTerminal ?? controllingTerminal,
  };
}

export interface GlobalOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  quiet?: boolean;
  color?: boolean;
  verbose?: boolean;
  debug?: boolean;
  /** Seconds to keep reopening a dropped data channel (checked as the command line is read). */
  reconnectTimeout?: number;
  /** Seconds an AWS endpoint may take to connect, and to answer once connected. */
  connectTimeout?: number;
  readTimeout?: number;
  /** The data channel's endpoint, in place of the StreamUrl's host (AWS_ENDPOINT_URL_SSMMESSAGES too). */
  ssmmessagesEndpoint?: string;
  /** --proxy URL, or false for --no-proxy. */
  proxy?: string | false;
}

/** The command line's word on proxies, for src/net/proxy.ts. */
export const proxyChoice = (options: GlobalOptions) => ({ proxy: typeof options.proxy === 'string' ? options.proxy : undefined, noProxy: options.proxy === false });

/** The streams and terminal facts a shell joins to the session. */
export const shellIo = (context: CliContext) => ({
  stdin: context.stdin,
  stdout: context.stdout,
  stderr: context.stderr,
  stdinIsTTY: context.stdinIsTTY,
  stdoutIsTTY: context.stdoutIsTTY,
  signals: context.signals,
});


/** The devices of the process's own terminal: /dev/tty, or the console on Windows. */
export const terminalDevices = (platform: NodeJS.Platform = process.platform): { input: string; output: string } =>
  platform === 'win32' ? { input: 'CONIN$', output: 'CONOUT$' } : { input: '/dev/tty', output: '/dev/tty' };

/** The process's controlling terminal, or undefined when it has none. */
function controllingTerminal(): Terminal | undefined {
  const devices = terminalDevices();
  let input: ReadStream;
  let output: WriteStream;
  try {
    // Each stream owns its descriptor and closes it when destroyed.
    input = new ReadStream(openSync(devices.input, 'r'));
  } catch {
    return undefined;
  }
  try {
    output = new WriteStream(openSync(devices.output, 'w'));
  } catch {
    input.destroy();
    return undefined;
  }
  return {
    input,
    output,
    close: () => {
      input.destroy();
      output.destroy();
    },
  };
}
