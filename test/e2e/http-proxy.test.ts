// @module-tag needs-tinyproxy
// @module-tag needs-openssl
// @module-tag needs-aws
// @module-tag needs-node-pty
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoed } from '../support/echo.js';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';
import { startHttpProxy, type HttpProxy } from '../support/http-proxy.js';
import { freePort } from '../support/redis.js';
import { runProgram } from '../support/run.js';

// Issue 14: through a real HTTP proxy (Debian's tinyproxy) to the emulator serving HTTPS and wss://,
// so that every connection is a CONNECT tunnel, as it is to AWS.

const TARGET = 'i-0123456789abcdef0';

let emulator: EmulatorProcess;
let proxy: HttpProxy;
let env: NodeJS.ProcessEnv;
let emulatorAuthority: string;
let echo: Server;
let echoPort: number;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-proxy-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  [emulator, proxy] = await Promise.all([startEmulatorProcess(['--tls-cert', cert, '--tls-key', key, '--agent-pacing', 'off']), startHttpProxy()]);
  expect(emulator.info.endpoint).toMatch(/^https:\/\//);
  emulatorAuthority = new URL(emulator.info.endpoint).host;
  env = { ...emulator.env, NODE_EXTRA_CA_CERTS: cert, HTTPS_PROXY: proxy.url };
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
});
afterAll(async () => {
  echo?.close();
  await Promise.all([emulator?.stop(), proxy?.stop()]);
});

const ssmx = (args: string[], extra: NodeJS.ProcessEnv = {}, input = '') => runProgram(process.execPath, [ssmxBin, ...args], { env: { ...env, ...extra }, input, timeoutMs: 30_000 });


describe('HTTPS_PROXY: every connection through the proxy (CONNECT)', () => {
  it('ssmx run: the API calls and the data channel go through it', async () => {
    const before = proxy.connects().length;
    const result = await ssmx(['run', TARGET, '--', 'echo via-proxy-$((6*7))']);
    expect(result.stderr).not.toMatch(/error/);
    expect(result.stdout).toBe('via-proxy-42\n');
    expect(result.code).toBe(0);
    const tunnels = proxy.connects().slice(before);
    // StartSession (HTTPS) and the WebSocket (wss://): both to the emulator, both tunnelled.
    expect(tunnels.length).toBeGreaterThanOrEqual(2);
    expect(new Set(tunnels)).toEqual(new Set([emulatorAuthority]));
  });

  it('a piped shell', async () => {
    const before = proxy.connects().length;
    const result = await ssmx(['shell', TARGET], {}, 'echo shell-via-$((6*7))\nexit\n');
    expect(result.stdout).toMatch(/shell-via-42\r?\n/);
    expect(result.code).toBe(0);
    expect(proxy.connects().length).toBeGreaterThan(before);
  });

  it('a forward moves data, and resumes through the proxy after every tunnel is cut', async () => {
    const forward = await startForward(env, [TARGET, `0:${echoPort}`, '--sessions', '1']);
    try {
      const port = forward.listeners[0]!.localPort!;
      expect(await echoed(port, 'first')).toBe('first');
      const before = proxy.connects().length;
      // The proxy dies with every tunnel through it, and comes back on the same port.
      await proxy.stop();
      await proxy.restart();
      expect(await echoed(port, 'after the cut')).toBe('after the cut');
      expect(proxy.connects().length).toBeGreaterThan(before);
      expect(forward.stderr()).toMatch(/reconnect/i);
    } finally {
      await forward.stop();
    }
  }, 60_000);

  it('NO_PROXY sends the same session direct: the proxy sees nothing', async () => {
    const before = proxy.connects().length;
    const result = await ssmx(['run', TARGET, '--', 'echo direct'], { NO_PROXY: '127.0.0.1' });
    expect(result.stdout).toBe('direct\n');
    expect(proxy.connects().length).toBe(before);
    const flag = await ssmx(['--no-proxy', 'run', TARGET, '--', 'echo direct-by-flag']);
    expect(flag.stdout).toBe('direct-by-flag\n');
    expect(proxy.connects().length).toBe(before);
  });

  it('--proxy wins over the environment', async () => {
    const before = proxy.connects().length;
    const result = await ssmx(['--proxy', proxy.url, 'run', TARGET, '--', 'echo by-flag'], { HTTPS_PROXY: 'http://127.0.0.1:9' });
    expect(result.stdout).toBe('by-flag\n');
    expect(proxy.connects().length).toBeGreaterThan(before);
  });
});

