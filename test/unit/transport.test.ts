import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
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

/** A bare TCP server that answers the opening handshake as `answer` says, then hands over the socket. */
async function rawServer(answer: (key: string) => string | undefined, then: (socket: Socket) => void = () => undefined): Promise<{ url: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const raw: Server = createServer((socket) => {
    sockets.add(socket);
    let head = '';
    socket.on('error', () => undefined);
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      const reply = answer(key);
      if (reply !== undefined) socket.write(reply, 'latin1');
      then(socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(raw.address() as AddressInfo).port}/v1/data-channel/s-1?role=publish_subscribe`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      raw.close();
    },
  };
}

const acceptFor = (key: string) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
const switching = (key: string, extra = '') => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`;
const open = (url: string, more: { connectTimeoutMs?: number } = {}) => WebSocketTransport.open(url, { tokenValue: 't', clientId: 'c', clientVersion: 'v', ...more });
const refusal = (url: string, more: { connectTimeoutMs?: number } = {}) => open(url, more).then(() => { throw new Error('opened'); }, (error: TransportError) => error);

describe('WebSocket transport: the RFC 6455 client ssmx speaks', () => {
  it('a fragmented message arrives as one frame; a ping from the server is answered with its payload', async () => {
    const { url, server } = await listen();
    const ponged = new Promise<Buffer>((resolve) =>
      server.on('connection', (ws) => {
        ws.on('pong', resolve);
        ws.once('message', () => {
          ws.send(Buffer.from([1, 2]), { fin: false });
          ws.send(Buffer.from([3]), { fin: true });
          ws.ping(Buffer.from('are you there'));
        });
      }),
    );
    const transport = await open(url);
    const frame = new Promise<Buffer>((resolve) => transport.on('frame', resolve));
    expect([...(await frame)]).toEqual([1, 2, 3]);
    expect((await ponged).toString()).toBe('are you there');
    transport.close();
  });

  it('closing: ssmx sends close 1000 and the link ends without an error; a server close names its code and reason', async () => {
    const { url, server } = await listen();
    const codes: number[] = [];
    server.on('connection', (ws) => ws.on('close', (code) => codes.push(code)));
    const ours = await open(url);
    const ended = new Promise((resolve) => ours.on('close', resolve));
    ours.close();
    expect(await ended).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(codes).toEqual([1000]);

    server.removeAllListeners('connection');
    server.on('connection', (ws) => ws.once('message', () => ws.close(1011, 'going away now')));
    const theirs = await open(url);
    const error = await new Promise<TransportError | undefined>((resolve) => theirs.on('close', resolve));
    expect(error?.code).toBe('CONNECTION_LOST');
    expect(error?.message).toBe('the data channel closed (WebSocket code 1011: going away now)');
  });

  it('after its close frame ssmx reads on, paused or not, until the server closes: no byte is left unread to reset the connection', async () => {
    const { url, server } = await listen();
    const serverSide = new Promise<{ code: number; error: string | undefined; lastMessage: string }>((resolve) =>
      server.on('connection', (ws) => {
        let lastMessage = '';
        let error: string | undefined;
        ws.on('message', (data: Buffer) => (lastMessage = data.toString()));
        // A reset shows here as ECONNRESET; a clean close as the client's 1000.
        (ws as unknown as { _socket: Socket })._socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
        ws.on('close', (code) => resolve({ code, error, lastMessage }));
        // 8 MiB more than the socket buffers hold, sent while the client has stopped reading.
        ws.once('message', () => {
          for (let i = 0; i < 8 * 1024; i++) ws.send(Buffer.alloc(1024, i & 0xff));
        });
      }),
    );
    const transport = await open(url);
    transport.pause();
    transport.send(Buffer.from('start'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const frames: number[] = [];
    transport.on('frame', (frame) => frames.push(frame.length));
    transport.send(Buffer.from('the last words'));
    const started = Date.now();
    const closed = new Promise((resolve) => transport.on('close', resolve));
    transport.close();
    // The link ends when the server closes the connection, not when ssmx gives up waiting (5 s).
    expect(await closed).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await serverSide).toEqual({ code: 1000, error: undefined, lastMessage: 'the last words' });
    // What came after the close frame went out was read and dropped, not handed on.
    expect(frames).toEqual([]);
  });

  it('a frame cut across reads, and one sent with the 101 answer itself, each arrive whole', async () => {
    const frame = Buffer.concat([Buffer.from([0x82, 0x7e, 0x01, 0x00]), Buffer.alloc(256, 0x61)]);
    const server = await rawServer(
      (key) => switching(key) + Buffer.from([0x82, 0x01, 0x07]).toString('latin1'),
      (socket) => {
        socket.write(frame.subarray(0, 3));
        setTimeout(() => socket.write(frame.subarray(3, 100)), 20);
        setTimeout(() => socket.write(frame.subarray(100)), 40);
      },
    );
    const transport = await open(server.url);
    const frames: Buffer[] = [];
    await new Promise<void>((resolve) => transport.on('frame', (got) => frames.push(got) === 2 && resolve()));
    expect(frames[0]).toEqual(Buffer.from([7]));
    expect(frames[1]).toEqual(Buffer.alloc(256, 0x61));
    transport.close();
    server.close();
  });

  it('a masked frame from the server fails the link with close 1002', async () => {
    let sawClose: (frame: Buffer) => void = () => undefined;
    const closeFrame = new Promise<Buffer>((resolve) => (sawClose = resolve));
    const server = await rawServer(switching, (socket) => {
      let got = Buffer.alloc(0);
      socket.on('data', (data) => {
        got = Buffer.concat([got, data]);
        // The client's frames, one after another: the open-data-channel text, then the close.
        for (let at = 0; at + 2 <= got.length; ) {
          const length = got[at + 1]! & 0x7f;
          const end = at + 2 + 4 + (length === 126 ? 2 + got.readUInt16BE(at + 2) : length);
          if (end > got.length) break;
          if (got[at] === 0x88) sawClose(got.subarray(at, end));
          at = end;
        }
      });
      socket.write(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]));
    });
    const transport = await open(server.url);
    const error = await new Promise<TransportError | undefined>((resolve) => transport.on('close', resolve));
    expect(error?.message).toMatch(/^the data channel broke the WebSocket protocol: masked WebSocket frame from the server/);
    // A client's frame is masked: the code is the payload unmasked with the key before it.
    const close = await closeFrame;
    expect(close.length).toBe(8);
    expect(((close[6]! ^ close[2]!) << 8) | (close[7]! ^ close[3]!)).toBe(1002);
    server.close();
  });

  it('a download read in gathered passes loses nothing and keeps its order; a pause by its owner holds through a wait', async () => {
    const { url, server } = await listen();
    const total = 4096;
    server.on('connection', (ws) =>
      ws.once('message', () => {
        // 1 KiB frames as the agent writes them, as fast as the socket takes them.
        for (let i = 0; i < total; i++) ws.send(Buffer.alloc(1024, i & 0xff).fill(i >> 8, 0, 1));
      }),
    );
    const transport = await open(url);
    const got: number[] = [];
    let pausedNow: () => void = () => undefined;
    const paused = new Promise<void>((resolve) => (pausedNow = resolve));
    const done = new Promise<void>((resolve) =>
      transport.on('frame', (frame) => {
        got.push(frame[0]! * 256 + frame[1]!);
        if (got.length === 1000) {
          transport.pause();
          pausedNow();
        }
        if (got.length === total) resolve();
      }),
    );
    await paused;
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Frames already read in the turn that paused may still arrive; then nothing while paused.
    const held = got.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(got.length).toBe(held);
    transport.resume();
    await done;
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    transport.close();
  });

  it('refusals of the opening handshake are STREAM_UNREACHABLE and say what the server did', async () => {
    const forbidden = await rawServer(() => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    expect((await refusal(forbidden.url)).message).toMatch(/the server answered HTTP 403$/);
    forbidden.close();
    const wrongAccept = await rawServer((key) => switching('not-' + key));
    expect((await refusal(wrongAccept.url)).message).toMatch(/wrong Sec-WebSocket-Accept/);
    wrongAccept.close();
    const extension = await rawServer((key) => switching(key, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'));
    expect((await refusal(extension.url)).message).toMatch(/extension ssmx did not ask for/);
    extension.close();
    const silent = await rawServer(() => undefined);
    const started = Date.now();
    const timedOut = await refusal(silent.url, { connectTimeoutMs: 200 });
    expect(timedOut.code).toBe('STREAM_UNREACHABLE');
    expect(timedOut.message).toMatch(/the opening handshake took longer than 200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    silent.close();
    expect((await refusal('http://127.0.0.1:1/x')).message).toMatch(/not a WebSocket URL/);
  });
});

