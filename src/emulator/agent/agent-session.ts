import type { WebSocket } from 'ws';
import { ChannelDriver } from '../../channel/driver.js';
import { ReliableChannel } from '../../channel/reliable-channel.js';
import { systemTimers } from '../../channel/timers.js';
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
import { randomBytes } from 'node:crypto';
import { decodeEncChallenge, encodeEncChallenge, SessionCipher } from '../../protocol/crypto.js';
import { decryptDataKey } from '../kms.js';
import type { EmulatorConfig } from '../config.js';
import type { SessionRecord } from '../sessions.js';
import type { AgentPlugin, PluginHost } from './plugin.js';
import { ExecPlugin } from './exec-plugin.js';
import { passwdEntry, resolveCommand, runAsIdentity } from './command.js';
import { ShellPlugin } from './shell-plugin.js';
import { PortPlugin, type PortOptions } from './port-plugin.js';
import { AgentGates, ClientGates, compareVersions, isVersionGreater } from '../../protocol/version.js';

/** The agent waits this long for the HandshakeResponse (agent: handshakeTimeout). */
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** Output queued beyond this many messages pauses the plugin's source. */
const QUEUE_HIGH_WATER = 64;
/**
 * How long the agent waits, once its command has ended and all its output is sent, for every
 * message to be acknowledged before it closes (agent/session/datachannel/datachannel.go,
 * PrepareToCloseChannel).
 */
const CLOSE_DRAIN_TIMEOUT_MS = 2_000;
/** The agent keeps this many messages that arrived ahead of the expected one (docs/protocol.md §6). */
const AGENT_REORDER_CAPACITY = 100_000;
/** The real agent's outgoing buffer holds this many unacknowledged messages. */
const AGENT_WINDOW = 10_000;
/**
 * The real agent writes to its WebSocket synchronously: when the client stops reading, the write
 * blocks and so does everything behind it. The emulator stops sending past this much unflushed.
 */
const SOCKET_HIGH_WATER = 256 * 1024;

/** The session types for which the agent opens with a handshake when KMS is off (docs/protocol.md §4). */
function needsHandshake(sessionType: string): boolean {
  return sessionType === SessionType.Port || sessionType === SessionType.NonInteractiveCommands;
}

/**
 * The agent encrypts every session with the account's KMS key but a Port session
 * (agent/session/plugins/sessionplugin/sessionplugin.go, `isEncryptionEnabled`: `kmsKeyId != ""
 * && pluginName != Port`, with a TODO to make it configurable; read at 3.3.1142.0).
 */
export function encrypts(kmsKeyId: string | undefined, sessionType: string): boolean {
  return !!kmsKeyId && sessionType !== SessionType.Port;
}

/** The agent that first sends a random challenge with its KMS request ("Add enhancements related to KMS sessions"). */
export const KMS_CHALLENGE_AGENT_VERSION = '3.3.808.0';

/**
 * The KMSEncryption action's parameters (agent contracts/model.go, `KMSEncryptionRequest`): the key,
 * and from 3.3.808.0 the challenge, the standard base64 of 16 random bytes made once per session
 * (crypto/blockcipher.go, `NewBlockCipherKMS`, randomChallengeSize).
 */
export function kmsActionParameters(kmsKeyId: string, agentVersion: string, random: (size: number) => Buffer = randomBytes): { KMSKeyId: string; Challenge?: string } {
  if (compareVersions(agentVersion, KMS_CHALLENGE_AGENT_VERSION) < 0) return { KMSKeyId: kmsKeyId };
  return { KMSKeyId: kmsKeyId, Challenge: random(16).toString('base64') };
}

/**
 * The encryption context the agent decrypts the data key under (crypto/blockcipher.go,
 * `UpdateEncryptionKey`): session and target, and the challenge as it was sent when the client
 * acknowledged it (`KMSEncryptionResponse.ChallengeAcknowledgement`).
 */
export function agentDecryptContext(sessionId: string, targetId: string, challenge: string | undefined, acknowledged: boolean): Record<string, string> {
  const context: Record<string, string> = { 'aws:ssm:SessionId': sessionId, 'aws:ssm:TargetId': targetId };
  if (challenge !== undefined && acknowledged) context['aws:ssm:RandomChallenge'] = challenge;
  return context;
}

