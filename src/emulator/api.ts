import type { EmulatorConfig } from './config.js';
import type { SessionRecord } from './sessions.js';
import { DEFAULT_DOCUMENT, sessionDocumentFrom, type DocumentStore } from './documents.js';
import { tagsOf } from './ec2.js';
import type { SessionStore } from './sessions.js';
import type { CommandService } from './commands.js';
import type { EmitEvent } from './events.js';

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
  documents: DocumentStore;
  /** Run Command: commands sent to instances, and their invocations. */
  commands: CommandService;
  /** The ws:// URL of the data channel for a session, or a dead one for the unreachable fault. */
  streamUrl(sessionId: string, unreachable: boolean): string;
  /** The ARN of the identity that signed the request: a session's Owner. */
  caller: string;
  /** What a test may watch for (`ssmx emulator --events`). */
  emit: EmitEvent;
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
  const gone = context.config.startsBeforeFailing !== undefined && context.config.startsBeforeFailing-- <= 0;
  if (!instance || instance.pingStatus !== 'Online' || gone) {
    throw new ApiError('TargetNotConnected', `${target} is not connected.`);
  }
  const documentName = input.DocumentName === undefined ? DEFAULT_DOCUMENT : String(input.DocumentName);
  const document = context.documents.find(documentName);
  if (!document) throw new ApiError('InvalidDocument', `Document with name ${documentName} does not exist.`);
  const record = context.sessions.create({
    target: instance,
    document,
    parameters: parameterMap(input.Parameters),
    reason: typeof input.Reason === 'string' ? input.Reason : undefined,
    owner: context.caller,
  });
  context.emit({ event: 'start-session', sessionId: record.sessionId, target });
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
  if ((context.config.failResume ?? 0) > 0) {
    context.config.failResume! -= 1;
    throw new ApiError('InternalServerError', 'ResumeSession failed (an emulator fault).', 500);
  }
  // A session that has ended gives no token: the plugin reads that as "timed out" (docs/protocol.md §9).
  if (record.status !== 'Connected') return { SessionId: sessionId };
  return {
    SessionId: sessionId,
    TokenValue: context.sessions.resume(record),
    StreamUrl: context.streamUrl(sessionId, record.target.fault === 'unreachable-stream'),
  };
};

/**
 * The API reference (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_TerminateSession.html)
 * declares no error but InternalServerError and answers with the SessionId: for an id the service
 * has no session of it answers just that, success ("one of those apis that always succeeds
 * regardless of session validity", cloud-custodian/cloud-custodian#8823). A session that has
 * already ended is refused, 400 ValidationException "Session is not in a valid state", as the
 * service has been seen answering since (ottramst/gossm#48, ansible-collections/amazon.aws#3044).
 */
const terminateSession: Handler = (input, context) => {
  const sessionId = requireString(input, 'SessionId', 'sessionId');
  const record = context.sessions.get(sessionId);
  if (record && record.status !== 'Connected') throw new ApiError('ValidationException', 'Session is not in a valid state');
  context.sessions.terminate(sessionId);
  return { SessionId: sessionId };
};

