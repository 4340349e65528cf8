import { crc32c } from '@node-rs/crc32';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptRecordError,
  InvalidConfigError,
  InvalidRecordError,
} from '../../src/errors.js';
import {
  readAttributes,
  readBaseOffset,
  readBaseSequence,
  readLastOffsetDelta,
  readMaxTimestamp,
  readProducerEpoch,
  readProducerId,
  readRecordCount,
  validateBatchAt,
} from '../../src/protocol/batch-header.js';
import {
  RecordBatchBuilder,
  RecordView,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  forEachRecord,
  type DecodedRecord,
  type RecordHeader,
  type RecordToEncode,
} from '../../src/protocol/record-batch.js';

const T0 = 1_700_000_000_000;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-record-batch-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function sampleRecords(count: number, offsetMs = 0): RecordToEncode[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 5 === 4 ? null : Buffer.from(`key-${i}`),
    value: i % 7 === 6 ? null : Buffer.alloc(10 + (i % 50), 65 + (i % 26)),
    headers: i % 3 === 0 ? [{ key: 'h', value: Buffer.from(String(i)) }, { key: 'n', value: null }] : [],
    timestampMs: T0 + offsetMs + i,
  }));
}

function expectRecords(actual: DecodedRecord[], expected: RecordToEncode[], baseOffset: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((record, i) => {
    expect(record).toEqual({
      offset: baseOffset + i,
      timestamp: expected[i].timestampMs,
      key: expected[i].key ?? null,
      value: expected[i].value,
      headers: expected[i].headers ?? [],
    });
  });
}

