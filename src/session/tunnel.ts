import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { SmuxSession } from '../channel/smux-session.js';
import { FlagValue, PayloadType } from '../protocol/constants.js';
import { field } from '../protocol/json.js';
import { decodeFlag, encodeFlag, type ChannelClosed } from '../protocol/payloads.js';
import { AgentGates, isVersionGreater } from '../protocol/version.js';
import type { DataChannelSession, SessionReady } from './data-channel-session.js';
import type { TimerHandle } from '../channel/timers.js';
import { SessionError } from './errors.js';
import { ChannelDuplex, ReceiveBudget, SessionWriter } from './session-io.js';

export type PortMode = 'multiplexed' | 'basic' | 'stream';

/** The client's side of the agent's choice (docs/protocol.md §8): same inputs, same answer. */
export function portMode(ready: SessionReady): PortMode {
  if (field(ready.properties, 'type') !== 'LocalPortForwarding') return 'stream';
  return isVersionGreater(ready.agentVersion, AgentGates.multiplexedPortForwarding) ? 'multiplexed' : 'basic';
}

export { RECEIVE_BUDGET } from './session-io.js';

export interface TunnelEvents {
  /** The agent could not reach the destination for one connection; the tunnel goes on. */
  'connect-error': [];
  /** The service closed the session (channel_closed). */
  closed: [closed: ChannelClosed];
  error: [error: SessionError];
}

/** What a mode works with: the session, its one writer and its one receive budget. */
interface ModeParts {
  session: DataChannelSession;
  writer: SessionWriter;
  budget: ReceiveBudget;
  fail(error: SessionError): void;
}

/** How local connections ride the session: one smux stream each, or one at a time. */
interface Mode {
  attach(socket: Socket): void;
  /** An Output payload from the agent. */
  output(payload: Buffer): void;
  end(): void;
}

/**
 * A port forwarding session serving local connections. Its mode (multiplexed or basic) follows
 * the agent's version; both share the session's writer and receive budget.
 */
export class Tunnel extends EventEmitter<TunnelEvents> {
  private readonly sockets = new Set<Socket>();
  private readonly mode: Mode;
  private carriedData = false;

  constructor(
    private readonly session: DataChannelSession,
    ready: SessionReady,
  ) {
    super();
    const kind = portMode(ready);
    if (kind === 'stream') throw new SessionError('PROTOCOL', 'this session streams to stdin/stdout (ssh); it is not a port tunnel');
    const parts: ModeParts = {
      session,
      writer: new SessionWriter(session),
      budget: new ReceiveBudget(session),
      fail: (error) => session.abort(error),
    };
    this.mode = kind === 'multiplexed' ? new MultiplexedMode(parts, { keepAlive: !isVersionGreater(ready.agentVersion, AgentGates.smuxKeepAliveDisabled) }) : new BasicMode(parts);
    session.on('output', (payloadType, payload) => {
      if (payloadType === PayloadType.Output) {
        this.carriedData = true;
        this.mode.output(payload);
      }
      else if (payloadType === PayloadType.Flag && decodeFlag(payload) === FlagValue.ConnectToPortError) this.emit('connect-error');
    });
    session.once('closed', (closed) => {
      this.destroyAll();
      this.emit('closed', closed);
    });
    session.once('error', (error) => {
      this.destroyAll();
      this.emit('error', error);
    });
  }

  /** Whether the agent sent any data through the tunnel (a session that carried nothing counts as failed). */
  get carried(): boolean {
    return this.carriedData;
  }

  /** Local connections this tunnel serves or holds: the pool sends new ones to the least loaded. */
  get load(): number {
    return this.sockets.size;
  }

  attach(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
    this.mode.attach(socket);
  }

  end(): void {
    this.destroyAll();
    this.session.end();
  }

