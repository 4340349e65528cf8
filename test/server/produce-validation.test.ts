/**
 * Produce requests carrying batches whose CRC holds but whose records are bad, over a real socket:
 * each is answered with Kafka's error code (and Produce v8+'s per-record list where Kafka gives
 * one), nothing of it is stored, and the partition stays readable by kcat (librdkafka) and
 * kafkajs afterwards, including after a fuzz run of mutated batches with recomputed CRCs.
 */
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKafkajsCodecs } from '../../src/client/kafkajs-codecs.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { ATTRIBUTES_OFFSET, BATCH_HEADER_BYTES, PRODUCER_ID_OFFSET, computeBatchCrc } from '../../src/protocol/batch-header.js';
import type { CompressionType } from '../../src/protocol/compression.js';
import { encodeRecordBatch, type RecordToEncode } from '../../src/protocol/record-batch-builder.js';
import { seededIntBelow } from '../support/prng.js';
import { TestClient, eventually, kcat, startServer, type TestServer } from './helpers.js';

// kafkajs reads the fuzzed lz4, snappy and zstd batches through Sluice's codecs (it ships none of them).
registerKafkajsCodecs({ CompressionCodecs, CompressionTypes });

let t: TestServer;
let client: TestClient;

beforeAll(async () => {
  t = await startServer();
  client = await TestClient.connect(t.port);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

function reseal(batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), 17);
  return batch;
}

function lines(count: number, tag: string, timestampMs = Date.now()): RecordToEncode[] {
  return Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`${tag}-${i}`), timestampMs }));
}

