/**
 * The log of one partition: a directory of segments (see segment.ts), Kafka's storage model.
 *
 *   append       validates whole RecordBatch v2 batches, assigns offsets by rewriting baseOffset in
 *                place (outside the CRC), writes them with one write, maybe rolls and flushes
 *   read         whole batches from the one holding an offset, found via the offset index
 *   readSlice    the same as a file range, for a sendfile-style server
 *   offsetForTimestamp, truncateTo, deleteRecordsBefore, applyRetention, roll, flush, close
 *   cleanerView, replaceSegments   the log cleaner's view and swap (log-cleaner.ts, cleanupCompact)
 *
 * A PartitionLog is owned by one shard worker thread and uses synchronous I/O; it is not safe to
 * share between threads. The log decodes only batch headers, except on a compacted log
 * (cleanupCompact), whose appends are checked for records without a key, as Kafka checks them.
 *
 * Durability: by default nothing is fsynced while running; the page cache holds appends and a
 * process crash loses nothing. flushMessages / flushMs fsync (group commit: one flush covers every
 * batch appended since the last), `flushedOffset` is the offset below which data is on disk, and
 * the recovery point checkpoint lets a restart validate only the segments that may be torn.
 * close() always flushes, as Kafka does on shutdown, so a clean restart validates only the active
 * segment.
 *
 * Any unexpected I/O error in a mutating call stops the log (fail-stop, as Kafka takes a log
 * directory offline): the descriptors are closed and later calls throw ClosedError naming the
 * cause. Reopening the directory recovers it.
 *
 * Idempotent and transactional producers (producer-state.ts): append drops retried batches and
 * rejects sequence gaps and stale epochs, tracks transactions, and records each aborted one in its
 * segment's `.txnindex` (txn-index.ts). The last stable offset is the first offset of the oldest
 * ongoing transaction, or the high watermark, which on a single broker is the log end offset:
 * an append is acknowledged only once it is in this log, the only replica. Producer state is
 * snapshotted (producer-state-snapshot.ts) at each roll, on close and on request, keeping the last
 * two; opening the log loads the newest usable snapshot and replays the batch headers after it.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ClosedError,
  CorruptFileError,
  CorruptRecordError,
  InvalidConfigError,
  InvalidRequestError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  SluiceError,
} from '../errors.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAX_TIMESTAMP_OFFSET,
  TIMESTAMP_TYPE_MASK,
  batchSizeAt,
  computeBatchCrc,
  readBaseOffset,
  readLastOffsetDelta,
  readMaxTimestamp,
  readRecordCount,
  validateBatchAt,
  writeBaseOffset,
} from '../protocol/batch-header.js';
import { writeInt64 } from '../protocol/int64.js';
import { resolveLogConfig, type LogConfig } from './log-config.js';
import { recoverInterruptedCleaning, requireRecordKeys, type CleanerLogView } from './log-cleaner.js';
import { floorIndexBy } from './floor-search.js';
import { OFFSET_INDEX_ENTRY_BYTES } from './offset-index.js';
import {
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ProducerStateManager,
  type AppendOrigin,
  type DuplicateAppend,
  type ProducerStateView,
} from './producer-state.js';
import {
  deleteProducerSnapshot,
  listProducerSnapshots,
  readProducerSnapshot,
  writeProducerSnapshot,
  type ProducerSnapshotEntry,
} from './producer-state-snapshot.js';
import {
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  loadSegments,
  readOffsetCheckpoint,
  scanPartitionDirectory,
  writeOffsetCheckpoint,
  type RecoveryReport,
} from './recovery.js';
import { fsyncDirectory } from './durable-fs.js';
import {
  FileWindow,
  Segment,
  type BatchLocation,
  type SegmentSettings,
  type StorageLogger,
} from './segment.js';
import { NO_TIMESTAMP, TIME_INDEX_ENTRY_BYTES } from './time-index.js';
import type { AbortedTransaction, AbortedTxn } from './txn-index.js';

export type { StorageLogger } from './segment.js';
export type { RecoveryReport } from './recovery.js';
export type { AppendOrigin, ProducerStateView } from './producer-state.js';
export type { AbortedTransaction } from './txn-index.js';

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

/** How opening the log restored producer state and the transaction indexes. */
export interface ProducerStateRecovery {
  /** The snapshot the replay started from, or null when it started empty at the log start offset. */
  readonly snapshotOffset: number | null;
  readonly replayedFromOffset: number;
  /** Batches whose headers were replayed. */
  readonly batchesReplayed: number;
  /** Snapshots that failed their checks and were deleted. */
  readonly snapshotsDiscarded: number;
  /** Transaction index entries for markers at or after this offset were rebuilt by the replay. */
  readonly txnIndexRebuiltFrom: number;
}

export interface ReadResult {
  /** Whole batches, starting with the one holding the requested offset; empty at the log end. */
  readonly bytes: Buffer;
  /** The offset to read from next: after the last returned batch. */
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

/**
 * The bytes `read` would return, as a range of one segment file, for sending without copying them
 * through JavaScript. `fd` stays valid until the next truncateTo, deleteRecordsBefore,
 * applyRetention, replaceSegments (a log clean's swap) or close of this log.
 */
export interface ReadSlice {
  readonly filePath: string;
  readonly fd: number;
  readonly positionBytes: number;
  readonly sizeBytes: number;
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
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

const INT32_MAX = 0x7fff_ffff;
/** Producer snapshots kept: the newest two, so a truncation below the newest can still start from one. */
const MAX_PRODUCER_SNAPSHOTS = 2;
/** Header scans read this much at a time: an index interval plus a batch header, with room. */
const HEADER_WINDOW_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);

interface LoadedSnapshot {
  readonly offset: number;
  readonly entries: ProducerSnapshotEntry[];
}

const DEFAULT_LOGGER: StorageLogger = {
  info: () => {},
  warn: (message) => process.emitWarning(message, { type: 'SluiceStorageWarning' }),
};

/** How new segments size their indexes and space their entries, from the log's settings. */
function segmentSettings(config: LogConfig, logger: StorageLogger): SegmentSettings {
  return {
    indexIntervalBytes: config.indexIntervalBytes,
    maxOffsetIndexEntries: Math.floor(config.segmentIndexBytes / OFFSET_INDEX_ENTRY_BYTES),
    maxTimeIndexEntries: Math.floor(config.segmentIndexBytes / TIME_INDEX_ENTRY_BYTES),
    logger,
  };
}

export class PartitionLog {
  readonly dir: string;
  private currentConfig: LogConfig;
  /** What opening the directory found and repaired. */
  readonly recovery: RecoveryReport;
  private readonly logger: StorageLogger;
  private readonly clock: () => number;
  private settings: SegmentSettings;
  private readonly segments: Segment[];
  private readonly window = new FileWindow(HEADER_WINDOW_BYTES);
  private startOffset: number;
  private endOffset: number;
  private flushed: number;
  /** The recovery point as the checkpoint file holds it. */
  private checkpointedRecoveryPoint: number;
  private oldestUnflushedAppendMs: number | null = null;
  /** Segment files were created or deleted since the directory was last fsynced. */
  private dirDirty: boolean;
  private flushCount = 0;
  private appendCount = 0;
  private closedBecause: string | null = null;
  private readonly producers: ProducerStateManager;
  /** The offsets of the producer snapshots in the directory, ascending. */
  private snapshotOffsets: number[] = [];
  private producerRecovery: ProducerStateRecovery | null = null;

