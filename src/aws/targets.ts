import { DescribeInstanceInformationCommand, type InstanceInformation, type SSMClient } from '@aws-sdk/client-ssm';
import { AwsError, toAwsError } from './errors.js';

/** Targets StartSession takes as they are: EC2 and managed instance ids, ECS container targets. */
const directTarget = /^(?:i-[0-9a-f]{8,17}|mi-[0-9a-f]{17}|ecs:\S+)$/;

export const isDirectTarget = (target: string): boolean => directTarget.test(target);

/**
 * A target as given: an instance id passes through; anything else is a Name tag, looked up among
 * the managed instances (DescribeInstanceInformation with a `tag:Name` filter). Exactly one
 * online instance must carry it.
 */
export async function resolveTarget(client: SSMClient, target: string): Promise<string> {
  if (isDirectTarget(target)) return target;
  const found: InstanceInformation[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:Name', Values: [target] }], NextToken: nextToken, MaxResults: 50 }),
      );
      found.push(...(page.InstanceInformationList ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    throw toAwsError(error, 'DescribeInstanceInformation');
  }
  const online = found.filter((instance) => instance.PingStatus === 'Online');
  if (online.length === 1) return online[0]!.InstanceId!;
  if (online.length > 1) {
    const ids = online.map((instance) => instance.InstanceId).join(', ');
    throw new AwsError('target', 'AmbiguousTarget', `${online.length} online managed instances are named ${target}: ${ids}`, 'give the instance id instead');
  }
  if (found.length > 0) {
    const states = found.map((instance) => `${instance.InstanceId} (${instance.PingStatus})`).join(', ');
    throw new AwsError('target', 'TargetNotConnected', `no managed instance named ${target} is online: ${states}`, 'the SSM agent on it is not connected to Session Manager');
  }
  throw new AwsError(
    'target',
    'UnknownTarget',
    `no managed instance is named ${target}`,
    'give an instance id (i-…, mi-…) or the value of a Name tag of an instance registered with Systems Manager',
  );
}
