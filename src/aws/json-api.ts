import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { bundledVersion } from '../build-info.js';
import { credentialsFor, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_READ_TIMEOUT_MS, flagSetting, givenRegion, MAX_ATTEMPTS, proxyAgents, resolveEndpoint, settingsOf, type AwsOptions } from './client-config.js';
import { ENDPOINT_OF_ERROR } from './errors.js';
import { partitionOf } from './partitions.js';
import { configuredEndpoint } from './profiles.js';
import { redact } from './redact.js';
import type { AwsRequestHandler } from './shapes.js';
import { signHeaders } from './sigv4.js';

/**
 * A small client for the AWS JSON 1.1 protocol, for the calls on a session's path (StartSession,
 * ResumeSession, TerminateSession, and DescribeInstanceInformation to find a target). The SDK's
 * SSMClient does the same with every SSM operation's schemas, error classes and middleware:
 * loading it and making its first call took 74 ms and 9.6 MiB of RSS more than a plain signed
 * request (measured for issue 13). This one keeps what those calls need of it and nothing else:
 * the same endpoint (flag, environment, config file, then the SSM endpoint rules), the same
 * credential chain, proxy agents and timeouts (src/aws/client-config.ts), SigV4 (src/aws/sigv4.ts,
 * which the emulator checks with), the SDK's standard retries (3 attempts, throttling and
 * transient failures, clock skew corrected), and errors in the SDK's shape, so
 * src/aws/errors.ts reads them as it reads the SDK's. It imports nothing of the SDK but a type:
 * the SDK's packages re-export their modules from index files, so one import of theirs puts most
 * of @smithy/core on the path of every command (the bundle splits by what can be reached).
 * Every other SSM operation still goes through the SDK.
 */
export interface JsonApi {
  /** One operation (`StartSession`), its input as the API's JSON; the answer's JSON. */
  call<T = Record<string, unknown>>(operation: string, input: object): Promise<T>;
  destroy(): void;
}

/** An HTTP exchange: nodeHandler's below, or a test's. */
export interface HttpHandler {
  handle(request: HttpRequestLike): Promise<{ response: HttpResponseLike }>;
  destroy?(): void;
}

export interface HttpRequestLike {
  method: string;
  protocol: string;
  hostname: string;
  port?: number | undefined;
  /** The path alone, as the SDK's HttpRequest has it; the query, if any, is in `query`. */
  path: string;
  query?: Record<string, string> | undefined;
  headers: Record<string, string>;
  body: string;
}

export interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | undefined>;
  /** The answer's bytes, whole. */
  body: string | Uint8Array;
}

/** What a client depends on; each has the real one as its default. */
export interface JsonApiDependencies {
  handler?: HttpHandler;
  credentials?: AwsCredentialIdentityProvider;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** How a service is addressed: its signing name and the prefix of its X-Amz-Target. */
const SERVICES = { ssm: { signingName: 'ssm', targetPrefix: 'AmazonSSM', hostPrefix: 'ssm' } } as const;
export type JsonService = keyof typeof SERVICES;

/** The SDK's standard retry mode waits between its attempts (MAX_ATTEMPTS, client-config.ts). */
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 20_000;

// Which failures the SDK's standard mode tries again (@smithy/service-error-classification's lists).
const THROTTLING = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'LimitExceededException', 'PriorRequestNotComplete', 'ProvisionedThroughputExceededException',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ThrottledException', 'Throttling', 'ThrottlingException',
  'TooManyRequestsException', 'TransactionInProgressException',
]);
const TRANSIENT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);
const CLOCK_SKEW = new Set(['AuthFailure', 'InvalidSignatureException', 'RequestExpired', 'RequestInTheFuture', 'RequestTimeTooSkewed', 'SignatureDoesNotMatch']);
/** The SDK corrects its clock when the service's differs from it by this much (SigV4 allows 5 minutes). */
const SKEW_LIMIT_MS = 300_000;

