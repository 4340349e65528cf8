/**
 * Message formats 0 and 1 against kafkajs's own MessageSet encoder and decoder (the code its
 * Produce v0-v2 requests and Fetch v0-v3 responses use), with peer codecs for snappy and lz4:
 * up-conversion to RecordBatch v2 and down-conversion from it, Kafka's refusals, the byte limit,
 * and the magic 0 LZ4 header checksum of KAFKA-3160.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, InvalidRecordError, KafkaApiError, RecordValidationError, SluiceError } from '../../src/errors.js';
import { crc32 } from '@node-rs/crc32';
import { compressRecords } from '../../src/protocol/compression.js';
import {
  MAGIC_V0,
  MAGIC_V1,
  downConvertFetched,
  fetchMagic,
  isLegacyMessageSet,
  upConvertMessageSet,
  xxh32,
  type LegacyMagic,
} from '../../src/protocol/legacy-message-set.js';
import { decodeRecordBatch, encodeControlBatch, encodeRecordBatch } from '../../src/protocol/record-batch.js';
import {
  PeerDecoder as Decoder,
  PeerMessageSet as MessageSet,
  decodePeerMessageSet as decodeMessageSet,
  lookupPeerCodec as lookupCodec,
  registerPeerCodecs,
  type PeerMessage,
} from '../support/kafkajs-peer-codecs.js';
import { seededIntBelow } from '../support/prng.js';

const require = createRequire(import.meta.url);
const { Types } = registerPeerCodecs();
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { writeInt64(v: number): unknown; writeInt32(v: number): unknown; writeEncoder(e: unknown): unknown; buffer: Buffer };

type Codec = 'none' | 'gzip' | 'snappy' | 'lz4';
const PEER_TYPES: Record<Codec, number> = { none: Types.None, gzip: Types.GZIP, snappy: Types.Snappy, lz4: Types.LZ4 };
const T0 = 1_700_000_000_000;

/** A MessageSet as kafkajs's Produce v0-v2 requests build it: compressed ones as one wrapper. */
async function peerMessageSet(magic: LegacyMagic, codec: Codec, count: number): Promise<Buffer> {
  const entries = Array.from({ length: count }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`),
    timestamp: T0 + i,
  }));
  const inner = MessageSet({ messageVersion: magic, compression: PEER_TYPES[codec], entries });
  if (codec === 'none') return inner.buffer;
  const compressed = await lookupCodec(PEER_TYPES[codec]).compress(inner);
  return MessageSet({ messageVersion: magic, entries: [{ compression: PEER_TYPES[codec], timestamp: T0 + count - 1, value: compressed }] }).buffer;
}

async function peerDecode(set: Buffer): Promise<PeerMessage[]> {
  return decodeMessageSet(new Decoder(set), set.length);
}

describe('up-conversion of a produced message set', () => {
  for (const magic of [MAGIC_V0, MAGIC_V1] as const) {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) {
      it(`magic ${magic}, ${codec}: one v2 batch in the same codec, keys, values and timestamps kept`, async () => {
        // lz4 under magic 0 from kafkajs carries the standard header checksum; librdkafka's broken one is covered by the server test.
        const set = await peerMessageSet(magic, codec, 40);
        expect(isLegacyMessageSet(set)).toBe(true);
        const batch = decodeRecordBatch(upConvertMessageSet(set));
        expect(batch.compression).toBe(codec);
        expect(batch.baseOffset).toBe(0);
        expect(batch.records).toHaveLength(40);
        batch.records.forEach((record, i) => {
          expect(record.offset).toBe(i);
          expect(record.key).toEqual(i % 3 === 0 ? null : Buffer.from(`key-${i}`));
          expect(record.value).toEqual(Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`));
          // Magic 0 has no timestamp: Kafka's NO_TIMESTAMP.
          expect(record.timestamp).toBe(magic === MAGIC_V0 ? -1 : T0 + i);
        });
      });
    }
  }

  it('refuses a bad CRC, mixed magics, a wrapper beside other messages, nested compression and zstd as Kafka does', async () => {
    const set = await peerMessageSet(MAGIC_V1, 'none', 3);
    const flipped = Buffer.from(set);
    flipped[flipped.length - 1] ^= 1;
    expect(() => upConvertMessageSet(flipped)).toThrow(CorruptRecordError);

    const mixed = Buffer.concat([await peerMessageSet(MAGIC_V0, 'none', 1), await peerMessageSet(MAGIC_V1, 'none', 1)]);
    expect(() => upConvertMessageSet(mixed)).toThrow(/not the same as the first message's magic/);

    const withBatch = Buffer.concat([await peerMessageSet(MAGIC_V1, 'none', 1), encodeRecordBatch({ records: [{ value: Buffer.from('v2'), timestampMs: T0 }] })]);
    expect(() => upConvertMessageSet(withBatch)).toThrow(/a message set has one format/);

    const twoWrappers = Buffer.concat([await peerMessageSet(MAGIC_V1, 'gzip', 2), await peerMessageSet(MAGIC_V1, 'gzip', 2)]);
    expect(() => upConvertMessageSet(twoWrappers)).toThrow(InvalidRecordError);

    // A wrapper whose inner message claims gzip itself: refused per record (INVALID_RECORD).
    const innerWrapper = await peerMessageSet(MAGIC_V1, 'gzip', 2);
    const nested = MessageSet({
      messageVersion: 1,
      entries: [{ compression: Types.GZIP, value: compressRecords('gzip', innerWrapper) }],
    }).buffer;
    try {
      upConvertMessageSet(nested);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(RecordValidationError);
      expect((error as RecordValidationError).code).toBe('INVALID_RECORD');
      expect((error as RecordValidationError).recordErrors[0].message).toMatch(/may not itself be compressed/);
    }

    const zstd = MessageSet({ messageVersion: 1, entries: [{ compression: 4, value: Buffer.from('whatever') }] }).buffer;
    expect(() => upConvertMessageSet(zstd)).toThrow(/allow gzip \(1\), snappy \(2\) and lz4 \(3\)/);
  });

  it('drops a trailing partial message, as Kafka trims it, and refuses a set with no whole message', async () => {
    const set = await peerMessageSet(MAGIC_V0, 'none', 3);
    const partial = set.subarray(0, set.length - 5);
    expect(decodeRecordBatch(upConvertMessageSet(partial)).records).toHaveLength(2);
    expect(() => upConvertMessageSet(set.subarray(0, 20))).toThrow(/no whole message/);
  });

  it('refuses negative timestamps other than -1 per record (INVALID_TIMESTAMP)', () => {
    const set = MessageSet({ messageVersion: 1, entries: [{ value: Buffer.from('a'), timestamp: T0 }, { value: Buffer.from('b'), timestamp: -5 }] }).buffer;
    try {
      upConvertMessageSet(set);
      expect.unreachable();
    } catch (error) {
      expect((error as RecordValidationError).code).toBe('INVALID_TIMESTAMP');
      expect((error as RecordValidationError).recordErrors.map((entry) => entry.batchIndex)).toEqual([1]);
    }
  });
});