  private constructor(fields: {
    dir: string;
    config: LogConfig;
    logger: StorageLogger;
    clock: () => number;
    settings: SegmentSettings;
    segments: Segment[];
    startOffset: number;
    checkpointedRecoveryPoint: number;
    recovery: RecoveryReport;
    dirDirty: boolean;
    producerIdExpirationMs: number;
  }) {
    this.dir = fields.dir;
    this.currentConfig = fields.config;
    this.logger = fields.logger;
    this.clock = fields.clock;
    this.settings = fields.settings;
    this.segments = fields.segments;
    this.startOffset = fields.startOffset;
    this.endOffset = this.activeSegment.nextOffset;
    this.checkpointedRecoveryPoint = fields.checkpointedRecoveryPoint;
    this.flushed = Math.min(fields.checkpointedRecoveryPoint, this.endOffset);
    this.recovery = fields.recovery;
    this.dirDirty = fields.dirDirty;
    this.producers = new ProducerStateManager(fields.producerIdExpirationMs);
  }

  /**
   * Opens (creating if needed) the log in `dir`, recovering it after a crash: see recovery.ts.
   * `config` overrides the defaults of log-config.ts and is validated (InvalidConfigError).
   */
  static open(dir: string, config: Partial<LogConfig> = {}, options: PartitionLogOptions = {}): PartitionLog {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new InvalidRequestError('the partition log directory must be a non-empty path string');
    }
    const resolved = resolveLogConfig(config);
    const producerIdExpirationMs = options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
    if (!Number.isSafeInteger(producerIdExpirationMs) || producerIdExpirationMs < 1) {
      throw new InvalidConfigError(
        `producerIdExpirationMs (producer.id.expiration.ms) must be an integer >= 1, got ${String(producerIdExpirationMs)}`,
      );
    }
    const logger = options.logger ?? DEFAULT_LOGGER;
    const clock = options.nowMs ?? Date.now;
    const settings = segmentSettings(resolved, logger);
    mkdirSync(dir, { recursive: true });
    const nowMs = clock();
    const cleanerRepairs = recoverInterruptedCleaning(dir, logger);
    const { baseOffsets, filesRemoved } = scanPartitionDirectory(dir, logger);
    filesRemoved.unshift(...cleanerRepairs);
    const checkpointedStart = readOffsetCheckpoint(join(dir, LOG_START_OFFSET_CHECKPOINT_FILE));
    const recoveryPoint = readRecoveryPoint(dir, logger);
    const { segments, report } = loadSegments(dir, baseOffsets, recoveryPoint, settings, nowMs, filesRemoved);
    let dirDirty = false;
    try {
      const endOffset = segments.length === 0 ? 0 : segments[segments.length - 1].nextOffset;
      let startOffset = Math.max(checkpointedStart ?? 0, segments.length === 0 ? 0 : segments[0].baseOffset);
      if (startOffset > endOffset) {
        // Only a lost tail can put the checkpointed start past the end. Offsets below the start
        // were handed out already, so restart the log empty at the start rather than reuse them.
        if (segments.length > 0) {
          logger.warn(
            `log start offset ${startOffset} is past the recovered log end offset ${endOffset} in ${dir}; ` +
              `deleting ${segments.length} segment(s) and restarting the log empty at ${startOffset}`,
          );
        }
        for (const segment of segments.splice(0)) segment.delete();
      }
      if (segments.length === 0) {
        segments.push(Segment.create(dir, startOffset, settings, nowMs));
        dirDirty = true;
      }
      segments[segments.length - 1].activate();
      const log = new PartitionLog({
        dir,
        config: resolved,
        logger,
        clock,
        settings,
        segments,
        startOffset,
        checkpointedRecoveryPoint: recoveryPoint,
        recovery: report,
        dirDirty,
        producerIdExpirationMs,
      });
      log.lowerRecoveryPointCheckpointIfAbove(log.endOffset);
      log.producerRecovery = log.loadProducerState(recoveryPoint, nowMs);
      return log;
    } catch (error) {
      for (const segment of segments) segment.close();
      throw error;
    }
  }

  /** The log's settings; updateConfig replaces them while the log runs. */
  get config(): LogConfig {
    return this.currentConfig;
  }

  /**
   * Kafka's dynamic topic config change (AlterConfigs): the new settings apply from the next
   * append (max.message.bytes, segment.bytes, segment.ms, message.timestamp.type, the key check
   * of a compacted log), retention pass, flush check and clean. As in Kafka, segment.index.bytes
   * and index.interval.bytes shape the segments created afterwards; existing ones keep theirs.
   * `config` is validated first (InvalidConfigError) and nothing changes when it is invalid.
   */
  updateConfig(config: Partial<LogConfig>): LogConfig {
    this.ensureOpen();
    const resolved = resolveLogConfig(config);
    this.settings = segmentSettings(resolved, this.logger);
    this.currentConfig = resolved;
    return resolved;
  }