async function produce(topic: string, batch: Buffer) {
  const response = await client.send(Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
  return response.responses[0].partitionResponses[0];
}

/** Every record of the topic's partition 0 as kcat prints it (`format`), read to the end. */
async function kcatValues(topic: string, format = '%o|%s\n'): Promise<string[]> {
  const { stdout } = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', format]);
  return stdout.split('\n').filter((line) => line.length > 0);
}

async function kafkajsValues(topic: string, expected: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'validation-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${topic}` });
  const seen: string[] = [];
  let crashed: unknown = null;
  consumer.on(consumer.events.CRASH, (event) => {
    crashed = event.payload.error;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.offset}|${message.value?.toString() ?? 'null'}`);
      },
    });
    await eventually(() => seen.length >= expected || crashed !== null);
  } finally {
    await consumer.disconnect();
  }
  expect(crashed).toBeNull();
  return seen;
}

describe('produce refusals, as Kafka answers them', () => {
  it('refuses undecodable batches and out-of-range producer ids, and keeps the partition readable', async () => {
    await t.broker.createTopic('refusals', { partitions: 1 });
    expect(await produce('refusals', encodeRecordBatch({ records: lines(3, 'good') }))).toMatchObject({ errorCode: 0, baseOffset: 0 });

    const notGzip = encodeRecordBatch({ records: lines(3, 'bad'), compression: 'gzip' });
    notGzip.fill(0x33, BATCH_HEADER_BYTES + 10);
    const refusedGzip = await produce('refusals', reseal(notGzip));
    expect(refusedGzip.errorCode).toBe(2);
    expect(refusedGzip.errorMessage).toMatch(/gzip records section does not inflate/);

    const overrun = encodeRecordBatch({ records: lines(3, 'bad') });
    overrun.writeUInt8(0x7e, BATCH_HEADER_BYTES);
    const refusedOverrun = await produce('refusals', reseal(overrun));
    expect(refusedOverrun).toMatchObject({ errorCode: 2, recordErrors: [] });
    expect(refusedOverrun.errorMessage).toMatch(/record 0 .*overruns/);

    // A gzip section that inflates to a record whose key length is -5 (record 1).
    const plain = encodeRecordBatch({ records: lines(2, 'bad') });
    const section = Buffer.from(plain.subarray(BATCH_HEADER_BYTES));
    section.writeUInt8(9, section.readInt8(0) / 2 + 1 + 3);
    const inflatesToGarbage = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), gzipSync(section)]);
    inflatesToGarbage.writeInt32BE(inflatesToGarbage.length - 12, 8);
    inflatesToGarbage.writeInt16BE(1, ATTRIBUTES_OFFSET);
    const refusedRecord = await produce('refusals', reseal(inflatesToGarbage));
    expect(refusedRecord.errorCode).toBe(2);
    expect(refusedRecord.errorMessage).toMatch(/record 1 /);

    const foreignProducer = encodeRecordBatch({ records: lines(1, 'bad'), producerId: 1, producerEpoch: 0, baseSequence: 0 });
    foreignProducer.writeBigInt64BE(2n ** 63n - 1n, PRODUCER_ID_OFFSET);
    expect(await produce('refusals', reseal(foreignProducer))).toMatchObject({ errorCode: 59 });

    expect(await produce('refusals', encodeRecordBatch({ records: lines(2, 'good2') }))).toMatchObject({ errorCode: 0, baseOffset: 3 });
    expect(await kcatValues('refusals')).toEqual(['0|good-0', '1|good-1', '2|good-2', '3|good2-0', '4|good2-1']);
    expect(await kafkajsValues('refusals', 5)).toEqual(['0|good-0', '1|good-1', '2|good-2', '3|good2-0', '4|good2-1']);
  });

  it('lists the refused records of a batch: keys on a compacted topic, timestamps out of range', async () => {
    await t.broker.createTopic('compacted-limits', {
      partitions: 1,
      configs: { 'cleanup.policy': 'compact', 'message.timestamp.before.max.ms': '60000' },
    });
    const keyless = encodeRecordBatch({
      records: [
        { key: Buffer.from('a'), value: Buffer.from('1') },
        { key: null, value: Buffer.from('2') },
        { key: Buffer.from('c'), value: Buffer.from('3') },
        { key: null, value: Buffer.from('4') },
      ],
    });
    const refusedKeys = await produce('compacted-limits', keyless);
    expect(refusedKeys.errorCode).toBe(87);
    expect(refusedKeys.recordErrors.map((entry) => entry.batchIndex)).toEqual([1, 3]);
    expect(refusedKeys.recordErrors[0].batchIndexErrorMessage).toMatch(/without a key/);

    const stale = encodeRecordBatch({
      records: [
        { key: Buffer.from('a'), value: Buffer.from('fresh'), timestampMs: Date.now() },
        { key: Buffer.from('b'), value: Buffer.from('stale'), timestampMs: Date.now() - 3_600_000 },
      ],
    });
    const refusedStale = await produce('compacted-limits', stale);
    expect(refusedStale.errorCode).toBe(32);
    expect(refusedStale.recordErrors.map((entry) => entry.batchIndex)).toEqual([1]);
    expect(t.broker.partitionOffsets('compacted-limits', 0).highWatermark).toBe(0);
  });
});

describe('fuzz over the wire', () => {
  it('mutated batches with recomputed CRCs: every accepted one is readable by kcat and kafkajs afterwards', async () => {
    await t.broker.createTopic('fuzzed', { partitions: 1 });
    const below = seededIntBelow(0xf022);
    const codecs: CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    let stored = 0;
    let refused = 0;
    for (let round = 0; round < 150; round++) {
      const batch = encodeRecordBatch({ records: lines(1 + below(5), `r${round}`), compression: codecs[round % codecs.length] });
      for (let flips = 1 + below(3); flips > 0; flips--) {
        const at = ATTRIBUTES_OFFSET + below(batch.length - ATTRIBUTES_OFFSET);
        batch[at] ^= 1 << below(8);
      }
      const response = await produce('fuzzed', reseal(batch));
      if (response.errorCode === 0) stored += batch.readInt32BE(57);
      else {
        refused++;
        expect(response.errorCode).not.toBe(-1);
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(stored).toBeGreaterThan(0);
    expect(t.broker.partitionOffsets('fuzzed', 0).highWatermark).toBe(stored);
    // Offsets only: a mutated value may hold a newline.
    const viaKcat = await kcatValues('fuzzed', '%o\n');
    expect(viaKcat).toEqual(Array.from({ length: stored }, (_, offset) => String(offset)));
    const viaKafkajs = await kafkajsValues('fuzzed', stored);
    expect(viaKafkajs.map((line) => line.split('|')[0])).toEqual(viaKcat);
  });
});
