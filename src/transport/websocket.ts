import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { encodeOpenDataChannel } from '../protocol/payloads.js';
import { TransportError } from './errors.js';

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

/**
 * The data channel's WebSocket (docs/protocol.md §1): opened on the StreamUrl exactly as given, first a text
 * frame with the token, then binary frames only. TLS is always verified; Node adds the CAs named
 * by NODE_EXTRA_CA_CERTS.
 */
export class WebSocketTransport extends EventEmitter<TransportEvents> implements DataChannelTransport {
  private closedByUs = false;
  private awaitingPong = false;
  private paused = false;
  isClosed = false;
  private readonly pingTimer: NodeJS.Timeout;

  private constructor(
    private readonly socket: WebSocket,
    pingIntervalMs: number,
  ) {
    super();
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      // Anything from the peer shows the link is alive, as a pong does. A pong sent while ssmx
      // was reading a backlog waits behind it; the data ahead of it must not count against the link.
      this.awaitingPong = false;
      // The plugin hands text messages to the same handler; an agent message is always binary.
      this.emit('frame', isBinary ? data : Buffer.from(data));
    });
    socket.on('pong', () => {
      this.awaitingPong = false;
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.isClosed = true;
      clearInterval(this.pingTimer);
      if (this.closedByUs) {
        this.emit('close', undefined);
        return;
      }
      const why = reason.length > 0 ? `: ${reason.toString()}` : '';
      this.emit('close', new TransportError('CONNECTION_LOST', `the data channel closed (WebSocket code ${code}${why})`));
    });
    socket.on('error', () => {
      // 'close' follows every error and reports it.
    });
    this.pingTimer = setInterval(() => {
      // While ssmx itself has stopped reading (a local reader is full), the pong waits unread in
      // the socket: that silence is ssmx's own, not the peer's, and never ends a healthy link (as
      // smux's keepalive: "recvLoop may block while bucket is 0, in this case, session should not
      // be closed"). The check starts afresh when reading does.
      if (this.paused) return;
      if (this.awaitingPong) {
        socket.terminate();
        return;
      }
      this.awaitingPong = true;
      socket.ping(PING_PAYLOAD);
    }, pingIntervalMs);
    this.pingTimer.unref();
  }

  static open(streamUrl: string, options: OpenOptions): Promise<WebSocketTransport> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const socket = new WebSocket(streamUrl, { perMessageDeflate: false, handshakeTimeout: connectTimeoutMs, ...(options.agent ? { agent: options.agent } : {}) });
      const fail = (detail: string) => {
        if (settled) return;
        settled = true;
        socket.terminate();
        reject(
          new TransportError(
            'STREAM_UNREACHABLE',
            `cannot open the data channel at ${redactUrl(streamUrl)}: ${detail}`,
            'check the network path to the Session Manager endpoint (proxy, firewall, VPC endpoint for ssmmessages)',
          ),
        );
      };
      socket.once('error', (error: Error) => fail(error.message || String(error)));
      socket.once('unexpected-response', (_request, response) => fail(`the server answered HTTP ${response.statusCode}`));
      socket.once('close', (code: number) => fail(`closed during the opening handshake (code ${code})`));
      socket.once('open', () => {
        if (settled) return;
        settled = true;
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        const transport = new WebSocketTransport(socket, options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
        socket.send(
          encodeOpenDataChannel({
            messageSchemaVersion: '1.0',
            requestId: randomUUID(),
            tokenValue: options.tokenValue,
            clientId: options.clientId,
            clientVersion: options.clientVersion,
          }),
        );
        resolve(transport);
      });
    });
  }

  send(frame: Buffer): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.batchWrites();
    this.socket.send(frame, { binary: true });
  }

  private batching = false;

  /**
   * Frames sent in one turn of the event loop (the acknowledgements of one read's messages, a
   * write cut into 1,024-byte payloads) leave in one write to the socket, not one system call each.
   */
  private batchWrites(): void {
    const raw = (this.socket as unknown as { _socket?: import('node:net').Socket })._socket;
    if (this.batching || !raw) return;
    this.batching = true;
    raw.cork();
    process.nextTick(() => {
      this.batching = false;
      raw.uncork();
    });
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    // A pong that came while paused is read now; the next check waits a whole interval for it.
    this.awaitingPong = false;
    this.socket.resume();
  }

  close(): void {
    this.closedByUs = true;
    clearInterval(this.pingTimer);
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    else this.socket.terminate();
  }
}

/** The stream URL carries no secret today, but its query is trimmed from messages all the same. */
function redactUrl(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? url : url.slice(0, at);
}
