import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../../net/duplex-pair.js';
import { Command, methodReply, NO_ACCEPTABLE_METHODS, NO_AUTHENTICATION, parseSocks, replyFor, Reply, type SocksRequest } from '../../net/socks.js';
import { waitReady } from '../../session/data-channel-session.js';
import { SessionError } from '../../session/errors.js';
import { exposureWarning, listenLocal, type Listening } from '../../session/listener.js';
import { createTunnel, portMode, type PortMode, type Tunnel } from '../../session/tunnel.js';
import { awsFor } from '../aws-context.js';
import { startDataChannel } from '../../lib/open.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { Lifecycle } from '../lifecycle.js';
import { REPLACEMENT_MAX_DELAY_MS, ReplacementPolicy } from '../../session/replacement-policy.js';
import { startProgress } from '../progress.js';

export interface SocksOptions extends GlobalOptions {
  /** [host:]port to listen on; 127.0.0.1:1080 by default. */
  listen?: string;
  /** At most this many sessions at once (checked as the command line is read). */
  maxSessions?: number;
  /** Seconds a destination's session stays open with no connection. */
  idleTimeout?: number;
  reason?: string;
}

export const DEFAULT_SOCKS_LISTEN = '127.0.0.1:1080';
export const DEFAULT_MAX_SESSIONS = 32;
export const DEFAULT_IDLE_TIMEOUT_S = 60;
/** A session that lived this long counts as no failure, whether it carried data or not. */
const STABLE_MS = 60_000;
/** How long a destination whose sessions kept failing is refused without a session. */
export const GAVE_UP_MS = 6 * REPLACEMENT_MAX_DELAY_MS;
/**
 * The first connection to a destination waits this long for the agent to say it could not connect
 * (ConnectToPortError) before the client is told it succeeded; the agent says nothing when it
 * does connect (port_mux.go, handleServerConnections). Data from the destination ends the wait at
 * once, and a destination that has answered before is not waited for again.
 */
const VERDICT_MS = 750;
/** A client has this long to finish its SOCKS greeting and request. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** `[host:]port`, `[v6]:port`: where the SOCKS server listens. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) throw new UsageError(`--listen ${text}: not [host:]port`, 'for example --listen 1080 or --listen 127.0.0.1:1080');
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

interface Route {
  tunnels: Session[];
  /**
   * Sessions for the destination back off as a forward's replacements do: one that could not
   * start or ended having carried nothing (the agent refusing the destination: port.go
   * initializeParameters) delays the next, and after the bound in a row the destination is
   * refused without a session for a while. Each StartSession is an audited session and an agent
   * process; a client that retries must not turn into a storm of them.
   */
  policy: ReplacementPolicy;
  /** No session for the destination starts before this time (ms, the clock's). */
  notBefore: number;
  /** Set once the bound was reached: CONNECTs are refused until `notBefore`, with this reason. */
  gaveUp?: string;
  /** A session on its way for this destination: later connections wait for it rather than start another. */
  starting?: Promise<Session>;
  /** The destination has answered: no wait for a verdict any more. */
  answered: boolean;
}

interface Session {
  sessionId: string;
  tunnel: Tunnel;
  mode: PortMode;
  connections: number;
  idle?: NodeJS.Timeout;
  ended: boolean;
  end(): void;
  /**
   * The connections waiting for their verdict (awaitVerdict). The session's events reach them
   * through one listener each on the tunnel and the data channel, however many wait at once.
   */
  waiting: Set<VerdictWatcher>;
}

/** What a connection waiting for its verdict hears of its session. */
interface VerdictWatcher {
  refused(): void;
  ended(why: { output?: string } | Error): void;
  acknowledged(): void;
}

/**
 * `ssmx socks <target>`: a SOCKS 5 (and 4a) server; each CONNECT rides an
 * AWS-StartPortForwardingSessionToRemoteHost session for its destination, started on first use,
 * shared by later connections (multiplexed agents) and ended after an idle period.
 */