describe('up-conversion of mutated message sets', () => {
  it('answers every mutation with a typed refusal or a valid batch, CRCs recomputed or not', async () => {
    const below = seededIntBelow(0x1e9ac7);
    const seeds = [
      await peerMessageSet(MAGIC_V0, 'none', 4),
      await peerMessageSet(MAGIC_V1, 'none', 4),
      await peerMessageSet(MAGIC_V1, 'gzip', 6),
      await peerMessageSet(MAGIC_V0, 'snappy', 6),
      await peerMessageSet(MAGIC_V1, 'lz4', 6),
    ];
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      const set = Buffer.from(seeds[round % seeds.length]);
      for (let flips = 1 + below(4); flips > 0; flips--) set[below(set.length)] = below(256);
      // Half the rounds reseal the first message, so mutations reach past the CRC check.
      if (round % 2 === 0 && set.length >= 26) {
        const end = Math.min(set.length, 12 + Math.max(0, set.readInt32BE(8)));
        if (end > 16) set.writeUInt32BE(crc32(set.subarray(16, end)), 12);
      }
      try {
        decodeRecordBatch(upConvertMessageSet(set));
      } catch (error) {
        expect(error, `round ${round}`).toBeInstanceOf(SluiceError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});

describe('down-conversion for Fetch v0-v3', () => {
  it('maps fetch versions to magics as Kafka does', () => {
    expect([0, 1, 2, 3, 4, 13].map(fetchMagic)).toEqual([0, 0, 1, 1, null, null]);
  });

  function batchAt(baseOffset: number, count: number, codec: Codec | 'zstd', options: { logAppendTimeMs?: number } = {}): Buffer {
    return encodeRecordBatch({
      baseOffset,
      compression: codec,
      ...(options.logAppendTimeMs === undefined ? {} : { timestampType: 'logAppend' as const, logAppendTimeMs: options.logAppendTimeMs }),
      records: Array.from({ length: count }, (_, i) => ({
        key: Buffer.from(`k${baseOffset + i}`),
        value: Buffer.from(`v${baseOffset + i}`),
        headers: [{ key: 'dropped', value: Buffer.from('h') }],
        timestampMs: T0 + baseOffset + i,
      })),
    });
  }

  const noMoreReads = (): Buffer => {
    throw new Error('no second read expected');
  };

  for (const magic of [MAGIC_V0, MAGIC_V1] as const) {
    // kafkajs reads legacy lz4 only as magic 1 writes it; magic 0's frames (KAFKA-3160's checksum)
    // are checked below and read by librdkafka in the server test.
    for (const codec of magic === MAGIC_V0 ? (['none', 'gzip', 'snappy'] as const) : (['none', 'gzip', 'snappy', 'lz4'] as const)) {
      it(`magic ${magic}, ${codec}: kafkajs reads every record at its offset, headers dropped, control batches skipped`, async () => {
        const control = encodeControlBatch({ baseOffset: 5, producerId: 1, producerEpoch: 0, type: 'commit', coordinatorEpoch: 0, timestampMs: T0 });
        const stored = Buffer.concat([batchAt(0, 5, codec), control, batchAt(6, 4, codec)]);
        const { records, truncated } = downConvertFetched(stored, noMoreReads, magic, 0, 1 << 20);
        expect(truncated).toBe(false);
        const messages = await peerDecode(records);
        expect(messages.map((m) => Number(m.offset))).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
        for (const message of messages) {
          expect(message.magicByte).toBe(magic);
          expect(message.key!.toString()).toBe(`k${message.offset}`);
          expect(message.value!.toString()).toBe(`v${message.offset}`);
          if (magic === MAGIC_V1) expect(Number(message.timestamp)).toBe(T0 + Number(message.offset));
        }
      });
    }
  }

  it('compressed magic 1: inner offsets relative, the wrapper holding the last offset and the log append time', async () => {
    const stored = batchAt(100, 3, 'gzip', { logAppendTimeMs: T0 + 999 });
    const { records } = downConvertFetched(stored, noMoreReads, MAGIC_V1, 100, 1 << 20);
    // The wrapper, read shallowly: offset field, then its attributes carry gzip and LogAppendTime.
    expect(records.readBigInt64BE(0)).toBe(102n);
    expect(records[17]).toBe(1 | 0x08);
    expect(records.readBigInt64BE(18)).toBe(BigInt(T0 + 999));
    const messages = await peerDecode(records);
    expect(messages.map((m) => Number(m.offset))).toEqual([100, 101, 102]);
    expect(messages.map((m) => Number(m.timestamp))).toEqual([T0 + 999, T0 + 999, T0 + 999]);
  });

  it('uncompressed batches leave out records before the fetch offset; compressed ones keep them, as Kafka', async () => {
    const plain = await peerDecode(downConvertFetched(batchAt(0, 5, 'none'), noMoreReads, MAGIC_V1, 3, 1 << 20).records);
    expect(plain.map((m) => Number(m.offset))).toEqual([3, 4]);
    const gzip = await peerDecode(downConvertFetched(batchAt(0, 5, 'gzip'), noMoreReads, MAGIC_V1, 3, 1 << 20).records);
    expect(gzip.map((m) => Number(m.offset))).toEqual([0, 1, 2, 3, 4]);
  });

  it('stays within the byte limit, the first message always whole, and says it left data out', async () => {
    const stored = Buffer.concat([batchAt(0, 10, 'none'), batchAt(10, 10, 'gzip')]);
    const one = downConvertFetched(stored, noMoreReads, MAGIC_V0, 0, 1);
    expect(one.truncated).toBe(true);
    expect((await peerDecode(one.records)).map((m) => Number(m.offset))).toEqual([0]);
    const some = downConvertFetched(stored, noMoreReads, MAGIC_V0, 0, 200);
    expect(some.records.length).toBeLessThanOrEqual(200);
    expect(some.truncated).toBe(true);
    const all = downConvertFetched(stored, noMoreReads, MAGIC_V0, 0, 1 << 20);
    expect(all.truncated).toBe(false);
    expect(await peerDecode(all.records)).toHaveLength(20);
  });

  it('reads on past a range of control batches only, instead of answering nothing forever', async () => {
    const control = encodeControlBatch({ baseOffset: 0, producerId: 1, producerEpoch: 0, type: 'abort', coordinatorEpoch: 0, timestampMs: T0 });
    const reads: number[] = [];
    const { records } = downConvertFetched(control, (from) => {
      reads.push(from);
      return batchAt(1, 2, 'none');
    }, MAGIC_V1, 0, 1 << 20);
    expect(reads).toEqual([1]);
    expect((await peerDecode(records)).map((m) => Number(m.offset))).toEqual([1, 2]);
  });

  it('refuses zstd batches with UNSUPPORTED_COMPRESSION_TYPE', () => {
    expect(() => downConvertFetched(batchAt(0, 2, 'zstd'), noMoreReads, MAGIC_V1, 0, 1 << 20)).toThrow(KafkaApiError);
    try {
      downConvertFetched(batchAt(0, 2, 'zstd'), noMoreReads, MAGIC_V1, 0, 1 << 20);
    } catch (error) {
      expect((error as KafkaApiError).kafkaErrorCode).toBe(76);
    }
  });
});

describe('LZ4 under magic 0 (KAFKA-3160)', () => {
  it('computes XXH32 as the reference vectors', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
    expect(xxh32(Buffer.from('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
  });

  it('writes the header checksum over the frame magic too, and reads it back', () => {
    const stored = encodeRecordBatch({ compression: 'lz4', records: [{ value: Buffer.from('lz4 '.repeat(100)), timestampMs: T0 }] });
    const magic0 = downConvertFetched(stored, () => Buffer.alloc(0), MAGIC_V0, 0, 1 << 20).records;
    const frame = magic0.subarray(12 + 14); // offset+size, then v0's crc..value length fields
    const descriptorEnd = 6; // FLG and BD after the 4-byte magic; lz4-napi writes no content size or dictionary id
    expect(frame[4] & 0x09).toBe(0);
    expect(frame[descriptorEnd]).toBe((xxh32(frame.subarray(0, descriptorEnd)) >>> 8) & 0xff);
    expect(frame[descriptorEnd]).not.toBe((xxh32(frame.subarray(4, descriptorEnd)) >>> 8) & 0xff);
    // Produced back through Produce v0-v2, the broken checksum is accepted.
    const batch = decodeRecordBatch(upConvertMessageSet(magic0));
    expect(batch.records[0].value!.toString()).toBe('lz4 '.repeat(100));
  });
});
