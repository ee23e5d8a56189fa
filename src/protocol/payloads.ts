import { MessageType } from './constants.js';
import { ProtocolError } from './errors.js';
import { field, numberField, parseObject, stringField, type JsonObject } from './json.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

// --- acknowledge (docs/protocol.md §3) ---------------------------------------------------------------------

export interface Acknowledge {
  acknowledgedMessageType: string;
  acknowledgedMessageId: string;
  acknowledgedMessageSequenceNumber: number;
  isSequentialMessage: boolean;
}

export function encodeAcknowledge(ack: Acknowledge): Buffer {
  return Buffer.from(acknowledgeJson(ack), 'utf8');
}

/**
 * An acknowledge payload's JSON. Key order is the Go struct's, so the bytes equal the plugin's.
 * Written out rather than through JSON.stringify of an object (one per message received); the same
 * bytes, as the tests check.
 */
export function acknowledgeJson(ack: Acknowledge): string {
  return (
    `{"AcknowledgedMessageType":${typeJson(ack.acknowledgedMessageType)},"AcknowledgedMessageId":${JSON.stringify(ack.acknowledgedMessageId)},` +
    `"AcknowledgedMessageSequenceNumber":${JSON.stringify(ack.acknowledgedMessageSequenceNumber)},"IsSequentialMessage":${ack.isSequentialMessage}}`
  );
}

/** A message type as JSON, made once per type: nearly every acknowledgement names output_stream_data. */
const typeJsons = new Map<string, string>();
function typeJson(messageType: string): string {
  let text = typeJsons.get(messageType);
  if (text === undefined) {
    text = JSON.stringify(messageType);
    if (typeJsons.size < 64) typeJsons.set(messageType, text);
  }
  return text;
}

export function decodeAcknowledge(payload: Uint8Array): Acknowledge | ProtocolError {
  const object = parseObject(payload, 'acknowledge');
  if (object instanceof ProtocolError) return object;
  const sequenceNumber = numberField(object, 'AcknowledgedMessageSequenceNumber');
  if (sequenceNumber === undefined || !Number.isSafeInteger(sequenceNumber)) {
    return new ProtocolError('BAD_PAYLOAD', 'acknowledge: AcknowledgedMessageSequenceNumber is not a safe integer');
  }
  return {
    acknowledgedMessageType: stringField(object, 'AcknowledgedMessageType') ?? '',
    acknowledgedMessageId: stringField(object, 'AcknowledgedMessageId') ?? '',
    acknowledgedMessageSequenceNumber: sequenceNumber,
    isSequentialMessage: field(object, 'IsSequentialMessage') === true,
  };
}

// --- channel_closed (docs/protocol.md §3) ------------------------------------------------------------------

export interface ChannelClosed {
  messageId: string;
  /** The agent writes epoch milliseconds as a string. */
  createdDate: string;
  destinationId: string;
  sessionId: string;
  messageType: string;
  schemaVersion: number;
  output: string;
}

export function encodeChannelClosed(closed: ChannelClosed): Buffer {
  return json({
    MessageId: closed.messageId,
    CreatedDate: closed.createdDate,
    DestinationId: closed.destinationId,
    SessionId: closed.sessionId,
    MessageType: closed.messageType,
    SchemaVersion: closed.schemaVersion,
    Output: closed.output,
  });
}

/** The plugin exits on channel_closed even when the payload does not parse; so does ssmx. */
export function decodeChannelClosed(payload: Uint8Array): ChannelClosed {
  const object = parseObject(payload, 'channel_closed');
  const get = (key: string): string => (object instanceof ProtocolError ? '' : (stringField(object, key) ?? ''));
  return {
    messageId: get('MessageId'),
    createdDate: get('CreatedDate'),
    destinationId: get('DestinationId'),
    sessionId: get('SessionId'),
    messageType: get('MessageType') || MessageType.ChannelClosed,
    schemaVersion: object instanceof ProtocolError ? 1 : (numberField(object, 'SchemaVersion') ?? 1),
    output: get('Output'),
  };
}

// --- size (docs/protocol.md §3) -----------------------------------------------------------------------------

export interface TerminalSize {
  cols: number;
  rows: number;
}

export function encodeSize(size: TerminalSize): Buffer {
  return json({ cols: size.cols, rows: size.rows });
}

export function decodeSize(payload: Uint8Array): TerminalSize | ProtocolError {
  const object = parseObject(payload, 'size');
  if (object instanceof ProtocolError) return object;
  const cols = numberField(object, 'cols');
  const rows = numberField(object, 'rows');
  if (cols === undefined || rows === undefined || cols < 0 || rows < 0) {
    return new ProtocolError('BAD_PAYLOAD', 'size: cols and rows must be non-negative numbers');
  }
  return { cols, rows };
}

// --- exit code (docs/protocol.md §7) ------------------------------------------------------------------------

/**
 * What a NonInteractiveCommands agent with separateOutputStream sends last: `EXIT_CODE: n`, Go's
 * ExitCode() of the command (-1 for one a signal killed). Undefined for anything else.
 */
