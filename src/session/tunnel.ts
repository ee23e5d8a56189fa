import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { SmuxSession } from '../channel/smux-session.js';
import { FlagValue, PayloadType, StreamDataPayloadSize } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { field } from '../protocol/json.js';
import { decodeFlag, encodeFlag } from '../protocol/payloads.js';
import { AgentGates, isVersionGreater } from '../protocol/version.js';
import type { DataChannelSession, SessionReady } from './data-channel-session.js';
import { SessionError } from './errors.js';

export type PortMode = 'multiplexed' | 'basic' | 'stream';

/** The client's side of the agent's choice (docs/protocol.md §8): same inputs, same answer. */
export function portMode(ready: SessionReady): PortMode {
  if (field(ready.properties, 'type') !== 'LocalPortForwarding') return 'stream';
  return isVersionGreater(ready.agentVersion, AgentGates.multiplexedPortForwarding) ? 'multiplexed' : 'basic';
}

/**
 * Bytes written to local sockets but not yet taken by them, beyond which ssmx stops reading the
 * data channel: smux's own session receive buffer (docs/protocol.md §8), so memory stays bounded whatever the
 * local readers do.
 */
export const RECEIVE_BUDGET = 4 * 1024 * 1024;

/**
 * What a tunnel tells its owner: `connect-error` (the agent could not reach the destination for
 * one connection; the tunnel goes on), `closed` (channel_closed), `error`.
 */
export abstract class Tunnel extends EventEmitter {
  protected readonly sockets = new Set<Socket>();
  private localPaused = false;
  private receivePaused = false;

  constructor(protected readonly session: DataChannelSession) {
    super();
    session.on('output', (payloadType: number, payload: Buffer) => this.onOutput(payloadType, payload));
    session.on('writable', () => this.resumeLocal());
    session.once('closed', (closed) => {
      this.destroyAll();
      this.emit('closed', closed);
    });
    session.once('error', (error: SessionError) => {
      this.destroyAll();
      this.emit('error', error);
    });
  }

  /** Local connections this tunnel serves or holds: the pool sends new ones to the least loaded. */
  get load(): number {
    return this.sockets.size;
  }

  abstract attach(socket: Socket): void;

  end(): void {
    this.destroyAll();
    this.session.end();
  }

  protected abstract onOutput(payloadType: number, payload: Buffer): void;

  /** Sends a byte stream as Output messages of at most 1,024 bytes (docs/protocol.md §7, §8). */
  protected sendBytes(data: Buffer): void {
    for (let offset = 0; offset < data.length; offset += StreamDataPayloadSize) {
      this.session.send(PayloadType.Output, data.subarray(offset, offset + StreamDataPayloadSize));
    }
    if (!this.session.canSend) this.pauseLocal();
  }

  /** Writes to a local socket and stops reading the channel when local sockets hold too much. */
  protected writeLocal(socket: Socket, data: Buffer): void {
    if (socket.destroyed) return;
    socket.write(data);
    this.checkReceiveBudget();
  }

  protected checkReceiveBudget(): void {
    if (!this.receivePaused && this.unflushed() > RECEIVE_BUDGET) {
      this.receivePaused = true;
      this.session.pauseReceiving();
    }
  }

  protected maybeResumeReceiving(): void {
    if (this.receivePaused && this.unflushed() <= RECEIVE_BUDGET / 2) {
      this.receivePaused = false;
      this.session.resumeReceiving();
    }
  }

  protected track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('drain', () => this.maybeResumeReceiving());
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.localPaused) socket.pause();
  }

  /** Bytes a tunnel holds for no socket yet; counted against the same budget. */
  protected heldBytes = 0;

  protected unflushed(): number {
    let total = this.heldBytes;
    for (const socket of this.sockets) total += socket.writableLength;
    return total;
  }

  private pauseLocal(): void {
    if (this.localPaused) return;
    this.localPaused = true;
    for (const socket of this.sockets) socket.pause();
  }

  private resumeLocal(): void {
    if (!this.localPaused) return;
    this.localPaused = false;
    for (const socket of this.sockets) if (this.mayRead(socket)) socket.resume();
  }

  /** Whether a socket should read when the window opens (basic mode holds waiting ones). */
  protected mayRead(_socket: Socket): boolean {
    return true;
  }

  protected destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  protected onFlag(payload: Buffer): void {
    const flag = decodeFlag(payload);
    if (flag === FlagValue.ConnectToPortError) this.emit('connect-error');
  }
}

/** Multiplexed mode: one smux stream per local connection, all over this one session. */
export class MultiplexedTunnel extends Tunnel {
  private readonly smux = new SmuxSession('client');
  private readonly streams = new Map<number, Socket>();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private lastReceived = Date.now();

