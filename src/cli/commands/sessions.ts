import { activeSessions, callerArn, findSession } from '../../aws/sessions.js';
import { terminateSession } from '../../aws/ssm.js';
import { awsFor } from '../aws-context.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

export interface SessionsOptions extends GlobalOptions {
  all?: boolean;
  json?: boolean;
}

/** `ssmx sessions`: the caller's active sessions (everyone's with --all), as a table or JSON. */
export async function sessionsCommand(options: SessionsOptions, context: CliContext): Promise<number> {
  const aws = awsFor(options, context);
  try {
    const owner = options.all ? undefined : await callerArn(aws.options);
    const sessions = await activeSessions(await aws.ssm.sdk(), owner);
    if (options.json) {
      context.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`);
      return ExitCode.Ok;
    }
    if (sessions.length === 0) {
      aws.say(owner ? `no active sessions of ${owner}` : 'no active sessions in this account and region');
      return ExitCode.Ok;
    }
    const header = ['SESSION', 'TARGET', 'DOCUMENT', 'STARTED', 'STATUS', ...(options.all ? ['OWNER'] : [])];
    const rows = sessions.map((s) => [s.sessionId, s.target, s.document || '-', s.startDate.replace(/\.\d{3}Z$/, 'Z'), s.status, ...(options.all ? [s.owner] : [])]);
    for (const line of formatTable([header, ...rows])) context.stdout.write(`${line}\n`);
    return ExitCode.Ok;
  } finally {
    aws.destroy();
  }
}

/** `ssmx terminate <session-id>…`: ends each on the service; a line for each, non-zero if any failed. */
export async function terminateCommand(ids: string[], options: GlobalOptions, context: CliContext): Promise<number> {
  if (ids.length === 0) throw new UsageError('no session id given', 'ssmx sessions shows them: ssmx terminate <session-id>…');
  const aws = awsFor(options, context);
  try {
    let failed = 0;
    for (const id of ids) {
      const ended = await terminateOne(aws, id);
      if (ended.failure) {
        failed++;
        context.stderr.write(`ssmx: error: ${id}: ${ended.failure}\n`);
        continue;
      }
      context.stdout.write(`terminated ${id}\n`);
      if (ended.unconfirmed) aws.say(`ssmx: ${id}: the service accepted TerminateSession, but DescribeSessions could not confirm there was such a session (${ended.unconfirmed})`);
    }
    return failed === 0 ? ExitCode.Ok : ExitCode.Failure;
  } finally {
    aws.destroy();
  }
}

/**
 * TerminateSession, and DescribeSessions where its answer says nothing: the service answers
 * success, with the id, for an id it has no session of (the API reference lists no such error),
 * and refuses one that has ended with a ValidationException that does not say so.
 */
async function terminateOne(aws: ReturnType<typeof awsFor>, id: string): Promise<{ failure?: string; unconfirmed?: string }> {
  const refused = await terminateSession(aws.ssm, id);
  if (refused && refused.code !== 'ValidationException') return { failure: `could not be terminated: ${refused.message}` };
  let found;
  try {
    found = await findSession(await aws.ssm.sdk(), id);
  } catch (error) {
    return refused ? { failure: `could not be terminated: ${refused.message}` } : { unconfirmed: (error as Error).message };
  }
  if (refused) return { failure: found && !found.active ? `the session had already ended (${found.status})` : `could not be terminated: ${refused.message}` };
  return found ? {} : { failure: 'no such session in this account and region (DescribeSessions knows none by that id)' };
}
