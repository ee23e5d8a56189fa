import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WebSocketTransport } from '../../src/transport/websocket.js';
import { TransportError } from '../../src/transport/errors.js';

let server: WebSocketServer | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

function listen(options: { autoPong?: boolean } = {}): Promise<{ url: string; server: WebSocketServer }> {
  return new Promise((resolve) => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options }, () => {
      resolve({ url: `ws://127.0.0.1:${(server!.address() as AddressInfo).port}/v1/data-channel/s-1?role=publish_subscribe`, server: server! });
    });
  });
}

describe('WebSocket transport', () => {
  it('opens the stream URL as given, sends the open-data-channel text frame first, then binary frames', async () => {
    const { url, server } = await listen();
    const received: Array<{ text?: string; binary?: Buffer; path?: string }> = [];
    const got = new Promise<void>((resolve) =>
      server.on('connection', (ws, request) => {
        received.push({ path: request.url });
        ws.on('message', (data: Buffer, isBinary) => {
          received.push(isBinary ? { binary: data } : { text: data.toString() });
          if (received.length === 3) resolve();
        });
      }),
    );
    const transport = await WebSocketTransport.open(url, { tokenValue: 'tok', clientId: 'client-1', clientVersion: '1.2.650.0' });
    transport.send(Buffer.from([1, 2, 3]));
    await got;
    expect(received[0]!.path).toBe('/v1/data-channel/s-1?role=publish_subscribe');
    const open = JSON.parse(received[1]!.text!);
    expect(Object.keys(open)).toEqual(['MessageSchemaVersion', 'RequestId', 'TokenValue', 'ClientId', 'ClientVersion']);
    expect(open).toMatchObject({ MessageSchemaVersion: '1.0', TokenValue: 'tok', ClientId: 'client-1', ClientVersion: '1.2.650.0' });
    expect(open.RequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(received[2]!.binary).toEqual(Buffer.from([1, 2, 3]));
    transport.close();
  });

  it('keeps the connection alive with pings carrying "keepalive"', async () => {
    const { url, server } = await listen();
    const pinged = new Promise<Buffer>((resolve) => server.on('connection', (ws) => ws.on('ping', resolve)));
    const transport = await WebSocketTransport.open(url, { tokenValue: 't', clientId: 'c', clientVersion: 'v', pingIntervalMs: 20 });
    expect((await pinged).toString()).toBe('keepalive');
    transport.close();
  });

  it('a peer that stops answering pings is declared lost', async () => {
    // A server that never answers pings: the link is half-open.
    await listen({ autoPong: false });
    const { url } = { url: `ws://127.0.0.1:${(server!.address() as AddressInfo).port}/` };
    const transport = await WebSocketTransport.open(url, { tokenValue: 't', clientId: 'c', clientVersion: 'v', pingIntervalMs: 30 });
    const closed = await new Promise<TransportError | undefined>((resolve) => transport.on('close', resolve));
    expect(closed).toBeInstanceOf(TransportError);
    expect(closed!.code).toBe('CONNECTION_LOST');
  });

  it('a peer that sends data but never answers pings is alive: data counts as a sign of life', async () => {
    await listen({ autoPong: false });
    server!.on('connection', (ws) => {
      const sender = setInterval(() => ws.readyState === ws.OPEN && ws.send(Buffer.alloc(16)), 5);
      ws.on('close', () => clearInterval(sender));
    });
    const { url } = { url: `ws://127.0.0.1:${(server!.address() as AddressInfo).port}/` };
    const transport = await WebSocketTransport.open(url, { tokenValue: 't', clientId: 'c', clientVersion: 'v', pingIntervalMs: 30 });
    let lost: unknown;
    transport.on('close', (error) => (lost = error ?? 'closed'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lost).toBeUndefined();
    transport.close();
  });

  it('a link ssmx has stopped reading (its own backpressure) is not declared lost, however long', async () => {
    // A healthy peer that answers pings and keeps sending: while paused, its pongs wait unread.
    const { url, server } = await listen();
    server.on('connection', (ws) => {
      const sender = setInterval(() => ws.readyState === ws.OPEN && ws.send(Buffer.alloc(64 * 1024)), 5);
      ws.on('close', () => clearInterval(sender));
    });
    const transport = await WebSocketTransport.open(url, { tokenValue: 't', clientId: 'c', clientVersion: 'v', pingIntervalMs: 100 });
    let lost: unknown;
    transport.on('close', (error) => (lost = error ?? 'closed'));
    transport.pause();
    // Six ping intervals with nothing read: before, the second one ended the link.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(lost).toBeUndefined();
    // Reading again, the pongs that waited are read: the check starts afresh, and the link lives on.
    transport.resume();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(lost).toBeUndefined();
    transport.close();
  });

  it('a refused connection is STREAM_UNREACHABLE, with the URL but not its query', async () => {
    const error = await WebSocketTransport.open('ws://127.0.0.1:1/v1/data-channel/x?role=publish_subscribe&secret=1', {
      tokenValue: 't', clientId: 'c', clientVersion: 'v',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('STREAM_UNREACHABLE');
    expect((error as TransportError).message).toContain('ws://127.0.0.1:1/v1/data-channel/x');
    expect((error as TransportError).message).not.toContain('secret');
  });
});
