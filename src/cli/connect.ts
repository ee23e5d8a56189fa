import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import type { AwsOptions } from '../aws/client-config.js';
import { generateSessionDataKey } from '../aws/kms.js';
import { resumeSession, startSession, terminateSession, type SsmClients, type StartSessionInput, type StartedSession } from '../aws/ssm.js';
import type { Timers } from '../channel/timers.js';
import { ReportedClientVersion } from '../protocol/version.js';
import { DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { asSessionError } from '../session/link.js';
import { WebSocketTransport } from '../transport/websocket.js';

/** One process-wide client id, as the plugin keeps one across reconnects (docs/protocol.md §1). */
const clientId = randomUUID();

/** Everything a session needs from the AWS side and from the person running ssmx. */
export interface ConnectOptions {
  ssm: SsmClients;
  /** How long to keep trying to reopen a dropped data channel; 0 turns reconnecting off. */
  reconnectTimeoutMs: number;
  /** Credentials, region and endpoint for KMS, should the agent ask for an encrypted session. */
  kms?: AwsOptions | undefined;
  /** One line for the person when the link drops and when it is back. */
  notice?: ((line: string) => void) | undefined;
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

/** StartSession, then the data channel on its StreamUrl: the path every command takes. */
export async function openSession(input: StartSessionInput, connect: ConnectOptions, onStarted?: (started: StartedSession) => void): Promise<OpenedSession> {
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

async function openTransport(given: string, tokenValue: string, agents: ConnectOptions['agents'], endpoint?: string): Promise<WebSocketTransport> {
  const streamUrl = rewriteStreamUrl(given, endpoint);
  const agent = agents && (streamUrl.startsWith('wss:') ? agents.httpsAgent : agents.httpAgent);
  try {
    return await WebSocketTransport.open(streamUrl, { tokenValue, clientId, clientVersion: ReportedClientVersion, ...(agent ? { agent } : {}) });
  } catch (error) {
    throw asSessionError(error as Error, 'cannot open the data channel');
  }
}

/**
 * Reopens a dropped data channel as the plugin does (docs/protocol.md §10): ResumeSession for a new
 * token, then the StreamUrl it returns. A session the service has ended ends here too.
 */
export function resumer(client: SsmClients, started: StartedSession, agents?: ConnectOptions['agents'], endpoint?: string): () => Promise<WebSocketTransport> {
  return async () => {
    const resumed = await resumeSession(client, started);
    if ('ended' in resumed) throw new SessionError('ENDED_BY_SERVICE', resumed.ended, resumed.hint);
    return openTransport(resumed.streamUrl, resumed.tokenValue, agents, endpoint);
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
  const transport = await openTransport(started.streamUrl, started.tokenValue, connect.agents, connect.streamEndpoint);
  const { kms } = connect;
  const session = new DataChannelSession(transport, {
    clientVersion: ReportedClientVersion,
    // The agent decrypts the data key only under its own target id, so KMS needs to know it.
    ...(kms && targetId
      ? { kms: async (keyId: string) => generateSessionDataKey(kms, keyId, { sessionId: started.sessionId, targetId: typeof targetId === 'string' ? targetId : await targetId() }) }
      : {}),
    ...(connect.reconnectTimeoutMs > 0 ? { reconnect: resumer(connect.ssm, started, connect.agents, connect.streamEndpoint), reconnectTimeoutMs: connect.reconnectTimeoutMs } : {}),
    terminateOnService: () => terminateSession(connect.ssm, started.sessionId),
    ...(connect.timers ? { timers: connect.timers } : {}),
    ...(connect.debug ? { debug: (line: string) => connect.debug!(`wire ${started.sessionId}: ${line}`) } : {}),
  });
  if (connect.notice) {
    const notice = connect.notice;
    session.on('reconnecting', (reason) => notice(`ssmx: the connection dropped (${reason.message}); reconnecting…`));
    session.on('resumed', (ms) => notice(`ssmx: reconnected after ${(ms / 1000).toFixed(1)} s`));
  }
  return session;
}