  get logStartOffset(): number {
    return this.startOffset;
  }

  get logEndOffset(): number {
    return this.endOffset;
  }

  /** Every offset below this is fsynced: the recovery point. */
  get flushedOffset(): number {
    return this.flushed;
  }

  /**
   * Kafka's last stable offset: the first offset of the oldest ongoing transaction (raised to the
   * log start offset), else the high watermark, here the log end offset (see the module comment).
   * read_committed consumers read below it.
   */
  get lastStableOffset(): number {
    const firstUnstable = this.producers.firstUnstableOffset;
    if (firstUnstable < 0) return this.endOffset;
    return Math.min(Math.max(firstUnstable, this.startOffset), this.endOffset);
  }

  /** Whether the log was closed, or stopped itself after an I/O error. */
  get isClosed(): boolean {
    return this.closedBecause !== null;
  }

  /** How opening the log restored producer state. */
  get producerStateRecovery(): ProducerStateRecovery {
    assert.ok(this.producerRecovery !== null, 'set by open');
    return this.producerRecovery;
  }

  /** Producers the log currently remembers. */
  get producerCount(): number {
    return this.producers.producerCount;
  }

  /** What the log knows about one producer, or null when it has no state for it. */
  producerState(producerId: number): ProducerStateView | null {
    this.ensureOpen();
    if (!Number.isSafeInteger(producerId) || producerId < 0) {
      throw new InvalidRequestError(`producerId must be an integer >= 0, got ${String(producerId)}`);
    }
    return this.producers.producer(producerId);
  }

  /**
   * Appends one or more whole RecordBatch v2 batches, exactly as a producer sent them. Each is
   * validated (length, magic, CRC32C, counts, dense offsets, maxMessageBytes) before anything is
   * written, so a bad batch rejects the whole append. Offsets are assigned by rewriting each
   * baseOffset in `batches` itself, which the log takes over: the caller must not reuse it for
   * other data while expecting its old contents.
   *
   * `options.crcVerified` says the caller already checked every batch's CRC32C (see
   * validateBatchAt): the owner thread then skips that pass, which costs about as much as the
   * write itself. Everything else is still validated.
   *
   * Batches with a producer id are checked against that producer's state (producer-state.ts):
   * a retry is answered with its original offsets and `duplicate: true`, writing nothing; a
   * sequence gap throws OutOfOrderSequenceError, an older epoch InvalidProducerEpochError, a
   * non-transactional batch inside a transaction InvalidTxnStateError, a control batch from a
   * client InvalidRecordError. Any of these rejects the whole append.
   */
  append(batches: Buffer, options: AppendOptions = {}): AppendResult {
    this.ensureOpen();
    if (!Buffer.isBuffer(batches)) {
      throw new InvalidRequestError('append takes a Buffer holding whole record batches');
    }
    const origin = options.origin ?? 'client';
    if (origin !== 'client' && origin !== 'coordinator') {
      throw new InvalidRequestError(`append origin must be 'client' or 'coordinator', got ${JSON.stringify(origin)}`);
    }
    const byteLength = batches.length;
    if (byteLength === 0) throw new InvalidRequestError('append needs at least one record batch; the buffer is empty');
    if (byteLength > this.config.segmentBytes) {
      throw new RecordTooLargeError(byteLength, this.config.segmentBytes, 'segmentBytes');
    }
    let offsetCount = 0;
    let batchCount = 0;
    let maxTimestampMs = NO_TIMESTAMP;
    for (let position = 0; position < byteLength; ) {
      const sizeBytes = validateBatchAt(batches, position, byteLength, 0, options.crcVerified !== true);
      if (sizeBytes > this.config.maxMessageBytes) {
        throw new RecordTooLargeError(sizeBytes, this.config.maxMessageBytes, 'maxMessageBytes');
      }
      const recordCount = readRecordCount(batches, position);
      const lastOffsetDelta = readLastOffsetDelta(batches, position);
      if (recordCount === 0 || lastOffsetDelta !== recordCount - 1) {
        throw new CorruptRecordError(
          position,
          `lastOffsetDelta ${lastOffsetDelta} does not match record count ${recordCount}: a producer's batch ` +
            `holds at least one record and its offset deltas run 0 to count - 1`,
        );
      }
      let batchMaxTimestampMs: number;
      try {
        batchMaxTimestampMs = readMaxTimestamp(batches, position);
      } catch {
        throw new CorruptRecordError(position, 'maxTimestamp is outside the safe integer range');
      }
      if (batchMaxTimestampMs > maxTimestampMs) maxTimestampMs = batchMaxTimestampMs;
      offsetCount += recordCount;
      batchCount++;
      position += sizeBytes;
    }
    if (offsetCount - 1 > INT32_MAX) {
      throw new CorruptRecordError(0, `the batches hold ${offsetCount} records, more than one segment can index`);
    }
    if (this.config.cleanupCompact) requireRecordKeys(batches, byteLength);
    const check = this.producers.checkAppend(batches, byteLength, origin);
    if (check.duplicate !== null) return this.duplicateResult(check.duplicate);
    const hasProducerBatches = check.producerBatches > 0;
    return this.mutate(() =>
      this.appendValidated(batches, byteLength, offsetCount, batchCount, maxTimestampMs, hasProducerBatches),
    );
  }

  /**
   * Kafka's fetch-side index lookup: the aborted transactions overlapping [fromOffset, upToOffset),
   * as a FetchResponse lists them, read from the transaction indexes of the segment holding
   * `fromOffset` onward until an entry's last stable offset reaches `upToOffset` (after it, every
   * aborted transaction starts past the range). A read_committed consumer drops their records.
   */
  abortedTransactions(fromOffset: number, upToOffset: number): AbortedTransaction[] {
    this.ensureOpen();
    requireOffset('fromOffset', fromOffset);
    requireOffset('upToOffset', upToOffset);
    if (upToOffset < fromOffset) {
      throw new InvalidRequestError(`upToOffset ${upToOffset} is below fromOffset ${fromOffset}`);
    }
    const found: AbortedTransaction[] = [];
    for (let i = this.floorSegmentIndex(fromOffset); i < this.segments.length; i++) {
      if (this.segments[i].txnIndex.collect(fromOffset, upToOffset, found)) break;
    }
    return found;
  }

