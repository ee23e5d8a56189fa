import { Agent as HttpAgent, type AgentOptions as HttpAgentOptions } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { redactProxy } from './proxy.js';

/** A proxy that refused, failed or could not be reached: said with the proxy's address, never its credentials. */
export class ProxyError extends Error {
  readonly code = 'EPROXY';
}

/** host:port as a request line and a Host header write it ([v6]:port for IPv6). */
const authority = (host: string, port: number) => `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

/**
 * A TCP tunnel to host:port through an HTTP proxy: CONNECT, with Basic credentials from the proxy
 * URL, answered 2xx. Anything else fails within `timeoutMs` with what the proxy said.
 */
export function connectThroughProxy(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const target = authority(host.replace(/^\[|\]$/g, ''), port);
  const name = redactProxy(proxy);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port) || 80 });
    let head = Buffer.alloc(0);
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new ProxyError(`the proxy ${name} ${why}`));
    };
    const timer = setTimeout(() => fail(`did not open a tunnel to ${target} within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    socket.once('connect', () => {
      const credentials = proxy.username ? `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}` : undefined;
      socket.write(
        `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n` +
          (credentials ? `Proxy-Authorization: Basic ${Buffer.from(credentials).toString('base64')}\r\n` : '') +
          '\r\n',
      );
    });
    // Read with 'readable', not 'data': once the listener goes, the socket is as new (neither
    // flowing nor paused), and what follows the answer is unshifted for whoever reads next.
    const onReadable = () => {
      let data: Buffer | null;
      while ((data = socket.read() as Buffer | null) !== null) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16 * 1024) return fail(`sent an answer to CONNECT ${target} that is not HTTP`);
          continue;
        }
        const status = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?/.exec(head.subarray(0, end).toString('latin1'));
        if (!status) return fail(`sent an answer to CONNECT ${target} that is not HTTP`);
        if (!status[1]!.startsWith('2')) {
          const hint = status[1] === '407' || status[1] === '401' ? (proxy.username ? ' (the credentials in the proxy URL were refused)' : ' (it wants credentials: http://user:password@host:port)') : '';
          return fail(`answered ${status[1]}${status[2] ? ` ${status[2]}` : ''} to CONNECT ${target}${hint}`);
        }
        settled = true;
        clearTimeout(timer);
        socket.removeListener('readable', onReadable);
        socket.removeListener('close', onClose);
        socket.removeListener('error', onError);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        return resolve(socket);
      }
    };
    const onError = (error: NodeJS.ErrnoException) => fail(`cannot be reached (${error.code ?? error.message})`);
    const onClose = () => fail(`closed the connection before answering CONNECT ${target}`);
    socket.on('readable', onReadable);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** Decides, per connection, the proxy for a target URL (undefined: direct). */
export type ProxyDecision = (target: URL) => URL | undefined;

type ConnectionOptions = { host?: string | null; hostname?: string | null; port?: number | string | null; servername?: string } & Record<string, unknown>;
type Created = (error: Error | null, socket: Socket) => void;

const targetOf = (scheme: string, options: ConnectionOptions) => {
  const host = String(options.host ?? options.hostname ?? 'localhost');
  const port = Number(options.port) || (scheme === 'https:' ? 443 : 80);
  return { host, port, url: new URL(`${scheme}//${authority(host.replace(/^\[|\]$/g, ''), port)}`) };
};

type DirectConnection = (options: unknown, created?: Created) => Socket;

/**
 * One connection of an agent: direct (the agent's own way) when `decide` names no proxy, else a
 * CONNECT tunnel, handed to `created` once open (after `over`: TLS inside it, or nothing).
 */
function connection(
  scheme: 'https:' | 'http:',
  agent: { decide: ProxyDecision; timeoutMs: number; direct: DirectConnection },
  options: ConnectionOptions,
  created: Created | undefined,
  over: (tunnel: Socket, host: string) => Socket,
): Socket | undefined {
  const { host, port, url } = targetOf(scheme, options);
  const proxy = agent.decide(url);
  if (!proxy) return agent.direct(options, created);
  if (!created) throw new Error('a proxied connection is made asynchronously');
  connectThroughProxy(proxy, host, port, agent.timeoutMs).then(
    (tunnel) => created(null, over(tunnel, host)),
    (error: Error) => created(error, undefined as unknown as Socket),
  );
  return undefined;
}

/**
 * An https.Agent that opens each connection directly or through the proxy `decide` names, the TLS
 * handshake then running inside the tunnel (with the target's name for SNI and verification).
 */
export class ProxyingHttpsAgent extends HttpsAgent {
  /**
   * `trust`, when given, is the TLS context every connection verifies its server with (a named CA
   * bundle): asked for at the first connection, so that a command that makes none parses nothing.
   */
  constructor(
    private readonly decide: ProxyDecision,
    private readonly timeoutMs: number,
    options: HttpsAgentOptions = {},
    private readonly trust?: () => SecureContext,
  ) {
    super(options);
  }

  override createConnection(given: ConnectionOptions, created?: Created): Socket | undefined {
    const options = this.trust ? { ...given, secureContext: this.trust() } : given;
    const direct = (HttpsAgent.prototype as unknown as { createConnection: DirectConnection }).createConnection.bind(this);
    return connection('https:', { decide: this.decide, timeoutMs: this.timeoutMs, direct }, options, created, (tunnel, host) => {
      const servername = options.servername ?? (isIP(host.replace(/^\[|\]$/g, '')) ? undefined : host);
      return tlsConnect({ ...(options as object), socket: tunnel, ...(servername ? { servername } : {}) });
    });
  }
}

/** The same for plain http:// and ws:// targets: the tunnel is the connection. */
export class ProxyingHttpAgent extends HttpAgent {
  constructor(
    private readonly decide: ProxyDecision,
    private readonly timeoutMs: number,
    options: HttpAgentOptions = {},
  ) {
    super(options);
  }

  override createConnection(options: ConnectionOptions, created?: Created): Socket | undefined {
    const direct = (HttpAgent.prototype as unknown as { createConnection: DirectConnection }).createConnection.bind(this);
    return connection('http:', { decide: this.decide, timeoutMs: this.timeoutMs, direct }, options, created, (tunnel) => tunnel);
  }
}
