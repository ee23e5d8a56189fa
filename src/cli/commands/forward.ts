import type { Socket } from 'node:net';
import { awsFor } from '../aws-context.js';
import { SessionError } from '../../session/errors.js';
import { exposureWarning, listenLocal, type Listening } from '../../session/listener.js';
import { createTunnel, portMode, type PortMode, type Tunnel } from '../../session/tunnel.js';
import { startDataChannel } from '../../lib/open.js';
import { waitReady } from '../../session/data-channel-session.js';
import { Lifecycle } from '../lifecycle.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { parsePortSpec, type PortSpec } from '../port-spec.js';
import { startProgress } from '../progress.js';
import { announceReady, clearReadyFile, runInBackground, type ReadyOptions } from '../readiness.js';

export interface ForwardOptions extends GlobalOptions, ReadyOptions {
  /** Detach once every listener is ready (see runInBackground). */
  background?: boolean;
  bind?: string;
  /** Parsed and checked by the command line (1 to 64). */
  sessions?: number;
  json?: boolean;
  reason?: string;
}

export { DEFAULT_SESSIONS } from '../names.js';
import { DEFAULT_SESSIONS } from '../names.js';
import { ReplacementPolicy } from '../../session/replacement-policy.js';

/** A replacement that lived this long counts as working though it carried nothing. */
const USED_OR_STABLE_MS = 60_000;
/** A session the service closes with a reason this soon after it was ready is not replaced. */
const QUICK_END_MS = 2_000;

/** Connections a listener holds while no session of its pool is ready yet; more are refused. */
export const MAX_EARLY_CONNECTIONS = 64;

interface PoolMember {
  sessionId: string;
  /** It replaced a session that ended: its own end counts for or against the bound of replacements. */
  replacement: boolean;
  /** When its tunnel was ready. */
  readyAt?: number;
  /** Set once the session is ready. */
  tunnel?: Tunnel;
  mode?: PortMode;
}