const describeInstanceInformation: Handler = (input, context) => {
  const filters = Array.isArray(input.Filters) ? (input.Filters as Array<{ Key?: string; Values?: string[] }>) : [];
  // The service's string filters (InstanceInformationStringFilter); an instance's name is its Name tag.
  type Instance = EmulatorConfig['instances'][number];
  const valueOf: Record<string, (instance: Instance) => string[]> = {
    InstanceIds: (instance) => [instance.id],
    PingStatus: (instance) => [instance.pingStatus],
    PlatformTypes: (instance) => [instance.platformType],
    ResourceType: (instance) => [instance.id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance'],
    'tag-key': (instance) => Object.keys(tagsOf(instance)),
  };
  const valueFor = (key: string): ((instance: Instance) => string[]) | undefined =>
    valueOf[key] ?? (key.startsWith('tag:') && key.length > 4 ? (instance) => [tagsOf(instance)[key.slice(4)]].filter((v): v is string => v !== undefined) : undefined);
  for (const filter of filters) {
    if (!filter.Key || !valueFor(filter.Key)) throw new ApiError('InvalidFilterKey', `The filter key ${String(filter.Key)} is not valid.`);
    if (!Array.isArray(filter.Values) || filter.Values.length === 0) {
      throw new ApiError('InvalidInstanceInformationFilterValue', `The filter ${filter.Key} needs at least one value.`);
    }
  }
  const matches = (instance: Instance, filter: { Key?: string; Values?: string[] }) => valueFor(filter.Key!)!(instance).some((value) => filter.Values!.includes(value));
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
      ResourceType: instance.id.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
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
  // SessionFilter: {key, value}, lower-case as the service spells them; keys it knows.
  const filters = Array.isArray(input.Filters) ? (input.Filters as Array<{ key?: string; value?: string }>) : [];
  const fieldOf: Record<string, (record: SessionRecord) => string> = {
    Owner: (record) => record.owner,
    Target: (record) => record.target.id,
    SessionId: (record) => record.sessionId,
    Status: (record) => record.status,
  };
  for (const filter of filters) {
    if (!filter.key || !fieldOf[filter.key]) throw new ApiError('InvalidFilterKey', `The filter key ${String(filter.key)} is not valid.`);
  }
  const sessions = context.sessions
    .all()
    .filter((record) => (state === 'Active' ? record.status === 'Connected' : record.status !== 'Connected'))
    .filter((record) => filters.every((filter) => fieldOf[filter.key!]!(record) === filter.value))
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

const createDocumentHandler: Handler = (input, context) => {
  const name = requireString(input, 'Name', 'name');
  const content = requireString(input, 'Content', 'content');
  if (input.DocumentType !== 'Session') throw new ApiError('InvalidDocumentType', 'This emulator stores Session documents only.');
  let document;
  try {
    document = sessionDocumentFrom(name, content);
  } catch (error) {
    throw new ApiError('InvalidDocumentContent', `The content of ${name} is not valid: ${(error as Error).message}`);
  }
  if (!context.documents.create(document, content)) throw new ApiError('DocumentAlreadyExists', 'The specified document already exists.');
  return {
    DocumentDescription: { Name: name, DocumentType: 'Session', DocumentFormat: 'JSON', SchemaVersion: '1.0', Status: 'Active', DocumentVersion: '1', CreatedDate: Date.now() / 1000 },
  };
};

/** A document version number from the request, as the service takes it ("$LATEST", "$DEFAULT" or a number). */
function versionOf(input: Record<string, unknown>, latest: number, defaultVersion: number): number | undefined {
  const given = input.DocumentVersion;
  if (given === undefined || given === '$DEFAULT') return defaultVersion;
  if (given === '$LATEST') return latest;
  const number = Number(given);
  return Number.isInteger(number) ? number : undefined;
}

const getDocument: Handler = (input, context) => {
  const name = requireString(input, 'Name', 'name');
  const current = context.documents.content(name);
  if (!current) throw new ApiError('InvalidDocument', `Document with name ${name} does not exist.`);
  const version = versionOf(input, current.latest, current.defaultVersion);
  const found = version === undefined ? undefined : context.documents.content(name, version);
  if (!found) throw new ApiError('InvalidDocumentVersion', `Document version ${String(input.DocumentVersion)} does not exist.`);
  return { Name: name, DocumentVersion: String(found.version), Content: found.content, DocumentType: 'Session', DocumentFormat: 'JSON', Status: 'Active' };
};

const updateDocument: Handler = (input, context) => {
  const name = requireString(input, 'Name', 'name');
  const content = requireString(input, 'Content', 'content');
  const current = context.documents.content(name);
  if (!current) throw new ApiError('InvalidDocument', `Document with name ${name} does not exist.`);
  // The service updates only the latest version, and refuses content it already has.
  if (versionOf(input, current.latest, current.defaultVersion) !== current.latest) throw new ApiError('InvalidDocumentVersion', 'The document version is not the latest.');
  if (context.documents.content(name, current.latest)!.content === content) throw new ApiError('DuplicateDocumentContent', 'The content of the document is the same as its latest version.');
  let document;
  try {
    document = sessionDocumentFrom(name, content);
  } catch (error) {
    throw new ApiError('InvalidDocumentContent', `The content of ${name} is not valid: ${(error as Error).message}`);
  }
  const version = context.documents.update(name, document, content);
  return { DocumentDescription: { Name: name, DocumentType: 'Session', DocumentFormat: 'JSON', Status: 'Active', DocumentVersion: String(version), LatestVersion: String(version), DefaultVersion: String(current.defaultVersion) } };
};

const updateDocumentDefaultVersion: Handler = (input, context) => {
  const name = requireString(input, 'Name', 'name');
  const version = Number(requireString(input, 'DocumentVersion', 'document version'));
  if (!context.documents.setDefault(name, version)) throw new ApiError('InvalidDocumentVersion', `Document version ${version} does not exist.`);
  return { Description: { Name: name, DefaultVersion: String(version) } };
};

const handlers: Record<string, Handler> = {
  CreateDocument: createDocumentHandler,
  GetDocument: getDocument,
  UpdateDocument: updateDocument,
  UpdateDocumentDefaultVersion: updateDocumentDefaultVersion,
  DescribeSessions: describeSessions,
  StartSession: startSession,
  ResumeSession: resumeSession,
  TerminateSession: terminateSession,
  DescribeInstanceInformation: describeInstanceInformation,
  SendCommand: (input, context) => context.commands.send(input),
  ListCommands: (input, context) => context.commands.list(input),
  ListCommandInvocations: (input, context) => context.commands.listInvocations(input),
  GetCommandInvocation: (input, context) => context.commands.getInvocation(input),
  CancelCommand: (input, context) => context.commands.cancel(input),
};

/** A JSON 1.1 request body: an object, or a SerializationException. */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  let input: unknown;
  try {
    input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid JSON.');
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ApiError('SerializationException', 'The request body must be a JSON object.');
  }
  return input as Record<string, unknown>;
}

/** Runs one `AmazonSSM.<Operation>` call; throws ApiError for AWS-shaped failures. */
export function callSsm(operation: string, input: Record<string, unknown>, context: ApiContext): unknown {
  const handler = handlers[operation];
  if (!handler) throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by this emulator.`);
  return handler(input, context);
}