  constructor(session: DataChannelSession, options: { keepAlive: boolean }) {
    super(session);
    session.setProbe(PayloadType.Output, () => this.smux.nop());
    if (options.keepAlive) {
      // Older agents run smux keep-alive: a NOP every 10 s, the session dropped after 30 s of silence.
      this.keepAliveTimer = setInterval(() => {
        if (Date.now() - this.lastReceived > 30_000) {
          this.session.abort(new SessionError('CONNECTION_LOST', 'smux keep-alive: nothing from the agent for 30 s'));
          return;
        }
        this.sendBytes(this.smux.nop());
      }, 10_000);
      this.keepAliveTimer.unref();
      session.once('closed', () => clearInterval(this.keepAliveTimer));
      session.once('error', () => clearInterval(this.keepAliveTimer));
    }
  }

  attach(socket: Socket): void {
    const { streamId, bytes } = this.smux.openStream();
    this.streams.set(streamId, socket);
    this.track(socket);
    this.sendBytes(bytes);
    socket.on('data', (data: Buffer) => {
      for (const frame of this.smux.write(streamId, data)) this.sendBytes(frame);
    });
    // smux v1 has no half-close: the local end's EOF closes the stream; replies already on the
    // way still reach the socket, which closes when the agent's FIN comes back.
    socket.once('end', () => this.closeStream(streamId));
    socket.once('close', () => {
      this.streams.delete(streamId);
      this.closeStream(streamId);
    });
  }

  override end(): void {
    clearInterval(this.keepAliveTimer);
    super.end();
  }

  private closeStream(streamId: number): void {
    if (!this.session.isReady) return;
    const fin = this.smux.close(streamId);
    if (fin) this.sendBytes(fin);
  }

  protected onOutput(payloadType: number, payload: Buffer): void {
    this.lastReceived = Date.now();
    if (payloadType === PayloadType.Flag) return this.onFlag(payload);
    if (payloadType !== PayloadType.Output) return;
    for (const event of this.smux.receive(payload)) {
      switch (event.kind) {
        case 'data': {
          const socket = this.streams.get(event.streamId);
          if (socket) this.writeLocal(socket, event.data);
          break;
        }
        case 'close': {
          const socket = this.streams.get(event.streamId);
          socket?.end();
          break;
        }
        case 'error':
          this.session.abort(new SessionError('PROTOCOL', `the agent's smux stream is broken: ${event.error.message}`));
          return;
        default:
          break;
      }
    }
  }
}

/**
 * Basic mode (older agents): one local connection at a time over the session's byte stream; the
 * next waits, unread, until the current one closes and the agent has been told (DisconnectToPort).
 */
export class BasicTunnel extends Tunnel {
  private active: Socket | undefined;
  private readonly waiting: Socket[] = [];
  /** What the destination sent while no local connection was there to take it (a server's greeting). */
  private readonly early: Buffer[] = [];

  attach(socket: Socket): void {
    this.track(socket);
    if (this.active) {
      socket.pause();
      this.waiting.push(socket);
      socket.once('close', () => {
        const index = this.waiting.indexOf(socket);
        if (index >= 0) this.waiting.splice(index, 1);
      });
      return;
    }
    this.serve(socket);
  }

  protected override mayRead(socket: Socket): boolean {
    return socket === this.active;
  }

  private serve(socket: Socket): void {
    this.active = socket;
    this.heldBytes = 0;
    for (const data of this.early.splice(0)) this.writeLocal(socket, data);
    this.maybeResumeReceiving();
    socket.on('data', (data: Buffer) => this.sendBytes(data));
    socket.once('close', () => {
      if (this.active !== socket) return;
      this.active = undefined;
      if (this.session.isReady) this.session.send(PayloadType.Flag, encodeFlag(FlagValue.DisconnectToPort));
      const next = this.waiting.shift();
      if (next) {
        this.serve(next);
        next.resume();
      }
    });
    socket.once('end', () => socket.end());
    socket.resume();
  }

  protected onOutput(payloadType: number, payload: Buffer): void {
    if (payloadType === PayloadType.Flag) return this.onFlag(payload);
    if (payloadType !== PayloadType.Output) return;
    if (this.active) {
      this.writeLocal(this.active, payload);
    } else {
      this.early.push(payload);
      this.heldBytes += payload.length;
      this.checkReceiveBudget();
    }
  }
}

export function createTunnel(session: DataChannelSession, ready: SessionReady): Tunnel {
  const mode = portMode(ready);
  if (mode === 'multiplexed') {
    const keepAlive = !isVersionGreater(ready.agentVersion, AgentGates.smuxKeepAliveDisabled);
    return new MultiplexedTunnel(session, { keepAlive });
  }
  if (mode === 'basic') return new BasicTunnel(session);
  throw new ProtocolError('BAD_PAYLOAD', 'this session streams to stdin/stdout (ssh); it is not a port tunnel');
}
