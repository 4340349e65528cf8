/**
 * The log cleaner's CPU-heavy work, run on a piscina pool thread (cleaner-pool.ts). `cleanLog` is
 * a pure function over the files of one partition directory: it only reads segments and writes new
 * `<base offset>.<suffix>.cleaned` files beside them. The shard thread that owns the log decides
 * what to clean and swaps the results in (log-cleaner.ts), so the owner's state is never touched
 * from here and a crash at any point leaves the old segments intact.
 *
 * Kafka's two passes (its LogCleaner.doClean):
 *
 *  1. the offset map: key -> offset of its latest record, over the dirty section [firstDirtyOffset,
 *     firstUncleanableOffset), skipping control batches, aborted transactions and keyless records.
 *     The map has explicit limits (entries and key bytes, Kafka's log.cleaner.dedupe.buffer.size);
 *     when it fills, the map ends at the first record that did not fit (`mapEndOffset`) and the
 *     next clean starts there.
 *  2. the rewrite: every segment from the log start up to the one holding `mapEndOffset - 1`, in
 *     groups merged into one file each (at most segmentBytes and an int32 of offsets, as Kafka's
 *     groupSegmentsBySize), keeping a record when it is the latest for its key or its key is not
 *     in the map. Offsets never change: a batch keeps its base offset, its lastOffsetDelta, its
 *     producer id, epoch and base sequence and its base timestamp, and each kept record its bytes
 *     (offset and timestamp deltas included), so a compacted log has gaps, as in Kafka. Retained
 *     records are copied byte for byte; a compressed batch is inflated and recompressed with its
 *     codec. A batch that keeps every record is copied whole, CRC and all.
 *
 * Removal rules, after Kafka:
 *  - a tombstone (null value) goes once it is covered by the map (offset < mapEndOffset, so every
 *    older record of its key goes in the same pass) and its batch's max timestamp is more than
 *    deleteRetentionMs old. Kafka measures that age from when the tombstone was first cleaned
 *    (KIP-534 stores a delete horizon in the batch header); here the record timestamp is the
 *    clock, which needs no header rewrite and gives consumers the same deleteRetentionMs window
 *    after the append when timestamps are append times (CreateTime close to now, or LogAppendTime);
 *  - a record without a key goes (Kafka's cleaner counts it invalid and drops it; appends of
 *    keyless records to a compacted log are refused anyway);
 *  - a batch of an aborted transaction goes whole (the transaction index says which);
 *  - a transaction marker goes when nothing of its transaction is left before it (an ABORT whose
 *    data batches were all removed; a COMMIT with no data batch of its transaction traversed in
 *    this pass), under the same age rule as tombstones. A kept ABORT marker keeps its transaction
 *    index entry, moved to the cleaned segment;
 *  - the last data batch of each producer the log remembers is kept even when all its records go,
 *    as an empty batch (header only), so that replaying the log restores the producer's epoch and
 *    sequence (Kafka's RETAIN_EMPTY). A producer whose last batch is a marker keeps that marker.
 */
import assert from 'node:assert/strict';
import { closeSync, fstatSync, fsyncSync, openSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, InvalidConfigError } from '../errors.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CRC_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAX_TIMESTAMP_OFFSET,
  RECORD_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  computeBatchCrc,
  isControlBatch,
  isTransactionalBatch,
  readAttributes,
  readMaxTimestamp,
  readProducerEpoch,
  readProducerId,
} from '../protocol/batch-header.js';
import { compressRecords, compressionTypeOfId } from '../protocol/compression.js';
import { parseControlRecord } from '../protocol/control-record.js';
import { writeInt64 } from '../protocol/int64.js';
import { forEachRecord, type RecordView } from '../protocol/record-batch-reader.js';
import { ByteCursor, readVarint } from '../protocol/varint.js';
import { writeFileDurably, FileWindow, writeFully } from './durable-fs.js';
import { OffsetIndex } from './offset-index.js';
import {
  LOG_FILE_SUFFIX,
  OFFSET_INDEX_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  segmentFileName,
} from './segment.js';
import { BatchHeaderCursor } from './batch-header-cursor.js';
import { NO_TIMESTAMP, TimeIndex } from './time-index.js';
import { TXN_INDEX_FILE_SUFFIX, TransactionIndex, type AbortedTxn } from './txn-index.js';
import { INT32_MAX } from '../protocol/limits.js';

