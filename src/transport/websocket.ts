import { EventEmitter } from 'node:events';
import { createHash, randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { ProtocolError } from '../protocol/errors.js';
import { encodeOpenDataChannel } from '../protocol/payloads.js';
import { CloseCode, Opcode, WEBSOCKET_GUID, WebSocketFrameParser, clientFrameLength, closePayload, writeClientFrame } from '../protocol/websocket-frame.js';
import { TransportError } from './errors.js';
import { ReadCoalescer } from './read-coalescer.js';

export interface OpenOptions {
  tokenValue: string;
  clientId: string;
  clientVersion: string;
  /** How long the TCP, TLS and WebSocket handshakes may take together. */
  connectTimeoutMs?: number;
  /**
   * How often to ping; a ping unanswered by the next one marks the link dead, so a silent drop (a
   * laptop that slept, a NAT that forgot) is noticed within two intervals. The plugin pings every
   * 5 minutes and never checks for the pong; ssmx pings every 30 s.
   */
  pingIntervalMs?: number;
  /** How to connect: an agent that goes direct or through a proxy (src/net/proxy-agent.ts). */
  agent?: import('node:http').Agent;
  /** Headers the upgrade request carries besides the WebSocket ones: its SigV4 signature. */
  headers?: Record<string, string>;
}

export interface DataChannelTransport {
  send(frame: Buffer): void;
  close(): void;
  /** Stop reading the peer (TCP then holds the sender back), and start again. */
  pause(): void;
  resume(): void;
  /** True once the link has gone: a close that came before anyone listened is not missed. */
  readonly isClosed?: boolean;
  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): unknown;
}

export interface TransportEvents {
  frame: [frame: Buffer];
  /** The link has gone: undefined when this side closed it, else why. */
  close: [error: TransportError | undefined];
}

const PING_PAYLOAD = Buffer.from('keepalive');
export const DEFAULT_PING_INTERVAL_MS = 30_000;
/** After ssmx sends its close frame, how long the server has to close the connection before ssmx drops it. */
const CLOSE_WAIT_MS = 5_000;

/** Masking keys (RFC 6455 §5.3: unpredictable, one per frame), drawn from the system's random source 1,024 at a time. */
const masks = Buffer.alloc(4 * 1024);
let maskUsed = masks.length;
function nextMask(): number {
  if (maskUsed === masks.length) {
    randomFillSync(masks);
    maskUsed = 0;
  }
  maskUsed += 4;
  return maskUsed - 4;
}

/**
 * The data channel's WebSocket (docs/protocol.md §1): opened on the StreamUrl exactly as given (signed by the caller), first a text
 * frame with the token, then binary frames only. ssmx speaks the client side of RFC 6455 itself
 * (the framing is src/protocol/websocket-frame.ts): the frames one turn of the event loop sends
 * (the acknowledgements of one read's messages, a write cut into 1,024-byte payloads) are masked
 * straight into one buffer and leave in one write, and a frame that arrives whole is a view of
 * the bytes read, never a copy. TLS is always verified; Node adds the CAs named by NODE_EXTRA_CA_CERTS.
 */
export class WebSocketTransport extends EventEmitter<TransportEvents> implements DataChannelTransport {
  private readonly parser = new WebSocketFrameParser();
  private closedByUs = false;
  /** A close frame has gone out: nothing more is sent. */
  private closeSent = false;
  /** The server's close frame, once it came: nothing more is read. */
  private peerClose: { code: number; reason: string } | undefined;
  private protocolError: ProtocolError | undefined;
  private awaitingPong = false;
  private paused = false;
  isClosed = false;
  private readonly pingTimer: NodeJS.Timeout;
  /** Frames read before anyone listened for them: handed over once someone does. */
  private early: Buffer[] | undefined = [];
  private readonly outgoing: Uint8Array[] = [];
  private readonly outgoingOpcodes: number[] = [];
  private outgoingBytes = 0;
  private readonly coalescer = new ReadCoalescer();
  /** Bytes read in this pass of the event loop; the coalescer judges them once it is over. */
  private passBytes = 0;
  /** Reading stopped for a moment by the coalescer (not the owner's pause). */
  private gathering = false;