/** An error in the SDK's shape: its name is the service's error code. */
export interface ServiceFailure extends Error {
  $fault: 'client' | 'server';
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number; clockSkewCorrected?: boolean };
  $response?: { statusCode: number; headers: Record<string, string | undefined> };
}

/**
 * The service's endpoint when none is configured, as the SDK's SSM endpoint rules give it:
 * ssm.REGION.DNS-SUFFIX of the region's partition, ssm-fips. for FIPS (but plain ssm. in
 * aws-us-gov, whose regional endpoints are FIPS ones), the partition's dual-stack suffix for
 * dual-stack. test/unit/json-api.test.ts holds it against the SDK's own resolver.
 */
export function defaultEndpoint(service: JsonService, region: string, fips = false, dualstack = false): string {
  const host = SERVICES[service].hostPrefix;
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(region)) throw new Error(`Invalid Configuration: region ${JSON.stringify(region)} is not a valid host label`);
  const partition = partitionOf(region);
  if (fips && dualstack) return `https://${host}-fips.${region}.${partition.dualStackDnsSuffix}`;
  if (fips) return partition.name === 'aws-us-gov' ? `https://${host}.${region}.amazonaws.com` : `https://${host}-fips.${region}.${partition.dnsSuffix}`;
  if (dualstack) return `https://${host}.${region}.${partition.dualStackDnsSuffix}`;
  return `https://${host}.${region}.${partition.dnsSuffix}`;
}

/** The endpoint a client calls: flag, environment, config file (as the SDK reads them), else the rules. */
export function endpointFor(options: AwsOptions, service: JsonService, region: string, env: NodeJS.ProcessEnv): string {
  const given = resolveEndpoint(options, service, env) ?? configuredEndpoint(options.profile ?? env.AWS_PROFILE, env, service);
  if (given) return given;
  return defaultEndpoint(service, region, flagSetting(options, env, 'AWS_USE_FIPS_ENDPOINT', 'use_fips_endpoint') ?? false, flagSetting(options, env, 'AWS_USE_DUALSTACK_ENDPOINT', 'use_dualstack_endpoint') ?? false);
}

/** The region: the flag, the environment, then the profile's (as the SDK looks); none is the SDK's error. */
export function regionFor(options: AwsOptions, env: NodeJS.ProcessEnv): string {
  const region = givenRegion(options, env) || settingsOf(options, env).get('region');
  if (!region) throw Object.assign(new Error('Region is missing'), { name: 'Error' });
  return region;
}

/**
 * One HTTP exchange over the command's agents (direct or through its proxy), bounded as the SDK's
 * NodeHttpHandler bounds it: a connection within --connect-timeout, then no silence longer than
 * --read-timeout. Its timeouts are TimeoutErrors with the words src/aws/errors.ts reads.
 */
export function nodeHandler(options: AwsOptions): HttpHandler {
  const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const readMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const agents = proxyAgents(options);
  const timeout = (message: string) => Object.assign(new Error(message), { name: 'TimeoutError' });
  return {
    handle: (request) =>
      new Promise((resolve, reject) => {
        const secure = request.protocol === 'https:';
        const agent: Agent = secure ? agents.httpsAgent : agents.httpAgent;
        const query = request.query && Object.keys(request.query).length ? `?${new URLSearchParams(request.query)}` : '';
        const req = (secure ? httpsRequest : httpRequest)({ host: request.hostname.replace(/^\[(.*)\]$/, '$1'), port: request.port, method: request.method, path: `${request.path}${query}`, headers: request.headers, agent });
        let settled = false;
        const fail = (error: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(connecting);
          req.destroy();
          reject(error);
        };
        const connecting = setTimeout(() => fail(timeout(`the request socket did not establish a connection with the server within the configured timeout of ${connectMs} ms`)), connectMs);
        req.on('socket', (socket) => {
          if (socket.connecting) socket.once('connect', () => clearTimeout(connecting));
          else clearTimeout(connecting);
        });
        // Node applies it once the socket is connected: silence from then on.
        req.setTimeout(readMs, () => fail(timeout(`the request socket timed out after ${readMs} ms of inactivity`)));
        req.on('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNRESET' || error.code === 'EPIPE' || error.code === 'ETIMEDOUT' ? Object.assign(error, { name: 'TimeoutError' }) : error));
        req.on('response', (response: IncomingMessage) => {
          clearTimeout(connecting);
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', fail);
          response.on('end', () => {
            if (settled) return;
            settled = true;
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
            resolve({ response: { statusCode: response.statusCode ?? -1, headers, body: Buffer.concat(chunks) } });
          });
        });
        req.end(request.body);
      }),
    destroy() {
      agents.httpsAgent.destroy();
      agents.httpAgent.destroy();
    },
  };
}

