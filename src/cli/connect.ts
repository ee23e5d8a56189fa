import { randomUUID } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { startSession, terminateSession, type StartSessionInput, type StartedSession } from '../aws/ssm.js';
import { FlagValue, PayloadType } from '../protocol/constants.js';
import { AgentGates, isVersionGreater, ReportedClientVersion } from '../protocol/version.js';
import { encodeFlag, type ChannelClosed } from '../protocol/payloads.js';
import { DataChannelSession, type SessionReady } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import { WebSocketTransport } from '../transport/websocket.js';

/** One process-wide client id, as the plugin keeps one across reconnects (CLIENT.md §1.1). */
const clientId = randomUUID();

export interface OpenedSession {
  started: StartedSession;
  session: DataChannelSession;
}

/** StartSession, then the data channel on its StreamUrl: the path every command takes. */
export async function openSession(client: SSMClient, input: StartSessionInput, onStarted?: (started: StartedSession) => void): Promise<OpenedSession> {
  const started = await startSession(client, input);
  onStarted?.(started);
  return { started, session: await openDataChannel(started) };
}

/** The data channel of a session already started (by ssmx, or by the AWS CLI in drop-in mode). */
export async function openDataChannel(started: StartedSession): Promise<DataChannelSession> {
  const transport = await WebSocketTransport.open(started.streamUrl, {
    tokenValue: started.tokenValue,
    clientId,
    clientVersion: ReportedClientVersion,
  });
  return new DataChannelSession(transport, { clientVersion: ReportedClientVersion });
}

/**
 * Ends a session from this side as the agent version allows (SPEC §8): the TerminateSession flag
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
