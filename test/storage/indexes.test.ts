import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../src/errors.js';
import { OffsetIndex } from '../../src/storage/offset-index.js';
import { NO_TIMESTAMP, TimeIndex } from '../../src/storage/time-index.js';

const BASE = 1_000;

function offsetIndexWith(entries: [offset: number, position: number][]): OffsetIndex {
  const index = new OffsetIndex('test.index', BASE, 1000);
  for (const [offset, position] of entries) index.append(offset, position);
  return index;
}

describe('OffsetIndex', () => {
  it('finds the entry with the largest offset <= the target, as a linear scan does', () => {
    const entries: [number, number][] = [];
    for (let i = 1; i <= 300; i++) entries.push([BASE + i * 7 + (i % 3), i * 100 + (i % 5)]);
    const index = offsetIndexWith(entries);
    for (let target = BASE - 5; target < BASE + 2200; target++) {
      let expected = -1;
      for (let slot = 0; slot < entries.length; slot++) if (entries[slot][0] <= target) expected = slot;
      expect(index.floorSlot(target)).toBe(expected);
      expect(index.lookup(target)).toBe(expected < 0 ? 0 : entries[expected][1]);
    }
  });

  it('finds entries by position and cuts them at a position', () => {
    const index = offsetIndexWith([
      [BASE + 5, 100],
      [BASE + 9, 250],
      [BASE + 20, 400],
    ]);
    expect(index.floorSlotByPosition(99)).toBe(-1);
    expect(index.floorSlotByPosition(250)).toBe(1);
    expect(index.floorSlotByPosition(10_000)).toBe(2);
    index.truncateFromPosition(250);
    expect(index.entryCount).toBe(1);
    expect(index.lastOffset()).toBe(BASE + 5);
    index.truncateFromPosition(0);
    expect([index.entryCount, index.lastOffset(), index.lastPosition()]).toEqual([0, BASE, 0]);
  });

  it('round-trips Kafka\'s 8-byte layout: int32 relative offset, int32 position, big-endian', () => {
    const index = offsetIndexWith([
      [BASE + 3, 61],
      [BASE + 0x12345, 0x7fff_fff0],
    ]);
    const bytes = index.encode();
    expect(bytes.toString('hex')).toBe('000000030000003d000123457ffffff0');
    const decoded = OffsetIndex.decode('test.index', BASE, 1000, bytes);
    expect(decoded.encode().equals(bytes)).toBe(true);
    expect([decoded.offsetAt(1), decoded.positionAt(1)]).toEqual([BASE + 0x12345, 0x7fff_fff0]);
  });

  it('rejects files that are torn or break the index invariants', () => {
    expect(() => OffsetIndex.decode('x.index', BASE, 10, Buffer.alloc(12))).toThrow(CorruptFileError);
    const entries = (pairs: number[]): Buffer => {
      const bytes = Buffer.alloc(pairs.length * 4);
      pairs.forEach((value, i) => bytes.writeInt32BE(value, i * 4));
      return bytes;
    };
    const check = (pairs: number[], logSize: number) => () =>
      OffsetIndex.decode('x.index', BASE, 10, entries(pairs)).check(logSize);
    expect(check([1, 10, 2, 20], 100)).not.toThrow();
    expect(check([-1, 10], 100)).toThrow(/negative relative offset/);
    expect(check([1, 10, 1, 20], 100)).toThrow(/does not increase/);
    expect(check([1, 10, 2, 10], 100)).toThrow(/does not increase/);
    expect(check([1, 100], 100)).toThrow(/outside the 100-byte log/);
  });

  it('knows which offsets fit an int32 relative offset and when it is full', () => {
    const index = new OffsetIndex('x.index', BASE, 2);
    expect(index.canHold(BASE)).toBe(true);
    expect(index.canHold(BASE + 0x7fff_ffff)).toBe(true);
    expect(index.canHold(BASE + 0x8000_0000)).toBe(false);
    expect(index.canHold(BASE - 1)).toBe(false);
    index.append(BASE + 1, 10);
    expect(index.isFull).toBe(false);
    index.append(BASE + 2, 20);
    expect(index.isFull).toBe(true);
  });

  it('refuses entries that would break its ordering (an invariant, not input validation)', () => {
    const index = offsetIndexWith([[BASE + 5, 100]]);
    expect(() => index.append(BASE + 5, 200)).toThrow();
    expect(() => index.append(BASE + 6, 100)).toThrow();
  });
});