describe('RecordBatchBuilder', () => {
  it('writes a valid batch with the header defaults producers send', () => {
    const builder = new RecordBatchBuilder();
    builder.append(Buffer.from('k'), Buffer.from('v'), null, T0);
    builder.append(null, Buffer.from('w'), null, T0 + 10);
    const batch = builder.build();
    expect(validateBatchAt(batch, 0)).toBe(batch.length);
    expect(readBaseOffset(batch, 0)).toBe(0);
    expect(batch.readInt32BE(12)).toBe(-1); // partitionLeaderEpoch
    expect(readAttributes(batch, 0)).toBe(0);
    expect(readLastOffsetDelta(batch, 0)).toBe(1);
    expect(readMaxTimestamp(batch, 0)).toBe(T0 + 10);
    expect(readProducerId(batch, 0)).toBe(-1);
    expect(readProducerEpoch(batch, 0)).toBe(-1);
    expect(readBaseSequence(batch, 0)).toBe(-1);
    expect(readRecordCount(batch, 0)).toBe(2);
  });

  it('round-trips keys, null keys, null values, headers and timestamps', () => {
    const records = sampleRecords(200);
    const decoded = decodeRecordBatch(encodeRecordBatch({ records }));
    expect(decoded.baseTimestamp).toBe(T0);
    expect(decoded.maxTimestamp).toBe(T0 + 199);
    expectRecords(decoded.records, records, 0);
  });

  it('takes the first record as the base timestamp, with negative deltas for earlier records', () => {
    const records = [T0 + 1000, T0, T0 + 5000, T0 - 2 ** 33].map((timestampMs) => ({ value: Buffer.from('x'), timestampMs }));
    const decoded = decodeRecordBatch(encodeRecordBatch({ records }));
    expect(decoded.baseTimestamp).toBe(T0 + 1000);
    expect(decoded.maxTimestamp).toBe(T0 + 5000);
    expect(decoded.records.map((r) => r.timestamp)).toEqual(records.map((r) => r.timestampMs));
  });

  it('sets every header field it is given', () => {
    const bytes = encodeRecordBatch({
      records: sampleRecords(3),
      baseOffset: 2 ** 40,
      partitionLeaderEpoch: 17,
      producerId: 2 ** 50,
      producerEpoch: 32767,
      baseSequence: 2 ** 31 - 1,
      isTransactional: true,
      isControl: false,
      compression: 'gzip',
    });
    expect(readAttributes(bytes, 0)).toBe(0x11); // gzip | transactional
    expect(decodeRecordBatch(bytes)).toMatchObject({
      baseOffset: 2 ** 40,
      lastOffsetDelta: 2,
      partitionLeaderEpoch: 17,
      compression: 'gzip',
      timestampType: 'create',
      isTransactional: true,
      isControl: false,
      producerId: 2 ** 50,
      producerEpoch: 32767,
      baseSequence: 2 ** 31 - 1,
      recordCount: 3,
      sizeBytes: bytes.length,
    });
  });

  it('LogAppendTime: maxTimestamp is the append time and every record reads it', () => {
    const bytes = encodeRecordBatch({ records: sampleRecords(3), timestampType: 'logAppend', logAppendTimeMs: T0 + 99 });
    expect(readAttributes(bytes, 0) & 0x08).toBe(0x08);
    const decoded = decodeRecordBatch(bytes);
    expect(decoded).toMatchObject({ timestampType: 'logAppend', baseTimestamp: T0, maxTimestamp: T0 + 99 });
    expect(decoded.records.map((r) => r.timestamp)).toEqual([T0 + 99, T0 + 99, T0 + 99]);
    expect(() => new RecordBatchBuilder({ timestampType: 'logAppend' })).toThrow(/logAppendTimeMs/);
  });

  it('sizeBytes is the uncompressed batch size and appendSizeBytes predicts each append exactly', () => {
    const builder = new RecordBatchBuilder({ initialCapacityBytes: 64 });
    expect(builder.sizeBytes).toBe(61);
    for (const record of sampleRecords(300, -50)) {
      const before = builder.sizeBytes;
      const predicted = builder.appendSizeBytes(record.key ?? null, record.value, record.headers ?? null, record.timestampMs!);
      builder.append(record.key ?? null, record.value, record.headers ?? null, record.timestampMs!);
      expect(builder.sizeBytes - before).toBe(predicted);
    }
    expect(builder.recordCount).toBe(300);
    expect(builder.build().length).toBe(builder.sizeBytes);
  });

  it('reuses its memory across reset(), growing only when a batch needs more', () => {
    const builder = new RecordBatchBuilder({ initialCapacityBytes: 4096 });
    const first = sampleRecords(10);
    for (const r of first) builder.append(r.key ?? null, r.value, r.headers ?? null, r.timestampMs!);
    const batch1 = Buffer.from(builder.build());
    const memory1 = builder.build().buffer;

    builder.reset({ baseOffset: 500, baseSequence: 10 });
    const second = sampleRecords(10, 1000);
    for (const r of second) builder.append(r.key ?? null, r.value, r.headers ?? null, r.timestampMs!);
    const view2 = builder.build();
    expect(view2.buffer).toBe(memory1);
    const decoded2 = decodeRecordBatch(view2);
    expect(decoded2.baseSequence).toBe(10);
    expectRecords(decoded2.records, second, 500);
    expectRecords(decodeRecordBatch(batch1).records, first, 0);

    // reset() without arguments keeps the header fields.
    builder.reset();
    builder.append(null, Buffer.alloc(100_000), null, T0);
    expect(decodeRecordBatch(builder.build())).toMatchObject({ baseOffset: 500, baseSequence: 10, recordCount: 1 });
  });

  it('compressed builds reuse their output buffer and decode to the same records', () => {
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const builder = new RecordBatchBuilder({ compression });
      const records = sampleRecords(500);
      for (const r of records) builder.append(r.key ?? null, r.value, r.headers ?? null, r.timestampMs!);
      const uncompressedBytes = builder.sizeBytes;
      const first = builder.build();
      expect(first.length).toBeLessThan(uncompressedBytes / 2);
      expectRecords(decodeRecordBatch(first).records, records, 0);
      builder.reset();
      for (const r of records) builder.append(r.key ?? null, r.value, r.headers ?? null, r.timestampMs!);
      expect(builder.build().buffer).toBe(first.buffer);
    }
  });

  it('rejects bad records with InvalidRecordError and keeps the batch intact', () => {
    const builder = new RecordBatchBuilder();
    builder.append(Buffer.from('a'), Buffer.from('1'), null, T0);
    const bad: [string, () => void][] = [
      ['string key', () => builder.append('k' as unknown as Buffer, null, null, T0)],
      ['Uint8Array value', () => builder.append(null, new Uint8Array(2) as Buffer, null, T0)],
      ['negative timestamp', () => builder.append(null, null, null, -2)],
      ['fractional timestamp', () => builder.append(null, null, null, T0 + 0.5)],
      ['unsafe timestamp', () => builder.append(null, null, null, 2 ** 53)],
      ['headers not an array', () => builder.append(null, null, {} as unknown as RecordHeader[], T0)],
      ['header without key', () => builder.append(null, null, [{ value: null } as unknown as RecordHeader], T0)],
      ['header string value', () => builder.append(null, null, [{ key: 'k', value: 'v' as unknown as Buffer }], T0)],
    ];
    for (const [name, append] of bad) expect(append, name).toThrow(InvalidRecordError);
    builder.append(Buffer.from('b'), Buffer.from('2'), null, T0 + 1);
    const decoded = decodeRecordBatch(builder.build());
    expect(decoded.records.map((r) => r.key?.toString())).toEqual(['a', 'b']);
    expect(decoded.maxTimestamp).toBe(T0 + 1);
  });

  it('refuses to build an empty batch', () => {
    expect(() => new RecordBatchBuilder().build()).toThrow(InvalidRecordError);
    expect(() => encodeRecordBatch({ records: [] })).toThrow(/without records/);
  });

  it('validates header options with typed errors', () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['negative baseOffset', { baseOffset: -1 }, /baseOffset must be an integer in \[0/],
      ['epoch beyond int16', { producerEpoch: 40_000 }, /producerEpoch/],
      ['sequence beyond int32', { baseSequence: 2 ** 31 }, /baseSequence/],
      ['leader epoch below -1', { partitionLeaderEpoch: -2 }, /partitionLeaderEpoch/],
      ['unknown compression', { compression: 'brotli' }, /compression must be one of/],
      ['timestamp type', { timestampType: 'now' }, /timestampType/],
      ['transactional without producer', { isTransactional: true }, /needs a producerId/],
      ['misspelt option', { baseOfset: 1 }, /unknown record batch option "baseOfset"/],
      ['capacity', { initialCapacityBytes: 10 }, /initialCapacityBytes/],
    ];
    for (const [name, options, message] of bad) {
      expect(() => new RecordBatchBuilder(options), name).toThrow(InvalidConfigError);
      expect(() => new RecordBatchBuilder(options), name).toThrow(message);
    }
    expect(() => new RecordBatchBuilder({ compression: 'brotli' as never })).toThrow(InvalidConfigError);
  });
});

