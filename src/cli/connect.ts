import { randomUUID } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ResumeSessionCommand } from '@aws-sdk/client-ssm';
import type { AwsOptions } from '../aws/client-config.js';
import { toAwsError } from '../aws/errors.js';
import { generateSessionDataKey } from '../aws/kms.js';
import { startSession, terminateSession, type StartSessionInput, type StartedSession } from '../aws/ssm.js';
import { FlagValue, PayloadType } from '../protocol/constants.js';
import { AgentGates, isVersionGreater, ReportedClientVersion } from '../protocol/version.js';
import { encodeFlag, type ChannelClosed } from '../protocol/payloads.js';
import { DataChannelSession, type SessionReady } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { WebSocketTransport } from '../transport/websocket.js';

/** One process-wide client id, as the plugin keeps one across reconnects (docs/protocol.md §9). */
const clientId = randomUUID();

export interface OpenedSession {
  started: StartedSession;
  session: DataChannelSession;
}

export interface ResumeOptions {
  /** How long to keep trying to reopen a dropped data channel. */
  reconnectTimeoutMs: number;
  /** One line for the person when the link drops and when it is back. */
  notice?: (line: string) => void;
  /** Credentials, region and endpoint for KMS, when the agent asks for an encrypted session. */
  aws?: AwsOptions;
}

/** StartSession, then the data channel on its StreamUrl: the path every command takes. */
export async function openSession(
  client: SSMClient,
  input: StartSessionInput,
  onStarted?: (started: StartedSession) => void,
  resume?: ResumeOptions,
): Promise<OpenedSession> {
  const started = await startSession(client, input);
  onStarted?.(started);
  return { started, session: await openDataChannel(started, resume ? { client, ...resume } : undefined, input.target) };
}

function openTransport(streamUrl: string, tokenValue: string): Promise<WebSocketTransport> {
  return WebSocketTransport.open(streamUrl, { tokenValue, clientId, clientVersion: ReportedClientVersion });
}

/**
 * Reopens a dropped data channel as the plugin does (docs/protocol.md §10): ResumeSession for a new
 * token, then the StreamUrl it returns (the plugin's own; the original when none). No token means
 * the service has ended the session.
 */
export function resumer(client: SSMClient, started: StartedSession): () => Promise<WebSocketTransport> {
  return async () => {
    let output;
    try {
      output = await client.send(new ResumeSessionCommand({ SessionId: started.sessionId }));
    } catch (error) {
      const failure = toAwsError(error, 'ResumeSession');
      if (failure.kind === 'target' || failure.kind === 'credentials' || failure.kind === 'permission') {
        throw new SessionError('ENDED_BY_SERVICE', `the session ${started.sessionId} cannot be resumed: ${failure.message}`, failure.hint);
      }
      throw failure;
    }
    if (!output.TokenValue) throw new SessionError('ENDED_BY_SERVICE', `the session ${started.sessionId} has ended on the service (it timed out, or was terminated)`);
    return openTransport(output.StreamUrl ?? started.streamUrl, output.TokenValue);
  };
}

/**
 * The data channel of a session already started (by ssmx, or by the AWS CLI in drop-in mode).
 * With `resume`, a dropped link is reopened through ResumeSession, with a notice each way.
 */
export async function openDataChannel(
  started: StartedSession,
  resume?: ResumeOptions & { client: SSMClient },
  /** The session's target id, or how to look it up (ECS Exec) should the agent ask for KMS. */
  targetId?: string | (() => Promise<string>),
): Promise<DataChannelSession> {
  const transport = await openTransport(started.streamUrl, started.tokenValue);
  const aws = resume?.aws;
  const session = new DataChannelSession(transport, {
    clientVersion: ReportedClientVersion,
    // The agent decrypts the data key only under its own target id, so KMS needs to know it.
    ...(aws && targetId
      ? { kms: async (keyId: string) => generateSessionDataKey(aws, keyId, { sessionId: started.sessionId, targetId: typeof targetId === 'string' ? targetId : await targetId() }) }
      : {}),
    ...(resume && resume.reconnectTimeoutMs > 0 ? { reconnect: resumer(resume.client, started), reconnectTimeoutMs: resume.reconnectTimeoutMs } : {}),
  });
  if (resume?.notice) {
    const notice = resume.notice;
    session.on('reconnecting', (reason: Error) => notice(`ssmx: the connection dropped (${reason.message}); reconnecting…`));
    session.on('resumed', (ms: number) => notice(`ssmx: reconnected after ${(ms / 1000).toFixed(1)} s`));
  }
  return session;
}

/**
 * Ends a session from this side as the agent version allows (docs/protocol.md §8): the TerminateSession flag
 * for agents after 2.3.722.0, the TerminateSession API otherwise, or when the channel is not ready.
 */
export async function endSession(client: SSMClient, sessionId: string, session: DataChannelSession | undefined, agentVersion: string | undefined): Promise<void> {
  if (session?.isReady && agentVersion && isVersionGreater(agentVersion, AgentGates.terminateSessionFlag)) {
    session.send(PayloadType.Flag, encodeFlag(FlagValue.TerminateSession));
    // Let the flag leave before the socket closes.
    await new Promise((resolve) => setImmediate(resolve));
    session.end();
    return;
  }
  session?.end();
  await withTimeout(terminateSession(client, sessionId), 2000);
}

/**
 * Resolves when the session is ready (after the handshake, if any), rejects if it fails first.
 * `attach` runs inside the `ready` event, so the listeners it adds see the output and the close
 * that may come in the same read as the handshake's end; awaiting first would miss them.
 */
export function waitReady<T = SessionReady>(session: DataChannelSession, attach?: (ready: SessionReady) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    const onClosed = (closed: ChannelClosed) =>
      reject(new SessionError('CONNECTION_LOST', `the session closed before it was ready${closed.output ? `: ${closed.output}` : ''}`));
    session.once('error', onError);
    session.once('closed', onClosed);
    session.once('ready', (ready: SessionReady) => {
      session.off('error', onError);
      session.off('closed', onClosed);
      try {
        resolve(attach ? attach(ready) : (ready as T));
      } catch (error) {
        session.end();
        reject(error);
      }
    });
  });
}

/** Waits at most `ms` for a promise; resolves undefined on timeout or failure (for best-effort work on the way out). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}
