import type { Socket } from 'node:net';
import { Duplex, type DuplexOptions } from 'node:stream';
import { duplexPair } from '../net/duplex-pair.js';
import { waitReady, type DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { createTunnel, portMode } from '../session/tunnel.js';
import type { ConnectOptions } from './types.js';

/** The program's side of the pair: a Duplex that also knows its session. */
export class RemoteConnection extends Duplex {
  sessionId: string | undefined;
  /** Set as the connection opens (see openConnection). */
  terminate: () => Promise<void> = async () => undefined;

  constructor(options: DuplexOptions) {
    super(options);
  }
}

/**
 * One connection to a remote port without a local listener: a port forwarding session whose
 * tunnel serves one end of a stream pair as it would serve an accepted socket, the other end the
 * program's. When either end goes, the session is ended on the service and the client let go.
 */
export function openConnection(
  options: Pick<ConnectOptions, 'host' | 'port' | 'signal'>,
  /** Starts the port session; tells `started` its id as soon as the service gives it. */
  open: (started: (sessionId: string) => void) => Promise<DataChannelSession>,
  /** Lets go of what opened it, once the session has ended. */
  release: () => void,
): RemoteConnection {
  const [outer, inner] = duplexPair(RemoteConnection);
  const destination = `${options.host ?? 'localhost'}:${options.port}`;
  const opening = open((sessionId) => {
    outer.sessionId = sessionId;
    outer.emit('started', sessionId);
  });
  const opened = opening.catch(() => undefined);
  let ending: Promise<void> | undefined;
  const end = () =>
    (ending ??= (async () => {
      await (await opened)?.terminate();
      release();
    })());
  outer.terminate = async () => {
    await end();
    outer.destroy();
  };
  inner.once('close', () => void end());
  const { signal } = options;
  const onAbort = () => void end().then(() => outer.destroy(new SessionError('INTERRUPTED', 'the connection was aborted')));
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener('abort', onAbort, { once: true });
  outer.once('close', () => signal?.removeEventListener('abort', onAbort));

  opening.then(
    (session) => {
      if (outer.destroyed) return;
      session.on('reconnecting', (reason) => outer.emit('reconnecting', reason));
      session.on('resumed', (ms) => outer.emit('reconnected', ms));
      return waitReady(session, (ready) => {
        if (portMode(ready) === 'stream') throw new SessionError('PROTOCOL', 'the agent offered a stream session, not port forwarding');
        const tunnel = createTunnel(session, ready);
        tunnel.once('error', (error) => outer.destroy(error));
        tunnel.once('closed', (closed) => {
          if (closed.output) outer.destroy(new SessionError('ENDED_BY_SERVICE', `the service closed the session: ${closed.output}`));
        });
        tunnel.on('connect-error', () => outer.destroy(new SessionError('DESTINATION_UNREACHABLE', `the instance could not connect to ${destination}`)));
        // The tunnel serves a socket's ends: the pair's inner end is one.
        tunnel.attach(inner as unknown as Socket);
      });
    },
    (error: Error) => outer.destroy(error),
  ).catch((error: Error) => outer.destroy(error));
  return outer;
}
