import type { SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig, instrumentClient, type AwsOptions } from './client-config.js';
import { AwsError, toAwsError } from './errors.js';
import { createJsonApi, type JsonApi } from './json-api.js';

export type { AwsOptions } from './client-config.js';

export interface StartedSession {
  sessionId: string;
  tokenValue: string;
  streamUrl: string;
}

export interface StartSessionInput {
  target: string;
  documentName?: string | undefined;
  parameters?: Record<string, string[]> | undefined;
  reason?: string | undefined;
}

/**
 * The SSM of a command: the calls on a session's path (StartSession, ResumeSession,
 * TerminateSession, and DescribeInstanceInformation for targets) through the small JSON client
 * (src/aws/json-api.ts), every other operation (Run Command, documents, DescribeSessions) through
 * the SDK's SSMClient, loaded and made on first use. A session never loads the SDK's client.
 */
export interface SsmClients {
  session: JsonApi;
  sdk(): Promise<SSMClient>;
  destroy(): void;
}

export function createSsmClients(options: AwsOptions): SsmClients {
  let sdk: Promise<SSMClient> | undefined;
  const session = createJsonApi(options, 'ssm');
  return {
    session,
    sdk: () => (sdk ??= createSsmClient(options)),
    destroy() {
      session.destroy();
      void sdk?.then((client) => client.destroy(), () => undefined);
    },
  };
}

/** The SDK's SSM client, loaded on first use (as the EC2, KMS and STS clients are). */
export async function createSsmClient(options: AwsOptions): Promise<SSMClient> {
  const { SSMClient } = await import('./sdk/ssm.js');
  return instrumentClient(new SSMClient(clientConfig(options, 'ssm')), options, 'ssm');
}

export async function startSession(ssm: SsmClients, input: StartSessionInput): Promise<StartedSession> {
  try {
    const output = await ssm.session.call<{ SessionId?: string; TokenValue?: string; StreamUrl?: string }>('StartSession', {
      Target: input.target,
      ...(input.documentName ? { DocumentName: input.documentName } : {}),
      ...(input.parameters ? { Parameters: input.parameters } : {}),
      ...(input.reason ? { Reason: input.reason } : {}),
    });
    if (!output.SessionId || !output.TokenValue || !output.StreamUrl) {
      throw new AwsError('service', 'IncompleteResponse', 'StartSession answered without a session id, token or stream URL');
    }
    return { sessionId: output.SessionId, tokenValue: output.TokenValue, streamUrl: output.StreamUrl };
  } catch (error) {
    const failure = toAwsError(error, 'StartSession');
    throw failure.code === 'TargetNotConnected' ? await whyNotConnected(ssm, input.target, failure) : failure;
  }
}

/**
 * The service says TargetNotConnected both for an instance that is offline and for an id it has
 * never seen (a typo, another account or region): one lookup tells them apart.
 */
async function whyNotConnected(ssm: SsmClients, target: string, failure: AwsError): Promise<AwsError> {
  if (!/^(i|mi)-[0-9a-f]+$/.test(target)) return failure;
  const { describeManagedInstance } = await import('./targets.js');
  const known = await describeManagedInstance(ssm.session, target);
  if (known === null) return failure;
  if (!known) {
    return new AwsError('target', 'UnknownTarget', `${target} is not a managed instance in this account and region`, 'check the id, --profile and --region (ssmx list shows the instances there)');
  }
  const seen = known.LastPingDateTime ? `, last seen ${new Date(known.LastPingDateTime).toISOString()}` : '';
  return new AwsError('target', 'TargetNotConnected', `${target} is not connected (ping status ${known.PingStatus ?? 'unknown'}${seen})`, failure.hint);
}

/** Ends the session on the service side; failures are returned, not thrown, as it runs on the way out. */
export async function terminateSession(ssm: SsmClients, sessionId: string): Promise<AwsError | undefined> {
  try {
    await ssm.session.call('TerminateSession', { SessionId: sessionId });
    return undefined;
  } catch (error) {
    return toAwsError(error, 'TerminateSession');
  }
}

/** What ResumeSession gave: a new token and stream URL, or why the session cannot go on. */
export type Resumed = { tokenValue: string; streamUrl: string } | { ended: string; hint?: string | undefined };

/**
 * ResumeSession (docs/protocol.md §10): a new token for a session whose data channel dropped, and
 * the StreamUrl to reopen (the original when the answer has none). No token, a target that is gone,
 * or credentials that no longer work mean the session has ended; anything else (throttling, the
 * network) is thrown, for the caller to try again.
 */
export async function resumeSession(ssm: SsmClients, started: StartedSession): Promise<Resumed> {
  let output;
  try {
    output = await ssm.session.call<{ SessionId?: string; TokenValue?: string; StreamUrl?: string }>('ResumeSession', { SessionId: started.sessionId });
  } catch (error) {
    const failure = toAwsError(error, 'ResumeSession');
    if (failure.kind === 'target' || failure.kind === 'credentials' || failure.kind === 'permission') {
      return { ended: `the session ${started.sessionId} cannot be resumed: ${failure.message}`, hint: failure.hint };
    }
    throw failure;
  }
  if (!output.TokenValue) return { ended: `the session ${started.sessionId} has ended on the service (it timed out, or was terminated)` };
  return { tokenValue: output.TokenValue, streamUrl: output.StreamUrl ?? started.streamUrl };
}
