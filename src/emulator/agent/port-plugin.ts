import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import { SmuxSession } from '../../channel/smux-session.js';
import { FlagValue, PayloadType, streamPayloads } from '../../protocol/constants.js';
import { encodeFlag } from '../../protocol/payloads.js';
import type { AgentPlugin, PluginHost } from './plugin.js';

export interface PortOptions {
  /** Host from the document (ToRemoteHost); the instance itself when empty. */
  host: string;
  port: number;
  /** `LocalPortForwarding`, or undefined for a stream session such as AWS-StartSSHSession. */
  type: string | undefined;
  multiplexed: boolean;
  /** smux keep-alive: a NOP every 10 s, the session dropped after 30 s without a frame. */
  keepAlive: boolean;
}

const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 30_000;

/**
 * The destinations the agent refuses by default (appconfig/constants.go, the default of
 * Mgs.DeniedPortForwardingRemoteIPs: the instance metadata, DNS, time and other link-local
 * services of EC2, in IPv4 and IPv6). The agent also refuses the reserved addresses of the
 * instance's VPC, which it reads from the metadata service; the emulator has no VPC.
 */
export const DENIED_DESTINATIONS = ['169.254.169.254', 'fd00:ec2::254', '169.254.169.253', 'fd00:ec2::253', '169.254.169.123', 'fd00:ec2::123', '169.254.169.250', '169.254.169.251', 'fd00:ec2::240'];

/**
 * Why the agent refuses a destination before the session starts, or undefined (port.go
 * `validateParameters`): the host (localhost when empty) is resolved and any of its addresses on the
 * deny list refuses it, in the agent's words, naming the host as given. A name that does not resolve
 * is not refused here: its dial fails later.
 */
export async function refusedDestination(host: string): Promise<string | undefined> {
  const name = host || 'localhost';
  let addresses: string[];
  try {
    addresses = isIP(name) ? [name] : (await lookup(name, { all: true })).map((found) => found.address);
  } catch {
    return undefined;
  }
  return addresses.some((address) => DENIED_DESTINATIONS.includes(address.toLowerCase())) ? `Forwarding to IP address ${host} is forbidden.` : undefined;
}

/**
 * The emulator only ever connects on this machine: a destination that does not resolve to a
 * loopback address is treated as unreachable, so no test can send traffic anywhere else.
 */
