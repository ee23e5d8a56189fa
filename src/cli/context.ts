import type { Readable, Writable } from 'node:stream';
import type { SignalSource } from './lifecycle.js';

/** What a command needs from the outside world, handed in so tests can supply their own. */
export interface CliContext {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Stop signals (SIGTERM, SIGHUP, …): the process's, or a test's. */
  signals: SignalSource;
}

export interface GlobalOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  quiet?: boolean;
  color?: boolean;
  verbose?: boolean;
  debug?: boolean;
  /** Seconds to keep reopening a dropped data channel. */
  reconnectTimeout?: string;
}

/** Colour only for a terminal, and never when NO_COLOR is set or --no-color given. */
export function useColor(context: CliContext, options: GlobalOptions): boolean {
  if (options.color === false || context.env.NO_COLOR !== undefined) return false;
  return Boolean((context.stderr as { isTTY?: boolean }).isTTY);
}
