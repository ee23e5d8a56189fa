import { existsSync, readFileSync } from 'node:fs';

/** Failure modes a test can give an instance, to prove the client fails cleanly. */
export const Faults = ['unreachable-stream', 'close-websocket', 'malformed-frame', 'bad-challenge'] as const;
export type Fault = (typeof Faults)[number];

export interface InstanceConfig {
  id: string;
  name: string;
  platformType: 'Linux' | 'Windows' | 'MacOS';
  platformName: string;
  pingStatus: 'Online' | 'ConnectionLost' | 'Inactive';
  ipAddress: string;
  /** The version its agent announces; the emulator-wide one when absent. */
  agentVersion?: string;
  fault?: Fault;
  /** Tags besides Name (which is `name`), for `tag:Key=Value` targets and filters. */
  tags?: Record<string, string>;
}

/** An ECS task the emulator's ExecuteCommand serves, with its containers. */
export interface EcsTaskConfig {
  cluster: string;
  taskId: string;
  containers: Array<{ name: string; runtimeId: string }>;
}

/** Another principal the emulator knows, for credential and permission tests. */
export interface PrincipalConfig {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Every call signed with it is refused with ExpiredTokenException. */
  expired?: boolean;
  /** From this time on (ISO 8601) it is expired: temporary credentials that run out mid-session. */
  expiresAt?: string;
  /** Actions refused with AccessDeniedException, as `ssm:StartSession`. */
  deny?: string[];
}

export interface EmulatorConfig {
  host: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  agentVersion: string;
  /** The agent's 1 ms pause after each message; off only for stress tests of the client. */
  agentPacing: boolean;
  /**
   * Whether the agent acknowledges a duplicate again. Current agents do (docs/protocol.md §6), and
   * that is the default; older agents drop one silently (datachannel.go, handleStreamDataMessage),
   * which `false` reproduces, for clients that must survive both.
   */
  duplicateAcks: boolean;
  /** The shell command the Standard_Stream plugin runs in its PTY. */
  shell: string[];
  /**
   * The account's Session Manager preferences with Run As on and this user by default
   * (SSM-SessionManagerRunShell's runAsEnabled and runAsDefaultUser): shell, interactive and
   * non-interactive sessions start as that user, or fail as the agent fails them.
   */
  runAs?: string;
  /** A session whose client is gone is ended after this long, as the service's idle timeout does. */
  idleTimeoutMs: number;
  instances: InstanceConfig[];
  ecsTasks: EcsTaskConfig[];
  principals: PrincipalConfig[];
  /** STS AssumeRole with an MFA serial number accepts only this code. */
  mfaCode: string;
  /** The next this many API calls are answered with ThrottlingException. */
  throttle: number;
  /**
   * The service's own endings, as faults for tests: the gateway closes every data-channel
   * WebSocket normally (1000) this long after it opened (it does so on its own schedule, and a
   * client must resume); every session is terminated this long after it started (an idle timeout,
   * a maximum duration, an administrator); the next this many ResumeSession calls fail.
   */
  gatewayCloseAfterMs?: number;
  terminateAfterMs?: number;
  failResume?: number;
  /** StartSession succeeds this many times, then says the target is not connected (an instance gone). */
  startsBeforeFailing?: number;
  /**
   * The http:// base clients reach the emulator by, when something stands between (a test's
   * fault proxy): StreamUrls then point there. Its own address when unset.
   */
  publicEndpoint?: string;
  /** Serve HTTPS and wss:// (as AWS does) with this certificate and key (PEM), instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Sessions are KMS-encrypted with this key (the account's session preference), when set. */
  kmsKeyId?: string;
  /** The keys KMS knows; [kmsKeyId] when unset. */
  kmsKeys?: string[];
  /**
   * Refuse (HTTP 403) a data-channel upgrade that is neither SigV4-signed nor presigned, as the
   * service will once it enforces plugin 1.2.764.0 and later. A signed upgrade is always checked.
   */
  requireSignedDataChannel: boolean;
  /** StartSession and ResumeSession give presigned StreamUrls, which clients open unsigned. */
  presignedStreamUrls: boolean;
  /**
   * The agent's Kms.RequireKMSChallengeResponse (agent/appconfig/contracts.go, default false): a
   * KMS session whose client does not acknowledge the random challenge is ended (agents from
   * 3.3.808.0; older ones have neither the challenge nor the setting).
   */
  requireKmsChallenge: boolean;
  /**
   * Whether channel_closed carries the agent's reason (a refused destination, a failed dial). The
   * real service has been seen to close both with and without it; clients must cope with both.
   */
  channelClosedOutput: boolean;
}

export const DEFAULT_ECS_TASK: EcsTaskConfig = {
  cluster: 'demo',
  taskId: '0123456789abcdef0123456789abcdef',
  containers: [{ name: 'app', runtimeId: '0123456789abcdef0123456789abcdef-1234567890' }],
};

