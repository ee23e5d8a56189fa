/**
 * Retransmission timeout from measured round trips (docs/protocol.md §6): the plugin's
 * constants and formula, RFC 6298 in shape. Karn's rule is the caller's: it only feeds samples of
 * messages that were sent once.
 */
export const RtoDefaults = {
  initialRoundTripTime: 100,
  initialRoundTripTimeVariation: 0,
  initialTimeout: 200,
  clockGranularity: 10,
  maxTimeout: 1000,
  alpha: 1 / 8,
  beta: 1 / 4,
} as const;

export class RtoEstimator {
  roundTripTime: number = RtoDefaults.initialRoundTripTime;
  roundTripTimeVariation: number = RtoDefaults.initialRoundTripTimeVariation;
  timeout: number = RtoDefaults.initialTimeout;

  /** Takes one sample in milliseconds; the variation uses the previous round-trip time. */
  sample(roundTrip: number): void {
    const { alpha, beta, clockGranularity, maxTimeout } = RtoDefaults;
    this.roundTripTimeVariation =
      (1 - beta) * this.roundTripTimeVariation + beta * Math.abs(this.roundTripTime - roundTrip);
    this.roundTripTime = (1 - alpha) * this.roundTripTime + alpha * roundTrip;
    this.timeout = Math.min(
      this.roundTripTime + Math.max(clockGranularity, 4 * this.roundTripTimeVariation),
      maxTimeout,
    );
  }
}