describe('decoding', () => {
  it('hands out keys and values as slices of the input, not copies', () => {
    const bytes = encodeRecordBatch({ records: sampleRecords(5) });
    const record = decodeRecordBatch(bytes).records[0];
    expect(record.key!.buffer).toBe(bytes.buffer);
    bytes[record.value!.byteOffset - bytes.byteOffset] ^= 0xff;
    expect(record.value![0]).toBe(65 ^ 0xff);
  });

  it('decodes the batch at a position, ignoring bytes after it', () => {
    const bytes = encodeRecordBatch({ records: sampleRecords(4) });
    const padded = Buffer.concat([Buffer.alloc(33, 9), bytes, Buffer.alloc(20, 9)]);
    const decoded = decodeRecordBatch(padded, 33);
    expect(decoded.sizeBytes).toBe(bytes.length);
    expectRecords(decoded.records, sampleRecords(4), 0);
    expect(() => decodeRecordBatch(padded, -1)).toThrow(RangeError);
    expect(() => decodeRecordBatch('x' as unknown as Buffer)).toThrow(TypeError);
    expect(() => decodeRecordBatch(bytes, 0, { maxDecompressedBytes: 0 })).toThrow(InvalidConfigError);
  });

  it('a batch cut short is corrupt when asked for one batch', () => {
    const bytes = encodeRecordBatch({ records: sampleRecords(4) });
    expect(() => decodeRecordBatch(bytes.subarray(0, bytes.length - 1))).toThrow(CorruptRecordError);
  });

  it('decodes an empty batch (what compaction can leave) to no records, compressed or not', () => {
    for (const compression of ['none', 'gzip'] as const) {
      const bytes = Buffer.from(encodeRecordBatch({ records: sampleRecords(1), compression }));
      // Rewrite it as Kafka's cleaner would: records removed, count 0, lastOffsetDelta kept.
      const empty = Buffer.from(bytes.subarray(0, compression === 'none' ? 61 : bytes.length));
      empty.writeInt32BE(empty.length - 12, 8);
      empty.writeInt32BE(0, 57);
      empty.writeInt32BE(9, 23);
      rewriteCrc(empty);
      expect(decodeRecordBatch(empty)).toMatchObject({ recordCount: 0, lastOffsetDelta: 9, records: [] });
    }
  });
});

