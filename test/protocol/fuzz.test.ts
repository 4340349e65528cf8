/**
 * Hostile input. Random truncations and bit flips of valid batches, with the CRC left as it was
 * (what a torn write or a bad disk does) and with the CRC recomputed (what a buggy or malicious
 * producer sends): the decoder must answer CorruptRecordError or a decode that honours every
 * invariant; never another error,
 * an out-of-bounds read or a hang. Then targeted forgeries of every length and count field.
 *
 * The PRNG is seeded; set SLUICE_FUZZ_SEED to replay a failure (the failing seed is printed).
 */
import { crc32c } from '@node-rs/crc32';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from '../../src/errors.js';
import {
  decodeRecordBatch,
  encodeRecordBatch,
  forEachRecord,
  type DecodedRecordBatch,
  type RecordToEncode,
} from '../../src/protocol/record-batch.js';
import { seededRandom } from '../support/prng.js';

const SEED = Number(process.env.SLUICE_FUZZ_SEED ?? 0x51c3_2024);
const ITERATIONS = 10_000;
const T0 = 1_700_000_000_000;

function records(count: number, withHeaders: boolean): RecordToEncode[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 4 === 3 ? null : Buffer.from(`k${i}`),
    value: i % 6 === 5 ? null : Buffer.from(`value-${i}-`.repeat(1 + (i % 4))),
    headers: withHeaders && i % 2 === 0 ? [{ key: `h${i}`, value: i % 4 === 0 ? null : Buffer.from('hv') }] : [],
    timestampMs: T0 + i * 7 - 20,
  }));
}

const KINDS: { name: string; bytes: Buffer; records: RecordToEncode[] }[] = [
  ['uncompressed with headers', records(24, true), 'none'],
  ['gzip', records(24, true), 'gzip'],
  ['lz4', records(24, true), 'lz4'],
  ['snappy', records(24, true), 'snappy'],
  ['zstd', records(24, true), 'zstd'],
  ['uncompressed, log-placed', records(8, false), 'none'],
].map(([name, recs, compression]) => ({
  name: name as string,
  records: recs as RecordToEncode[],
  bytes: encodeRecordBatch({
    records: recs as RecordToEncode[],
    compression: compression as 'none' | 'gzip' | 'lz4' | 'snappy' | 'zstd',
    baseOffset: name === 'uncompressed, log-placed' ? 1_000_000 : 0,
    partitionLeaderEpoch: 4,
  }),
}));

/** What each decoder made of the input: records as comparable tuples, or the error's class. */
function outcome(decode: () => DecodedRecordBatch): { batch?: DecodedRecordBatch; error?: unknown } {
  try {
    return { batch: decode() };
  } catch (error) {
    return { error };
  }
}

function visitAll(input: Buffer): { offsets: number[]; values: (string | null)[]; consumed: number } {
  const offsets: number[] = [];
  const values: (string | null)[] = [];
  const consumed = forEachRecord(input, (r) => {
    offsets.push(r.offset);
    values.push(r.value()?.toString('latin1') ?? null);
  });
  return { offsets, values, consumed };
}

/** Invariants every successful decode must hold, whatever the bytes. */
function invariantProblem(batch: DecodedRecordBatch): string | null {
  if (batch.records.length !== batch.recordCount) return 'record count differs from the header';
  let previous = batch.baseOffset - 1;
  for (const r of batch.records) {
    if (r.offset <= previous || r.offset > batch.baseOffset + batch.lastOffsetDelta) return `offset ${r.offset} out of order/range`;
    if (!Number.isSafeInteger(r.timestamp)) return 'unsafe timestamp';
    previous = r.offset;
  }
  return null;
}

function sameRecords(batch: DecodedRecordBatch, expected: RecordToEncode[], baseOffset: number): boolean {
  if (batch.records.length !== expected.length) return false;
  return batch.records.every((r, i) => {
    const e = expected[i];
    return (
      r.offset === baseOffset + i &&
      r.timestamp === e.timestampMs &&
      bytesEqual(r.key, e.key ?? null) &&
      bytesEqual(r.value, e.value) &&
      r.headers.length === (e.headers ?? []).length &&
      r.headers.every((h, j) => h.key === e.headers![j].key && bytesEqual(h.value, e.headers![j].value))
    );
  });
}

