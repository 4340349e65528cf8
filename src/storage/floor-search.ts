/**
 * The floor binary search every sorted structure of the log needs: index entries by offset,
 * position or timestamp, segments by base offset.
 *
 * Two forms of the same loop. The index lookups run on every read, and there reading a typed
 * array directly measured about 10% faster than going through a key accessor (closure call per
 * probe), hence floorIndex over the array; segments are objects, searched by accessor.
 */

/**
 * The index of the last of the first `count` keys of `sortedKeys` (ascending) that is <= `target`,
 * or -1 when every key is greater (or there are none).
 */
export function floorIndex(sortedKeys: ArrayLike<number>, count: number, target: number): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (sortedKeys[middle] <= target) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** floorIndex over `count` ascending keys read through `keyAt` (for arrays of objects). */
export function floorIndexBy(count: number, keyAt: (index: number) => number, target: number): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (keyAt(middle) <= target) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
