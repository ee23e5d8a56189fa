import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Socket } from 'node:net';
import { awsFor } from '../aws-context.js';
import { SessionError } from '../../session/errors.js';
import { isLoopback, listenLocal, type Listening } from '../../session/listener.js';
import { createTunnel, portMode, type PortMode, type Tunnel } from '../../session/tunnel.js';
import type { DataChannelSession } from '../../session/data-channel-session.js';
import { endSession, openSession, waitReady } from '../connect.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { parsePortSpec, type PortSpec } from '../port-spec.js';
import { startProgress } from '../progress.js';

export interface ForwardOptions extends GlobalOptions {
  bind?: string;
  sessions?: string;
  json?: boolean;
  reason?: string;
}

/**
 * Sessions per spec when --sessions is not given. Each paced session carries about 1 MB/s towards
 * the user, and throughput grew with the pool in every measurement (BENCHMARKS.md: 8 connections,
 * 1/2/4/8 sessions). The pool opens eagerly, and every session is an audited AWS session with an
 * agent worker on the instance even when one connection uses it, so the default stops at 4.
 */
export const DEFAULT_SESSIONS = 4;

interface PoolMember {
  sessionId: string;
  session: DataChannelSession;
  /** Set once the session is ready. */
  tunnel?: Tunnel;
  agentVersion: string;
  mode?: PortMode;
}

interface Forward {
  spec: PortSpec;
  listening: Listening;
  pool: PoolMember[];
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
  const aws = awsFor(options, context, target);
  const given = specTexts.length > 0 ? specTexts : (aws.alias?.forward ?? []);
  if (given.length === 0) {
    aws.destroy();
    throw new UsageError('no port spec given', 'for example: ssmx forward i-0123456789abcdef0 5432 (or an alias with "forward" specs in the config file)');
  }
  let specs: PortSpec[];
  try {
    specs = given.map(parsePortSpec);
  } catch (error) {
    aws.destroy();
    throw error;
  }
  const poolSize = options.sessions === undefined ? DEFAULT_SESSIONS : Number(options.sessions);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 64) throw new UsageError(`--sessions must be 1 to 64, not ${options.sessions}`);
  const bind = options.bind ?? '127.0.0.1';
  const say = (line: string) => !options.quiet && context.stderr.write(`${line}\n`);
  if (!isLoopback(bind)) say(`warning: listening on ${bind}: anyone who can reach this address can use the tunnel`);

  const client = aws.ssm;
  const forwards: Forward[] = [];
  const progress = startProgress(context.stderr, `Starting port forwarding to ${target}`, !options.quiet);
  let failure: Error | undefined;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const fail = (error: Error) => {
    failure ??= error;
    finish?.();
  };
  // Before anything is printed: a script may press Ctrl-C the moment it reads a listener line.
  const onSignal = () => finish?.();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.once(signal, onSignal);

  try {
    const instanceId = await aws.resolve(target);
    for (const spec of specs) {
      const pool: PoolMember[] = [];
      const local = spec.local.kind === 'tcp' ? { kind: 'tcp' as const, host: bind, port: spec.local.port } : spec.local;
      const listening = await listenLocal(local, (socket: Socket) => {
        // Each new connection goes to the session serving the fewest.
        const ready = pool.filter((m): m is PoolMember & { tunnel: Tunnel } => m.tunnel !== undefined);
        const member = ready.reduce<(typeof ready)[number] | undefined>((best, m) => (!best || m.tunnel.load < best.tunnel.load ? m : best), undefined);
        if (member) member.tunnel.attach(socket);
        else socket.destroy();
      });
      const forward: Forward = { spec, listening, pool };
      forwards.push(forward);
      const { documentName, parameters } = documentFor(spec, listening.port);
      const members = await Promise.all(
        Array.from({ length: poolSize }, async () => {
          const { started, session } = await openSession(client, { target: instanceId, documentName, parameters, reason: options.reason }, undefined, aws.resume);
          const member: PoolMember = { sessionId: started.sessionId, session, agentVersion: '' };
          pool.push(member);
          member.tunnel = await waitReady(session, (ready) => {
            member.mode = portMode(ready);
            member.agentVersion = ready.agentVersion;
            if (member.mode === 'stream') throw new SessionError('PROTOCOL', `the agent offered a stream session for ${documentName}, not port forwarding`);
            const tunnel = createTunnel(session, ready);
            tunnel.on('connect-error', () =>
              say(`ssmx: ${target} could not connect to ${spec.remoteHost ?? 'localhost'}:${spec.remotePort} for a connection on ${listening.address} (the agent reported ConnectToPortError)`),
            );
            tunnel.once('error', fail);
            tunnel.once('closed', (closed: { output: string }) =>
              fail(new SessionError('CONNECTION_LOST', `session ${member.sessionId} was closed by the service${closed.output ? `: ${closed.output}` : ''}`)),
            );
            return tunnel;
          });
          return member;
        }),
      );
      progress.stop();
      const mode = members[0]!.mode;
      const remote = `${target}:${spec.remoteHost ? `${spec.remoteHost}:` : ''}${spec.remotePort}`;
      say(`forwarding ${listening.address} -> ${remote}${poolSize > 1 ? ` (${poolSize} sessions, ${mode})` : ` (${mode})`}`);
      if (options.json) {
        context.stdout.write(
          `${JSON.stringify({
            spec: spec.text,
            local: listening.address,
            localPort: listening.port ?? null,
            localSocket: spec.local.kind === 'unix' ? spec.local.path : null,
            target,
            remoteHost: spec.remoteHost ?? null,
            remotePort: spec.remotePort,
            mode,
            sessions: members.map((m) => m.sessionId),
          })}\n`,
        );
      }
    }

    await finished;
    if (failure) throw failure;
    return 0;
  } catch (error) {
    progress.stop();
    throw error;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await shutdown(client, forwards);
    aws.destroy();
  }
}

/** Ends every session as the agent version allows (docs/protocol.md §8, connect.endSession), and the listeners. */
async function shutdown(client: SSMClient, forwards: Forward[]): Promise<void> {
  const endings: Array<Promise<unknown>> = [];
  for (const { pool, listening } of forwards) {
    endings.push(listening.close());
    for (const member of pool) {
      endings.push(endSession(client, member.sessionId, member.session, member.agentVersion).then(() => member.tunnel?.end()));
    }
  }
  await Promise.all(endings);
}
