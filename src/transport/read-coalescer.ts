/**
 * Whether to let the data channel's next bytes gather in the kernel for a moment before reading
 * them. During a download the agent writes every 1 KiB message as its own frame; when ssmx keeps
 * up, each read brings a few frames, and each read costs a system call, a pass of the event loop
 * and a write of acknowledgements. Waiting a millisecond once a busy pass has emptied the socket
 * lets the next read bring tens of KiB: the same bytes and acknowledgements in a fraction of the
 * calls (issue 13's CPU figure). A pass is everything one pass of the event loop read (over TLS,
 * all the records of a socket read). It never slows a link down:
 * - only a pass that read at least `minBytes` waits, so typing and small replies never do;
 * - a pass that read `maxBytes` or more did not empty the socket (one socket read is up to
 *   64 KiB; the peer is ahead), so it does not wait: reading goes on at once, as fast as the peer
 *   sends;
 * - after a wait, what Node read meanwhile and what the kernel holds come in the same pass, so a
 *   backlog is judged whole, never cut by a wait.
 * Pure: the transport tells it each pass's bytes and does the pausing.
 */
export interface CoalescerOptions {
  minBytes: number;
  maxBytes: number;
  pauseMs: number;
}

export const DEFAULT_COALESCING: CoalescerOptions = { minBytes: 4 * 1024, maxBytes: 32 * 1024, pauseMs: 1 };

export class ReadCoalescer {
  constructor(private readonly options: CoalescerOptions = DEFAULT_COALESCING) {}

  /** After a pass of the event loop that read `bytes`: how many milliseconds to stop reading (0: none). */
  afterPass(bytes: number): number {
    return bytes >= this.options.minBytes && bytes < this.options.maxBytes ? this.options.pauseMs : 0;
  }
}
