import { randomUUID } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { startSession, type StartSessionInput, type StartedSession } from '../aws/ssm.js';
import { ReportedClientVersion } from '../protocol/version.js';
import type { ChannelClosed } from '../protocol/payloads.js';
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
  const transport = await WebSocketTransport.open(started.streamUrl, {
    tokenValue: started.tokenValue,
    clientId,
    clientVersion: ReportedClientVersion,
  });
  return { started, session: new DataChannelSession(transport, { clientVersion: ReportedClientVersion }) };
}

/** Resolves when the session is ready (after the handshake, if any), rejects if it fails first. */
export function waitReady(session: DataChannelSession): Promise<SessionReady> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    const onClosed = (closed: ChannelClosed) =>
      reject(new SessionError('CONNECTION_LOST', `the session closed before it was ready${closed.output ? `: ${closed.output}` : ''}`));
    session.once('error', onError);
    session.once('closed', onClosed);
    session.once('ready', (ready: SessionReady) => {
      session.off('error', onError);
      session.off('closed', onClosed);
      resolve(ready);
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
