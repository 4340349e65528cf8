/**
 * What a runner measured, before it becomes a report: the records and value bytes that went
 * through, the time they took, and the latency histogram (null where the mode measures none).
 */
import type { LatencyRecorder } from './latency.js';

export interface Measurement {
  records: number;
  /** Value bytes produced or consumed (keys, headers and framing not counted, as Kafka's perf tools). */
  bytes: number;
  seconds: number;
  latency: LatencyRecorder | null;
  /** The partition count actually used (an existing topic keeps its own). */
  partitions: number;
}

/** Called with the records done so far; the progress bar's feed. */
export type ProgressFn = (recordsDone: number) => void;

/** How long an e2e or consume run may see no new record before it gives up with an error. */
export const STALL_TIMEOUT_MS = 30_000;
