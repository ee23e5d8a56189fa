import type { EC2Client, Filter } from '@aws-sdk/client-ec2';
import type { InstanceInformation, InstanceInformationStringFilter } from '@aws-sdk/client-ssm';
import { clientConfig, instrumentClient, type AwsOptions } from './client-config.js';
import { AwsError, toAwsError } from './errors.js';
import type { JsonApi } from './json-api.js';
import type { ManagedInstance } from './shapes.js';

export type { ManagedInstance } from './shapes.js';

/** Targets StartSession takes as they are: EC2 and managed instance ids, ECS container targets. */
const directTarget = /^(?:i-[0-9a-f]{8,17}|mi-[0-9a-f]{17}|ecs:\S+)$/;

export const isDirectTarget = (target: string): boolean => directTarget.test(target);

export type TargetSpec = { kind: 'id'; id: string } | { kind: 'tag'; key: string; value: string } | { kind: 'name'; name: string };

/** A target as messages show it: a very long one is cut, not echoed in full. */
export const shownTarget = (text: string): string => (text.length > 80 ? `${text.slice(0, 77)}…` : text);

/** `i-…`/`mi-…`/`ecs:…` as they are, `tag:Key=Value`, or else a Name tag. */
export function parseTargetSpec(text: string): TargetSpec {
  if (isDirectTarget(text)) return { kind: 'id', id: text };
  const tag = /^tag:([^=]+)=(.*)$/.exec(text);
  if (tag) return { kind: 'tag', key: tag[1]!, value: tag[2]! };
  // No Name tag begins so: a tag filter with its key or its value missing is a mistake.
  if (text.startsWith('tag:')) throw new AwsError('usage', 'BadTarget', `${shownTarget(text)} is not a tag filter: it needs a key and a value`, 'for example tag:Env=prod');
  return { kind: 'name', name: text };
}

/**
 * The EC2 client is loaded only when a lookup needs it: it is the SDK's largest, and a `forward`
 * to an instance id would otherwise carry tens of megabytes it never uses.
 */
export async function createEc2Client(options: AwsOptions): Promise<EC2Client> {
  const { EC2Client } = await import('./sdk/ec2.js');
  return instrumentClient(new EC2Client(clientConfig(options, 'ec2')), options, 'ec2');
}

/** The timestamps of an InstanceInformation: JSON 1.1 sends epoch seconds, the SDK's type (and ssmx) holds Dates. */
const INSTANCE_DATES = ['LastPingDateTime', 'RegistrationDate', 'LastAssociationExecutionDate', 'LastSuccessfulAssociationExecutionDate'] as const;

function instanceInformation(info: Record<string, unknown>): InstanceInformation {
  for (const field of INSTANCE_DATES) if (typeof info[field] === 'number') info[field] = new Date((info[field] as number) * 1000);
  return info as InstanceInformation;
}

/**
 * DescribeInstanceInformation, every page, through the session calls' client (src/aws/json-api.ts):
 * a session to a Name tag, and every `ssmx run`, asks it before StartSession, so it loads no SDK.
 */
async function describeInstanceInformation(ssm: JsonApi, filters: InstanceInformationStringFilter[]): Promise<InstanceInformation[]> {
  const found: InstanceInformation[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await ssm.call<{ InstanceInformationList?: Array<Record<string, unknown>>; NextToken?: string }>('DescribeInstanceInformation', {
        ...(filters.length ? { Filters: filters } : {}),
        ...(nextToken ? { NextToken: nextToken } : {}),
        MaxResults: 50,
      });
      found.push(...(page.InstanceInformationList ?? []).map(instanceInformation));
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    throw toAwsError(error, 'DescribeInstanceInformation');
  }
  return found;
}

/**
 * EC2 instances (running) with their Name tags and private addresses. An identity that may not call
 * DescribeInstances still gets SSM's view: that failure only loses names.
 */
interface Ec2Facts {
  name: string;
  ip: string;
  type: string;
  state: string;
  tags: Record<string, string>;
}