  /**
   * Writes a producer state snapshot at the log end offset, so that a restart replays nothing
   * before it. Returns that offset.
   */
  takeProducerSnapshot(): number {
    this.ensureOpen();
    return this.mutate(() => this.writeProducerSnapshotNow());
  }

  /**
   * Kafka's removeExpiredProducers: forgets every producer with no ongoing transaction whose last
   * batch's timestamp is producerIdExpirationMs or more before `nowMs`; a later batch from it is
   * accepted at any sequence, as from a new producer. Returns how many were forgotten.
   */
  removeExpiredProducers(nowMs: number = this.clock()): number {
    this.ensureOpen();
    if (!Number.isSafeInteger(nowMs)) {
      throw new InvalidRequestError(`removeExpiredProducers takes a time in ms, got ${String(nowMs)}`);
    }
    return this.producers.removeExpiredProducers(nowMs);
  }

  /**
   * Whole batches starting with the one that holds `fromOffset` (it may start before it, as in
   * Kafka), as many as fit in `maxBytes` but at least that first one, from a single segment.
   * Empty at the log end offset; OffsetOutOfRangeError below the log start or above the end.
   *
   * With `into`, the bytes are read into that buffer and `bytes` is a view of it, so a reader that
   * reuses one buffer allocates nothing per read; at most `into.length` bytes are read. If the
   * first batch alone is larger than `into`, it is returned whole in a new buffer instead.
   */
  read(fromOffset: number, maxBytes: number, into?: Buffer): ReadResult {
    this.ensureOpen();
    requireOffset('fromOffset', fromOffset);
    requireByteCount('maxBytes', maxBytes);
    if (into !== undefined && !Buffer.isBuffer(into)) {
      throw new InvalidRequestError('read takes an optional Buffer to read into');
    }
    const found = this.locate(fromOffset);
    if (found === null) return this.readResult(EMPTY, fromOffset);
    const { segment, batch } = found;
    let length = Math.min(Math.max(maxBytes, batch.sizeBytes), segment.sizeBytes - batch.position);
    let bytes: Buffer;
    if (into !== undefined && into.length >= batch.sizeBytes) {
      length = Math.min(length, into.length);
      bytes = into;
    } else {
      bytes = Buffer.allocUnsafe(length);
    }
    segment.readInto(batch.position, length, bytes, 0);
    let end = batch.sizeBytes;
    let nextOffset = batch.lastOffset + 1;
    while (end + BATCH_HEADER_BYTES <= length) {
      const sizeBytes = bytes.readInt32BE(end + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
      if (sizeBytes < BATCH_HEADER_BYTES) {
        const batchLength = sizeBytes - LOG_OVERHEAD_BYTES;
        throw new CorruptFileError(segment.logPath, `batch length at byte ${batch.position + end} is ${batchLength}`);
      }
      if (end + sizeBytes > length) break;
      nextOffset = readBaseOffset(bytes, end) + readLastOffsetDelta(bytes, end) + 1;
      end += sizeBytes;
    }
    return this.readResult(end === bytes.length ? bytes : bytes.subarray(0, end), nextOffset);
  }

  /** What `read(fromOffset, maxBytes)` would return, as a file range instead of a copy. */
  readSlice(fromOffset: number, maxBytes: number): ReadSlice {
    this.ensureOpen();
    requireOffset('fromOffset', fromOffset);
    requireByteCount('maxBytes', maxBytes);
    const found = this.locate(fromOffset);
    const segment = found === null ? this.activeSegment : found.segment;
    let positionBytes = segment.sizeBytes;
    let sizeBytes = 0;
    let nextOffset = fromOffset;
    if (found !== null) {
      const end = segment.wholeBatchesEnd(found.batch, maxBytes, this.window);
      positionBytes = found.batch.position;
      sizeBytes = end.endPosition - positionBytes;
      nextOffset = end.nextOffset;
    }
    return {
      filePath: segment.logPath,
      fd: segment.fd,
      positionBytes,
      sizeBytes,
      nextOffset,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
    };
  }

  /**
   * Kafka's ListOffsets by timestamp, answered from batch headers: the base offset of the first
   * batch (at or after the log start offset) whose max timestamp is >= `timestampMs`, raised to the
   * log start offset if that falls inside the batch; null when no batch reaches it.
   *
   * Kafka answers with the first RECORD in that same batch whose timestamp is >= the target, which
   * needs the records decoded. This answer is never later than Kafka's and differs only by records
   * of that one batch that are older than the target; it equals Kafka's when the batch's first
   * record qualifies, and always under LogAppendTime (every record carries the batch's time).
   * Kafka's special targets (-1 latest, -2 earliest) are logEndOffset and logStartOffset.
   */
  offsetForTimestamp(timestampMs: number): number | null {
    this.ensureOpen();
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
      throw new InvalidRequestError(
        `offsetForTimestamp takes a timestamp in ms >= 0, got ${String(timestampMs)}; for Kafka's -1 (latest) ` +
          `and -2 (earliest) use logEndOffset and logStartOffset`,
      );
    }
    this.window.invalidate();
    for (const segment of this.segments) {
      if (segment.nextOffset <= this.startOffset || segment.maxTimestampMs < timestampMs) continue;
      const offset = segment.findOffsetByTimestamp(timestampMs, this.startOffset, this.window);
      if (offset !== null) return offset;
    }
    return null;
  }

