/**
 * What the emulator reports as it serves, for tests to check what a client did on the wire:
 * `RunningEmulator.upgrades` keeps the upgrades, and `ssmx emulator --events` prints every event as
 * one JSON line on stdout after its ready line.
 */

/** One WebSocket upgrade of a data channel, refused or not. */
export interface DataChannelUpgrade {
  sessionId: string;
  /** It carried an Authorization header (SigV4, header form). */
  signed: boolean;
  /** Its URL carried one of the presigned query parameters (X-Amz-Signature and the rest). */
  presigned: boolean;
  /** The access key it was signed with, from the header's or the query's credential. */
  accessKeyId?: string;
  /** Its X-Amz-Date, from the header or the query. */
  amzDate?: string;
  accepted: boolean;
}

export type EmulatorEvent =
  | ({ event: 'data-channel-upgrade' } & DataChannelUpgrade)
  | { event: 'start-session'; sessionId: string; target: string }
  /**
   * The agent side closed a session's data channel: the client's stream messages it received, every
   * copy, and the copies of one it had already taken (the agent's "already processed" lines).
   */
  | { event: 'data-channel-closed'; sessionId: string; messagesReceived: number; duplicatesReceived: number };

export type EmitEvent = (event: EmulatorEvent) => void;
