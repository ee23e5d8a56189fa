import { readFileSync } from 'node:fs';
import { isLoopback } from '../../session/listener.js';
import { defaultConfig, loadConfigFile, parseInstanceFlag, type EmulatorConfig } from '../../emulator/config.js';
import { startEmulator, type RunningEmulator } from '../../emulator/server.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { loadPty, PTY_MISSING } from '../../emulator/agent/pty.js';

export interface EmulatorOptions {
  port?: string;
  host?: string;
  region?: string;
  agentVersion?: string;
  agentPacing?: string;
  duplicateAcks?: string;
  config?: string;
  instance?: string[];
  shell?: string;
  runAs?: string;
  publicEndpoint?: string;
  tlsCert?: string;
  tlsKey?: string;
  kmsKeyId?: string;
  /** The service's own endings (seconds; a count), checked as the command line is read. */
  gatewayCloseAfter?: number;
  terminateAfter?: number;
  failResume?: number;
  startsBeforeFailing?: number;
  requireSignedDataChannel?: boolean;
  presignedStreamUrls?: boolean;
  requireKmsChallenge?: boolean;
  events?: boolean;
  channelClosedOutput?: string;
}

export function buildEmulatorConfig(options: EmulatorOptions): EmulatorConfig {
  let config = defaultConfig();
  if (options.config) {
    try {
      config = loadConfigFile(options.config, config);
    } catch (error) {
      throw new UsageError(`cannot read --config ${options.config}: ${(error as Error).message}`);
    }
  }
  if (options.host !== undefined) {
    // Loopback only: the emulator is a test double and must never be reachable from elsewhere.
    const host = options.host.replace(/^\[|\]$/g, '');
    if (!isLoopback(host) || host === 'localhost') throw new UsageError(`--host must be a loopback address (127.0.0.1, another 127.x, or ::1), not ${options.host}`);
    config.host = host;
  }
  if (options.port !== undefined) {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0 to 65535, not ${options.port}`);
    config.port = port;
  }
  if (options.region) config.region = options.region;
  if (options.agentVersion) {
    if (!/^\d+(\.\d+){3}$/.test(options.agentVersion)) throw new UsageError(`--agent-version must look like 3.3.1142.0, not ${options.agentVersion}`);
    config.agentVersion = options.agentVersion;
  }
  if (options.agentPacing !== undefined) {
    if (options.agentPacing !== 'on' && options.agentPacing !== 'off') throw new UsageError('--agent-pacing is on or off');
    config.agentPacing = options.agentPacing === 'on';
  }
  if (options.duplicateAcks !== undefined) config.duplicateAcks = options.duplicateAcks === 'on';
  if (options.shell) config.shell = ['/bin/sh', '-c', options.shell];
  if (options.runAs) config.runAs = options.runAs;
  if (options.kmsKeyId) config.kmsKeyId = options.kmsKeyId;
  if (options.gatewayCloseAfter !== undefined) config.gatewayCloseAfterMs = options.gatewayCloseAfter * 1000;
  if (options.terminateAfter !== undefined) config.terminateAfterMs = options.terminateAfter * 1000;
  if (options.failResume !== undefined) config.failResume = options.failResume;
  if (options.startsBeforeFailing !== undefined) config.startsBeforeFailing = options.startsBeforeFailing;
  if (options.requireSignedDataChannel) config.requireSignedDataChannel = true;
  if (options.presignedStreamUrls) config.presignedStreamUrls = true;
  if (options.requireKmsChallenge) config.requireKmsChallenge = true;
  if (options.channelClosedOutput !== undefined) config.channelClosedOutput = options.channelClosedOutput === 'on';
  if (options.publicEndpoint) {
    if (!/^http:\/\/[^/]+\/?$/.test(options.publicEndpoint)) throw new UsageError(`--public-endpoint must look like http://127.0.0.1:8080, not ${options.publicEndpoint}`);
    config.publicEndpoint = options.publicEndpoint;
  }
  if (options.tlsCert || options.tlsKey) {
    if (!options.tlsCert || !options.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
    try {
      config.tls = { cert: readFileSync(options.tlsCert, 'utf8'), key: readFileSync(options.tlsKey, 'utf8') };
    } catch (error) {
      throw new UsageError(`cannot read the TLS certificate or key: ${(error as Error).message}`);
    }
  }
  if (options.instance && options.instance.length > 0) {
    try {
      config.instances = options.instance.map(parseInstanceFlag);
    } catch (error) {
      throw new UsageError(`--instance: ${(error as Error).message}`, 'for example --instance i-0123456789abcdef0=web-1');
    }
  }
  return config;
}

export function emulatorBanner(config: EmulatorConfig, running: RunningEmulator): string {
  return JSON.stringify({
    endpoint: running.endpoint,
    region: config.region,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    instances: config.instances.map((instance) => ({ id: instance.id, name: instance.name })),
    ecsTasks: config.ecsTasks.map((task) => ({ cluster: task.cluster, taskId: task.taskId, containers: task.containers.map((c) => c.name) })),
  });
}

/** `ssmx emulator`: serve until SIGTERM or SIGINT; one JSON line on stdout once ready. */
export async function emulatorCommand(options: EmulatorOptions, context: CliContext): Promise<number> {
  if (!(await loadPty())) throw new UsageError(PTY_MISSING);
  const config = buildEmulatorConfig(options);
  // The handlers go in before the ready line: a script may signal the moment it reads it.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // Events go out only once the ready line has: a reader takes the first line as the banner.
  let ready = false;
  const early: string[] = [];
  const onEvent = options.events
    ? (event: object) => {
        const line = `${JSON.stringify(event)}\n`;
        if (ready) context.stdout.write(line);
        else early.push(line);
      }
    : undefined;
  const running = await startEmulator(config, onEvent ? { onEvent } : {});
  context.stdout.write(`${emulatorBanner(config, running)}\n`);
  ready = true;
  for (const line of early.splice(0)) context.stdout.write(line);
  await stopped;
  await running.close();
  return 0;
}