  /**
   * Removes every record at and after `offset`. A batch that holds `offset` goes whole, as in
   * Kafka, so the new log end offset is that batch's base offset. Later segments are deleted.
   * If `offset` is below the first segment, the log restarts empty at `offset` (Kafka's
   * truncateFullyAndStartAt). The cut is fsynced so a crash cannot bring removed batches back.
   * Returns the new log end offset.
   */
  truncateTo(offset: number): number {
    this.ensureOpen();
    requireOffset('offset', offset);
    if (offset >= this.endOffset) return this.endOffset;
    this.mutate(() => {
      this.window.invalidate();
      const nowMs = this.clock();
      // A crash during the cut must not leave a snapshot or recovery point above it vouching for
      // transaction index entries the cut already removed (see loadProducerState).
      this.dropUnusableSnapshots(offset);
      this.lowerRecoveryPointCheckpointIfAbove(offset);
      if (offset < this.segments[0].baseOffset) {
        for (const segment of this.segments.splice(0)) segment.delete();
        this.segments.push(Segment.create(this.dir, offset, this.settings, nowMs));
        this.dirDirty = true;
      } else {
        while (this.activeSegment.baseOffset > offset) {
          this.segments.pop()!.delete();
          this.dirDirty = true;
        }
        this.activeSegment.truncateTo(offset, this.window, nowMs);
      }
      this.endOffset = this.activeSegment.nextOffset;
      this.flushed = Math.min(this.flushed, this.endOffset);
      if (this.flushed === this.endOffset) this.oldestUnflushedAppendMs = null;
      this.activeSegment.flush();
      this.syncDirectoryIfDirty();
      this.lowerRecoveryPointCheckpointIfAbove(this.flushed);
      if (this.startOffset > this.endOffset) this.setLogStartOffset(this.endOffset);
      // The transaction indexes are exact below the new end: only their entries past it go.
      this.dropUnusableSnapshots();
      this.restoreProducerState(this.endOffset, nowMs, this.readNewestSnapshot(this.endOffset, { count: 0 }));
    });
    return this.endOffset;
  }

  /**
   * Kafka's DeleteRecords: advances the log start offset to `offset` (persisted atomically in
   * log-start-offset.checkpoint) and deletes the segments wholly below it. Reads below the new
   * start fail with OffsetOutOfRangeError. A no-op at or below the current start. Returns the
   * log start offset.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    requireOffset('offset', offset);
    if (offset > this.endOffset) {
      throw new OffsetOutOfRangeError(offset, this.startOffset, this.endOffset, 'deleteRecordsBefore');
    }
    if (offset <= this.startOffset) return this.startOffset;
    this.mutate(() => {
      this.setLogStartOffset(offset);
      this.deleteOldSegments(this.isBelowLogStart, 'logStartOffset', [], this.clock());
      this.dropSnapshotsBelowLogStart();
    });
    return this.startOffset;
  }

  /**
   * Kafka's retention pass: deletes the oldest segments while their newest record is older than
   * retentionMs (measured against `nowMs`), then while the log exceeds retentionBytes, then any
   * wholly below the log start offset. Segments go whole and oldest first; the active segment is
   * deleted only by rolling a new, empty one first, and an empty last segment never. The log start
   * offset moves to the first remaining segment. Producers idle for producerIdExpirationMs are
   * forgotten too (Kafka runs that on its own timer; the owner's retention timer serves here).
   */
  applyRetention(nowMs: number = this.clock()): RetentionResult {
    this.ensureOpen();
    if (!Number.isSafeInteger(nowMs)) throw new InvalidRequestError(`applyRetention takes a time in ms, got ${String(nowMs)}`);
    const deleted: DeletedSegment[] = [];
    this.mutate(() => {
      const { retentionMs, retentionBytes } = this.config;
      if (retentionMs >= 0) {
        this.deleteOldSegments((segment) => nowMs - segment.largestTimestampMs() > retentionMs, 'retentionMs', deleted, nowMs);
      }
      const sizeBytes = this.totalSizeBytes();
      if (retentionBytes >= 0 && sizeBytes >= retentionBytes) {
        let excessBytes = sizeBytes - retentionBytes;
        this.deleteOldSegments(
          (segment) => {
            if (excessBytes - segment.sizeBytes < 0) return false;
            excessBytes -= segment.sizeBytes;
            return true;
          },
          'retentionBytes',
          deleted,
          nowMs,
        );
      }
      this.deleteOldSegments(this.isBelowLogStart, 'logStartOffset', deleted, nowMs);
      this.producers.removeExpiredProducers(nowMs);
      this.dropSnapshotsBelowLogStart();
    });
    return { deletedSegments: deleted, logStartOffset: this.startOffset };
  }

  /** Starts a new segment at the log end offset (a no-op when the active segment is empty). */
  roll(): void {
    this.ensureOpen();
    this.mutate(() => {
      this.rollAt(this.clock());
    });
  }

  /** fsyncs every batch appended so far (one group commit) and advances the flushed offset. */
  flush(): void {
    this.ensureOpen();
    this.mutate(() => this.flushNow());
  }

  /** Flushes if the oldest unflushed append is at least flushMs old. Returns whether it flushed. */
  maybeFlush(nowMs: number = this.clock()): boolean {
    this.ensureOpen();
    if (!Number.isSafeInteger(nowMs)) throw new InvalidRequestError(`maybeFlush takes a time in ms, got ${String(nowMs)}`);
    const dueAtMs = this.flushDueAtMs();
    if (dueAtMs === null || nowMs < dueAtMs) return false;
    this.mutate(() => this.flushNow());
    return true;
  }

  /** When maybeFlush will next have work under flushMs, for the owner's timer; null if never. */
  flushDueAtMs(): number | null {
    if (this.config.flushMs === null || this.oldestUnflushedAppendMs === null) return null;
    return this.oldestUnflushedAppendMs + this.config.flushMs;
  }

  stats(): LogStats {
    return {
      segmentCount: this.segments.length,
      sizeBytes: this.totalSizeBytes(),
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      flushedOffset: this.flushed,
      unflushedRecords: this.endOffset - this.flushed,
      flushCount: this.flushCount,
      appendCount: this.appendCount,
    };
  }

  segmentInfos(): SegmentInfo[] {
    return this.segments.map((segment) => ({
      baseOffset: segment.baseOffset,
      nextOffset: segment.nextOffset,
      sizeBytes: segment.sizeBytes,
      filePath: segment.logPath,
      offsetIndexEntries: segment.offsetIndexEntries,
      timeIndexEntries: segment.timeIndexEntries,
    }));
  }