export const DEFAULT_INSTANCE: InstanceConfig = {
  id: 'i-0123456789abcdef0',
  name: 'demo',
  platformType: 'Linux',
  platformName: 'Debian GNU/Linux',
  pingStatus: 'Online',
  ipAddress: '127.0.0.1',
};

export function defaultConfig(): EmulatorConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    region: 'us-east-1',
    accessKeyId: 'AKIAEMULATORSSMX0001',
    secretAccessKey: 'ssmx-emulator-secret-access-key',
    // A current agent: multiplexed port forwarding, smux keep-alive off (docs/protocol.md §8).
    agentVersion: '3.3.1142.0',
    agentPacing: true,
    duplicateAcks: true,
    shell: defaultShell(),
    idleTimeoutMs: 20 * 60_000,
    instances: [{ ...DEFAULT_INSTANCE }],
    ecsTasks: [structuredClone(DEFAULT_ECS_TASK)],
    principals: [],
    mfaCode: '123456',
    throttle: 0,
    requireSignedDataChannel: false,
    presignedStreamUrls: false,
    requireKmsChallenge: false,
    channelClosedOutput: true,
  };
}

/** The principal a request is signed as: the configured one, an extra one, or STS-issued. */
export function principalFor(config: EmulatorConfig, accessKeyId: string): PrincipalConfig | undefined {
  return accessKeyId === config.accessKeyId ? { accessKeyId, secretAccessKey: config.secretAccessKey } : config.principals.find((p) => p.accessKeyId === accessKeyId);
}

/**
 * Why a principal's signature, good as it is, does not admit the request: a session token that is
 * not the one its credentials came with, or credentials that have expired. As the service says it.
 */
export function credentialProblem(principal: PrincipalConfig, sessionToken: string | undefined, now = Date.now()): { code: string; message: string } | undefined {
  if (principal.sessionToken !== undefined && principal.sessionToken !== sessionToken) {
    return { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  if (principal.expired || (principal.expiresAt !== undefined && Date.parse(principal.expiresAt) <= now)) return { code: 'ExpiredTokenException', message: 'The security token included in the request is expired' };
  return undefined;
}

function defaultShell(): string[] {
  // The agent runs `sh` (bash on Amazon Linux); bash, where there is one, behaves the same.
  const bash = ['/bin/bash', '/usr/bin/bash'].find((candidate) => existsSync(candidate));
  return [bash ?? '/bin/sh'];
}

/**
 * An instance from the command line: `i-abc`, `i-abc=web-1`, `i-abc=web-1,Env=prod,Role=web` (tags
 * after the name), and a fault or `offline` (its agent not connected) after a colon:
 * `i-abc=web-1:close-websocket`, `i-abc=db-1,Env=prod:offline`.
 */
export function parseInstanceFlag(text: string): InstanceConfig {
  const eq = text.indexOf('=');
  const [idPart, rest] = eq < 0 ? [text, ''] : [text.slice(0, eq), text.slice(eq + 1)];
  const colon = rest.lastIndexOf(':');
  const [described, fault] = colon < 0 ? [rest, undefined] : [rest.slice(0, colon), rest.slice(colon + 1)];
  const [name = '', ...tagTexts] = described.split(',');
  if (!/^(i|mi)-[0-9a-f]{8,17}$/.test(idPart)) throw new Error(`not an instance id: ${idPart}`);
  if (fault !== undefined && fault !== 'offline' && !(Faults as readonly string[]).includes(fault)) {
    throw new Error(`unknown fault ${fault} (offline, or one of ${Faults.join(', ')})`);
  }
  const tags: Record<string, string> = {};
  for (const tag of tagTexts) {
    const eq = tag.indexOf('=');
    if (eq <= 0) throw new Error(`not a tag (Key=Value): ${tag}`);
    tags[tag.slice(0, eq)] = tag.slice(eq + 1);
  }
  return {
    ...DEFAULT_INSTANCE,
    id: idPart,
    name,
    ...(tagTexts.length ? { tags } : {}),
    ...(fault === 'offline' ? { pingStatus: 'ConnectionLost' as const } : fault ? { fault: fault as Fault } : {}),
  };
}

/** A JSON file: `{"instances": [{"id": "i-…", "name": "…", …}], "region": …}` — all optional. */
export function loadConfigFile(path: string, base: EmulatorConfig): EmulatorConfig {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<EmulatorConfig> & { instances?: Partial<InstanceConfig>[] };
  const instances = raw.instances?.map((instance) => {
    if (typeof instance.id !== 'string') throw new Error(`${path}: every instance needs an "id"`);
    return { ...DEFAULT_INSTANCE, ...instance, name: instance.name ?? '' } as InstanceConfig;
  });
  return { ...base, ...raw, instances: instances ?? base.instances };
}
