import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CREDENTIALS_REFRESH_MS, memoizeCredentials } from '../../src/aws/client-config.js';
import { createJsonApi, givenHandler } from '../../src/aws/json-api.js';
import type { AwsHttpRequest, AwsRequestHandler } from '../../src/aws/shapes.js';
import { awsOptionsOf } from '../../src/lib/client.js';
import { portSpecOf } from '../../src/lib/port-spec.js';
import { decodeExitCode } from '../../src/protocol/payloads.js';
import { AwsError, ProtocolError, SessionError, SsmxError, TransportError, UsageError } from '../../src/lib/index.js';
import { repoRoot } from '../support/emulator.js';

describe('memoizeCredentials', () => {
  const credentials = (id: string, expiration?: number) => ({ accessKeyId: id, secretAccessKey: 'secret', ...(expiration !== undefined ? { expiration: new Date(expiration) } : {}) });

  it('asks its provider once while what it gave does not expire, and callers at once share the answer', async () => {
    let asked = 0;
    const provider = memoizeCredentials(async () => credentials(`AKIA${++asked}`));
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(await provider()).toEqual(a);
    expect(b).toBe(a);
    expect(asked).toBe(1);
  });

  it('asks again within five minutes of the expiry, and after a failure', async () => {
    let now = 0;
    let asked = 0;
    let fail = false;
    const provider = memoizeCredentials(async () => {
      asked += 1;
      if (fail) throw new Error('no credentials');
      return credentials(`AKIA${asked}`, now + CREDENTIALS_REFRESH_MS + 60_000);
    }, () => now);
    expect((await provider()).accessKeyId).toBe('AKIA1');
    now += 59_000;
    expect((await provider()).accessKeyId).toBe('AKIA1');
    now += 2_000;
    fail = true;
    await expect(provider()).rejects.toThrow('no credentials');
    fail = false;
    expect((await provider()).accessKeyId).toBe('AKIA3');
    expect(asked).toBe(3);
  });
});

describe('awsOptionsOf: the library AwsConfig as the AWS side takes it', () => {
  it('credentials as an object or a provider, the proxy, the endpoint, the environment', async () => {
    const given = awsOptionsOf({ credentials: { accessKeyId: 'AKIAX', secretAccessKey: 's' }, endpoint: 'http://127.0.0.1:1', proxy: false, env: {} });
    expect(await given.credentials!()).toEqual({ accessKeyId: 'AKIAX', secretAccessKey: 's' });
    expect(given).toMatchObject({ endpointUrl: 'http://127.0.0.1:1', proxy: { noProxy: true }, env: {} });
    const provider = async () => ({ accessKeyId: 'AKIAY', secretAccessKey: 's' });
    expect(awsOptionsOf({ credentials: provider, proxy: 'http://proxy:3128' })).toMatchObject({ credentials: provider, proxy: { proxy: 'http://proxy:3128' }, env: process.env });
    expect(awsOptionsOf({}).credentials).toBeUndefined();
  });
});

describe('portSpecOf: a spec as a program gives it', () => {
  it('strings as ssmx forward takes them, objects written as one', () => {
    expect(portSpecOf('0:5432')).toMatchObject({ local: { kind: 'tcp', port: 0 }, remotePort: 5432 });
    expect(portSpecOf({ port: 5432 })).toMatchObject({ text: '0:5432', local: { kind: 'tcp', port: 0 }, remoteHost: undefined, remotePort: 5432 });
    expect(portSpecOf({ local: './pg.sock', port: 5432 })).toMatchObject({ local: { kind: 'unix', path: './pg.sock' } });
    expect(portSpecOf({ local: 8080, host: 'fd00::5', port: 5432 })).toMatchObject({ text: '8080:[fd00::5]:5432', remoteHost: 'fd00::5' });
    expect(portSpecOf({ bind: '127.0.0.2', local: 8080, port: 5432 })).toMatchObject({ text: '127.0.0.2:8080:5432', bind: '127.0.0.2', remoteHost: undefined });
    expect(() => portSpecOf({ port: 70000 })).toThrow(UsageError);
  });
});

describe('decodeExitCode', () => {
  it("reads the agent's EXIT_CODE message, -1 for a signal, nothing from anything else", () => {
    expect(decodeExitCode(Buffer.from('EXIT_CODE: 3'))).toBe(3);
    expect(decodeExitCode(Buffer.from('EXIT_CODE: -1'))).toBe(-1);
    expect(decodeExitCode(Buffer.from('exit'))).toBeUndefined();
  });
});

describe('a request handler the program gives', () => {
  it('takes every call of the session client, path and query apart, bodies whole whatever they come as; it is never destroyed', async () => {
    const seen: AwsHttpRequest[] = [];
    const bodies: unknown[] = ['{"a":1}', new TextEncoder().encode('{"a":2}'), Readable.from([Buffer.from('{"a":'), Buffer.from('3}')]), new Blob(['{"a":4}'])];
    let destroyed = false;
    const handler: AwsRequestHandler & { destroy(): void } = {
      async handle(request) {
        seen.push(request);
        return { response: { statusCode: 200, headers: {}, body: bodies[seen.length - 1] } };
      },
      destroy: () => (destroyed = true),
    };
    const api = createJsonApi({ region: 'us-east-1', endpointUrl: 'http://127.0.0.1:4566/base?x=1', env: {}, credentials: async () => ({ accessKeyId: 'AKIAX', secretAccessKey: 's' }), requestHandler: handler }, 'ssm');
    for (const a of [1, 2, 3, 4]) expect(await api.call('DescribeInstanceInformation', {})).toEqual({ a });
    api.destroy();
    expect(destroyed).toBe(false);
    expect(seen[0]).toMatchObject({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4566, path: '/base', query: { x: '1' } });
    expect(seen[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAX\//);
    await expect(givenHandler({ handle: async () => ({ response: { statusCode: 200, headers: {}, body: 42 } }) }).handle(seen[0] as never)).rejects.toThrow(TypeError);
  });
});

describe('errors', () => {
  it('every class the library raises is an SsmxError with a code', () => {
    const errors = [new UsageError('u'), new AwsError('target', 'UnknownTarget', 'a'), new SessionError('INTERRUPTED', 's'), new TransportError('CONNECTION_LOST', 't'), new ProtocolError('BAD_JSON', 'p')];
    for (const error of errors) {
      expect(error).toBeInstanceOf(SsmxError);
      expect(typeof error.code).toBe('string');
    }
    expect(errors.map((error) => [error.name, error.code])).toEqual([
      ['UsageError', 'USAGE'],
      ['AwsError', 'UnknownTarget'],
      ['SessionError', 'INTERRUPTED'],
      ['TransportError', 'CONNECTION_LOST'],
      ['ProtocolError', 'BAD_JSON'],
    ]);
  });
});

describe("the library's modules", () => {
  it('import nothing of the command line, however far the imports go (static and dynamic)', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const [, specifier] of code.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)) {
        walk(resolve(dirname(file), specifier!.replace(/\.js$/, '.ts')));
      }
    };
    walk(join(repoRoot, 'src/lib/index.ts'));
    const files = [...reached].map((file) => relative(repoRoot, file));
    expect(files).toContain('src/lib/open.ts');
    expect(files).toContain('src/emulator/server.ts');
    expect(files.filter((file) => file.startsWith('src/cli/'))).toEqual([]);
  });
});
