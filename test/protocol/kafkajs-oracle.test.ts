/**
 * Interoperability with an encoder and a decoder nobody here wrote: kafkajs 2.2.4's own
 * RecordBatch v2 code (what its producer sends and its consumer reads), with gzip built in,
 * LZ4 through lz4-kafkajs (the pure-JS `lz4` package underneath), snappy through snappyjs (raw
 * blocks written, as kafkajs-snappy and librdkafka write them; snappy-java's framing read, parsed
 * here from its format) and zstd through @toondepauw/node-zstd (Rust bindings): codecs Sluice's
 * own do not share code with.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  RecordBatchBuilder,
  decodeRecordBatch,
  encodeControlBatch,
  encodeRecordBatch,
  type DecodedRecordBatch,
  type RecordHeader,
} from '../../src/protocol/record-batch.js';
import { registerPeerCodecs } from '../support/kafkajs-peer-codecs.js';

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[]>;
}
interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
}
interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  timestampType: number;
  records: KafkajsDecodedRecord[];
}

const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number | string): unknown };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;
const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  input: KafkajsRecordInput,
) => KafkajsEncoder;
const { RecordBatch: KafkajsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (input: Record<string, unknown>) => Promise<KafkajsEncoder>;
};
const decodeKafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  decoder: unknown,
) => Promise<KafkajsDecodedBatch>;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buf: Buffer) => number;
const { Types } = registerPeerCodecs();

type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

const KAFKAJS_COMPRESSION: Record<Codec, number> = {
  none: Types.None,
  gzip: Types.GZIP,
  snappy: Types.Snappy,
  lz4: Types.LZ4,
  zstd: Types.ZSTD,
};

interface RecordSpec {
  key: Buffer | null;
  value: Buffer | null;
  /** In order; a repeated key must be adjacent, as kafkajs's header object groups them. */
  headers: RecordHeader[];
  timestampMs: number;
}

const T0 = 1_700_000_000_000;

function manyRecords(count: number): RecordSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`key-${i % 97}`),
    value: Buffer.alloc(50 + (i % 200), i % 251),
    headers: i % 10 === 0 ? [{ key: 'trace', value: Buffer.from(`t${i}`) }] : [],
    timestampMs: T0 + i * 3,
  }));
}

const CASES: { name: string; records: RecordSpec[] }[] = [
  {
    name: 'keys and values',
    records: [
      { key: Buffer.from('user-1'), value: Buffer.from('{"a":1}'), headers: [], timestampMs: T0 },
      { key: Buffer.from('user-2'), value: Buffer.from('second'), headers: [], timestampMs: T0 },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: [], timestampMs: T0 + 1 },
    ],
  },
  {
    name: 'null keys and null values',
    records: [
      { key: null, value: Buffer.from('no key'), headers: [], timestampMs: T0 },
      { key: Buffer.from('tombstone'), value: null, headers: [], timestampMs: T0 + 5 },
      { key: null, value: null, headers: [], timestampMs: T0 + 7 },
    ],
  },
  {
    name: 'headers, repeated keys, empty values, multi-byte keys',
    records: [
      {
        key: Buffer.from('k'),
        value: Buffer.from('v'),
        headers: [
          { key: 'content-type', value: Buffer.from('application/json') },
          { key: 'trace', value: Buffer.from('a') },
          { key: 'trace', value: Buffer.from('b') },
          { key: 'empty', value: Buffer.alloc(0) },
          { key: 'clé-ü-日本', value: Buffer.from([0, 255, 1]) },
          { key: '', value: Buffer.from('empty key') },
        ],
        timestampMs: T0,
      },
      { key: null, value: Buffer.from('x'), headers: [{ key: 'only', value: Buffer.alloc(300, 7) }], timestampMs: T0 },
    ],
  },
  {
    name: 'explicit timestamps out of order, far apart',
    records: [
      { key: null, value: Buffer.from('a'), headers: [], timestampMs: T0 },
      { key: null, value: Buffer.from('b'), headers: [], timestampMs: T0 + 86_400_000 * 400 },
      { key: null, value: Buffer.from('c'), headers: [], timestampMs: T0 + 1 },
      { key: null, value: Buffer.from('d'), headers: [], timestampMs: T0 + 2 ** 40 },
    ],
  },
  { name: '2,000 records', records: manyRecords(2000) },
];

