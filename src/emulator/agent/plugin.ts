import type { TerminalSize } from '../../protocol/payloads.js';

/** What a session plugin (shell, command, port) may do towards the client. */
export interface PluginHost {
  /** Queues stream data for the client; the host paces it and applies backpressure. */
  output(payloadType: number, payload: Buffer): void;
  /**
   * The plugin has finished: the host drains what is queued, then closes the channel. A Failed
   * result is what the agent reports to the service for the session (its history's status).
   */
  done(output?: string, result?: 'Success' | 'Failed'): void;
  /** The client asked to end the session (TerminateSession flag): end now, without draining. */
  terminate(): void;
  /** The destination took the last input and can take more: reading from the client resumes. */
  inputDrained(): void;
}

export interface AgentPlugin {
  start(): void;
  /**
   * Output payloads from the client: keystrokes, or port bytes. False when the destination is
   * full: the agent's blocking write then holds its reading of the data channel, until
   * `inputDrained`.
   */
  input(payload: Buffer): boolean | void;
  resize(size: TerminalSize): void;
  flag(value: number): void;
  /** Stop producing output until resume(): the client side is not keeping up. */
  pause(): void;
  resume(): void;
  /** End at once (TerminateSession, idle timeout). */
  stop(): void;
}
