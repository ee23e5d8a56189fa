import type { WebSocket } from 'ws';
import { ReliableChannel, type ChannelEvent } from '../../channel/reliable-channel.js';
import { ActionStatus, ActionType, MessageType, PayloadType, SessionType } from '../../protocol/constants.js';
import { ProtocolError } from '../../protocol/errors.js';
import { encodeAgentMessage } from '../../protocol/message.js';
import {
  decodeFlag,
  decodeHandshakeResponse,
  decodeSize,
  encodeChannelClosed,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
} from '../../protocol/payloads.js';
import { newMessageId } from '../../protocol/uuid.js';
import type { EmulatorConfig } from '../config.js';
import type { SessionRecord } from '../sessions.js';
import type { AgentPlugin, PluginHost } from './plugin.js';
import { ExecPlugin } from './exec-plugin.js';
import { ShellPlugin } from './shell-plugin.js';
import { PortPlugin, type PortOptions } from './port-plugin.js';
import { AgentGates, ClientGates, compareVersions, isVersionGreater } from '../../protocol/version.js';

/** The agent waits this long for the HandshakeResponse (agent: handshakeTimeout). */
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** Output queued beyond this many messages pauses the plugin's source. */
const QUEUE_HIGH_WATER = 64;
/** How long the agent waits for its buffer to drain before it reports termination. */
const CLOSE_DRAIN_TIMEOUT_MS = 5_000;
/** The real agent's outgoing buffer holds this many unacknowledged messages. */
const AGENT_WINDOW = 10_000;
/**
 * The real agent writes to its WebSocket synchronously: when the client stops reading, the write
 * blocks and so does everything behind it. The emulator stops sending past this much unflushed.
 */
const SOCKET_HIGH_WATER = 256 * 1024;

/** The session types for which the agent opens with a handshake when KMS is off (CLIENT.md §6.1). */
function needsHandshake(sessionType: string): boolean {
  return sessionType === SessionType.Port || sessionType === SessionType.NonInteractiveCommands;
}

/**
 * The agent's side of one session: it outlives any one WebSocket (a client may resume), keeps
 * the reliable channel, paces output as the real agent does, and runs the document's plugin.
 */
export class AgentSession implements PluginHost {
  private readonly channel = new ReliableChannel({
    sendType: MessageType.OutputStreamData,
    synOnFirstMessage: true,
    windowSize: AGENT_WINDOW,
    acknowledgeDuplicates: false,
  });
  private socket: WebSocket | undefined;
  private readonly queue: Array<{ payloadType: number; payload: Buffer }> = [];
  private plugin: AgentPlugin | undefined;
  private started = false;
  private handshake: 'none' | 'awaiting-response' | 'complete';
  private handshakeStartedAt = 0n;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private pluginPaused = false;
  private ending = false;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  /** What the client reported in its HandshakeResponse; the Port plugin's mode depends on it. */
  private clientVersion = '';
  private inputPaused = false;
  private closingOutput = '';

  constructor(
    private readonly record: SessionRecord,
    private readonly config: EmulatorConfig,
    private readonly onClosed: () => void,
  ) {
    this.handshake = needsHandshake(record.document.sessionType) ? 'awaiting-response' : 'none';
  }

  get agentVersion(): string {
    return this.record.target.agentVersion ?? this.config.agentVersion;
  }

  /** A client opened the data channel with a valid token. */
  attach(socket: WebSocket): void {
    if (this.socket && this.socket !== socket) this.socket.terminate();
    this.socket = socket;
    clearTimeout(this.idleTimer);
    socket.on('message', (data, isBinary) => {
      if (isBinary) this.apply(this.channel.receive(data as Buffer, Date.now()));
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (!this.closed) this.idleTimer = setTimeout(() => this.terminate(), this.config.idleTimeoutMs);
    });
    if (!this.started) {
      this.started = true;
      if (this.handshake === 'awaiting-response') this.sendHandshakeRequest();
      else this.startPlugin();
    } else {
      // A resumed connection: what the old one did not get acknowledged goes again.
      this.apply(this.channel.retransmitAll(Date.now()));
    }
    this.pump();
  }