  /**
   * What the log cleaner (log-cleaner.ts) plans a clean from: copies of the segments' facts, every
   * aborted transaction the transaction indexes hold, and each producer's last data batch (which
   * cleaning must keep so that a replay restores the producer).
   */
  cleanerView(): CleanerLogView {
    this.ensureOpen();
    const abortedTxns: AbortedTxn[] = [];
    for (const segment of this.segments) abortedTxns.push(...segment.txnIndex.allEntries);
    return {
      dir: this.dir,
      config: this.config,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      lastStableOffset: this.lastStableOffset,
      segments: this.segments.map((segment) => ({
        baseOffset: segment.baseOffset,
        nextOffset: segment.nextOffset,
        sizeBytes: segment.sizeBytes,
        largestTimestampMs: segment.largestTimestampMs(),
        firstBatchTimestampMs: segment.firstBatchTimestampMs,
      })),
      abortedTxns,
      producers: this.producers.snapshotEntries().map((entry) => ({
        producerId: entry.producerId,
        producerEpoch: entry.producerEpoch,
        lastDataOffset: entry.batches.length === 0 ? -1 : entry.batches[entry.batches.length - 1].lastOffset,
      })),
    };
  }

  /**
   * The log cleaner's swap (log-cleaner.ts): `installFiles` puts a cleaned segment's files in place
   * of the consecutive inactive segments starting at `baseOffsets[0]` (over the first one's files,
   * deleting the others'); their Segment objects are then replaced by the cleaned one, loaded from
   * its new indexes. Offsets, the log start and end offsets and producer state do not change.
   */
  replaceSegments(baseOffsets: readonly number[], installFiles: () => void): void {
    this.ensureOpen();
    const first = this.segments.findIndex((segment) => segment.baseOffset === baseOffsets[0]);
    assert.ok(first >= 0 && first + baseOffsets.length < this.segments.length, 'only inactive segments are replaced');
    for (let i = 1; i < baseOffsets.length; i++) {
      assert.ok(this.segments[first + i].baseOffset === baseOffsets[i], 'the replaced segments are consecutive');
    }
    this.mutate(() => {
      const upperBoundOffset = this.segments[first + baseOffsets.length].baseOffset;
      installFiles();
      for (const replaced of this.segments.splice(first, baseOffsets.length)) replaced.close();
      const cleaned = Segment.openExisting(this.dir, baseOffsets[0], this.settings, this.clock());
      this.segments.splice(first, 0, cleaned);
      this.window.invalidate();
      const loaded = cleaned.loadTrusted(upperBoundOffset, this.window);
      if (loaded.outcome === 'logInconsistent') throw new CorruptFileError(cleaned.logPath, loaded.reason);
      if (loaded.outcome === 'indexRebuilt') this.logger.warn(`rebuilt the indexes of cleaned ${cleaned.logPath}: ${loaded.reason}`);
    });
  }

  /**
   * Flushes everything (as Kafka does at shutdown), records the log end offset as the recovery
   * point so that the next open validates only the active segment, snapshots producer state so
   * that it replays nothing, and closes every file. Idempotent.
   */
  close(): void {
    if (this.closedBecause !== null) return;
    try {
      this.activeSegment.deactivate();
      this.flushNow();
      if (this.checkpointedRecoveryPoint !== this.endOffset) this.writeRecoveryPoint(this.endOffset);
      this.writeProducerSnapshotNow();
    } finally {
      this.closeFiles('it was closed');
    }
  }

  /** Kafka's log-start retention: a segment whose successor starts at or below the log start offset. */
  private readonly isBelowLogStart = (_segment: Segment, next: Segment | null): boolean =>
    next !== null && next.baseOffset <= this.startOffset;

  private get activeSegment(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private appendValidated(
    batches: Buffer,
    byteLength: number,
    offsetCount: number,
    batchCount: number,
    producerMaxTimestampMs: number,
    hasProducerBatches: boolean,
  ): AppendResult {
    const nowMs = this.clock();
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    const baseOffset = this.endOffset;
    const lastOffset = baseOffset + offsetCount - 1;
    const maxTimestampMs = logAppendTime ? nowMs : producerMaxTimestampMs;
    let segment = this.activeSegment;
    if (segment.shouldRoll(byteLength, maxTimestampMs, lastOffset, nowMs, this.config.segmentBytes, this.config.segmentMs)) {
      segment = this.rollAt(nowMs);
    }
    let nextOffset = baseOffset;
    for (let position = 0; position < byteLength; ) {
      const sizeBytes = batchSizeAt(batches, position);
      writeBaseOffset(batches, position, nextOffset);
      if (logAppendTime) stampLogAppendTime(batches, position, sizeBytes, nowMs);
      nextOffset += readLastOffsetDelta(batches, position) + 1;
      position += sizeBytes;
    }
    segment.append(batches, byteLength);
    this.endOffset = nextOffset;
    this.appendCount++;
    if (hasProducerBatches) {
      for (let position = 0; position < byteLength; position += batchSizeAt(batches, position)) {
        const aborted = this.producers.applyBatch(batches, position);
        if (aborted !== null && segment.txnIndex.append(aborted)) this.dirDirty = true;
      }
    }
    if (this.oldestUnflushedAppendMs === null) this.oldestUnflushedAppendMs = nowMs;
    const { flushMessages, flushMs } = this.config;
    if (
      (flushMessages !== null && this.endOffset - this.flushed >= flushMessages) ||
      (flushMs !== null && nowMs - this.oldestUnflushedAppendMs >= flushMs)
    ) {
      this.flushNow();
    }
    return {
      baseOffset,
      lastOffset,
      logAppendTimeMs: logAppendTime ? nowMs : -1,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      lastStableOffset: this.lastStableOffset,
      batchCount,
      sizeBytes: byteLength,
      duplicate: false,
    };
  }

  /** Kafka's answer to a retry: the original append's offsets, nothing written. */
  private duplicateResult(duplicate: DuplicateAppend): AppendResult {
    return {
      baseOffset: duplicate.firstOffset,
      lastOffset: duplicate.lastOffset,
      logAppendTimeMs: this.config.messageTimestampType === 'LogAppendTime' ? duplicate.maxTimestampMs : -1,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      lastStableOffset: this.lastStableOffset,
      batchCount: 0,
      sizeBytes: 0,
      duplicate: true,
    };
  }

  /** The segment and batch holding `fromOffset`, or null at the log end. */
  private locate(fromOffset: number): { segment: Segment; batch: BatchLocation } | null {
    if (fromOffset < this.startOffset || fromOffset > this.endOffset) {
      throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.endOffset);
    }
    if (fromOffset === this.endOffset) return null;
    this.window.invalidate();
    for (let i = this.floorSegmentIndex(fromOffset); i < this.segments.length; i++) {
      const batch = this.segments[i].findBatch(fromOffset, this.window);
      if (batch !== null) return { segment: this.segments[i], batch };
    }
    return null;
  }