describe('a proxy that asks for credentials', () => {
  let guarded: HttpProxy;
  beforeAll(async () => {
    guarded = await startHttpProxy({ credentials: 'ann:s3cret' });
  });
  afterAll(() => guarded?.stop());

  it('works with them in the URL, and never prints them', async () => {
    const withCredentials = `http://ann:s3cret@127.0.0.1:${guarded.port}`;
    const result = await ssmx(['--debug', 'run', TARGET, '--', 'echo authorised'], { HTTPS_PROXY: withCredentials });
    expect(result.stdout).toBe('authorised\n');
    expect(result.stderr).not.toContain('s3cret');
    // Both the API calls and the WebSocket came to the proxy (it logs the request lines of
    // authenticated tunnels unevenly, the connections always).
    expect(guarded.log().match(/Connect \(file descriptor/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('without them: one line naming the proxy and its 407, exit 5', async () => {
    const result = await ssmx(['run', TARGET, '--', 'true'], { HTTPS_PROXY: guarded.url });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`the proxy http://127.0.0.1:${guarded.port} answered 407`);
    expect(result.stderr.trim().split('\n')[0]).toMatch(/^ssmx: error: /);
  });

  it('with wrong ones: the same, and the wrong password is not shown', async () => {
    const result = await ssmx(['run', TARGET, '--', 'true'], { HTTPS_PROXY: `http://ann:wrong-pass@127.0.0.1:${guarded.port}` });
    expect(result.code).toBe(5);
    // tinyproxy answers 401 to wrong credentials (407 to none).
    expect(result.stderr).toMatch(/answered 40[17] .*credentials in the proxy URL were refused/);
    expect(result.stderr).not.toContain('wrong-pass');
  });
});

describe('proxies that fail', () => {
  it('one that refuses (403): one line, exit 5', async () => {
    const refusing = await startHttpProxy({ refuse: true });
    try {
      const result = await ssmx(['run', TARGET, '--', 'true'], { HTTPS_PROXY: refusing.url });
      expect(result.code).toBe(5);
      expect(result.stderr).toContain(`the proxy ${refusing.url} answered 403`);
    } finally {
      await refusing.stop();
    }
  });

  it('one ssmx cannot speak to (socks5://): a usage error, exit 2, credentials not shown', async () => {
    const result = await ssmx(['run', TARGET, '--', 'true'], { HTTPS_PROXY: 'socks5://ann:s3cret@127.0.0.1:1080' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the proxy socks5://127.0.0.1:1080 is not an http:// proxy');
    expect(result.stderr).not.toContain('s3cret');
  });

  it('one that is not there: one line, exit 5, within the connect timeout', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await ssmx(['--connect-timeout', '5', 'run', TARGET, '--', 'true'], { HTTPS_PROXY: nobody });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`the proxy ${nobody} cannot be reached (ECONNREFUSED)`);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('the drop-in plugin honours the same variables, as the official plugin does', () => {
  it('aws ssm start-session through the proxy: the AWS CLI\'s calls and ssmx\'s WebSocket', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ssmx-proxy-plugin-'));
    execFileSync(process.execPath, [ssmxBin, 'install-plugin', bin], { env });
    const cert = env.NODE_EXTRA_CA_CERTS!;
    const before = proxy.connects().length;
    const result = await runProgram(
      '/usr/bin/aws',
      ['ssm', 'start-session', '--target', TARGET, '--document-name', 'AWS-StartNonInteractiveCommand', '--parameters', 'command="echo plugin-via-proxy"', '--endpoint-url', emulator.info.endpoint, '--region', emulator.info.region],
      // The AWS CLI trusts the emulator's certificate through AWS_CA_BUNDLE, ssmx through NODE_EXTRA_CA_CERTS.
      { env: { ...env, PATH: `${bin}:${env.PATH}`, AWS_CA_BUNDLE: cert, AWS_PAGER: '' }, input: '', timeoutMs: 40_000 },
    );
    expect(result.stdout).toContain('plugin-via-proxy');
    // StartSession from the CLI, then the plugin's WebSocket: each a tunnel of its own.
    expect(proxy.connects().length - before).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