const COMPRESSIONS: Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** kafkajs's header object for a record (its decoder groups repeated keys into arrays). */
function kafkajsHeaders(headers: RecordHeader[]): Record<string, Buffer | null | (Buffer | null)[]> {
  const out: Record<string, Buffer | null | (Buffer | null)[]> = {};
  for (const { key, value } of headers) {
    const existing = out[key];
    out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

/** Encodes with kafkajs the way its producer does (produce v3+): base timestamp = the minimum. */
async function kafkajsEncode(
  records: RecordSpec[],
  compression: Codec,
  header: { firstOffset: number; producerId: number; producerEpoch: number; firstSequence: number; transactional: boolean; partitionLeaderEpoch: number },
): Promise<Buffer> {
  const firstTimestamp = Math.min(...records.map((r) => r.timestampMs));
  const maxTimestamp = Math.max(...records.map((r) => r.timestampMs));
  const encoded = await KafkajsRecordBatch({
    compression: KAFKAJS_COMPRESSION[compression],
    firstOffset: Long.fromValue(header.firstOffset),
    firstTimestamp,
    maxTimestamp,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    lastOffsetDelta: records.length - 1,
    transactional: header.transactional,
    producerId: Long.fromValue(header.producerId),
    producerEpoch: header.producerEpoch,
    firstSequence: header.firstSequence,
    records: records.map((r, i) =>
      KafkajsRecord({
        offsetDelta: i,
        timestampDelta: r.timestampMs - firstTimestamp,
        key: r.key,
        value: r.value,
        headers: kafkajsHeaders(r.headers) as KafkajsRecordInput['headers'],
      }),
    ),
  });
  return encoded.buffer;
}

/** Buffers as hex, so one toEqual compares thousands of records quickly and prints them readably. */
const hex = (b: Buffer | null | undefined): string | null => (b == null ? null : b.toString('hex'));

function expectSameRecords(decoded: DecodedRecordBatch, records: RecordSpec[], baseOffset: number): void {
  const actual = decoded.records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: hex(r.key),
    value: hex(r.value),
    headers: r.headers.map((h) => [h.key, hex(h.value)]),
  }));
  const expected = records.map((r, i) => ({
    offset: baseOffset + i,
    timestamp: r.timestampMs,
    key: hex(r.key),
    value: hex(r.value),
    headers: r.headers.map((h) => [h.key, hex(h.value)]),
  }));
  expect(actual).toEqual(expected);
}

/** kafkajs's decoded headers object, values as hex. */
function hexHeaders(headers: Record<string, Buffer | null | (Buffer | null)[]>): Record<string, string | null | (string | null)[]> {
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.map(hex) : hex(v)]),
  );
}

describe('kafkajs encodes, Sluice decodes', () => {
  for (const compression of COMPRESSIONS) {
    for (const { name, records } of CASES) {
      it(`${name} (${compression})`, async () => {
        const header = {
          firstOffset: 1234,
          producerId: 987_654_321,
          producerEpoch: 3,
          firstSequence: 42,
          transactional: true,
          partitionLeaderEpoch: 7,
        };
        const bytes = await kafkajsEncode(records, compression, header);
        const decoded = decodeRecordBatch(bytes);
        expect(decoded).toMatchObject({
          baseOffset: 1234,
          lastOffsetDelta: records.length - 1,
          partitionLeaderEpoch: 7,
          compression,
          timestampType: 'create',
          isTransactional: true,
          isControl: false,
          baseTimestamp: Math.min(...records.map((r) => r.timestampMs)),
          maxTimestamp: Math.max(...records.map((r) => r.timestampMs)),
          producerId: 987_654_321,
          producerEpoch: 3,
          baseSequence: 42,
          recordCount: records.length,
          sizeBytes: bytes.length,
        });
        expectSameRecords(decoded, records, 1234);
      });
    }
  }
});