function bytesEqual(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

describe(`fuzz (seed ${SEED}, replay with SLUICE_FUZZ_SEED=${SEED})`, () => {
  it(`${ITERATIONS} truncations and bit flips: corrupt, or decoded exactly as the untouched fields allow`, () => {
    const random = seededRandom(SEED);
    const pick = (n: number): number => Math.floor(random() * n);
    const failures: string[] = [];
    const counts = { truncated: 0, corrupt: 0, decodedUncovered: 0, forgedDecoded: 0, forgedCorrupt: 0 };

    for (let iteration = 0; iteration < ITERATIONS && failures.length < 5; iteration++) {
      const kind = KINDS[pick(KINDS.length)];
      const input = Buffer.from(kind.bytes);
      const mode = pick(4);
      const label = `seed ${SEED} iteration ${iteration} (${kind.name}, mode ${mode})`;

      if (mode === 0) {
        // Truncation: one batch asked for, so it is corrupt; a log read skips it as partial.
        const cut = input.subarray(0, pick(input.length));
        counts.truncated++;
        const single = outcome(() => decodeRecordBatch(cut));
        if (!(single.error instanceof CorruptRecordError)) failures.push(`${label}: truncation to ${cut.length} gave ${String(single.error ?? 'a decode')}`);
        const visited = visitAll(cut);
        if (visited.consumed !== 0 || visited.offsets.length !== 0) failures.push(`${label}: partial batch was not skipped`);
        continue;
      }

      // Flip 1-3 bits; in mode 1 aim at the header, where the uncovered fields live.
      const flips = 1 + pick(3);
      for (let f = 0; f < flips; f++) {
        const at = mode === 1 ? pick(61) : pick(input.length);
        input[at] ^= 1 << pick(8);
      }
      const forged = mode === 3;
      if (forged) {
        // A producer with a valid CRC over bad content: keep the framing, recompute the CRC.
        kind.bytes.copy(input, 0, 0, 21);
        input.writeUInt32BE(crc32c(input.subarray(21)) >>> 0, 17);
      }
      // Bytes that differ (two flips of one bit cancel out).
      const touched: number[] = [];
      for (let at = 0; at < input.length; at++) if (input[at] !== kind.bytes[at]) touched.push(at);
      const result = outcome(() => decodeRecordBatch(input));
      const visited = outcome(() => {
        const v = visitAll(input);
        return { offsets: v.offsets, values: v.values } as unknown as DecodedRecordBatch;
      });

      // Both forms must agree: same error class, or the same records.
      if (result.batch !== undefined) {
        const v = visited.batch as unknown as { offsets: number[]; values: (string | null)[] } | undefined;
        if (
          v === undefined ||
          v.offsets.join() !== result.batch.records.map((r) => r.offset).join() ||
          v.values.join('|') !== result.batch.records.map((r) => r.value?.toString('latin1') ?? null).join('|')
        ) {
          failures.push(`${label}: forEachRecord disagrees with decodeRecordBatch`);
        }
      } else if (touched.some((at) => at >= 8 && at < 12) && visited.batch !== undefined) {
        // A batchLength flipped upwards makes the batch look cut short: one batch asked for is
        // corrupt, but a log read skips it as a partial batch at the end, as Kafka clients do.
        const v = visited.batch as unknown as { offsets: number[] };
        if (v.offsets.length !== 0 || input.readInt32BE(8) + 12 <= input.length) {
          failures.push(`${label}: forEachRecord accepted a batch with a bad length`);
        }
      } else if (visited.error?.constructor !== result.error?.constructor) {
        failures.push(`${label}: forEachRecord threw ${String(visited.error)}, decodeRecordBatch ${String(result.error)}`);
      }

      if (result.error !== undefined) {
        if (result.error instanceof CorruptRecordError) {
          if (result.error.position !== 0) failures.push(`${label}: error position ${result.error.position}`);
          counts[forged ? 'forgedCorrupt' : 'corrupt']++;
        } else {
          failures.push(`${label}: threw ${String(result.error)}`);
        }
      }

      const uncoveredOnly = touched.every((at) => at < 8 || (at >= 12 && at < 16));
      if (!forged && !uncoveredOnly && result.error === undefined) {
        failures.push(`${label}: a flip at ${touched.join(',')} in CRC-covered or framing bytes went unnoticed`);
      }
      if (!forged && uncoveredOnly) {
        // baseOffset and partitionLeaderEpoch are outside the CRC: the records must come back
        // intact, renumbered from the new baseOffset, unless that offset is impossible.
        const baseOffset = input.readBigInt64BE(0);
        const lastOffset = baseOffset + BigInt(kind.records.length - 1);
        const possible = baseOffset >= 0n && lastOffset <= BigInt(Number.MAX_SAFE_INTEGER);
        if (possible) {
          if (result.batch === undefined || !sameRecords(result.batch, kind.records, Number(baseOffset))) {
            failures.push(`${label}: flip of an uncovered field broke the decode: ${String(result.error)}`);
          } else if (result.batch.partitionLeaderEpoch !== input.readInt32BE(12)) {
            failures.push(`${label}: partitionLeaderEpoch not read`);
          } else {
            counts.decodedUncovered++;
          }
        } else if (!(result.error instanceof CorruptRecordError)) {
          failures.push(`${label}: impossible baseOffset ${baseOffset} accepted`);
        }
      }
      if (result.batch !== undefined) {
        const problem = invariantProblem(result.batch);
        if (problem !== null) failures.push(`${label}: decoded batch breaks an invariant: ${problem}`);
        if (forged) counts.forgedDecoded++;
      }
    }

    expect(failures, `replay with SLUICE_FUZZ_SEED=${SEED}`).toEqual([]);
    // The run must have exercised every outcome, or it proves less than it claims.
    expect(counts.truncated).toBeGreaterThan(1000);
    expect(counts.corrupt).toBeGreaterThan(1000);
    expect(counts.decodedUncovered).toBeGreaterThan(50);
    expect(counts.forgedCorrupt).toBeGreaterThan(500);
    expect(counts.forgedDecoded).toBeGreaterThan(50);
  });
});

// ---- Targeted forgeries, written byte by byte with kafkajs's encoder as the varint writer ----

const require = createRequire(import.meta.url);
const KafkajsEncoder = require('kafkajs/src/protocol/encoder.js') as new () => {
  writeVarInt(v: number): { buffer: Buffer };
  writeVarLong(v: number): { buffer: Buffer };
};
const vi = (v: number): Buffer => new KafkajsEncoder().writeVarInt(v).buffer;
const vl = (v: number): Buffer => new KafkajsEncoder().writeVarLong(v).buffer;

interface ForgedRecord {
  offsetDelta: number;
  key?: Buffer | null;
  value?: Buffer | null;
  timestampDelta?: number;
  /** Raw bytes for the header section (count and headers); default: count 0. */
  headers?: Buffer;
  /** Raw bytes to replace the key field (length and bytes). */
  rawKey?: Buffer;
  /** Raw bytes to replace the value field. */
  rawValue?: Buffer;
  /** Raw bytes to replace the timestampDelta field. */
  rawTimestampDelta?: Buffer;
  /** Added to the true body length in the length field. */
  lengthSkew?: number;
  /** Raw bytes to replace the whole length field. */
  rawLength?: Buffer;
}

function bytesField(b: Buffer | null): Buffer {
  return b === null ? vi(-1) : Buffer.concat([vi(b.length), b]);
}

function forgeRecord(r: ForgedRecord): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]),
    r.rawTimestampDelta ?? vl(r.timestampDelta ?? 0),
    vi(r.offsetDelta),
    r.rawKey ?? bytesField(r.key ?? null),
    r.rawValue ?? bytesField(r.value === undefined ? Buffer.from('v') : r.value),
    r.headers ?? vi(0),
  ]);
  return Buffer.concat([r.rawLength ?? vi(body.length + (r.lengthSkew ?? 0)), body]);
}

