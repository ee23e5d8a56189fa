import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJsonApi, defaultEndpoint, endpointFor, failureOf, nodeHandler, type HttpRequestLike, type HttpResponseLike } from '../../src/aws/json-api.js';
import { toAwsError } from '../../src/aws/errors.js';
import { configuredEndpoint } from '../../src/aws/profiles.js';
import { createSsmClient } from '../../src/aws/ssm.js';
import { verifySigV4 } from '../../src/emulator/sigv4.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const base = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
const credentials = async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' });

/** A client over a scripted HTTP exchange: each answer in turn, every request kept. */
function scripted(answers: Array<HttpResponseLike | Error>, env: NodeJS.ProcessEnv = { ...base, AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, debug?: (line: string) => void) {
  const requests: HttpRequestLike[] = [];
  const sleeps: number[] = [];
  const api = createJsonApi({ env, ...(debug ? { debug } : {}) }, 'ssm', {
    credentials,
    now: () => NOW,
    random: () => 0.5,
    sleep: async (ms) => void sleeps.push(ms),
    handler: {
      async handle(request) {
        requests.push(request);
        const answer = answers.shift();
        if (!answer) throw new Error('no answer scripted');
        if (answer instanceof Error) throw answer;
        return { response: answer };
      },
    },
  });
  return { api, requests, sleeps };
}
const json = (statusCode: number, body: object | string, headers: Record<string, string> = {}): HttpResponseLike => ({
  statusCode,
  headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('the JSON 1.1 client of the session calls', () => {
  it('sends the operation as AWS JSON 1.1, signed so that a SigV4 verifier accepts it', async () => {
    const { api, requests } = scripted([json(200, { SessionId: 's-1', TokenValue: 't', StreamUrl: 'wss://x' })]);
    expect(await api.call('StartSession', { Target: 'i-0123456789abcdef0' })).toEqual({ SessionId: 's-1', TokenValue: 't', StreamUrl: 'wss://x' });
    const [request] = requests;
    expect(request).toMatchObject({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4566, path: '/', body: '{"Target":"i-0123456789abcdef0"}' });
    const headers = Object.fromEntries(Object.entries(request!.headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(headers).toMatchObject({ 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.StartSession', 'x-amz-date': '20261202T120000Z', host: '127.0.0.1:4566' });
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/20261202\/eu-west-1\/ssm\/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-target[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    const verdict = verifySigV4({ method: 'POST', url: '/', headers, body: Buffer.from(request!.body) }, { region: 'eu-west-1', service: 'ssm', now: NOW, secretFor: (id) => (id === 'AKIDTEST' ? 'secret' : undefined) });
    expect(verdict).toEqual({ ok: true, accessKeyId: 'AKIDTEST', region: 'eu-west-1', service: 'ssm' });
  });

  it('reads the error as the SDK does: code from x-amzn-ErrorType or __type (namespace and URL cut), message from message or Message', () => {
    expect(failureOf(400, {}, '{"__type":"com.amazonaws.ssm#TargetNotConnected","message":"i-1 is not connected."}')).toMatchObject({ name: 'TargetNotConnected', message: 'i-1 is not connected.', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(failureOf(400, {}, '{"__type":"InvalidDocument:http://internal.amazon.com/coral/","Message":"no such document"}')).toMatchObject({ name: 'InvalidDocument', message: 'no such document' });
    expect(failureOf(403, { 'x-amzn-ErrorType': 'AccessDeniedException:http://x/', 'x-amzn-RequestId': 'r-1' }, '{"Message":"not allowed"}')).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403, requestId: 'r-1' } });
    expect(failureOf(503, {}, '{"__type":"InternalServerError"}')).toMatchObject({ name: 'InternalServerError', message: 'InternalServerError', $fault: 'server' });
    // No AWS error in the answer, or no JSON at all: what src/aws/errors.ts says of an endpoint that is not AWS.
    expect(toAwsError(failureOf(404, {}, ''), 'StartSession').message).toBe('the AWS endpoint answered StartSession with HTTP 404 and no AWS error in it');
    expect(toAwsError(failureOf(200, { 'content-type': 'text/html' }, '<html>'), 'StartSession').message).toBe('the AWS endpoint answered StartSession with something that is not an AWS response (HTTP 200, text/html)');
  });

  it('tries a throttled or failing call again, three attempts in all, with jittered exponential waits', async () => {
    const throttled = json(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
    const { api, requests, sleeps } = scripted([json(500, { __type: 'InternalServerError' }), throttled, json(200, { SessionId: 's' })]);
    expect(await api.call('ResumeSession', { SessionId: 's' })).toEqual({ SessionId: 's' });
    expect(requests).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);
    const lasting = scripted([throttled, throttled, throttled, json(200, {})]);
    await expect(lasting.api.call('StartSession', {})).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 3 } });
    expect(lasting.requests).toHaveLength(3);
    const reset = scripted([Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), json(200, {})]);
    expect(await reset.api.call('TerminateSession', { SessionId: 's' })).toEqual({});
    expect(reset.requests).toHaveLength(2);
  });

  it('does not try again what another attempt cannot change', async () => {
    const { api, requests } = scripted([json(400, { __type: 'TargetNotConnected', message: 'i-1 is not connected.' }), json(200, {})]);
    const failure = await api.call('StartSession', { Target: 'i-1' }).catch((error: unknown) => error);
    expect(requests).toHaveLength(1);
    expect(toAwsError(failure, 'StartSession')).toMatchObject({ kind: 'target', code: 'TargetNotConnected', message: 'i-1 is not connected.' });
  });

  it('signs with the service\'s clock after a clock-skew refusal, as the SDK corrects it', async () => {
    const served = new Date(NOW + 3_600_000).toUTCString();
    const { api, requests } = scripted([json(400, { __type: 'InvalidSignatureException', message: 'Signature expired' }, { date: served }), json(200, {})]);
    expect(await api.call('TerminateSession', { SessionId: 's' })).toEqual({});
    const dates = requests.map((request) => Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'x-amz-date')![1]);
    expect(dates).toEqual(['20261202T120000Z', '20261202T130000Z']);
  });

  it('names the endpoint on a failure, and traces calls under --debug as the SDK clients do', async () => {
    const lines: string[] = [];
    const { api } = scripted([json(400, { __type: 'ValidationException', message: 'bad' })], undefined, (line) => lines.push(line));
    const failure = await api.call('StartSession', { Target: 'i-1' }).catch((error: unknown) => error);
    expect(toAwsError(failure, 'StartSession')).toMatchObject({ kind: 'usage', message: 'bad' });
    expect(lines).toEqual(['ssm StartSessionCommand {"Target":"i-1"}', 'ssm StartSessionCommand failed in 0 ms: ValidationException: bad']);
    const unreachable = scripted([1, 2, 3].map(() => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' })));
    const refused = await unreachable.api.call('StartSession', {}).catch((error: unknown) => error);
    expect(toAwsError(refused, 'StartSession').message).toBe('cannot reach http://127.0.0.1:4566: ECONNREFUSED');
  });

  it('without a region it fails as the SDK does, and says what to set', async () => {
    const { api } = scripted([], { ...base, AWS_REGION: '', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });
    const failure = await api.call('StartSession', {}).catch((error: unknown) => error);
    expect(toAwsError(failure, 'StartSession')).toMatchObject({ code: 'RegionMissing', message: 'no AWS region is set' });
  });
});

describe('the endpoint of the session calls', () => {
  const sdkEndpoint = async (region: string, fips: boolean, dualstack: boolean) => {
    const client = await createSsmClient({ region, env: base });
    const provider = (client.config as unknown as { endpointProvider: (p: object) => { url: URL } }).endpointProvider;
    client.destroy();
    try {
      return provider({ Region: region, UseFIPS: fips, UseDualStack: dualstack }).url.href.replace(/\/$/, '');
    } catch (error) {
      return `error: ${(error as Error).message}`;
    }
  };
  const ours = (region: string, fips: boolean, dualstack: boolean) => {
    try {
      return defaultEndpoint('ssm', region, fips, dualstack);
    } catch (error) {
      return `error: ${(error as Error).message}`;
    }
  };

  it('is the one the SDK\'s SSM endpoint rules give, in every partition, with FIPS and dual-stack', async () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-5', 'cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1']) {
      for (const fips of [false, true]) {
        for (const dualstack of [false, true]) {
          const sdk = await sdkEndpoint(region, fips, dualstack);
          expect(sdk.startsWith('error') ? 'error' : ours(region, fips, dualstack), `${region} fips=${fips} dualstack=${dualstack}`).toBe(sdk.startsWith('error') ? 'error' : sdk);
        }
      }
    }
  });

  it('the flag, the environment, then the config file (services section, endpoint_url), as the SDK looks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-endpoint-'));
    const config = join(dir, 'config');
    writeFileSync(
      config,
      [
        '[default]', 'endpoint_url = http://everything:1', '',
        '[profile split]', 'services = local', 'endpoint_url = http://everything:2', '',
        '[services local]', 'ssm =', '  endpoint_url = http://ssm-only:3', 'ec2 =', '  endpoint_url = http://ec2-only:4', '',
        '[profile ignored]', 'endpoint_url = http://everything:5', 'ignore_configured_endpoint_urls = true', '',
        '[profile missing]', 'services = nowhere', '',
      ].join('\n'),
    );
    const env = { ...base, AWS_CONFIG_FILE: config };
    expect(endpointFor({}, 'ssm', 'eu-west-1', env)).toBe('http://everything:1');
    expect(endpointFor({ profile: 'split' }, 'ssm', 'eu-west-1', env)).toBe('http://ssm-only:3');
    expect(endpointFor({ profile: 'ignored' }, 'ssm', 'eu-west-1', env)).toBe('https://ssm.eu-west-1.amazonaws.com');
    expect(endpointFor({ profile: 'split' }, 'ssm', 'eu-west-1', { ...env, AWS_ENDPOINT_URL_SSM: 'http://variable:6' })).toBe('http://variable:6');
    expect(endpointFor({ profile: 'split', endpointUrl: 'http://flag:7' }, 'ssm', 'eu-west-1', env)).toBe('http://flag:7');
    expect(endpointFor({}, 'ssm', 'eu-west-1', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBe('https://ssm.eu-west-1.amazonaws.com');
    expect(endpointFor({}, 'ssm', 'us-gov-west-1', { ...base, AWS_USE_FIPS_ENDPOINT: 'true' })).toBe('https://ssm.us-gov-west-1.amazonaws.com');
    expect(() => configuredEndpoint('missing', env, 'ssm')).toThrow(/services section "nowhere"/);
  });
});

describe('the HTTP exchange of the session calls', () => {
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('carries the signed request to a real server and brings its answer back', async () => {
    let seen: { method?: string; url?: string; headers?: Record<string, unknown>; body?: string } = {};
    const { server, url } = await serve((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        seen = { method: request.method, url: request.url, headers: request.headers, body };
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{"SessionId":"s-1"}');
      });
    });
    try {
      const api = createJsonApi({ env: { ...base, AWS_ENDPOINT_URL: url } }, 'ssm');
      expect(await api.call('TerminateSession', { SessionId: 's-1' })).toEqual({ SessionId: 's-1' });
      api.destroy();
      expect(seen).toMatchObject({ method: 'POST', url: '/', body: '{"SessionId":"s-1"}', headers: { 'x-amz-target': 'AmazonSSM.TerminateSession', 'content-length': '19' } });
      const verdict = verifySigV4({ method: 'POST', url: '/', headers: seen.headers as never, body: Buffer.from(seen.body!) }, { region: 'eu-west-1', service: 'ssm', now: Date.now(), secretFor: () => 'secret' });
      expect(verdict.ok).toBe(true);
    } finally {
      server.close();
    }
  });

  it('an endpoint that takes the connection and says nothing is given up after --read-timeout, each attempt', async () => {
    const { server, url } = await serve(() => undefined);
    try {
      const started = Date.now();
      const api = createJsonApi({ env: { ...base, AWS_ENDPOINT_URL: url }, readTimeoutMs: 200 }, 'ssm', { sleep: async () => undefined });
      const failure = await api.call('StartSession', { Target: 'i-1' }).catch((error: unknown) => error);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 200);
      expect(toAwsError(failure, 'StartSession').message).toBe(`${url} took the connection but did not answer StartSession within 0.2 s`);
      expect((failure as { $metadata: { attempts: number } }).$metadata.attempts).toBe(3);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a port nobody listens on is refused at once, and said so', async () => {
    const { server, url } = await serve(() => undefined);
    server.close();
    await new Promise((resolve) => server.once('close', resolve));
    const handler = nodeHandler({ env: base });
    const failure = await handler.handle({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: Number(new URL(url).port), path: '/', headers: {}, body: '' }).catch((error: unknown) => error);
    expect(toAwsError(failure, 'StartSession').message).toMatch(/^cannot reach the AWS endpoint: ECONNREFUSED/);
  });
});
