/**
 * The clock and timers a state machine's driver uses, handed in so that tests run seconds of
 * backoff, deadlines and retransmissions in microseconds of fake time.
 */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout;

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
