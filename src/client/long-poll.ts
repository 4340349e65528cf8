/**
 * The consumer's long poll: waits until one fetched partition has data past its offset, or the
 * consumer is woken (a rebalance, seek, resume, assignment or stop), or the time is up. It parks
 * one BrokerApi.waitForData per partition, each carrying the timeout itself, so no timer runs
 * beside them; with nothing to fetch it waits on a timer that wake() cuts short.
 */
import { setMaxListeners } from 'node:events';
import type { BrokerApi, IsolationLevel } from '../broker/broker-api.js';

/** Why the consumer aborts its broker waits; a reason given up front spares a DOMException per abort. */
const LONG_POLL_ENDED = new Error('the consumer long poll ended');

export class LongPoll {
  /**
   * Cancels the long poll's broker waits. One controller serves poll after poll and is replaced
   * only once aborted (by wake(), or to withdraw the waits still parked when another partition's
   * data ended the poll): a controller per poll cost an AbortSignal, and aborting it a
   * DOMException, for every record a consumer at the head of the log receives.
   */
  private waitController: AbortController | null = null;
  /** True while a long poll is parked on broker waits: wake() aborts them only then. */
  private polling = false;
  /** Ends the timer-only wait of a poll with no partition to fetch (set while it runs). */
  private endIdleWait: (() => void) | null = null;
  /** Set by wake(), cleared by takeWake(): a wait that starts after a wake returns at once. */
  private woken = false;

  constructor(
    private readonly broker: Pick<BrokerApi, 'waitForData'>,
    private readonly isolationLevel: IsolationLevel,
  ) {}

  /**
   * Long poll: until one partition has data past its offset, the consumer is woken, or
   * `timeoutMs`. Each broker wait carries the timeout itself, so no timer runs beside them.
   */
  async wait(partitions: readonly { topic: string; partition: number }[], offsets: readonly number[], timeoutMs: number): Promise<void> {
    if (this.woken || timeoutMs <= 0) return;
    if (partitions.length === 0) return this.idle(timeoutMs);
    let controller = this.waitController;
    if (controller === null || controller.signal.aborted) {
      controller = new AbortController();
      // One listener per partition waited on, each removed when its wait ends: bounded by the
      // assignment, so Node's leak warning (past 10) would only cry wolf for a larger one.
      setMaxListeners(0, controller.signal);
      this.waitController = controller;
    }
    const signal = controller.signal;
    let parked = partitions.length;
    this.polling = true;
    try {
      await new Promise<void>((resolve) => {
        // A failed wait ends the poll too: the fetch that follows reports the cause.
        const settled = (): void => {
          parked--;
          resolve();
        };
        for (let i = 0; i < partitions.length; i++) {
          const { topic, partition } = partitions[i];
          this.broker.waitForData(topic, partition, offsets[i], timeoutMs, signal, this.isolationLevel).then(settled, settled);
        }
      });
    } finally {
      this.polling = false;
      if (parked > 0) controller.abort(LONG_POLL_ENDED);
    }
  }

  /** The poll of a consumer with nothing to fetch (all paused, or no partitions yet): a timer wake() can cut short. */
  idle(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.endIdleWait = null;
        resolve();
      };
      const timer = setTimeout(end, timeoutMs);
      this.endIdleWait = end;
    });
  }

  /** Interrupts the long poll (a rebalance, seek, resume, assignment or stop needs the loop). */
  wake(): void {
    this.woken = true;
    if (this.polling) this.waitController?.abort(LONG_POLL_ENDED);
    this.endIdleWait?.();
  }

  /** Whether wake() was called since the last call; clears it. */
  takeWake(): boolean {
    const woken = this.woken;
    this.woken = false;
    return woken;
  }
}
