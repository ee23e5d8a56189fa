import type { Agent } from 'node:http';
import { credentialsFor, type AwsOptions } from '../aws/client-config.js';
import { toAwsError } from '../aws/errors.js';
import { generateSessionDataKey } from '../aws/kms.js';
import { isPresignedUrl, signDataChannelUpgrade, type Credentials } from '../aws/sigv4.js';
import { resumeSession, startSession, terminateSession, type SsmClients, type StartSessionInput, type StartedSession } from '../aws/ssm.js';
import { endpointFor, regionFor } from '../aws/json-api.js';
import { checkStreamUrl } from '../aws/stream-url.js';
import type { Timers } from '../channel/timers.js';
import { ReportedClientVersion } from '../protocol/version.js';
import { DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { asSessionError } from '../session/link.js';
import { WebSocketTransport } from '../transport/websocket.js';

/**
 * How the data channel is authorised and where it may go (docs/protocol.md §1): its upgrade signed
 * with the credentials of the API calls, resolved afresh for each connection, and only to a
 * Session Manager endpoint or one the user named (src/aws/stream-url.ts).
 */
export interface DataChannelAuth {
  /** The session's region: the signature's, and the partition whose endpoints are trusted. */
  region: () => string;
  /**
   * Credentials for each signature. Undefined, or a provider that gives none, sends the upgrade
   * unsigned: plugin mode without credentials, as the plugin does.
   */
  credentials: (() => Promise<Credentials | undefined>) | undefined;
  /** Endpoints the user named (the SSM endpoint the API calls go to): trusted besides AWS's. */
  namedEndpoints: () => string[];
}

/**
 * The data channel signed with the credentials, in the region and towards the endpoint of the
 * API calls (docs/protocol.md §1): each read when a connection is made.
 */
export function dataChannelAuth(aws: AwsOptions): DataChannelAuth {
  const env = aws.env ?? process.env;
  return {
    region: () => regionFor(aws, env),
    // The chain is the API calls' own (one per options object), looked up when first needed.
    credentials: () => credentialsFor(aws)(),
    namedEndpoints: () => [endpointFor(aws, 'ssm', regionFor(aws, env), env)],
  };
}

/** What a session hears of its link while it runs: each drop, and each time it is back. */
export interface ReconnectListener {
  reconnecting(reason: SessionError): void;
  resumed(ms: number): void;
}

/**
 * Everything a session needs from the AWS side and from whoever opens it (a command, a program
 * using the library): no more, and nothing read from the process behind their back.
 */
export interface ConnectOptions {
  ssm: SsmClients;
  auth: DataChannelAuth;
  /**
   * The id the data channel's open message carries. The plugin keeps one across reconnects
   * (docs/protocol.md §1): the command line keeps one per process, the library one per client.
   */
  clientId: string;
  /** How long to keep trying to reopen a dropped data channel; 0 turns reconnecting off. */
  reconnectTimeoutMs: number;
  /** Credentials, region and endpoint for KMS, should the agent ask for an encrypted session. */
  kms?: AwsOptions | undefined;
  /** Hears of drops and reconnects (the command line says a line for each). */
  reconnects?: ReconnectListener | undefined;
  /** --debug: the wire, frame by frame. */
  debug?: ((line: string) => void) | undefined;
  /** The clock and timers of retransmission and reconnects. */
  timers?: Timers | undefined;
  /**
   * AWS_ENDPOINT_URL_SSMMESSAGES / --ssmmessages-endpoint: where the data channel really is (a VPC
   * interface endpoint without private DNS); it replaces the StreamUrl's scheme, host and port.
   */
  streamEndpoint?: string | undefined;
  /** How the WebSocket connects (direct or through a proxy), for wss:// and ws:// stream URLs. */
  agents?: { httpsAgent: Agent; httpAgent: Agent } | undefined;
}

export interface OpenedSession {
  started: StartedSession;
  session: DataChannelSession;
}

/** StartSession, then the data channel on its StreamUrl: the path every session takes. */
export async function startDataChannel(input: StartSessionInput, connect: ConnectOptions, onStarted?: (started: StartedSession) => void): Promise<OpenedSession> {
  const started = await startSession(connect.ssm, input);
  onStarted?.(started);
  return { started, session: await openDataChannel(started, connect, input.target) };
}

/**
 * The StreamUrl the service returned, sent to another endpoint: its scheme (https → wss, http → ws),
 * host and port from `endpoint`, its path and query (the session and the cell) kept.
 */
export function rewriteStreamUrl(streamUrl: string, endpoint: string | undefined): string {
  if (!endpoint) return streamUrl;
  const target = new URL(endpoint);
  const url = new URL(streamUrl);
  url.protocol = target.protocol === 'http:' || target.protocol === 'ws:' ? 'ws:' : 'wss:';
  url.host = target.host;
  return url.href;
}

/** Opens the data channel's WebSocket on a StreamUrl, with the session's token. */
export type Dialer = (streamUrl: string, tokenValue: string) => Promise<WebSocketTransport>;

/**
 * The one way ssmx opens a data channel: the StreamUrl sent to the endpoint the user named, if
 * any; refused unless it is one ssmx may send credentials to; its upgrade signed, unless the URL
 * is presigned or there are no credentials to sign with.
 */
export function dialer(connect: Pick<ConnectOptions, 'auth' | 'agents' | 'streamEndpoint' | 'clientId'>): Dialer {
  const { auth, agents, streamEndpoint, clientId } = connect;
  return async (given, tokenValue) => {
    const streamUrl = rewriteStreamUrl(given, streamEndpoint);
    const named = streamEndpoint ? [...auth.namedEndpoints(), streamEndpoint] : auth.namedEndpoints();
    const verdict = checkStreamUrl(streamUrl, { region: auth.region(), named });
    if (!verdict.trusted) {
      throw new SessionError(
        'UNTRUSTED_ENDPOINT',
        `cannot open the data channel at ${redactQuery(streamUrl)}: ${verdict.host} is not an endpoint ssmx sends credentials to (${verdict.reason})`,
        'if that endpoint is yours (a VPC endpoint, a proxy, an emulator), name it with --ssmmessages-endpoint or AWS_ENDPOINT_URL_SSMMESSAGES',
      );
    }
    const headers = await upgradeSignature(streamUrl, auth);
    const agent = agents && (streamUrl.startsWith('wss:') ? agents.httpsAgent : agents.httpAgent);
    try {
      return await WebSocketTransport.open(streamUrl, { tokenValue, clientId, clientVersion: ReportedClientVersion, ...(agent ? { agent } : {}), ...(headers ? { headers } : {}) });
    } catch (error) {
      throw asSessionError(error as Error, 'cannot open the data channel');
    }
  };
}

/** The upgrade's SigV4 headers: fresh credentials and the current time for every connection (plugin 1.2.835.0, sessionhandler.go). */
async function upgradeSignature(streamUrl: string, auth: DataChannelAuth): Promise<Record<string, string> | undefined> {
  if (!auth.credentials || isPresignedUrl(streamUrl)) return undefined;
  let credentials: Credentials | undefined;
  try {
    credentials = await auth.credentials();
  } catch (error) {
    throw toAwsError(error, 'signing the data channel');
  }
  return credentials && signDataChannelUpgrade(streamUrl, credentials, auth.region(), new Date());
}

const redactQuery = (url: string) => url.split('?')[0]!;

/**
 * Reopens a dropped data channel as the plugin does (docs/protocol.md §10): ResumeSession for a new
 * token, then the StreamUrl it returns (it carries the session's cell), signed anew. A session the
 * service has ended ends here too.
 */
export function resumer(client: SsmClients, started: StartedSession, dial: Dialer): () => Promise<WebSocketTransport> {
  return async () => {
    const resumed = await resumeSession(client, started);
    if ('ended' in resumed) throw new SessionError('ENDED_BY_SERVICE', resumed.ended, resumed.hint);
    return dial(resumed.streamUrl, resumed.tokenValue);
  };
}

/**
 * The data channel of a session already started (by ssmx, or by the AWS CLI in drop-in mode): it
 * reconnects through ResumeSession, ends itself on the service through TerminateSession, and asks
 * KMS for a data key when the agent wants encryption.
 */
export async function openDataChannel(
  started: StartedSession,
  connect: ConnectOptions,
  /** The session's target id, or how to look it up (ECS Exec), should the agent ask for KMS. */
  targetId?: string | (() => Promise<string>),
): Promise<DataChannelSession> {
  const dial = dialer(connect);
  const transport = await dial(started.streamUrl, started.tokenValue);
  const { kms } = connect;
  // A presigned StreamUrl carries its own authorisation: the plugin does not resume such a session
  // ("StreamUrl is presigned, skipping resume session": plugin 1.2.835.0, sessionhandler.go).
  const resumes = connect.reconnectTimeoutMs > 0 && !isPresignedUrl(started.streamUrl);
  const session = new DataChannelSession(transport, {
    clientVersion: ReportedClientVersion,
    // The agent decrypts the data key only under its own target id, so KMS needs to know it.
    ...(kms && targetId
      ? {
          kms: async (keyId: string, challenge: string | undefined) =>
            generateSessionDataKey(kms, keyId, { sessionId: started.sessionId, targetId: typeof targetId === 'string' ? targetId : await targetId(), challenge }),
        }
      : {}),
    ...(resumes ? { reconnect: resumer(connect.ssm, started, dial), reconnectTimeoutMs: connect.reconnectTimeoutMs } : {}),
    terminateOnService: () => terminateSession(connect.ssm, started.sessionId),
    ...(connect.timers ? { timers: connect.timers } : {}),
    ...(connect.debug ? { debug: (line: string) => connect.debug!(`wire ${started.sessionId}: ${line}`) } : {}),
  });
  const { reconnects } = connect;
  if (reconnects) {
    session.on('reconnecting', (reason) => reconnects.reconnecting(reason));
    session.on('resumed', (ms) => reconnects.resumed(ms));
  }
  return session;
}