export async function socksCommand(target: string, options: SocksOptions, context: CliContext): Promise<number> {
  const listen = parseListen(options.listen ?? DEFAULT_SOCKS_LISTEN);
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const idleMs = (options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_S) * 1000;
  const say = (line: string) => !options.quiet && context.stderr.write(`${line}\n`);
  const aws = awsFor(options, context, target);
  const routes = new Map<string, Route>();
  const clients = new Set<Socket>();
  let sessionCount = 0;
  let closing = false;
  let listening: Listening | undefined;
  const progress = startProgress(context, `Starting a SOCKS proxy through ${target}`, options);
  const lifecycle = new Lifecycle({ signals: context.signals, stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'], exitStatus: () => 0 });
  try {
    return await lifecycle.run(async () => {
      const instanceId = await aws.resolve(target);

      const startSession = async (host: string, port: number, route: Route): Promise<Session> => {
        sessionCount += 1;
        try {
          const { started, session } = await startDataChannel(
            {
              target: instanceId,
              documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
              parameters: { host: [host], portNumber: [String(port)], localPortNumber: ['0'] },
              reason: options.reason,
            },
            aws.connect,
          );
          lifecycle.track(session);
          const entry = await waitReady(session, (ready): Session => {
            const mode = portMode(ready);
            if (mode === 'stream') throw new SessionError('PROTOCOL', 'the agent offered a stream session, not port forwarding');
            const tunnel = createTunnel(session, ready);
            const readyAt = Date.now();
            const self: Session = {
              sessionId: started.sessionId,
              tunnel,
              mode,
              connections: 0,
              ended: false,
              waiting: new Set(),
              end: () => {
                gone();
                void session.terminate().finally(() => lifecycle.forget(session));
              },
            };
            const gone = () => {
              if (self.ended) return;
              self.ended = true;
              clearTimeout(self.idle);
              sessionCount -= 1;
              const at = route.tunnels.indexOf(self);
              if (at >= 0) route.tunnels.splice(at, 1);
            };
            const tell = (hear: (watcher: VerdictWatcher) => void) => {
              for (const watcher of [...self.waiting]) hear(watcher);
            };
            const ended = (why: { output?: string } | Error) => {
              // A session that lived a while is no failure, carried or not (one nobody used, idle).
              const carried = tunnel.carried || Date.now() - readyAt >= STABLE_MS;
              if (!self.ended) settle(route, carried, why instanceof Error ? why.message : why.output || 'the session ended');
              gone();
              tell((watcher) => watcher.ended(why));
            };
            tunnel.once('closed', ended);
            tunnel.once('error', ended);
            tunnel.on('connect-error', () => tell((watcher) => watcher.refused()));
            session.on('acknowledged', () => tell((watcher) => watcher.acknowledged()));
            return self;
          });
          route.tunnels.push(entry);
          return entry;
        } catch (error) {
          sessionCount -= 1;
          settle(route, false, (error as Error).message);
          throw error;
        }
      };

      /** A session of the route ended, or could not start: when the next may start, or the bound reached. */
      const settle = (route: Route, carried: boolean, why: string) => {
        const delay = route.policy.next(carried, Math.random());
        if (delay !== undefined) {
          route.notBefore = Date.now() + (carried ? 0 : delay);
          return;
        }
        route.gaveUp = `${route.policy.maxFailures} sessions in a row ended before carrying any data; the last: ${why}`;
        route.notBefore = Date.now() + GAVE_UP_MS;
        route.policy = new ReplacementPolicy();
      };

      /** A session for the destination with room for one more connection, started if there is none. */
      const sessionFor = async (host: string, port: number): Promise<{ session: Session; route: Route }> => {
        const key = `${host}\n${port}`;
        let route = routes.get(key);
        if (!route) {
          route = { tunnels: [], answered: false, policy: new ReplacementPolicy(), notBefore: 0 };
          routes.set(key, route);
        }
        for (;;) {
          // A multiplexed session carries any number; a basic one (older agents) one at a time.
          const free = route.tunnels.find((entry) => !entry.ended && (entry.mode === 'multiplexed' || entry.connections === 0));
          if (free) return { session: free, route };
          if (route.starting) {
            await route.starting.catch(() => undefined);
            if (route.tunnels.some((entry) => !entry.ended && (entry.mode === 'multiplexed' || entry.connections === 0))) continue;
          }
          if (sessionCount >= maxSessions) throw new LimitError(`--max-sessions ${maxSessions} reached`);
          const wait = route.notBefore - Date.now();
          if (route.gaveUp && wait > 0) throw new GaveUpError(`${route.gaveUp} (refused for ${Math.ceil(wait / 1000)} s more)`);
          route.gaveUp = undefined;
          // After a failure the session waits out its backoff; later connections wait for it too.
          const forRoute = route;
          const paused = wait > 0 ? new Promise<void>((resolve) => setTimeout(resolve, wait).unref()) : Promise.resolve();
          const starting = paused.then(() => startSession(host, port, forRoute));
          route.starting = starting;
          try {
            await starting;
          } finally {
            if (route.starting === starting) route.starting = undefined;
          }
        }
      };

      const connect = async (client: Socket, request: SocksRequest, early: Buffer) => {
        const destination = `${request.host.includes(':') ? `[${request.host}]` : request.host}:${request.port}`;
        let picked: { session: Session; route: Route };
        try {
          picked = await sessionFor(request.host, request.port);
        } catch (error) {
          if (client.destroyed) return;
          const limit = error instanceof LimitError;
          const gaveUp = error instanceof GaveUpError;
          say(`ssmx: ${limit || gaveUp ? 'refused' : 'could not start a session for'} ${destination}: ${(error as Error).message}`);
          client.end(replyFor(request, limit ? Reply.NotAllowed : gaveUp ? Reply.HostUnreachable : Reply.GeneralFailure));
          return;
        }
        if (client.destroyed) return;
        const { session, route } = picked;
        session.connections += 1;
        clearTimeout(session.idle);
        const [outer, inner] = duplexPair();
        session.tunnel.attach(inner as unknown as Socket);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          session.connections -= 1;
          if (session.connections === 0 && !session.ended && !closing) {
            session.idle = setTimeout(() => session.end(), idleMs);
            session.idle.unref();
          }
        };
        client.once('close', () => {
          release();
          outer.destroy();
        });
        const verdict = await awaitVerdict(outer, session, route.answered ? 0 : VERDICT_MS);
        if (client.destroyed) return outer.destroy();
        if (verdict.kind === 'refused') {
          say(`ssmx: ${target} could not connect to ${destination} (the agent reported ConnectToPortError)`);
          outer.destroy();
          client.end(replyFor(request, Reply.ConnectionRefused));
          return;
        }
        if (verdict.kind === 'ended') {
          // An older agent dials when its session starts, and ends the session when it cannot (port_basic.go).
          say(`ssmx: the session for ${destination} ended${verdict.why ? `: ${verdict.why}` : ''}`);
          outer.destroy();
          client.end(replyFor(request, Reply.HostUnreachable));
          return;
        }
        if (verdict.first) route.answered = true;
        client.write(replyFor(request, Reply.Succeeded));
        if (verdict.first) client.write(verdict.first);
        if (early.length) outer.write(early);
        client.pipe(outer);
        outer.pipe(client);
        outer.once('close', () => client.destroy());
      };

      const handle = (client: Socket) => {
        clients.add(client);
        client.once('close', () => clients.delete(client));
        client.on('error', () => undefined);
        let buffered = Buffer.alloc(0);
        let greeted = false;
        const timer = setTimeout(() => client.destroy(), HANDSHAKE_TIMEOUT_MS);
        const onData = (data: Buffer) => {
          buffered = Buffer.concat([buffered, data]);
          for (;;) {
            const step = parseSocks(buffered, greeted);
            if (step.kind === 'more') return;
            if (step.kind === 'refuse') {
              clearTimeout(timer);
              client.off('data', onData);
              if (step.reply) client.end(step.reply);
              else client.destroy();
              return;
            }
            buffered = buffered.subarray(step.consumed);
            if (step.kind === 'greeting') {
              greeted = true;
              if (!step.methods.includes(NO_AUTHENTICATION)) {
                clearTimeout(timer);
                client.off('data', onData);
                client.end(methodReply(NO_ACCEPTABLE_METHODS));
                return;
              }
              client.write(methodReply(NO_AUTHENTICATION));
              continue;
            }
            clearTimeout(timer);
            client.off('data', onData);
            client.pause();
            if (step.request.command !== Command.Connect) {
              client.end(replyFor(step.request, Reply.CommandNotSupported));
              return;
            }
            void connect(client, step.request, buffered);
            return;
          }
        };
        client.on('data', onData);
      };

      listening = await listenLocal({ kind: 'tcp', host: listen.host, port: listen.port }, handle, {
        inUse: 'give another with --listen, or port 0 for any free one',
        notAvailable: "--listen takes one of this machine's addresses: 127.0.0.1 (the default), ::1, or 0.0.0.0 for all",
      });
      progress.stop();
      const exposed = exposureWarning(listen.host, 'proxy');
      if (exposed) say(exposed);
      say(`SOCKS proxy on ${listening.address} -> ${target} (${instanceId}); a session per destination, on first use; Ctrl-C to stop`);
      // Until a stop signal (exit 0).
      return new Promise<number>(() => undefined);
    });
  } finally {
    closing = true;
    progress.stop();
    for (const client of clients) client.destroy();
    await listening?.close();
    for (const route of routes.values()) for (const entry of route.tunnels) clearTimeout(entry.idle);
    aws.destroy();
  }
}

class LimitError extends Error {}
class GaveUpError extends Error {}

type Verdict = { kind: 'connected'; first?: Buffer } | { kind: 'refused' } | { kind: 'ended'; why?: string };

/**
 * Whether the agent reached the destination: its first bytes say yes; a ConnectToPortError, or the
 * stream closed before any byte, says no; silence says yes (the agent says nothing when its dial
 * succeeds). Silence is judged once the agent has acknowledged the stream's opening: the agent
 * dials as it takes the stream, so a refusal follows the acknowledgement by about the time the
 * acknowledgement took; the wait is that long (at least 30 ms), and never more than `waitMs`.
 * The first bytes are held for the caller, to follow its reply.
 */
function awaitVerdict(stream: Duplex, session: Session, waitMs: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const sentAt = Date.now();
    let acknowledgedOnce = waitMs === 0;
    const finish = (verdict: Verdict) => {
      clearTimeout(timer);
      session.waiting.delete(watcher);
      for (const [event, listener] of listeners) stream.off(event, listener);
      stream.pause();
      resolve(verdict);
    };
    const refused = () => finish({ kind: 'refused' });
    const watcher: VerdictWatcher = {
      refused,
      ended: (why) => finish({ kind: 'ended', why: why instanceof Error ? why.message : why.output || undefined }),
      acknowledged: () => {
        if (acknowledgedOnce) return;
        acknowledgedOnce = true;
        const elapsed = Date.now() - sentAt;
        clearTimeout(timer);
        timer = setTimeout(() => finish({ kind: 'connected' }), Math.max(0, Math.min(waitMs - elapsed, Math.max(30, elapsed))));
      },
    };
    let timer = setTimeout(() => finish({ kind: 'connected' }), waitMs);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each listener takes what its event gives
    const listeners: Array<[string, (...args: any[]) => void]> = [
      ['data', (data: Buffer) => finish({ kind: 'connected', first: data })],
      ['end', refused],
      ['close', refused],
    ];
    for (const [event, listener] of listeners) stream.on(event, listener);
    session.waiting.add(watcher);
  });
}
