import type { EmulatorConfig } from './config.js';
import { findDocument, DEFAULT_DOCUMENT } from './documents.js';
import type { SessionStore } from './sessions.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface ApiContext {
  config: EmulatorConfig;
  sessions: SessionStore;
  /** The ws:// URL of the data channel for a session, or a dead one for the unreachable fault. */
  streamUrl(sessionId: string, unreachable: boolean): string;
}

type Handler = (input: Record<string, unknown>, context: ApiContext) => unknown;

function requireString(input: Record<string, unknown>, key: string, wireName: string): string {
  const value = input[key];
  if (value === undefined || value === null) {
    throw new ApiError('ValidationException', `1 validation error detected: Value null at '${wireName}' failed to satisfy constraint: Member must not be null`);
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw new ApiError('ValidationException', `1 validation error detected: Value at '${wireName}' failed to satisfy constraint: Member must have length greater than or equal to 1`);
  }
  return value;
}

function parameterMap(value: unknown): Record<string, string[]> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ApiError('InvalidParameters', 'Parameters must be a map of string lists.');
  const out: Record<string, string[]> = {};
  for (const [key, list] of Object.entries(value)) {
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
      throw new ApiError('InvalidParameters', `Parameter ${key} must be a list of strings.`);
    }
    out[key] = list;
  }
  return out;
}

const startSession: Handler = (input, context) => {
  const target = requireString(input, 'Target', 'target');
  const instance = context.config.instances.find((candidate) => candidate.id === target);
  if (!instance || instance.pingStatus !== 'Online') {
    throw new ApiError('TargetNotConnected', `${target} is not connected.`);
  }
  const documentName = input.DocumentName === undefined ? DEFAULT_DOCUMENT : String(input.DocumentName);
  const document = findDocument(documentName);
  if (!document) throw new ApiError('InvalidDocument', `Document with name ${documentName} does not exist.`);
  const record = context.sessions.create({
    target: instance,
    document,
    parameters: parameterMap(input.Parameters),
    reason: typeof input.Reason === 'string' ? input.Reason : undefined,
    owner: 'ssmx-emulator',
  });
  return {
    SessionId: record.sessionId,
    TokenValue: record.tokenValue,
    StreamUrl: context.streamUrl(record.sessionId, instance.fault === 'unreachable-stream'),
  };
};

const resumeSession: Handler = (input, context) => {
  const sessionId = requireString(input, 'SessionId', 'sessionId');
  const record = context.sessions.get(sessionId);
  if (!record) throw new ApiError('DoesNotExistException', `Session ${sessionId} does not exist.`);
  // A session that has ended gives no token: the plugin reads that as "timed out" (SPEC §9).
  if (record.status === 'Terminated') return { SessionId: sessionId };
  return {
    SessionId: sessionId,
    TokenValue: context.sessions.resume(record),
    StreamUrl: context.streamUrl(sessionId, record.target.fault === 'unreachable-stream'),
  };
};

const terminateSession: Handler = (input, context) => {
  const sessionId = requireString(input, 'SessionId', 'sessionId');
  context.sessions.terminate(sessionId);
  return { SessionId: sessionId };
};

const describeInstanceInformation: Handler = (input, context) => {
  const filters = Array.isArray(input.Filters) ? (input.Filters as Array<{ Key?: string; Values?: string[] }>) : [];
  // The service's string filters (InstanceInformationStringFilter); an instance's name is its Name tag.
  const valueOf: Record<string, (instance: EmulatorConfig['instances'][number]) => string | undefined> = {
    InstanceIds: (instance) => instance.id,
    PingStatus: (instance) => instance.pingStatus,
    PlatformTypes: (instance) => instance.platformType,
    ResourceType: () => 'EC2Instance',
    'tag:Name': (instance) => instance.name || undefined,
    'tag-key': (instance) => (instance.name ? 'Name' : undefined),
  };
  const valueFor = (key: string) => valueOf[key] ?? (key.startsWith('tag:') && key.length > 4 ? () => undefined : undefined);
  for (const filter of filters) {
    if (!filter.Key || !valueFor(filter.Key)) throw new ApiError('InvalidFilterKey', `The filter key ${String(filter.Key)} is not valid.`);
    if (!Array.isArray(filter.Values) || filter.Values.length === 0) {
      throw new ApiError('InvalidInstanceInformationFilterValue', `The filter ${filter.Key} needs at least one value.`);
    }
  }
  const matches = (instance: EmulatorConfig['instances'][number], filter: { Key?: string; Values?: string[] }) => {
    const value = valueFor(filter.Key!)!(instance);
    return value !== undefined && filter.Values!.includes(value);
  };
  const list = context.config.instances
    .filter((instance) => filters.every((filter) => matches(instance, filter)))
    .map((instance) => ({
      InstanceId: instance.id,
      PingStatus: instance.pingStatus,
      LastPingDateTime: Date.now() / 1000,
      AgentVersion: instance.agentVersion ?? context.config.agentVersion,
      IsLatestVersion: true,
      PlatformType: instance.platformType,
      PlatformName: instance.platformName,
      ResourceType: 'EC2Instance',
      IPAddress: instance.ipAddress,
      ComputerName: instance.name || instance.id,
    }));
  return { InstanceInformationList: list };
};

const describeSessions: Handler = (input, context) => {
  const state = input.State;
  if (state !== 'Active' && state !== 'History') {
    throw new ApiError('ValidationException', "1 validation error detected: Value at 'state' failed to satisfy constraint: Member must satisfy enum value set: [Active, History]");
  }
  const sessions = context.sessions
    .all()
    .filter((record) => (state === 'Active' ? record.status !== 'Terminated' : record.status === 'Terminated'))
    .map((record) => ({
      SessionId: record.sessionId,
      Target: record.target.id,
      Status: record.status,
      StartDate: record.startDate.getTime() / 1000,
      ...(record.endDate ? { EndDate: record.endDate.getTime() / 1000 } : {}),
      DocumentName: record.document.name,
      Owner: record.owner,
      ...(record.reason ? { Reason: record.reason } : {}),
    }));
  return { Sessions: sessions };
};

const handlers: Record<string, Handler> = {
  DescribeSessions: describeSessions,
  StartSession: startSession,
  ResumeSession: resumeSession,
  TerminateSession: terminateSession,
  DescribeInstanceInformation: describeInstanceInformation,
};

/** Runs one `AmazonSSM.<Operation>` call; throws ApiError for AWS-shaped failures. */
export function callSsm(operation: string, body: Buffer, context: ApiContext): unknown {
  const handler = handlers[operation];
  if (!handler) throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by this emulator.`);
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid JSON.');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ApiError('SerializationException', 'The request body must be a JSON object.');
  }
  return handler(input as Record<string, unknown>, context);
}
