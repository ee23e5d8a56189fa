import { randomBytes } from 'node:crypto';
import { DEFAULT_INSTANCE, defaultConfig, type InstanceConfig } from '../emulator/config.js';
import { startEmulator } from '../emulator/server.js';
import { UsageError } from '../errors.js';
import { isLoopback } from '../session/listener.js';
import type { Emulator, EmulatorOptions } from './types.js';

/** Keys no other emulator has: two in one process must not take each other's requests. */
function freshCredentials(): { accessKeyId: string; secretAccessKey: string } {
  const id = randomBytes(12).toString('base64').replace(/[^A-Za-z0-9]/g, '').toUpperCase().padEnd(16, 'X').slice(0, 16);
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}

/**
 * The emulator's own server (src/emulator/server.ts), as `ssmx emulator` runs it, in this process:
 * the SSM API, SigV4-checked, the data-channel gateway and the agent behind it. Its shells need
 * node-pty, an optional dependency; without it ports and commands are still served.
 */
export async function startEmulatorServer(options: EmulatorOptions = {}): Promise<Emulator> {
  const config = defaultConfig();
  if (options.host !== undefined) {
    // Loopback only: the emulator is a test double and must never be reachable from elsewhere.
    if (!isLoopback(options.host) || options.host === 'localhost') throw new UsageError(`the emulator listens on a loopback address only (127.0.0.1, another 127.x, or ::1), not ${options.host}`);
    config.host = options.host;
  }
  if (options.port !== undefined) config.port = options.port;
  if (options.region) config.region = options.region;
  const credentials = options.credentials ?? freshCredentials();
  config.accessKeyId = credentials.accessKeyId;
  config.secretAccessKey = credentials.secretAccessKey;
  if (options.agentVersion) config.agentVersion = options.agentVersion;
  if (options.agentPacing !== undefined) config.agentPacing = options.agentPacing;
  if (options.shell) config.shell = ['/bin/sh', '-c', options.shell];
  if (options.kmsKeyId) config.kmsKeyId = options.kmsKeyId;
  if (options.instances) {
    config.instances = options.instances.map(
      (instance): InstanceConfig => ({
        ...DEFAULT_INSTANCE,
        id: instance.id,
        name: instance.name ?? '',
        ...(instance.platformType ? { platformType: instance.platformType, platformName: instance.platformType === 'Windows' ? 'Microsoft Windows Server 2022 Datacenter' : DEFAULT_INSTANCE.platformName } : {}),
        ...(instance.pingStatus ? { pingStatus: instance.pingStatus } : {}),
        ...(instance.agentVersion ? { agentVersion: instance.agentVersion } : {}),
        ...(instance.tags ? { tags: instance.tags } : {}),
      }),
    );
  }
  const running = await startEmulator(config);
  return {
    endpoint: running.endpoint,
    region: config.region,
    credentials,
    instances: config.instances.map((instance) => ({ id: instance.id, name: instance.name })),
    // An empty environment: nothing of this process's (a profile, a proxy) may take its calls elsewhere.
    aws: { endpoint: running.endpoint, region: config.region, credentials, env: {} },
    close: () => running.close(),
  };
}
