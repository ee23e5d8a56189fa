import type { SSMClient } from '@aws-sdk/client-ssm';
import { terminateSession } from '../aws/ssm.js';
import type { DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { runShell } from '../session/shell.js';
import { withTimeout } from './connect.js';
import type { CliContext } from './context.js';
import { signalExitCode } from './exit-codes.js';
import { onSignals } from './signals.js';
import type { Progress } from './progress.js';

/** The signals that end ssmx itself during a shell (keyboard signals go to the remote instead). */
const stopSignals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

/**
 * A shell-type session from start to exit status, for `shell` and `exec`: `open` starts it and
 * reports its id; the terminal is joined until the channel closes; a session that did not end by
 * itself is ended on the service, so nothing lingers there.
 */
export async function runShellSession(
  ssm: SSMClient,
  progress: Progress,
  context: CliContext,
  open: (onStarted: (sessionId: string) => void) => Promise<DataChannelSession>,
): Promise<number> {
  let sessionId: string | undefined;
  let stoppedBy: NodeJS.Signals | undefined;
  let removeSignals = () => {};
  try {
    const session = await open((id) => {
      sessionId = id;
      progress.update(`Connecting to session ${id}`);
    });
    session.once('ready', () => progress.stop());
    session.once('error', () => progress.stop());
    removeSignals = onSignals(stopSignals, (signal) => {
      stoppedBy = signal;
      session.abort(new SessionError('INTERRUPTED', `stopped by ${signal}`));
    });
    const outcome = await runShell(session, { stdin: context.stdin, stdout: context.stdout, stderr: context.stderr });
    if (outcome.closed.output) context.stderr.write(`${outcome.closed.output}\n`);
    return outcome.exitCode ?? 0;
  } catch (error) {
    progress.stop();
    if (sessionId !== undefined) await withTimeout(terminateSession(ssm, sessionId), 2000);
    if (stoppedBy) return signalExitCode(stoppedBy);
    throw error;
  } finally {
    removeSignals();
  }
}
