import type { DataChannelSession } from '../session/data-channel-session.js';
import { runShell, type ShellIo } from '../session/shell.js';
import { shellIo, type CliContext } from './context.js';
import { ExitCode } from './exit-codes.js';
import { Lifecycle } from './lifecycle.js';
import type { Progress } from './progress.js';

/** The signals that end ssmx itself during a shell (keyboard signals go to the remote instead). */
const stopSignals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

/**
 * A shell-type session from start to exit status, for `shell` and `exec`: `open` starts it and
 * reports its id; the terminal is joined until the channel closes; the lifecycle ends on the
 * service whatever did not end by itself.
 */
export async function runShellSession(
  progress: Progress,
  context: CliContext,
  options: { quiet?: boolean | undefined; verbose?: boolean | undefined; escapeChar?: number | undefined },
  open: (onStarted: (sessionId: string) => void) => Promise<DataChannelSession>,
  recorder?: ShellIo['recorder'],
  /** The service's status of the ended session (DescribeSessions), asked only of a session that gave no output. */
  endedStatus?: (sessionId: string) => Promise<string | undefined>,
): Promise<number> {
  const lifecycle = new Lifecycle({ signals: context.signals, stopSignals });
  // The session id, as the official plugin prints it: audits and `aws ssm terminate-session` need
  // it. At a terminal (or with -v): a script's stderr gets nothing but the remote's.
  const say = (line: string) => !options.quiet && (context.stderrIsTTY || options.verbose) && context.stderr.write(`${line}\n`);
  let sessionId: string | undefined;
  let announced = false;
  try {
    return await lifecycle.run(async () => {
      const session = lifecycle.track(
        await open((id) => {
          sessionId = id;
          progress.update(`Connecting to session ${id}`);
        }),
      );
      session.once('ready', () => {
        progress.stop();
        say(`Starting session with SessionId: ${sessionId}`);
        announced = true;
      });
      session.once('error', () => progress.stop());
      let heard = false;
      session.once('output', () => (heard = true));
      const outcome = await runShell(session, { ...shellIo(context), recorder, escapeChar: options.escapeChar });
      if (outcome.closed?.output) context.stderr.write(`${outcome.closed.output}\n`);
      if (outcome.escaped) return ExitCode.EndedByEscape;
      // A shell the agent could not start (a Run As user that does not exist: shell_unix.go
      // StartCommandExecutor, shell.go execute) sends nothing and ends, the session Failed: a
      // failure, where a shell that printed its prompt and ended is not asked about.
      if (!heard && outcome.closed && sessionId && endedStatus && (await endedStatus(sessionId)) === 'Failed') {
        context.stderr.write(`ssmx: the session ${sessionId} failed on the instance: the agent could not start its shell (its log says why; a Run As user that does not exist is one cause)\n`);
        return ExitCode.NoExitStatus;
      }
      return outcome.exitCode ?? 0;
    });
  } finally {
    progress.stop();
    if (announced) say(`Exiting session with sessionId: ${sessionId}.`);
  }
}
