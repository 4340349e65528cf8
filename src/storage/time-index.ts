/**
 * The sparse time index of one segment, in Kafka's `.timeindex` layout: 12-byte big-endian entries
 * of (int64 timestamp in ms, int32 relative offset).
 *
 * As in Kafka, an entry records the largest timestamp seen so far in the segment and the (last)
 * offset of the batch that carried it, and is added only when that maximum grows. Timestamps and
 * offsets therefore both increase, and every batch before an entry's batch has a max timestamp no
 * larger than the entry's: a lookup for the largest entry with timestamp <= target gives an offset
 * from which a forward scan finds the first batch whose max timestamp reaches the target.
 */
import assert from 'node:assert/strict';
import { CorruptFileError } from '../errors.js';
import { readInt64, writeInt64 } from '../protocol/int64.js';
import { floorIndex } from './floor-search.js';
import { INT32_MAX } from '../protocol/limits.js';

export const TIME_INDEX_ENTRY_BYTES = 12;
/** Kafka's RecordBatch.NO_TIMESTAMP: an empty index reports this as its last timestamp. */
export const NO_TIMESTAMP = -1;
const INITIAL_CAPACITY = 64;

export class TimeIndex {
  readonly filePath: string;
  readonly baseOffset: number;
  /** The entry count at which the segment rolls (Kafka's segment.index.bytes / 12). */
  readonly maxEntries: number;
  private timestamps: Float64Array;
  private relativeOffsets: Int32Array;
  private count = 0;

  constructor(filePath: string, baseOffset: number, maxEntries: number) {
    assert.ok(Number.isSafeInteger(baseOffset) && baseOffset >= 0, 'segment base offset is a non-negative integer');
    assert.ok(Number.isInteger(maxEntries) && maxEntries >= 1, 'a time index holds at least one entry');
    this.filePath = filePath;
    this.baseOffset = baseOffset;
    this.maxEntries = maxEntries;
    this.timestamps = new Float64Array(INITIAL_CAPACITY);
    this.relativeOffsets = new Int32Array(INITIAL_CAPACITY);
  }

  /** Reads the entries of an index file; throws CorruptFileError when it is not whole, safe entries. */
  static decode(filePath: string, baseOffset: number, maxEntries: number, bytes: Buffer): TimeIndex {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) {
      throw new CorruptFileError(
        filePath,
        `length ${bytes.length} is not a multiple of the ${TIME_INDEX_ENTRY_BYTES}-byte entry size (torn write)`,
      );
    }
    const index = new TimeIndex(filePath, baseOffset, maxEntries);
    const entries = bytes.length / TIME_INDEX_ENTRY_BYTES;
    index.ensureCapacity(entries);
    for (let slot = 0; slot < entries; slot++) {
      const at = slot * TIME_INDEX_ENTRY_BYTES;
      try {
        index.timestamps[slot] = readInt64(bytes, at);
      } catch {
        throw new CorruptFileError(filePath, `entry ${slot} has a timestamp outside the safe integer range`);
      }
      index.relativeOffsets[slot] = bytes.readInt32BE(at + 8);
    }
    index.count = entries;
    return index;
  }

  /**
   * Checks what an index written by this code always satisfies: timestamps strictly increasing
   * and non-negative, offsets non-decreasing and inside [base offset, `lastOffsetInSegment`].
   * Throws CorruptFileError.
   */
  check(lastOffsetInSegment: number): void {
    const maxRelativeOffset = lastOffsetInSegment - this.baseOffset;
    for (let slot = 0; slot < this.count; slot++) {
      const timestamp = this.timestamps[slot];
      const relativeOffset = this.relativeOffsets[slot];
      if (timestamp < 0) {
        throw new CorruptFileError(this.filePath, `entry ${slot} has negative timestamp ${timestamp}`);
      }
      if (relativeOffset < 0 || relativeOffset > maxRelativeOffset) {
        throw new CorruptFileError(
          this.filePath,
          `entry ${slot} names offset ${this.baseOffset + relativeOffset}, outside the segment's ` +
            `offsets [${this.baseOffset}, ${lastOffsetInSegment}]`,
        );
      }
      if (slot > 0 && (timestamp <= this.timestamps[slot - 1] || relativeOffset < this.relativeOffsets[slot - 1])) {
        throw new CorruptFileError(this.filePath, `entry ${slot} does not increase over entry ${slot - 1}`);
      }
    }
  }

  get entryCount(): number {
    return this.count;
  }

  /** The segment rolls when this is true; the index itself accepts more (the file is not preallocated). */
  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  timestampAt(slot: number): number {
    return this.timestamps[slot];
  }

  offsetAt(slot: number): number {
    return this.baseOffset + this.relativeOffsets[slot];
  }

  /** The last entry's timestamp, or NO_TIMESTAMP when empty. */
  lastTimestamp(): number {
    return this.count === 0 ? NO_TIMESTAMP : this.timestamps[this.count - 1];
  }

  /** The last entry's offset, or the base offset when empty. */
  lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.offsetAt(this.count - 1);
  }

  /**
   * Adds (timestamp, offset) if the timestamp is larger than the last entry's, Kafka's
   * `maybeAppend`. Returns whether an entry was added.
   */
  maybeAppend(timestampMs: number, offset: number): boolean {
    if (timestampMs <= this.lastTimestamp()) return false;
    const relativeOffset = offset - this.baseOffset;
    assert.ok(relativeOffset >= 0 && relativeOffset <= INT32_MAX, 'time index entry fits an int32 relative offset');
    assert.ok(
      this.count === 0 || relativeOffset >= this.relativeOffsets[this.count - 1],
      'time index offsets never decrease',
    );
    this.ensureCapacity(this.count + 1);
    this.timestamps[this.count] = timestampMs;
    this.relativeOffsets[this.count] = relativeOffset;
    this.count++;
    return true;
  }

  /**
   * The offset of the entry with the largest timestamp <= `targetTimestampMs`, or the base offset
   * when there is none: every batch before that offset's batch has a smaller max timestamp.
   */
  lookup(targetTimestampMs: number): number {
    const found = floorIndex(this.timestamps, this.count, targetTimestampMs);
    return found < 0 ? this.baseOffset : this.offsetAt(found);
  }

  /** Drops the entries naming `offset` or later (the log is being cut there). */
  truncateFromOffset(offset: number): void {
    const relativeOffset = offset - this.baseOffset;
    let keep = this.count;
    while (keep > 0 && this.relativeOffsets[keep - 1] >= relativeOffset) keep--;
    this.count = keep;
  }

  /** Writes entry `slot` in file layout at `target[at..at+12)`. */
  encodeEntry(slot: number, target: Buffer, at: number): void {
    writeInt64(target, at, this.timestamps[slot]);
    target.writeInt32BE(this.relativeOffsets[slot], at + 8);
  }

  /** The whole index in file layout. */
  encode(): Buffer {
    const bytes = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_BYTES);
    for (let slot = 0; slot < this.count; slot++) this.encodeEntry(slot, bytes, slot * TIME_INDEX_ENTRY_BYTES);
    return bytes;
  }

  private ensureCapacity(entries: number): void {
    if (entries <= this.timestamps.length) return;
    let capacity = this.timestamps.length;
    while (capacity < entries) capacity *= 2;
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.timestamps.subarray(0, this.count));
    const relativeOffsets = new Int32Array(capacity);
    relativeOffsets.set(this.relativeOffsets.subarray(0, this.count));
    this.timestamps = timestamps;
    this.relativeOffsets = relativeOffsets;
  }
}
