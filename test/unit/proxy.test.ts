import { describe, expect, it } from 'vitest';
import { bypassesProxy, parseProxyUrl, proxyFor, redactProxy } from '../../src/net/proxy.js';

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
