import { lstat, stat, unlink } from 'node:fs/promises';
import { connect, createServer, isIPv4, isIPv6, type AddressInfo, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
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
 * Where a socket spec listens: the path itself, or on Windows, which has no Unix sockets for this,
 * a named pipe named after it (`\\.\pipe\…`; one given as such is kept).
 */
export function localSocketPath(path: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'win32' || path.startsWith('\\\\.\\pipe\\')) return path;
  return `\\\\.\\pipe\\ssmx-${path.replace(/[^\w.-]+/g, '-').replace(/^-+/, '')}`;
}

/** The longest Unix socket path the system takes (sun_path less its NUL): 107 bytes on Linux, 103 on macOS. */
export const maxSocketPath = (platform: NodeJS.Platform = process.platform): number => (platform === 'darwin' ? 103 : 107);

/**
 * Listens for local connections. Half-open sockets are allowed: when a local client stops
 * sending, replies already on their way must still reach it.
 *
 * A Unix socket path is checked first: too long a path would be cut by the system to another name
 * (a listener no one finds, left behind), and a missing directory is said as such. A socket file
 * left by a run that crashed, with nothing listening on it, is replaced, as OpenSSH's
 * StreamLocalBindUnlink does; any other file in the way is left alone.
 */
/** What the command's own flag says, where listenFailure's hints name forward's. */
export interface ListenHints {
  inUse?: string;
  notAvailable?: string;
}

/** The warning for a listener beyond loopback, or undefined on loopback. */
export const exposureWarning = (host: string, what: string): string | undefined =>
  isLoopback(host) ? undefined : `warning: listening on ${host}: anyone who can reach this address can use the ${what}`;

export async function listenLocal(given: LocalEnd, onConnection: (socket: Socket) => void, hints: ListenHints = {}): Promise<Listening> {
  const local: LocalEnd = given.kind === 'unix' ? { kind: 'unix', path: localSocketPath(given.path) } : given;
  if (local.kind === 'unix' && process.platform !== 'win32') {
    const bytes = Buffer.byteLength(local.path);
    if (bytes > maxSocketPath()) {
      throw new SessionError('LOCAL_ADDRESS', `the socket path ${local.path.slice(0, 60)}… is ${bytes} bytes, longer than this system takes (${maxSocketPath()})`, 'use a shorter path, e.g. in /tmp');
    }
    const directory = dirname(local.path);
    if (!(await stat(directory).then((info) => info.isDirectory(), () => false))) {
      throw new SessionError('LOCAL_ADDRESS', `cannot listen on ${local.path}: the directory ${directory} does not exist`, 'create it first, or pick another path');
    }
  }
  try {
    return await listenOnce(local, onConnection, hints);
  } catch (error) {
    if (local.kind !== 'unix' || (error as { cause?: NodeJS.ErrnoException }).cause?.code !== 'EADDRINUSE' || !(await isStaleSocket(local.path))) throw error;
    await unlink(local.path);
    return listenOnce(local, onConnection, hints);
  }
}

/** A socket file that nothing listens on any more: a connection to it is refused. */
async function isStaleSocket(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isSocket()) return false;
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function listenOnce(local: LocalEnd, onConnection: (socket: Socket) => void, hints: ListenHints): Promise<Listening> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = local.kind === 'tcp' ? `${local.host}:${local.port}` : local.path;
      const { reason, hint } = listenFailure(local, where, error, hints);
      reject(Object.assign(new SessionError('LOCAL_ADDRESS', reason, hint), { cause: error }));
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

/** What went wrong, and what to do, in a person's words. */
function listenFailure(local: LocalEnd, where: string, error: NodeJS.ErrnoException, hints: ListenHints): { reason: string; hint: string | undefined } {
  switch (error.code) {
    case 'EADDRINUSE':
      return local.kind === 'tcp'
        ? { reason: `local address ${where} is already in use`, hint: hints.inUse ?? 'pick another local port (15432:5432), or 0:5432 for any free one' }
        : { reason: `${where} is already in use by another program`, hint: 'pick another path, or stop the program that listens there' };
    case 'EADDRNOTAVAIL':
      return { reason: `cannot listen on ${where}: ${local.kind === 'tcp' ? local.host : where} is not an address of this machine`, hint: hints.notAvailable ?? '--bind takes one of this machine\'s addresses: 127.0.0.1 (the default), ::1, or 0.0.0.0 for all' };
    case 'EACCES':
      return { reason: `no permission to listen on ${where}`, hint: local.kind === 'tcp' ? 'ports below 1024 need privileges: pick a port above 1024' : 'pick a directory you can write to' };
    case 'ENOENT':
      return { reason: `cannot listen on ${where}: no such directory`, hint: 'create the directory first, or pick another path' };
    default:
      return { reason: `cannot listen on ${where}: ${error.message}`, hint: undefined };
  }
}
