import { ApiError, type ApiContext } from './api.js';
import { DEFAULT_INSTANCE } from './config.js';

const lastPart = (value: string) => value.split('/').pop() ?? value;
const ecsArn = (region: string, kind: string, name: string) => `arn:aws:ecs:${region}:123456789012:${kind}/${name}`;

/**
 * ECS `DescribeTasks` (JSON 1.1), as much as ECS Exec needs: each container's name and runtime id,
 * which make the session's target id (`ecs:<cluster>_<task>_<runtime id>`) that KMS encryption
 * binds the data key to.
 */
export function describeTasks(input: Record<string, unknown>, context: ApiContext): unknown {
  const cluster = typeof input.cluster === 'string' ? lastPart(input.cluster) : 'default';
  const wanted = Array.isArray(input.tasks) ? input.tasks.filter((task): task is string => typeof task === 'string') : [];
  if (wanted.length === 0) throw new ApiError('InvalidParameterException', 'Tasks cannot be empty.');
  const arn = (kind: string, name: string) => ecsArn(context.config.region, kind, name);
  const tasks: unknown[] = [];
  const failures: unknown[] = [];
  for (const name of wanted) {
    const task = context.config.ecsTasks.find((candidate) => candidate.cluster === cluster && candidate.taskId === lastPart(name));
    if (!task) {
      failures.push({ arn: name, reason: 'MISSING' });
      continue;
    }
    const taskArn = arn('task', `${cluster}/${task.taskId}`);
    tasks.push({
      taskArn,
      clusterArn: arn('cluster', cluster),
      lastStatus: 'RUNNING',
      enableExecuteCommand: true,
      containers: task.containers.map((container) => ({
        containerArn: arn('container', `${cluster}/${task.taskId}/${container.name}`),
        taskArn,
        name: container.name,
        runtimeId: container.runtimeId,
        lastStatus: 'RUNNING',
        managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }],
      })),
    });
  }
  return { tasks, failures };
}

/**
 * ECS `ExecuteCommand` (JSON 1.1): a session on one container of a configured task, the command
 * run interactively in a PTY, as the ECS agent's embedded SSM agent does.
 */
export function executeCommand(input: Record<string, unknown>, context: ApiContext): unknown {
  const cluster = typeof input.cluster === 'string' ? lastPart(input.cluster) : 'default';
  const taskId = typeof input.task === 'string' ? lastPart(input.task) : '';
  const command = typeof input.command === 'string' ? input.command : '';
  if (!taskId) throw new ApiError('InvalidParameterException', 'task can not be blank.');
  if (!command) throw new ApiError('InvalidParameterException', 'command can not be blank.');
  if (input.interactive !== true) throw new ApiError('InvalidParameterException', 'Interactive is the only mode supported currently.');
  const tasks = context.config.ecsTasks.filter((task) => task.cluster === cluster);
  if (tasks.length === 0) throw new ApiError('ClusterNotFoundException', 'Cluster not found.');
  const task = tasks.find((candidate) => candidate.taskId === taskId);
  if (!task) throw new ApiError('InvalidParameterException', `The specified task ${taskId} was not found.`);
  const containerName = typeof input.container === 'string' ? input.container : undefined;
  if (!containerName && task.containers.length > 1) {
    throw new ApiError('InvalidParameterException', 'Task has multiple containers. Please specify the container name.');
  }
  const container = containerName ? task.containers.find((candidate) => candidate.name === containerName) : task.containers[0];
  if (!container) throw new ApiError('InvalidParameterException', `The container ${containerName} does not exist in the task.`);

  const target = `ecs:${cluster}_${taskId}_${container.runtimeId}`;
  const record = context.sessions.create({
    target: { ...DEFAULT_INSTANCE, id: target, name: container.name },
    document: context.documents.find('AWS-StartInteractiveCommand')!,
    parameters: { command: [command] },
    reason: undefined,
    owner: context.caller,
    idPrefix: 'ecs-execute-command',
  });
  const arn = (kind: string, name: string) => ecsArn(context.config.region, kind, name);
  return {
    clusterArn: arn('cluster', cluster),
    containerArn: arn('container', `${cluster}/${taskId}/${container.name}`),
    containerName: container.name,
    interactive: true,
    session: { sessionId: record.sessionId, streamUrl: context.streamUrl(record.sessionId, false), tokenValue: record.tokenValue },
    taskArn: arn('task', `${cluster}/${taskId}`),
  };
}
