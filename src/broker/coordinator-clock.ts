/**
 * Time for the coordinators (groups and transactions): an injected clock, so tests drive session,
 * rebalance and transaction timeouts without sleeping, and the real one for production.
 */

/** Opaque handle from the injected clock's setTimeout. */
export type TimerHandle = unknown;

export interface CoordinatorClock {
  /** Wall-clock milliseconds: deadlines and commit timestamps. */
  nowMs(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Real time. Timers keep the process alive: a pending JoinGroup resolves on one. None outlives
 * the last member's session once members stop calling, and close() clears them all.
 */
export const systemClock: CoordinatorClock = {
  nowMs: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** setTimeout's largest delay; every timeout a coordinator arms must fit in it. */
export const MAX_TIMER_DELAY_MS = 0x7fff_ffff;
