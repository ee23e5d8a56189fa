import { describe, expect, it } from 'vitest';
import { methodReply, parseSocks, Reply, replyFor, socks5Reply } from '../../src/net/socks.js';
import { parseListen } from '../../src/cli/commands/socks.js';

// SOCKS 5 (RFC 1928) and 4a as ssmx socks reads them, with the bytes real clients send.

const bytes = (...values: number[]) => Buffer.from(values);

describe('SOCKS 5', () => {
  it('a greeting, then a CONNECT by IPv4, by name and by IPv6; bytes after the request are the client\'s', () => {
    expect(parseSocks(bytes(5, 2, 0, 2), false)).toEqual({ kind: 'greeting', methods: [0, 2], consumed: 4 });
    expect(parseSocks(bytes(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90), true)).toEqual({ kind: 'request', request: { version: 5, command: 1, host: '127.0.0.1', port: 8080, addressType: 'ipv4' }, consumed: 10 });
    const name = Buffer.concat([bytes(5, 1, 0, 3, 9), Buffer.from('localhost'), bytes(0, 80), Buffer.from('GET /')]);
    expect(parseSocks(name, true)).toEqual({ kind: 'request', request: { version: 5, command: 1, host: 'localhost', port: 80, addressType: 'domain' }, consumed: 16 });
    const v6 = bytes(5, 1, 0, 4, ...Array(15).fill(0), 1, 0x01, 0xbb);
    expect(parseSocks(v6, true)).toMatchObject({ request: { host: '::1', port: 443, addressType: 'ipv6' } });
    const v6b = bytes(5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 22);
    expect(parseSocks(v6b, true)).toMatchObject({ request: { host: '2001:db8::1', port: 22 } });
  });

  it('asks for more until a message is whole, however the bytes are cut', () => {
    const request = Buffer.concat([bytes(5, 1, 0, 3, 4), Buffer.from('host'), bytes(1, 187)]);
    for (let cut = 0; cut < request.length; cut++) expect(parseSocks(request.subarray(0, cut), true)).toEqual({ kind: 'more' });
    expect(parseSocks(bytes(5), false)).toEqual({ kind: 'more' });
    expect(parseSocks(bytes(5, 3, 0), false)).toEqual({ kind: 'more' });
  });

  it('refuses what it cannot serve, with the reply RFC 1928 gives for it', () => {
    expect(parseSocks(bytes(5, 1, 0, 9, 0, 0), true)).toEqual({ kind: 'refuse', reason: 'address type 9', reply: socks5Reply(Reply.AddressTypeNotSupported) });
    expect(parseSocks(Buffer.from('GET / HTTP/1.1\r\n'), false)).toEqual({ kind: 'refuse', reason: 'not SOCKS (version byte 71)' });
    expect(parseSocks(bytes(5, 0), false)).toMatchObject({ kind: 'refuse', reply: bytes(5, 0xff) });
  });

  it('replies: the method chosen, and REP with a zero bound address', () => {
    expect(methodReply(0)).toEqual(bytes(5, 0));
    expect(socks5Reply(Reply.ConnectionRefused)).toEqual(bytes(5, 5, 0, 1, 0, 0, 0, 0, 0, 0));
  });
});

describe('SOCKS 4 and 4a', () => {
  it('an IPv4 request, and 4a\'s host name after the user id', () => {
    expect(parseSocks(Buffer.concat([bytes(4, 1, 0, 80, 10, 0, 0, 5), Buffer.from('me'), bytes(0)]), false)).toEqual({ kind: 'request', request: { version: 4, command: 1, host: '10.0.0.5', port: 80, addressType: 'ipv4' }, consumed: 11 });
    const a = Buffer.concat([bytes(4, 1, 0x1f, 0x90, 0, 0, 0, 1, 0), Buffer.from('db.internal'), bytes(0)]);
    expect(parseSocks(a, false)).toEqual({ kind: 'request', request: { version: 4, command: 1, host: 'db.internal', port: 8080, addressType: 'domain' }, consumed: a.length });
    expect(parseSocks(a.subarray(0, a.length - 1), false)).toEqual({ kind: 'more' });
  });

  it('replies granted or rejected, in 4\'s form', () => {
    expect(replyFor({ version: 4 }, Reply.Succeeded)).toEqual(bytes(0, 0x5a, 0, 0, 0, 0, 0, 0));
    expect(replyFor({ version: 4 }, Reply.ConnectionRefused)).toEqual(bytes(0, 0x5b, 0, 0, 0, 0, 0, 0));
  });
});

describe('--listen', () => {
  it('a port, host:port, [v6]:port; anything else is a usage error', () => {
    expect(parseListen('1080')).toEqual({ host: '127.0.0.1', port: 1080 });
    expect(parseListen('0.0.0.0:1081')).toEqual({ host: '0.0.0.0', port: 1081 });
    expect(parseListen('[::1]:1082')).toEqual({ host: '::1', port: 1082 });
    expect(() => parseListen('localhost')).toThrow(/not \[host:\]port/);
    expect(() => parseListen('70000')).toThrow(/not \[host:\]port/);
  });
});
