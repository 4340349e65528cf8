/**
 * One segment of a partition log: `<base offset>.log` holding whole RecordBatch v2 batches back to
 * back, beside its sparse `.index` (offset -> position) and `.timeindex` (timestamp -> offset).
 * File names are the segment's base offset zero-padded to 20 digits, as in Kafka.
 *
 * All I/O is synchronous and positional (openSync/writeSync/readSync/fsyncSync on descriptors kept
 * open): a partition log is owned by exactly one shard worker thread, which does nothing else while
 * it appends or reads, so a blocking call is cheaper than a promise round trip and needs no locks.
 *
 * Index files are plain append-only files, not preallocated. Kafka preallocates them to
 * segment.index.bytes because it mmaps them, and so must trim them on close and work out after a
 * crash how many entries are real. Node has no mmap: each index lives in memory (typed arrays,
 * searched there) and each new entry is one small positional write at the end of its file, so the
 * file's length is always its entry count and a torn entry shows as a length that is not whole.
 * Only the active segment keeps its index files open; older segments keep just the `.log` open.
 * The price of the in-memory copy is heap instead of page cache: 8 + 12 bytes per
 * indexIntervalBytes of log (about 0.5% of the log at the default 4096), bounded by retention.
 * The `.txnindex` of aborted transactions (txn-index.ts) exists only once the segment holds an
 * ABORT marker; the partition log fills it, the segment keeps it with its other files.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, CorruptRecordError } from '../errors.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_MIN,
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  isControlBatch,
  readAttributes,
  readBaseOffset,
  readLastOffsetDelta,
  readMaxTimestamp,
  validateBatchAt,
} from '../protocol/batch-header.js';
import { BatchHeaderCursor, checkOffsetsAndTimestamp } from './batch-header-cursor.js';
import { FileWindow, unlinkIfExists, writeFully } from './durable-fs.js';
import type { ValidatedAppend } from './log-validator.js';
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js';
import { NO_TIMESTAMP, TIME_INDEX_ENTRY_BYTES, TimeIndex } from './time-index.js';
import { TXN_INDEX_FILE_SUFFIX, TransactionIndex } from './txn-index.js';
import { INT32_MAX } from '../protocol/limits.js';

export const LOG_FILE_SUFFIX = '.log';
export const OFFSET_INDEX_FILE_SUFFIX = '.index';
export const TIME_INDEX_FILE_SUFFIX = '.timeindex';
const BASE_OFFSET_DIGITS = 20;

/** Where the log reports what it repaired. */
export interface StorageLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface SegmentSettings {
  readonly indexIntervalBytes: number;
  readonly maxOffsetIndexEntries: number;
  readonly maxTimeIndexEntries: number;
  readonly logger: StorageLogger;
}

/** A batch found in a segment: where it starts, how big it is, which offsets it holds. */
export interface BatchLocation {
  readonly position: number;
  readonly sizeBytes: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
}

/** What loading a segment trusted to be intact (below the recovery point) found. */
export type TrustedLoadOutcome =
  | { readonly outcome: 'loaded' }
  | { readonly outcome: 'indexRebuilt'; readonly reason: string }
  | { readonly outcome: 'logInconsistent'; readonly reason: string };

export interface SegmentRecovery {
  /** Bytes cut from the end of the `.log`: the torn or corrupt tail. */
  readonly truncatedBytes: number;
  /** Why the scan stopped before the end of the file, or null when every byte was valid. */
  readonly reason: string | null;
  /** Whether an index file differed from what the log implies and was rewritten. */
  readonly indexesRewritten: boolean;
}

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(BASE_OFFSET_DIGITS, '0') + suffix;
}

/** The base offset a segment file name encodes, or null if the name is not 20 digits + `suffix`. */
export function parseSegmentFileName(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const digits = name.slice(0, name.length - suffix.length);
  if (digits.length !== BASE_OFFSET_DIGITS || !/^\d+$/.test(digits)) return null;
  const baseOffset = Number(digits);
  return Number.isSafeInteger(baseOffset) ? baseOffset : null;
}