/**
 * A handler the program gave (src/aws/shapes.ts), as this client uses one: its answer's body read
 * whole, whether it came as text, bytes or a stream (the SDK's NodeHttpHandler gives the response
 * itself). It is not destroyed with the client: it is its owner's.
 */
export function givenHandler(given: AwsRequestHandler): HttpHandler {
  return {
    async handle(request) {
      const { response } = await given.handle(request);
      return { response: { statusCode: response.statusCode, headers: response.headers, body: await wholeBody(response.body) } };
    },
  };
}

async function wholeBody(body: unknown): Promise<string | Uint8Array> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return Buffer.concat(chunks);
  }
  if (typeof (body as Blob).arrayBuffer === 'function') return new Uint8Array(await (body as Blob).arrayBuffer());
  throw new TypeError('the request handler answered with a body that is neither text, bytes nor a stream');
}

const header = (headers: Record<string, string | undefined>, name: string) => {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
};

/**
 * The error an answer carries, as the SDK's JSON protocols read it: the code from the
 * x-amzn-ErrorType header or the body's __type (either may carry a namespace before '#' and a
 * URL after ':'), the message from the body's message or Message.
 */
export function failureOf(status: number, headers: Record<string, string | undefined>, text: string): ServiceFailure {
  let body: Record<string, unknown> = {};
  let parsed = true;
  try {
    body = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = false;
  }
  const clean = (code: string) => code.split(':')[0]!.split('#').pop()!.trim();
  const raw = header(headers, 'x-amzn-errortype') ?? (typeof body.__type === 'string' ? body.__type : typeof body.code === 'string' ? body.code : undefined);
  const code = raw ? clean(raw) : undefined;
  const message = typeof body.message === 'string' ? body.message : typeof body.Message === 'string' ? body.Message : undefined;
  const error = (code
    ? new Error(message ?? code)
    : parsed
      ? new Error('UnknownError')
      : new Error('Deserialization error: the answer is not valid JSON')) as ServiceFailure;
  error.name = code ?? (parsed ? 'UnknownError' : 'SyntaxError');
  error.$fault = status >= 500 ? 'server' : 'client';
  const requestId = header(headers, 'x-amzn-requestid');
  error.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) };
  error.$response = { statusCode: status, headers };
  return error;
}

/** Whether the SDK's standard mode tries a failure again: throttling, or a transient failure. */
function retryable(error: ServiceFailure | (Error & { code?: string; $metadata?: ServiceFailure['$metadata'] })): boolean {
  const status = error.$metadata?.httpStatusCode;
  if (THROTTLING.has(error.name) || status === 429) return true;
  if (TRANSIENT.has(error.name) || (status !== undefined && TRANSIENT_STATUS.has(status)) || error.$metadata?.clockSkewCorrected) return true;
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && NETWORK.has(code);
}