interface ForgedBatch {
  section: Buffer;
  recordCount: number;
  lastOffsetDelta?: number;
  attributes?: number;
  baseOffset?: bigint;
  baseTimestamp?: bigint;
}

/** A batch around `section` with a correct CRC, so only the record-level checks can object. */
function forgeBatch(b: ForgedBatch): Buffer {
  const batch = Buffer.alloc(61 + b.section.length);
  batch.writeBigInt64BE(b.baseOffset ?? 0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(b.attributes ?? 0, 21);
  batch.writeInt32BE(b.lastOffsetDelta ?? Math.max(0, b.recordCount - 1), 23);
  batch.writeBigInt64BE(b.baseTimestamp ?? BigInt(T0), 27);
  batch.writeBigInt64BE(b.baseTimestamp ?? BigInt(T0), 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(b.recordCount, 57);
  b.section.copy(batch, 61);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

function threeRecords(): Buffer {
  // 12 bytes each, so a count of 4 passes the 7-bytes-per-record bound and is caught in parsing.
  return Buffer.concat([0, 1, 2].map((offsetDelta) => forgeRecord({ offsetDelta, value: Buffer.from('value') })));
}

describe('forged lengths and counts (valid CRC)', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['the forger itself makes valid batches', forgeBatch({ section: threeRecords(), recordCount: 3 }), /^$/],
    ['huge record count', forgeBatch({ section: threeRecords(), recordCount: 2 ** 31 - 1 }), /record count 2147483647 cannot fit in 36 bytes/],
    ['one record more than present', forgeBatch({ section: threeRecords(), recordCount: 4, lastOffsetDelta: 3 }), /record 3 .*record length: varint truncated after 0 byte/],
    ['one record fewer than present', forgeBatch({ section: threeRecords(), recordCount: 2 }), /12 bytes follow the 2 records the header declares/],
    ['huge key length', forgeBatch({ section: forgeRecord({ offsetDelta: 0, rawKey: vi(2 ** 30) }), recordCount: 1 }), /key length 1073741824 overruns the record/],
    ['key length -2', forgeBatch({ section: forgeRecord({ offsetDelta: 0, rawKey: vi(-2) }), recordCount: 1 }), /key length -2 is negative \(only -1, null, is allowed\)/],
    ['value length -7', forgeBatch({ section: forgeRecord({ offsetDelta: 0, rawValue: vi(-7) }), recordCount: 1 }), /value length -7 is negative/],
    ['null header key', forgeBatch({ section: forgeRecord({ offsetDelta: 0, headers: Buffer.concat([vi(1), vi(-1), vi(-1)]) }), recordCount: 1 }), /header 0 key length -1 is negative/],
    ['header value length -2', forgeBatch({ section: forgeRecord({ offsetDelta: 0, headers: Buffer.concat([vi(1), vi(1), Buffer.from('k'), vi(-2)]) }), recordCount: 1 }), /header 0 value length -2 is negative/],
    ['header value overruns', forgeBatch({ section: forgeRecord({ offsetDelta: 0, headers: Buffer.concat([vi(1), vi(0), vi(50), Buffer.from('short')]) }), recordCount: 1 }), /header 0 value length 50 overruns the record/],
    ['huge header count', forgeBatch({ section: forgeRecord({ offsetDelta: 0, headers: vi(1_000_000_000) }), recordCount: 1 }), /header count 1000000000 cannot fit/],
    ['negative header count', forgeBatch({ section: forgeRecord({ offsetDelta: 0, headers: vi(-1) }), recordCount: 1 }), /header count -1 cannot fit/],
    ['record length varint of 11 bytes', forgeBatch({ section: Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.alloc(10)]), recordCount: 1 }), /record length: varint longer than 5 bytes/],
    ['timestampDelta varlong of 11 bytes', forgeBatch({ section: forgeRecord({ offsetDelta: 0, rawTimestampDelta: Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]) }), recordCount: 1 }), /timestampDelta: varlong longer than 10 bytes/],
    ['negative record length', forgeBatch({ section: forgeRecord({ offsetDelta: 0, rawLength: vi(-5) }), recordCount: 1 }), /record length -5 is below the minimum 6/],
    ['record length beyond the section', forgeBatch({ section: forgeRecord({ offsetDelta: 0, lengthSkew: 100 }), recordCount: 1 }), /record length \d+ overruns the records section/],
    ['record length longer than its fields', forgeBatch({ section: Buffer.concat([forgeRecord({ offsetDelta: 0, lengthSkew: 2 }), Buffer.alloc(2)]), recordCount: 1 }), /its fields end 2 bytes earlier/],
    ['record length shorter than its fields', forgeBatch({ section: forgeRecord({ offsetDelta: 0, value: Buffer.from('abcdef'), lengthSkew: -3 }), recordCount: 1 }), /value length 6 overruns the record \(4 bytes left\)/],
    ['offsetDelta beyond lastOffsetDelta', forgeBatch({ section: forgeRecord({ offsetDelta: 5 }), recordCount: 1, lastOffsetDelta: 4 }), /offsetDelta 5 is not in \(-1, 4\]/],
    ['repeated offsetDelta', forgeBatch({ section: Buffer.concat([forgeRecord({ offsetDelta: 0 }), forgeRecord({ offsetDelta: 0 })]), recordCount: 2 }), /record 1 .*offsetDelta 0 is not in \(0, 1\]/],
    ['negative offsetDelta', forgeBatch({ section: forgeRecord({ offsetDelta: -3 }), recordCount: 1 }), /offsetDelta -3 is not in/],
    ['timestamp beyond the safe range', forgeBatch({ section: forgeRecord({ offsetDelta: 0, timestampDelta: 10 }), recordCount: 1, baseTimestamp: BigInt(Number.MAX_SAFE_INTEGER - 1) }), /timestamp .* is outside the safe integer range/],
    ['unsafe baseTimestamp', forgeBatch({ section: threeRecords(), recordCount: 3, baseTimestamp: 2n ** 62n }), /baseTimestamp 4611686018427387904 is outside the safe integer range/],
    ['negative baseOffset', forgeBatch({ section: threeRecords(), recordCount: 3, baseOffset: -1n }), /baseOffset -1 with lastOffsetDelta 2 is not a valid offset range/],
    ['unsafe baseOffset', forgeBatch({ section: threeRecords(), recordCount: 3, baseOffset: 2n ** 62n }), /baseOffset 4611686018427387904 is outside the safe integer range/],
    ['undefined codec id 5', forgeBatch({ section: threeRecords(), recordCount: 3, attributes: 5 }), /compression codec id 5 is not defined by Kafka/],
    ['gzip section holding fewer records than counted', forgeBatch({ section: gzipSync(threeRecords()), recordCount: 1000, attributes: 1 }), /record count 1000 cannot fit in a 36-byte records section/],
    ['gzip section that is not gzip', forgeBatch({ section: threeRecords(), recordCount: 3, attributes: 1 }), /gzip records section does not inflate/],
    ['lz4 section that is not lz4', forgeBatch({ section: threeRecords(), recordCount: 3, attributes: 3 }), /lz4 frame at byte 0 of the records section: bad magic number/],
  ];

  for (const [name, batch, reason] of cases) {
    it(name, () => {
      // Place the batch after other bytes: the error must name where the batch starts.
      const buf = Buffer.concat([Buffer.alloc(100), batch]);
      let error: unknown;
      try {
        decodeRecordBatch(buf, 100);
      } catch (e) {
        error = e;
      }
      if (reason.source === '^$') {
        expect(error).toBeUndefined();
        return;
      }
      expect(error).toBeInstanceOf(CorruptRecordError);
      expect((error as CorruptRecordError).position).toBe(100);
      expect((error as CorruptRecordError).reason).toMatch(reason);
      // The visitor form checks the same things.
      expect(() => forEachRecord(batch, () => {})).toThrow(CorruptRecordError);
    });
  }

  it('a decompression bomb stops at maxDecompressedBytes', () => {
    const bomb = forgeBatch({ section: gzipSync(Buffer.alloc(4 << 20)), recordCount: 1, attributes: 1 });
    expect(bomb.length).toBeLessThan(10_000);
    expect(() => decodeRecordBatch(bomb, 0, { maxDecompressedBytes: 1 << 20 })).toThrow(/exceeds maxDecompressedBytes \(1048576\)/);
  });

  it('snappy and zstd flags on sections that are not snappy or zstd are CorruptRecordError naming the codec', () => {
    for (const [attributes, codec] of [[2, 'snappy'], [4, 'zstd']] as const) {
      const batch = forgeBatch({ section: threeRecords(), recordCount: 3, attributes });
      expect(() => decodeRecordBatch(batch)).toThrow(CorruptRecordError);
      expect(() => forEachRecord(batch, () => {})).toThrow(`${codec} records section`);
    }
  });
});
