import { EventEmitter } from 'node:events';
import type { DataChannelSession } from '../session/data-channel-session.js';
import { UsageError } from '../errors.js';
import { LibraryClient } from './client.js';
import { checkDistinctLocals, ListenerForward, portDocument } from './forward.js';
import { DEFAULT_SESSIONS } from './names.js';
import { startDataChannel } from './open.js';
import { portSpecOf, type PortSpec } from './port-spec.js';
import { agentCommandLine, refuseWindows, startRunSession } from './run.js';
import type { OpenedChannel } from './session.js';
import type { ConnectOptions, Forward, ForwardedListener, ForwardEvents, ForwardOptions, RunOptions, SessionOptions } from './types.js';

/**
 * How the library's calls reach their sessions, loaded when the first of them opens one (so that
 * importing the library loads no AWS client, WebSocket or listener code).
 */
export { LibraryClient } from './client.js';

/** A shell or command session: the target resolved, StartSession with the document, the data channel. */
export async function openSessionChannel(client: LibraryClient, options: SessionOptions, started: (sessionId: string) => void): Promise<OpenedChannel> {
  const instanceId = await client.resolve(options.target);
  const input = { target: instanceId, documentName: options.document, parameters: options.parameters, reason: options.reason };
  return startDataChannel(input, client.connect, (session) => started(session.sessionId));
}

/** A command's session, as `ssmx run` starts it: SSMX-RunCommand, or the combined fallback. */
export async function openRunChannel(client: LibraryClient, options: RunOptions, started: (sessionId: string) => void, onCombined: () => void): Promise<OpenedChannel> {
  const words = typeof options.command === 'string' ? [options.command] : options.command;
  if (words.length === 0 || words.every((word) => word === '')) throw new UsageError('no command given', "run({ target, command: 'uname -a' })");
  const instanceId = await client.resolve(options.target);
  await refuseWindows(client.ssm, instanceId, options.target);
  const parameters = { command: [agentCommandLine(words)] };
  const { opened } = await startRunSession(
    (documentName) => startDataChannel({ target: instanceId, documentName, parameters, reason: options.reason }, client.connect, (session) => started(session.sessionId)),
    onCombined,
  );
  return opened;
}

/** A port forwarding session to one destination, for one connection. */
export async function openPortChannel(client: LibraryClient, options: ConnectOptions, started: (sessionId: string) => void): Promise<DataChannelSession> {
  const instanceId = await client.resolve(options.target);
  const { documentName, parameters } = portDocument({ host: options.host, port: options.port }, 0);
  const { session } = await startDataChannel({ target: instanceId, documentName, parameters, reason: options.reason }, client.connect, (opened) => started(opened.sessionId));
  return session;
}

/** The listeners of one forward() and their pools: what src/lib/types.ts calls a Forward. */
class ForwardGroup extends EventEmitter<ForwardEvents> implements Forward {
  readonly listening: ForwardedListener[] = [];
  private readonly forwards: ListenerForward[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly client: LibraryClient) {
    super();
  }

  add(forward: ListenerForward, spec: PortSpec, instanceId: string): void {
    this.forwards.push(forward);
    const listener: ForwardedListener = {
      spec: spec.text,
      address: forward.listening.address,
      port: forward.listening.port ?? null,
      socketPath: spec.local.kind === 'unix' ? spec.local.path : null,
      instanceId,
      remoteHost: spec.remoteHost ?? null,
      remotePort: spec.remotePort,
      mode: forward.mode === 'multiplexed' ? 'multiplexed' : 'basic',
      get sessionIds() {
        return forward.sessionIds;
      },
    };
    this.listening.push(listener);
    forward.on('connect-error', () => this.emit('connect-error', listener));
    forward.on('replacing', (sessionId, reason) => this.emit('replacing', listener, sessionId, reason));
    forward.on('replaced', (sessionId, replaced) => this.emit('replaced', listener, sessionId, replaced));
    forward.on('error', (error) => this.emit('error', error));
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(this.forwards.map((forward) => forward.close())).then(() => this.client.destroy());
    return this.closing;
  }
}

/** Listeners for every spec, each with its pool of sessions, as `ssmx forward` starts them. */
export async function startForward(client: LibraryClient, options: ForwardOptions): Promise<Forward> {
  const specs = options.specs.map(portSpecOf);
  if (specs.length === 0) throw new UsageError('no port spec given', "forward({ target, specs: ['0:5432'] })");
  checkDistinctLocals(specs);
  const bind = options.bind ?? '127.0.0.1';
  const group = new ForwardGroup(client);
  try {
    const instanceId = await client.resolve(options.target);
    for (const spec of specs) {
      const local = spec.local.kind === 'tcp' ? { kind: 'tcp' as const, host: spec.bind ?? bind, port: spec.local.port } : spec.local;
      const forward = await ListenerForward.start({
        spec,
        local,
        instanceId,
        target: options.target,
        sessions: options.sessions ?? DEFAULT_SESSIONS,
        reason: options.reason,
        open: (input) => startDataChannel(input, client.connect),
        now: Date.now,
      });
      group.add(forward, spec, instanceId);
    }
    return group;
  } catch (error) {
    await group.close();
    throw error;
  }
}
