/**
 * The sparse offset index of one segment, in Kafka's `.index` layout: 8-byte big-endian entries
 * of (int32 relative offset = offset - segment base offset, int32 byte position in the `.log`).
 *
 * Entries are keyed as Kafka keys them: the LAST offset of a batch, paired with the position where
 * that batch STARTS. A lookup returns the entry with the largest key <= the target, so the batch at
 * its position ends at or before the target's batch and a forward header scan from there finds it.
 *
 * This type is the in-memory copy, searched by binary search over typed arrays; the segment owns
 * the file and appends each new entry to it (see segment.ts for why the file is not preallocated).
 */
import assert from 'node:assert/strict';
import { CorruptFileError } from '../errors.js';
import { floorIndex } from './floor-search.js';
import { INT32_MAX } from '../protocol/limits.js';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
const INITIAL_CAPACITY = 64;

export class OffsetIndex {
  readonly filePath: string;
  readonly baseOffset: number;
  /** The entry count at which the segment rolls (Kafka's segment.index.bytes / 8). */
  readonly maxEntries: number;
  private relativeOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;

  constructor(filePath: string, baseOffset: number, maxEntries: number) {
    assert.ok(Number.isSafeInteger(baseOffset) && baseOffset >= 0, 'segment base offset is a non-negative integer');
    assert.ok(Number.isInteger(maxEntries) && maxEntries >= 1, 'an offset index holds at least one entry');
    this.filePath = filePath;
    this.baseOffset = baseOffset;
    this.maxEntries = maxEntries;
    this.relativeOffsets = new Int32Array(INITIAL_CAPACITY);
    this.positions = new Int32Array(INITIAL_CAPACITY);
  }

  /** Reads the entries of an index file; throws CorruptFileError when its length is not whole entries. */
  static decode(filePath: string, baseOffset: number, maxEntries: number, bytes: Buffer): OffsetIndex {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) {
      throw new CorruptFileError(
        filePath,
        `length ${bytes.length} is not a multiple of the ${OFFSET_INDEX_ENTRY_BYTES}-byte entry size (torn write)`,
      );
    }
    const index = new OffsetIndex(filePath, baseOffset, maxEntries);
    const entries = bytes.length / OFFSET_INDEX_ENTRY_BYTES;
    index.ensureCapacity(entries);
    for (let slot = 0; slot < entries; slot++) {
      index.relativeOffsets[slot] = bytes.readInt32BE(slot * OFFSET_INDEX_ENTRY_BYTES);
      index.positions[slot] = bytes.readInt32BE(slot * OFFSET_INDEX_ENTRY_BYTES + 4);
    }
    index.count = entries;
    return index;
  }

  /**
   * Checks what an index written by this code always satisfies: offsets and positions strictly
   * increasing, non-negative, and every position inside the log. Throws CorruptFileError.
   */
  check(logSizeBytes: number): void {
    for (let slot = 0; slot < this.count; slot++) {
      const relativeOffset = this.relativeOffsets[slot];
      const position = this.positions[slot];
      if (relativeOffset < 0) {
        throw new CorruptFileError(this.filePath, `entry ${slot} has negative relative offset ${relativeOffset}`);
      }
      if (position < 0 || position >= logSizeBytes) {
        throw new CorruptFileError(
          this.filePath,
          `entry ${slot} points at byte ${position}, outside the ${logSizeBytes}-byte log`,
        );
      }
      if (slot > 0 && (relativeOffset <= this.relativeOffsets[slot - 1] || position <= this.positions[slot - 1])) {
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

  offsetAt(slot: number): number {
    return this.baseOffset + this.relativeOffsets[slot];
  }

  positionAt(slot: number): number {
    return this.positions[slot];
  }

  /** The key of the last entry, or the base offset when empty (as Kafka reports it). */
  lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.offsetAt(this.count - 1);
  }

  /** The position of the last entry, or 0 when empty. */
  lastPosition(): number {
    return this.count === 0 ? 0 : this.positions[this.count - 1];
  }

  /** True when `offset` can be stored relative to the base offset as an int32. */
  canHold(offset: number): boolean {
    const relativeOffset = offset - this.baseOffset;
    return relativeOffset >= 0 && relativeOffset <= INT32_MAX;
  }

  append(offset: number, position: number): void {
    const relativeOffset = offset - this.baseOffset;
    assert.ok(relativeOffset >= 0 && relativeOffset <= INT32_MAX, 'offset index entry fits an int32 relative offset');
    assert.ok(position >= 0 && position <= INT32_MAX, 'offset index position fits an int32');
    if (this.count > 0) {
      assert.ok(relativeOffset > this.relativeOffsets[this.count - 1], 'offset index keys strictly increase');
      assert.ok(position > this.positions[this.count - 1], 'offset index positions strictly increase');
    }
    this.ensureCapacity(this.count + 1);
    this.relativeOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** The slot of the entry with the largest offset <= `targetOffset`, or -1 if there is none. */
  floorSlot(targetOffset: number): number {
    return floorIndex(this.relativeOffsets, this.count, targetOffset - this.baseOffset);
  }

  /** Where to start scanning the log for `targetOffset`: its floor entry's position, else byte 0. */
  lookup(targetOffset: number): number {
    const slot = this.floorSlot(targetOffset);
    return slot < 0 ? 0 : this.positions[slot];
  }

  /** The slot of the last entry whose position is <= `position`, or -1 if there is none. */
  floorSlotByPosition(position: number): number {
    return floorIndex(this.positions, this.count, position);
  }

  /** Drops the entries for batches at or after `position` (the log is being cut there). */
  truncateFromPosition(position: number): void {
    this.count = this.floorSlotByPosition(position - 1) + 1;
  }

  /** Writes entry `slot` in file layout at `target[at..at+8)`. */
  encodeEntry(slot: number, target: Buffer, at: number): void {
    target.writeInt32BE(this.relativeOffsets[slot], at);
    target.writeInt32BE(this.positions[slot], at + 4);
  }

  /** The whole index in file layout. */
  encode(): Buffer {
    const bytes = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_BYTES);
    for (let slot = 0; slot < this.count; slot++) this.encodeEntry(slot, bytes, slot * OFFSET_INDEX_ENTRY_BYTES);
    return bytes;
  }

  private ensureCapacity(entries: number): void {
    if (entries <= this.relativeOffsets.length) return;
    let capacity = this.relativeOffsets.length;
    while (capacity < entries) capacity *= 2;
    const relativeOffsets = new Int32Array(capacity);
    relativeOffsets.set(this.relativeOffsets.subarray(0, this.count));
    const positions = new Int32Array(capacity);
    positions.set(this.positions.subarray(0, this.count));
    this.relativeOffsets = relativeOffsets;
    this.positions = positions;
  }
}