async function dialLoopback(host: string, port: number): Promise<Socket> {
  const name = host || 'localhost';
  const { address } = isIP(name) ? { address: name } : await lookup(name);
  if (!/^127\./.test(address) && address !== '::1') {
    throw new Error(`dial tcp ${name}:${port}: the emulator connects only to loopback addresses`);
  }
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * The end of a multiplexed stream's input closes its destination connection outright, once what
 * was written to it is out: the agent copies the stream into the connection until EOF and then
 * closes the connection (agent port_mux.go, handleDataTransfer: io.Copy, then dst.Close()); its
 * other copy then fails to read and closes the stream. So a client's half-close is a close: no
 * reply the destination sends after it reaches the client.
 */
function closeAfterWrites(socket: Socket): void {
  socket.end();
  socket.once('finish', () => socket.destroy());
  // A destination that reads nothing more would hold the close for ever: the agent's Close does not wait.
  setTimeout(() => socket.destroy(), CLOSE_WRITES_WAIT_MS).unref();
}

/** How long a stopping Port plugin lets a destination take what was written to it. */
const CLOSE_WRITES_WAIT_MS = 2000;

/** Emits a byte stream as Output messages of at most 1,024 bytes, as the agent's reads cut it. */
function emitChunks(host: PluginHost, data: Buffer): void {
  for (const payload of streamPayloads(data)) host.output(PayloadType.Output, payload);
}

/** The agent's Port plugin: basic (one destination connection) or multiplexed (smux server). */
export class PortPlugin implements AgentPlugin {
  private readonly smux: SmuxSession | undefined;
  /** Multiplexed mode: each stream's destination, and what arrived for it before the dial completed. */
  private readonly connections = new Map<number, { socket?: Socket; pending: Buffer[]; ended: boolean }>();
  /** Basic mode: the one destination connection, and whether the next data must redial it. */
  private basic: Socket | undefined;
  private basicDialing: Promise<Socket | undefined> | undefined;
  /** A stream session's destination has closed: the session is ending. */
  private destinationClosed = false;
  /** The client's DisconnectToPort closed a stream session's destination under the agent's read. */
  private disconnectedByClient = false;
  private paused = false;
  private stopped = false;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private lastReceived = Date.now();

  constructor(
    private readonly host: PluginHost,
    private readonly options: PortOptions,
  ) {
    this.smux = options.multiplexed ? new SmuxSession('server') : undefined;
  }

  start(): void {
    // The agent checks the destination first, whatever the mode: a refused one fails the session
    // (port.go initializeParameters; the result Failed, that text its output).
    void refusedDestination(this.options.host).then((refusal) => {
      if (this.stopped) return;
      if (refusal) return this.host.done(refusal, 'Failed');
      this.begin();
    });
  }

  /** Client data that came while the destination was being checked: taken once the plugin has begun. */
  private beforeBegin: Buffer[] | undefined = [];

  private begin(): void {
    const early = this.beforeBegin ?? [];
    this.beforeBegin = undefined;
    this.beginMode();
    for (const payload of early) if (this.input(payload)) this.host.inputDrained();
  }

  private beginMode(): void {
    if (this.smux) {
      if (this.options.keepAlive) this.startKeepAlive();
      return;
    }
    // Basic mode dials at once; a failure ends the session with the reason.
    this.basicDialing = this.dialBasic();
    void this.basicDialing.then((socket) => {
      if (!socket) this.host.done(`Unable to connect to specified port: ${this.lastDialError}`, 'Failed');
    });
  }

  input(payload: Buffer): boolean {
    if (this.beforeBegin) {
      // The agent reads no client data before its plugin has started: hold it, and stop reading.
      this.beforeBegin.push(payload);
      return false;
    }
    this.lastReceived = Date.now();
    if (this.smux) return this.inputMux(payload);
    return this.inputBasic(payload);
  }

  resize(): void {}

  flag(value: number): void {
    if (value === FlagValue.TerminateSession) {
      // The agent cancels the session at once (agent port_mux.go / port_basic.go: cancelled <- …):
      // "Session cancelled. Attempting to close TCP Connection.", the result Success. Its writes
      // to the destination had returned before it read the flag, so what they sent arrives.
      this.stop();
      this.host.terminate();
    } else if (value === FlagValue.DisconnectToPort && !this.smux) {
      // The agent's writes to the destination block, so when it reads this flag everything sent
      // before it has reached the destination's socket; only then does it close the connection.
      const socket = this.basic;
      if (socket) closeAfterWrites(socket);
      // A stream session (ssh) ends when that close fails the agent's read, which is not EOF:
      // "Failed to read from port: use of closed network connection", the result Failed (agent
      // port_basic.go: Stop, then handleSSHDPortError). Port forwarding dials again on the
      // client's next data.
      if (this.options.type === 'LocalPortForwarding') this.basic = undefined;
      else this.disconnectedByClient = true;
    }
  }

  pause(): void {
    this.paused = true;
    this.basic?.pause();
    for (const { socket } of this.connections.values()) socket?.pause();
  }

  resume(): void {
    this.paused = false;
    this.basic?.resume();
    for (const { socket } of this.connections.values()) socket?.resume();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.keepAliveTimer);
    // The agent's writes block, so when it stops what it had written has reached the destination;
    // the emulator's queued writes stand for those, and go before the close.
    if (this.basic) closeAfterWrites(this.basic);
    for (const { socket } of this.connections.values()) if (socket) closeAfterWrites(socket);
    this.connections.clear();
  }

  // --- basic ----------------------------------------------------------------------------------

  private lastDialError = '';

  private async dialBasic(): Promise<Socket | undefined> {
    try {
      const socket = await dialLoopback(this.options.host, this.options.port);
      if (this.stopped) {
        socket.destroy();
        return undefined;
      }
      this.basic = socket;
      if (this.paused) socket.pause();
      socket.on('data', (data: Buffer) => emitChunks(this.host, data));
      socket.on('drain', () => this.host.inputDrained());
      socket.on('close', () => {
        if (this.basic !== socket) return;
        this.basic = undefined;
        // A stream session (ssh) ends with its destination; port forwarding waits for new data.
        if (this.options.type !== 'LocalPortForwarding') {
          this.destinationClosed = true;
          // sshd closing its end is EOF: "TCP Connection was closed.", Success (handleSSHDPortError).
          if (!this.stopped) this.host.done('', this.disconnectedByClient ? 'Failed' : 'Success');
        }
      });
      socket.on('error', () => undefined);
      return socket;
    } catch (error) {
      this.lastDialError = (error as Error).message;
      return undefined;
    } finally {
      this.basicDialing = undefined;
    }
  }

  private inputBasic(payload: Buffer): boolean {
    if (this.basic) return this.basic.write(payload);
    // A stream session's destination is never dialled again: the agent's write to the closed
    // connection fails and the message is dropped (port_basic.go, HandleStreamMessage dials again
    // only when reconnectToPort is set, and only handlePortError, for port forwarding, sets it).
    if (this.destinationClosed) return true;
    // After a disconnect the agent dials again only when the client's next data arrives.
    const dialing = this.basicDialing ?? (this.basicDialing = this.dialBasic());
    void dialing.then((socket) => {
      if (!socket) return;
      if (socket.write(payload)) this.host.inputDrained();
    });
    return false;
  }

  // --- multiplexed ----------------------------------------------------------------------------

  private inputMux(payload: Buffer): boolean {
    const smux = this.smux!;
    let writable = true;
    for (const event of smux.receive(payload)) {
      switch (event.kind) {
        case 'open':
          this.openStream(event.streamId);
          break;
        case 'data': {
          const connection = this.connections.get(event.streamId);
          if (!connection) break;
          if (!connection.socket) connection.pending.push(event.data);
          else if (!connection.socket.write(event.data)) writable = false;
          break;
        }
        case 'close': {
          const connection = this.connections.get(event.streamId);
          if (connection?.socket) closeAfterWrites(connection.socket);
          else if (connection) connection.ended = true;
          break;
        }
        case 'nop':
          break;
        case 'error':
          this.stop();
          this.host.done(`smux: ${event.error.message}`);
          return true;
      }
    }
    return writable;
  }

  private openStream(streamId: number): void {
    const smux = this.smux!;
    // Data may follow the SYN before the dial completes; it waits, as the agent's stream buffers it.
    const connection: { socket?: Socket; pending: Buffer[]; ended: boolean } = { pending: [], ended: false };
    this.connections.set(streamId, connection);
    dialLoopback(this.options.host, this.options.port).then(
      (socket) => {
        if (this.stopped || this.connections.get(streamId) !== connection) {
          socket.destroy();
          return;
        }
        connection.socket = socket;
        if (this.paused) socket.pause();
        for (const data of connection.pending.splice(0)) socket.write(data);
        if (connection.ended) closeAfterWrites(socket);
        socket.on('data', (data: Buffer) => {
          for (const frame of smux.write(streamId, data)) emitChunks(this.host, frame);
        });
        socket.on('drain', () => this.host.inputDrained());
        socket.on('close', () => {
          this.connections.delete(streamId);
          const fin = smux.close(streamId);
          if (fin) emitChunks(this.host, fin);
        });
        socket.on('error', () => undefined);
      },
      () => {
        this.connections.delete(streamId);
        // The agent tells the client outside smux, then closes the stream (agent port_mux.go).
        this.host.output(PayloadType.Flag, encodeFlag(FlagValue.ConnectToPortError));
        const fin = smux.close(streamId);
        if (fin) emitChunks(this.host, fin);
      },
    );
  }

  private startKeepAlive(): void {
    this.keepAliveTimer = setInterval(() => {
      if (Date.now() - this.lastReceived > KEEPALIVE_TIMEOUT_MS) {
        this.stop();
        this.host.done('smux keep-alive timed out');
        return;
      }
      emitChunks(this.host, this.smux!.nop());
    }, KEEPALIVE_INTERVAL_MS);
    this.keepAliveTimer.unref();
  }
}