async function describeEc2(ec2Client: () => Promise<EC2Client>, filters: Filter[], debug?: (line: string) => void, runningOnly = true): Promise<Map<string, Ec2Facts>> {
  const out = new Map<string, Ec2Facts>();
  const [ec2, { DescribeInstancesCommand }] = await Promise.all([ec2Client(), import('./sdk/ec2.js')]);
  try {
    let nextToken: string | undefined;
    do {
      const states = runningOnly ? [{ Name: 'instance-state-name', Values: ['running'] }] : [];
      const page = await ec2.send(new DescribeInstancesCommand({ Filters: [...filters, ...states], NextToken: nextToken }));
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (!instance.InstanceId) continue;
          const tags = Object.fromEntries((instance.Tags ?? []).filter((tag) => tag.Key).map((tag) => [tag.Key!, tag.Value ?? '']));
          out.set(instance.InstanceId, { name: tags.Name ?? '', ip: instance.PrivateIpAddress ?? '', type: instance.InstanceType ?? '', state: instance.State?.Name ?? '', tags });
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    const failure = toAwsError(error, 'DescribeInstances');
    if (failure.kind !== 'permission' && failure.code !== 'UnauthorizedOperation') throw failure;
    debug?.(`ec2 DescribeInstances refused (${failure.code}); names come from SSM alone`);
  }
  return out;
}

function toManaged(info: InstanceInformation, ec2: Map<string, Ec2Facts>): ManagedInstance {
  const fromEc2 = ec2.get(info.InstanceId ?? '');
  return {
    id: info.InstanceId ?? '',
    name: fromEc2?.name || info.Name || info.ComputerName || '',
    ipAddress: fromEc2?.ip || info.IPAddress || '',
    platform: [info.PlatformName, info.PlatformVersion].filter(Boolean).join(' ') || info.PlatformType || '',
    platformType: info.PlatformType ?? '',
    instanceType: fromEc2?.type ?? '',
    state: fromEc2?.state ?? '',
    tags: fromEc2?.tags ?? {},
    agentVersion: info.AgentVersion ?? '',
    pingStatus: info.PingStatus ?? '',
  };
}

export interface TargetClients {
  /** SSM's JSON 1.1 client of the session calls (src/aws/json-api.ts). */
  ssm: JsonApi;
  /** Made on first use only (see createEc2Client). */
  ec2: () => Promise<EC2Client>;
  debug?: ((line: string) => void) | undefined;
}

/** The managed instances carrying a tag (the Name tag for a name), through EC2 and SSM both. */
export async function findByTag(clients: TargetClients, key: string, value: string): Promise<ManagedInstance[]> {
  return findByTags(clients, [{ key, values: [value] }]);
}

/** The managed instances with every one of these tags, each with one of its values (as Run Command's Targets). */
export async function findByTags(clients: TargetClients, tags: Array<{ key: string; values: string[] }>): Promise<ManagedInstance[]> {
  const [byEc2, bySsm] = await Promise.all([
    describeEc2(clients.ec2, tags.map((tag) => ({ Name: `tag:${tag.key}`, Values: tag.values })), clients.debug),
    describeInstanceInformation(clients.ssm, tags.map((tag) => ({ Key: `tag:${tag.key}`, Values: tag.values }))),
  ]);
  const ids = new Set([...byEc2.keys(), ...bySsm.map((info) => info.InstanceId!)]);
  if (ids.size === 0) return [];
  const missing = [...ids].filter((id) => !bySsm.some((info) => info.InstanceId === id));
  const managed = missing.length ? [...bySsm, ...(await describeInstanceInformation(clients.ssm, [{ Key: 'InstanceIds', Values: missing }]))] : bySsm;
  return managed.filter((info) => ids.has(info.InstanceId!)).map((info) => toManaged(info, byEc2));
}

/** Managed instances by id, with their names; the ids SSM does not know are returned apart. */
export async function findByIds(clients: TargetClients, ids: string[]): Promise<{ found: ManagedInstance[]; unknown: string[] }> {
  const ec2Ids = ids.filter((id) => id.startsWith('i-'));
  const [infos, byEc2] = await Promise.all([
    describeInstanceInformation(clients.ssm, [{ Key: 'InstanceIds', Values: ids }]),
    ec2Ids.length ? describeEc2(clients.ec2, [{ Name: 'instance-id', Values: ec2Ids }], clients.debug, false) : Promise.resolve(new Map<string, Ec2Facts>()),
  ]);
  const found = infos.map((info) => toManaged(info, byEc2));
  return { found, unknown: ids.filter((id) => !found.some((instance) => instance.id === id)) };
}

/** Every managed instance, with names and addresses from EC2 where it has them (`ssmx list`, the picker). */
export async function listManagedInstances(clients: TargetClients): Promise<ManagedInstance[]> {
  const infos = await describeInstanceInformation(clients.ssm, []);
  const ec2Ids = infos.map((info) => info.InstanceId!).filter((id) => id.startsWith('i-'));
  // Every state: a stopped instance is still managed (and says so), only not online.
  const byEc2 = ec2Ids.length ? await describeEc2(clients.ec2, [{ Name: 'instance-id', Values: ec2Ids }], clients.debug, false) : new Map();
  return infos.map((info) => toManaged(info, byEc2));
}

/** Chooses among several instances; on a terminal this is the picker. */
export type Chooser = (instances: ManagedInstance[], question: string) => Promise<ManagedInstance>;

/**
 * A target as given, made an instance id: ids pass through; a Name tag or `tag:Key=Value` must
 * match exactly one online managed instance, or `choose` picks among several (on a terminal).
 */
export async function resolveTarget(clients: TargetClients, target: string, choose?: Chooser): Promise<string> {
  const spec = parseTargetSpec(target);
  if (spec.kind === 'id') return spec.id;
  const [key, value] = spec.kind === 'tag' ? [spec.key, spec.value] : ['Name', spec.name];
  const described = spec.kind === 'tag' ? `tagged ${shownTarget(`${key}=${value}`)}` : `named ${shownTarget(value)}`;
  const found = await findByTag(clients, key, value);
  const online = found.filter((instance) => instance.pingStatus === 'Online');
  if (online.length === 1) return online[0]!.id;
  if (online.length > 1) {
    if (choose) return (await choose(online, `${online.length} instances are ${described}; pick one`)).id;
    const ids = online.map((instance) => instance.id).join(', ');
    throw new AwsError('target', 'AmbiguousTarget', `${online.length} online managed instances are ${described}: ${ids}`, 'give the instance id instead');
  }
  if (found.length > 0) {
    const states = found.map((instance) => `${instance.id} (${instance.pingStatus})`).join(', ');
    throw new AwsError('target', 'TargetNotConnected', `no managed instance ${described} is online: ${states}`, 'the SSM agent on it is not connected to Session Manager');
  }
  throw new AwsError(
    'target',
    'UnknownTarget',
    `no managed instance is ${described}`,
    'give an instance id (i-…, mi-…), a Name tag, or tag:Key=Value of an instance registered with Systems Manager (ssmx list shows them)',
  );
}

/** What SSM knows of one managed instance: undefined when it knows none, null when it may not say. */
export async function describeManagedInstance(ssm: JsonApi, id: string): Promise<InstanceInformation | undefined | null> {
  try {
    return (await describeInstanceInformation(ssm, [{ Key: 'InstanceIds', Values: [id] }]))[0];
  } catch {
    return null;
  }
}
