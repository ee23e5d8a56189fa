import { PassThrough } from 'node:stream';
import { KILLED_BY_SIGNAL } from '../../protocol/payloads.js';
import { runShell } from '../../session/shell.js';
import { awsFor } from '../aws-context.js';
import { startDataChannel } from '../../lib/open.js';
import { Lifecycle } from '../lifecycle.js';
import { shellIo, type CliContext, type GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { agentCommandLine, refuseWindows, startRunSession } from '../../lib/run.js';
import type { SsmClients } from '../../aws/ssm.js';
import { endedStatus } from '../session-ending.js';

export { RUN_DOCUMENT } from '../names.js';
import { RUN_DOCUMENT } from '../names.js';

export { RUN_DOCUMENT_CONTENT } from '../../lib/setup.js';
import { ensureRunDocument, RUN_DOCUMENT_CONTENT } from '../../lib/setup.js';

export interface RunOptions extends GlobalOptions {
  reason?: string;
}

/** `ssmx run <target> -- command…`: stdout to stdout, stderr to stderr, the remote status as ssmx's. */
export async function runCommand(target: string, words: string[], options: RunOptions, context: CliContext): Promise<number> {
  if (words.length === 0) throw new UsageError('no command given', "ssmx run i-0123456789abcdef0 -- uname -a");
  const command = agentCommandLine(words);
  const aws = awsFor(options, context, target);
  const lifecycle = new Lifecycle({ signals: context.signals, stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'] });
  try {
    return await lifecycle.run(async () => {
      const instanceId = await aws.resolve(target);
      await refuseWindows(aws.ssm, instanceId, target);
      const { opened, combined } = await startRunSession(
        async (documentName) => {
          const opened = await startDataChannel({ target: instanceId, documentName, parameters: { command: [command] }, reason: options.reason }, aws.connect);
          lifecycle.track(opened.session);
          return opened;
        },
        () => aws.say(`ssmx: the account has no ${RUN_DOCUMENT} document (ssmx setup creates it): stdout and stderr come combined, and the exit status is 0 unless the session fails`),
      );
      const { session, started } = opened;
      const promisesStatus = !combined;
      // The agent gives a non-interactive command no stdin (it only turns Ctrl-C into a signal), so
      // nothing is read from ours.
      const outcome = await runShell(session, { ...shellIo(context), stdin: new PassThrough().end(), terminal: false });
      if (outcome.closed?.output) context.stderr.write(`${outcome.closed.output}\n`);
      if (outcome.exitCode === KILLED_BY_SIGNAL) {
        context.stderr.write(`ssmx: the command on ${target} was killed by a signal (the agent does not say which)\n`);
        return ExitCode.KilledRemotely;
      }
      if (outcome.exitCode === undefined && promisesStatus) {
        // The agent sends no status when the command could not start (a Run As user that does not
        // exist: shell_unix.go StartCommandExecutor) or when the session is terminated while it
        // runs (processCommandsWithOutputStreamSeparate kills it and sends nothing).
        const how = outcome.closed?.output ? '' : await howItEnded(aws.ssm, started.sessionId);
        context.stderr.write(`ssmx: the session ${started.sessionId} on ${target} ended without the command's exit status${how}\n`);
        return ExitCode.NoExitStatus;
      }
      return outcome.exitCode ?? 0;
    });
  } finally {
    aws.destroy();
  }
}

/**
 * What the service says of an ended session (DescribeSessions, State History), as a clause: its
 * status, Failed when the agent reported the command failed, Terminated when it was ended
 * (TerminateSession by someone, an idle timeout, a maximum duration). Bounded; nothing when the
 * service does not answer in time.
 */
async function howItEnded(ssm: SsmClients, sessionId: string): Promise<string> {
  const status = await endedStatus(ssm, sessionId);
  if (status === 'Failed') return ': the agent reports the session failed (the command could not start)';
  if (status === 'Terminated') return ': the session was terminated (TerminateSession, or the service ended it) while the command ran';
  return status ? ` (the service says ${status})` : '';
}

export interface SetupOptions extends GlobalOptions {
  print?: boolean;
}

/** `ssmx setup`: creates the session document `ssmx run` needs (or prints it with --print). */
export async function setupCommand(options: SetupOptions, context: CliContext): Promise<number> {
  if (options.print) {
    context.stdout.write(`${JSON.stringify(RUN_DOCUMENT_CONTENT, null, 2)}\n`);
    return 0;
  }
  const aws = awsFor(options, context);
  try {
    const outcome = await ensureRunDocument(aws.ssm);
    const said = {
      created: () => `created the session document ${RUN_DOCUMENT}: ssmx run now keeps stdout, stderr and the exit status apart`,
      unchanged: () => `the session document ${RUN_DOCUMENT} already exists, as ssmx needs it; nothing to do`,
      updated: () => `updated the session document ${RUN_DOCUMENT}: version ${outcome.kind === 'updated' ? outcome.version : ''}, with ssmx's content, is now its default`,
    };
    context.stdout.write(`${said[outcome.kind]()}\n`);
    return 0;
  } finally {
    aws.destroy();
  }
}
