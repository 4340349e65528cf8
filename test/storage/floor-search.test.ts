import { describe, expect, it } from 'vitest';
import { floorIndex, floorIndexBy } from '../../src/storage/floor-search.js';
import { seededIntBelow } from '../support/prng.js';

/** The reference: the last index whose key is <= target, by a linear scan. */
function linearFloor(keys: ArrayLike<number>, count: number, target: number): number {
  let found = -1;
  for (let i = 0; i < count && keys[i] <= target; i++) found = i;
  return found;
}

describe('floor binary search', () => {
  it('finds -1 when there are no keys or every key is greater', () => {
    expect(floorIndex(new Int32Array(0), 0, 5)).toBe(-1);
    expect(floorIndex(new Int32Array([10, 20]), 2, 9)).toBe(-1);
    expect(floorIndexBy(0, () => 0, 5)).toBe(-1);
  });

  it('considers only the first `count` keys of a larger array', () => {
    const keys = new Float64Array([1, 5, 9, 0, 0]);
    expect(floorIndex(keys, 3, 100)).toBe(2);
    expect(floorIndex(keys, 2, 100)).toBe(1);
  });

  it('matches a linear scan over 2,000 random ascending arrays, both forms', () => {
    const next = seededIntBelow(0xf100);
    for (let round = 0; round < 2000; round++) {
      const count = next(40);
      const keys = new Int32Array(count + next(3));
      let key = next(5) - 2;
      for (let i = 0; i < count; i++) keys[i] = key += 1 + next(4);
      const objects = Array.from(keys.subarray(0, count), (baseOffset) => ({ baseOffset }));
      for (let probe = 0; probe < 10; probe++) {
        const target = next(count * 5 + 10) - 5;
        const expected = linearFloor(keys, count, target);
        expect(floorIndex(keys, count, target)).toBe(expected);
        expect(floorIndexBy(count, (i) => objects[i].baseOffset, target)).toBe(expected);
      }
    }
  });
});