export function decodeExitCode(payload: Uint8Array): number | undefined {
  const match = /EXIT_CODE:\s*(-?\d+)/.exec(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

/** The exit code the agent reports for a command a signal ended (agent shell.go). */
export const KILLED_BY_SIGNAL = -1;

// --- flag (docs/protocol.md §3) -----------------------------------------------------------------------------

export function encodeFlag(value: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(value);
  return payload;
}

export function decodeFlag(payload: Uint8Array): number | ProtocolError {
  if (payload.length !== 4) return new ProtocolError('BAD_PAYLOAD', `flag payload of ${payload.length} bytes, expected 4`);
  return Buffer.from(payload).readUInt32BE(0);
}

// --- handshake (docs/protocol.md §4) ------------------------------------------------------------------------

export interface RequestedClientAction {
  actionType: string;
  actionParameters: JsonObject;
}

export interface HandshakeRequest {
  agentVersion: string;
  requestedClientActions: RequestedClientAction[];
}

export function encodeHandshakeRequest(request: HandshakeRequest): Buffer {
  return json({
    AgentVersion: request.agentVersion,
    RequestedClientActions: request.requestedClientActions.map((action) => ({
      ActionType: action.actionType,
      ActionParameters: action.actionParameters,
    })),
  });
}

export function decodeHandshakeRequest(payload: Uint8Array): HandshakeRequest | ProtocolError {
  const object = parseObject(payload, 'handshake request');
  if (object instanceof ProtocolError) return object;
  const actions = field(object, 'RequestedClientActions');
  if (actions !== undefined && actions !== null && !Array.isArray(actions)) {
    return new ProtocolError('BAD_PAYLOAD', 'handshake request: RequestedClientActions is not an array');
  }
  const requestedClientActions: RequestedClientAction[] = [];
  for (const action of (actions ?? []) as unknown[]) {
    if (action === null || typeof action !== 'object') {
      return new ProtocolError('BAD_PAYLOAD', 'handshake request: an action is not an object');
    }
    const parameters = field(action as JsonObject, 'ActionParameters');
    requestedClientActions.push({
      actionType: stringField(action as JsonObject, 'ActionType') ?? '',
      actionParameters: parameters !== null && typeof parameters === 'object' ? (parameters as JsonObject) : {},
    });
  }
  return { agentVersion: stringField(object, 'AgentVersion') ?? '', requestedClientActions };
}

export interface ProcessedClientAction {
  actionType: string;
  actionStatus: number;
  actionResult: unknown;
  error: string;
}

export interface HandshakeResponse {
  clientVersion: string;
  processedClientActions: ProcessedClientAction[];
  errors: string[] | null;
}

export function encodeHandshakeResponse(response: HandshakeResponse): Buffer {
  return json({
    ClientVersion: response.clientVersion,
    ProcessedClientActions: response.processedClientActions.map((action) => ({
      ActionType: action.actionType,
      ActionStatus: action.actionStatus,
      ActionResult: action.actionResult ?? null,
      Error: action.error,
    })),
    Errors: response.errors,
  });
}

export function decodeHandshakeResponse(payload: Uint8Array): HandshakeResponse | ProtocolError {
  const object = parseObject(payload, 'handshake response');
  if (object instanceof ProtocolError) return object;
  const actions = field(object, 'ProcessedClientActions');
  const processedClientActions: ProcessedClientAction[] = [];
  for (const action of Array.isArray(actions) ? actions : []) {
    if (action === null || typeof action !== 'object') continue;
    processedClientActions.push({
      actionType: stringField(action as JsonObject, 'ActionType') ?? '',
      actionStatus: numberField(action as JsonObject, 'ActionStatus') ?? 0,
      actionResult: field(action as JsonObject, 'ActionResult') ?? null,
      error: stringField(action as JsonObject, 'Error') ?? '',
    });
  }
  const errors = field(object, 'Errors');
  return {
    clientVersion: stringField(object, 'ClientVersion') ?? '',
    processedClientActions,
    errors: Array.isArray(errors) ? errors.map(String) : null,
  };
}

export interface HandshakeComplete {
  /** Nanoseconds, as Go serialises a time.Duration. */
  handshakeTimeToComplete: number;
  customerMessage: string;
}

export function encodeHandshakeComplete(complete: HandshakeComplete): Buffer {
  return json({ HandshakeTimeToComplete: complete.handshakeTimeToComplete, CustomerMessage: complete.customerMessage });
}

export function decodeHandshakeComplete(payload: Uint8Array): HandshakeComplete | ProtocolError {
  const object = parseObject(payload, 'handshake complete');
  if (object instanceof ProtocolError) return object;
  return {
    handshakeTimeToComplete: numberField(object, 'HandshakeTimeToComplete') ?? 0,
    customerMessage: stringField(object, 'CustomerMessage') ?? '',
  };
}

// --- open data channel (docs/protocol.md §1) ----------------------------------------------------------------

export interface OpenDataChannelInput {
  messageSchemaVersion: string;
  requestId: string;
  tokenValue: string;
  clientId: string;
  clientVersion: string;
}

export function encodeOpenDataChannel(input: OpenDataChannelInput): string {
  return JSON.stringify({
    MessageSchemaVersion: input.messageSchemaVersion,
    RequestId: input.requestId,
    TokenValue: input.tokenValue,
    ClientId: input.clientId,
    ClientVersion: input.clientVersion,
  });
}

export function decodeOpenDataChannel(text: string): OpenDataChannelInput | ProtocolError {
  const object = parseObject(Buffer.from(text, 'utf8'), 'open data channel');
  if (object instanceof ProtocolError) return object;
  return {
    messageSchemaVersion: stringField(object, 'MessageSchemaVersion') ?? '',
    requestId: stringField(object, 'RequestId') ?? '',
    tokenValue: stringField(object, 'TokenValue') ?? '',
    clientId: stringField(object, 'ClientId') ?? '',
    clientVersion: stringField(object, 'ClientVersion') ?? '',
  };
}