describe('Sluice encodes, kafkajs decodes', () => {
  for (const compression of COMPRESSIONS) {
    for (const { name, records } of CASES) {
      it(`${name} (${compression})`, async () => {
        const bytes = encodeRecordBatch({
          records,
          compression,
          baseOffset: 99,
          partitionLeaderEpoch: 5,
          producerId: 12,
          producerEpoch: 1,
          baseSequence: 1000,
        });
        // kafkajs does not check CRCs; its CRC32C implementation checks ours.
        expect(kafkajsCrc32c(bytes.subarray(21))).toBe(bytes.readUInt32BE(17));
        const decoded = await decodeKafkajsBatch(new Decoder(bytes));
        expect(decoded).toMatchObject({
          firstOffset: '99',
          partitionLeaderEpoch: 5,
          inTransaction: false,
          isControlBatch: false,
          lastOffsetDelta: records.length - 1,
          firstTimestamp: String(records[0].timestampMs),
          maxTimestamp: String(Math.max(...records.map((r) => r.timestampMs))),
          producerId: '12',
          producerEpoch: 1,
          firstSequence: 1000,
          timestampType: 0,
        });
        const actual = decoded.records.map((r) => ({
          offset: r.offset,
          timestamp: r.timestamp,
          key: hex(r.key),
          value: hex(r.value),
          headers: hexHeaders(r.headers),
        }));
        const expected = records.map((r, i) => ({
          offset: String(99 + i),
          timestamp: String(r.timestampMs),
          key: hex(r.key),
          value: hex(r.value),
          headers: hexHeaders(kafkajsHeaders(r.headers)),
        }));
        expect(actual).toEqual(expected);
      });
    }
  }

  it('writes byte-for-byte what kafkajs writes for the same uncompressed batch', async () => {
    for (const { name, records } of CASES) {
      // kafkajs takes the smallest timestamp as the base, Sluice the first record's: compare on
      // records whose first timestamp is the smallest.
      const sorted = records.map((r, i) => ({ ...r, timestampMs: records[0].timestampMs + i }));
      const header = { firstOffset: 0, producerId: 77, producerEpoch: 2, firstSequence: 5, transactional: false, partitionLeaderEpoch: 0 };
      const theirs = await kafkajsEncode(sorted, 'none', header);
      const ours = encodeRecordBatch({
        records: sorted,
        producerId: 77,
        producerEpoch: 2,
        baseSequence: 5,
        partitionLeaderEpoch: 0,
      });
      expect(ours.equals(theirs), name).toBe(true);
    }
  });

  it('LogAppendTime: kafkajs reads every record at the batch maxTimestamp', async () => {
    const builder = new RecordBatchBuilder({ timestampType: 'logAppend', logAppendTimeMs: T0 + 500 });
    builder.append(null, Buffer.from('a'), null, T0);
    builder.append(null, Buffer.from('b'), null, T0 + 1);
    const decoded = await decodeKafkajsBatch(new Decoder(Buffer.from(builder.build())));
    expect(decoded.timestampType).toBe(1);
    expect(decoded.records.map((r) => r.timestamp)).toEqual([String(T0 + 500), String(T0 + 500)]);
  });

  it('control batches: kafkajs sees a transactional control batch with the marker bytes', async () => {
    const bytes = encodeControlBatch({ producerId: 5, producerEpoch: 9, type: 'commit', coordinatorEpoch: 3, timestampMs: T0 });
    const decoded = await decodeKafkajsBatch(new Decoder(bytes));
    expect(decoded).toMatchObject({ isControlBatch: true, inTransaction: true, producerId: '5', producerEpoch: 9, firstSequence: -1 });
    expect(decoded.records).toHaveLength(1);
    expect(decoded.records[0].isControlRecord).toBe(true);
    expect(decoded.records[0].key).toEqual(Buffer.from([0, 0, 0, 1]));
    expect(decoded.records[0].value).toEqual(Buffer.from([0, 0, 0, 0, 0, 3]));
  });
});