/** Suffix of the files a clean writes; the swap renames them to `.swap`, then into place. */
export const CLEANED_FILE_SUFFIX = '.cleaned';

/** A segment the task may read: inactive, so its size no longer changes. */
export interface CleanTaskSegment {
  readonly baseOffset: number;
  readonly nextOffset: number;
  readonly sizeBytes: number;
}

/** What the log remembers of a producer: its last data batch must survive cleaning. */
export interface ProducerLastBatch {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The last offset of its newest data batch, or -1 when none is cached. */
  readonly lastDataOffset: number;
}

export interface CleanTask {
  readonly dir: string;
  /** Every segment from the log start up to (not including) the active one, ascending. */
  readonly segments: readonly CleanTaskSegment[];
  readonly firstDirtyOffset: number;
  /** The map never covers this offset or later ones (active segment, open transactions, min lag). */
  readonly firstUncleanableOffset: number;
  /** Every aborted transaction the log's transaction indexes hold. */
  readonly abortedTxns: readonly AbortedTxn[];
  readonly producers: readonly ProducerLastBatch[];
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
  readonly offsetMapMaxEntries: number;
  readonly offsetMapMaxKeyBytes: number;
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  readonly maxOffsetIndexEntries: number;
  readonly maxTimeIndexEntries: number;
}

/** One merged group: the segments it replaces, the first of which names the cleaned files. */
export interface CleanedGroup {
  readonly baseOffsets: readonly number[];
  /** The replaced segments' sizes when the task read them, for the swap's staleness check. */
  readonly sizesBytes: readonly number[];
  readonly cleanedSizeBytes: number;
}