  /** TerminateSession, or the idle timeout: stop the plugin and tell the client. */
  terminate(): void {
    if (this.closed) return;
    this.plugin?.stop();
    this.sendChannelClosed('');
  }

  // --- PluginHost ---------------------------------------------------------------------------

  output(payloadType: number, payload: Buffer): void {
    if (this.closed || payload.length === 0) return;
    this.queue.push({ payloadType, payload });
    if (this.queue.length >= QUEUE_HIGH_WATER && !this.pluginPaused) {
      this.pluginPaused = true;
      this.plugin?.pause();
    }
    this.pump();
  }

  done(output = ''): void {
    if (this.ending) return;
    this.ending = true;
    this.closingOutput = output;
    this.drainTimer = setTimeout(() => this.sendChannelClosed(output), CLOSE_DRAIN_TIMEOUT_MS);
    this.closeIfDrained();
  }

  inputDrained(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    this.socket?.resume();
  }

  /** After the plugin ends, the channel closes once every queued message is acknowledged. */
  private closeIfDrained(): void {
    if (this.ending && !this.closed && this.queue.length === 0 && this.channel.inFlight === 0) {
      this.sendChannelClosed(this.closingOutput);
    }
  }

  // --- internals ------------------------------------------------------------------------------

  private startPlugin(): void {
    const { document, parameters } = this.record;
    const properties = document.properties(parameters) as { linux?: { commands?: string; separateOutputStream?: boolean } };
    const commands = properties.linux?.commands ?? '';
    if (document.sessionType === SessionType.Port) {
      this.plugin = new PortPlugin(this, this.portOptions());
    } else if (document.sessionType === SessionType.NonInteractiveCommands) {
      this.plugin = new ExecPlugin(this, commands, properties.linux?.separateOutputStream === true);
    } else {
      this.plugin = new ShellPlugin(this, commands ? ['/bin/sh', '-c', commands] : this.config.shell);
    }
    this.plugin.start();
  }

  /** The agent picks the mode from the client's version and its own (agent port.go; SPEC §8). */
  private portOptions(): PortOptions {
    const properties = this.record.document.properties(this.record.parameters) as { host?: string; portNumber?: string; type?: string };
    const type = properties.type || undefined;
    const multiplexed =
      type === 'LocalPortForwarding' &&
      compareVersions(this.clientVersion, ClientGates.multiplexedPortForwarding) >= 0 &&
      isVersionGreater(this.agentVersion, AgentGates.multiplexedPortForwarding);
    const keepAlive = !(
      isVersionGreater(this.agentVersion, AgentGates.smuxKeepAliveDisabled) &&
      compareVersions(this.clientVersion, ClientGates.smuxKeepAliveDisabled) > 0
    );
    return { host: properties.host ?? '', port: Number(properties.portNumber), type, multiplexed, keepAlive };
  }

  private sendHandshakeRequest(): void {
    const { document, parameters } = this.record;
    this.handshakeStartedAt = process.hrtime.bigint();
    this.output(
      PayloadType.HandshakeRequest,
      encodeHandshakeRequest({
        agentVersion: this.agentVersion,
        requestedClientActions: [
          {
            actionType: ActionType.SessionType,
            actionParameters: { SessionType: document.sessionType, Properties: sortKeys(document.properties(parameters)) },
          },
        ],
      }),
    );
    this.handshakeTimer = setTimeout(() => this.sendChannelClosed('Handshake timed out waiting for the client.'), HANDSHAKE_TIMEOUT_MS);
  }

  private onHandshakeResponse(payload: Buffer): void {
    const response = decodeHandshakeResponse(payload);
    clearTimeout(this.handshakeTimer);
    if (response instanceof ProtocolError) {
      this.sendChannelClosed(`Handshake failed: ${response.message}`);
      return;
    }
    const failed = response.processedClientActions.find((action) => action.actionStatus !== ActionStatus.Success);
    if (failed || response.processedClientActions.length === 0) {
      // The agent treats any status but success as fatal (CLIENT.md §6.3).
      this.sendChannelClosed(`Handshake failed: ${failed?.error || 'the client processed no action'}`);
      return;
    }
    this.handshake = 'complete';
    this.clientVersion = response.clientVersion;
    const elapsed = Number(process.hrtime.bigint() - this.handshakeStartedAt);
    this.output(PayloadType.HandshakeComplete, encodeHandshakeComplete({ handshakeTimeToComplete: elapsed, customerMessage: '' }));
    this.startPlugin();
  }

