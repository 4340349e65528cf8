/**
 * A read-only view of a partition directory for a thread other than the log's owner, and the one
 * read path of a partition: fetches (`read`, `abortedTransactions`), ListOffsets by timestamp
 * (`offsetForTimestamp`, `maxTimestampBatch`) and the leader epoch lookups (`leaderEpochs`, the
 * `leader-epoch-checkpoint` the owner replaces atomically) read the partition's files directly, so
 * they never queue behind the shard's appends.
 *
 * It uses the owner's on-disk formats through the same code: segment file names (segment.ts),
 * the index decoders (offset-index.ts, time-index.ts) and the batch header walk (BatchHeaderCursor). It
 * reads batch headers only, never records, and returns whole batches as stored.
 *
 * Safety against the concurrent writer comes from the partition state table: the caller passes
 * the high watermark it read there (the readable end), and the writer publishes it only after the
 * bytes below it are in the file, so every batch below it is complete. Batches at or past it are never returned.
 * Rolled segments appear as a miss on the cached listing (the directory is listed again);
 * segments deleted by retention stay readable through the descriptor held (Linux keeps unlinked
 * files alive) until the storage epoch says the listing is stale; truncation bumps the epoch and a
 * read that raced with it (short read, broken header chain, epoch moved) is retried on a fresh
 * listing.
 *
 * read_committed: the caller passes the last stable offset as the readable end, and asks
 * `abortedTransactions` for the transactions aborted in the range it returns. Those come from the
 * segments' `.txnindex` files: the owner appends an entry there before it publishes the LSO past
 * the ABORT marker, so every abort below the LSO is in a file. A file is read again only when it
 * grew (aborts are rare: most reads find no file at all).
 */
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, InvalidRequestError, OffsetOutOfRangeError } from '../errors.js';
import { floorIndexBy } from './floor-search.js';
import { OFFSET_INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js';
import { TIME_INDEX_ENTRY_BYTES, TimeIndex } from './time-index.js';
import { ABORTED_TXN_BYTES, TXN_INDEX_FILE_SUFFIX, collectAbortedTxns, decodeTxnIndex, type AbortedTransaction, type AbortedTxn } from './txn-index.js';
import {
  LOG_FILE_SUFFIX,
  OFFSET_INDEX_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  parseSegmentFileName,
  segmentFileName,
} from './segment.js';
import { BatchHeaderCursor } from './batch-header-cursor.js';
import { FileWindow, readFileIfExists, readFully } from './durable-fs.js';
import { readLeaderEpochCheckpoint, type EpochEntry } from './leader-epoch-cache.js';

/** Offsets the reader needs from the partition state table. */
export interface ReadBounds {
  readonly logStartOffset: number;
  /** Offsets above it are out of range (Kafka checks a fetch offset against the log end). */
  readonly logEndOffset: number;
  /** Batches are returned only below it: the high watermark, or the last stable offset for read_committed. */
  readonly readableEndOffset: number;
  readonly storageEpoch: number;
}

export interface LogReadResult {
  /** Whole batches; empty when nothing below the high watermark is left to read. */
  readonly records: Buffer;
  /** The offset to read from next. */
  readonly nextOffset: number;
}

/** A batch a timestamp lookup settled on: its first offset (raised to the log start), max timestamp and leader epoch. */
export interface TimestampMatch {
  readonly offset: number;
  readonly maxTimestampMs: number;
  /** The partitionLeaderEpoch stamped on the batch; -1 for batches written before epochs were kept. */
  readonly leaderEpoch: number;
}

const HEADER_WINDOW_BYTES = 16 * 1024;
const EMPTY = Buffer.alloc(0);
const NO_ABORTED_TXNS: AbortedTxn[] = [];
/** findByTimestamp's answers besides an offset. */
const NOT_IN_SEGMENT = -1;
const PAST_READABLE_END = -2;
/** Log growth after which a reader looks for new offset index entries: Kafka's default index.interval.bytes. */
const INDEX_LOOK_AGAIN_BYTES = 4096;
/** Fresh listings a read may take before a broken header chain is reported as corruption. */
const MAX_ATTEMPTS = 3;

/** A segment as ListOffsets v0 sees it. */
export interface SegmentTime {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
}

interface SegmentView {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  readonly txnIndexPath: string;
  /** The segment's aborted transactions as last read, and the file size they were read at. */
  abortedTxns: AbortedTxn[];
  txnIndexBytes: number;
  fd: number;
  /**
   * The log file's size at its last stat (-1: not since `fd` was opened), and the readable end it
   * was taken under. Both belong to the file `fd` holds open and go with it (closeSegment): a log
   * clean renames a new file over the segment's name, so a size must never outlive its descriptor.
   */
  fileBytes: number;
  fileBytesCoverOffset: number;
  index: OffsetIndex | null;
  indexFd: number;
  indexBytesLoaded: number;
  /** The log file's size when the index was last brought up to date (-1: not since `indexFd` was opened). */
  indexLogBytes: number;
}

/** A read that met the writer's changes: list the directory again and retry. */
class StaleView extends Error {}

export class LogReader {
  readonly dir: string;
  private segments: SegmentView[] = [];
  private epoch = -1;
  private readonly window = new FileWindow(HEADER_WINDOW_BYTES);
  /** Where the last read ended: the batch boundary holding `nextOffset` in `segment`. */
  private readonly resume: { segment: SegmentView | null; nextOffset: number; position: number } = { segment: null, nextOffset: -1, position: 0 };
  private closed = false;
  /** Whether lookups may start from the offset and time indexes (see withFreshView). */
  private indexesTrusted = true;
  /** The batch findByTimestamp settled on last. */
  private matched: TimestampMatch = { offset: -1, maxTimestampMs: -1, leaderEpoch: -1 };

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Whole batches starting with the one holding `offset`, up to `maxBytes` but at least that one
   * batch (Kafka's minOneMessage), all below `bounds.readableEndOffset`. `current()` re-reads the
   * bounds after the read to detect a truncation that raced with it.
   */
  read(offset: number, maxBytes: number, bounds: ReadBounds, current: () => ReadBounds): LogReadResult {
    return this.withFreshView(bounds, current, `read at offset ${offset}`, (latest) => {
      if (offset < latest.logStartOffset || offset > latest.logEndOffset) {
        throw new OffsetOutOfRangeError(offset, latest.logStartOffset, latest.logEndOffset);
      }
      if (offset >= latest.readableEndOffset) return { records: EMPTY, nextOffset: offset };
      return this.readFromSegments(offset, maxBytes, latest.readableEndOffset);
    });
  }

  /**
   * Kafka's ListOffsets by timestamp, answered from batch headers: the base offset of the first
   * batch at or after the log start offset, below the readable end, whose max timestamp is >=
   * `timestampMs` (raised to the log start offset if that falls inside the batch); null when no
   * batch reaches it. Each segment is entered through its time index (the offset of the largest
   * indexed timestamp <= the target), then its offset index, and only the headers from there on
   * are read.
   *
   * Kafka answers with the first RECORD in that same batch whose timestamp is >= the target, which
   * needs the records decoded. This answer is never later than Kafka's and differs only by records
   * of that one batch that are older than the target; it equals Kafka's when the batch's first
   * record qualifies, and always under LogAppendTime (every record carries the batch's time).
   */
  offsetForTimestamp(timestampMs: number, bounds: ReadBounds, current: () => ReadBounds): TimestampMatch | null {
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) {
      throw new InvalidRequestError(`offsetForTimestamp takes a timestamp in ms >= 0, got ${String(timestampMs)}`);
    }
    return this.withFreshView(bounds, current, `lookup of timestamp ${timestampMs}`, (latest) => {
      // Segments roll and go while the listing is cached: a lookup is rare, list afresh.
      this.list();
      for (let index = Math.max(0, this.floorSegment(latest.logStartOffset)); index < this.segments.length; index++) {
        const segment = this.segments[index];
        if (segment.baseOffset >= latest.readableEndOffset) break;
        const found = this.findByTimestamp(segment, timestampMs, latest.logStartOffset, latest.readableEndOffset);
        if (found === PAST_READABLE_END) break;
        if (found !== NOT_IN_SEGMENT) return this.matched;
      }
      return null;
    });
  }

  /**
   * Kafka's ListOffsets MAX_TIMESTAMP (KIP-734), answered from batch headers: the first batch,
   * below the readable end and at or after the log start, whose max timestamp is the largest of
   * the partition's (the earliest segment holding it, the first such batch in it); null when no
   * batch carries a timestamp. The caller picks the record inside it, as Kafka's
   * offsetOfMaxTimestamp does.
   *
   * No segment is scanned whole: a segment's time index records its max timestamp so far at each
   * offset index entry and at roll, so only the headers after its last offset index entry can hold
   * a larger one, and finding the batch that carries it starts at the offset index entry below it.
   */
  maxTimestampBatch(bounds: ReadBounds, current: () => ReadBounds): TimestampMatch | null {
    return this.withFreshView(bounds, current, 'lookup of the max timestamp', (latest) => {
      this.list();
      let best: { segment: SegmentView; timestampMs: number } | null = null;
      for (let index = Math.max(0, this.floorSegment(latest.logStartOffset)); index < this.segments.length; index++) {
        const segment = this.segments[index];
        if (segment.baseOffset >= latest.readableEndOffset) break;
        const maxMs = this.segmentMaxTimestamp(segment, latest.logStartOffset, latest.readableEndOffset);
        if (maxMs >= 0 && (best === null || maxMs > best.timestampMs)) best = { segment, timestampMs: maxMs };
      }
      if (best === null) return null;
      const found = this.findByTimestamp(best.segment, best.timestampMs, latest.logStartOffset, latest.readableEndOffset);
      if (found < 0) throw new StaleView(`${best.segment.logPath} no longer holds a batch with max timestamp ${best.timestampMs}`);
      return this.matched;
    });
  }

  /**
   * The partition's leader epoch cache as its owner last persisted it: each epoch and the first
   * offset written in it (empty when the file is missing: a log from before epochs were kept, not
   * yet opened by a broker that keeps them).
   */
  leaderEpochs(): EpochEntry[] {
    if (this.closed) throw new InvalidRequestError(`the reader of ${this.dir} is closed`);
    return readLeaderEpochCheckpoint(this.dir) ?? [];
  }

  /**
   * Kafka's fetch-side lookup for read_committed: the transactions aborted in [fromOffset,
   * upToOffset), read from the `.txnindex` of the segment holding `fromOffset` onward until an
   * entry's last stable offset reaches `upToOffset` (see collectAbortedTxns). Call it with bounds
   * read from the partition state table (upToOffset at or below the published LSO).
   */
  abortedTransactions(fromOffset: number, upToOffset: number, bounds: ReadBounds): AbortedTransaction[] {
    if (this.closed) throw new InvalidRequestError(`the reader of ${this.dir} is closed`);
    const found: AbortedTransaction[] = [];
    if (upToOffset <= fromOffset) return found;
    if (bounds.storageEpoch !== this.epoch) {
      this.forget();
      this.epoch = bounds.storageEpoch;
    }
    // The read that returned [fromOffset, upToOffset) listed every segment holding it.
    if (this.segments.length === 0 || fromOffset < this.segments[0].baseOffset) this.list();
    for (let index = Math.max(0, this.floorSegment(fromOffset)); index < this.segments.length; index++) {
      if (collectAbortedTxns(this.loadAbortedTxns(this.segments[index]), fromOffset, upToOffset, found)) break;
    }
    return found;
  }

  /** Closes every descriptor. Idempotent. */
  close(): void {
    this.closed = true;
    this.forget();
  }

  /**
   * Runs `attempt` against the segment files, retrying on a fresh listing when it met the writer's
   * changes (a stale view, a file gone, the storage epoch moving during it), up to MAX_ATTEMPTS.
   */
  private withFreshView<T>(bounds: ReadBounds, current: () => ReadBounds, what: string, attempt: (latest: ReadBounds) => T): T {
    if (this.closed) throw new InvalidRequestError(`the reader of ${this.dir} is closed`);
    let latest = bounds;
    for (let attempts = 1; ; attempts++) {
      if (latest.storageEpoch !== this.epoch) {
        this.forget();
        this.epoch = latest.storageEpoch;
      }
      let problem: string;
      // A retry walks the segments from their first byte, without the indexes. A log file is
      // consistent at every moment (appends land beyond the bounds, a clean replaces it with one
      // rename), but an index and its log are renamed one after the other and the owning shard may
      // be preempted between the two for as long as the machine likes: retrying with the index
      // could meet the same pair again and report corruption where there is only a writer that has
      // not run yet. An index entry that disagrees with its log costs a longer scan, never a read.
      this.indexesTrusted = attempts === 1;
      try {
        const result = attempt(latest);
        const after = current();
        if (after.storageEpoch === latest.storageEpoch) return result;
        problem = 'the log was truncated during the read';
        latest = after;
      } catch (error) {
        if (!(error instanceof StaleView) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        problem = (error as Error).message;
        latest = current();
      }
      this.forget();
      if (attempts >= MAX_ATTEMPTS) throw new CorruptFileError(this.dir, `${what} failed: ${problem}`);
    }
  }

  /**
   * Within one segment: the answer of offsetForTimestamp, NOT_IN_SEGMENT when no batch of it
   * qualifies, PAST_READABLE_END when the scan reached the readable end first.
   */
  private findByTimestamp(segment: SegmentView, timestampMs: number, startingOffset: number, readableEnd: number): number {
    if (segment.fd < 0) segment.fd = openSync(segment.logPath, 'r');
    const fileBytes = fstatSync(segment.fd).size;
    const index = this.loadIndex(segment);
    // TimeIndex.lookup: every batch before the offset it gives has a smaller max timestamp.
    const indexedFrom = readTimeIndex(segment)?.lookup(timestampMs) ?? segment.baseOffset;
    const slot = index === null ? -1 : index.floorSlot(Math.max(indexedFrom, startingOffset));
    let found = NOT_IN_SEGMENT;
    const walk = this.walkHeaders(segment, index, slot, fileBytes, readableEnd, (cursor) => {
      if (cursor.lastOffset >= readableEnd) {
        found = PAST_READABLE_END;
        return true;
      }
      if (cursor.lastOffset < startingOffset || cursor.maxTimestampMs < timestampMs) return false;
      found = Math.max(cursor.baseOffset, startingOffset);
      this.matched = { offset: found, maxTimestampMs: cursor.maxTimestampMs, leaderEpoch: cursor.partitionLeaderEpoch };
      return true;
    });
    return walk === 'broken' ? PAST_READABLE_END : found;
  }

  /**
   * Walks the segment's batch headers from offset index entry `slot` (-1: from the first byte)
   * until `visit` returns true ('stopped') or the headers end ('end', or 'broken' at a torn or
   * unfinished batch past the readable end). An index entry must name the batch it points at, and
   * the bytes below the readable end are complete: either failing means a stale view.
   */
  private walkHeaders(
    segment: SegmentView,
    index: OffsetIndex | null,
    slot: number,
    fileBytes: number,
    readableEnd: number,
    visit: (cursor: BatchHeaderCursor) => boolean,
  ): 'stopped' | 'end' | 'broken' {
    const from = slot < 0 ? 0 : index!.positionAt(slot);
    this.window.invalidate();
    const cursor = new BatchHeaderCursor(this.window, segment.fd, from, fileBytes, segment.baseOffset, null);
    let nextOffset = slot < 0 ? segment.baseOffset : index!.offsetAt(slot);
    while (cursor.next()) {
      if (slot >= 0 && cursor.position === from && cursor.lastOffset !== index!.offsetAt(slot)) {
        throw new StaleView(`${segment.indexPath} does not match ${segment.logPath}`);
      }
      if (visit(cursor)) return 'stopped';
      nextOffset = cursor.lastOffset + 1;
    }
    if (cursor.problem === null) return 'end';
    if (nextOffset < readableEnd) throw new StaleView(`${segment.logPath}: ${cursor.problem}`);
    return 'broken';
  }

  /**
   * The largest max timestamp of the segment's batches at or after `startingOffset` and below
   * `readableEnd`, or -1: the time index's last entry when it lies in that range, raised by the
   * headers after the last offset index entry (appended since the index last grew). A segment
   * whose last time entry lies outside the range (the log start or the readable end cuts it) is
   * read header by header.
   */
  private segmentMaxTimestamp(segment: SegmentView, startingOffset: number, readableEnd: number): number {
    if (segment.fd < 0) segment.fd = openSync(segment.logPath, 'r');
    const fileBytes = fstatSync(segment.fd).size;
    const timeIndex = readTimeIndex(segment);
    const index = this.loadIndex(segment);
    const lastOffset = timeIndex === null || timeIndex.entryCount === 0 ? -1 : timeIndex.lastOffset();
    const indexUsable = lastOffset >= startingOffset && lastOffset < readableEnd && index !== null && index.entryCount > 0;
    let maxMs = indexUsable ? timeIndex!.lastTimestamp() : -1;
    this.walkHeaders(segment, index, indexUsable ? index!.entryCount - 1 : -1, fileBytes, readableEnd, (cursor) => {
      if (cursor.lastOffset >= readableEnd) return true;
      if (cursor.lastOffset >= startingOffset && cursor.maxTimestampMs > maxMs) maxMs = cursor.maxTimestampMs;
      return false;
    });
    return maxMs;
  }

  private readFromSegments(offset: number, maxBytes: number, highWatermark: number): LogReadResult {
    if (this.segments.length === 0 || offset < this.segments[0].baseOffset) this.list();
    for (let listedAgain = false; ; listedAgain = true) {
      for (let index = Math.max(0, this.floorSegment(offset)); index < this.segments.length; index++) {
        const result = this.readSegment(this.segments[index], offset, maxBytes, highWatermark);
        if (result !== null) return result;
      }
      if (listedAgain) {
        throw new StaleView(`offset ${offset} is below the high watermark ${highWatermark} but in no listed segment`);
      }
      // A segment rolled since the listing holds it.
      this.list();
    }
  }

  /**
   * Each segment's base offset, log file size and last-modified time, oldest first: what Kafka's
   * ListOffsets v0 answers from (UnifiedLog.legacyFetchOffsetsBefore). A segment deleted while
   * listed is left out.
   */
  segmentTimes(): SegmentTime[] {
    this.list();
    const times: SegmentTime[] = [];
    for (const segment of this.segments) {
      try {
        const stats = statSync(segment.logPath);
        times.push({ baseOffset: segment.baseOffset, sizeBytes: stats.size, lastModifiedMs: Math.floor(stats.mtimeMs) });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return times;
  }

  private list(): void {
    const baseOffsets: number[] = [];
    for (const name of readdirSync(this.dir)) {
      const baseOffset = parseSegmentFileName(name, LOG_FILE_SUFFIX);
      if (baseOffset !== null) baseOffsets.push(baseOffset);
    }
    baseOffsets.sort((a, b) => a - b);
    const kept = new Map(this.segments.map((segment) => [segment.baseOffset, segment]));
    const next: SegmentView[] = [];
    for (const baseOffset of baseOffsets) {
      const existing = kept.get(baseOffset);
      if (existing !== undefined) {
        kept.delete(baseOffset);
        next.push(existing);
      } else {
        next.push({
          baseOffset,
          logPath: join(this.dir, segmentFileName(baseOffset, LOG_FILE_SUFFIX)),
          indexPath: join(this.dir, segmentFileName(baseOffset, OFFSET_INDEX_FILE_SUFFIX)),
          timeIndexPath: join(this.dir, segmentFileName(baseOffset, TIME_INDEX_FILE_SUFFIX)),
          txnIndexPath: join(this.dir, segmentFileName(baseOffset, TXN_INDEX_FILE_SUFFIX)),
          abortedTxns: NO_ABORTED_TXNS,
          txnIndexBytes: 0,
          fd: -1,
          fileBytes: -1,
          fileBytesCoverOffset: -1,
          index: null,
          indexFd: -1,
          indexBytesLoaded: 0,
          indexLogBytes: -1,
        });
      }
    }
    for (const gone of kept.values()) {
      if (this.resume.segment === gone) this.resume.segment = null;
      closeSegment(gone);
    }
    this.segments = next;
  }

  /** The index of the last segment whose base offset is <= `offset`, or -1. */
  private floorSegment(offset: number): number {
    const segments = this.segments;
    return floorIndexBy(segments.length, (i) => segments[i].baseOffset, offset);
  }

  /** The batches from `segment`, or null when it holds nothing at or after `offset`. */
  private readSegment(segment: SegmentView, offset: number, maxBytes: number, highWatermark: number): LogReadResult | null {
    if (segment.fd < 0) segment.fd = openSync(segment.logPath, 'r');
    const fileBytes = this.fileBytesCovering(segment, highWatermark);
    const index = this.loadIndex(segment, fileBytes);
    this.window.invalidate();
    const slot = index === null ? -1 : index.floorSlot(offset);
    let from = slot < 0 ? 0 : index!.positionAt(slot);
    // A consumer reading on from where its last fetch ended starts at that batch boundary instead
    // of rescanning the headers from the index entry.
    if (this.resume.segment === segment && this.resume.nextOffset === offset && this.resume.position > from) from = this.resume.position;
    const cursor = new BatchHeaderCursor(this.window, segment.fd, from, fileBytes, segment.baseOffset, null);
    const fromIndexEntry = slot >= 0 && from === index!.positionAt(slot);
    if (fromIndexEntry && from >= fileBytes) throw new StaleView(`${segment.indexPath} points past the end of ${segment.logPath}`);
    let found = false;
    while (cursor.next()) {
      // An index entry names the batch at its position by that batch's last offset. One that does
      // not is an index from another version of the file (a log clean replaced both): retry.
      if (fromIndexEntry && cursor.position === from && cursor.lastOffset !== index!.offsetAt(slot)) {
        throw new StaleView(`${segment.indexPath} does not match ${segment.logPath}`);
      }
      if (cursor.lastOffset >= offset) {
        found = true;
        break;
      }
    }
    if (!found) {
      // The bytes below the high watermark are complete, so a broken chain before the target
      // means the view is stale (truncated and rewritten) or the file is damaged.
      if (cursor.problem !== null) throw new StaleView(`${segment.logPath}: ${cursor.problem}`);
      return null;
    }
    if (cursor.baseOffset >= highWatermark || cursor.lastOffset >= highWatermark) return { records: EMPTY, nextOffset: offset };
    const start = cursor.position;
    const limit = start + Math.max(maxBytes, cursor.sizeBytes);
    let end = start + cursor.sizeBytes;
    let nextOffset = cursor.lastOffset + 1;
    // Jump over the batches that surely fit: the index entry nearest below the limit names a batch
    // whose last offset (its key) is below the high watermark, so every batch before it is too.
    const jump = index === null ? -1 : index.floorSlotByPosition(limit);
    if (jump >= 0 && index!.positionAt(jump) > end && index!.offsetAt(jump) < highWatermark) {
      const jumpCursor = new BatchHeaderCursor(this.window, segment.fd, index!.positionAt(jump), fileBytes, segment.baseOffset, null);
      if (!jumpCursor.next()) throw new StaleView(`${segment.indexPath} points at a bad position: ${jumpCursor.problem}`);
      if (jumpCursor.lastOffset !== index!.offsetAt(jump)) throw new StaleView(`${segment.indexPath} does not match ${segment.logPath}`);
      end = jumpCursor.position;
      nextOffset = jumpCursor.baseOffset;
      this.extend(jumpCursor, limit, highWatermark, (batchEnd, batchNext) => {
        end = batchEnd;
        nextOffset = batchNext;
      }, true);
    } else {
      this.extend(cursor, limit, highWatermark, (batchEnd, batchNext) => {
        end = batchEnd;
        nextOffset = batchNext;
      }, false);
    }
    // A small answer (a consumer at the head of the log) already came in with the headers read;
    // those bytes lie below the readable end, so they were complete when the window was read.
    let records = this.window.copyOut(segment.fd, start, end - start);
    if (records === null) {
      records = Buffer.allocUnsafe(end - start);
      const read = readFully(segment.fd, records, 0, records.length, start);
      if (read !== records.length) throw new StaleView(`${segment.logPath} ended after ${read} of ${records.length} bytes at byte ${start}`);
    }
    this.resume.segment = segment;
    this.resume.nextOffset = nextOffset;
    this.resume.position = end;
    return { records, nextOffset };
  }

  /** Takes batches from the cursor while they fit under `limit` and lie below the high watermark. */
  private extend(
    cursor: BatchHeaderCursor,
    limit: number,
    highWatermark: number,
    take: (end: number, nextOffset: number) => void,
    includeCurrent: boolean,
  ): void {
    let current = includeCurrent;
    for (;;) {
      if (current) {
        if (cursor.position + cursor.sizeBytes > limit || cursor.lastOffset >= highWatermark) return;
        take(cursor.position + cursor.sizeBytes, cursor.lastOffset + 1);
      }
      // A broken chain past the data already taken is the writer's tail in progress: stop there.
      if (!cursor.next()) return;
      current = true;
    }
  }

  /**
   * The segment file's size, stat'ed again only when the readable end moved past the one the last
   * stat was taken under. The writer publishes a readable end only once the bytes below it are in
   * the file, and reads return nothing at or past it, so a size taken after the readable end was
   * read covers every read under that end or a lower one: a consumer reading a backlog stats a
   * segment once, not on every fetch. A truncation can shrink the file below the size kept; it
   * moves the storage epoch, and a read that meets the shorter file first (a short read, a broken
   * header chain) is retried on a fresh view, whose descriptors and sizes are new.
   */
  private fileBytesCovering(segment: SegmentView, readableEnd: number): number {
    if (segment.fileBytes < 0 || readableEnd > segment.fileBytesCoverOffset) {
      segment.fileBytes = fstatSync(segment.fd).size;
      segment.fileBytesCoverOffset = readableEnd;
    }
    return segment.fileBytes;
  }

  /**
   * The segment's offset index, reading only the entries appended since the last read. Given the
   * log file's size (`logFileBytes`; -1 for the timestamp lookups, which always look), the index
   * file is looked at again only once the log grew by INDEX_LOOK_AGAIN_BYTES since the last look:
   * the writer adds an entry per index.interval.bytes of log, so less growth adds at most an entry
   * or two, and an entry missing only means scanning a few more batch headers. A consumer at the
   * head of the log, whose every fetch sees the log a batch longer, stats the index once per that
   * much log instead of on every fetch.
   */
  private loadIndex(segment: SegmentView, logFileBytes = -1): OffsetIndex | null {
    if (!this.indexesTrusted) return null;
    if (segment.index !== null && logFileBytes >= 0 && logFileBytes - segment.indexLogBytes < INDEX_LOOK_AGAIN_BYTES) return segment.index;
    try {
      if (segment.indexFd < 0) segment.indexFd = openSync(segment.indexPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    segment.indexLogBytes = logFileBytes;
    const fileBytes = fstatSync(segment.indexFd).size;
    const wholeBytes = fileBytes - (fileBytes % OFFSET_INDEX_ENTRY_BYTES);
    if (segment.index !== null && wholeBytes === segment.indexBytesLoaded) return segment.index;
    try {
      if (segment.index === null || wholeBytes < segment.indexBytesLoaded) {
        segment.index = new OffsetIndex(segment.indexPath, segment.baseOffset, Number.MAX_SAFE_INTEGER);
        segment.indexBytesLoaded = 0;
      }
      // Index files only grow while a segment lives (a truncation bumps the storage epoch, which
      // drops the view), so only the entries appended since the last read are read.
      const tail = Buffer.allocUnsafe(wholeBytes - segment.indexBytesLoaded);
      const read = readFully(segment.indexFd, tail, 0, tail.length, segment.indexBytesLoaded);
      const usable = read - (read % OFFSET_INDEX_ENTRY_BYTES);
      const entries = OffsetIndex.decode(segment.indexPath, segment.baseOffset, Number.MAX_SAFE_INTEGER, tail.subarray(0, usable));
      for (let slot = 0; slot < entries.entryCount; slot++) segment.index.append(entries.offsetAt(slot), entries.positionAt(slot));
      segment.indexBytesLoaded += usable;
      return segment.index;
    } catch (error) {
      // An entry out of order (assert) or torn: this view of the index cannot be trusted.
      segment.index = null;
      segment.indexBytesLoaded = 0;
      throw new StaleView(`${segment.indexPath}: ${(error as Error).message}`);
    }
  }

  /** The segment's transaction index entries, re-read only when the file grew. */
  private loadAbortedTxns(segment: SegmentView): AbortedTxn[] {
    let bytes: Buffer;
    try {
      const sizeBytes = statSync(segment.txnIndexPath).size;
      if (sizeBytes === segment.txnIndexBytes) return segment.abortedTxns;
      bytes = readFileSync(segment.txnIndexPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NO_ABORTED_TXNS;
      throw error;
    }
    // A torn last entry (the owner is writing it) is left out: it lies past the published LSO.
    segment.abortedTxns = decodeTxnIndex(bytes, segment.baseOffset).entries;
    segment.txnIndexBytes = segment.abortedTxns.length * ABORTED_TXN_BYTES;
    return segment.abortedTxns;
  }

  private forget(): void {
    for (const segment of this.segments) closeSegment(segment);
    this.segments = [];
    this.resume.segment = null;
  }
}

/**
 * The segment's time index as its file holds it now, or null when the file is missing or unusable:
 * the index only shortens a scan, which checks every header it reads, so a damaged one costs time,
 * never a wrong answer. The file is read whole, at most 12 bytes per index interval of log; a torn
 * last entry (being written) is left out.
 */
function readTimeIndex(segment: SegmentView): TimeIndex | null {
  const bytes = readFileIfExists(segment.timeIndexPath);
  if (bytes === null) return null;
  const wholeBytes = bytes.length - (bytes.length % TIME_INDEX_ENTRY_BYTES);
  try {
    return TimeIndex.decode(segment.timeIndexPath, segment.baseOffset, Number.MAX_SAFE_INTEGER, bytes.subarray(0, wholeBytes));
  } catch (error) {
    if (error instanceof CorruptFileError) return null;
    throw error;
  }
}

function closeSegment(segment: SegmentView): void {
  if (segment.fd >= 0) closeSync(segment.fd);
  if (segment.indexFd >= 0) closeSync(segment.indexFd);
  segment.fd = -1;
  segment.fileBytes = -1;
  segment.fileBytesCoverOffset = -1;
  segment.indexFd = -1;
  segment.index = null;
  segment.indexLogBytes = -1;
}
