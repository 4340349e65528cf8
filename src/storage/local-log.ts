/**
 * Kafka's LocalLog: the segments of one partition directory and what is done to them as a list:
 * the active segment, finding the segment of an offset, rolling, cutting the tail, removing the
 * oldest, flushing, and the directory fsync their creations and deletions need. It knows nothing
 * of producers, checkpoints or the log start offset: PartitionLog decides, LocalLog carries out.
 * Owned by one thread, like the PartitionLog holding it.
 */
import { floorIndexBy } from './floor-search.js';
import { FileWindow, fsyncDirectory } from './durable-fs.js';
import { Segment, type SegmentSettings } from './segment.js';

/** Header scans read this much at a time: an index interval plus a batch header, with room. */
const HEADER_WINDOW_BYTES = 16 * 1024;

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
