import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectThroughProxy } from '../../src/net/proxy-agent.js';

// The CONNECT exchange with an HTTP proxy, byte for byte, against a scripted proxy.
let server: Server | undefined;
afterEach(() => server?.close());

async function scripted(answer: (request: string, socket: Socket) => void): Promise<{ url: URL; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((socket) => {
    let text = '';
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      requests.push(text);
      answer(text, socket);
      text = '';
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), requests };
}

describe('CONNECT through an HTTP proxy', () => {
  it('sends the request line and Host; bytes after the 200 belong to the tunnel', async () => {
    const proxy = await scripted((_request, socket) => socket.write('HTTP/1.1 200 Connection established\r\nProxy-Agent: test\r\n\r\nhello'));
    const socket = await connectThroughProxy(proxy.url, 'ssm.us-east-1.amazonaws.com', 443, 5000);
    const first = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString())));
    socket.destroy();
    expect(proxy.requests).toEqual(['CONNECT ssm.us-east-1.amazonaws.com:443 HTTP/1.1\r\nHost: ssm.us-east-1.amazonaws.com:443\r\n\r\n']);
    expect(first).toBe('hello');
  });

  it('Basic credentials from the URL, percent-decoded; IPv6 targets in brackets', async () => {
    const proxy = await scripted((_request, socket) => socket.write('HTTP/1.0 200 OK\r\n\r\n'));
    const url = new URL(proxy.url);
    url.username = 'ann';
    url.password = 'p%40ss';
    (await connectThroughProxy(url, '::1', 8443, 5000)).destroy();
    expect(proxy.requests[0]).toBe(`CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic ${Buffer.from('ann:p@ss').toString('base64')}\r\n\r\n`);
  });

  it('a refusal is said with the status, the proxy named without its credentials', async () => {
    const proxy = await scripted((_request, socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n'));
    await expect(connectThroughProxy(proxy.url, 'a.example', 443, 5000)).rejects.toThrow(
      `the proxy ${proxy.url.origin} answered 407 Proxy Authentication Required to CONNECT a.example:443 (it wants credentials: http://user:password@host:port)`,
    );
    const withUser = new URL(proxy.url);
    withUser.username = 'ann';
    withUser.password = 'secret';
    const error = await connectThroughProxy(withUser, 'a.example', 443, 5000).catch((caught: Error) => caught);
    expect((error as Error).message).toContain('(the credentials in the proxy URL were refused)');
    expect((error as Error).message).not.toContain('secret');
  });

  it('an answer that is not HTTP, a close before answering, silence: each fails, none hangs', async () => {
    const garbage = await scripted((_request, socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect(connectThroughProxy(garbage.url, 'a.example', 443, 5000)).rejects.toThrow(/sent an answer to CONNECT a.example:443 that is not HTTP/);
    server!.close();
    const closing = await scripted((_request, socket) => socket.destroy());
    await expect(connectThroughProxy(closing.url, 'a.example', 443, 5000)).rejects.toThrow(/closed the connection before answering CONNECT a.example:443/);
    server!.close();
    const silent = await scripted(() => undefined);
    await expect(connectThroughProxy(silent.url, 'a.example', 443, 300)).rejects.toThrow(/did not open a tunnel to a.example:443 within 0 s/);
  });
});
