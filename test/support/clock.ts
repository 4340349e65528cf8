/**
 * Time that moves only when a test says so, for the coordinators (CoordinatorClock): timers fire
 * in deadline order inside advance(), so a test of a session timeout or a transaction timeout
 * steps past the deadline instead of sleeping through it.
 */
import type { CoordinatorClock } from '../../src/broker/coordinator-clock.js';

export class ManualClock implements CoordinatorClock {
  private now = 1_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { atMs: number; callback: () => void }>();

  nowMs(): number {
    return this.now;
  }

  setTimeout(callback: () => void, delayMs: number): number {
    const id = this.nextId++;
    this.timers.set(id, { atMs: this.now + delayMs, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer due meanwhile, earliest first. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let timer = this.takeDue(target); timer !== null; timer = this.takeDue(target)) timer.callback();
    this.now = target;
  }

  /** Like advance, but lets the promise chains each timer starts run before the next one fires. */
  async advanceSettling(ms: number): Promise<void> {
    const target = this.now + ms;
    for (let timer = this.takeDue(target); timer !== null; timer = this.takeDue(target)) {
      timer.callback();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.now = target;
  }

  /** Removes and returns the earliest timer due by `target`, with the clock set to its deadline. */
  private takeDue(target: number): { callback: () => void } | null {
    let nextId = -1;
    let nextAt = Infinity;
    for (const [id, timer] of this.timers) {
      if (timer.atMs <= target && timer.atMs < nextAt) {
        nextId = id;
        nextAt = timer.atMs;
      }
    }
    if (nextId < 0) return null;
    const timer = this.timers.get(nextId)!;
    this.timers.delete(nextId);
    this.now = timer.atMs;
    return timer;
  }
}
