import { ApiError } from './api.js';
import type { EmulatorConfig, InstanceConfig } from './config.js';
import { listParam, parseForm, xmlDocument } from './query.js';

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** An instance's tags as EC2 has them: its name is the Name tag. */
export function tagsOf(instance: InstanceConfig): Record<string, string> {
  return { ...(instance.name ? { Name: instance.name } : {}), ...(instance.tags ?? {}) };
}

const KNOWN_FILTERS = ['tag-key', 'instance-id', 'instance-state-name', 'private-ip-address'];

function filterValue(instance: InstanceConfig, name: string): string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tagsOf(instance)[name.slice(4)];
    return value === undefined ? [] : [value];
  }
  switch (name) {
    case 'tag-key':
      return Object.keys(tagsOf(instance));
    case 'instance-id':
      return [instance.id];
    case 'instance-state-name':
      return ['running'];
    case 'private-ip-address':
      return [instance.ipAddress];
    default:
      return undefined;
  }
}

/** EC2 `DescribeInstances` (query protocol): the emulated EC2 instances (i- ids), filtered. */
export function describeInstances(body: Buffer, config: EmulatorConfig): string {
  const form = parseForm(body);
  const ids = listParam(form, 'InstanceId');
  const filters: Array<{ name: string; values: string[] }> = [];
  for (let i = 1; form.has(`Filter.${i}.Name`); i++) filters.push({ name: form.get(`Filter.${i}.Name`)!, values: listParam(form, `Filter.${i}.Value`) });
  for (const filter of filters) {
    if (!filter.name.startsWith('tag:') && !KNOWN_FILTERS.includes(filter.name)) {
      throw new ApiError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    }
  }
  for (const id of ids) {
    if (!config.instances.some((instance) => instance.id === id)) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  const instances = config.instances
    .filter((instance) => instance.id.startsWith('i-'))
    .filter((instance) => ids.length === 0 || ids.includes(instance.id))
    .filter((instance) => filters.every((filter) => filterValue(instance, filter.name)!.some((value) => filter.values.includes(value))));
  return xmlDocument('DescribeInstancesResponse', EC2_NAMESPACE, {
    requestId: 'ssmx-emulator-request',
    reservationSet: instances.map((instance) => ({
      reservationId: `r-${instance.id.slice(2)}`,
      ownerId: '123456789012',
      instancesSet: [
        {
          instanceId: instance.id,
          imageId: 'ami-0123456789abcdef0',
          instanceState: { code: 16, name: 'running' },
          privateIpAddress: instance.ipAddress,
          instanceType: 't3.micro',
          platformDetails: instance.platformType === 'Windows' ? 'Windows' : 'Linux/UNIX',
          tagSet: Object.entries(tagsOf(instance)).map(([key, value]) => ({ key, value })),
        },
      ],
    })),
  });
}

export function ec2ErrorXml(error: ApiError): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${error.code}</Code><Message>${error.message.replace(/[<&>]/g, ' ')}</Message></Error></Errors><RequestID>ssmx-emulator-request</RequestID></Response>`;
}
