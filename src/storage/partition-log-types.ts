/**
 * What a partition log's API takes and returns (partition-log.ts): its options, an append's
 * options and result, a retention pass's result and the log's statistics, kept apart from the log
 * as Kafka keeps LogAppendInfo and its kin apart from UnifiedLog, so that the shard and the
 * broker name them without reading the log's code.
 */
import type { AppendOrigin } from './producer-state.js';
import type { StorageLogger } from './segment.js';

export interface PartitionLogOptions {
  /** Receives what recovery repaired (warn) and routine repairs (info). Default: warnings go to process.emitWarning. */
  logger?: StorageLogger;
  /** The clock for time-based rolling, flushMs, retention and LogAppendTime, in ms. Default Date.now. */
  nowMs?: () => number;
  /**
   * Kafka's producer.id.expiration.ms: a producer with no ongoing transaction is forgotten this
   * long after its last batch's timestamp (checked on open and by applyRetention). Default 1 day.
   */
  producerIdExpirationMs?: number;
}

export interface AppendOptions {
  /** Every batch's CRC32C was checked by the caller; skip that pass on the owner thread. */
  readonly crcVerified?: boolean;
  /**
   * Kafka's append origin. 'client' (the default) is a producer: control batches are refused and
   * idempotent batches are checked for retries and sequence gaps. 'coordinator' is the transaction
   * coordinator writing COMMIT/ABORT markers (or its own records): no sequence checks.
   */
  readonly origin?: AppendOrigin;
}

export interface AppendResult {
  /** The offset assigned to the first record. */
  readonly baseOffset: number;
  /** The offset assigned to the last record. */
  readonly lastOffset: number;
  /** The time stamped on the batches under LogAppendTime, else -1 (as in Kafka's ProduceResponse). */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** The last stable offset after the append. */
  readonly lastStableOffset: number;
  /** Batches written: 0 for a duplicate. */
  readonly batchCount: number;
  /** Bytes written: 0 for a duplicate. */
  readonly sizeBytes: number;
  /**
   * The append was a producer's retry of batches the log already holds: nothing was written, and
   * the offsets (and the LogAppendTime stamp) are the ones the original append was given.
   */
  readonly duplicate: boolean;
}

export type RetentionReason = 'retentionMs' | 'retentionBytes' | 'logStartOffset';

export interface DeletedSegment {
  readonly baseOffset: number;
  /** The offset after its last batch. */
  readonly nextOffset: number;
  readonly sizeBytes: number;
  readonly reason: RetentionReason;
}

export interface RetentionResult {
  readonly deletedSegments: readonly DeletedSegment[];
  readonly logStartOffset: number;
}

export interface SegmentInfo {
  readonly baseOffset: number;
  readonly nextOffset: number;
  readonly sizeBytes: number;
  readonly filePath: string;
  readonly offsetIndexEntries: number;
  readonly timeIndexEntries: number;
}

export interface LogStats {
  readonly segmentCount: number;
  readonly sizeBytes: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly flushedOffset: number;
  /** Records appended but not yet fsynced. */
  readonly unflushedRecords: number;
  /** Flushes that fsynced something (each covers every batch appended before it). */
  readonly flushCount: number;
  readonly appendCount: number;
}
