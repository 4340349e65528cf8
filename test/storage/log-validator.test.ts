/**
 * The append validator on real bytes through PartitionLog.append: each malformation is refused
 * with Kafka's code and names what is wrong, nothing is written, and the log reads back whole
 * afterwards; a fuzz pass over mutated batches with recomputed CRCs never stores a batch the
 * decoder cannot read.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CorruptRecordError,
  InvalidRecordError,
  InvalidTimestampError,
  RecordValidationError,
  SluiceError,
  UnknownProducerIdError,
} from '../../src/errors.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  TIMESTAMP_TYPE_MASK,
  readMaxTimestamp,
} from '../../src/protocol/batch-header.js';
import { encodeRecordBatch, type RecordToEncode } from '../../src/protocol/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import type { CompressionType } from '../../src/protocol/compression.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { seededIntBelow } from '../support/prng.js';
import { DEFAULT_BASE_TIMESTAMP_MS, ManualClock, makeTempDir, removeTempDir, resealCrc, scanLogFiles, thrownBy } from './helpers.js';

let dir: string;
let clock: ManualClock;
let log: PartitionLog;

beforeEach(() => {
  dir = makeTempDir();
  clock = new ManualClock(DEFAULT_BASE_TIMESTAMP_MS);
});

afterEach(() => {
  log?.close();
  removeTempDir(dir);
});

function open(config: Partial<LogConfig> = {}): PartitionLog {
  log = PartitionLog.open(dir, config, { nowMs: clock.nowMs });
  return log;
}

function records(count: number, timestamp = DEFAULT_BASE_TIMESTAMP_MS): RecordToEncode[] {
  return Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value ${i}`), timestampMs: timestamp }));
}

/** Every stored batch decodes, record by record, and the offsets run densely from 0. */
function expectReadable(expectedRecords: number): void {
  const stored = scanLogFiles(dir);
  let next = 0;
  for (const batch of stored) {
    for (const decoded of decodeRecordBatches(batch.bytes)) {
      for (const record of decoded.records) expect(record.offset).toBe(next++);
    }
  }
  expect(next).toBe(expectedRecords);
  expect(log.logEndOffset).toBe(expectedRecords);
}

describe('records that do not decode are refused with CORRUPT_MESSAGE, never stored', () => {
  it('a gzip batch whose body does not inflate, though its CRC holds', () => {
    open();
    log.append(encodeRecordBatch({ records: records(2) }));
    const batch = encodeRecordBatch({ records: records(3), compression: 'gzip' });
    batch.fill(0x5a, BATCH_HEADER_BYTES + 10);
    resealCrc(batch);
    const error = thrownBy(() => log.append(batch));
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error.message).toMatch(/gzip records section does not inflate/);
    expectReadable(2);
  });

  it('a record length varint that runs past the end of the records section, naming the record', () => {
    open();
    const batch = encodeRecordBatch({ records: records(3) });
    // Record 0 starts right after the header; its length varint claims far more than is there.
    batch.writeUInt8(0x7e, BATCH_HEADER_BYTES);
    resealCrc(batch);
    const error = thrownBy(() => log.append(batch));
    expect(error).toMatchObject({ code: 'CORRUPT_MESSAGE' });
    expect(error.message).toMatch(/record 0 .*record length 63 overruns/);
    expectReadable(0);
  });

  it('a gzip body that inflates to records that do not parse, naming the record', () => {
    open();
    const plain = encodeRecordBatch({ records: records(2) });
    const section = Buffer.from(plain.subarray(BATCH_HEADER_BYTES));
    // Record 1's key length becomes -5: neither null (-1) nor a length.
    const secondRecord = section.readInt8(0) / 2 + 1;
    section.writeUInt8(9, secondRecord + 3);
    const compressed = gzipSync(section);
    const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), compressed]);
    batch.writeInt32BE(batch.length - 12, 8);
    batch.writeInt16BE(1, ATTRIBUTES_OFFSET);
    resealCrc(batch);
    const error = thrownBy(() => log.append(batch));
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error.message).toMatch(/record 1 \(byte \d+ of the decompressed records\)/);
    expectReadable(0);
  });

  it('bytes after the last declared record of the last batch', () => {
    open();
    const plain = encodeRecordBatch({ records: records(2) });
    const batch = Buffer.concat([plain, Buffer.from([0, 0, 0])]);
    batch.writeInt32BE(batch.length - 12, 8);
    resealCrc(batch);
    expect(() => log.append(batch)).toThrow(/3 bytes follow the 2 records the header declares/);
    expectReadable(0);
  });
});

