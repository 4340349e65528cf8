/**
 * The log of one partition: a directory of segments (see segment.ts), Kafka's storage model.
 *
 *   append       validates whole RecordBatch v2 batches and every record in them (log-validator.ts),
 *                assigns offsets by rewriting baseOffset in place (outside the CRC), writes them
 *                with one write, maybe rolls and flushes
 *   truncateTo, deleteRecordsBefore, applyRetention, roll, flush, close
 *   cleanerView, replaceSegments   the log cleaner's view and swap (log-cleaner.ts, cleanupCompact)
 *
 * Cut along Kafka's lines: the validator (log-validator.ts), the segment list, its retention choice
 * and the cleaner's swap (local-log.ts), opening, recovery and the leader epoch cache's rebuild
 * (log-loader.ts, recovery.ts), producer state, its rebuild and snapshots (producer-state.ts,
 * log-producer-state.ts, producer-state-snapshot.ts), the API's records (partition-log-types.ts)
 * and reads (log-reader.ts, the one read path) live beside it; this module is Kafka's UnifiedLog.
 *
 * A PartitionLog is owned by one shard worker thread and uses synchronous I/O; it is not safe to
 * share between threads. Appends are decoded record by record once, by the validator, as Kafka's
 * broker decodes them; everything else (recovery, reads, producer state) reads batch headers only.
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
 * cause. Reopening the directory recovers it. A write the file system refuses (ENOSPC, EIO...:
 * storageErrorOf) takes the log offline for writes instead: that call and every later one throw
 * KafkaStorageError, reads of the files go on (the owner publishes offsets, readers open the
 * files themselves), and `reopenForWrites` brings it back once a probe write succeeds: it opens
 * the directory again (recovery) and cuts whatever the failed call left past the log end offset
 * it had before that call, so a failed append is never visible and the next one lands there.
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
import { join } from 'node:path';
import {
  ClosedError,
  CorruptFileError,
  InvalidConfigError,
  KafkaStorageError,
  InvalidRequestError,
  OffsetOutOfOrderError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  SluiceError,
} from '../errors.js';
import { readBaseOffset, readPartitionLeaderEpoch, writeBaseOffset, writePartitionLeaderEpoch } from '../protocol/batch-header.js';
import { recompressBatches } from '../protocol/recompress.js';
import { resolveLogConfig, type LogConfig } from './log-config.js';
import type { CleanerLogView } from './log-cleaner.js';
import { LocalLog, segmentSettings } from './local-log.js';
import { loadLeaderEpochs, loadLog } from './log-loader.js';
import { LogValidator, type ValidatedAppend } from './log-validator.js';
import { probeWritable, storageErrorOf } from './durable-fs.js';
import { LeaderEpochCache, type EpochEndOffset, type EpochEntry } from './leader-epoch-cache.js';
import {
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ProducerStateManager,
  type DuplicateAppend,
  type ProducerStateView,
} from './producer-state.js';
import { LogProducerState, type ProducerStateRecovery } from './log-producer-state.js';
import {
  CHECKPOINT_TEMP_SUFFIX,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  writeOffsetCheckpoint,
  type RecoveryReport,
} from './recovery.js';
import type { Segment, SegmentSettings, StorageLogger } from './segment.js';
import type { AbortedTxn } from './txn-index.js';
import { requireOffset } from '../validate.js';
import { INT32_MAX } from '../protocol/limits.js';
import type {
  AppendOptions,
  AppendResult,
  DeletedSegment,
  LogStats,
  PartitionLogOptions,
  RetentionReason,
  RetentionResult,
  SegmentInfo,
} from './partition-log-types.js';

export type { StorageLogger } from './segment.js';
export type { RecoveryReport } from './recovery.js';
export type { AppendOrigin, ProducerStateView } from './producer-state.js';
export type { AbortedTransaction } from './txn-index.js';
export type { EpochEndOffset, EpochEntry } from './leader-epoch-cache.js';
export type { ProducerStateRecovery } from './log-producer-state.js';
export type * from './partition-log-types.js';

const DEFAULT_LOGGER: StorageLogger = {
  info: () => {},
  warn: (message) => process.emitWarning(message, { type: 'SluiceStorageWarning' }),
};

export class PartitionLog {
  readonly dir: string;
  private currentConfig: LogConfig;
  /** What opening the directory found and repaired. */
  readonly recovery: RecoveryReport;
  private readonly logger: StorageLogger;
  private readonly clock: () => number;
  /** The segments and what is done to them as a list (local-log.ts). */
  private readonly local: LocalLog;
  private startOffset: number;
  private endOffset: number;
  private flushed: number;
  /** The recovery point as the checkpoint file holds it. */
  private checkpointedRecoveryPoint: number;
  private oldestUnflushedAppendMs: number | null = null;
  private flushCount = 0;
  private appendCount = 0;
  private closedBecause: string | null = null;
  /** Set when the file system refused a write: the log is offline for writes (see the module comment). */
  private storageFailure: { readonly error: KafkaStorageError; readonly endOffset: number } | null = null;
  private readonly options: PartitionLogOptions;
  private readonly producers: ProducerStateManager;
  private validator: LogValidator;
  /** Restoring producer state and its snapshots (log-producer-state.ts); appends apply batches to `producers` directly. */
  private readonly logProducerState: LogProducerState;
  private producerRecovery: ProducerStateRecovery | null = null;
  /** Kafka's leader epoch cache, persisted in `leader-epoch-checkpoint` (leader-epoch-cache.ts). */
  private epochs: LeaderEpochCache;
  /** The epoch stamped on appended batches: always the cache's latest epoch. */
  private currentLeaderEpoch = 0;

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
    options: PartitionLogOptions;
  }) {
    this.options = fields.options;
    this.dir = fields.dir;
    this.currentConfig = fields.config;
    this.logger = fields.logger;
    this.clock = fields.clock;
    this.local = new LocalLog(fields.dir, fields.settings, fields.segments, fields.dirDirty);
    this.startOffset = fields.startOffset;
    this.endOffset = this.local.active.nextOffset;
    this.checkpointedRecoveryPoint = fields.checkpointedRecoveryPoint;
    this.flushed = Math.min(fields.checkpointedRecoveryPoint, this.endOffset);
    this.recovery = fields.recovery;
    this.producers = new ProducerStateManager(fields.producerIdExpirationMs);
    this.validator = new LogValidator(fields.config);
    this.logProducerState = new LogProducerState(this.producers, this.local, fields.logger);
    this.epochs = new LeaderEpochCache(fields.dir, []);
  }

  /**
   * Opens (creating if needed) the log in `dir`, recovering it after a crash: see log-loader.ts.
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
    const nowMs = clock();
    let loaded: ReturnType<typeof loadLog>;
    try {
      loaded = loadLog(dir, settings, nowMs);
    } catch (error) {
      throw storageErrorOf(error, dir, 'opening the partition log');
    }
    const { segments, startOffset, recoveryPoint, report, dirDirty } = loaded;
    try {
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
        options,
      });
      log.lowerRecoveryPointCheckpointIfAbove(log.endOffset);
      log.producerRecovery = log.logProducerState.load(log.startOffset, log.endOffset, recoveryPoint, nowMs);
      log.epochs = loadLeaderEpochs(log.local, log.startOffset, log.endOffset, recoveryPoint, logger);
      log.currentLeaderEpoch = log.epochs.latestEpoch;
      return log;
    } catch (error) {
      for (const segment of segments) segment.close();
      throw storageErrorOf(error, dir, 'opening the partition log');
    }
  }

  /** Why the log is offline for writes (a write the file system refused), or null. */
  get offlineCause(): KafkaStorageError | null {
    return this.storageFailure?.error ?? null;
  }

  /**
   * Brings a log that is offline for writes back (see the module comment): probes the directory
   * with a small durable write, and if the file system takes it, opens the directory again (with
   * the same config and options) and cuts it to the log end offset it had before the failed call.
   * Returns the new PartitionLog, which replaces this closed one, or null while the file system
   * still refuses writes (the probe failed, or opening again failed with a storage error).
   */
  reopenForWrites(): PartitionLog | null {
    const failure = this.storageFailure;
    assert.ok(failure !== null, 'only a log offline for writes is reopened');
    if (!probeWritable(join(this.dir, `storage-probe${CHECKPOINT_TEMP_SUFFIX}`))) return null;
    let reopened: PartitionLog;
    try {
      reopened = PartitionLog.open(this.dir, this.currentConfig, this.options);
    } catch (error) {
      if (error instanceof KafkaStorageError) return null;
      throw error;
    }
    try {
      if (reopened.logEndOffset > failure.endOffset) reopened.truncateTo(failure.endOffset);
    } catch (error) {
      reopened.closeFiles('it could not cut what a failed write left');
      if (error instanceof KafkaStorageError) return null;
      throw error;
    }
    return reopened;
  }

  /** The log's settings; updateConfig replaces them while the log runs. */
  get config(): LogConfig {
    return this.currentConfig;
  }

  /**
   * Kafka's dynamic topic config change (AlterConfigs): the new settings apply from the next
   * append (max.message.bytes, segment.bytes, segment.ms, message.timestamp.*, compression.type,
   * the key check of a compacted log), retention pass, flush check and clean. As in Kafka,
   * segment.index.bytes and index.interval.bytes shape the segments created afterwards; existing
   * ones keep theirs. `config` is validated first (InvalidConfigError) and nothing changes when it
   * is invalid.
   */
  updateConfig(config: Partial<LogConfig>): LogConfig {
    // A log offline for writes takes the change too (it writes nothing): reopenForWrites reopens with it.
    if (this.storageFailure === null) this.ensureOpen();
    const resolved = resolveLogConfig(config);
    this.local.settings = segmentSettings(resolved, this.logger);
    this.validator = new LogValidator(resolved);
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

  /**
   * The partition's current leader epoch: 0 for a new log, kept across restarts in the
   * `leader-epoch-checkpoint`, raised by becomeLeader. Every appended batch is stamped with it.
   */
  get leaderEpoch(): number {
    return this.currentLeaderEpoch;
  }

  /** The leader epoch cache's entries: each epoch and the first offset written in it. */
  leaderEpochEntries(): readonly EpochEntry[] {
    return this.epochs.entries;
  }

  /**
   * Kafka's makeLeader step for the log: the partition's leader epoch becomes `epoch` from the log
   * end offset on (Kafka's maybeAssignEpochStartOffset), persisted before any batch of it is
   * written. An epoch below the current one is refused: epochs never go back.
   */
  becomeLeader(epoch: number): void {
    this.ensureOpen();
    if (!Number.isInteger(epoch) || epoch < this.currentLeaderEpoch || epoch > INT32_MAX) {
      throw new InvalidRequestError(`a new leader epoch must be an int32 >= the current epoch ${this.currentLeaderEpoch}, got ${String(epoch)}`);
    }
    this.mutate(() => {
      this.epochs.assign(epoch, this.endOffset);
      this.currentLeaderEpoch = epoch;
    });
  }

  /** Kafka's endOffsetForEpoch (OffsetsForLeaderEpoch): see LeaderEpochCache.endOffsetFor. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    this.ensureOpen();
    return this.epochs.endOffsetFor(epoch, this.endOffset);
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

  /** Every producer the log remembers (DescribeProducers). */
  activeProducers(): ProducerStateView[] {
    this.ensureOpen();
    return this.producers.activeProducers();
  }

  /**
   * Appends one or more whole RecordBatch v2 batches, exactly as a producer sent them. Each is
   * validated with every record in it (log-validator.ts: framing, CRC32C, decompression, record
   * lengths and varints, offsets, timestamps, keys on a compacted log, maxMessageBytes) before
   * anything is written, so a bad batch rejects the whole append. Offsets are assigned by rewriting each
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
    const nowMs = this.clock();
    let validated = this.validator.validate(batches, origin, options.crcVerified !== true, nowMs);
    // compression.type (Kafka's targetCompression): a batch in another codec is re-encoded once its
    // records are known to be valid, and the result validated again (its sizes may have grown past
    // maxMessageBytes or segmentBytes, as Kafka checks after recompression).
    const { compressionType } = this.config;
    if (compressionType !== 'producer') {
      const stored = recompressBatches(validated.bytes, validated.bytes.length, compressionType);
      if (stored !== validated.bytes) {
        if (stored.length > this.config.segmentBytes) {
          throw new RecordTooLargeError(stored.length, this.config.segmentBytes, 'segmentBytes');
        }
        validated = this.validator.validate(stored, origin, false, nowMs);
      }
    }
    if (validated.producerStateBatchCount > 0) {
      const check = this.producers.checkAppend(validated.bytes, validated.bytes.length, origin);
      if (check.duplicate !== null) return this.duplicateResult(check.duplicate);
    }
    return this.mutate(() => this.appendValidated(validated, nowMs));
  }

  /**
   * Kafka's appendAsFollower: stores the leader's batches unchanged (base offsets, leader epochs,
   * producer ids and sequences, timestamps, CRCs), after validateReplica checked their framing and
   * CRCs. The first batch must start at the log end offset and each next one where the previous
   * ended (OffsetOutOfOrderError otherwise: the follower fetched from elsewhere, or the leader's
   * log has a gap this log cannot index), and leader epochs must not go down. Producer state
   * takes the batches without sequence checks (Kafka's REPLICATION origin: the leader checked
   * them), and the leader epoch cache follows the batches' epochs, so this log answers
   * OffsetForLeaderEpoch as its leader would.
   */
  appendAsFollower(batches: Buffer): AppendResult {
    this.ensureOpen();
    if (!Buffer.isBuffer(batches)) throw new InvalidRequestError('appendAsFollower takes a Buffer holding whole record batches');
    if (batches.length === 0) throw new InvalidRequestError('appendAsFollower needs at least one record batch; the buffer is empty');
    if (batches.length > this.config.segmentBytes) throw new RecordTooLargeError(batches.length, this.config.segmentBytes, 'segmentBytes');
    const validated = this.validator.validateReplica(batches);
    const { batchCount, positions, lastOffsetDeltas } = validated;
    let expected = this.endOffset;
    let epoch = this.epochs.latestEpoch;
    for (let batch = 0; batch < batchCount; batch++) {
      const baseOffset = readBaseOffset(batches, positions[batch]);
      if (baseOffset !== expected) {
        throw new OffsetOutOfOrderError(
          `a replicated batch starts at offset ${baseOffset} where the log expects ${expected} (log end offset ${this.endOffset}); ` +
            'a follower appends only what continues its log: fetch from its log end offset',
        );
      }
      const batchEpoch = readPartitionLeaderEpoch(batches, positions[batch]);
      if (batchEpoch < epoch) {
        throw new OffsetOutOfOrderError(`a replicated batch at offset ${baseOffset} has leader epoch ${batchEpoch}, below the log's ${epoch}; truncate to the leader's epoch boundary first (OffsetForLeaderEpoch)`);
      }
      epoch = batchEpoch;
      expected += lastOffsetDeltas[batch] + 1;
    }
    return this.mutate(() => {
      // Kafka's follower assigns each new epoch at its batch's base offset, before the batch is
      // written, so the checkpoint never lacks an epoch the log holds.
      for (let batch = 0; batch < batchCount; batch++) {
        const batchEpoch = readPartitionLeaderEpoch(batches, positions[batch]);
        if (batchEpoch > this.epochs.latestEpoch) this.epochs.assign(batchEpoch, readBaseOffset(batches, positions[batch]));
      }
      this.currentLeaderEpoch = Math.max(this.currentLeaderEpoch, this.epochs.latestEpoch);
      return this.writeValidated(validated, this.clock());
    });
  }

  /**
   * Writes a producer state snapshot at the log end offset, so that a restart replays nothing
   * before it. Returns that offset.
   */
  takeProducerSnapshot(): number {
    this.ensureOpen();
    return this.mutate(() => this.logProducerState.writeSnapshot(this.endOffset));
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
   * Removes every record at and after `offset`. A batch that holds `offset` goes whole, as in
   * Kafka, so the new log end offset is that batch's base offset. Later segments are deleted.
   * If `offset` is below the first segment, the log restarts empty at `offset` (Kafka's
   * truncateFullyAndStartAt). The cut is fsynced so a crash cannot bring removed batches back.
   * Returns the new log end offset.
   *
   * `asFollower` (Kafka's follower truncation): the leader epoch cache only loses the epochs that
   * started in the removed range, and the log's epoch becomes the latest one left, since the next
   * batches come from the leader with their own epochs; a leader's log instead carries its
   * current epoch on from the new end.
   */
  truncateTo(offset: number, asFollower = false): number {
    this.ensureOpen();
    requireOffset('offset', offset);
    if (offset >= this.endOffset) return this.endOffset;
    this.mutate(() => {
      const nowMs = this.clock();
      // A crash during the cut must not leave a snapshot or recovery point above it vouching for
      // transaction index entries the cut already removed (see loadProducerState).
      this.logProducerState.dropUnusableSnapshots(this.startOffset, offset);
      this.lowerRecoveryPointCheckpointIfAbove(offset);
      this.endOffset = this.local.truncateTo(offset, nowMs);
      this.flushed = Math.min(this.flushed, this.endOffset);
      if (this.flushed === this.endOffset) this.oldestUnflushedAppendMs = null;
      this.local.active.flush();
      this.local.syncDirectoryIfDirty();
      this.lowerRecoveryPointCheckpointIfAbove(this.flushed);
      if (this.startOffset > this.endOffset) this.setLogStartOffset(this.endOffset);
      this.logProducerState.restoreAfterTruncation(this.startOffset, this.endOffset, nowMs);
      // Epochs that started in the removed range go (Kafka's truncateFromEnd); the current one
      // carries on from the new end, so the next batch is stamped with it as before.
      this.epochs.truncateFromEnd(this.endOffset);
      if (asFollower) this.currentLeaderEpoch = Math.max(0, this.epochs.latestEpoch);
      else this.epochs.assign(this.currentLeaderEpoch, this.endOffset);
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
      this.logProducerState.dropSnapshotsBelowLogStart(this.startOffset, this.endOffset);
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
      const sizeBytes = this.local.sizeBytes;
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
      this.logProducerState.dropSnapshotsBelowLogStart(this.startOffset, this.endOffset);
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
      segmentCount: this.local.segments.length,
      sizeBytes: this.local.sizeBytes,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      flushedOffset: this.flushed,
      unflushedRecords: this.endOffset - this.flushed,
      flushCount: this.flushCount,
      appendCount: this.appendCount,
    };
  }

  segmentInfos(): SegmentInfo[] {
    return this.local.segments.map((segment) => ({
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
    for (const segment of this.local.segments) abortedTxns.push(...segment.txnIndex.allEntries);
    return {
      dir: this.dir,
      config: this.config,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      lastStableOffset: this.lastStableOffset,
      segments: this.local.segments.map((segment) => ({
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
    const first = this.local.replaceableIndex(baseOffsets);
    this.mutate(() => this.local.replaceSegments(first, baseOffsets.length, installFiles, this.clock()));
  }

  /**
   * Flushes everything (as Kafka does at shutdown), records the log end offset as the recovery
   * point so that the next open validates only the active segment, snapshots producer state so
   * that it replays nothing, and closes every file. Idempotent.
   */
  close(): void {
    if (this.closedBecause !== null) return;
    try {
      this.local.active.deactivate();
      this.flushNow();
      if (this.checkpointedRecoveryPoint !== this.endOffset) this.writeRecoveryPoint(this.endOffset);
      this.logProducerState.writeSnapshot(this.endOffset);
    } catch (error) {
      const storageError = storageErrorOf(error, this.dir, 'closing the partition log');
      if (!(storageError instanceof KafkaStorageError)) throw error;
      // Closing must not fail on a file system that refuses writes: the next open recovers what
      // close could not write (it validates from the last recovery point, replays producer state).
      this.logger.warn(`partition log ${this.dir} closed without its shutdown writes: ${storageError.message}`);
    } finally {
      this.closeFiles('it was closed');
    }
  }

  /** Kafka's log-start retention: a segment whose successor starts at or below the log start offset. */
  private readonly isBelowLogStart = (_segment: Segment, next: Segment | null): boolean =>
    next !== null && next.baseOffset <= this.startOffset;

  /** Assigns offsets to validated batches (their baseOffset, outside the CRC), writes them, applies them. */
  private appendValidated(validated: ValidatedAppend, nowMs: number): AppendResult {
    const { bytes, batchCount, positions, lastOffsetDeltas } = validated;
    let nextOffset = this.endOffset;
    // Kafka's leader stamps its epoch on every batch as it assigns offsets; both fields lie
    // outside the CRC, so nothing is recomputed.
    const leaderEpoch = this.currentLeaderEpoch;
    for (let batch = 0; batch < batchCount; batch++) {
      writeBaseOffset(bytes, positions[batch], nextOffset);
      writePartitionLeaderEpoch(bytes, positions[batch], leaderEpoch);
      nextOffset += lastOffsetDeltas[batch] + 1;
    }
    return this.writeValidated(validated, nowMs);
  }

  /** Writes batches whose offsets run on from the log end offset, and applies them (both appends). */
  private writeValidated(validated: ValidatedAppend, nowMs: number): AppendResult {
    const logAppendTime = this.config.messageTimestampType === 'LogAppendTime';
    const bytes = validated.bytes;
    const byteLength = bytes.length;
    const baseOffset = this.endOffset;
    const lastOffset = baseOffset + validated.offsetCount - 1;
    let segment = this.local.active;
    if (segment.shouldRoll(byteLength, validated.maxTimestampMs, lastOffset, nowMs, this.config.segmentBytes, this.config.segmentMs)) {
      segment = this.rollAt(nowMs);
    }
    const { batchCount, positions } = validated;
    segment.append(validated, baseOffset);
    this.endOffset = lastOffset + 1;
    this.appendCount++;
    if (validated.producerStateBatchCount > 0) {
      for (let batch = 0; batch < batchCount; batch++) {
        const aborted = this.producers.applyBatch(bytes, positions[batch]);
        if (aborted !== null && segment.txnIndex.append(aborted)) this.local.markDirectoryDirty();
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

  private rollAt(nowMs: number): Segment {
    const active = this.local.active;
    const segment = this.local.roll(this.endOffset, nowMs);
    if (segment !== active) this.logProducerState.writeSnapshot(this.endOffset);
    return segment;
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
    const count = this.local.deletableCount(shouldDelete);
    if (count === 0) return;
    if (count === this.local.segments.length) this.rollAt(nowMs);
    for (const segment of this.local.removeOldest(count)) {
      deleted.push({ baseOffset: segment.baseOffset, nextOffset: segment.nextOffset, sizeBytes: segment.sizeBytes, reason });
    }
    if (this.local.segments[0].baseOffset > this.startOffset) this.setLogStartOffset(this.local.segments[0].baseOffset);
  }

  private flushNow(): void {
    const synced = this.local.flush();
    this.flushed = this.endOffset;
    this.oldestUnflushedAppendMs = null;
    if (synced) this.flushCount++;
    // Recovery validates whole segments from the one holding the recovery point, so the
    // checkpoint needs rewriting only when the flushed offset has moved into a later segment.
    if (this.local.floorIndex(this.flushed) !== this.local.floorIndex(this.checkpointedRecoveryPoint)) {
      this.writeRecoveryPoint(this.flushed);
    }
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
    this.epochs.truncateFromStart(offset);
  }

  private ensureOpen(): void {
    // The write that took the log offline names the cause; it stays true until reopenForWrites.
    if (this.storageFailure !== null) throw this.storageFailure.error;
    if (this.closedBecause !== null) {
      throw new ClosedError(`partition log "${this.dir}" (${this.closedBecause})`);
    }
  }

  /** Runs a mutation; an unexpected error stops the log (see the module comment). */
  private mutate<T>(mutation: () => T): T {
    const endOffset = this.endOffset;
    try {
      return mutation();
    } catch (caught) {
      const error = storageErrorOf(caught, this.dir, 'writing the partition log');
      if (error instanceof KafkaStorageError) {
        this.storageFailure = { error, endOffset };
        // What the failed call appended is not acknowledged: the reopened log cuts it (reopenForWrites).
        this.endOffset = endOffset;
        this.closeFiles(`offline for writes: ${error.message}`);
        this.logger.warn(`partition log ${this.dir} is offline for writes, reads go on: ${error.message}`);
      } else if (!(error instanceof SluiceError) || error instanceof CorruptFileError) {
        this.closeFiles(`stopped after an I/O error: ${(error as Error).message}; reopen it to recover`);
      }
      throw error;
    }
  }

  private closeFiles(reason: string): void {
    this.closedBecause = reason;
    this.local.closeQuietly();
  }
}