export interface CleanTaskResult {
  /** The map covered [firstDirtyOffset, mapEndOffset): the next clean's first dirty offset. */
  readonly mapEndOffset: number;
  readonly groups: readonly CleanedGroup[];
  readonly keysMapped: number;
  readonly recordsRead: number;
  readonly recordsRetained: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

const READ_WINDOW_BYTES = 1024 * 1024;
const WRITE_BUFFER_BYTES = 1024 * 1024;
const NO_OFFSET = -1;

/** The path of a cleaned file: `<dir>/<base offset, 20 digits><suffix>.cleaned`. */
export function cleanedFilePath(dir: string, baseOffset: number, suffix: string): string {
  return join(dir, segmentFileName(baseOffset, suffix) + CLEANED_FILE_SUFFIX);
}

/** The piscina task: both passes, then the cleaned files of every group, fsynced. */
export default function cleanLog(task: CleanTask): CleanTaskResult {
  checkTask(task);
  const map = new KeyOffsetMap(task.offsetMapMaxEntries, task.offsetMapMaxKeyBytes);
  const aborted = new AbortedRanges(task.abortedTxns);
  const window = new FileWindow(READ_WINDOW_BYTES);
  const built = buildOffsetMap(task, map, aborted, window);
  const toRewrite = task.segments.filter((segment) => segment.baseOffset < built.mapEndOffset);
  const rewriter = new SegmentRewriter(task, map, aborted, built.mapEndOffset, window);
  const groups: CleanedGroup[] = [];
  for (const group of groupSegments(toRewrite, task)) groups.push(rewriter.rewriteGroup(group));
  return {
    mapEndOffset: built.mapEndOffset,
    groups,
    keysMapped: map.size,
    recordsRead: rewriter.recordsRead,
    recordsRetained: rewriter.recordsRetained,
    bytesRead: built.bytesRead + rewriter.bytesRead,
    bytesWritten: rewriter.bytesWritten,
  };
}

function checkTask(task: CleanTask): void {
  assert.ok(task.segments.length > 0, 'a clean reads at least one segment');
  assert.ok(task.firstDirtyOffset < task.firstUncleanableOffset, 'a clean has a dirty section');
  for (let i = 1; i < task.segments.length; i++) {
    assert.ok(task.segments[i - 1].nextOffset <= task.segments[i].baseOffset, 'segments ascend without overlap');
  }
  if (!Number.isSafeInteger(task.offsetMapMaxEntries) || task.offsetMapMaxEntries < 1) {
    throw new InvalidConfigError(`offsetMapMaxEntries must be an integer >= 1, got ${String(task.offsetMapMaxEntries)}`);
  }
  if (!Number.isSafeInteger(task.offsetMapMaxKeyBytes) || task.offsetMapMaxKeyBytes < 1 || task.offsetMapMaxKeyBytes > INT32_MAX) {
    throw new InvalidConfigError(
      `offsetMapMaxKeyBytes must be an integer from 1 to ${INT32_MAX}, got ${String(task.offsetMapMaxKeyBytes)}`,
    );
  }
}

/**
 * Pass 1. Returns where the map ends: firstUncleanableOffset, or the offset of the first record
 * that did not fit. A map that cannot take even the first record means the limits are too small
 * for this log's keys, which no retry fixes: that is a configuration error.
 */
function buildOffsetMap(
  task: CleanTask,
  map: KeyOffsetMap,
  aborted: AbortedRanges,
  window: FileWindow,
): { mapEndOffset: number; bytesRead: number } {
  const from = task.firstDirtyOffset;
  const until = task.firstUncleanableOffset;
  let fullAt = NO_OFFSET;
  let bytesRead = 0;
  const visit = (record: RecordView): void => {
    if (fullAt !== NO_OFFSET || record.offset < from || record.offset >= until || record.keyLength < 0) return;
    if (!map.put(record.buffer, record.keyStart, record.keyLength, record.offset)) fullAt = record.offset;
  };
  for (const segment of task.segments) {
    if (segment.nextOffset <= from || segment.baseOffset >= until || fullAt !== NO_OFFSET) continue;
    bytesRead += visitSegmentBatches(task.dir, segment, window, (batch, baseOffset, lastOffset) => {
      if (lastOffset < from || baseOffset >= until || fullAt !== NO_OFFSET) return;
      const attributes = readAttributes(batch, 0);
      if (isControlBatch(attributes)) return;
      if (isTransactionalBatch(attributes) && aborted.contains(readProducerId(batch, 0), baseOffset)) return;
      forEachRecord(batch, visit);
    });
  }
  if (fullAt === from) {
    throw new InvalidConfigError(
      `the cleaner's offset map (offsetMapMaxEntries ${task.offsetMapMaxEntries}, offsetMapMaxKeyBytes ` +
        `${task.offsetMapMaxKeyBytes}) cannot hold the key at offset ${from} of ${task.dir}; raise offsetMapMaxKeyBytes`,
    );
  }
  return { mapEndOffset: fullAt === NO_OFFSET ? until : fullAt, bytesRead };
}

/**
 * Kafka's groupSegmentsBySize: consecutive segments merged while the result stays within
 * segmentBytes, its indexes within segment.index.bytes (estimated from the bytes: an entry per
 * indexIntervalBytes), and its offsets within an int32 of the first base offset.
 */
function groupSegments(segments: readonly CleanTaskSegment[], task: CleanTask): CleanTaskSegment[][] {
  const groups: CleanTaskSegment[][] = [];
  const bytesPerIndexEntry = Math.max(task.indexIntervalBytes, BATCH_HEADER_BYTES);
  const maxIndexEntries = Math.min(task.maxOffsetIndexEntries, task.maxTimeIndexEntries);
  let i = 0;
  while (i < segments.length) {
    const group = [segments[i]];
    let sizeBytes = segments[i].sizeBytes;
    i++;
    while (i < segments.length) {
      const next = segments[i];
      const mergedBytes = sizeBytes + next.sizeBytes;
      if (
        mergedBytes > task.segmentBytes ||
        Math.floor(mergedBytes / bytesPerIndexEntry) + 1 > maxIndexEntries ||
        next.nextOffset - 1 - group[0].baseOffset > INT32_MAX
      ) {
        break;
      }
      group.push(next);
      sizeBytes = mergedBytes;
      i++;
    }
    groups.push(group);
  }
  return groups;
}

type BatchVisitor = (batch: Buffer, baseOffset: number, lastOffset: number, position: number) => void;

/**
 * Calls `visit` with each whole batch of the segment's `.log` (a view valid during the call), in
 * order. The file must still be the size the task was given: a segment that changed under the
 * task (truncated, deleted and recreated) fails the task, and the owner tries again later.
 */
function visitSegmentBatches(dir: string, segment: CleanTaskSegment, window: FileWindow, visit: BatchVisitor): number {
  const logPath = join(dir, segmentFileName(segment.baseOffset, LOG_FILE_SUFFIX));
  const fd = openSync(logPath, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    if (fileBytes !== segment.sizeBytes) {
      // Not damage: the owner truncated or replaced the segment since it planned this clean.
      throw new Error(`${logPath} is ${fileBytes} bytes, the clean planned for ${segment.sizeBytes}: it changed; clean again`);
    }
    window.invalidate();
    const cursor = new BatchHeaderCursor(window, fd, 0, fileBytes, segment.baseOffset, null);
    while (cursor.next()) {
      const at = window.load(fd, cursor.position, cursor.sizeBytes, fileBytes);
      visit(window.buffer.subarray(at, at + cursor.sizeBytes), cursor.baseOffset, cursor.lastOffset, cursor.position);
    }
    if (cursor.problem !== null) throw new CorruptFileError(logPath, cursor.problem);
    window.invalidate();
    return fileBytes;
  } finally {
    closeSync(fd);
  }
}

/** Aborted transactions by producer, for "is this transactional batch aborted?". */
class AbortedRanges {
  private readonly byProducer = new Map<number, AbortedTxn[]>();

