/** The first pause before a replacement session, the cap of its doubling, and the failures in a row allowed. */
export const REPLACEMENT_FIRST_DELAY_MS = 500;
export const REPLACEMENT_MAX_DELAY_MS = 10_000;
export const MAX_REPLACEMENT_FAILURES = 5;

/**
 * When to start a session in place of one that ended (a forward's pool), as pure arithmetic: each
 * StartSession is an audited session and an agent process on the instance, so every replacement,
 * for any reason, waits a growing, jittered delay. A session counts as failed unless it carried
 * data: one that reaches "ready" and then ends with nothing carried (the agent refusing its
 * destination: port.go initializeParameters) is a failure like a StartSession that fails, and only
 * a session that carried data resets the count. Randomness is passed in.
 */
export class ReplacementPolicy {
  private failedInARow = 0;

  constructor(readonly maxFailures: number = MAX_REPLACEMENT_FAILURES) {}

  get failures(): number {
    return this.failedInARow;
  }

  /**
   * A session ended (or could not be started: `carried` false). The delay before the next
   * attempt, or undefined once `maxFailures` sessions in a row carried nothing. `random` is in
   * [0, 1): the wait is half to all of the backoff.
   */
  next(carried: boolean, random: number): number | undefined {
    this.failedInARow = carried ? 0 : this.failedInARow + 1;
    if (this.failedInARow >= this.maxFailures) return undefined;
    const backoff = Math.min(REPLACEMENT_MAX_DELAY_MS, REPLACEMENT_FIRST_DELAY_MS * 2 ** this.failedInARow);
    return backoff * (0.5 + random / 2);
  }
}
