/**
 * Kafka's LocalLog: the segments of one partition directory and what is done to them as a list:
 * the active segment, finding the segment of an offset, rolling, cutting the tail, choosing and
 * removing the oldest, the log cleaner's swap, flushing, and the directory fsync their creations and deletions need. It knows nothing
 * of producers, checkpoints or the log start offset: PartitionLog decides, LocalLog carries out.
 * Owned by one thread, like the PartitionLog holding it.
 */
import assert from 'node:assert/strict';
import { CorruptFileError } from '../errors.js';
import { floorIndexBy } from './floor-search.js';
import { FileWindow, fsyncDirectory } from './durable-fs.js';
import type { LogConfig } from './log-config.js';
import { OFFSET_INDEX_ENTRY_BYTES } from './offset-index.js';
import { Segment, type SegmentSettings, type StorageLogger } from './segment.js';
import { TIME_INDEX_ENTRY_BYTES } from './time-index.js';

/** Header scans read this much at a time: an index interval plus a batch header, with room. */
const HEADER_WINDOW_BYTES = 16 * 1024;

/** How new segments size their indexes and space their entries, from the log's settings
 * (a config change replaces them: PartitionLog.updateConfig). */
export function segmentSettings(config: LogConfig, logger: StorageLogger): SegmentSettings {
  return {
    indexIntervalBytes: config.indexIntervalBytes,
    maxOffsetIndexEntries: Math.floor(config.segmentIndexBytes / OFFSET_INDEX_ENTRY_BYTES),
    maxTimeIndexEntries: Math.floor(config.segmentIndexBytes / TIME_INDEX_ENTRY_BYTES),
    logger,
  };
}

export class LocalLog {
  /** The read window every scan of this log's files shares (one thread, one scan at a time). */
  readonly window = new FileWindow(HEADER_WINDOW_BYTES);

  constructor(
    readonly dir: string,
    /** How new segments size their indexes; a config change (PartitionLog.updateConfig) replaces it. */
    public settings: SegmentSettings,
    /** In offset order, never empty; the last is the active one. */
    readonly segments: Segment[],
    /** Segment files were created or deleted since the directory was last fsynced. */
    private dirDirty: boolean,
  ) {}

  get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** The index of the last segment whose base offset is <= `offset`, or 0. */
  floorIndex(offset: number): number {
    const segments = this.segments;
    return Math.max(0, floorIndexBy(segments.length, (i) => segments[i].baseOffset, offset));
  }

  /** A file was created or removed beside the segments (a transaction index): fsync the directory at the next flush. */
  markDirectoryDirty(): void {
    this.dirDirty = true;
  }

  /** Starts a segment at `endOffset` unless the active one is empty; returns the active segment. */
  roll(endOffset: number, nowMs: number): Segment {
    const active = this.active;
    if (active.sizeBytes === 0) return active;
    active.deactivate();
    const segment = Segment.create(this.dir, endOffset, this.settings, nowMs);
    this.segments.push(segment);
    this.dirDirty = true;
    return segment;
  }

  /**
   * Removes every batch at and after `offset` (a batch holding it goes whole) and the segments
   * after it; below the first segment, restarts empty at `offset`. Returns the new end offset.
   */
  truncateTo(offset: number, nowMs: number): number {
    this.window.invalidate();
    if (offset < this.segments[0].baseOffset) {
      for (const segment of this.segments.splice(0)) segment.delete();
      this.segments.push(Segment.create(this.dir, offset, this.settings, nowMs));
      this.dirDirty = true;
    } else {
      while (this.active.baseOffset > offset) {
        this.segments.pop()!.delete();
        this.dirDirty = true;
      }
      this.active.truncateTo(offset, this.window, nowMs);
    }
    return this.active.nextOffset;
  }

  /**
   * Kafka's deletableSegments: how many of the oldest segments in a row match `shouldDelete`
   * (given each segment and the one after it, null for the last), stopping at an empty last
   * segment, which is never deleted.
   */
  deletableCount(shouldDelete: (segment: Segment, next: Segment | null) => boolean): number {
    const segments = this.segments;
    let count = 0;
    while (count < segments.length) {
      const segment = segments[count];
      const next = count + 1 < segments.length ? segments[count + 1] : null;
      if (!shouldDelete(segment, next) || (next === null && segment.sizeBytes === 0)) break;
      count++;
    }
    return count;
  }

  /**
   * Where the consecutive inactive segments starting at `baseOffsets[0]` are in the list, checked
   * before the cleaner's swap (replaceSegments) is attempted.
   */
  replaceableIndex(baseOffsets: readonly number[]): number {
    const first = this.segments.findIndex((segment) => segment.baseOffset === baseOffsets[0]);
    assert.ok(first >= 0 && first + baseOffsets.length < this.segments.length, 'only inactive segments are replaced');
    for (let i = 1; i < baseOffsets.length; i++) {
      assert.ok(this.segments[first + i].baseOffset === baseOffsets[i], 'the replaced segments are consecutive');
    }
    return first;
  }

  /**
   * Kafka's replaceSegments, for the log cleaner: `installFiles` puts a cleaned segment's files in
   * place of the `count` segments from index `first` (over the first one's files, deleting the
   * others'); their Segment objects are then replaced by the cleaned one, loaded from its new
   * indexes.
   */
  replaceSegments(first: number, count: number, installFiles: () => void, nowMs: number): void {
    const baseOffset = this.segments[first].baseOffset;
    const upperBoundOffset = this.segments[first + count].baseOffset;
    installFiles();
    for (const replaced of this.segments.splice(first, count)) replaced.close();
    const cleaned = Segment.openExisting(this.dir, baseOffset, this.settings, nowMs);
    this.segments.splice(first, 0, cleaned);
    this.window.invalidate();
    const loaded = cleaned.loadTrusted(upperBoundOffset, this.window);
    if (loaded.outcome === 'logInconsistent') throw new CorruptFileError(cleaned.logPath, loaded.reason);
    if (loaded.outcome === 'indexRebuilt') this.settings.logger.warn(`rebuilt the indexes of cleaned ${cleaned.logPath}: ${loaded.reason}`);
  }

  /** Deletes the oldest `count` segments (never the active one: the caller rolls first). */
  removeOldest(count: number): Segment[] {
    const removed = this.segments.splice(0, count);
    for (const segment of removed) segment.delete();
    this.dirDirty = true;
    return removed;
  }

  /** fsyncs every segment and the directory as needed. Returns whether anything was synced. */
  flush(): boolean {
    let synced = false;
    for (const segment of this.segments) if (segment.flush()) synced = true;
    if (this.syncDirectoryIfDirty()) synced = true;
    return synced;
  }

  syncDirectoryIfDirty(): boolean {
    if (!this.dirDirty) return false;
    fsyncDirectory(this.dir);
    this.dirDirty = false;
    return true;
  }

  get sizeBytes(): number {
    let sizeBytes = 0;
    for (const segment of this.segments) sizeBytes += segment.sizeBytes;
    return sizeBytes;
  }

  /** Closes every segment's files, best effort (the log is stopping). */
  closeQuietly(): void {
    for (const segment of this.segments) {
      try {
        segment.close();
      } catch {
        // Closing is best effort once the log is stopping; the first error is the one reported.
      }
    }
  }
}