  private apply(events: ChannelEvent[]): void {
    for (const event of events) {
      switch (event.kind) {
        case 'write':
          this.write(event.frame);
          break;
        case 'deliver':
          this.onClientData(event.message.payloadType, event.message.payload);
          break;
        case 'writable':
          this.pump();
          break;
        case 'failed':
          this.socket?.close(1011, event.error.message.slice(0, 120));
          break;
        case 'channel-closed':
          break;
      }
    }
    this.armRetransmit();
    this.closeIfDrained();
  }

  private onClientData(payloadType: number, payload: Buffer): void {
    if (this.handshake === 'awaiting-response') {
      // Until the handshake completes the agent acknowledges, then discards, other data.
      if (payloadType === PayloadType.HandshakeResponse) this.onHandshakeResponse(payload);
      return;
    }
    switch (payloadType) {
      case PayloadType.Output:
        if (this.plugin?.input(payload) === false && !this.inputPaused) {
          // The destination is full: stop reading the client, as the agent's blocked write does.
          this.inputPaused = true;
          this.socket?.pause();
        }
        break;
      case PayloadType.Size: {
        const size = decodeSize(payload);
        if (!(size instanceof ProtocolError)) this.plugin?.resize(size);
        break;
      }
      case PayloadType.Flag: {
        const flag = decodeFlag(payload);
        if (!(flag instanceof ProtocolError)) this.plugin?.flag(flag);
        break;
      }
      default:
        break;
    }
  }

  /** Sends queued output one message at a time, with the agent's 1 ms pause between messages. */
  private pump(): void {
    if (this.pumpScheduled || this.closed) return;
    while (this.socket && this.queue.length > 0 && this.channel.canSend && this.socket.bufferedAmount < SOCKET_HIGH_WATER) {
      const { payloadType, payload } = this.queue.shift()!;
      this.apply(this.channel.send(payloadType, payload, Date.now()));
      if (this.pluginPaused && this.queue.length < QUEUE_HIGH_WATER / 2) {
        this.pluginPaused = false;
        this.plugin?.resume();
      }
      if (this.config.agentPacing) {
        this.pumpScheduled = true;
        setTimeout(() => {
          this.pumpScheduled = false;
          this.pump();
        }, 1);
        return;
      }
    }
  }

  private armRetransmit(): void {
    if (this.retransmitTimer || this.closed) return;
    const deadline = this.channel.nextDeadline();
    if (deadline === undefined) return;
    this.retransmitTimer = setTimeout(() => {
      this.retransmitTimer = undefined;
      if (this.socket) this.apply(this.channel.tick(Date.now()));
      else this.armRetransmit();
    }, Math.max(1, deadline - Date.now()));
  }

  private write(frame: Buffer): void {
    const socket = this.socket;
    if (socket?.readyState !== 1) return;
    socket.send(frame, { binary: true }, () => {
      // A write has left: if the pump stopped on a full socket, it may go on.
      if (socket === this.socket && socket.bufferedAmount < SOCKET_HIGH_WATER / 2) this.pump();
    });
  }

  private sendChannelClosed(output: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.retransmitTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.drainTimer);
    const now = Date.now();
    const messageId = newMessageId();
    const frame = encodeAgentMessage({
      messageType: MessageType.ChannelClosed,
      schemaVersion: 1,
      createdDate: now,
      sequenceNumber: 0n,
      flags: 0n,
      messageId,
      payloadType: PayloadType.Output,
      payload: encodeChannelClosed({
        messageId,
        createdDate: String(now),
        destinationId: this.record.target.id,
        sessionId: this.record.sessionId,
        messageType: MessageType.ChannelClosed,
        schemaVersion: 1,
        output,
      }),
    });
    const socket = this.socket;
    if (socket?.readyState === 1) {
      socket.send(frame, { binary: true }, () => socket.close(1000));
    }
    this.onClosed();
  }
}

/** The agent sends the document properties with sorted keys (SPEC §8). */
function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]]));
}
