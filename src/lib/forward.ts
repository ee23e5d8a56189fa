import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { StartSessionInput } from '../aws/ssm.js';
import { UsageError } from '../errors.js';
import { waitReady, type DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { listenLocal, type Listening, type LocalEnd } from '../session/listener.js';
import { ReplacementPolicy } from '../session/replacement-policy.js';
import { createTunnel, portMode, type PortMode, type Tunnel } from '../session/tunnel.js';
import type { OpenedSession } from './open.js';
import type { PortSpec } from './port-spec.js';

/** A replacement that lived this long counts as working though it carried nothing. */
const USED_OR_STABLE_MS = 60_000;
/** A session the service closes with a reason this soon after it was ready is not replaced. */
const QUICK_END_MS = 2_000;

/** Connections a listener holds while no session of its pool is ready yet; more are refused. */
export const MAX_EARLY_CONNECTIONS = 64;

/** Two specs for one local port or path cannot both listen: said before anything is bound. */
export function checkDistinctLocals(specs: PortSpec[]): void {
  const seen = new Map<string, string>();
  for (const spec of specs) {
    // Port 0 picks a free port each time: any number of those can listen.
    if (spec.local.kind === 'tcp' && spec.local.port === 0) continue;
    const key = spec.local.kind === 'tcp' ? `port ${spec.local.port}` : `socket ${spec.local.path}`;
    const other = seen.get(key);
    if (other) throw new UsageError(`${other} and ${spec.text} both listen on local ${key}`, 'give each spec its own local port (or 0 for any free one)');
    seen.set(key, spec.text);
  }
}

/** The port forwarding document for a destination: the instance's own port, or a host it reaches. */
export function portDocument(remote: { host?: string | undefined; port: number }, localPort: number | undefined): Pick<StartSessionInput, 'documentName' | 'parameters'> {
  const parameters: Record<string, string[]> = {
    portNumber: [String(remote.port)],
    localPortNumber: [String(localPort ?? 0)],
  };
  if (remote.host === undefined) return { documentName: 'AWS-StartPortForwardingSession', parameters };
  return { documentName: 'AWS-StartPortForwardingSessionToRemoteHost', parameters: { ...parameters, host: [remote.host] } };
}

interface PoolMember {
  sessionId: string;
  session: DataChannelSession;
  /** It replaced a session that ended: its own end counts for or against the bound of replacements. */
  replacement: boolean;
  /** When its tunnel was ready. */
  readyAt?: number;
  /** Set once the session is ready. */
  tunnel?: Tunnel;
  mode?: PortMode;
}

export interface ListenerForwardEvents {
  /** The agent could not reach the destination for one connection; the forward goes on. */
  'connect-error': [];
  /** A session of the pool ended for a reason of its own; another is on its way. */
  replacing: [sessionId: string, reason: SessionError];
  /** A new session took the place of one that ended. */
  replaced: [sessionId: string, replaced: string];
  /** The forward cannot go on: replacements kept failing, or the service refused the destination. */
  error: [error: SessionError];
}

export interface ListenerForwardOptions {
  spec: PortSpec;
  /** Where to listen (the spec's local end with its address). */
  local: LocalEnd;
  /** The instance id sessions are started on, and the target as it was given, for messages. */
  instanceId: string;
  target: string;
  /** Sessions in the pool (connections go to the least loaded). */
  sessions: number;
  reason?: string | undefined;
  /** StartSession and the data channel (src/lib/open.ts, with the caller's connect options). */
  open: (input: StartSessionInput) => Promise<OpenedSession>;
  now: () => number;
  /** Hears of every session the pool starts (the command line's lifecycle ends them on a signal). */
  track?: (session: DataChannelSession) => void;
}

/**
 * One listener and its pool of port forwarding sessions. The listener is up before any session is:
 * connections made meanwhile wait, unread, for the first ready one (a bounded number of them). A
 * session that ends for any reason but `close` (an idle timeout, a maximum session duration, an
 * administrator's TerminateSession, a failed resume) is replaced after the policy's pause; its own
 * connections close, the others go on, and the listener stays. Replacements that keep failing, or
 * a session the service closes with a reason as it starts, end the forward (`error`).
 */
export class ListenerForward extends EventEmitter<ListenerForwardEvents> {
  private readonly pool: PoolMember[] = [];
  private readonly early = new Set<Socket>();
  private readonly policy = new ReplacementPolicy();
  private readonly waits = new Set<NodeJS.Timeout>();
  private closing = false;
  private starting: ((error: SessionError) => void) | undefined;
  private firstMode: PortMode | undefined;

  private constructor(
    private readonly options: ListenerForwardOptions,
    readonly listening: Listening,
  ) {
    super();
  }

  /** Listens, then starts the pool; resolves once every session of it is ready. */
  static async start(options: ListenerForwardOptions): Promise<ListenerForward> {
    let forward: ListenerForward | undefined;
    const listening = await listenLocal(options.local, (socket: Socket) => forward!.accept(socket));
    forward = new ListenerForward(options, listening);
    const failed = new Promise<never>((_, reject) => (forward!.starting = reject));
    failed.catch(() => undefined);
    try {
      await Promise.race([Promise.all(Array.from({ length: options.sessions }, () => forward!.openMember(false))), failed]);
    } catch (error) {
      await forward.close();
      throw error;
    }
    forward.starting = undefined;
    return forward;
  }

  /** The ids of the pool's sessions now, for audits and for ending one by hand. */
  get sessionIds(): string[] {
    return this.pool.map((member) => member.sessionId);
  }

  /** How the first session carries connections: multiplexed (smux) or basic (one at a time). */
  get mode(): PortMode {
    return this.firstMode ?? 'basic';
  }

  /** Ends every session on the service, closes the held connections and the listener. */
  async close(): Promise<void> {
    this.closing = true;
    for (const wait of this.waits) clearTimeout(wait);
    this.waits.clear();
    for (const socket of this.early) socket.destroy();
    this.early.clear();
    const reason = new SessionError('INTERRUPTED', 'the forward was closed');
    const ending = this.pool.map(async (member) => {
      await member.session.terminate(reason);
      // Its connections go with it: the listener's close waits for every one.
      member.tunnel?.end();
    });
    await Promise.all([...ending, this.listening.close()]);
  }

  /** Each new connection goes to the session serving the fewest. */
  private leastLoaded(): (PoolMember & { tunnel: Tunnel }) | undefined {
    const ready = this.pool.filter((m): m is PoolMember & { tunnel: Tunnel } => m.tunnel !== undefined);
    return ready.reduce<(typeof ready)[number] | undefined>((best, m) => (!best || m.tunnel.load < best.tunnel.load ? m : best), undefined);
  }

  private accept(socket: Socket): void {
    const member = this.leastLoaded();
    if (member) return member.tunnel.attach(socket);
    if (this.early.size >= MAX_EARLY_CONNECTIONS || this.closing) return void socket.destroy();
    socket.pause();
    socket.on('error', () => undefined);
    this.early.add(socket);
    socket.once('close', () => this.early.delete(socket));
  }

  private fail(error: SessionError): void {
    if (this.closing) return;
    if (this.starting) return this.starting(error);
    this.emit('error', error);
  }

  /** One session of the pool, from StartSession to a ready tunnel. */
  private async openMember(replacement: boolean): Promise<PoolMember> {
    const { spec } = this.options;
    const { documentName, parameters } = portDocument({ host: spec.remoteHost, port: spec.remotePort }, this.listening.port);
    const { started, session } = await this.options.open({ target: this.options.instanceId, documentName, parameters, reason: this.options.reason });
    this.options.track?.(session);
    const member: PoolMember = { sessionId: started.sessionId, session, replacement };
    this.pool.push(member);
    // Closed while StartSession was out: this one goes at once.
    if (this.closing) void session.terminate();
    try {
      member.tunnel = await waitReady(session, (ready) => {
        member.mode = portMode(ready);
        if (member.mode === 'stream') throw new SessionError('PROTOCOL', `the agent offered a stream session for ${documentName}, not port forwarding`);
        const tunnel = createTunnel(session, ready);
        tunnel.on('connect-error', () => this.emit('connect-error'));
        tunnel.once('error', (error) => this.replace(member, error));
        tunnel.once('closed', (closed) => {
          // A reason given moments after the start is a misconfiguration (the agent could not
          // reach the destination at all): replacing the session would meet it again.
          if (closed.output && this.options.now() - member.readyAt! < QUICK_END_MS) {
            return this.fail(new SessionError('CONNECTION_LOST', `session ${member.sessionId} was closed by the service: ${closed.output}`));
          }
          this.replace(member, new SessionError('ENDED_BY_SERVICE', `the service closed it${closed.output ? `: ${closed.output}` : ''}`));
        });
        member.readyAt = this.options.now();
        return tunnel;
      });
    } catch (error) {
      this.pool.splice(this.pool.indexOf(member), 1);
      throw error;
    }
    this.firstMode ??= member.mode;
    // The first ready session takes the connections that came before it.
    for (const socket of [...this.early]) {
      this.early.delete(socket);
      if (!socket.destroyed) this.leastLoaded()!.tunnel.attach(socket);
    }
    return member;
  }

  /**
   * A replacement failed if it carried nothing before it ended, unless it lived a while: a session
   * nobody used, ended by the idle timeout, is no failure to give up over.
   */
  private succeeded(member: PoolMember): boolean {
    return !member.replacement || member.tunnel?.carried === true || (member.readyAt !== undefined && this.options.now() - member.readyAt >= USED_OR_STABLE_MS);
  }

  private replace(member: PoolMember, why: SessionError): void {
    if (why.code === 'INTERRUPTED' || this.closing) return;
    const index = this.pool.indexOf(member);
    if (index >= 0) this.pool.splice(index, 1);
    this.emit('replacing', member.sessionId, why);
    const attempt = (): void => {
      if (this.closing) return;
      this.openMember(true).then(
        (fresh) => this.emit('replaced', fresh.sessionId, member.sessionId),
        (error: Error) => {
          if (!this.closing) this.schedule(false, error.message, attempt);
        },
      );
    };
    this.schedule(this.succeeded(member), why.message, attempt);
  }

  /** Waits as the policy says, then starts a session; a replacement that failed counts against the bound. */
  private schedule(ok: boolean, why: string, attempt: () => void): void {
    const delay = this.policy.next(ok, Math.random());
    if (delay === undefined) return this.giveUp(why);
    const wait = setTimeout(() => {
      this.waits.delete(wait);
      attempt();
    }, delay);
    wait.unref();
    this.waits.add(wait);
  }

  private giveUp(why: string): void {
    const { spec, target } = this.options;
    this.fail(
      new SessionError(
        'CONNECTION_LOST',
        `a session for ${this.listening.address} ended and ${this.policy.maxFailures} replacements failed in a row; the last: ${why}`,
        `a replacement fails when it cannot start or ends before it carries data: check that ${target} is online and may reach ${spec.remoteHost ?? 'localhost'}:${spec.remotePort} (the agent refuses some destinations, such as the instance metadata address)`,
      ),
    );
  }
}