export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly offsetIndexPath: string;
  readonly timeIndexPath: string;
  /** Aborted transactions whose marker is in this segment. */
  readonly txnIndex: TransactionIndex;
  private readonly settings: SegmentSettings;
  private logFd: number;
  /** Index descriptors are open only while the segment is the active one. */
  private offsetIndexFd = -1;
  private timeIndexFd = -1;
  private logSizeBytes: number;
  private endOffset: number;
  private offsetIndex: OffsetIndex;
  private timeIndex: TimeIndex;
  private maxTimestamp = NO_TIMESTAMP;
  private offsetOfMaxTimestamp: number;
  /** The first batch's max timestamp, which time-based rolling measures from (Kafka's rule). */
  private firstBatchMaxTimestampMs = NO_TIMESTAMP;
  private createdMs: number;
  private bytesSinceLastIndexEntry = 0;
  private logDirty = false;
  private indexesDirty = false;
  private readonly entryScratch = Buffer.allocUnsafe(TIME_INDEX_ENTRY_BYTES);

  private constructor(
    dir: string,
    baseOffset: number,
    settings: SegmentSettings,
    logFd: number,
    sizeBytes: number,
    nowMs: number,
    isNew: boolean,
  ) {
    this.baseOffset = baseOffset;
    this.logPath = join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX));
    this.offsetIndexPath = join(dir, segmentFileName(baseOffset, OFFSET_INDEX_FILE_SUFFIX));
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, TIME_INDEX_FILE_SUFFIX));
    const txnIndexPath = join(dir, segmentFileName(baseOffset, TXN_INDEX_FILE_SUFFIX));
    this.txnIndex = isNew ? TransactionIndex.empty(txnIndexPath, baseOffset) : TransactionIndex.load(txnIndexPath, baseOffset);
    this.settings = settings;
    this.logFd = logFd;
    this.logSizeBytes = sizeBytes;
    this.endOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
    this.createdMs = nowMs;
    this.offsetIndex = new OffsetIndex(this.offsetIndexPath, baseOffset, settings.maxOffsetIndexEntries);
    this.timeIndex = new TimeIndex(this.timeIndexPath, baseOffset, settings.maxTimeIndexEntries);
  }

  /** A new, empty, active segment. Fails if its `.log` already exists. */
  static create(dir: string, baseOffset: number, settings: SegmentSettings, nowMs: number): Segment {
    const logFd = openSync(join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX)), 'wx+');
    let segment: Segment;
    try {
      segment = new Segment(dir, baseOffset, settings, logFd, 0, nowMs, true);
    } catch (error) {
      closeSync(logFd);
      throw error;
    }
    try {
      segment.offsetIndexFd = openSync(segment.offsetIndexPath, 'w+');
      segment.timeIndexFd = openSync(segment.timeIndexPath, 'w+');
    } catch (error) {
      segment.close();
      throw error;
    }
    return segment;
  }

  /**
   * Opens the `.log` of an existing segment. Its indexes and end state are unknown until
   * `loadTrusted` or `recover` runs.
   */
  static openExisting(dir: string, baseOffset: number, settings: SegmentSettings, nowMs: number): Segment {
    const logPath = join(dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX));
    const logFd = openSync(logPath, 'r+');
    const sizeBytes = fstatSync(logFd).size;
    if (sizeBytes > INT32_MAX) {
      closeSync(logFd);
      throw new CorruptFileError(logPath, `${sizeBytes} bytes is beyond the 2 GiB a segment can address`);
    }
    try {
      return new Segment(dir, baseOffset, settings, logFd, sizeBytes, nowMs, false);
    } catch (error) {
      closeSync(logFd);
      throw error;
    }
  }

  get sizeBytes(): number {
    return this.logSizeBytes;
  }

  /** The offset after the last batch: the next offset this segment would assign. */
  get nextOffset(): number {
    return this.endOffset;
  }

  /** The largest batch max timestamp in the segment, or NO_TIMESTAMP (-1). */
  get maxTimestampMs(): number {
    return this.maxTimestamp;
  }

  /** The first batch's max timestamp, which time-based rolling measures from; -1 when empty or untimed. */
  get firstBatchTimestampMs(): number {
    return this.firstBatchMaxTimestampMs;
  }

  get offsetIndexEntries(): number {
    return this.offsetIndex.entryCount;
  }

  get timeIndexEntries(): number {
    return this.timeIndex.entryCount;
  }

  /** Kafka's `largestTimestamp`: the max record timestamp, or the file's mtime if no batch has one. */
  largestTimestampMs(): number {
    return this.maxTimestamp >= 0 ? this.maxTimestamp : Math.floor(fstatSync(this.logFd).mtimeMs);
  }

  /**
   * Kafka's roll rule for an append of `incomingBytes` whose largest timestamp and last offset are
   * given: roll if it would overflow segmentBytes, if the time since the first batch (by record
   * timestamps, or by the wall clock when the first batch has none) exceeds segmentMs, if an index
   * is full, or if the last offset would not fit the indexes' int32 relative offsets.
   */
  shouldRoll(
    incomingBytes: number,
    incomingMaxTimestampMs: number,
    incomingLastOffset: number,
    nowMs: number,
    segmentBytes: number,
    segmentMs: number,
  ): boolean {
    const waitedMs =
      this.firstBatchMaxTimestampMs >= 0
        ? incomingMaxTimestampMs - this.firstBatchMaxTimestampMs
        : nowMs - this.createdMs;
    return (
      this.logSizeBytes > segmentBytes - incomingBytes ||
      (this.logSizeBytes > 0 && waitedMs > segmentMs) ||
      this.offsetIndex.isFull ||
      this.timeIndex.isFull ||
      !this.offsetIndex.canHold(incomingLastOffset)
    );
  }

  /**
   * Appends a validated append's batches, their offsets assigned from `baseOffset`, with one
   * write, then indexes them from the validator's facts. A failed write is cut back so the file
   * never keeps half an append.
   */
  append(validated: ValidatedAppend, baseOffset: number): void {
    assert.ok(this.offsetIndexFd >= 0, 'only the active segment is appended to');
    const { bytes, batchCount, positions, sizes, lastOffsetDeltas, maxTimestamps } = validated;
    const start = this.logSizeBytes;
    try {
      writeFully(this.logFd, bytes, bytes.length, start);
    } catch (error) {
      try {
        ftruncateSync(this.logFd, start);
      } catch {
        // The write error is the one to report; the log fails stop and recovery cuts the tail.
      }
      throw error;
    }
    this.logSizeBytes = start + bytes.length;
    this.logDirty = true;
    let lastOffset = baseOffset - 1;
    for (let batch = 0; batch < batchCount; batch++) {
      lastOffset += lastOffsetDeltas[batch] + 1;
      this.trackBatch(start + positions[batch], sizes[batch], lastOffset, maxTimestamps[batch]);
    }
  }

  /**
   * Loads a segment below the recovery point, without CRC checks: reads and checks both index files,
   * then scans the batch headers after the last offset index entry to learn the end offset and the
   * max timestamp. An index that is missing, torn or inconsistent with the log is rebuilt from a
   * header scan of the whole `.log`; a `.log` whose headers do not chain is reported, not repaired.
   */
  loadTrusted(upperBoundOffset: number | null, window: FileWindow): TrustedLoadOutcome {
    const indexProblem = this.loadIndexesAndTail(upperBoundOffset, window);
    if (indexProblem === null) return { outcome: 'loaded' };
    const logProblem = this.rebuildIndexes(upperBoundOffset, window, false);
    if (logProblem !== null) return { outcome: 'logInconsistent', reason: logProblem };
    return { outcome: 'indexRebuilt', reason: indexProblem };
  }

  /**
   * Kafka's segment recovery: validates every batch (length, magic, CRC32C, counts) and that offsets
   * ascend and fit the segment, rebuilds both indexes from the valid batches, and cuts the `.log` at
   * the end of the last valid batch. Nothing before that point is touched.
   */
  recover(upperBoundOffset: number | null, window: FileWindow): SegmentRecovery {
    this.resetIndexState();
    const fileSize = this.logSizeBytes;
    const scan = scanValidBatches(this.logFd, this.baseOffset, fileSize, upperBoundOffset, window, (position, sizeBytes, lastOffset, maxTimestampMs) =>
      this.trackBatch(position, sizeBytes, lastOffset, maxTimestampMs),
    );
    const position = scan.validBytes;
    let reason = scan.reason;
    const truncatedBytes = fileSize - position;
    if (truncatedBytes > 0) {
      ftruncateSync(this.logFd, position);
      this.logSizeBytes = position;
      this.logDirty = true;
      reason = `at byte ${position}: ${reason}`;
    }
    this.finalizeTimeIndex();
    const indexesRewritten = this.persistIndexes();
    return { truncatedBytes, reason, indexesRewritten };
  }

  /** Opens the index files for appending (the segment becomes the active one). */
  activate(): void {
    if (this.offsetIndexFd >= 0) return;
    this.offsetIndexFd = openIndexForAppend(this.offsetIndexPath, this.offsetIndex.entryCount * OFFSET_INDEX_ENTRY_BYTES);
    try {
      this.timeIndexFd = openIndexForAppend(this.timeIndexPath, this.timeIndex.entryCount * TIME_INDEX_ENTRY_BYTES);
    } catch (error) {
      closeSync(this.offsetIndexFd);
      this.offsetIndexFd = -1;
      throw error;
    }
  }

  /**
   * The segment stops being the active one: as Kafka does, record its largest timestamp in the time
   * index (retention reads it from there) and close the index files.
   */
  deactivate(): void {
    this.finalizeTimeIndex();
    this.closeIndexFiles();
  }

  /** The first batch whose last offset is >= `targetOffset`, or null if the segment has none. */
  findBatch(targetOffset: number, window: FileWindow): BatchLocation | null {
    return this.withIndexHealing(window, () => {
      const slot = this.offsetIndex.floorSlot(targetOffset);
      const from = slot < 0 ? 0 : this.offsetIndex.positionAt(slot);
      const cursor = new BatchHeaderCursor(window, this.logFd, from, this.logSizeBytes, this.baseOffset, null);
      while (cursor.next()) {
        if (slot >= 0 && cursor.position === from) this.expectIndexedBatch(slot, cursor);
        if (cursor.lastOffset >= targetOffset) {
          return {
            position: cursor.position,
            sizeBytes: cursor.sizeBytes,
            baseOffset: cursor.baseOffset,
            lastOffset: cursor.lastOffset,
          };
        }
      }
      this.failIfCursorFailed(cursor, slot >= 0);
      return null;
    });
  }

  /**
   * Calls `visit(buffer, at)` for each batch whose last offset is >= `fromOffset`, in offset order,
   * with at least the batch's header at `at` of `buffer`; a control batch (one small marker record)
   * is there whole, so that its marker can be read. No CRC checks: for replaying producer state.
   */
  visitBatches(fromOffset: number, window: FileWindow, visit: (buffer: Buffer, at: number) => void): void {
    const first = this.findBatch(fromOffset, window);
    if (first === null) return;
    const cursor = new BatchHeaderCursor(window, this.logFd, first.position, this.logSizeBytes, this.baseOffset, null);
    while (cursor.next()) {
      let at = window.load(this.logFd, cursor.position, BATCH_HEADER_BYTES, this.logSizeBytes);
      if (isControlBatch(readAttributes(window.buffer, at))) {
        at = window.load(this.logFd, cursor.position, cursor.sizeBytes, this.logSizeBytes);
      }
      visit(window.buffer, at);
    }
    this.throwIfCursorFailed(cursor);
  }

  /**
   * Removes every batch holding an offset >= `offset` (a batch that straddles it goes whole, as in
   * Kafka), cuts the offset and time indexes to match (the partition log cuts the `.txnindex`,
   * with producer state) and re-derives the end state from the last remaining index entry. Leaves
   * the segment active. Returns the number of bytes removed.
   */
  truncateTo(offset: number, window: FileWindow, nowMs: number): number {
    const cut = this.findBatch(offset, window);
    this.activate();
    if (cut === null) return 0;
    const truncatedBytes = this.logSizeBytes - cut.position;
    ftruncateSync(this.logFd, cut.position);
    this.logSizeBytes = cut.position;
    this.logDirty = true;
    this.offsetIndex.truncateFromPosition(cut.position);
    this.timeIndex.truncateFromOffset(cut.baseOffset);
    ftruncateSync(this.offsetIndexFd, this.offsetIndex.entryCount * OFFSET_INDEX_ENTRY_BYTES);
    ftruncateSync(this.timeIndexFd, this.timeIndex.entryCount * TIME_INDEX_ENTRY_BYTES);
    this.indexesDirty = true;
    // Every batch up to the last offset index entry is covered by the time index's last entry,
    // so scanning from that entry's batch to the cut re-derives the exact maximum.
    const from = this.offsetIndex.lastPosition();
    this.maxTimestamp = this.timeIndex.lastTimestamp();
    this.offsetOfMaxTimestamp = this.timeIndex.lastOffset();
    this.bytesSinceLastIndexEntry = cut.position - from;
    this.endOffset = this.baseOffset;
    const cursor = new BatchHeaderCursor(window, this.logFd, from, cut.position, this.baseOffset, null);
    while (cursor.next()) {
      this.noteMaxTimestamp(cursor.maxTimestampMs, cursor.lastOffset);
      this.endOffset = cursor.lastOffset + 1;
    }
    this.throwIfCursorFailed(cursor);
    if (cut.position === 0) {
      this.createdMs = nowMs;
      this.firstBatchMaxTimestampMs = NO_TIMESTAMP;
    }
    return truncatedBytes;
  }

  /** fsyncs what was written since the last flush. Returns whether anything needed it. */
  flush(): boolean {
    let synced = false;
    if (this.logDirty) {
      fsyncSync(this.logFd);
      this.logDirty = false;
      synced = true;
    }
    if (this.indexesDirty) {
      fsyncPath(this.offsetIndexPath, this.offsetIndexFd);
      fsyncPath(this.timeIndexPath, this.timeIndexFd);
      this.indexesDirty = false;
      synced = true;
    }
    if (this.txnIndex.flush()) synced = true;
    return synced;
  }

  close(): void {
    this.closeIndexFiles();
    if (this.logFd >= 0) {
      closeSync(this.logFd);
      this.logFd = -1;
    }
  }

  /**
   * Closes the segment and removes its files, indexes first: a crash in between leaves a `.log`
   * whose indexes are rebuilt on open rather than index files describing data that is gone.
   */
  delete(): void {
    this.close();
    this.txnIndex.delete();
    unlinkIfExists(this.offsetIndexPath);
    unlinkIfExists(this.timeIndexPath);
    unlinkIfExists(this.logPath);
  }

  /**
   * Kafka's per-batch index rule, shared by append, recovery and rebuild so that all three produce
   * the same entries: a batch gets an offset index entry (its last offset, its start position) when
   * more than indexIntervalBytes were appended since the previous entry, and the time index then
   * records the segment's max timestamp so far if it grew.
   */
  private trackBatch(position: number, sizeBytes: number, lastOffset: number, maxTimestampMs: number): void {
    this.noteMaxTimestamp(maxTimestampMs, lastOffset);
    if (this.bytesSinceLastIndexEntry > this.settings.indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      if (this.offsetIndexFd >= 0) this.writeOffsetIndexEntry(this.offsetIndex.entryCount - 1);
      if (this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp) && this.timeIndexFd >= 0) {
        this.writeTimeIndexEntry(this.timeIndex.entryCount - 1);
      }
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += sizeBytes;
    if (position === 0) this.firstBatchMaxTimestampMs = maxTimestampMs;
    this.endOffset = lastOffset + 1;
  }

  private noteMaxTimestamp(maxTimestampMs: number, lastOffset: number): void {
    if (maxTimestampMs > this.maxTimestamp) {
      this.maxTimestamp = maxTimestampMs;
      this.offsetOfMaxTimestamp = lastOffset;
    }
  }

  private finalizeTimeIndex(): void {
    if (this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp) && this.timeIndexFd >= 0) {
      this.writeTimeIndexEntry(this.timeIndex.entryCount - 1);
    }
  }

  private writeOffsetIndexEntry(slot: number): void {
    this.offsetIndex.encodeEntry(slot, this.entryScratch, 0);
    writeFully(this.offsetIndexFd, this.entryScratch, OFFSET_INDEX_ENTRY_BYTES, slot * OFFSET_INDEX_ENTRY_BYTES);
    this.indexesDirty = true;
  }

  private writeTimeIndexEntry(slot: number): void {
    this.timeIndex.encodeEntry(slot, this.entryScratch, 0);
    writeFully(this.timeIndexFd, this.entryScratch, TIME_INDEX_ENTRY_BYTES, slot * TIME_INDEX_ENTRY_BYTES);
    this.indexesDirty = true;
  }

  private resetIndexState(): void {
    this.offsetIndex = new OffsetIndex(this.offsetIndexPath, this.baseOffset, this.settings.maxOffsetIndexEntries);
    this.timeIndex = new TimeIndex(this.timeIndexPath, this.baseOffset, this.settings.maxTimeIndexEntries);
    this.maxTimestamp = NO_TIMESTAMP;
    this.offsetOfMaxTimestamp = this.baseOffset;
    this.firstBatchMaxTimestampMs = NO_TIMESTAMP;
    this.bytesSinceLastIndexEntry = 0;
    this.endOffset = this.baseOffset;
  }

  /** Returns why the index files cannot be trusted, or null once they and the end state are loaded. */
  private loadIndexesAndTail(upperBoundOffset: number | null, window: FileWindow): string | null {
    let offsetIndex: OffsetIndex;
    let timeIndex: TimeIndex;
    try {
      offsetIndex = OffsetIndex.decode(
        this.offsetIndexPath,
        this.baseOffset,
        this.settings.maxOffsetIndexEntries,
        readIndexFile(this.offsetIndexPath),
      );
      offsetIndex.check(this.logSizeBytes);
      timeIndex = TimeIndex.decode(
        this.timeIndexPath,
        this.baseOffset,
        this.settings.maxTimeIndexEntries,
        readIndexFile(this.timeIndexPath),
      );
    } catch (error) {
      if (error instanceof CorruptFileError) return error.message;
      throw error;
    }
    const from = offsetIndex.lastPosition();
    let maxTimestamp = timeIndex.lastTimestamp();
    let offsetOfMaxTimestamp = timeIndex.lastOffset();
    let endOffset = this.baseOffset;
    const cursor = new BatchHeaderCursor(window, this.logFd, from, this.logSizeBytes, this.baseOffset, upperBoundOffset);
    while (cursor.next()) {
      if (offsetIndex.entryCount > 0 && cursor.position === from && cursor.lastOffset !== offsetIndex.lastOffset()) {
        return (
          `${this.offsetIndexPath}: last entry names offset ${offsetIndex.lastOffset()} but the batch at byte ` +
          `${from} ends at offset ${cursor.lastOffset}`
        );
      }
      if (cursor.maxTimestampMs > maxTimestamp) {
        maxTimestamp = cursor.maxTimestampMs;
        offsetOfMaxTimestamp = cursor.lastOffset;
      }
      endOffset = cursor.lastOffset + 1;
    }
    if (cursor.problem !== null) return `${this.logPath}: ${cursor.problem}`;
    try {
      timeIndex.check(endOffset - 1);
    } catch (error) {
      if (error instanceof CorruptFileError) return error.message;
      throw error;
    }
    let firstBatchMaxTimestampMs = NO_TIMESTAMP;
    if (this.logSizeBytes > 0) {
      const first = new BatchHeaderCursor(window, this.logFd, 0, this.logSizeBytes, this.baseOffset, upperBoundOffset);
      if (!first.next()) return `${this.logPath}: ${first.problem}`;
      firstBatchMaxTimestampMs = first.maxTimestampMs;
    }
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.maxTimestamp = maxTimestamp;
    this.offsetOfMaxTimestamp = offsetOfMaxTimestamp;
    this.firstBatchMaxTimestampMs = firstBatchMaxTimestampMs;
    this.bytesSinceLastIndexEntry = this.logSizeBytes - from;
    this.endOffset = endOffset;
    return null;
  }

  /**
   * Rebuilds both indexes from a header scan of the whole `.log` (no CRC checks) and rewrites the
   * index files. Returns why the `.log` itself is inconsistent, or null on success.
   */
  private rebuildIndexes(upperBoundOffset: number | null, window: FileWindow, keepActive: boolean): string | null {
    this.closeIndexFiles();
    this.resetIndexState();
    const cursor = new BatchHeaderCursor(window, this.logFd, 0, this.logSizeBytes, this.baseOffset, upperBoundOffset);
    while (cursor.next()) this.trackBatch(cursor.position, cursor.sizeBytes, cursor.lastOffset, cursor.maxTimestampMs);
    if (cursor.problem !== null) return `${this.logPath}: ${cursor.problem}`;
    this.finalizeTimeIndex();
    this.persistIndexes();
    if (keepActive) this.activate();
    return null;
  }

  /**
   * Runs a scan that starts at an index entry. If the entry disagrees with the log (IndexMismatch),
   * both indexes are rebuilt from the log, with a warning, and the scan runs again: a damaged index
   * costs a rebuild, never a wrong answer.
   */
  private withIndexHealing<T>(window: FileWindow, scan: () => T): T {
    try {
      return scan();
    } catch (error) {
      if (!(error instanceof IndexMismatch)) throw error;
      const wasActive = this.offsetIndexFd >= 0;
      const logProblem = this.rebuildIndexes(null, window, wasActive);
      if (logProblem !== null) throw new CorruptFileError(this.logPath, logProblem);
      this.settings.logger.warn(`rebuilt the indexes of ${this.logPath} from the log: ${error.message}`);
    }
    try {
      return scan();
    } catch (error) {
      if (error instanceof IndexMismatch) throw new CorruptFileError(this.logPath, error.message);
      throw error;
    }
  }

  /** An offset index entry keys the batch at its position by that batch's last offset. */
  private expectIndexedBatch(slot: number, cursor: BatchHeaderCursor): void {
    if (cursor.lastOffset !== this.offsetIndex.offsetAt(slot)) {
      throw new IndexMismatch(
        `${this.offsetIndexPath}: entry ${slot} names offset ${this.offsetIndex.offsetAt(slot)} but the batch at ` +
          `byte ${cursor.position} ends at offset ${cursor.lastOffset}`,
      );
    }
  }

  /** A scan that began at an index entry and broke blames the index; one from byte 0 blames the log. */
  private failIfCursorFailed(cursor: BatchHeaderCursor, startedAtIndexEntry: boolean): void {
    if (cursor.problem === null) return;
    if (startedAtIndexEntry) throw new IndexMismatch(`${this.offsetIndexPath} led to a bad position: ${cursor.problem}`);
    throw new CorruptFileError(this.logPath, cursor.problem);
  }

  /** Writes each index file whose bytes differ from the in-memory index. Returns whether any did. */
  private persistIndexes(): boolean {
    assert.ok(this.offsetIndexFd < 0 && this.timeIndexFd < 0, 'index files are rewritten only while closed');
    const offsetRewritten = writeFileIfDifferent(this.offsetIndexPath, this.offsetIndex.encode());
    const timeRewritten = writeFileIfDifferent(this.timeIndexPath, this.timeIndex.encode());
    if (offsetRewritten || timeRewritten) this.indexesDirty = true;
    return offsetRewritten || timeRewritten;
  }

  private closeIndexFiles(): void {
    if (this.offsetIndexFd >= 0) {
      closeSync(this.offsetIndexFd);
      this.offsetIndexFd = -1;
    }
    if (this.timeIndexFd >= 0) {
      closeSync(this.timeIndexFd);
      this.timeIndexFd = -1;
    }
  }

  private throwIfCursorFailed(cursor: BatchHeaderCursor): void {
    if (cursor.problem !== null) throw new CorruptFileError(this.logPath, cursor.problem);
  }
}

