import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { redact } from './redact.js';

export interface AwsOptions {
  region?: string | undefined;
  profile?: string | undefined;
  /** The endpoint for every AWS API ssmx calls (the emulator serves them all on one). */
  endpointUrl?: string | undefined;
  /** Asks the person for the code of an MFA device (assume-role profiles with mfa_serial). */
  mfaCodeProvider?: ((serial: string) => Promise<string>) | undefined;
  /** Where --debug lines go; secrets are redacted before they get here. */
  debug?: ((line: string) => void) | undefined;
}

export type Service = 'ssm' | 'ec2' | 'ecs' | 'sts' | 'kms';

/** An endpoint: the flag, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, else the SDK's. */
export function resolveEndpoint(options: AwsOptions, service: Service = 'ssm', env: NodeJS.ProcessEnv = process.env): string | undefined {
  return options.endpointUrl || env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL || undefined;
}

const providers = new WeakMap<AwsOptions, AwsCredentialIdentityProvider>();

/**
 * The standard chain (environment, shared files and --profile, SSO, assume-role with MFA, process,
 * container and instance roles), one per options object so every client shares it: an MFA code is
 * asked for once.
 */
function credentialsFor(options: AwsOptions): AwsCredentialIdentityProvider {
  let provider = providers.get(options);
  if (!provider) {
    const stsEndpoint = resolveEndpoint(options, 'sts');
    provider = fromNodeProviderChain({
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.mfaCodeProvider ? { mfaCodeProvider: options.mfaCodeProvider } : {}),
      clientConfig: { ...(options.region ? { region: options.region } : {}), ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) },
    });
    providers.set(options, provider);
  }
  return provider;
}

/** What every SDK client of ssmx is built with. */
export function clientConfig(options: AwsOptions, service: Service) {
  // The SDK warns on every run that its 2027 releases will need Node 22; ssmx pins its SDK, and a
  // user of a shell should not see that notice on every session.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = resolveEndpoint(options, service);
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    credentials: credentialsFor(options),
    maxAttempts: 3,
  };
}

/** With --debug: every API call and its answer on stderr, secrets redacted. */
export function traceClient<T extends { middlewareStack: unknown }>(client: T, options: AwsOptions, service: Service): T {
  const debug = options.debug;
  if (!debug) return client;
  const stack = client.middlewareStack as { add: (middleware: unknown, options: { step: 'initialize'; name: string }) => void };
  stack.add(
    (next: (args: unknown) => Promise<{ output: unknown }>, context: { commandName?: string }) => async (args: unknown) => {
      const started = Date.now();
      const input = (args as { input?: unknown }).input;
      debug(`${service} ${context.commandName ?? '?'} ${JSON.stringify(redact(input))}`);
      try {
        const result = await next(args);
        const { $metadata: _metadata, ...output } = (result.output ?? {}) as Record<string, unknown>;
        debug(`${service} ${context.commandName ?? '?'} answered in ${Date.now() - started} ms: ${JSON.stringify(redact(output))}`);
        return result;
      } catch (error) {
        debug(`${service} ${context.commandName ?? '?'} failed in ${Date.now() - started} ms: ${(error as Error).name}: ${redact((error as Error).message)}`);
        throw error;
      }
    },
    { step: 'initialize', name: 'ssmxDebugTrace' },
  );
  return client;
}
