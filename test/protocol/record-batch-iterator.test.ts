/**
 * RecordBatchIterator (the callback-free walk forEachRecord is built on), the checkCrcs option,
 * and the record parser's inline one- and two-byte varint forms at their size boundaries.
 */
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, InvalidConfigError } from '../../src/errors.js';
import { CRC_OFFSET, RECORDS_OFFSET } from '../../src/protocol/batch-header.js';
import { encodeRecordBatch, type RecordToEncode } from '../../src/protocol/record-batch-builder.js';
import { RecordBatchIterator, RecordView, forEachRecord } from '../../src/protocol/record-batch-reader.js';

const T0 = 1_700_000_000_000;

function batch(baseOffset: number, values: string[]): Buffer {
  return encodeRecordBatch({ baseOffset, records: values.map((value, i) => ({ value: Buffer.from(value), timestampMs: T0 + i })) });
}

function values(buf: Buffer, options = {}): string[] {
  const out: string[] = [];
  forEachRecord(buf, (record) => void out.push(record.value()!.toString()), options);
  return out;
}

describe('RecordBatchIterator', () => {
  it('walks batches and their records, and reports the bytes of the whole batches it finished', () => {
    const first = batch(0, ['a', 'b']);
    const second = batch(2, ['c']);
    const bytes = Buffer.concat([first, second, second.subarray(0, 20)]);
    const iterator = new RecordBatchIterator(bytes);
    const view = new RecordView();
    const seen: [number, number, string][] = [];
    for (let header = iterator.nextBatch(view); header !== null; header = iterator.nextBatch(view)) {
      for (let i = 0; i < header.recordCount; i++) {
        iterator.nextRecord(view);
        seen.push([header.baseOffset, view.offset, view.value()!.toString()]);
      }
    }
    expect(seen).toEqual([
      [0, 0, 'a'],
      [0, 1, 'b'],
      [2, 2, 'c'],
    ]);
    expect(iterator.position).toBe(first.length + second.length);
  });

  it('still parses the records a caller skips, so a malformed one throws on the next batch', () => {
    const damaged = batch(0, ['abc', 'def']);
    // The second record's length varint claims more bytes than the records section holds; the
    // CRC is not checked, so only the record parse can find it.
    const secondRecord = RECORDS_OFFSET + damaged[RECORDS_OFFSET] / 2 + 1;
    damaged[secondRecord] = 0x7e;
    const iterator = new RecordBatchIterator(Buffer.concat([damaged, batch(2, ['g'])]), { checkCrcs: false });
    const view = new RecordView();
    expect(iterator.nextBatch(view)?.recordCount).toBe(2);
    iterator.nextRecord(view);
    expect(view.value()!.toString()).toBe('abc');
    expect(() => iterator.nextBatch(view)).toThrow(/record 1 .*overruns the records section/);
  });

  it('refuses nextRecord past the batch record count', () => {
    const iterator = new RecordBatchIterator(batch(0, ['a']));
    const view = new RecordView();
    iterator.nextBatch(view);
    iterator.nextRecord(view);
    expect(() => iterator.nextRecord(view)).toThrow(RangeError);
  });
});

describe('checkCrcs', () => {
  it('throws on a CRC mismatch by default and reads the bytes as they are when off', () => {
    const bytes = batch(0, ['bravo']);
    bytes[bytes.indexOf('bravo') + 4] = 'a'.charCodeAt(0);
    expect(() => values(bytes)).toThrow(/CRC mismatch/);
    expect(values(bytes, { checkCrcs: false })).toEqual(['brava']);
  });

  it('keeps checking the framing when off', () => {
    const bytes = batch(0, ['x']);
    bytes[CRC_OFFSET - 1] = 1; // magic
    expect(() => values(bytes, { checkCrcs: false })).toThrow(CorruptRecordError);
  });

  it('must be a boolean', () => {
    expect(() => new RecordBatchIterator(batch(0, ['x']), { checkCrcs: 1 as unknown as boolean })).toThrow(InvalidConfigError);
  });
});

describe('record varints at the one- and two-byte boundaries', () => {
  it('decodes lengths, deltas and counts of 1, 2 and 3 bytes, and a header count as the record last byte', () => {
    // zigzag(n) for n >= 0 is 2n: one byte up to 63, two up to 8191, three from 8192.
    const sizes = [-1, 0, 1, 63, 64, 8191, 8192, 70_000];
    const records: RecordToEncode[] = sizes.map((size, i) => ({
      key: size < 0 ? null : Buffer.alloc(sizes[sizes.length - 1 - i] < 0 ? 0 : sizes[sizes.length - 1 - i], 'k'),
      value: size < 0 ? null : Buffer.alloc(size, 'v'),
      headers: i % 2 === 0 ? null : [{ key: 'h'.repeat(size < 0 ? 1 : Math.min(size, 100)), value: size < 0 ? null : Buffer.alloc(size, 'w') }],
      // Deltas from the first timestamp, both signs, across the same boundaries.
      timestampMs: T0 + (i % 2 === 0 ? 1 : -1) * (size < 0 ? 0 : size),
    }));
    const seen: { key: number; value: number; headers: number; timestamp: number }[] = [];
    forEachRecord(encodeRecordBatch({ baseOffset: 5, records }), (record) => {
      seen.push({
        key: record.keyLength,
        value: record.valueLength,
        headers: record.headers().reduce((sum, header) => sum + (header.value?.length ?? -1), 0),
        timestamp: record.timestamp,
      });
    });
    expect(seen).toEqual(
      records.map((record) => ({
        key: record.key === null ? -1 : record.key!.length,
        value: record.value === null ? -1 : record.value.length,
        headers: (record.headers ?? []).reduce((sum, header) => sum + (header.value?.length ?? -1), 0),
        timestamp: record.timestampMs,
      })),
    );
  });
});
