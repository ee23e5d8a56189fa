// @module-tag needs-openssl
import { describe, expect, it, vi } from 'vitest';
import { bypassesProxy, parseProxyUrl, proxyFor, redactProxy } from '../../src/net/proxy.js';

/** The TLS contexts ssmx's own code makes (Node's https makes its own through its own reference). */
const tlsContexts = vi.hoisted(() => ({ made: 0 }));
vi.mock('node:tls', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:tls')>();
  const createSecureContext: typeof original.createSecureContext = (options) => {
    tlsContexts.made++;
    return original.createSecureContext(options);
  };
  return { ...original, default: { ...original, createSecureContext }, createSecureContext };
});

const url = (text: string) => new URL(text);

describe('which proxy a connection takes (the AWS CLI\'s rules)', () => {
  it('https_proxy for https:// and wss://, http_proxy for http:// and ws://; none when unset', () => {
    const env = { HTTPS_PROXY: 'http://secure:3128', HTTP_PROXY: 'http://plain:3128' };
    expect(proxyFor(url('https://ssm.us-east-1.amazonaws.com/'), env)?.host).toBe('secure:3128');
    expect(proxyFor(url('wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/s'), env)?.host).toBe('secure:3128');
    expect(proxyFor(url('http://127.0.0.1:8080/'), env)?.host).toBe('plain:3128');
    expect(proxyFor(url('ws://127.0.0.1:8080/'), env)?.host).toBe('plain:3128');
    expect(proxyFor(url('https://ssm.us-east-1.amazonaws.com/'), { HTTP_PROXY: 'http://plain:3128' })).toBeUndefined();
    expect(proxyFor(url('https://ssm.us-east-1.amazonaws.com/'), {})).toBeUndefined();
  });

  it('the lower-case variable wins over the upper-case one, as in Python\'s urllib', () => {
    expect(proxyFor(url('https://a.example/'), { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })?.host).toBe('lower:1');
    expect(proxyFor(url('https://a.example/'), { no_proxy: '', NO_PROXY: 'a.example', HTTPS_PROXY: 'http://p:1' })).toBeUndefined();
  });

  it('--proxy wins over the environment, --no-proxy over both', () => {
    const env = { HTTPS_PROXY: 'http://env:1' };
    expect(proxyFor(url('https://a.example/'), env, { proxy: 'http://flag:2' })?.host).toBe('flag:2');
    expect(proxyFor(url('https://a.example/'), env, { proxy: 'http://flag:2', noProxy: true })).toBeUndefined();
  });

  it('a proxy written as host:port is http://; credentials stay in the URL and out of what is printed', () => {
    expect(parseProxyUrl('proxy.corp:3128').href).toBe('http://proxy.corp:3128/');
    const withUser = parseProxyUrl('http://ann:s3cret@proxy.corp:3128');
    expect([withUser.username, withUser.password]).toEqual(['ann', 's3cret']);
    expect(redactProxy(withUser)).toBe('http://proxy.corp:3128');
    expect(() => parseProxyUrl('socks5://ann:s3cret@proxy:1080')).toThrow(/socks5:\/\/proxy:1080 is not an http:\/\/ proxy/);
    expect(() => parseProxyUrl('http://ann:s3cret@[bad')).toThrow(/the proxy http:\/\/\[bad is not a URL/);
  });
});

describe('no_proxy', () => {
  it('* sends everything direct', () => expect(bypassesProxy('ssm.us-east-1.amazonaws.com', 443, '*')).toBe(true));

  it('a name matches itself and the names under it; a leading dot or *. means the same', () => {
    expect(bypassesProxy('vpce.internal', 443, 'internal')).toBe(true);
    expect(bypassesProxy('ssm.vpce.internal', 443, '.internal')).toBe(true);
    expect(bypassesProxy('ssm.vpce.internal', 443, '*.internal')).toBe(true);
    expect(bypassesProxy('notinternal', 443, '.internal')).toBe(false);
    expect(bypassesProxy('SSM.Example.COM', 443, 'example.com')).toBe(true);
  });

  it('a port limits an entry to it', () => {
    expect(bypassesProxy('a.example', 8443, 'a.example:8443')).toBe(true);
    expect(bypassesProxy('a.example', 443, 'a.example:8443')).toBe(false);
  });

  it('IP addresses, IPv6 ones in brackets or not, and CIDR blocks', () => {
    expect(bypassesProxy('127.0.0.1', 443, 'localhost,127.0.0.1')).toBe(true);
    expect(bypassesProxy('[::1]', 443, '::1')).toBe(true);
    expect(bypassesProxy('::1', 8080, '[::1]:8080')).toBe(true);
    expect(bypassesProxy('10.1.2.3', 443, '10.0.0.0/8')).toBe(true);
    expect(bypassesProxy('11.1.2.3', 443, '10.0.0.0/8')).toBe(false);
    expect(bypassesProxy('fd00::5', 443, 'fd00::/8')).toBe(true);
    expect(bypassesProxy('127.0.0.2', 443, '127.0.0.1')).toBe(false);
  });

  it('spaces and empty entries are ignored', () => expect(bypassesProxy('b.example', 443, ' a.example , ,b.example ')).toBe(true));
});

describe('a named CA bundle (AWS_CA_BUNDLE)', () => {
  it('one TLS context, made at the first connection, verifies the API\'s connections and the data channel\'s', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createServer } = await import('node:https');
    const { get } = await import('node:https');
    const { proxyAgents } = await import('../../src/aws/client-config.js');
    // A private CA and a server certificate it signed, as the e2e test of the same makes them.
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-ca-'));
    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ssmx test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem']);
    const server = createServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) }, (_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const fetchWith = (agent: import('node:https').Agent) =>
      new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve(body));
        }).on('error', reject);
      });
    try {
      const options = { env: { AWS_CA_BUNDLE: join(dir, 'ca.pem') } };
      const api = proxyAgents(options, 'api').httpsAgent;
      const stream = proxyAgents(options, 'stream').httpsAgent;
      // None before a connection: a command that makes none parses nothing.
      expect(tlsContexts.made).toBe(0);
      expect(await fetchWith(api)).toBe('ok');
      api.destroy();
      expect(await fetchWith(api)).toBe('ok');
      expect(await fetchWith(stream)).toBe('ok');
      // Without the bundle the same server is refused.
      await expect(fetchWith(proxyAgents({ env: {} }, 'api').httpsAgent)).rejects.toThrow(/self[- ]signed|unable to (verify|get)/);
      // Three connections with the bundle (two of the API's, the data channel's), one context.
      expect(tlsContexts.made).toBe(1);
    } finally {
      server.close();
    }
  });
});
