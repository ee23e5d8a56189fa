// Wire constants of the Session Manager data channel (docs/protocol.md §2–§3).

/** Offsets and widths of the agent message header (docs/protocol.md §2). All integers are big-endian. */
export const Header = {
  headerLengthOffset: 0,
  messageTypeOffset: 4,
  messageTypeWidth: 32,
  schemaVersionOffset: 36,
  createdDateOffset: 40,
  sequenceNumberOffset: 48,
  flagsOffset: 56,
  messageIdOffset: 64,
  messageIdWidth: 16,
  payloadDigestOffset: 80,
  payloadDigestWidth: 32,
  payloadTypeOffset: 112,
  payloadLengthOffset: 116,
  payloadOffset: 120,
  /** The value the plugin always writes: the offset of PayloadLength, which it excludes. */
  headerLength: 116,
} as const;

export const MessageType = {
  InputStreamData: 'input_stream_data',
  OutputStreamData: 'output_stream_data',
  Acknowledge: 'acknowledge',
  ChannelClosed: 'channel_closed',
  StartPublication: 'start_publication',
  PausePublication: 'pause_publication',
} as const;

export const PayloadType = {
  /** Acknowledge messages leave the payload type unset. */
  Unset: 0,
  Output: 1,
  Error: 2,
  Size: 3,
  Parameter: 4,
  HandshakeRequest: 5,
  HandshakeResponse: 6,
  HandshakeComplete: 7,
  EncChallengeRequest: 8,
  EncChallengeResponse: 9,
  Flag: 10,
  StdErr: 11,
  ExitCode: 12,
} as const;

/** Values of a Flag payload (a 4-byte big-endian uint32, docs/protocol.md §3). */
export const FlagValue = {
  DisconnectToPort: 1,
  TerminateSession: 2,
  ConnectToPortError: 3,
} as const;

/** Header Flags the agent writes: SYN on its first stream message, SYN|FIN on acknowledgements. */
export const MessageFlags = {
  Data: 0n,
  Syn: 1n,
  Acknowledge: 3n,
} as const;

export const SchemaVersion = 1;

/** Largest payload the real clients send in one message (docs/protocol.md §6). */
export const StreamDataPayloadSize = 1024;

export const SessionType = {
  StandardStream: 'Standard_Stream',
  InteractiveCommands: 'InteractiveCommands',
  NonInteractiveCommands: 'NonInteractiveCommands',
  Port: 'Port',
} as const;

export const ActionType = {
  SessionType: 'SessionType',
  KMSEncryption: 'KMSEncryption',
} as const;

export const ActionStatus = {
  Success: 1,
  Failed: 2,
  Unsupported: 3,
} as const;

/** A byte stream cut into payloads of at most 1,024 bytes, as both real peers read their sources (docs/protocol.md §6). */
export function streamPayloads(data: Buffer, size: number = StreamDataPayloadSize): Buffer[] {
  if (data.length <= size) return data.length === 0 ? [] : [data];
  const payloads: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) payloads.push(data.subarray(offset, offset + size));
  return payloads;
}
