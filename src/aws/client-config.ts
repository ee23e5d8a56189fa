import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ProxyingHttpAgent, ProxyingHttpsAgent } from '../net/proxy-agent.js';
import { proxyFor, type ProxyChoice } from '../net/proxy.js';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { AwsError, ENDPOINT_OF_ERROR } from './errors.js';
import { checkProfile, profileSettings } from './profiles.js';
import { redact } from './redact.js';
import type { AwsCredentialProvider, AwsRequestHandler } from './shapes.js';

export interface AwsOptions {
  region?: string | undefined;
  profile?: string | undefined;
  /** The endpoint for every AWS API ssmx calls (the emulator serves them all on one). */
  endpointUrl?: string | undefined;
  /** Asks the person for the code of an MFA device (assume-role profiles with mfa_serial). */
  mfaCodeProvider?: ((serial: string) => Promise<string>) | undefined;
  /** Where --debug lines go; secrets are redacted before they get here. */
  debug?: ((line: string) => void) | undefined;
  /**
   * The environment the command runs in (region, credentials, endpoints, config files are read
   * from it); the process's when not given. A test hands in its own.
   */
  env?: NodeJS.ProcessEnv | undefined;
  /** How long connecting to an endpoint, and then waiting for its answer, may take (the AWS CLI's 60 s each). */
  connectTimeoutMs?: number | undefined;
  readTimeoutMs?: number | undefined;
  /** --proxy / --no-proxy; the environment's proxy variables apply under them. */
  proxy?: ProxyChoice | undefined;
  /** Credentials a program hands in, in place of the standard chain (the library's `credentials`). */
  credentials?: AwsCredentialProvider | undefined;
  /** Sends every AWS API request in place of ssmx's own agents (the data channel's WebSocket excepted). */
  requestHandler?: AwsRequestHandler | undefined;
}

/** The SDK's standard retry mode: three attempts in all, for every client (the SDK's and src/aws/json-api.ts). */
export const MAX_ATTEMPTS = 3;

/** The AWS CLI's defaults for --cli-connect-timeout and --cli-read-timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
export const DEFAULT_READ_TIMEOUT_MS = 60_000;

const settings = new WeakMap<AwsOptions, Map<string, string>>();

/** The profile's settings in the config file, read once per command (every client and agent asks). */
export function settingsOf(options: AwsOptions, env: NodeJS.ProcessEnv): Map<string, string> {
  let found = settings.get(options);
  if (!found) settings.set(options, (found = profileSettings(options.profile, env)));
  return found;
}

/**
 * The certificate authorities to trust when a CA bundle is named (AWS_CA_BUNDLE, else the profile's
 * ca_bundle, as the AWS CLI reads them): Node's own roots, NODE_EXTRA_CA_CERTS, and the bundle.
 * Undefined when none is named (Node's defaults, NODE_EXTRA_CA_CERTS included, apply).
 */
