/**
 * Kafka's leader epoch cache (LeaderEpochFileCache, KIP-101) and its `leader-epoch-checkpoint`
 * file: for each leader epoch of the partition, the first offset written in it.
 *
 * The file is Kafka's LeaderEpochCheckpointFile, byte for byte: a version line (0), a line with
 * the entry count, then one `<epoch> <startOffset>` line per entry, epochs and start offsets both
 * strictly increasing. Every change rewrites it atomically and durably (temp file, fsync, rename,
 * fsync the directory): changes are rare (a new epoch, a truncation, the log start moving), and a
 * reader on another thread (log-reader.ts) reads the file whole, never a torn one.
 *
 * The latest entry's epoch is the partition's current leader epoch: the leader assigns its epoch
 * at the log end offset when it becomes leader (Kafka's maybeAssignEpochStartOffset), before any
 * batch of that epoch is written, and stamps that epoch on every batch it appends.
 */
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { CorruptFileError } from '../errors.js';
import { INT32_MAX } from '../protocol/limits.js';
import { readFileIfExists, replaceFile } from './durable-fs.js';

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;
const TEMP_SUFFIX = '.tmp';
/** Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET (OffsetsForLeaderEpoch answers). */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** Kafka's endOffsetFor answer: the epoch found and the offset its data ends at (both -1: unknown). */
export interface EpochEndOffset {
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

/**
 * Parses a checkpoint's text; throws CorruptFileError naming what is wrong (`path` names the file).
 * Entries must ascend in both epoch and start offset, as the cache keeps them.
 */
export function parseLeaderEpochCheckpoint(path: string, text: string): EpochEntry[] {
  const lines = text.split('\n');
  // A complete file ends with a newline: the last split piece is empty.
  if (lines.length < 3 || lines[lines.length - 1] !== '') {
    throw new CorruptFileError(path, `expected "${CHECKPOINT_VERSION}\\n<count>\\n" and one "<epoch> <startOffset>" line per entry, found ${JSON.stringify(text.slice(0, 64))}`);
  }
  if (lines[0] !== String(CHECKPOINT_VERSION)) {
    throw new CorruptFileError(path, `checkpoint version ${JSON.stringify(lines[0])} is not supported (only ${CHECKPOINT_VERSION})`);
  }
  const count = /^\d+$/.test(lines[1]) ? Number(lines[1]) : -1;
  if (count < 0 || count !== lines.length - 3) {
    throw new CorruptFileError(path, `the count line says ${JSON.stringify(lines[1])} but ${lines.length - 3} entry lines follow`);
  }
  const entries: EpochEntry[] = [];
  for (let i = 0; i < count; i++) {
    const match = /^(\d+)\s+(\d+)$/.exec(lines[i + 2]);
    const epoch = match === null ? -1 : Number(match[1]);
    const startOffset = match === null ? -1 : Number(match[2]);
    if (match === null || epoch > INT32_MAX || !Number.isSafeInteger(startOffset)) {
      throw new CorruptFileError(path, `entry line ${i + 1} is ${JSON.stringify(lines[i + 2])}, not "<epoch> <startOffset>"`);
    }
    const previous = entries[entries.length - 1];
    if (previous !== undefined && (epoch <= previous.epoch || startOffset <= previous.startOffset)) {
      throw new CorruptFileError(path, `entry ${epoch} ${startOffset} does not follow ${previous.epoch} ${previous.startOffset}: epochs and start offsets must increase`);
    }
    entries.push({ epoch, startOffset });
  }
  return entries;
}

export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  let text = `${CHECKPOINT_VERSION}\n${entries.length}\n`;
  for (const entry of entries) text += `${entry.epoch} ${entry.startOffset}\n`;
  return text;
}

/** The entries in `dir`'s checkpoint, or null when there is none. Throws CorruptFileError when it is malformed. */
export function readLeaderEpochCheckpoint(dir: string): EpochEntry[] | null {
  const path = join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
  const bytes = readFileIfExists(path);
  return bytes === null ? null : parseLeaderEpochCheckpoint(path, bytes.toString('utf8'));
}