  private constructor(
    private readonly socket: Socket,
    pingIntervalMs: number,
  ) {
    super();
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'frame' || !this.early) return;
      const early = this.early;
      this.early = undefined;
      if (early.length > 0) queueMicrotask(() => early.forEach((frame) => this.emit('frame', frame)));
    });
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => socket.end());
    socket.on('error', () => {
      // 'close' follows every error and reports it.
    });
    socket.on('close', () => {
      this.isClosed = true;
      clearInterval(this.pingTimer);
      if (this.closedByUs) {
        this.emit('close', undefined);
        return;
      }
      if (this.protocolError) {
        this.emit('close', new TransportError('CONNECTION_LOST', `the data channel broke the WebSocket protocol: ${this.protocolError.message}`));
        return;
      }
      const code = this.peerClose?.code ?? CloseCode.Abnormal;
      const why = this.peerClose?.reason ? `: ${this.peerClose.reason}` : '';
      this.emit('close', new TransportError('CONNECTION_LOST', `the data channel closed (WebSocket code ${code}${why})`));
    });
    this.pingTimer = setInterval(() => {
      // While ssmx itself has stopped reading (a local reader is full), the pong waits unread in
      // the socket: that silence is ssmx's own, not the peer's, and never ends a healthy link (as
      // smux's keepalive: "recvLoop may block while bucket is 0, in this case, session should not
      // be closed"). The check starts afresh when reading does.
      if (this.paused) return;
      if (this.awaitingPong) {
        socket.destroy();
        return;
      }
      this.awaitingPong = true;
      this.queue(Opcode.Ping, PING_PAYLOAD);
    }, pingIntervalMs);
    this.pingTimer.unref();
  }

  static open(streamUrl: string, options: OpenOptions): Promise<WebSocketTransport> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      let request: ClientRequest | undefined;
      const fail = (detail: string, hint = 'check the network path to the Session Manager endpoint (proxy, firewall, VPC endpoint for ssmmessages)') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request?.destroy();
        reject(new TransportError('STREAM_UNREACHABLE', `cannot open the data channel at ${redactUrl(streamUrl)}: ${detail}`, hint));
      };
      const timer = setTimeout(() => fail(`the opening handshake took longer than ${connectTimeoutMs} ms`), connectTimeoutMs);
      let url: URL;
      try {
        url = new URL(streamUrl);
      } catch {
        return fail('not a URL');
      }
      if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return fail(`not a WebSocket URL (${url.protocol})`);
      // RFC 6455 §4.1: the opening handshake is an HTTP/1.1 GET asking to upgrade.
      const key = randomBytes(16).toString('base64');
      request = (url.protocol === 'wss:' ? httpsRequest : httpRequest)({
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port || (url.protocol === 'wss:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        // Host as the signature covers it (the URL's host, its port only when not the default).
        headers: { ...options.headers, Host: url.host, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
        ...(options.agent ? { agent: options.agent } : {}),
      });
      request.on('error', (error: Error) => fail(error.message || String(error)));
      request.on('response', (response: IncomingMessage) => {
        response.resume();
        fail(
          `the server answered HTTP ${response.statusCode}`,
          response.statusCode === 403
            ? 'the service refused the connection: the session has ended, or the signature of the upgrade was not accepted (check the credentials and this machine\'s clock)'
            : undefined,
        );
      });
      request.on('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
        const refusal = upgradeRefusal(response, key);
        if (refusal) {
          socket.destroy();
          return fail(refusal);
        }
        if (settled) return void socket.destroy();
        settled = true;
        clearTimeout(timer);
        socket.setNoDelay(true);
        socket.setTimeout(0);
        if (head.length > 0) socket.unshift(head);
        const transport = new WebSocketTransport(socket, options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
        transport.queue(
          Opcode.Text,
          Buffer.from(
            encodeOpenDataChannel({
              messageSchemaVersion: '1.0',
              requestId: randomUUID(),
              tokenValue: options.tokenValue,
              clientId: options.clientId,
              clientVersion: options.clientVersion,
            }),
          ),
        );
        resolve(transport);
      });
      request.end();
    });
  }

  send(frame: Buffer): void {
    this.queue(Opcode.Binary, frame);
  }

  pause(): void {
    if (this.closedByUs) return;
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    // A pong that came while paused is read now; the next check waits a whole interval for it.
    this.awaitingPong = false;
    if (!this.gathering) this.socket.resume();
  }

  close(): void {
    this.closedByUs = true;
    clearInterval(this.pingTimer);
    if (this.isClosed) return;
    if (this.closeSent || this.socket.destroyed) return void this.socket.destroy();
    // The closing handshake (§7.1.2): our close frame, then the server closes the connection.
    this.queue(Opcode.Close, closePayload(CloseCode.Normal));
    this.closeSent = true;
    this.flush();
    this.socket.end();
    // Then read on, paused or not, until the server closes the connection; what comes is dropped.
    // Bytes left unread when this process exits would make its kernel reset the connection, and
    // a reset can destroy the last frames sent before the server reads them.
    this.paused = false;
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS).unref();
  }

  private read(chunk: Buffer): void {
    if (this.peerClose || this.protocolError || this.closedByUs) return;
    // Anything from the peer shows the link is alive, as a pong does. A pong sent while ssmx was
    // reading a backlog waits behind it; the data ahead of it must not count against the link.
    this.awaitingPong = false;
    // The pass is judged once the loop has done its reads (setImmediate runs after the poll phase):
    // over TLS each record is handed over on its own, and only all the records of one socket read
    // together tell whether the read emptied the socket.
    if (this.passBytes === 0) setImmediate(() => this.endPass());
    this.passBytes += chunk.length;
    const events = this.parser.push(chunk);
    if (events instanceof ProtocolError) {
      // §7.1.7: fail the connection, saying why (1002) where the link still takes it.
      this.protocolError = events;
      if (!this.closeSent) this.queue(Opcode.Close, closePayload(CloseCode.ProtocolError));
      this.closeSent = true;
      this.flush();
      this.socket.destroySoon();
      return;
    }
    for (const event of events) {
      switch (event.kind) {
        case 'message':
          // The plugin hands text messages to the same handler; an agent message is always binary.
          if (this.early) this.early.push(event.data);
          else this.emit('frame', event.data);
          break;
        case 'ping':
          this.queue(Opcode.Pong, event.data);
          break;
        case 'pong':
          break;
        case 'close':
          // §5.5.1: answer with a close frame of our own (its code echoed), then the connection ends.
          this.peerClose = { code: event.code, reason: event.reason };
          if (!this.closeSent) this.queue(Opcode.Close, event.code === CloseCode.NoStatus ? Buffer.alloc(0) : closePayload(event.code));
          this.closeSent = true;
          this.flush();
          this.socket.end();
          return;
      }
    }
  }

  /** The loop's reads are done: perhaps wait a moment before the next (see ReadCoalescer). */
  private endPass(): void {
    const waitMs = this.coalescer.afterPass(this.passBytes);
    this.passBytes = 0;
    if (waitMs === 0 || this.paused || this.gathering || this.isClosed || this.closedByUs) return;
    this.gathering = true;
    this.socket.pause();
    setTimeout(() => {
      this.gathering = false;
      if (!this.paused && !this.isClosed) this.socket.resume();
    }, waitMs);
  }

  /** Queues a frame; the turn's frames are written together once it ends. Nothing goes after a close frame. */
  private queue(opcode: number, payload: Uint8Array): void {
    if (this.closeSent || this.isClosed) return;
    if (this.outgoing.length === 0) process.nextTick(() => this.flush());
    this.outgoing.push(payload);
    this.outgoingOpcodes.push(opcode);
    this.outgoingBytes += clientFrameLength(payload.length);
  }

  private flush(): void {
    const count = this.outgoing.length;
    if (count === 0) return;
    const out = Buffer.allocUnsafe(this.outgoingBytes);
    let at = 0;
    for (let i = 0; i < count; i++) at = writeClientFrame(out, at, this.outgoingOpcodes[i]!, this.outgoing[i]!, masks, nextMask());
    this.outgoing.length = 0;
    this.outgoingOpcodes.length = 0;
    this.outgoingBytes = 0;
    if (!this.socket.destroyed) this.socket.write(out);
  }
}

/** Why a 101 answer does not open a WebSocket (RFC 6455 §4.1, the client's checks), or undefined. */
function upgradeRefusal(response: IncomingMessage, key: string): string | undefined {
  if (response.headers.upgrade?.toLowerCase() !== 'websocket') return 'the server did not switch to WebSocket';
  const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
  if (response.headers['sec-websocket-accept'] !== accept) return 'the server answered with a wrong Sec-WebSocket-Accept';
  if (response.headers['sec-websocket-extensions']) return 'the server agreed to a WebSocket extension ssmx did not ask for';
  if (response.headers['sec-websocket-protocol']) return 'the server chose a WebSocket subprotocol ssmx did not ask for';
  return undefined;
}

/** The stream URL carries no secret today, but its query is trimmed from messages all the same. */
function redactUrl(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? url : url.slice(0, at);
}
