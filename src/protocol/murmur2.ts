/**
 * Kafka's murmur2 hash (Java client Utils.murmur2: seed 0x9747b28c, 32-bit wrap-around
 * arithmetic, little-endian 4-byte blocks, the 1-3 byte tail mixed in last) and Utils.toPositive.
 * It lives at the protocol layer because placement by hash is part of speaking Kafka: the client's
 * default partitioner and the broker's shard placement both hash with it.
 */

const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;
const MURMUR2_R = 24;

/**
 * Kafka's murmur2 hash of `data[start, end)`, as a signed 32-bit integer (Java's int).
 * The range lets a caller hash a key that sits inside a larger buffer without slicing it.
 */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= data.length)) {
    throw new RangeError(`murmur2 range [${start}, ${end}) is not inside the ${data.length}-byte key buffer`);
  }
  const length = end - start;
  let h = MURMUR2_SEED ^ length;
  const blocksEnd = start + (length & ~3);
  let i = start;
  for (; i < blocksEnd; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> MURMUR2_R;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M) ^ k;
  }
  // The 1-3 trailing bytes: Kafka's switch falls through from the highest byte down, then mixes.
  const tailBytes = length & 3;
  if (tailBytes !== 0) {
    if (tailBytes === 3) h ^= data[i + 2] << 16;
    if (tailBytes >= 2) h ^= data[i + 1] << 8;
    h ^= data[i];
    h = Math.imul(h, MURMUR2_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which would differ on negatives). */
export function toPositive(hash: number): number {
  return hash & 0x7fff_ffff;
}