  constructor(txns: readonly AbortedTxn[]) {
    for (const txn of txns) {
      const list = this.byProducer.get(txn.producerId);
      if (list === undefined) this.byProducer.set(txn.producerId, [txn]);
      else list.push(txn);
    }
  }

  /** The aborted transaction of `producerId` holding `offset`, or null. */
  find(producerId: number, offset: number): AbortedTxn | null {
    const list = this.byProducer.get(producerId);
    if (list === undefined) return null;
    for (const txn of list) if (txn.firstOffset <= offset && offset <= txn.lastOffset) return txn;
    return null;
  }

  contains(producerId: number, offset: number): boolean {
    return this.find(producerId, offset) !== null;
  }

  /** The entry whose ABORT marker is at `markerOffset`, or null (a marker the index never recorded). */
  byMarker(producerId: number, markerOffset: number): AbortedTxn | null {
    const list = this.byProducer.get(producerId);
    if (list === undefined) return null;
    for (const txn of list) if (txn.lastOffset === markerOffset) return txn;
    return null;
  }
}

/** Pass 2: rewrites groups of segments, keeping what the rules in the module comment keep. */
class SegmentRewriter {
  recordsRead = 0;
  recordsRetained = 0;
  bytesRead = 0;
  bytesWritten = 0;
  private readonly deleteHorizonMs: number;
  private readonly lastBatchOfProducer = new Map<number, ProducerLastBatch>();
  /** Producers with a data batch of a not-aborted transaction traversed since their last marker. */
  private readonly committedTraversed = new Set<number>();
  /** Producers with an aborted batch kept (as an empty batch) since their last marker. */
  private readonly abortedKept = new Set<number>();
  // Per-batch record decisions, reused: the kept records' byte ranges in the records section.
  private keptStarts = new Int32Array(256);
  private keptEnds = new Int32Array(256);
  private keptCount = 0;
  private keptMaxTimestampMs = NO_TIMESTAMP;
  private readonly recordCursor = new ByteCursor(Buffer.alloc(0));
  private batchMaxTimestampMs = NO_TIMESTAMP;
  private currentBatch: Buffer = Buffer.alloc(0);
  private recordsSection: Buffer = Buffer.alloc(0);
  private sectionStarted = false;
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private readonly visitRecord = (record: RecordView): void => this.decide(record);

  constructor(
    private readonly task: CleanTask,
    private readonly map: KeyOffsetMap,
    private readonly aborted: AbortedRanges,
    private readonly mapEndOffset: number,
    private readonly window: FileWindow,
  ) {
    this.deleteHorizonMs = task.nowMs - task.deleteRetentionMs;
    for (const producer of task.producers) this.lastBatchOfProducer.set(producer.producerId, producer);
  }