  private destroyAll(): void {
    this.mode.end();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** Joins a local socket to its view of the session, both ways, until either goes. */
function join(socket: Socket, stream: ChannelDuplex): void {
  // The socket's EOF ends the stream's writing side; the agent's end ends the socket's.
  socket.pipe(stream);
  stream.pipe(socket);
  socket.once('close', () => stream.destroy());
}

/** Multiplexed mode: one smux stream per local connection, all over this one session. */
/** smux keep-alive, where the agent runs it: a NOP every 10 s, the session dropped after 30 s of silence. */
const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 30_000;

class MultiplexedMode implements Mode {
  private readonly smux = new SmuxSession('client', { streaming: true });
  private readonly streams = new Map<number, ChannelDuplex>();
  private keepAliveTimer: TimerHandle | undefined;
  private lastReceived: number;

  constructor(
    private readonly parts: ModeParts,
    options: { keepAlive: boolean },
  ) {
    const timers = parts.session.timers;
    this.lastReceived = timers.now();
    parts.session.setProbe(PayloadType.Output, () => this.smux.nop());
    if (options.keepAlive) {
      const check = () => {
        this.keepAliveTimer = timers.setTimeout(check, KEEPALIVE_INTERVAL_MS);
        // Silence while ssmx has stopped reading is its own backpressure, not the agent's silence
        // (smux session.go keepalive: "session should not be closed" while the bucket is empty).
        if (parts.session.isReceivePaused) this.lastReceived = timers.now();
        if (timers.now() - this.lastReceived > KEEPALIVE_TIMEOUT_MS) return parts.fail(new SessionError('CONNECTION_LOST', 'smux keep-alive: nothing from the agent for 30 s'));
        parts.writer.write(PayloadType.Output, this.smux.nop());
      };
      this.keepAliveTimer = timers.setTimeout(check, KEEPALIVE_INTERVAL_MS);
    }
  }

  attach(socket: Socket): void {
    const { writer, budget } = this.parts;
    const { streamId, bytes } = this.smux.openStream();
    writer.write(PayloadType.Output, bytes);
    const stream = new ChannelDuplex({
      send: (data, done) => writer.writeAll(PayloadType.Output, this.smux.write(streamId, data), done),
      // smux v1 has no half-close: the local end's EOF closes the stream; replies already on the
      // way still reach the socket, which closes when the agent's FIN comes back.
      finish: (done) => {
        this.closeStream(streamId);
        done();
      },
      budget,
    });
    this.streams.set(streamId, stream);
    stream.once('close', () => {
      this.streams.delete(streamId);
      this.closeStream(streamId);
    });
    join(socket, stream);
  }

  output(payload: Buffer): void {
    this.lastReceived = this.parts.session.timers.now();
    for (const event of this.smux.receive(payload)) {
      switch (event.kind) {
        case 'data':
          this.streams.get(event.streamId)?.deliver(event.data);
          break;
        case 'close':
          this.streams.get(event.streamId)?.deliverEnd();
          break;
        case 'error':
          this.parts.fail(new SessionError('PROTOCOL', `the agent's smux stream is broken: ${event.error.message}`));
          return;
        default:
          break;
      }
    }
  }

  end(): void {
    this.parts.session.timers.clearTimeout(this.keepAliveTimer);
    for (const stream of this.streams.values()) stream.destroy();
  }

  private closeStream(streamId: number): void {
    if (!this.parts.session.isReady) return;
    const fin = this.smux.close(streamId);
    if (fin) this.parts.writer.write(PayloadType.Output, fin);
  }
}

/**
 * Basic mode (older agents): one local connection at a time over the session's byte stream; the
 * next waits, unread, until the current one closes and the agent has been told (DisconnectToPort).
 */
class BasicMode implements Mode {
  private active: ChannelDuplex | undefined;
  private readonly waiting: Socket[] = [];
  /** What the destination sent while no local connection was there to take it (a server's greeting). */
  private early: Buffer[] = [];
  private earlyBytes = 0;

  constructor(private readonly parts: ModeParts) {
    parts.budget.hold(() => this.earlyBytes);
  }

  attach(socket: Socket): void {
    if (!this.active) return this.serve(socket);
    socket.pause();
    this.waiting.push(socket);
    socket.once('close', () => {
      const index = this.waiting.indexOf(socket);
      if (index >= 0) this.waiting.splice(index, 1);
    });
  }

  output(payload: Buffer): void {
    if (this.active) return this.active.deliver(payload);
    this.early.push(payload);
    this.earlyBytes += payload.length;
    this.parts.budget.check();
  }

  end(): void {
    this.active?.destroy();
  }

  private serve(socket: Socket): void {
    const { session, writer, budget } = this.parts;
    const stream = new ChannelDuplex({ send: (data, done) => writer.write(PayloadType.Output, data, done), budget });
    this.active = stream;
    for (const data of this.early.splice(0)) stream.deliver(data);
    this.earlyBytes = 0;
    // The local end's EOF closes the connection: the agent hears of it only as a whole (DisconnectToPort).
    socket.once('end', () => socket.end());
    socket.once('close', () => {
      if (this.active !== stream) return;
      this.active = undefined;
      if (session.isReady) session.send(PayloadType.Flag, encodeFlag(FlagValue.DisconnectToPort));
      const next = this.waiting.shift();
      if (next) this.serve(next);
    });
    join(socket, stream);
    socket.resume();
  }
}

export function createTunnel(session: DataChannelSession, ready: SessionReady): Tunnel {
  return new Tunnel(session, ready);
}
