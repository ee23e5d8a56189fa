import { activeSessions, callerArn } from '../../aws/sessions.js';
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
      const failure = await terminateSession(aws.ssm, id);
      if (failure) {
        failed++;
        context.stderr.write(`ssmx: error: ${failure.message}\n`);
      } else {
        context.stdout.write(`terminated ${id}\n`);
      }
    }
    return failed === 0 ? ExitCode.Ok : ExitCode.Failure;
  } finally {
    aws.destroy();
  }
}
