import { awsFor } from '../aws-context.js';
import { openDataChannel } from '../connect.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { startProgress } from '../progress.js';
import { runShellSession } from '../shell-session.js';
import { shellQuote } from '../self.js';

export interface ExecOptions extends GlobalOptions {
  container?: string;
}

/** The command line a list of words makes: one word is already a command line, several are quoted. */
export const commandLine = (words: string[]): string => (words.length === 1 ? words[0]! : words.map(shellQuote).join(' '));

/** `ssmx exec <cluster> <task> [-- command]`: ECS Exec with the shell engine (default /bin/sh). */
export async function execCommand(cluster: string, task: string, command: string[], options: ExecOptions, context: CliContext): Promise<number> {
  const aws = awsFor(options, context);
  // The ECS client loads only for this command.
  const { createEcsClient, ecsTargetId, executeCommand } = await import('../../aws/ecs.js');
  const ecs = createEcsClient(aws.options);
  const progress = startProgress(context, `Starting ECS Exec in ${cluster}/${task}`, !options.quiet);
  try {
    return await runShellSession(progress, context, async (onStarted) => {
      const started = await executeCommand(ecs, { cluster, task, container: options.container, command: command.length ? commandLine(command) : '/bin/sh' });
      onStarted(started.sessionId);
      return openDataChannel(started, aws.connect, () => ecsTargetId(ecs, cluster, task, started.containerName));
    });
  } finally {
    ecs.destroy();
    aws.destroy();
  }
}