describe('batch rules (INVALID_RECORD)', () => {
  it('refuses a producer batch whose baseOffset is not 0, as Kafka does; the log assigns offsets', () => {
    open();
    const batch = encodeRecordBatch({ records: records(1), baseOffset: 777 });
    const error = thrownBy(() => log.append(batch));
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect(error.message).toMatch(/baseOffset 777/);
    // The transaction coordinator's own batches are exempt: their offsets are assigned all the same.
    expect(log.append(encodeRecordBatch({ records: records(1), baseOffset: 777 }), { origin: 'coordinator' }).baseOffset).toBe(0);
  });
});

describe('timestamps (INVALID_TIMESTAMP with the refused records listed)', () => {
  it('refuses records outside message.timestamp.before.max.ms / after.max.ms, listing each by index', () => {
    open({ messageTimestampBeforeMaxMs: 1000, messageTimestampAfterMaxMs: 100 });
    const now = clock.now;
    const batch = encodeRecordBatch({
      records: [
        { key: null, value: Buffer.from('ok'), timestampMs: now - 1000 },
        { key: null, value: Buffer.from('too old'), timestampMs: now - 1001 },
        { key: null, value: Buffer.from('ok'), timestampMs: now + 100 },
        { key: null, value: Buffer.from('too new'), timestampMs: now + 101 },
      ],
    });
    const error = thrownBy(() => log.append(batch));
    expect(error).toBeInstanceOf(RecordValidationError);
    expect(error).toMatchObject({ code: 'INVALID_TIMESTAMP', kafkaErrorCode: 32 });
    expect((error as RecordValidationError).recordErrors.map((entry) => entry.batchIndex)).toEqual([1, 3]);
    expect((error as RecordValidationError).recordErrors[0].message).toMatch(
      new RegExp(`timestamp ${now - 1001} is out of range: it must be within \\[${now - 1000}, ${now + 100}\\]`),
    );
    expectReadable(0);
    // The same batch is fine once the clock has moved to make every record recent enough.
    clock.now += 50;
    expect(() => log.append(encodeRecordBatch({ records: records(1, clock.now - 999) }))).not.toThrow();
  });

  it('ignores the limits under LogAppendTime, and refuses a producer that stamps LogAppendTime itself', () => {
    open({ messageTimestampType: 'LogAppendTime', messageTimestampBeforeMaxMs: 0, messageTimestampAfterMaxMs: 0 });
    const result = log.append(encodeRecordBatch({ records: records(2, 5) }));
    expect(result.logAppendTimeMs).toBe(clock.now);
    const stamped = encodeRecordBatch({ records: records(2), timestampType: 'logAppend', logAppendTimeMs: clock.now });
    const error = thrownBy(() => log.append(stamped));
    expect(error).toMatchObject({ code: 'INVALID_TIMESTAMP' });
    expect((error as RecordValidationError).recordErrors.map((entry) => entry.batchIndex)).toEqual([0, 1]);
    expectReadable(2);
  });

  it('corrects a max timestamp that does not match the records (the time index and retention read it)', () => {
    open();
    const batch = encodeRecordBatch({ records: records(2, DEFAULT_BASE_TIMESTAMP_MS + 7) });
    batch.writeBigInt64BE(BigInt(DEFAULT_BASE_TIMESTAMP_MS + 1_000_000), MAX_TIMESTAMP_OFFSET);
    resealCrc(batch);
    log.append(batch);
    const [stored] = scanLogFiles(dir);
    expect(readMaxTimestamp(stored.bytes, 0)).toBe(DEFAULT_BASE_TIMESTAMP_MS + 7);
    expect(stored.bytes.readInt16BE(ATTRIBUTES_OFFSET) & TIMESTAMP_TYPE_MASK).toBe(0);
    expectReadable(2);
  });

  it('refuses a base timestamp beyond what a number holds exactly with INVALID_TIMESTAMP, not a RangeError', () => {
    open();
    const batch = encodeRecordBatch({ records: records(1) });
    batch.writeBigInt64BE(2n ** 62n, 27);
    resealCrc(batch);
    const error = thrownBy(() => log.append(batch));
    expect(error).toBeInstanceOf(InvalidTimestampError);
    expect(error.message).toMatch(/baseTimestamp 4611686018427387904/);
  });
});

