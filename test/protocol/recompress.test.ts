/**
 * Broker-side recompression (topic compression.type): which batches change codec, and that a
 * recompressed batch keeps every header field and every record, with a valid length and CRC.
 */
import { describe, expect, it } from 'vitest';
import { COMPRESSION_CODEC_MASK, readAttributes, validateBatchAt } from '../../src/protocol/batch-header.js';
import { COMPRESSION_CODEC_IDS, type CompressionType } from '../../src/protocol/compression.js';
import { encodeControlBatch } from '../../src/protocol/control-record.js';
import { decodeRecordBatch, decodeRecordBatches, encodeRecordBatch, type DecodedRecordBatch } from '../../src/protocol/record-batch.js';
import { recompressBatch, recompressBatches, targetCodecId } from '../../src/protocol/recompress.js';
import { CorruptRecordError } from '../../src/errors.js';

const CODECS: CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const T0 = 1_700_000_000_000;

function transactionalBatch(compression: CompressionType): Buffer {
  return encodeRecordBatch({
    compression,
    baseOffset: 0,
    partitionLeaderEpoch: 3,
    producerId: 42,
    producerEpoch: 7,
    baseSequence: 100,
    isTransactional: true,
    records: Array.from({ length: 50 }, (_, i) => ({
      key: i % 5 === 0 ? null : Buffer.from(`key-${i}`),
      value: i === 7 ? null : Buffer.from(`value ${i} `.repeat(10)),
      headers: i % 3 === 0 ? [{ key: 'h', value: Buffer.from(`${i}`) }] : [],
      timestampMs: T0 + (i * 37) % 1000,
    })),
  });
}

/** Everything but the codec and the size: header fields and records. */
function content(batch: DecodedRecordBatch): unknown {
  const { compression: _compression, sizeBytes: _sizeBytes, ...rest } = batch;
  return rest;
}

describe('targetCodecId (Kafka BrokerCompressionType.targetCompression)', () => {
  it('keeps the producer codec for "producer", else names the topic codec; "uncompressed" is none', () => {
    expect(targetCodecId('producer', 4)).toBe(4);
    expect(targetCodecId('uncompressed', 3)).toBe(0);
    expect(targetCodecId('snappy', 0)).toBe(2);
    expect(targetCodecId('zstd', 1)).toBe(4);
  });
});

describe('recompressBatch', () => {
  it('turns every codec into every other, keeping header fields and records, with a valid CRC', () => {
    for (const from of CODECS) {
      const batch = transactionalBatch(from);
      const original = decodeRecordBatch(batch);
      for (const to of CODECS) {
        const out = recompressBatch(batch, COMPRESSION_CODEC_IDS[to]);
        expect(validateBatchAt(out, 0, out.length, 0, true), `${from} -> ${to}`).toBe(out.length);
        const decoded = decodeRecordBatch(out);
        expect(decoded.compression, `${from} -> ${to}`).toBe(to);
        expect(content(decoded), `${from} -> ${to}`).toEqual(content(original));
      }
    }
  });

  it('reports a records section that does not decompress as CorruptRecordError at the batch position', () => {
    const batch = Buffer.from(transactionalBatch('zstd'));
    batch[70] ^= 0xff;
    expect(() => recompressBatch(batch, COMPRESSION_CODEC_IDS.lz4, 1 << 20, 4242)).toThrow(CorruptRecordError);
    expect(() => recompressBatch(batch, COMPRESSION_CODEC_IDS.lz4, 1 << 20, 4242)).toThrow(/at byte 4242/);
  });
});

describe('recompressBatches', () => {
  const lz4 = transactionalBatch('lz4');
  const zstd = transactionalBatch('zstd');
  const marker = encodeControlBatch({ producerId: 42, producerEpoch: 7, type: 'commit', coordinatorEpoch: 0, timestampMs: T0 });
  const all = Buffer.concat([lz4, zstd, marker]);

  it('"producer" and a codec every batch already has return the same buffer: no copy', () => {
    expect(recompressBatches(all, all.length, 'producer')).toBe(all);
    const twoZstd = Buffer.concat([zstd, zstd]);
    expect(recompressBatches(twoZstd, twoZstd.length, 'zstd')).toBe(twoZstd);
  });

  it('recompresses the data batches that differ, keeps the others and every control batch as they are', () => {
    const out = recompressBatches(all, all.length, 'zstd');
    expect(out).not.toBe(all);
    const batches = decodeRecordBatches(out);
    expect(batches.map((b) => [b.compression, b.isControl])).toEqual([['zstd', false], ['zstd', false], ['none', true]]);
    expect(out.subarray(out.length - marker.length).equals(marker)).toBe(true);
    expect(content(batches[0])).toEqual(content(decodeRecordBatch(lz4)));
    const plain = recompressBatches(all, all.length, 'uncompressed');
    expect(decodeRecordBatches(plain).map((b) => b.compression)).toEqual(['none', 'none', 'none']);
    const snappyFirstUnchanged = Buffer.concat([transactionalBatch('snappy'), lz4]);
    const snappy = recompressBatches(snappyFirstUnchanged, snappyFirstUnchanged.length, 'snappy');
    expect([0, 1].map((i) => readAttributes(snappy, i === 0 ? 0 : decodeRecordBatch(snappy).sizeBytes) & COMPRESSION_CODEC_MASK)).toEqual([2, 2]);
    expect(snappy.subarray(0, transactionalBatch('snappy').length).equals(transactionalBatch('snappy'))).toBe(true);
  });
});