  rewriteGroup(group: readonly CleanTaskSegment[]): CleanedGroup {
    const { dir } = this.task;
    const baseOffset = group[0].baseOffset;
    const output = new OutputFile(cleanedFilePath(dir, baseOffset, LOG_FILE_SUFFIX));
    const indexes = new CleanedIndexes(dir, baseOffset, this.task);
    const txnIndex = TransactionIndex.empty(cleanedFilePath(dir, baseOffset, TXN_INDEX_FILE_SUFFIX), baseOffset);
    try {
      for (const segment of group) {
        this.bytesRead += visitSegmentBatches(dir, segment, this.window, (batch, batchBase, lastOffset) => {
          const kept = this.filterBatch(batch, batchBase, lastOffset, txnIndex);
          if (kept === null) return;
          indexes.track(output.sizeBytes, kept.length, lastOffset, readMaxTimestamp(kept, 0));
          output.write(kept);
        });
      }
      output.finish();
      indexes.finish();
      // Always written, even empty: the swap then knows a missing `.txnindex.swap` was installed already.
      txnIndex.flush();
      writeEmptyIfMissing(txnIndex.path);
    } catch (error) {
      output.abandon();
      throw error;
    }
    // A merged segment takes the last one's modification time (Kafka's rule): retention by mtime,
    // used for segments without timestamps, must not be reset by cleaning.
    const lastLog = join(dir, segmentFileName(group[group.length - 1].baseOffset, LOG_FILE_SUFFIX));
    const { mtime } = statSync(lastLog);
    utimesSync(output.path, mtime, mtime);
    this.bytesWritten += output.sizeBytes;
    return {
      baseOffsets: group.map((segment) => segment.baseOffset),
      sizesBytes: group.map((segment) => segment.sizeBytes),
      cleanedSizeBytes: output.sizeBytes,
    };
  }

  /** The bytes to write for one batch (itself, a rewritten copy, or an empty batch), or null to drop it. */
  private filterBatch(batch: Buffer, baseOffset: number, lastOffset: number, txnIndex: TransactionIndex): Buffer | null {
    const attributes = readAttributes(batch, 0);
    const producerId = readProducerId(batch, 0);
    const lastOfProducer = this.isLastBatchOfProducer(batch, producerId, lastOffset, isControlBatch(attributes));
    const maxTimestampMs = readMaxTimestamp(batch, 0);
    if (isControlBatch(attributes)) {
      const marker = controlMarkerType(batch);
      let discardable = false;
      if (marker === 'commit') {
        discardable = !this.committedTraversed.delete(producerId);
      } else if (marker === 'abort') {
        discardable = !this.abortedKept.delete(producerId);
      }
      const old = lastOffset < this.mapEndOffset && maxTimestampMs < this.deleteHorizonMs;
      if (discardable && old && !lastOfProducer) return null;
      if (marker === 'abort') {
        const txn = this.aborted.byMarker(producerId, lastOffset);
        if (txn !== null) txnIndex.append(txn);
      }
      return batch;
    }
    if (isTransactionalBatch(attributes) && this.aborted.contains(producerId, baseOffset)) {
      this.recordsRead += batch.readInt32BE(RECORD_COUNT_OFFSET);
      if (!lastOfProducer) return null;
      this.abortedKept.add(producerId);
      return this.emptyBatch(batch);
    }
    if (isTransactionalBatch(attributes)) this.committedTraversed.add(producerId);
    const recordCount = batch.readInt32BE(RECORD_COUNT_OFFSET);
    this.keptCount = 0;
    this.keptMaxTimestampMs = NO_TIMESTAMP;
    this.batchMaxTimestampMs = maxTimestampMs;
    this.currentBatch = batch;
    this.sectionStarted = false;
    forEachRecord(batch, this.visitRecord);
    this.recordsRead += recordCount;
    this.recordsRetained += this.keptCount;
    if (this.keptCount === recordCount) return batch;
    if (this.keptCount === 0) return lastOfProducer ? this.emptyBatch(batch) : null;
    return this.rewrittenBatch(batch, attributes);
  }

  /** Kafka's shouldRetainRecord for one record; kept ones are noted by their byte range. */
  private decide(record: RecordView): void {
    // The records come in order; this cursor walks their length prefixes alongside the decoder,
    // which has already checked each record's bytes.
    const cursor = this.recordCursor;
    if (!this.sectionStarted) this.beginSection(record);
    const start = cursor.pos;
    const bodyBytes = readVarint(cursor);
    const end = cursor.pos + bodyBytes;
    cursor.pos = end;
    if (record.keyLength < 0) return;
    const latest = this.map.get(record.buffer, record.keyStart, record.keyLength);
    if (latest !== NO_OFFSET && record.offset < latest) return;
    if (record.valueLength < 0 && record.offset < this.mapEndOffset && this.batchMaxTimestampMs < this.deleteHorizonMs) return;
    if (this.keptCount === this.keptStarts.length) {
      const starts = new Int32Array(this.keptStarts.length * 2);
      starts.set(this.keptStarts);
      this.keptStarts = starts;
      const ends = new Int32Array(this.keptEnds.length * 2);
      ends.set(this.keptEnds);
      this.keptEnds = ends;
    }
    this.keptStarts[this.keptCount] = start;
    this.keptEnds[this.keptCount] = end;
    this.keptCount++;
    if (record.timestamp > this.keptMaxTimestampMs) this.keptMaxTimestampMs = record.timestamp;
  }

