/**
 * What a runner measured, before it becomes a report: the records and value bytes that went
 * through, the time they took, and the latency histogram (null where the mode measures none).
 */
import { performance } from 'node:perf_hooks';
import type { LatencyRecorder } from './latency.js';
import type { RuntimeSummary } from './runtime-monitor.js';

export interface Measurement {
  records: number;
  /** Value bytes produced or consumed (keys, headers and framing not counted, as Kafka's perf tools). */
  bytes: number;
  seconds: number;
  latency: LatencyRecorder | null;
  /** e2e: the main thread's event-loop delay and GC pauses over the timed part; null otherwise. */
  runtime: RuntimeSummary | null;
  /**
   * e2e: the record's path in two more histograms, both from its intended send time: to the
   * send() call that carried it (the sending thread's lateness), and to that call's
   * acknowledgement (the append); the hand-out is `latency`. Absent otherwise.
   */
  stages?: { sendCall: LatencyRecorder; acknowledged: LatencyRecorder };
  /** The partition count actually used (an existing topic keeps its own). */
  partitions: number;
  /** produce --producer-threads: what each thread sent, over its own timed span; absent otherwise. */
  threads?: ThreadMeasurement[];
}

export interface ThreadMeasurement {
  records: number;
  seconds: number;
}

/** Called with the records done so far; the progress bar's feed. */
export type ProgressFn = (recordsDone: number) => void;

/** How long an e2e or consume run may see no new record before it gives up with an error. */
export const STALL_TIMEOUT_MS = 30_000;

/**
 * The end of a consume or e2e run, shared by the embedded and the kafkajs runners: reached when
 * the consumer reports `target` records; failed when the consumer crashes, `signal` aborts, or
 * nothing arrives for STALL_TIMEOUT_MS (records lost would otherwise hang the run).
 */
export class ConsumeTarget {
  private lastProgressMs = performance.now();
  private count = 0;
  private settle!: (outcome: { endMs: number } | { error: unknown }) => void;
  private readonly outcome = new Promise<{ endMs: number } | { error: unknown }>((resolve) => (this.settle = resolve));
  private readonly watchdog: ReturnType<typeof setInterval>;

  constructor(
    private readonly target: number,
    signal: AbortSignal | null,
  ) {
    signal?.addEventListener('abort', () => this.fail(new Error('the run was aborted')), { once: true });
    this.watchdog = setInterval(() => {
      if (performance.now() - this.lastProgressMs > STALL_TIMEOUT_MS) {
        this.fail(new Error(`the consumer received ${this.count} of ${this.target} records and nothing more for ${STALL_TIMEOUT_MS} ms`));
      }
    }, 1000);
  }

  get reached(): boolean {
    return this.count >= this.target;
  }

  /** Records the running total; settles the run once it reaches the target. */
  progress(count: number): void {
    this.count = count;
    this.lastProgressMs = performance.now();
    if (this.reached) this.settle({ endMs: this.lastProgressMs });
  }

  fail(error: unknown): void {
    this.settle({ error });
  }

  /** The time the target was reached; throws what failed the run. Stops the watchdog. */
  async finished(): Promise<number> {
    try {
      const result = await this.outcome;
      if ('error' in result) throw result.error;
      return result.endMs;
    } finally {
      clearInterval(this.watchdog);
    }
  }

  /** Stops the watchdog of a run abandoned before finished() was awaited. */
  dispose(): void {
    clearInterval(this.watchdog);
  }
}