/** What the agent reports when Kms.RequireKMSChallengeResponse is set and the client did not acknowledge (datachannel.go, `finalizeKMSEncryption`; sessionplugin.go). */
export const CHALLENGE_REQUIRED_FAILURE = 'Encountered error while initiating handshake. client does not support required encryption context random challenge';

/**
 * The agent's side of one session: it outlives any one WebSocket (a client may resume), keeps
 * the reliable channel, paces output as the real agent does, and runs the document's plugin.
 */
/** shell.go `execute` waits this long before it ends a session whose shell it could not start. */
const SHELL_START_FAILURE_DELAY_MS = 2000;

export class AgentSession implements PluginHost {
  private readonly driver: ChannelDriver;
  private socket: WebSocket | undefined;
  private readonly queue: Array<{ payloadType: number; payload: Buffer }> = [];
  private plugin: AgentPlugin | undefined;
  private started = false;
  private handshake: 'none' | 'awaiting-response' | 'awaiting-challenge' | 'complete';
  /** The agent's cipher, once the client's response gave the KMS data key (docs/protocol.md §5). */
  private cipher: SessionCipher | undefined;
  private challenge: Buffer | undefined;
  /** The random challenge of the KMS request, as sent (agents from 3.3.808.0). */
  private kmsChallenge: string | undefined;
  private handshakeStartedAt = 0n;
  private handshakeTimer: NodeJS.Timeout | undefined;
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
  /** The plugin's result was Failed (the agent reports it to the service: the session's history shows it). */
  private failed = false;

  constructor(
    private readonly record: SessionRecord,
    private readonly config: EmulatorConfig,
    private readonly onClosed: (failed: boolean, received: { messages: number; duplicates: number }) => void,
  ) {
    const channel = new ReliableChannel({
      sendType: MessageType.OutputStreamData,
      synOnFirstMessage: true,
      windowSize: AGENT_WINDOW,
      reorderCapacity: AGENT_REORDER_CAPACITY,
      acknowledgeDuplicates: config.duplicateAcks,
      // The agent logs and drops a frame it cannot deserialize (datachannel.go), whatever came before.
      invalidFrames: 'drop',
      // …but it checks far less than the client does: no digest, no payload length (agentmessage.go).
      frameRules: 'agent',
      acknowledgeAfterDelivery: true,
    });
    this.driver = new ChannelDriver(channel, systemTimers, {
      write: (frame) => this.write(frame),
      deliver: (message) => this.onClientData(message.payloadType, message.payload),
      writable: () => this.pump(),
      failed: (error) => this.socket?.close(1011, error.message.slice(0, 120)),
      settled: () => this.closeIfDrained(),
    });
    // With KMS on, every session type it encrypts opens with a handshake (docs/protocol.md §4).
    this.handshake = needsHandshake(record.document.sessionType) || this.encrypted ? 'awaiting-response' : 'none';
  }

  /** An ECS Exec session: the agent runs in the container, in its container mode. */
  private get containerMode(): boolean {
    return this.record.target.id.startsWith('ecs:');
  }

