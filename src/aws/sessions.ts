import { DescribeSessionsCommand, type SessionFilter, type SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig, instrumentClient, type AwsOptions } from './client-config.js';
import { toAwsError } from './errors.js';

/** An active session as a person reads it. */
export interface ActiveSession {
  sessionId: string;
  target: string;
  document: string;
  startDate: string;
  status: string;
  owner: string;
  reason: string;
}

/** Who the credentials are (STS GetCallerIdentity): sessions are owned by this ARN. */
export async function callerArn(options: AwsOptions): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('./sdk/sts.js');
  const client = instrumentClient(new STSClient(clientConfig(options, 'sts')), options, 'sts');
  try {
    const identity = await client.send(new GetCallerIdentityCommand({}));
    if (!identity.Arn) throw new Error('GetCallerIdentity answered without an ARN');
    return identity.Arn;
  } catch (error) {
    throw toAwsError(error, 'GetCallerIdentity');
  } finally {
    client.destroy();
  }
}

/** The active sessions (DescribeSessions, every page), of one owner or of everyone. */
export async function activeSessions(ssm: SSMClient, owner: string | undefined): Promise<ActiveSession[]> {
  const filters: SessionFilter[] = owner ? [{ key: 'Owner', value: owner }] : [];
  const found: ActiveSession[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await ssm.send(new DescribeSessionsCommand({ State: 'Active', ...(filters.length ? { Filters: filters } : {}), NextToken: nextToken }));
      for (const session of page.Sessions ?? []) {
        found.push({
          sessionId: session.SessionId ?? '',
          target: session.Target ?? '',
          document: session.DocumentName ?? '',
          startDate: session.StartDate ? session.StartDate.toISOString() : '',
          status: session.Status ?? '',
          owner: session.Owner ?? '',
          reason: session.Reason ?? '',
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    throw toAwsError(error, 'DescribeSessions');
  }
  return found;
}

/** One session's status in one of DescribeSessions' states (Active, History), or undefined. */
async function sessionStatusIn(ssm: SSMClient, state: 'Active' | 'History', sessionId: string): Promise<string | undefined> {
  try {
    const found = await ssm.send(new DescribeSessionsCommand({ State: state, Filters: [{ key: 'SessionId', value: sessionId }] }));
    return found.Sessions?.[0]?.Status;
  } catch (error) {
    throw toAwsError(error, 'DescribeSessions');
  }
}

/** An ended session's status as the service keeps it (DescribeSessions, State History), or undefined. */
export const endedSessionStatus = (ssm: SSMClient, sessionId: string): Promise<string | undefined> => sessionStatusIn(ssm, 'History', sessionId);

/** Where the service has a session: active (Connected, Terminating…), ended, or nowhere (undefined). */
export async function findSession(ssm: SSMClient, sessionId: string): Promise<{ active: boolean; status: string } | undefined> {
  const active = await sessionStatusIn(ssm, 'Active', sessionId);
  if (active !== undefined) return { active: true, status: active };
  const ended = await sessionStatusIn(ssm, 'History', sessionId);
  return ended === undefined ? undefined : { active: false, status: ended };
}
