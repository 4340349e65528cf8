/**
 * What the main thread's runtime did during the timed part of an e2e run, the suspects of a
 * latency tail besides the broker itself: how late the event loop ran its timers
 * (perf_hooks.monitorEventLoopDelay), the garbage collector's pauses (the `gc` performance
 * entries), and, on Linux, how long the thread was runnable but not running because the
 * scheduler gave its core to another thread (/proc/thread-self/schedstat). All three cover the
 * main thread only: the producer, the consumer and their long polls run there; a shard thread's
 * pause shows up as the records it delays.
 *
 * The delay histogram samples with a 1 ms timer (the finest monitorEventLoopDelay takes) and
 * records the time between samples; the interval is taken off, so what is reported is how far past
 * its due time each sample ran, and stalls under about a millisecond are not seen.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';

export interface RuntimeSummary {
  /** The event loop's delay past each 1 ms sample's due time, in ms (null: no sample taken). */
  eventLoopDelayMs: { p50: number; p99: number; p999: number; max: number } | null;
  /** Garbage collections on the main thread: how many, their summed pause and the longest. */
  gc: { count: number; totalMs: number; maxMs: number };
  /** Linux: the main thread's time on a core, and runnable but waiting for one (null elsewhere). */
  scheduler: { runningMs: number; runnableWaitingMs: number } | null;
}

const SAMPLE_INTERVAL_MS = 1;
const NS_PER_MS = 1e6;

export class RuntimeMonitor {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: SAMPLE_INTERVAL_MS });
  private readonly observer: PerformanceObserver;
  private gcCount = 0;
  private gcTotalMs = 0;
  private gcMaxMs = 0;
  private readonly schedulerAtStart = readSchedstat();

  /** Starts watching now. */
  constructor() {
    this.observer = new PerformanceObserver((list) => this.countGcs(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
    this.delay.enable();
  }

  /** Stops watching and summarizes. */
  stop(): RuntimeSummary {
    const schedulerAtStop = readSchedstat();
    this.delay.disable();
    // Entries observed but not yet delivered to the callback.
    this.countGcs(this.observer.takeRecords());
    this.observer.disconnect();
    const delay = this.delay;
    const pastDue = (ns: number): number => Math.max(0, ns / NS_PER_MS - SAMPLE_INTERVAL_MS);
    const start = this.schedulerAtStart;
    return {
      eventLoopDelayMs:
        delay.count === 0
          ? null
          : { p50: pastDue(delay.percentile(50)), p99: pastDue(delay.percentile(99)), p999: pastDue(delay.percentile(99.9)), max: pastDue(delay.max) },
      gc: { count: this.gcCount, totalMs: this.gcTotalMs, maxMs: this.gcMaxMs },
      scheduler:
        start === null || schedulerAtStop === null
          ? null
          : { runningMs: (schedulerAtStop[0] - start[0]) / NS_PER_MS, runnableWaitingMs: (schedulerAtStop[1] - start[1]) / NS_PER_MS },
    };
  }

  private countGcs(entries: readonly PerformanceEntry[]): void {
    for (const entry of entries) {
      this.gcCount++;
      this.gcTotalMs += entry.duration;
      if (entry.duration > this.gcMaxMs) this.gcMaxMs = entry.duration;
    }
  }
}

/** The calling thread's [ns on a core, ns runnable waiting for one], or null where /proc has no schedstat. */
function readSchedstat(): [number, number] | null {
  try {
    const [running, waiting] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return Number.isFinite(running) && Number.isFinite(waiting) ? [running, waiting] : null;
  } catch {
    return null;
  }
}