describe('log reads: many batches in one buffer, from a real file', () => {
  function writeLog(): { file: string; batches: Buffer[]; records: RecordToEncode[][] } {
    const records = [sampleRecords(20), sampleRecords(1, 100), sampleRecords(50, 200), sampleRecords(7, 300)];
    let offset = 0;
    const batches = records.map((recs, i) => {
      const batch = encodeRecordBatch({ records: recs, baseOffset: offset, compression: (['none', 'gzip', 'lz4', 'none'] as const)[i] });
      offset += recs.length;
      return batch;
    });
    const file = path.join(dir, `${Date.now()}-${Math.random()}.log`);
    fs.writeFileSync(file, Buffer.concat([...batches, encodeControlBatch({ producerId: 1, producerEpoch: 0, type: 'abort', coordinatorEpoch: 0, timestampMs: T0 })]));
    return { file, batches, records };
  }

  it('decodes every batch, offsets continuing across them', () => {
    const { file, records } = writeLog();
    const decoded = decodeRecordBatches(fs.readFileSync(file));
    expect(decoded.map((b) => b.compression)).toEqual(['none', 'gzip', 'lz4', 'none', 'none']);
    let offset = 0;
    records.forEach((recs, i) => {
      expectRecords(decoded[i].records, recs, offset);
      offset += recs.length;
    });
    expect(decoded[4].isControl).toBe(true);
  });

  it('skips a partial batch at the end, as a fetch cut at its size limit leaves it', () => {
    const { file, batches } = writeLog();
    const whole = fs.readFileSync(file);
    const firstTwo = batches[0].length + batches[1].length;
    for (const cut of [firstTwo + 1, firstTwo + 11, firstTwo + 12, firstTwo + 61, firstTwo + batches[2].length - 1]) {
      const decoded = decodeRecordBatches(whole.subarray(0, cut));
      expect(decoded.length, `cut at ${cut}`).toBe(2);
      expect(forEachRecord(whole.subarray(0, cut), () => {})).toBe(firstTwo);
    }
    expect(decodeRecordBatches(Buffer.alloc(0))).toEqual([]);
  });

  it('reports a corrupt batch in the middle at its file position', () => {
    const { file, batches } = writeLog();
    const whole = fs.readFileSync(file);
    const at = batches[0].length + batches[1].length;
    whole[at + 70] ^= 0x01; // inside batch 3's records: the CRC catches it
    for (const decode of [
      () => decodeRecordBatches(whole, { positionBase: 4096 }),
      () => forEachRecord(whole, () => {}, { positionBase: 4096 }),
    ]) {
      const error = catchError(decode);
      expect(error).toBeInstanceOf(CorruptRecordError);
      expect((error as CorruptRecordError).position).toBe(4096 + at);
      expect((error as CorruptRecordError).reason).toMatch(/CRC mismatch/);
    }
  });

  it('forEachRecord visits the same records with one reused view and returns the bytes consumed', () => {
    const { file } = writeLog();
    const whole = fs.readFileSync(file);
    const expected = decodeRecordBatches(whole).flatMap((b) => b.records.map((r) => ({ ...r, isControl: b.isControl })));
    const seen: unknown[] = [];
    const views = new Set<RecordView>();
    const consumed = forEachRecord(whole, (record) => {
      views.add(record);
      seen.push({
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key(),
        value: record.value(),
        headers: record.headers(),
        isControl: record.batch.isControl,
      });
    });
    expect(consumed).toBe(whole.length);
    expect(views.size).toBe(1);
    expect(seen).toEqual(expected);
  });

  it('forEachRecord exposes positions: no slice needed to read a value', () => {
    const records = sampleRecords(30);
    const bytes = encodeRecordBatch({ records });
    let i = 0;
    forEachRecord(bytes, (view) => {
      const value = records[i++].value;
      expect(view.valueLength).toBe(value === null ? -1 : value.length);
      if (value !== null) expect(view.buffer.compare(value, 0, value.length, view.valueStart, view.valueStart + view.valueLength)).toBe(0);
    });
    expect(i).toBe(30);
  });
});

function rewriteCrc(batch: Buffer): void {
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