/**
 * Kafka's LeaderEpochFileCache.endOffsetFor over `entries`: for the latest epoch the log end offset
 * (the leader is still writing it); for an older epoch the start offset of the next epoch above
 * it, with the highest epoch at or below the requested one (the requested epoch itself when every
 * known epoch is above it, whose data is gone); UNDEFINED for UNDEFINED_EPOCH or an epoch above
 * every known one.
 */
export function endOffsetForEpoch(entries: readonly EpochEntry[], requestedEpoch: number, logEndOffset: number): EpochEndOffset {
  const undefinedAnswer = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
  if (requestedEpoch === UNDEFINED_EPOCH) return undefinedAnswer;
  const latest = entries[entries.length - 1];
  if (latest !== undefined && latest.epoch === requestedEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
  const higher = entries.findIndex((entry) => entry.epoch > requestedEpoch);
  if (higher < 0) return undefinedAnswer;
  const floor = higher === 0 ? requestedEpoch : entries[higher - 1].epoch;
  return { leaderEpoch: floor, endOffset: entries[higher].startOffset };
}

/** Kafka's epochForOffset: the epoch of the last entry starting at or below `offset`, or null. */
export function epochForOffset(entries: readonly EpochEntry[], offset: number): number | null {
  let found: number | null = null;
  for (const entry of entries) {
    if (entry.startOffset > offset) break;
    found = entry.epoch;
  }
  return found;
}

/** The cache the partition log's owner keeps, persisted to `dir`'s checkpoint on every change. */
export class LeaderEpochCache {
  readonly path: string;
  private list: EpochEntry[];

  constructor(
    readonly dir: string,
    entries: readonly EpochEntry[],
  ) {
    this.path = join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    this.list = [...entries];
  }

  get entries(): readonly EpochEntry[] {
    return this.list;
  }

  /** The current (latest) epoch, or -1 when the cache is empty. */
  get latestEpoch(): number {
    return this.list.length === 0 ? UNDEFINED_EPOCH : this.list[this.list.length - 1].epoch;
  }

  /**
   * Kafka's assign: records that `epoch` starts at `startOffset`, first removing entries that would
   * break monotonicity (an epoch >= it, or a start offset >= it). A no-op when the latest entry is
   * that epoch already at or below that offset. Returns whether the cache (and file) changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    assert.ok(Number.isInteger(epoch) && epoch >= 0 && epoch <= INT32_MAX, 'a leader epoch is an int32 >= 0');
    assert.ok(Number.isSafeInteger(startOffset) && startOffset >= 0, 'an epoch start offset is an offset');
    const latest = this.list[this.list.length - 1];
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return false;
    while (this.list.length > 0) {
      const last = this.list[this.list.length - 1];
      if (last.epoch < epoch && last.startOffset < startOffset) break;
      this.list.pop();
    }
    this.list.push({ epoch, startOffset });
    this.write();
    return true;
  }

  /** Kafka's truncateFromEnd: drops the entries starting at or after `endOffset`. */
  truncateFromEnd(endOffset: number): boolean {
    let keep = this.list.length;
    while (keep > 0 && this.list[keep - 1].startOffset >= endOffset) keep--;
    if (keep === this.list.length) return false;
    this.list.length = keep;
    this.write();
    return true;
  }

  /**
   * Kafka's truncateFromStart: drops the entries starting at or below `startOffset` except the
   * last of them, which is moved to start there (its epoch still covers the new first offset).
   */
  truncateFromStart(startOffset: number): boolean {
    let removed = 0;
    while (removed < this.list.length && this.list[removed].startOffset <= startOffset) removed++;
    if (removed === 0 || (removed === 1 && this.list[0].startOffset === startOffset)) return false;
    const moved = { epoch: this.list[removed - 1].epoch, startOffset };
    this.list = [moved, ...this.list.slice(removed)];
    this.write();
    return true;
  }

  /** Replaces every entry (a rebuild from the batches) and persists them. */
  replace(entries: readonly EpochEntry[]): void {
    this.list = [...entries];
    this.write();
  }

  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    return endOffsetForEpoch(this.list, requestedEpoch, logEndOffset);
  }

  private write(): void {
    replaceFile(this.path, formatLeaderEpochCheckpoint(this.list), { tempPath: this.path + TEMP_SUFFIX });
  }
}
