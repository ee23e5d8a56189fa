import { randomUUID } from 'node:crypto';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { proxyAgents, type AwsOptions } from '../aws/client-config.js';
import { createSsmClients, type SsmClients } from '../aws/ssm.js';
import { createEc2Client, resolveTarget, type TargetClients } from '../aws/targets.js';
import { DEFAULT_RECONNECT_TIMEOUT_MS } from '../session/reconnect-policy.js';
import { dataChannelAuth, type ConnectOptions } from './open.js';
import type { AwsConfig, CommonOptions } from './types.js';

/** The library's AwsConfig as the AWS side of ssmx takes it (src/aws/client-config.ts). */
export function awsOptionsOf(config: AwsConfig = {}, debug?: (line: string) => void): AwsOptions {
  const { credentials } = config;
  return {
    region: config.region,
    profile: config.profile,
    endpointUrl: config.endpoint,
    env: config.env ?? process.env,
    proxy: config.proxy === false ? { noProxy: true } : config.proxy ? { proxy: config.proxy } : undefined,
    credentials: typeof credentials === 'function' ? credentials : credentials ? async () => credentials : undefined,
    requestHandler: config.requestHandler,
    connectTimeoutMs: config.connectTimeoutMs,
    readTimeoutMs: config.readTimeoutMs,
    debug,
  };
}

/**
 * What one library call works with, and owns: its AWS options, its SSM clients (and EC2's, made
 * on first use), and the connect options of its sessions with a client id of its own. Nothing of
 * it is shared with another call; `destroy` lets go of its connections once the call is over.
 */
export class LibraryClient {
  readonly aws: AwsOptions;
  readonly ssm: SsmClients;
  readonly connect: ConnectOptions;
  private ec2: Promise<EC2Client> | undefined;

  constructor(options: CommonOptions & { reconnectTimeoutMs?: number | undefined }) {
    const config = options.aws ?? {};
    this.aws = awsOptionsOf(config, options.debug);
    this.ssm = createSsmClients(this.aws);
    const env = this.aws.env ?? process.env;
    this.connect = {
      ssm: this.ssm,
      auth: dataChannelAuth(this.aws),
      clientId: randomUUID(),
      // The data channel goes the way the API calls go: the same proxy choice, per address.
      agents: proxyAgents(this.aws, 'stream'),
      streamEndpoint: config.ssmmessagesEndpoint || env.AWS_ENDPOINT_URL_SSMMESSAGES || undefined,
      reconnectTimeoutMs: options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS,
      kms: this.aws,
      debug: options.debug,
    };
  }

  targets(): TargetClients {
    return { ssm: this.ssm.session, ec2: () => (this.ec2 ??= createEc2Client(this.aws)), debug: this.aws.debug };
  }

  /** A target made an instance id: ids as they are, a Name tag or tag:Key=Value with one online match. */
  resolve(target: string): Promise<string> {
    return resolveTarget(this.targets(), target);
  }

  destroy(): void {
    this.ssm.destroy();
    void this.ec2?.then((client) => client.destroy(), () => undefined);
    const { httpAgent, httpsAgent } = proxyAgents(this.aws, 'stream');
    httpAgent.destroy();
    httpsAgent.destroy();
  }
}