  private get encrypted(): boolean {
    return encrypts(this.config.kmsKeyId, this.record.document.sessionType);
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
      if (isBinary) this.driver.receive(data as Buffer);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.driver.linkDown();
      if (!this.closed) this.idleTimer = setTimeout(() => this.terminate(), this.config.idleTimeoutMs);
    });
    if (!this.started) {
      this.started = true;
      if (this.handshake === 'awaiting-response') this.sendHandshakeRequest();
      else this.startPlugin();
    } else {
      // A resumed connection: what the old one did not get acknowledged goes again.
      this.driver.linkUp();
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
    // The agent encrypts at the moment it hands data to the channel.
    this.queue.push({ payloadType, payload: this.cipher ? this.cipher.outgoing(payloadType, payload) : payload });
    if (this.queue.length >= QUEUE_HIGH_WATER && !this.pluginPaused) {
      this.pluginPaused = true;
      this.plugin?.pause();
    }
    this.pump();
  }

  done(output = '', result: 'Success' | 'Failed' = 'Success'): void {
    if (this.ending) return;
    this.ending = true;
    this.closingOutput = output;
    this.failed = result === 'Failed';
    this.closeIfDrained();
  }

  inputDrained(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    this.socket?.resume();
    this.driver.resumeDelivery();
  }

  /**
   * After the plugin ends, the channel closes once every message is acknowledged, or 2 s after the
   * last one went out (the real agent has sent everything by the time its command ends; the
   * emulator's queue is its pacing, so the wait starts when that is empty).
   */
  private closeIfDrained(): void {
    if (!this.ending || this.closed || this.queue.length > 0) return;
    if (this.driver.channel.inFlight === 0) return this.sendChannelClosed(this.closingOutput);
    this.drainTimer ??= setTimeout(() => this.sendChannelClosed(this.closingOutput), CLOSE_DRAIN_TIMEOUT_MS);
  }

  // --- internals ------------------------------------------------------------------------------

  private startPlugin(): void {
    const { document, parameters } = this.record;
    const properties = document.properties(parameters) as { linux?: { commands?: string; separateOutputStream?: boolean } };
    const commands = properties.linux?.commands ?? '';
    // Run As applies to the shell plugin's sessions outside containers (shell_unix.go).
    const runAs = this.config.runAs && document.sessionType !== SessionType.Port && !this.containerMode
      ? runAsIdentity(this.config.runAs, process.geteuid?.() ?? -1, passwdEntry)
      : undefined;
    if (document.sessionType === SessionType.Port) {
      this.plugin = new PortPlugin(this, this.portOptions());
    } else if (document.sessionType === SessionType.NonInteractiveCommands) {
      // Split with shlex and run with no shell, in container mode or not (shell_unix.go).
      this.plugin = new ExecPlugin(this, commands, properties.linux?.separateOutputStream === true, runAs);
    } else if (runAs && 'error' in runAs) {
      // A shell the agent cannot start gets nothing: 2 s, then the session ends Failed (shell.go execute).
      this.startFailureTimer = setTimeout(() => this.done('', 'Failed'), SHELL_START_FAILURE_DELAY_MS);
      return;
    } else if (this.containerMode && commands) {
      // In container mode (ECS Exec) even an interactive command is split, not given to a shell
      // (agent/session/shell/shell_unix.go, StartCommandExecutor: appConfig.Agent.ContainerMode).
      const resolved = resolveCommand(commands);
      if ('unableToStart' in resolved) return this.done(resolved.unableToStart);
      this.plugin = new ShellPlugin(this, resolved.words);
    } else {
      // Interactive commands outside containers run as `sh -c <command>` (shell_unix.go).
      this.plugin = new ShellPlugin(this, commands ? ['sh', '-c', commands] : this.config.shell, runAs);
    }
    this.plugin.start();
  }

  private startFailureTimer: NodeJS.Timeout | undefined;

  /** The agent picks the mode from the client's version and its own (agent port.go; docs/protocol.md §8). */
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
          ...(this.encrypted ? [{ actionType: ActionType.KMSEncryption, actionParameters: this.kmsParameters() }] : []),
        ],
      }),
    );
    this.handshakeTimer = setTimeout(() => this.sendChannelClosed('Handshake timed out waiting for the client.'), HANDSHAKE_TIMEOUT_MS);
  }

  private kmsParameters(): { KMSKeyId: string; Challenge?: string } {
    const parameters = kmsActionParameters(this.config.kmsKeyId!, this.agentVersion);
    this.kmsChallenge = parameters.Challenge;
    return parameters;
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
      // The agent treats any status but success as fatal (docs/protocol.md §4).
      this.sendChannelClosed(`Handshake failed: ${failed?.error || 'the client processed no action'}`);
      return;
    }
    this.clientVersion = response.clientVersion;
    if (this.encrypted) return this.startChallenge(response.processedClientActions);
    this.completeHandshake('');
  }

  private completeHandshake(customerMessage: string): void {
    this.handshake = 'complete';
    const elapsed = Number(process.hrtime.bigint() - this.handshakeStartedAt);
    this.output(PayloadType.HandshakeComplete, encodeHandshakeComplete({ handshakeTimeToComplete: elapsed, customerMessage }));
    this.startPlugin();
  }

  /**
   * KMS: the agent decrypts the data key the client wrapped (kms:Decrypt, under the session's
   * encryption context), then sends 64 random bytes encrypted with its key for the client to return.
   */
  private startChallenge(actions: Array<{ actionType: string; actionResult: unknown }>): void {
    const result = actions.find((action) => action.actionType === ActionType.KMSEncryption)?.actionResult as { KMSCipherTextKey?: unknown; ChallengeAcknowledgement?: unknown } | null | undefined;
    const wrapped = typeof result?.KMSCipherTextKey === 'string' ? Buffer.from(result.KMSCipherTextKey, 'base64') : undefined;
    if (!wrapped) return this.sendChannelClosed('Handshake failed: the client sent no KMS data key.');
    const acknowledged = result?.ChallengeAcknowledgement === true;
    // The agent closes its data channel without a word to the client; what the service's
    // channel_closed then carries is not in the public sources, so the agent's failure text goes as its Output.
    if (this.config.requireKmsChallenge && this.kmsChallenge !== undefined && !acknowledged) return this.sendChannelClosed(CHALLENGE_REQUIRED_FAILURE);
    const dataKey = decryptDataKey(wrapped, agentDecryptContext(this.record.sessionId, this.record.target.id, this.kmsChallenge, acknowledged));
    if (typeof dataKey === 'string') return this.sendChannelClosed(`Handshake failed: ${dataKey}`);
    const cipher = SessionCipher.fromDataKey(dataKey, 'agent');
    if (cipher instanceof ProtocolError) return this.sendChannelClosed(`Handshake failed: ${cipher.message}`);
    this.cipher = cipher;
    this.challenge = randomBytes(64);
    // A fault for tests: a challenge under a key the client cannot have.
    const key = this.record.target.fault === 'bad-challenge' ? randomBytes(32) : undefined;
    this.handshake = 'awaiting-challenge';
    this.output(PayloadType.EncChallengeRequest, encodeEncChallenge(cipher.sealChallenge(this.challenge, key)));
    this.handshakeTimer = setTimeout(() => this.sendChannelClosed('Handshake timed out waiting for the client.'), HANDSHAKE_TIMEOUT_MS);
  }

  private onChallengeResponse(payload: Buffer): void {
    clearTimeout(this.handshakeTimer);
    const sealed = decodeEncChallenge(payload);
    const answer = sealed instanceof ProtocolError ? sealed : this.cipher!.openChallenge(sealed);
    if (answer instanceof ProtocolError || !answer.equals(this.challenge!)) {
      this.sendChannelClosed('Encryption challenge failed: the client does not hold the session key.');
      return;
    }
    this.completeHandshake('This session is encrypted using AWS KMS.');
  }

  /** False while the plugin's destination is full: the driver holds what follows (`inputDrained`). */
  private onClientData(payloadType: number, payload: Buffer): boolean {
    if (this.handshake === 'awaiting-response' || this.handshake === 'awaiting-challenge') {
      // Until the handshake completes the agent acknowledges, then discards, other data.
      if (payloadType === PayloadType.HandshakeResponse && this.handshake === 'awaiting-response') this.onHandshakeResponse(payload);
      if (payloadType === PayloadType.EncChallengeResponse && this.handshake === 'awaiting-challenge') this.onChallengeResponse(payload);
      return true;
    }
    switch (payloadType) {
      case PayloadType.Output: {
        const input = this.cipher ? this.cipher.incoming(payloadType, payload) : payload;
        if (input instanceof ProtocolError) {
          this.sendChannelClosed(`Failed to decrypt the client's data: ${input.message}`);
          return true;
        }
        if (this.plugin?.input(input) === false) {
          // The destination is full. The agent's write blocks, and with it the reading of the
          // WebSocket, this message's ack (sent once the write returns) and every frame behind it
          // (datachannel.go, `handleStreamDataMessage`; one reader: websocketchannel.go).
          this.inputPaused = true;
          this.socket?.pause();
          return false;
        }
        break;
      }
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
    return true;
  }

  /** Sends queued output one message at a time, with the agent's 1 ms pause between messages. */
  private pump(): void {
    if (this.pumpScheduled || this.closed) return;
    while (this.socket && this.queue.length > 0 && this.driver.channel.canSend && this.socket.bufferedAmount < SOCKET_HIGH_WATER) {
      const { payloadType, payload } = this.queue.shift()!;
      this.driver.send(payloadType, payload);
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
    this.driver.stop();
    clearTimeout(this.idleTimer);
    clearTimeout(this.drainTimer);
    clearTimeout(this.startFailureTimer);
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
        // What the service's channel_closed carries of the agent's ending is staged both ways.
        output: this.config.channelClosedOutput ? output : '',
      }),
    });
    const socket = this.socket;
    if (socket?.readyState === 1) {
      socket.send(frame, { binary: true }, () => socket.close(1000));
    }
    this.onClosed(this.failed, this.driver.channel.receivedCounts);
  }
}

/** The agent sends the document properties with sorted keys (docs/protocol.md §8). */
function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]]));
}
