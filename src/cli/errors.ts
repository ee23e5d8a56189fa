import { Chalk } from 'chalk';
import type { Writable } from 'node:stream';
import { AwsError } from '../aws/errors.js';
import { SessionError } from '../session/errors.js';
import { ExitCode } from './exit-codes.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

export interface Rendered {
  message: string;
  hint: string | undefined;
  exitCode: number;
}

/** One place that turns any failure into a line for a person and a status for a script. */
export function classify(error: unknown): Rendered {
  if (error instanceof UsageError) return { message: error.message, hint: error.hint, exitCode: ExitCode.Usage };
  if (error instanceof AwsError) {
    const exitCode =
      error.kind === 'credentials' || error.kind === 'permission'
        ? ExitCode.Credentials
        : error.kind === 'target'
          ? ExitCode.Target
          : error.kind === 'usage'
            ? ExitCode.Usage
            : error.kind === 'service' && error.message.startsWith('cannot reach')
              ? ExitCode.Connection
              : ExitCode.Failure;
    return { message: error.message, hint: error.hint, exitCode };
  }
  if (error instanceof SessionError) {
    const exitCode =
      error.code === 'PROTOCOL' || error.code === 'HANDSHAKE'
        ? ExitCode.Protocol
        : error.code === 'LOCAL_ADDRESS'
          ? ExitCode.Usage
          : ExitCode.Connection;
    return { message: error.message, hint: error.hint, exitCode };
  }
  return { message: (error as Error)?.message ?? String(error), hint: undefined, exitCode: ExitCode.Failure };
}

export function renderError(error: unknown, stderr: Writable, color: boolean): number {
  const { message, hint, exitCode } = classify(error);
  const paint = new Chalk({ level: color ? 1 : 0 });
  stderr.write(`${paint.red('ssmx: error:')} ${message}\n`);
  if (hint) stderr.write(`${paint.dim('hint:')} ${hint}\n`);
  return exitCode;
}
