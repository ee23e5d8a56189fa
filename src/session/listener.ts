import { createServer, isIPv4, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { unlink } from 'node:fs/promises';
import { SessionError } from './errors.js';

export type LocalEnd = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface Listening {
  server: Server;
  /** The address a client connects to, as a person would write it. */
  address: string;
  port: number | undefined;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIPv4(host) && host.startsWith('127.')) || (isIPv6(host) && host === '::1');
}

/**
 * Listens for local connections. Half-open sockets are allowed: when a local client stops
 * sending, replies already on their way must still reach it.
 */
export function listenLocal(local: LocalEnd, onConnection: (socket: Socket) => void): Promise<Listening> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = local.kind === 'tcp' ? `${local.host}:${local.port}` : local.path;
      const reason =
        error.code === 'EADDRINUSE'
          ? `local address ${where} is already in use`
          : error.code === 'EACCES'
            ? `no permission to listen on ${where}`
            : `cannot listen on ${where}: ${error.message}`;
      reject(new SessionError('LOCAL_ADDRESS', reason, local.kind === 'tcp' ? 'pick another local port (15432:5432), or 0:5432 for any free one' : undefined));
    });
    const ready = () => {
      const info = server.address();
      const port = typeof info === 'object' && info ? (info as AddressInfo).port : undefined;
      const address = local.kind === 'tcp' ? `${local.host.includes(':') ? `[${local.host}]` : local.host}:${port}` : local.path;
      resolve({
        server,
        address,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if (local.kind === 'unix') void unlink(local.path).catch(() => undefined);
          }),
      });
    };
    if (local.kind === 'tcp') return void server.listen({ host: local.host, port: local.port }, ready);
    // A Unix socket is a file ssmx creates: mode 0600 from the start (the bind happens inside
    // listen, under this umask), so no other user can reach the tunnel through it.
    const umask = process.umask(0o177);
    try {
      server.listen(local.path, ready);
    } finally {
      process.umask(umask);
    }
  });
}