  /** The index of the last segment whose base offset is <= `offset`, or 0. */
  private floorSegmentIndex(offset: number): number {
    const segments = this.segments;
    return Math.max(0, floorIndexBy(segments.length, (i) => segments[i].baseOffset, offset));
  }

  private rollAt(nowMs: number): Segment {
    const active = this.activeSegment;
    if (active.sizeBytes === 0) return active;
    active.deactivate();
    const segment = Segment.create(this.dir, this.endOffset, this.settings, nowMs);
    this.segments.push(segment);
    this.dirDirty = true;
    this.writeProducerSnapshotNow();
    return segment;
  }

  /**
   * Opening: restores producer state and repairs the transaction indexes. Index entries below the
   * recovery point were fsynced by a flush, and those below a snapshot's offset were fsynced
   * before it was written, so entries are trusted up to the higher of the two (lowered to where an
   * index file was found torn or damaged); the replay rewrites every entry after that.
   */
  private loadProducerState(recoveryPoint: number, nowMs: number): ProducerStateRecovery {
    this.snapshotOffsets = listProducerSnapshots(this.dir);
    this.dropUnusableSnapshots();
    let damagedFrom = this.endOffset;
    for (const segment of this.segments) {
      const damaged = segment.txnIndex.damagedFromOffset;
      if (damaged === null) continue;
      this.logger.warn(
        `${segment.txnIndex.path}: ${segment.txnIndex.damageReason}; rebuilding its entries from offset ${damaged}`,
      );
      damagedFrom = Math.min(damagedFrom, damaged);
    }
    const discarded = { count: 0 };
    const newest = this.readNewestSnapshot(this.endOffset, discarded);
    const trustedUpTo = Math.min(
      this.endOffset,
      damagedFrom,
      Math.max(Math.min(recoveryPoint, this.endOffset), newest?.offset ?? 0),
    );
    const start = newest !== null && newest.offset <= trustedUpTo ? newest : this.readNewestSnapshot(trustedUpTo, discarded);
    const replay = this.restoreProducerState(trustedUpTo, nowMs, start);
    if (replay.replayedFromOffset !== this.endOffset) this.writeProducerSnapshotNow();
    return { ...replay, snapshotsDiscarded: discarded.count };
  }

  /**
   * The newest snapshot at or below `limitOffset` that reads back intact, or null. Corrupt ones
   * are deleted with a warning (and counted): replay then starts from an older point.
   */
  private readNewestSnapshot(limitOffset: number, discarded: { count: number }): LoadedSnapshot | null {
    for (let i = this.snapshotOffsets.length - 1; i >= 0; i--) {
      const offset = this.snapshotOffsets[i];
      if (offset > limitOffset) continue;
      try {
        return { offset, entries: readProducerSnapshot(this.dir, offset) };
      } catch (error) {
        if (!(error instanceof CorruptFileError)) throw error;
        this.logger.warn(`${error.message}; ignoring that producer snapshot and replaying from an older point`);
        deleteProducerSnapshot(this.dir, offset);
        this.snapshotOffsets.splice(i, 1);
        discarded.count++;
      }
    }
    return null;
  }

  /**
   * Rebuilds producer state for the log as it is: from `snapshot` (or empty at the log start
   * offset), replaying the batch headers after it to the log end. Transaction index entries for
   * markers at or after `trustedUpTo` (or the replay's start, if later: nothing before it can be
   * rebuilt) are dropped and rewritten by the replay.
   */
  private restoreProducerState(
    trustedUpTo: number,
    nowMs: number,
    snapshot: LoadedSnapshot | null,
  ): Omit<ProducerStateRecovery, 'snapshotsDiscarded'> {
    const fromOffset = snapshot?.offset ?? this.startOffset;
    const txnIndexFrom = Math.max(trustedUpTo, fromOffset);
    this.producers.load(snapshot?.entries ?? [], nowMs);
    for (const segment of this.segments) segment.txnIndex.truncateTo(txnIndexFrom);
    let batchesReplayed = 0;
    this.window.invalidate();
    for (let i = this.floorSegmentIndex(fromOffset); i < this.segments.length && fromOffset < this.endOffset; i++) {
      const segment = this.segments[i];
      segment.visitBatches(Math.max(fromOffset, segment.baseOffset), this.window, (buffer, at) => {
        batchesReplayed++;
        const aborted = this.producers.applyBatch(buffer, at);
        if (aborted !== null && aborted.lastOffset >= txnIndexFrom && segment.txnIndex.append(aborted)) this.dirDirty = true;
      });
    }
    this.producers.removeExpiredProducers(nowMs);
    return {
      snapshotOffset: snapshot?.offset ?? null,
      replayedFromOffset: fromOffset,
      batchesReplayed,
      txnIndexRebuiltFrom: txnIndexFrom,
    };
  }

  /**
   * Snapshots producer state at the log end offset and keeps only the newest snapshots. The
   * transaction index entries it covers are fsynced first: the next open trusts them (see
   * loadProducerState).
   */
  private writeProducerSnapshotNow(): number {
    const offset = this.endOffset;
    for (const segment of this.segments) segment.txnIndex.flush();
    this.syncDirectoryIfDirty();
    writeProducerSnapshot(this.dir, offset, this.producers.snapshotEntries());
    if (!this.snapshotOffsets.includes(offset)) {
      this.snapshotOffsets.push(offset);
      this.snapshotOffsets.sort((a, b) => a - b);
    }
    while (this.snapshotOffsets.length > MAX_PRODUCER_SNAPSHOTS) deleteProducerSnapshot(this.dir, this.snapshotOffsets.shift()!);
    return offset;
  }

