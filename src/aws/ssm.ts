import { SSMClient, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { clientConfig, traceClient, type AwsOptions } from './client-config.js';
import { AwsError, toAwsError } from './errors.js';

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

export function createSsmClient(options: AwsOptions): SSMClient {
  return traceClient(new SSMClient(clientConfig(options, 'ssm')), options, 'ssm');
}

export async function startSession(client: SSMClient, input: StartSessionInput): Promise<StartedSession> {
  try {
    const output = await client.send(
      new StartSessionCommand({
        Target: input.target,
        ...(input.documentName ? { DocumentName: input.documentName } : {}),
        ...(input.parameters ? { Parameters: input.parameters } : {}),
        ...(input.reason ? { Reason: input.reason } : {}),
      }),
    );
    if (!output.SessionId || !output.TokenValue || !output.StreamUrl) {
      throw new AwsError('service', 'IncompleteResponse', 'StartSession answered without a session id, token or stream URL');
    }
    return { sessionId: output.SessionId, tokenValue: output.TokenValue, streamUrl: output.StreamUrl };
  } catch (error) {
    throw toAwsError(error, 'StartSession');
  }
}

/** Ends the session on the service side; failures are returned, not thrown, as it runs on the way out. */
export async function terminateSession(client: SSMClient, sessionId: string): Promise<AwsError | undefined> {
  try {
    await client.send(new TerminateSessionCommand({ SessionId: sessionId }));
    return undefined;
  } catch (error) {
    return toAwsError(error, 'TerminateSession');
  }
}
