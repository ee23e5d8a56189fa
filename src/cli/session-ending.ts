import type { SsmClients } from '../aws/ssm.js';
import { withTimeout } from '../session/data-channel-session.js';

/** How long the ending's explanation may hold up the exit. */
const HISTORY_LOOKUP_MS = 3000;

/**
 * What the service says of an ended session: its status in DescribeSessions' History (Failed
 * when the agent reported the session failed, Terminated once it ended, however), or undefined
 * when it does not answer within 3 s. One call, for a session that ended in a way that needs
 * explaining; never a poll.
 */
export async function endedStatus(ssm: SsmClients, sessionId: string): Promise<string | undefined> {
  const lookup = (async () => (await import('../aws/sessions.js')).endedSessionStatus(await ssm.sdk(), sessionId))();
  lookup.catch(() => undefined);
  return withTimeout(lookup, HISTORY_LOOKUP_MS).catch(() => undefined);
}
