import { DescribeTasksCommand, ECSClient, ExecuteCommandCommand } from '@aws-sdk/client-ecs';
import { clientConfig, instrumentClient, type AwsOptions } from './client-config.js';
import { AwsError, toAwsError } from './errors.js';
import type { StartedSession } from './ssm.js';

export function createEcsClient(options: AwsOptions): ECSClient {
  return instrumentClient(new ECSClient(clientConfig(options, 'ecs')), options, 'ecs');
}

export interface ExecInput {
  cluster: string;
  task: string;
  container?: string | undefined;
  command: string;
}

/** ECS Exec: `ExecuteCommand` (always interactive) gives a Session Manager session on the container. */
export async function executeCommand(client: ECSClient, input: ExecInput): Promise<StartedSession & { target: string; containerName: string | undefined }> {
  try {
    const output = await client.send(
      new ExecuteCommandCommand({ cluster: input.cluster, task: input.task, ...(input.container ? { container: input.container } : {}), command: input.command, interactive: true }),
    );
    const session = output.session;
    if (!session?.sessionId || !session.tokenValue || !session.streamUrl) {
      throw new AwsError('service', 'IncompleteResponse', 'ExecuteCommand answered without a session id, token or stream URL');
    }
    return {
      sessionId: session.sessionId,
      tokenValue: session.tokenValue,
      streamUrl: session.streamUrl,
      target: `${input.cluster}/${input.task}${output.containerName ? `/${output.containerName}` : ''}`,
      containerName: output.containerName,
    };
  } catch (error) {
    throw toAwsError(error, 'ExecuteCommand');
  }
}

const lastPart = (value: string) => value.split('/').pop() ?? value;

/**
 * The Session Manager target id of an ECS Exec session, `ecs:<cluster>_<task>_<runtime id>`, as the
 * AWS CLI builds it: KMS encryption binds the data key to it, so it is looked up (DescribeTasks)
 * only when the agent asks for an encrypted session.
 */
export async function ecsTargetId(client: ECSClient, cluster: string, task: string, containerName: string | undefined): Promise<string> {
  try {
    const output = await client.send(new DescribeTasksCommand({ cluster, tasks: [task] }));
    const containers = output.tasks?.[0]?.containers ?? [];
    const container = containerName ? containers.find((candidate) => candidate.name === containerName) : containers[0];
    if (!container?.runtimeId) throw new AwsError('service', 'IncompleteResponse', `DescribeTasks gave no runtime id for ${containerName ?? 'the container'} of ${task}`);
    return `ecs:${lastPart(cluster)}_${lastPart(task)}_${container.runtimeId}`;
  } catch (error) {
    throw toAwsError(error, 'DescribeTasks');
  }
}
