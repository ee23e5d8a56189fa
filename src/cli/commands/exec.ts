import { awsFor } from '../aws-context.js';
import { openDataChannel } from '../../lib/open.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { startProgress } from '../progress.js';
import { runShellSession } from '../shell-session.js';
import { endedStatus } from '../session-ending.js';
import { agentCommandLine } from '../../lib/run.js';

export interface ExecOptions extends GlobalOptions {
  container?: string;
}

export { agentCommandLine } from '../../lib/run.js';

/** `ssmx exec <cluster> <task> [-- command]`: ECS Exec with the shell engine (default /bin/sh). */
export async function execCommand(cluster: string, task: string, command: string[], options: ExecOptions, context: CliContext): Promise<number> {
  const aws = awsFor(options, context);
  // The ECS client loads only for this command.
  const { createEcsClient, ecsTargetId, executeCommand } = await import('../../aws/ecs.js');
  const ecs = createEcsClient(aws.options);
  const progress = startProgress(context, `Starting ECS Exec in ${cluster}/${task}`, options);
  try {
    return await runShellSession(progress, context, options, async (onStarted) => {
      const started = await executeCommand(ecs, { cluster, task, container: options.container, command: command.length ? agentCommandLine(command) : '/bin/sh' });
      onStarted(started.sessionId);
      return openDataChannel(started, aws.connect, () => ecsTargetId(ecs, cluster, task, started.containerName));
    }, undefined, (sessionId) => endedStatus(aws.ssm, sessionId));
  } finally {
    ecs.destroy();
    aws.destroy();
  }
}
