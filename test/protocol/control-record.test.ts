import { describe, expect, it } from 'vitest';
import { CorruptRecordError, InvalidConfigError, InvalidRecordError } from '../../src/errors.js';
import { readAttributes, validateBatchAt } from '../../src/protocol/batch-header.js';
import { decodeRecordBatch, encodeControlBatch, parseControlRecord } from '../../src/protocol/record-batch.js';

const T0 = 1_700_000_000_000;

describe('encodeControlBatch', () => {
  it('writes one transactional control record with the marker key and value Kafka defines', () => {
    for (const [type, typeId] of [['abort', 0], ['commit', 1]] as const) {
      const bytes = encodeControlBatch({
        producerId: 4242,
        producerEpoch: 7,
        type,
        coordinatorEpoch: 0x01020304,
        timestampMs: T0,
        baseOffset: 1000,
        partitionLeaderEpoch: 3,
      });
      expect(validateBatchAt(bytes, 0)).toBe(bytes.length);
      expect(readAttributes(bytes, 0)).toBe(0x30); // control | transactional, uncompressed, CreateTime
      const batch = decodeRecordBatch(bytes);
      expect(batch).toMatchObject({
        baseOffset: 1000,
        partitionLeaderEpoch: 3,
        isControl: true,
        isTransactional: true,
        producerId: 4242,
        producerEpoch: 7,
        baseSequence: -1,
        recordCount: 1,
        lastOffsetDelta: 0,
        baseTimestamp: T0,
        maxTimestamp: T0,
      });
      const [record] = batch.records;
      expect(record).toMatchObject({ offset: 1000, timestamp: T0, headers: [] });
      // key: int16 version 0, int16 type; value: int16 version 0, int32 coordinatorEpoch
      expect(record.key).toEqual(Buffer.from([0, 0, 0, typeId]));
      expect(record.value).toEqual(Buffer.from([0, 0, 1, 2, 3, 4]));
      expect(parseControlRecord(record.key, record.value)).toEqual({
        type,
        keyVersion: 0,
        valueVersion: 0,
        coordinatorEpoch: 0x01020304,
      });
    }
  });

  it('validates its options', () => {
    const ok = { producerId: 1, producerEpoch: 0, type: 'commit' as const, coordinatorEpoch: 0, timestampMs: T0 };
    expect(() => encodeControlBatch({ ...ok, type: 'rollback' as 'commit' })).toThrow(InvalidConfigError);
    expect(() => encodeControlBatch({ ...ok, producerId: -1 })).toThrow(/producerId >= 0/);
    expect(() => encodeControlBatch({ ...ok, producerEpoch: 70_000 })).toThrow(/producerEpoch/);
    expect(() => encodeControlBatch({ ...ok, coordinatorEpoch: 2 ** 31 })).toThrow(/coordinatorEpoch/);
    expect(() => encodeControlBatch({ ...ok, timestampMs: -5 })).toThrow(InvalidRecordError);
  });
});

describe('parseControlRecord', () => {
  it('reads newer versions by their version-0 prefix, as Kafka does', () => {
    const key = Buffer.from([0, 1, 0, 0, 0xee]);
    const value = Buffer.from([0, 2, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3]);
    expect(parseControlRecord(key, value)).toEqual({ type: 'abort', keyVersion: 1, valueVersion: 2, coordinatorEpoch: -2 });
  });

  it('reports control types other than abort and commit by id (KRaft writes them)', () => {
    expect(parseControlRecord(Buffer.from([0, 0, 0, 2]), Buffer.from([1, 2, 3]))).toEqual({
      type: 'other',
      keyVersion: 0,
      typeId: 2,
    });
  });

  it('rejects short, null or negative-version keys and values as corrupt, at the given position', () => {
    const marker = Buffer.from([0, 0, 0, 0, 0, 0]);
    const cases: [Buffer | null, Buffer | null, RegExp][] = [
      [null, marker, /key must hold 4 bytes .* got null/],
      [Buffer.from([0, 0, 0]), marker, /key must hold 4 bytes .* got 3/],
      [Buffer.from([0xff, 0xff, 0, 1]), marker, /key version -1 is negative/],
      [Buffer.from([0, 0, 0, 1]), null, /value must hold 6 bytes .* got null/],
      [Buffer.from([0, 0, 0, 1]), Buffer.from([0, 0, 0, 0, 0]), /value must hold 6 bytes .* got 5/],
      [Buffer.from([0, 0, 0, 1]), Buffer.from([0x80, 0, 0, 0, 0, 0]), /value version -32768 is negative/],
    ];
    for (const [key, value, reason] of cases) {
      let error: unknown;
      try {
        parseControlRecord(key, value, 640);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CorruptRecordError);
      expect((error as CorruptRecordError).position).toBe(640);
      expect((error as CorruptRecordError).reason).toMatch(reason);
    }
  });
});
