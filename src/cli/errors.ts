import { painter } from './color.js';
import type { Writable } from 'node:stream';
import { AwsError, type AwsErrorKind } from '../aws/errors.js';
import { SessionError, type SessionErrorCode } from '../session/errors.js';
import { ExitCode } from './exit-codes.js';
import { UsageError } from '../errors.js';

export { UsageError } from '../errors.js';

export interface Rendered {
  message: string;
  hint: string | undefined;
  exitCode: number;
}

const awsExitCodes: Record<AwsErrorKind, number> = {
  credentials: ExitCode.Credentials,
  permission: ExitCode.Credentials,
  target: ExitCode.Target,
  usage: ExitCode.Usage,
  throttling: ExitCode.Failure,
  service: ExitCode.Failure,
  connection: ExitCode.Connection,
};

const sessionExitCodes: Record<SessionErrorCode, number> = {
  STREAM_UNREACHABLE: ExitCode.Connection,
  UNTRUSTED_ENDPOINT: ExitCode.Connection,
  CONNECTION_LOST: ExitCode.Connection,
  TIMEOUT: ExitCode.Connection,
  INTERRUPTED: ExitCode.Connection,
  PROTOCOL: ExitCode.Protocol,
  HANDSHAKE: ExitCode.Protocol,
  LOCAL_ADDRESS: ExitCode.Usage,
  ENDED_BY_SERVICE: ExitCode.Connection,
  DESTINATION_UNREACHABLE: ExitCode.Connection,
};

/** One place that turns any failure into a line for a person and a status for a script. */
export function classify(error: unknown): Rendered {
  if (error instanceof UsageError) return { message: error.message, hint: error.hint, exitCode: ExitCode.Usage };
  if (error instanceof AwsError) return { message: error.message, hint: error.hint, exitCode: awsExitCodes[error.kind] };
  if (error instanceof SessionError) return { message: error.message, hint: error.hint, exitCode: sessionExitCodes[error.code] };
  return { message: (error as Error)?.message ?? String(error), hint: undefined, exitCode: ExitCode.Failure };
}

export function renderError(error: unknown, stderr: Writable, color: boolean): number {
  const { message, hint, exitCode } = classify(error);
  const paint = painter(color);
  stderr.write(`${paint.red('ssmx: error:')} ${message}\n`);
  if (hint) stderr.write(`${paint.dim('hint:')} ${hint}\n`);
  return exitCode;
}
