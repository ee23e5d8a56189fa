/**
 * Whether to let the data channel's next bytes gather in the kernel for a moment before reading
 * them. During a download the agent writes every 1 KiB message as its own frame; when ssmx keeps
 * up, each read brings a few frames, and each read costs a system call, a turn of the event loop
 * and a write of acknowledgements. Waiting a millisecond once a busy turn has emptied the socket
 * lets the next read bring tens of KiB: the same bytes and acknowledgements in a fraction of the
 * calls (issue 13's CPU figure). It never slows a link down:
 * - only a turn that read at least `minBytes` waits, so typing and small replies never do;
 * - a turn that read `maxBytes` or more did not empty the socket (the peer is ahead), so it
 *   does not wait: reading goes on at once, as fast as the peer sends;
 * - the turn after a wait hands over what Node read while paused, and is not judged, so the
 *   backlog in the kernel is read before the next wait.
 * Pure: the transport tells it each turn's bytes and does the pausing.
 */
export interface CoalescerOptions {
  minBytes: number;
  maxBytes: number;
  pauseMs: number;
}

export const DEFAULT_COALESCING: CoalescerOptions = { minBytes: 4 * 1024, maxBytes: 32 * 1024, pauseMs: 1 };

export class ReadCoalescer {
  private replaying = false;

  constructor(private readonly options: CoalescerOptions = DEFAULT_COALESCING) {}

  /** After a turn of the event loop that read `bytes`: how many milliseconds to stop reading (0: none). */
  afterTurn(bytes: number): number {
    if (this.replaying) {
      this.replaying = false;
      return 0;
    }
    return bytes >= this.options.minBytes && bytes < this.options.maxBytes ? this.options.pauseMs : 0;
  }

  /** Reading starts again after a wait; `buffered`: Node holds bytes it read meanwhile, handed over next turn. */
  resumed(buffered: boolean): void {
    this.replaying = buffered;
  }
}
