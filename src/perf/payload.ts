/**
 * Record values for perf runs: a pool of distinct values, cycled by the runners (so a run of
 * millions of records costs the pool's memory, not the run's). Either random values whose
 * compressibility is set, or the lines of a file the user supplies (their own data, for a
 * realistic compression ratio).
 */
import { readFileSync } from 'node:fs';
import { InvalidConfigError } from '../errors.js';

/** Pools are cut at this many bytes, and at this many values: plenty to defeat caching of one value. */
export const MAX_POOL_BYTES = 64 * 1024 * 1024;
export const MAX_POOL_VALUES = 4096;

/**
 * `count` values of `sizeBytes` each (capped by the pool limits). A value is random bytes
 * followed by a run of one repeated byte filling the share `compressibility` of it: 0 gives
 * incompressible values, 1 a single repeated byte, and LZ4 or gzip shrink a value to about
 * (1 - compressibility) of its size. The generator is seeded, so every run sends the same bytes.
 */
export function randomPayloads(sizeBytes: number, compressibility: number, count: number, seed = 0x9e3779b9): Buffer[] {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new RangeError(`sizeBytes must be a non-negative integer, got ${sizeBytes}`);
  if (!(compressibility >= 0 && compressibility <= 1)) throw new RangeError(`compressibility must lie in [0, 1], got ${compressibility}`);
  const poolCount = poolSize(sizeBytes, count);
  const pool = Buffer.allocUnsafe(poolCount * sizeBytes);
  const randomBytes = Math.round((1 - compressibility) * sizeBytes);
  let state = seed | 0 || 1;
  const values: Buffer[] = new Array(poolCount);
  for (let v = 0; v < poolCount; v++) {
    const start = v * sizeBytes;
    for (let i = 0; i < randomBytes; i++) {
      // xorshift32: fast, seeded, and good enough to be incompressible for LZ4 and gzip.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      pool[start + i] = state & 0xff;
    }
    pool.fill(0x61, start + randomBytes, start + sizeBytes);
    values[v] = pool.subarray(start, start + sizeBytes);
  }
  return values;
}

/** The lines of `file` (without their line ends), at most MAX_POOL_VALUES of them; each a value. */
export function filePayloads(file: string, minBytes = 0): Buffer[] {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new InvalidConfigError(`--payload-file ${file} cannot be read: ${(error as Error).message}`);
  }
  const values: Buffer[] = [];
  let pooledBytes = 0;
  let start = 0;
  while (start < content.length && values.length < MAX_POOL_VALUES && pooledBytes < MAX_POOL_BYTES) {
    let end = content.indexOf(0x0a, start);
    if (end === -1) end = content.length;
    const lineEnd = end > start && content[end - 1] === 0x0d ? end - 1 : end;
    if (lineEnd > start) {
      if (lineEnd - start < minBytes) {
        throw new InvalidConfigError(
          `--payload-file ${file}: line ${values.length + 1} has ${lineEnd - start} bytes; e2e needs at least ${minBytes} per value (the send time rides in them)`,
        );
      }
      values.push(content.subarray(start, lineEnd));
      pooledBytes += lineEnd - start;
    }
    start = end + 1;
  }
  if (values.length === 0) throw new InvalidConfigError(`--payload-file ${file} has no non-empty line to send`);
  return values;
}

function poolSize(sizeBytes: number, count: number): number {
  const bySize = sizeBytes === 0 ? MAX_POOL_VALUES : Math.floor(MAX_POOL_BYTES / sizeBytes);
  return Math.max(1, Math.min(count, MAX_POOL_VALUES, bySize));
}
