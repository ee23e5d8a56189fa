import { describe, expect, it } from 'vitest';
import type { JsonApi } from '../../src/aws/json-api.js';
import { describeManagedInstance, findByIds, resolveTarget } from '../../src/aws/targets.js';

/** SSM's JSON 1.1 client answering DescribeInstanceInformation with `pages`, in turn; every input kept. */
function describing(pages: Array<Record<string, unknown>>) {
  const inputs: Array<Record<string, unknown>> = [];
  const ssm = {
    call: async (operation: string, input: Record<string, unknown>) => {
      expect(operation).toBe('DescribeInstanceInformation');
      inputs.push(input);
      return pages.shift() ?? {};
    },
    destroy: () => undefined,
  } as unknown as JsonApi;
  return { ssm, inputs };
}
/** An identity that may not call DescribeInstances: names then come from SSM alone. */
const noEc2 = async () => ({ send: async () => Promise.reject(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' })) });

describe('target lookups through the session calls\' client', () => {
  it('reads every page, and the JSON\'s epoch seconds become Dates, as the SDK gives them', async () => {
    const { ssm, inputs } = describing([
      { InstanceInformationList: [{ InstanceId: 'i-0000000000000000a', PingStatus: 'Online', LastPingDateTime: 1764676800.5 }], NextToken: 'next' },
      { InstanceInformationList: [{ InstanceId: 'i-0000000000000000b', PingStatus: 'ConnectionLost', RegistrationDate: 1764676800 }] },
    ]);
    const { found, unknown } = await findByIds({ ssm, ec2: noEc2 as never }, ['i-0000000000000000a', 'i-0000000000000000b', 'mi-00000000000000000']);
    expect(found.map((instance) => [instance.id, instance.pingStatus])).toEqual([['i-0000000000000000a', 'Online'], ['i-0000000000000000b', 'ConnectionLost']]);
    expect(unknown).toEqual(['mi-00000000000000000']);
    expect(inputs).toEqual([
      { Filters: [{ Key: 'InstanceIds', Values: ['i-0000000000000000a', 'i-0000000000000000b', 'mi-00000000000000000'] }], MaxResults: 50 },
      { Filters: [{ Key: 'InstanceIds', Values: ['i-0000000000000000a', 'i-0000000000000000b', 'mi-00000000000000000'] }], NextToken: 'next', MaxResults: 50 },
    ]);
    const one = describing([{ InstanceInformationList: [{ InstanceId: 'i-0000000000000000a', LastPingDateTime: 1764676800.5 }] }]);
    expect((await describeManagedInstance(one.ssm, 'i-0000000000000000a'))?.LastPingDateTime).toEqual(new Date('2025-12-02T12:00:00.500Z'));
  });

  it('a Name tag resolves to its one online instance', async () => {
    const { ssm, inputs } = describing([{ InstanceInformationList: [{ InstanceId: 'i-0000000000000000a', PingStatus: 'Online' }] }]);
    expect(await resolveTarget({ ssm, ec2: noEc2 as never }, 'web-1')).toBe('i-0000000000000000a');
    expect(inputs[0]).toEqual({ Filters: [{ Key: 'tag:Name', Values: ['web-1'] }], MaxResults: 50 });
  });
});