  /** Deletes the snapshots no replay can start from: past `maxOffset` (the log end), or below the log start. */
  private dropUnusableSnapshots(maxOffset: number = this.endOffset): void {
    const usable = this.snapshotOffsets.filter((offset) => offset >= this.startOffset && offset <= maxOffset);
    for (const offset of this.snapshotOffsets) if (!usable.includes(offset)) deleteProducerSnapshot(this.dir, offset);
    this.snapshotOffsets = usable;
  }

  /**
   * After the log start offset moved: its snapshots below it go, as in Kafka. Producer state
   * outlives the records it came from, so if none is left, one is taken at the log end to keep it.
   */
  private dropSnapshotsBelowLogStart(): void {
    this.dropUnusableSnapshots();
    if (this.snapshotOffsets.length === 0 && this.producers.producerCount > 0) this.writeProducerSnapshotNow();
  }

  /**
   * Kafka's deletableSegments: the longest run of oldest segments matching `shouldDelete`, never
   * an empty last segment. If that is every segment, roll first so the log keeps an active one.
   */
  private deleteOldSegments(
    shouldDelete: (segment: Segment, next: Segment | null) => boolean,
    reason: RetentionReason,
    deleted: DeletedSegment[],
    nowMs: number,
  ): void {
    let count = 0;
    while (count < this.segments.length) {
      const segment = this.segments[count];
      const next = count + 1 < this.segments.length ? this.segments[count + 1] : null;
      if (!shouldDelete(segment, next) || (next === null && segment.sizeBytes === 0)) break;
      count++;
    }
    if (count === 0) return;
    if (count === this.segments.length) this.rollAt(nowMs);
    for (const segment of this.segments.splice(0, count)) {
      deleted.push({ baseOffset: segment.baseOffset, nextOffset: segment.nextOffset, sizeBytes: segment.sizeBytes, reason });
      segment.delete();
    }
    this.dirDirty = true;
    if (this.segments[0].baseOffset > this.startOffset) this.setLogStartOffset(this.segments[0].baseOffset);
  }

  private flushNow(): void {
    let synced = false;
    for (const segment of this.segments) if (segment.flush()) synced = true;
    if (this.syncDirectoryIfDirty()) synced = true;
    this.flushed = this.endOffset;
    this.oldestUnflushedAppendMs = null;
    if (synced) this.flushCount++;
    // Recovery validates whole segments from the one holding the recovery point, so the
    // checkpoint needs rewriting only when the flushed offset has moved into a later segment.
    if (this.floorSegmentIndex(this.flushed) !== this.floorSegmentIndex(this.checkpointedRecoveryPoint)) {
      this.writeRecoveryPoint(this.flushed);
    }
  }

  private syncDirectoryIfDirty(): boolean {
    if (!this.dirDirty) return false;
    fsyncDirectory(this.dir);
    this.dirDirty = false;
    return true;
  }

  /** A recovery point above unflushed or removed data would let recovery skip it: lower it first. */
  private lowerRecoveryPointCheckpointIfAbove(offset: number): void {
    if (this.checkpointedRecoveryPoint <= offset) return;
    this.writeRecoveryPoint(offset);
  }

  private writeRecoveryPoint(offset: number): void {
    writeOffsetCheckpoint(this.dir, RECOVERY_POINT_CHECKPOINT_FILE, offset);
    this.checkpointedRecoveryPoint = offset;
  }

  private setLogStartOffset(offset: number): void {
    writeOffsetCheckpoint(this.dir, LOG_START_OFFSET_CHECKPOINT_FILE, offset);
    this.startOffset = offset;
  }

  private totalSizeBytes(): number {
    let sizeBytes = 0;
    for (const segment of this.segments) sizeBytes += segment.sizeBytes;
    return sizeBytes;
  }

  private readResult(bytes: Buffer, nextOffset: number): ReadResult {
    return { bytes, nextOffset, logStartOffset: this.startOffset, logEndOffset: this.endOffset };
  }

  private ensureOpen(): void {
    if (this.closedBecause !== null) {
      throw new ClosedError(`partition log "${this.dir}" (${this.closedBecause})`);
    }
  }

  /** Runs a mutation; an unexpected error stops the log (see the module comment). */
  private mutate<T>(mutation: () => T): T {
    try {
      return mutation();
    } catch (error) {
      if (!(error instanceof SluiceError) || error instanceof CorruptFileError) {
        this.closeFiles(`stopped after an I/O error: ${(error as Error).message}; reopen it to recover`);
      }
      throw error;
    }
  }

  private closeFiles(reason: string): void {
    this.closedBecause = reason;
    for (const segment of this.segments) {
      try {
        segment.close();
      } catch {
        // Closing is best effort once the log is stopping; the first error is the one reported.
      }
    }
  }
}

/** Kafka's LogAppendTime: stamp the batch's max timestamp and timestamp type, then re-CRC it. */
function stampLogAppendTime(batches: Buffer, position: number, sizeBytes: number, nowMs: number): void {
  const attributes = batches.readInt16BE(position + ATTRIBUTES_OFFSET);
  batches.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET);
  writeInt64(batches, position + MAX_TIMESTAMP_OFFSET, nowMs);
  batches.writeUInt32BE(computeBatchCrc(batches, position, sizeBytes), position + CRC_OFFSET);
}

/** A checkpoint that cannot be parsed only costs a longer recovery: validate everything. */
function readRecoveryPoint(dir: string, logger: StorageLogger): number {
  try {
    return readOffsetCheckpoint(join(dir, RECOVERY_POINT_CHECKPOINT_FILE)) ?? 0;
  } catch (error) {
    if (!(error instanceof CorruptFileError)) throw error;
    logger.warn(`${error.message}; validating every segment instead`);
    return 0;
  }
}

function requireOffset(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be an offset (an integer >= 0), got ${String(value)}`);
  }
}

function requireByteCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be a byte count (an integer >= 0), got ${String(value)}`);
  }
}
