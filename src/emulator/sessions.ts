import { randomBytes } from 'node:crypto';
import type { InstanceConfig } from './config.js';
import type { SessionDocument } from './documents.js';

export interface SessionRecord {
  sessionId: string;
  target: InstanceConfig;
  document: SessionDocument;
  parameters: Record<string, string[]>;
  reason: string | undefined;
  owner: string;
  /** The token the next WebSocket open must present; each ResumeSession issues a new one. */
  tokenValue: string;
  /** Failed: the agent reported the session failed (a Port session's read error, a destination it could not dial). */
  status: 'Connected' | 'Terminated' | 'Failed';
  startDate: Date;
  endDate?: Date;
}

const newToken = () => randomBytes(96).toString('base64');

/** The service's record of sessions; the agent side attaches to them by id. */
export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly terminateListeners = new Map<string, () => void>();

  create(fields: Omit<SessionRecord, 'sessionId' | 'tokenValue' | 'status' | 'startDate'> & { idPrefix?: string }): SessionRecord {
    // AWS names a session after the caller, then a random suffix.
    // As the service names them: the caller's name (the end of its ARN), or ECS Exec's own prefix.
    const prefix = fields.idPrefix ?? fields.owner.split('/').pop()!;
    const sessionId = `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
    const record: SessionRecord = { ...fields, sessionId, tokenValue: newToken(), status: 'Connected', startDate: new Date() };
    this.sessions.set(sessionId, record);
    return record;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  resume(record: SessionRecord): string {
    record.tokenValue = newToken();
    return record.tokenValue;
  }

  onTerminate(sessionId: string, listener: () => void): void {
    this.terminateListeners.set(sessionId, listener);
  }

  terminate(sessionId: string): void {
    const record = this.sessions.get(sessionId);
    if (!record || record.status !== 'Connected') return;
    record.status = 'Terminated';
    record.endDate = new Date();
    const listener = this.terminateListeners.get(sessionId);
    this.terminateListeners.delete(sessionId);
    listener?.();
  }

  /** The agent ended the session by itself (the shell exited), or reported it failed. */
  ended(sessionId: string, failed = false): void {
    const record = this.sessions.get(sessionId);
    if (!record || record.status !== 'Connected') return;
    record.status = failed ? 'Failed' : 'Terminated';
    record.endDate = new Date();
    this.terminateListeners.delete(sessionId);
  }

  all(): SessionRecord[] {
    return [...this.sessions.values()];
  }
}