/** Two specs for one local port or path cannot both listen: said before anything is bound. */
function checkDistinctLocals(specs: PortSpec[]): void {
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

function documentFor(spec: PortSpec, localPort: number | undefined) {
  const parameters: Record<string, string[]> = {
    portNumber: [String(spec.remotePort)],
    localPortNumber: [String(localPort ?? 0)],
  };
  if (spec.remoteHost === undefined) return { documentName: 'AWS-StartPortForwardingSession', parameters };
  return { documentName: 'AWS-StartPortForwardingSessionToRemoteHost', parameters: { ...parameters, host: [spec.remoteHost] } };
}

/** `ssmx forward <target> <spec…>`: listeners, each with its pool of sessions, until Ctrl-C. */
export async function forwardCommand(target: string, specTexts: string[], options: ForwardOptions, context: CliContext): Promise<number> {
  if (options.background) return runInBackground(process.argv.slice(2), context);
  const poolSize = options.sessions ?? DEFAULT_SESSIONS;
  clearReadyFile(options);
  let unannounce = () => {};
  const aws = awsFor(options, context, target);
  const listeners: Listening[] = [];
  const heldEarly: Array<Set<Socket>> = [];
  /** Set once the forward is ending: no session is replaced any more. */
  let closing = false;
  const progress = startProgress(context, `Starting port forwarding to ${target}`, options);
  try {
    const given = specTexts.length > 0 ? specTexts : (aws.alias?.forward ?? []);
    if (given.length === 0) {
      throw new UsageError('no port spec given', 'for example: ssmx forward i-0123456789abcdef0 5432 (or an alias with "forward" specs in the config file)');
    }
    const specs = given.map(parsePortSpec);
    checkDistinctLocals(specs);
    const bind = options.bind ?? '127.0.0.1';
    const say = (line: string) => !options.quiet && context.stderr.write(`${line}\n`);
    const exposed = exposureWarning(bind, 'tunnel');
    if (exposed) say(exposed);
    // Before anything is printed: a script may press Ctrl-C the moment it reads a listener line.
    const lifecycle = new Lifecycle({ signals: context.signals, stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'], exitStatus: () => 0 });
    return await lifecycle.run(async () => {
      let fail: (error: Error) => void = () => undefined;
      const failed = new Promise<never>((_, reject) => (fail = reject));
      failed.catch(() => undefined);
      const instanceId = await aws.resolve(target);
      const lines: string[] = [];
      for (const spec of specs) {
        const pool: PoolMember[] = [];
        const local = spec.local.kind === 'tcp' ? { kind: 'tcp' as const, host: spec.bind ?? bind, port: spec.local.port } : spec.local;
        const specExposed = spec.bind && exposureWarning(spec.bind, 'tunnel');
        if (specExposed) say(specExposed);
        // Each new connection goes to the session serving the fewest.
        const leastLoaded = () => {
          const ready = pool.filter((m): m is PoolMember & { tunnel: Tunnel } => m.tunnel !== undefined);
          return ready.reduce<(typeof ready)[number] | undefined>((best, m) => (!best || m.tunnel.load < best.tunnel.load ? m : best), undefined);
        };
        // The listener is up before any session is: a script that connects at once is held, unread,
        // until one is ready (a bounded number of them), and refused only if the sessions fail.
        const early = new Set<Socket>();
        const listening = await listenLocal(local, (socket: Socket) => {
          const member = leastLoaded();
          if (member) return member.tunnel.attach(socket);
          if (early.size >= MAX_EARLY_CONNECTIONS) return socket.destroy();
          socket.pause();
          socket.on('error', () => undefined);
          early.add(socket);
          socket.once('close', () => early.delete(socket));
        });
        heldEarly.push(early);
        listeners.push(listening);
        const { documentName, parameters } = documentFor(spec, listening.port);
        /** One session of the pool, from StartSession to a ready tunnel; `onEnd` hears of its end. */
        const openMember = async (onEnd: (member: PoolMember, why: SessionError) => void, replacement = false): Promise<PoolMember> => {
          const { started, session } = await startDataChannel({ target: instanceId, documentName, parameters, reason: options.reason }, aws.connect);
          lifecycle.track(session);
          const member: PoolMember = { sessionId: started.sessionId, replacement };
          pool.push(member);
          try {
            member.tunnel = await waitReady(session, (ready) => {
              member.mode = portMode(ready);
              if (member.mode === 'stream') throw new SessionError('PROTOCOL', `the agent offered a stream session for ${documentName}, not port forwarding`);
              const tunnel = createTunnel(session, ready);
              tunnel.on('connect-error', () =>
                say(`ssmx: ${target} could not connect to ${spec.remoteHost ?? 'localhost'}:${spec.remotePort} for a connection on ${listening.address} (the agent reported ConnectToPortError)`),
              );
              tunnel.once('error', (error) => onEnd(member, error));
              tunnel.once('closed', (closed) => {
                // A reason given moments after the start is a misconfiguration (the agent could not
                // reach the destination at all): replacing the session would meet it again.
                if (closed.output && context.timers.now() - member.readyAt! < QUICK_END_MS) {
                  return fail(new SessionError('CONNECTION_LOST', `session ${member.sessionId} was closed by the service: ${closed.output}`));
                }
                onEnd(member, new SessionError('ENDED_BY_SERVICE', `the service closed it${closed.output ? `: ${closed.output}` : ''}`));
              });
              member.readyAt = context.timers.now();
              return tunnel;
            });
          } catch (error) {
            pool.splice(pool.indexOf(member), 1);
            throw error;
          }
          // The first ready session takes the connections that came before it.
          for (const socket of [...early]) {
            early.delete(socket);
            if (!socket.destroyed) leastLoaded()!.tunnel.attach(socket);
          }
          return member;
        };
        /**
         * A member whose session ended for any reason but a stop (an idle timeout, a maximum session
         * duration, an administrator's TerminateSession, a failed resume) is replaced; its own
         * connections close, the others go on, and the listener stays. Replacements that keep
         * failing end the forward.
         */
        const policy = new ReplacementPolicy();
        const giveUp = (why: string) =>
          fail(
            new SessionError(
              'CONNECTION_LOST',
              `a session for ${listening.address} ended and ${policy.maxFailures} replacements failed in a row; the last: ${why}`,
              `a replacement fails when it cannot start or ends before it carries data: check that ${target} is online and may reach ${spec.remoteHost ?? 'localhost'}:${spec.remotePort} (the agent refuses some destinations, such as the instance metadata address)`,
            ),
          );
        /** Waits as the policy says, then starts a session; a replacement that failed counts against the bound. */
        const schedule = (ok: boolean, why: string, attempt: () => void) => {
          const delay = policy.next(ok, Math.random());
          if (delay === undefined) return giveUp(why);
          setTimeout(attempt, delay).unref();
        };
        /**
         * A replacement failed if it carried nothing before it ended, unless it lived a while: a
         * session nobody used, ended by the idle timeout, is no failure to give up over.
         */
        const succeeded = (member: PoolMember) =>
          !member.replacement || member.tunnel?.carried === true || (member.readyAt !== undefined && context.timers.now() - member.readyAt >= USED_OR_STABLE_MS);
        const replace = (member: PoolMember, why: SessionError) => {
          if (why.code === 'INTERRUPTED' || closing) return;
          pool.splice(pool.indexOf(member), 1);
          say(`ssmx: session ${member.sessionId} ended (${why.message}); starting another`);
          const attempt = (): void => {
            if (closing) return;
            openMember(replace, true).then(
              (fresh) => say(`ssmx: session ${fresh.sessionId} replaces ${member.sessionId} for ${listening.address}`),
              (error: Error) => {
                if (!closing) schedule(false, error.message, attempt);
              },
            );
          };
          schedule(succeeded(member), why.message, attempt);
        };
        const members = await Promise.all(Array.from({ length: poolSize }, () => openMember(replace)));
        progress.stop();
        const mode = members[0]!.mode;
        const remoteHost = spec.remoteHost && spec.remoteHost.includes(':') ? `[${spec.remoteHost}]` : spec.remoteHost;
        const remote = `${target}:${remoteHost ? `${remoteHost}:` : ''}${spec.remotePort}`;
        // The session ids, for audits and for ending one by hand (aws ssm terminate-session).
        say(`forwarding ${listening.address} -> ${remote}${poolSize > 1 ? ` (${poolSize} sessions, ${mode})` : ` (${mode})`}: ${members.map((m) => m.sessionId).join(', ')}`);
        const line = JSON.stringify({
              spec: spec.text,
              local: listening.address,
              localPort: listening.port ?? null,
              localSocket: spec.local.kind === 'unix' ? spec.local.path : null,
              target,
              instanceId,
              remoteHost: spec.remoteHost ?? null,
              remotePort: spec.remotePort,
              mode,
              sessions: members.map((m) => m.sessionId),
            });
        lines.push(line);
        if (options.json) context.stdout.write(`${line}\n`);
      }
      // Every listener is up: a script waiting on a file or a descriptor may go.
      unannounce = announceReady(lines, options);
      // Runs until a stop signal (exit 0) or a session fails.
      return failed;
    });
  } finally {
    closing = true;
    progress.stop();
    unannounce();
    for (const socket of heldEarly.flatMap((early) => [...early])) socket.destroy();
    await Promise.all(listeners.map((listening) => listening.close()));
    aws.destroy();
  }
}
