import { SSMClient, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { AwsError, toAwsError } from './errors.js';

export interface AwsOptions {
  region?: string | undefined;
  profile?: string | undefined;
  endpointUrl?: string | undefined;
}

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

/** The SSM endpoint: the flag, then AWS_ENDPOINT_URL_SSM, then AWS_ENDPOINT_URL, else the SDK's. */
export function resolveEndpoint(options: AwsOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return options.endpointUrl || env.AWS_ENDPOINT_URL_SSM || env.AWS_ENDPOINT_URL || undefined;
}

export function createSsmClient(options: AwsOptions): SSMClient {
  // The SDK warns on every run that its 2027 releases will need Node 22; ssmx pins its SDK, and a
  // user of a shell should not see that notice on every session.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = resolveEndpoint(options);
  return new SSMClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(endpoint ? { endpoint } : {}),
    credentials: fromNodeProviderChain(options.profile ? { profile: options.profile } : {}),
    maxAttempts: 3,
  });
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
