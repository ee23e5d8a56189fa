/**
 * What every error ssmx raises on purpose has: a stable `code` a program can match (AWS's error
 * code for an AwsError, ssmx's own for the others) and, where there is one, a hint for a person.
 * One class per domain extends it (protocol, transport, session, aws, usage); the command line
 * maps each to a message and an exit status (src/cli/errors.ts), the library hands them on as
 * they are.
 */
export abstract class SsmxError extends Error {
  abstract readonly code: string;
  /** What to do about it, in a sentence, where ssmx knows. */
  declare readonly hint?: string | undefined;
}

/** The caller asked for something that cannot be: a bad port spec, a missing target, a bad option. */
export class UsageError extends SsmxError {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
  constructor(
    message: string,
    override readonly hint?: string,
  ) {
    super(message);
  }
}
