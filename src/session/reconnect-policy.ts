/** The first pause before a reconnect attempt, the cap of its doubling, and the default window. */
export const RECONNECT_FIRST_DELAY_MS = 100;
export const RECONNECT_MAX_DELAY_MS = 5000;
export const DEFAULT_RECONNECT_TIMEOUT_MS = 180_000;
/** A connection that lived less than this before it dropped does not restart the reconnect window. */
export const STABLE_CONNECTION_MS = 1000;

/**
 * When to try reopening a dropped data channel, as pure arithmetic: capped exponential backoff with
 * jitter, inside a window that opens at a drop and is not renewed by a link that keeps dropping at
 * once. Time and randomness are passed in.
 */
export class ReconnectPolicy {
  private deadline: number | undefined;
  private attempt = 0;

  constructor(readonly timeoutMs: number = DEFAULT_RECONNECT_TIMEOUT_MS) {}

  /** The link dropped at `now`, after being up since `connectedAt`. */
  dropped(now: number, connectedAt: number): void {
    this.attempt = 0;
    if (this.deadline === undefined || now - connectedAt >= STABLE_CONNECTION_MS) this.deadline = now + this.timeoutMs;
  }

  /**
   * An attempt failed at `now`: how long to wait before the next, or undefined when the window is
   * spent. `random` is in [0, 1): the wait is half to all of the backoff, never past the deadline.
   */
  nextDelay(now: number, random: number): number | undefined {
    const deadline = this.deadline ?? now;
    if (now >= deadline) return undefined;
    const backoff = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** this.attempt++);
    return Math.min(backoff * (0.5 + random / 2), deadline - now);
  }
}
