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
    throw await explainExecFailure(client, input, toAwsError(error, 'ExecuteCommand'));
  }
}

/**
 * ECS's own words name neither the cluster nor the containers ("Cluster not found.", "The
 * container app does not exist in the task."): the message says which, and lists what the task has.
 */
async function explainExecFailure(client: ECSClient, input: ExecInput, failure: AwsError): Promise<AwsError> {
  if (failure.code === 'ClusterNotFoundException') {
    return new AwsError('target', failure.code, `the ECS cluster ${input.cluster} was not found in this account and region`, 'aws ecs list-clusters shows them; check --profile and --region');
  }
  if (/container/i.test(failure.message)) {
    const names = await client
      .send(new DescribeTasksCommand({ cluster: input.cluster, tasks: [input.task] }))
      .then((output) => (output.tasks?.[0]?.containers ?? []).map((container) => container.name).filter(Boolean))
      .catch(() => []);
    const which = input.container ? `has no container ${input.container}` : 'has several containers';
    // Naming none of several is a usage error; naming one the task lacks is a wrong target.
    if (names.length > 0) return new AwsError(input.container ? 'target' : 'usage', failure.code, `the task ${lastPart(input.task)} ${which}; its containers: ${names.join(', ')}`, 'pick one with --container NAME');
  }
  return failure;
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