function trustedAuthorities(options: AwsOptions, env: NodeJS.ProcessEnv): string[] | undefined {
  const bundle = env.AWS_CA_BUNDLE || settingsOf(options, env).get('ca_bundle');
  if (!bundle) return undefined;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new AwsError('usage', 'CaBundle', `cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'AWS_CA_BUNDLE or the profile\'s ca_bundle must name a PEM file');
    }
  };
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  return [...rootCertificates, ...(extra ? [read(extra, 'NODE_EXTRA_CA_CERTS')] : []), read(bundle, 'the CA bundle')];
}

/**
 * One TLS context per command for a named CA bundle, shared by all its connections and made at the
 * first of them: given the list itself, each TLS connection would parse Node's roots and the bundle
 * again, and each agent would hold its own copies of the files. The files are read at once, so a
 * bundle that cannot be read is an error before any request.
 */
const contexts = new WeakMap<AwsOptions, (() => SecureContext) | null>();
function trustedContext(options: AwsOptions, env: NodeJS.ProcessEnv): (() => SecureContext) | undefined {
  let found = contexts.get(options);
  if (found === undefined) {
    let ca = trustedAuthorities(options, env);
    let context: SecureContext | undefined;
    found = ca
      ? () => {
          context ??= createSecureContext({ ca });
          ca = undefined;
          return context;
        }
      : null;
    contexts.set(options, found);
  }
  return found ?? undefined;
}

type Agents = { httpsAgent: ProxyingHttpsAgent; httpAgent: ProxyingHttpAgent };
const agents = { api: new WeakMap<AwsOptions, Agents>(), stream: new WeakMap<AwsOptions, Agents>() };

/**
 * The connections of one command: direct, or through the proxy the command line or the
 * environment names for each address (no_proxy included), as the AWS CLI chooses. The API calls
 * share kept-alive connections; each data channel WebSocket has a connection of its own.
 */
export function proxyAgents(options: AwsOptions, purpose: 'api' | 'stream' = 'api'): Agents {
  let found = agents[purpose].get(options);
  if (!found) {
    const env = options.env ?? process.env;
    const decide = (target: URL) => proxyFor(target, env, options.proxy);
    const timeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const trust = trustedContext(options, env);
    const pool = purpose === 'api' ? { keepAlive: true, maxSockets: 50 } : { keepAlive: false };
    found = { httpsAgent: new ProxyingHttpsAgent(decide, timeout, pool, trust), httpAgent: new ProxyingHttpAgent(decide, timeout, pool) };
    agents[purpose].set(options, found);
  }
  return found;
}

/**
 * Every request has a bound: no API call can keep ssmx waiting for ever. A handler the program
 * gave is used as it is, behind a face without `destroy`: an SDK client destroys its handler with
 * itself, and that one is not the client's to destroy.
 */
export function requestHandler(options: AwsOptions) {
  const given = options.requestHandler;
  if (given) return { handle: given.handle.bind(given), updateHttpClientConfig: () => undefined, httpHandlerConfigs: () => ({}) };
  return {
    connectionTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // Inactivity, as the AWS CLI's read timeout: a slow answer that keeps coming is not cut.
    socketTimeout: options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
    ...proxyAgents(options),
  };
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
export function credentialsFor(options: AwsOptions): AwsCredentialIdentityProvider {
  let provider = providers.get(options);
  if (!provider && options.credentials) {
    provider = memoizeCredentials(options.credentials);
    providers.set(options, provider);
  }
  if (!provider) {
    const env = options.env ?? process.env;
    const stsEndpoint = resolveEndpoint(options, 'sts', env);
    const profile = options.profile ?? env.AWS_PROFILE;
    // Once per command (the provider is shared by its clients): the config files are read once.
    checkProfile(profile, env);
    // The chain's first link is the environment's keys; read from the command's own environment.
    const fromEnv = !profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY;
    if (fromEnv) {
      provider = async () => ({
        accessKeyId: env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      });
      providers.set(options, provider);
      return provider;
    }
    // The SDK's chain is loaded when first asked: its package's index brings most of the SDK's
    // core with it, which a session on the environment's keys never needs (src/aws/json-api.ts).
    let chain: Promise<AwsCredentialIdentityProvider> | undefined;
    const settings = {
      // The SDK's warnings (two credential sources, …) are for --debug, not for every user.
      logger: { debug: () => undefined, info: () => undefined, warn: (message: string) => options.debug?.(`sdk: ${message}`), error: (message: string) => options.debug?.(`sdk: ${message}`) },
      ...(profile ? { profile } : {}),
      ...(env.AWS_SHARED_CREDENTIALS_FILE ? { filepath: env.AWS_SHARED_CREDENTIALS_FILE } : {}),
      ...(env.AWS_CONFIG_FILE ? { configFilepath: env.AWS_CONFIG_FILE } : {}),
      ...(options.mfaCodeProvider ? { mfaCodeProvider: options.mfaCodeProvider } : {}),
      clientConfig: { ...(options.region ? { region: options.region } : {}), ...(stsEndpoint ? { endpoint: stsEndpoint } : {}), requestHandler: requestHandler(options) },
    };
    provider = async (properties) => (await (chain ??= import('./sdk/credentials.js').then(({ fromNodeProviderChain }) => fromNodeProviderChain(settings))))(properties);
    providers.set(options, provider);
  }
  return provider;
}

/** Temporary credentials are asked for again this long before they expire (as the SDK refreshes them). */
export const CREDENTIALS_REFRESH_MS = 5 * 60_000;

/**
 * A provider asked once and then again only when what it gave is about to expire, or when it
 * failed: every API call and every data channel signature asks for credentials, and a program's
 * provider may read files or call STS each time it is asked.
 */
export function memoizeCredentials(provider: AwsCredentialProvider, now: () => number = Date.now): AwsCredentialIdentityProvider {
  let current: ReturnType<AwsCredentialProvider> | undefined;
  let expiresAt: number | undefined;
  return (properties) => {
    if (current && (expiresAt === undefined || expiresAt - now() > CREDENTIALS_REFRESH_MS)) return current;
    const asked = provider(properties);
    current = asked;
    expiresAt = undefined;
    asked.then(
      (credentials) => {
        if (current === asked) expiresAt = credentials.expiration?.getTime();
      },
      () => {
        if (current === asked) current = undefined;
      },
    );
    return asked;
  };
}

/** The region the flag or the environment names (AWS_REGION, then AWS_DEFAULT_REGION). */
export function givenRegion(options: AwsOptions, env: NodeJS.ProcessEnv): string | undefined {
  return options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

/**
 * A true/false setting (FIPS and dual-stack endpoints) from the command's environment, else the
 * profile, as the SDK defines them; undefined when neither sets it.
 */
export function flagSetting(options: AwsOptions, env: NodeJS.ProcessEnv, variable: string, setting: string): boolean | undefined {
  const value = (env[variable] ?? settingsOf(options, env).get(setting))?.toLowerCase();
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

/** What every SDK client of ssmx is built with. */
export function clientConfig(options: AwsOptions, service: Service) {
  // The SDK warns on every run that its 2027 releases will need Node 22; ssmx pins its SDK, and a
  // user of a shell should not see that notice on every session.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const env = options.env ?? process.env;
  const endpoint = resolveEndpoint(options, service, env);
  // The region: the flag, then the environment; else the SDK finds the profile's.
  const region = givenRegion(options, env);
  const profile = options.profile ?? env.AWS_PROFILE;
  const fips = flagSetting(options, env, 'AWS_USE_FIPS_ENDPOINT', 'use_fips_endpoint');
  const dualstack = flagSetting(options, env, 'AWS_USE_DUALSTACK_ENDPOINT', 'use_dualstack_endpoint');
  return {
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(fips !== undefined ? { useFipsEndpoint: fips } : {}),
    ...(dualstack !== undefined ? { useDualstackEndpoint: dualstack } : {}),
    credentials: credentialsFor(options),
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: requestHandler(options),
  };
}


/**
 * Every SDK client of ssmx, instrumented: a failure carries the endpoint it came from (a person
 * must know which address did not answer), and with --debug every call and answer is traced.
 */
export function instrumentClient<T extends { middlewareStack: unknown }>(client: T, options: AwsOptions, service: Service): T {
  const stack = client.middlewareStack as { add: (middleware: unknown, options: { step: 'initialize' | 'build'; name: string }) => void };
  stack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      try {
        return await next(args);
      } catch (error) {
        const request = (args as { request?: { protocol?: string; hostname?: string; port?: number } }).request;
        if (request?.hostname && error && typeof error === 'object') {
          Object.defineProperty(error, ENDPOINT_OF_ERROR, { value: `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`, enumerable: false });
        }
        throw error;
      }
    },
    { step: 'build', name: 'ssmxEndpointOfError' },
  );
  return traceClient(client, options, service);
}

/** With --debug: every API call and its answer on stderr, secrets redacted. */
function traceClient<T extends { middlewareStack: unknown }>(client: T, options: AwsOptions, service: Service): T {
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