  /** Points the length-prefix walk at the first record of the batch being decoded. */
  private beginSection(record: RecordView): void {
    this.sectionStarted = true;
    this.recordsSection = record.buffer;
    const cursor = this.recordCursor;
    cursor.buf = record.buffer;
    // Uncompressed records are read in place, after the header; inflated ones start at 0.
    cursor.pos = record.buffer === this.currentBatch ? BATCH_HEADER_BYTES : 0;
    cursor.end = record.buffer.length;
  }

  /** The batch with only the kept records: same header fields, new count, max timestamp, length, CRC. */
  private rewrittenBatch(batch: Buffer, attributes: number): Buffer {
    const section = this.recordsSection;
    let recordsBytes = 0;
    for (let i = 0; i < this.keptCount; i++) recordsBytes += this.keptEnds[i] - this.keptStarts[i];
    const codec = compressionTypeOfId(attributes & COMPRESSION_CODEC_MASK);
    assert.ok(codec !== undefined, 'the decoder accepted the codec');
    let out = this.ensureScratch(BATCH_HEADER_BYTES + recordsBytes);
    batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
    let at = BATCH_HEADER_BYTES;
    for (let i = 0; i < this.keptCount; i++) at += section.copy(out, at, this.keptStarts[i], this.keptEnds[i]);
    let sizeBytes = at;
    if (codec !== 'none') {
      const compressed = compressRecords(codec, out.subarray(BATCH_HEADER_BYTES, at));
      sizeBytes = BATCH_HEADER_BYTES + compressed.length;
      out = this.ensureScratch(sizeBytes, true);
      compressed.copy(out, BATCH_HEADER_BYTES);
    }
    out.writeInt32BE(this.keptCount, RECORD_COUNT_OFFSET);
    // LogAppendTime batches carry the append time as their max timestamp; CreateTime ones the max of their records.
    if ((attributes & TIMESTAMP_TYPE_MASK) === 0) writeInt64(out, MAX_TIMESTAMP_OFFSET, this.keptMaxTimestampMs);
    return sealBatch(out, sizeBytes);
  }

  /** Kafka's empty batch: the header alone, no records, the original offsets and producer fields. */
  private emptyBatch(batch: Buffer): Buffer {
    const out = this.ensureScratch(BATCH_HEADER_BYTES);
    batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
    out.writeInt32BE(0, RECORD_COUNT_OFFSET);
    return sealBatch(out, BATCH_HEADER_BYTES);
  }

  /** Kafka's isBatchLastRecordOfProducer. */
  private isLastBatchOfProducer(batch: Buffer, producerId: number, lastOffset: number, control: boolean): boolean {
    const producer = this.lastBatchOfProducer.get(producerId);
    if (producer === undefined) return false;
    if (producer.lastDataOffset !== NO_OFFSET) return !control && producer.lastDataOffset === lastOffset;
    return control && readProducerEpoch(batch, 0) === producer.producerEpoch;
  }