describe('TimeIndex', () => {
  it('adds an entry only when the timestamp grows (Kafka maybeAppend)', () => {
    const index = new TimeIndex('x.timeindex', BASE, 100);
    expect(index.lastTimestamp()).toBe(NO_TIMESTAMP);
    expect(index.maybeAppend(-1, BASE)).toBe(false);
    expect(index.maybeAppend(500, BASE + 2)).toBe(true);
    expect(index.maybeAppend(500, BASE + 4)).toBe(false);
    expect(index.maybeAppend(400, BASE + 5)).toBe(false);
    expect(index.maybeAppend(900, BASE + 7)).toBe(true);
    expect([index.entryCount, index.lastTimestamp(), index.lastOffset()]).toEqual([2, 900, BASE + 7]);
  });

  it('looks up the entry with the largest timestamp <= the target, else the base offset', () => {
    const index = new TimeIndex('x.timeindex', BASE, 100);
    const entries: [number, number][] = [];
    for (let i = 0; i < 200; i++) entries.push([1_700_000_000_000 + i * 10, BASE + i * 3]);
    for (const [timestamp, offset] of entries) index.maybeAppend(timestamp, offset);
    for (let target = 1_699_999_999_990; target < 1_700_000_002_010; target += 3) {
      const floor = entries.filter(([timestamp]) => timestamp <= target).at(-1);
      expect(index.lookup(target)).toBe(floor === undefined ? BASE : floor[1]);
    }
  });

  it('round-trips Kafka\'s 12-byte layout with 64-bit timestamps and cuts entries by offset', () => {
    const index = new TimeIndex('x.timeindex', BASE, 100);
    index.maybeAppend(1_700_000_000_123, BASE + 9);
    index.maybeAppend(2 ** 41 + 7, BASE + 12);
    const bytes = index.encode();
    expect(bytes.readBigInt64BE(0)).toBe(1_700_000_000_123n);
    expect(bytes.readInt32BE(8)).toBe(9);
    expect(bytes.readBigInt64BE(12)).toBe(2n ** 41n + 7n);
    expect(TimeIndex.decode('x.timeindex', BASE, 100, bytes).encode().equals(bytes)).toBe(true);
    index.truncateFromOffset(BASE + 12);
    expect(index.entryCount).toBe(1);
    index.truncateFromOffset(BASE);
    expect(index.entryCount).toBe(0);
  });

  it('rejects files that are torn or break the index invariants', () => {
    expect(() => TimeIndex.decode('x.timeindex', BASE, 10, Buffer.alloc(13))).toThrow(/not a multiple/);
    const encode = (entries: [bigint, number][]): Buffer => {
      const bytes = Buffer.alloc(entries.length * 12);
      entries.forEach(([timestamp, relativeOffset], i) => {
        bytes.writeBigInt64BE(timestamp, i * 12);
        bytes.writeInt32BE(relativeOffset, i * 12 + 8);
      });
      return bytes;
    };
    const check = (entries: [bigint, number][], lastOffset: number) => () =>
      TimeIndex.decode('x.timeindex', BASE, 10, encode(entries)).check(lastOffset);
    expect(check([[5n, 1], [6n, 1]], BASE + 1)).not.toThrow();
    expect(check([[5n, 1], [5n, 2]], BASE + 9)).toThrow(/does not increase/);
    expect(check([[5n, 3], [6n, 2]], BASE + 9)).toThrow(/does not increase/);
    expect(check([[5n, 10]], BASE + 9)).toThrow(/outside the segment's offsets/);
    expect(check([[-5n, 1]], BASE + 9)).toThrow(/negative timestamp/);
    expect(() => TimeIndex.decode('x.timeindex', BASE, 10, encode([[2n ** 60n, 1]]))).toThrow(/safe integer/);
  });
});