/** An index entry that disagrees with the log; caught inside Segment, which rebuilds the index. */
class IndexMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndexMismatch';
  }
}

/** How far a segment's `.log` holds valid batches, as recovery judges them. */
export interface ValidBatchScan {
  /** Bytes from the start of the file up to the end of the last valid batch. */
  readonly validBytes: number;
  /** The offset after the last valid batch (the segment's base offset when none is). */
  readonly nextOffset: number;
  /** Why the batch at validBytes is invalid; null when the whole file is valid. */
  readonly reason: string | null;
}

/**
 * Validates every batch of the `.log` open as `fd` (length, magic, CRC32C, counts, offsets that
 * ascend and stay below `upperBoundOffset`) and stops at the first invalid one. Reads only: both
 * recovery, which then cuts the file there, and the read-only check of a data directory use it.
 * `onBatch` is told each valid batch in order.
 */
export function scanValidBatches(
  fd: number,
  baseOffset: number,
  fileSize: number,
  upperBoundOffset: number | null,
  window: FileWindow,
  onBatch: (position: number, sizeBytes: number, lastOffset: number, maxTimestampMs: number) => void = () => {},
): ValidBatchScan {
  let position = 0;
  let minBaseOffset = baseOffset;
  let reason: string | null = null;
  while (position < fileSize) {
    const remaining = fileSize - position;
    if (remaining < LOG_OVERHEAD_BYTES) {
      reason = `${remaining} trailing bytes are too few for a batch's length prefix (torn write)`;
      break;
    }
    let at = window.load(fd, position, LOG_OVERHEAD_BYTES, fileSize);
    const sizeBytes = window.buffer.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
    if (sizeBytes < BATCH_HEADER_BYTES) {
      reason = `batch length ${sizeBytes - LOG_OVERHEAD_BYTES} is below the minimum ${BATCH_LENGTH_MIN}`;
      break;
    }
    if (sizeBytes > remaining) {
      reason = `the batch needs ${sizeBytes} bytes but only ${remaining} remain (torn write)`;
      break;
    }
    at = window.load(fd, position, sizeBytes, fileSize);
    const buffer = window.buffer;
    try {
      validateBatchAt(buffer, at, at + sizeBytes, position - at);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      reason = error.reason;
      break;
    }
    const headerReason = checkOffsetsAndTimestamp(buffer, at, minBaseOffset, baseOffset, upperBoundOffset);
    if (headerReason !== null) {
      reason = headerReason;
      break;
    }
    const lastOffset = readBaseOffset(buffer, at) + readLastOffsetDelta(buffer, at);
    onBatch(position, sizeBytes, lastOffset, readMaxTimestamp(buffer, at));
    minBaseOffset = lastOffset + 1;
    position += sizeBytes;
  }
  return { validBytes: position, nextOffset: minBaseOffset, reason };
}

function fsyncPath(path: string, openFd: number): void {
  if (openFd >= 0) {
    fsyncSync(openFd);
    return;
  }
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readIndexFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptFileError(path, 'missing');
    throw error;
  }
}

/**
 * Opens (creating if needed) an index file for positional writes, cut to exactly `lengthBytes`.
 * Not O_APPEND: Linux ignores the position of writes to files opened in append mode.
 */
function openIndexForAppend(path: string, lengthBytes: number): number {
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    // Only when it differs: a truncate stamps the file's mtime, and opening must not change an intact file.
    if (fstatSync(fd).size !== lengthBytes) ftruncateSync(fd, lengthBytes);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

function writeFileIfDifferent(path: string, bytes: Buffer): boolean {
  let existing: Buffer | null = null;
  try {
    existing = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (existing !== null && existing.equals(bytes)) return false;
  const fd = openSync(path, 'w');
  try {
    writeFully(fd, bytes, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  return true;
}
