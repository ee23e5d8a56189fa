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

/**
 * The longest round trip of the last 15 to 30 s, the least a message waits before it goes again.
 *
 * The RTO follows the typical round trip, and an agent's acks are not typical: it acknowledges a
 * message once its plugin's write returns (datachannel.go, `handleStreamDataMessage`), and behind
 * a destination slower than the upload that write waits for the kernel to find room in a full
 * socket buffer, which Linux gives back only once a good part of it has drained: acks then come in
 * bursts, with pauses of a second or more between them and a few milliseconds within. Each pause
 * outlasts an RTO made of the fast ones, and over TCP a late ack is queueing, not loss, so a copy
 * sent then only arrives to be dropped (what the real agent showed: issue 29). Once a pause has
 * been seen, a message waits at least as long before it is sent again; a loss inside a stream of
 * acks is repaired by the ack that overtakes it (fast retransmit), whatever this says.
 */
export class LongestRoundTrip {
  static readonly periodMs = 15_000;
  private current = 0;
  private previous = 0;
  private periodStart = -Infinity;

  sample(roundTrip: number, now: number): void {
    this.roll(now);
    this.current = Math.max(this.current, roundTrip);
  }

  value(now: number): number {
    this.roll(now);
    return Math.max(this.current, this.previous);
  }

  /** A new connection: what the old one's path did says nothing of the new one's. */
  reset(): void {
    this.current = 0;
    this.previous = 0;
    this.periodStart = -Infinity;
  }

  private roll(now: number): void {
    if (now - this.periodStart < LongestRoundTrip.periodMs) return;
    // Two periods and more without a sample: nothing recent is left.
    this.previous = now - this.periodStart < 2 * LongestRoundTrip.periodMs ? this.current : 0;
    this.current = 0;
    this.periodStart = now;
  }
}