describe("batches from Sluice's own producer (CRC verified upstream)", () => {
  /** Appends `batch` to a fresh log of `config`, trusted or not, and returns what was stored. */
  function storedAfter(config: Partial<LogConfig>, batch: Buffer, crcVerified: boolean) {
    const sub = makeTempDir();
    const one = PartitionLog.open(sub, config, { nowMs: clock.nowMs });
    try {
      const result = one.append(Buffer.from(batch), { crcVerified });
      return { result, stored: scanLogFiles(sub).map((entry) => entry.bytes.toString('hex')) };
    } finally {
      one.close();
      removeTempDir(sub);
    }
  }

  it('store the same bytes and facts whether or not the records are walked, under CreateTime and LogAppendTime', () => {
    const mixed = records(5).map((record, i) => ({ ...record, timestampMs: DEFAULT_BASE_TIMESTAMP_MS + [30, 10, 50, 20, 40][i] }));
    for (const compression of ['none', 'gzip', 'lz4', 'zstd'] as CompressionType[]) {
      for (const messageTimestampType of ['CreateTime', 'LogAppendTime'] as const) {
        const batch = encodeRecordBatch({ records: mixed, compression, producerId: 7, producerEpoch: 0, baseSequence: 0 });
        const walked = storedAfter({ messageTimestampType }, batch, false);
        const trusted = storedAfter({ messageTimestampType }, batch, true);
        expect(trusted).toEqual(walked);
      }
    }
  });

  it('still answer to every per-record rule of the topic: keys on a compacted log, timestamp bounds', () => {
    const keyless = encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v'), timestampMs: clock.now }] });
    expect(thrownBy(() => storedAfter({ cleanupCompact: true }, keyless, true))).toMatchObject({ code: 'INVALID_RECORD' });
    const old = encodeRecordBatch({ records: records(2, clock.now - 5000) });
    expect(thrownBy(() => storedAfter({ messageTimestampBeforeMaxMs: 1000 }, old, true))).toMatchObject({ code: 'INVALID_TIMESTAMP' });
  });
});

describe('int64 fields outside the safe range', () => {
  it('answers producer id 2^63 - 1 with UNKNOWN_PRODUCER_ID, not an unknown server error', () => {
    open();
    const batch = encodeRecordBatch({ records: records(1), producerId: 1, producerEpoch: 0, baseSequence: 0 });
    batch.writeBigInt64BE(2n ** 63n - 1n, PRODUCER_ID_OFFSET);
    resealCrc(batch);
    const error = thrownBy(() => log.append(batch));
    expect(error).toBeInstanceOf(UnknownProducerIdError);
    expect(error).toMatchObject({ kafkaErrorCode: 59 });
    expect(error.message).toMatch(/producer id 9223372036854775807/);
    expectReadable(0);
  });
});

describe('fuzz: mutated batches with recomputed CRCs', () => {
  it('every batch the log accepts decodes whole afterwards; every refusal is a typed Kafka error', () => {
    open();
    const below = seededIntBelow(0x5eed);
    const codecs: CompressionType[] = ['none', 'gzip', 'lz4'];
    let accepted = 0;
    let refused = 0;
    let stored = 0;
    for (let round = 0; round < 600; round++) {
      const count = 1 + below(6);
      const batch = encodeRecordBatch({ records: records(count), compression: codecs[round % codecs.length] });
      // Flip 1-3 bytes anywhere after the CRC (the CRC is recomputed, so only the decoder can tell).
      const flips = 1 + below(3);
      for (let i = 0; i < flips; i++) {
        const at = ATTRIBUTES_OFFSET + below(batch.length - ATTRIBUTES_OFFSET);
        batch[at] ^= 1 << below(8);
      }
      resealCrc(batch);
      try {
        const result = log.append(batch);
        accepted++;
        stored += result.lastOffset - result.baseOffset + 1;
      } catch (error) {
        refused++;
        expect(error).toBeInstanceOf(SluiceError);
        expect((error as SluiceError).code).toMatch(
          /^(CORRUPT_MESSAGE|INVALID_RECORD|INVALID_TIMESTAMP|UNKNOWN_PRODUCER_ID|UNSUPPORTED_COMPRESSION_TYPE|MESSAGE_TOO_LARGE|INVALID_TXN_STATE|OUT_OF_ORDER_SEQUENCE_NUMBER|INVALID_PRODUCER_EPOCH|INVALID_REQUEST)$/,
        );
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expectReadable(stored);
  });
});
