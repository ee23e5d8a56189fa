import type { TimerHandle, Timers } from '../../src/channel/timers.js';

/**
 * Timers on a clock that moves only when the test says: `advance(ms)` runs every timer that falls
 * due, in order, letting promises settle between them, so seconds of backoff take microseconds.
 */
export class FakeTimers implements Timers {
  private time: number;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  constructor(start = 1_732_800_000_000) {
    this.time = start;
  }

  now = (): number => this.time;

  setTimeout = (callback: () => void, ms: number): TimerHandle => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), callback });
    return id as unknown as TimerHandle;
  };

  clearTimeout = (handle: TimerHandle | undefined): void => {
    if (handle !== undefined) this.pending.delete(handle as unknown as number);
  };

  /** When the next timer falls due, or undefined when none is set. */
  get nextAt(): number | undefined {
    let earliest: number | undefined;
    for (const { at } of this.pending.values()) if (earliest === undefined || at < earliest) earliest = at;
    return earliest;
  }

  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await settle();
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
      await settle();
    }
    this.time = until;
  }
}

/** Lets promise chains and setImmediate callbacks run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