/** A JSON 1.1 client for `service` with the command's options (region, profile, endpoint, proxy, --debug). */
export function createJsonApi(options: AwsOptions, service: JsonService, dependencies: JsonApiDependencies = {}): JsonApi {
  const env = options.env ?? process.env;
  const { signingName, targetPrefix } = SERVICES[service];
  const now = dependencies.now ?? Date.now;
  const sleep = dependencies.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = dependencies.random ?? Math.random;
  let handler = dependencies.handler;
  let clockOffsetMs = 0;
  // Where the calls go: found once (the config file is read for it), then the same for every call.
  let target: { region: string; url: URL; endpoint: string } | undefined;
  const debug = options.debug;

  async function attempt(operation: string, body: string, url: URL, region: string, credentials: AwsCredentialIdentityProvider): Promise<{ status: number; headers: Record<string, string | undefined>; text: string }> {
    handler ??= options.requestHandler ? givenHandler(options.requestHandler) : nodeHandler(options);
    const request: HttpRequestLike = {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || '/',
      ...(url.search ? { query: Object.fromEntries(url.searchParams) } : {}),
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `${targetPrefix}.${operation}`,
        'user-agent': `ssmx/${bundledVersion ?? 'dev'} node/${process.versions.node}`,
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    };
    const signing = await credentials();
    const query = url.search.slice(1);
    Object.assign(request.headers, signHeaders({ ...request, path: url.pathname || '/', query }, signing, { region, service: signingName }, new Date(now() + clockOffsetMs)));
    const { response } = await handler.handle(request);
    const answer = response.body;
    const text = typeof answer === 'string' ? answer : Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength).toString('utf8');
    return { status: response.statusCode, headers: response.headers, text };
  }

  async function call<T>(operation: string, input: object): Promise<T> {
    if (!target) {
      const region = regionFor(options, env);
      const url = new URL(endpointFor(options, service, region, env));
      // As a failure names it (src/aws/errors.ts): scheme, host and port.
      target = { region, url, endpoint: `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ''}` };
    }
    const { region, url, endpoint } = target;
    const credentials = dependencies.credentials ?? credentialsFor(options);
    const body = JSON.stringify(input);
    for (let attempts = 1; ; attempts++) {
      let failure: ServiceFailure | (Error & { $metadata?: ServiceFailure['$metadata'] });
      try {
        const answer = await attempt(operation, body, url, region, credentials);
        if (answer.status >= 200 && answer.status < 300) {
          try {
            return (answer.text.trim() ? JSON.parse(answer.text) : {}) as T;
          } catch {
            // Not JSON: failureOf says so (a Deserialization error, as the SDK names it).
          }
        }
        failure = failureOf(answer.status, answer.headers, answer.text);
        // A clock this far from the service's: sign with the service's time from now on (the SDK does).
        const served = Date.parse(header(answer.headers, 'date') ?? '');
        if (CLOCK_SKEW.has(failure.name) && Number.isFinite(served) && Math.abs(served - (now() + clockOffsetMs)) >= SKEW_LIMIT_MS) {
          clockOffsetMs = served - now();
          (failure as ServiceFailure).$metadata.clockSkewCorrected = true;
        }
      } catch (error) {
        failure = error as Error;
        if (!(failure instanceof Error)) failure = Object.assign(new Error(String(error)), { name: 'Error' });
      }
      if (!retryable(failure) || attempts >= MAX_ATTEMPTS) {
        failure.$metadata = { ...failure.$metadata, attempts };
        Object.defineProperty(failure, ENDPOINT_OF_ERROR, { value: endpoint, enumerable: false });
        throw failure;
      }
      // Full jitter on an exponential base, as the SDK's standard mode waits.
      await sleep(Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempts)));
    }
  }

  return {
    async call<T>(operation: string, input: object): Promise<T> {
      if (!debug) return call<T>(operation, input);
      // The same lines the SDK clients print under --debug (client-config.ts, traceClient).
      const started = now();
      debug(`${service} ${operation}Command ${JSON.stringify(redact(input))}`);
      try {
        const output = await call<T>(operation, input);
        debug(`${service} ${operation}Command answered in ${now() - started} ms: ${JSON.stringify(redact(output))}`);
        return output;
      } catch (error) {
        debug(`${service} ${operation}Command failed in ${now() - started} ms: ${(error as Error).name}: ${redact((error as Error).message)}`);
        throw error;
      }
    },
    destroy() {
      handler?.destroy?.();
    },
  };
}
