import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSsmClient } from '../../src/aws/ssm.js';
import { createEcsClient } from '../../src/aws/ecs.js';

// use_fips_endpoint / use_dualstack_endpoint reach every client, from the command's environment or
// its profile; nothing is sent anywhere (the endpoint the client would use is only resolved).
const resolved = async (client: Awaited<ReturnType<typeof createSsmClient>> | ReturnType<typeof createEcsClient>) => {
  const config = client.config as unknown as { useFipsEndpoint: () => Promise<boolean>; useDualstackEndpoint: () => Promise<boolean>; endpointProvider: (p: object) => { url: URL } };
  const [fips, dualstack] = [await config.useFipsEndpoint(), await config.useDualstackEndpoint()];
  const url = config.endpointProvider({ Region: 'us-east-1', UseFIPS: fips, UseDualStack: dualstack }).url.host;
  client.destroy();
  return { fips, dualstack, url };
};

describe('FIPS and dual-stack endpoints', () => {
  const base = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIA0', AWS_SECRET_ACCESS_KEY: 's', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

  it('AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT from the environment', async () => {
    expect(await resolved(await createSsmClient({ env: { ...base, AWS_USE_FIPS_ENDPOINT: 'true' } }))).toEqual({ fips: true, dualstack: false, url: 'ssm-fips.us-east-1.amazonaws.com' });
    expect(await resolved(createEcsClient({ env: { ...base, AWS_USE_DUALSTACK_ENDPOINT: 'true' } }))).toMatchObject({ fips: false, dualstack: true, url: 'ecs.us-east-1.api.aws' });
  });

  it('the profile\'s use_fips_endpoint and use_dualstack_endpoint', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'ssmx-fips-')), 'config');
    writeFileSync(config, '[profile gov]\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\naws_access_key_id = AKIA0\naws_secret_access_key = s\n');
    expect(await resolved(await createSsmClient({ profile: 'gov', env: { ...base, AWS_CONFIG_FILE: config } }))).toEqual({ fips: true, dualstack: true, url: 'ssm-fips.us-east-1.api.aws' });
  });
});
