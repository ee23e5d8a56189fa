import { ECSClient, ExecuteCommandCommand } from '@aws-sdk/client-ecs';
import { clientConfig, traceClient, type AwsOptions } from './client-config.js';
import { AwsError, toAwsError } from './errors.js';
import type { StartedSession } from './ssm.js';

export function createEcsClient(options: AwsOptions): ECSClient {
  return traceClient(new ECSClient(clientConfig(options, 'ecs')), options, 'ecs');
}

export interface ExecInput {
  cluster: string;
  task: string;
  container?: string | undefined;
  command: string;
}

/** ECS Exec: `ExecuteCommand` (always interactive) gives a Session Manager session on the container. */
export async function executeCommand(client: ECSClient, input: ExecInput): Promise<StartedSession & { target: string }> {
  try {
    const output = await client.send(
      new ExecuteCommandCommand({ cluster: input.cluster, task: input.task, ...(input.container ? { container: input.container } : {}), command: input.command, interactive: true }),
    );
    const session = output.session;
    if (!session?.sessionId || !session.tokenValue || !session.streamUrl) {
      throw new AwsError('service', 'IncompleteResponse', 'ExecuteCommand answered without a session id, token or stream URL');
    }
    return { sessionId: session.sessionId, tokenValue: session.tokenValue, streamUrl: session.streamUrl, target: `${input.cluster}/${input.task}${output.containerName ? `/${output.containerName}` : ''}` };
  } catch (error) {
    throw toAwsError(error, 'ExecuteCommand');
  }
}