  /** The reusable output buffer, at least `bytes` long; `keepHeader` carries the header over when it grows. */
  private ensureScratch(bytes: number, keepHeader = false): Buffer {
    if (this.scratch.length < bytes) {
      const grown = Buffer.allocUnsafe(Math.max(bytes, this.scratch.length * 2));
      if (keepHeader) this.scratch.copy(grown, 0, 0, BATCH_HEADER_BYTES);
      this.scratch = grown;
    }
    return this.scratch;
  }
}

/** Fills in the length and CRC of the batch in `out[0, sizeBytes)`; returns that view. */
function sealBatch(out: Buffer, sizeBytes: number): Buffer {
  out.writeInt32BE(sizeBytes - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
  out.writeUInt32BE(computeBatchCrc(out, 0, sizeBytes), CRC_OFFSET);
  return out.subarray(0, sizeBytes);
}

function controlMarkerType(batch: Buffer): 'commit' | 'abort' | 'other' {
  let type: 'commit' | 'abort' | 'other' = 'other';
  forEachRecord(batch, (record) => {
    type = parseControlRecord(record.key(), record.value()).type;
  });
  return type;
}

function writeEmptyIfMissing(path: string): void {
  const fd = openSync(path, 'a');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The offset and time indexes of a cleaned file, built with the segment's own per-batch rule
 * (Segment.trackBatch): an offset index entry once more than indexIntervalBytes were written since
 * the last, a time index entry when the max timestamp grew, and a last one for the segment's max.
 */
class CleanedIndexes {
  private readonly offsetIndex: OffsetIndex;
  private readonly timeIndex: TimeIndex;
  private maxTimestampMs = NO_TIMESTAMP;
  private offsetOfMaxTimestamp: number;
  private bytesSinceLastIndexEntry = 0;

  constructor(
    private readonly dir: string,
    private readonly baseOffset: number,
    private readonly task: CleanTask,
  ) {
    this.offsetIndex = new OffsetIndex(cleanedFilePath(dir, baseOffset, OFFSET_INDEX_FILE_SUFFIX), baseOffset, task.maxOffsetIndexEntries);
    this.timeIndex = new TimeIndex(cleanedFilePath(dir, baseOffset, TIME_INDEX_FILE_SUFFIX), baseOffset, task.maxTimeIndexEntries);
    this.offsetOfMaxTimestamp = baseOffset;
  }

  track(position: number, sizeBytes: number, lastOffset: number, maxTimestampMs: number): void {
    if (maxTimestampMs > this.maxTimestampMs) {
      this.maxTimestampMs = maxTimestampMs;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > this.task.indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += sizeBytes;
  }

  finish(): void {
    this.timeIndex.maybeAppend(this.maxTimestampMs, this.offsetOfMaxTimestamp);
    writeFileDurably(cleanedFilePath(this.dir, this.baseOffset, OFFSET_INDEX_FILE_SUFFIX), this.offsetIndex.encode());
    writeFileDurably(cleanedFilePath(this.dir, this.baseOffset, TIME_INDEX_FILE_SUFFIX), this.timeIndex.encode());
  }
}

/** A file written front to back through one reused buffer, fsynced when finished. */
class OutputFile {
  sizeBytes = 0;
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private buffered = 0;
  private open = true;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(bytes: Buffer): void {
    if (this.buffered + bytes.length > this.buffer.length) this.drain();
    if (bytes.length > this.buffer.length) {
      writeFully(this.fd, bytes, bytes.length, this.sizeBytes);
    } else {
      bytes.copy(this.buffer, this.buffered);
      this.buffered += bytes.length;
    }
    this.sizeBytes += bytes.length;
    assert.ok(this.sizeBytes <= INT32_MAX, 'a cleaned segment stays within an int32 of positions');
  }

  finish(): void {
    this.drain();
    fsyncSync(this.fd);
    this.close();
  }

  /** Closes after a failure; the owner removes the partial `.cleaned` file. */
  abandon(): void {
    if (this.open) this.close();
  }

  private drain(): void {
    if (this.buffered === 0) return;
    writeFully(this.fd, this.buffer, this.buffered, this.sizeBytes - this.buffered);
    this.buffered = 0;
  }

  private close(): void {
    this.open = false;
    closeSync(this.fd);
  }
}

/**
 * Kafka's dedupe buffer: key -> offset of its latest record, with fixed limits. Unlike Kafka's
 * SkimpyOffsetMap, which keeps a 16-byte MD5 of each key and accepts the tiny chance that two keys
 * collide (and one loses its records), this map keeps the key bytes themselves and compares them,
 * so it is exact; the price is memory that depends on key sizes, bounded by `maxKeyBytes`.
 * Open addressing with linear probing over a power-of-two slot table at most half full; the
 * arrays grow by doubling up to the limits, so a small log costs little. Nothing is allocated per
 * key: keys are copied into one arena.
 */
export class KeyOffsetMap {
  readonly maxEntries: number;
  readonly maxKeyBytes: number;
  private count = 0;
  private keyBytesUsed = 0;
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private keyStarts: Int32Array;
  private keyLengths: Int32Array;
  private offsets: Float64Array;
  private keys: Buffer;
  private readonly seed = (Math.random() * 0x1_0000_0000) | 0;

  constructor(maxEntries: number, maxKeyBytes: number) {
    assert.ok(Number.isSafeInteger(maxEntries) && maxEntries >= 1, 'the map holds at least one key');
    assert.ok(Number.isSafeInteger(maxKeyBytes) && maxKeyBytes >= 1 && maxKeyBytes <= INT32_MAX, 'key bytes fit an int32');
    this.maxEntries = maxEntries;
    this.maxKeyBytes = maxKeyBytes;
    const entries = Math.min(maxEntries, 1024);
    this.hashes = new Int32Array(entries);
    this.keyStarts = new Int32Array(entries);
    this.keyLengths = new Int32Array(entries);
    this.offsets = new Float64Array(entries);
    this.slots = new Int32Array(slotCountFor(entries));
    this.mask = this.slots.length - 1;
    this.keys = Buffer.allocUnsafe(Math.min(maxKeyBytes, 64 * 1024));
  }

  get size(): number {
    return this.count;
  }

  /** Records `offset` as the latest for the key `buffer[start, start + length)`. False when full: nothing changed. */
  put(buffer: Buffer, start: number, length: number, offset: number): boolean {
    const hash = hashBytes(buffer, start, length, this.seed);
    const found = this.find(buffer, start, length, hash);
    if (found >= 0) {
      assert.ok(offset > this.offsets[found], 'the map is built in offset order');
      this.offsets[found] = offset;
      return true;
    }
    if (this.count === this.maxEntries || this.keyBytesUsed + length > this.maxKeyBytes) return false;
    if (this.count === this.hashes.length) this.growEntries();
    if (this.keyBytesUsed + length > this.keys.length) this.growKeys(this.keyBytesUsed + length);
    const entry = this.count++;
    buffer.copy(this.keys, this.keyBytesUsed, start, start + length);
    this.hashes[entry] = hash;
    this.keyStarts[entry] = this.keyBytesUsed;
    this.keyLengths[entry] = length;
    this.offsets[entry] = offset;
    this.keyBytesUsed += length;
    this.insertSlot(hash, entry);
    return true;
  }

  /** The latest offset recorded for the key, or -1. */
  get(buffer: Buffer, start: number, length: number): number {
    const found = this.find(buffer, start, length, hashBytes(buffer, start, length, this.seed));
    return found < 0 ? NO_OFFSET : this.offsets[found];
  }

  private find(buffer: Buffer, start: number, length: number, hash: number): number {
    const slots = this.slots;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const stored = slots[slot];
      if (stored === 0) return -1;
      const entry = stored - 1;
      if (this.hashes[entry] === hash && this.keyLengths[entry] === length && this.keyEquals(entry, buffer, start, length)) {
        return entry;
      }
    }
  }

  private keyEquals(entry: number, buffer: Buffer, start: number, length: number): boolean {
    const keys = this.keys;
    const at = this.keyStarts[entry];
    for (let i = 0; i < length; i++) if (keys[at + i] !== buffer[start + i]) return false;
    return true;
  }

  private insertSlot(hash: number, entry: number): void {
    let slot = hash & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = entry + 1;
  }

  private growEntries(): void {
    const entries = Math.min(this.maxEntries, this.hashes.length * 2);
    this.hashes = grownInt32(this.hashes, entries);
    this.keyStarts = grownInt32(this.keyStarts, entries);
    this.keyLengths = grownInt32(this.keyLengths, entries);
    const offsets = new Float64Array(entries);
    offsets.set(this.offsets);
    this.offsets = offsets;
    this.slots = new Int32Array(slotCountFor(entries));
    this.mask = this.slots.length - 1;
    for (let entry = 0; entry < this.count; entry++) this.insertSlot(this.hashes[entry], entry);
  }

  private growKeys(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.min(this.maxKeyBytes, Math.max(needed, this.keys.length * 2)));
    this.keys.copy(grown, 0, 0, this.keyBytesUsed);
    this.keys = grown;
  }
}

/** A power of two at least twice `entries`: probes stay short. */
function slotCountFor(entries: number): number {
  let slots = 2;
  while (slots < entries * 2) slots *= 2;
  return slots;
}

function grownInt32(array: Int32Array, length: number): Int32Array {
  const grown = new Int32Array(length);
  grown.set(array);
  return grown;
}

/** MurmurHash3 (x86, 32-bit) of `buffer[start, start + length)`, seeded per map. */
function hashBytes(buffer: Buffer, start: number, length: number, seed: number): number {
  let h = seed ^ 0;
  const blocksEnd = start + (length & ~3);
  let i = start;
  for (; i < blocksEnd; i += 4) {
    let k = buffer[i] | (buffer[i + 1] << 8) | (buffer[i + 2] << 16) | (buffer[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= buffer[i + 2] << 16;
    if (tail >= 2) k ^= buffer[i + 1] << 8;
    k ^= buffer[i];
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
