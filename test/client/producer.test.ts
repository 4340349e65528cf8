/**
 * The producer against the real broker: shard worker threads, real segment files in a temp dir.
 * What it wrote is read back from the log with the broker's fetch and the batch decoder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Producer } from '../../src/client/producer.js';
import { json, msgpack } from '../../src/client/serializers.js';
import {
  ClosedError,
  InvalidConfigError,
  InvalidPartitionerResultError,
  InvalidRecordError,
  PartitionNotFoundError,
  RecordTooLargeError,
  TopicNotFoundError,
} from '../../src/errors.js';
import { decodeRecordBatches, type DecodedRecordBatch } from '../../src/protocol/record-batch.js';

let dataDir: string;
let broker: Broker;
let topicCounter = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-producer-'));
  broker = await Broker.open({ dataDir, shards: 2, autoCreateTopicsEnable: false });
});

afterAll(async () => {
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newTopic(partitions: number): Promise<string> {
  const name = `topic-${++topicCounter}`;
  await broker.createTopic(name, { partitions });
  return name;
}

/** Every batch of a partition, decoded. */
function readBatches(topic: string, partition: number): DecodedRecordBatch[] {
  const batches: DecodedRecordBatch[] = [];
  let offset = 0;
  for (;;) {
    const result = broker.fetch(topic, partition, offset, 1 << 20, 'read_uncommitted');
    if (result.records.length === 0) return batches;
    batches.push(...decodeRecordBatches(result.records));
    offset = result.nextOffset;
  }
}

function readValues(topic: string, partition: number): string[] {
  return readBatches(topic, partition).flatMap((batch) => batch.records.map((record) => record.value?.toString() ?? 'null'));
}

describe('Producer.send', () => {
  it('resolves one entry per partition with the offset of the send’s first record, as a number', async () => {
    const topic = await newTopic(2);
    const producer = new Producer(broker);
    const first = await producer.send({ topic, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }, { value: 'c', partition: 0 }] });
    const second = await producer.send({ topic, messages: [{ value: 'd', partition: 0 }] });
    expect(first).toEqual([
      { topicName: topic, partition: 0, errorCode: 0, baseOffset: 0, logAppendTime: -1, logStartOffset: 0 },
      { topicName: topic, partition: 1, errorCode: 0, baseOffset: 0, logAppendTime: -1, logStartOffset: 0 },
    ]);
    expect(second[0].baseOffset).toBe(2);
    expect(readValues(topic, 0)).toEqual(['a', 'c', 'd']);
    await producer.close();
  });

  it('batches sends of the same tick together, each still told where its own records start', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker);
    const sends = [
      producer.send({ topic, messages: [{ value: 'a1' }, { value: 'a2' }] }),
      producer.send({ topic, messages: [{ value: 'b1' }, { value: 'b2' }, { value: 'b3' }] }),
      producer.send({ topic, messages: [{ value: 'c1' }] }),
    ];
    const results = await Promise.all(sends);
    expect(results.map((result) => result[0].baseOffset)).toEqual([0, 2, 5]);
    const batches = readBatches(topic, 0);
    expect(batches).toHaveLength(1);
    expect(batches[0].records.map((record) => record.value!.toString())).toEqual(['a1', 'a2', 'b1', 'b2', 'b3', 'c1']);
    await producer.close();
  });

  it('writes Buffer, string and Uint8Array values and keys, null tombstones, headers and timestamps as given', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker);
    await producer.send({
      topic,
      messages: [
        { key: Buffer.from('k1'), value: Buffer.from([0, 1, 2]), timestamp: 1_600_000_000_000 },
        { key: 'k2', value: 'é', timestamp: '1600000000001' },
        { key: new Uint8Array([7, 8]), value: new Uint8Array([9]), headers: { trace: 'x', multi: ['1', Buffer.from('2')] } },
        { key: 'gone', value: null },
      ],
    });
    const [batch] = readBatches(topic, 0);
    const [r0, r1, r2, r3] = batch.records;
    expect([r0.key, r0.value, r0.timestamp]).toEqual([Buffer.from('k1'), Buffer.from([0, 1, 2]), 1_600_000_000_000]);
    expect([r1.key!.toString(), r1.value!.toString('utf8'), r1.timestamp]).toEqual(['k2', 'é', 1_600_000_000_001]);
    expect([r2.key, r2.value]).toEqual([Buffer.from([7, 8]), Buffer.from([9])]);
    expect(r2.headers.map((h) => [h.key, h.value!.toString()])).toEqual([['trace', 'x'], ['multi', '1'], ['multi', '2']]);
    expect(r2.timestamp).toBeGreaterThan(1_600_000_000_001);
    expect(r3.value).toBeNull();
    await producer.close();
  });

  it('places keyed records as Kafka’s murmur2 partitioner does and keeps each key’s order under concurrent sends', async () => {
    const partitions = 4;
    const topic = await newTopic(partitions);
    // Small batches and several sends in flight: many batches per partition, up to 5 in flight each.
    const producer = new Producer(broker, { batchSize: 512 });
    const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
    const perKey = 300;
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < perKey; seq += 30) {
      const messages = [];
      for (let s = seq; s < seq + 30; s++) for (const key of keys) messages.push({ key, value: `${key}:${s}` });
      sends.push(producer.send({ topic, messages }));
    }
    await Promise.all(sends);
    for (let partition = 0; partition < partitions; partition++) {
      const nextSeq = new Map<string, number>();
      const batches = readBatches(topic, partition);
      expect(batches.length).toBeGreaterThan(1);
      for (const batch of batches) {
        for (const record of batch.records) {
          const key = record.key!.toString();
          expect(partitionForKey(record.key!, partitions)).toBe(partition);
          const seq = Number(record.value!.toString().split(':')[1]);
          expect(seq).toBe(nextSeq.get(key) ?? 0);
          nextSeq.set(key, seq + 1);
        }
      }
      for (const seq of nextSeq.values()) expect(seq).toBe(perKey);
    }
    await producer.close();
  });

  it('keeps keyless records on a sticky partition until their batch is full, then moves on', async () => {
    const topic = await newTopic(4);
    // About 10 records of 100 bytes per batch.
    const producer = new Producer(broker, { batchSize: 1_200 });
    const value = Buffer.alloc(100, 1);
    const results = await producer.send({ topic, messages: Array.from({ length: 100 }, () => ({ value })) });
    expect(results.length).toBeGreaterThan(1);
    const batches = [0, 1, 2, 3].flatMap((partition) => readBatches(topic, partition));
    const sizes = batches.map((batch) => batch.records.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
    // Every batch but the last one filled up before the partition changed.
    expect(sizes.filter((size) => size < 10).length).toBeLessThanOrEqual(1);
    await producer.close();
  });

  it('lets an explicit partition win over the custom partitioner from createPartitioner, and checks its answers', async () => {
    const topic = await newTopic(3);
    const producer = new Producer(broker, { createPartitioner: () => ({ key }) => (key === null ? 0 : key.length % 3) });
    const results = await producer.send({ topic, messages: [{ key: 'ab', value: 'x' }, { key: 'ab', value: 'y', partition: 1 }] });
    expect(results.map((r) => r.partition)).toEqual([2, 1]);
    const broken = new Producer(broker, { createPartitioner: () => () => 7 });
    await expect(broken.send({ topic, messages: [{ value: 'z' }] })).rejects.toBeInstanceOf(InvalidPartitionerResultError);
    await producer.close();
    await broken.close();
  });

  it('compresses batches with any of Kafka\'s codecs when asked, per producer or per send, by name or kafkajs id', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker, { compression: 'lz4' });
    const value = 'compressible '.repeat(50);
    await producer.send({ topic, messages: [{ value }, { value }] });
    await producer.send({ topic, compression: 'gzip', messages: [{ value }] });
    await producer.send({ topic, compression: 0, messages: [{ value }] });
    await producer.send({ topic, compression: 'snappy', messages: [{ value }] });
    await producer.send({ topic, compression: 4, messages: [{ value }] });
    const batches = readBatches(topic, 0);
    expect(batches.map((batch) => batch.compression)).toEqual(['lz4', 'gzip', 'none', 'snappy', 'zstd']);
    expect(batches[0].sizeBytes).toBeLessThan(value.length);
    expect(batches[3].sizeBytes).toBeLessThan(value.length);
    expect(batches[4].sizeBytes).toBeLessThan(value.length);
    expect(batches.flatMap((batch) => batch.records.map((record) => record.value!.toString()))).toEqual(Array(6).fill(value));
    await producer.close();
  });

  it('accepts acks 0, 1, -1 and "all"; with acks 0 it does not wait and reports offset -1', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker);
    const [noAck] = await producer.send({ topic, acks: 0, messages: [{ value: 'a' }] });
    expect(noAck.baseOffset).toBe(-1);
    await producer.flush();
    const [leader] = await producer.send({ topic, acks: 1, messages: [{ value: 'b' }] });
    const [all] = await producer.send({ topic, acks: 'all', messages: [{ value: 'c' }] });
    const [minusOne] = await producer.send({ topic, acks: -1, messages: [{ value: 'd' }] });
    expect([leader.baseOffset, all.baseOffset, minusOne.baseOffset]).toEqual([1, 2, 3]);
    expect(readValues(topic, 0)).toEqual(['a', 'b', 'c', 'd']);
    await producer.close();
  });

  it('sendBatch sends to several topics and reports every partition', async () => {
    const a = await newTopic(1);
    const b = await newTopic(1);
    const producer = new Producer(broker);
    const results = await producer.sendBatch({ topicMessages: [{ topic: a, messages: [{ value: '1' }] }, { topic: b, messages: [{ value: '2' }, { value: '3' }] }] });
    expect(results.map((r) => [r.topicName, r.baseOffset])).toEqual([[a, 0], [b, 0]]);
    expect(readValues(b, 0)).toEqual(['2', '3']);
    await producer.close();
  });

  it('serializes values with json() or msgpack() when given one', async () => {
    const topic = await newTopic(1);
    const jsonProducer = new Producer<string, { n: number }>(broker, { valueSerializer: json() });
    await jsonProducer.send({ topic, messages: [{ value: { n: 1 } }] });
    const packer = msgpack<{ when: Date; list: number[] }>();
    const packProducer = new Producer<string, { when: Date; list: number[] }>(broker, { valueSerializer: packer });
    const when = new Date(1_600_000_000_000);
    await packProducer.send({ topic, messages: [{ value: { when, list: [1, 2] } }, { value: null }] });
    const [first, second] = readBatches(topic, 0);
    expect(JSON.parse(first.records[0].value!.toString())).toEqual({ n: 1 });
    expect(packer.deserialize(second.records[0].value!)).toEqual({ when, list: [1, 2] });
    expect(second.records[1].value).toBeNull();
    await jsonProducer.close();
    await packProducer.close();
  });

  it('refuses a send whose serializer returns something other than a Buffer, appending none of its records', async () => {
    const topic = await newTopic(1);
    // A serializer written in JavaScript may hand back a Uint8Array or a string: the batch builder
    // writes what the producer gives it unchecked, so the producer must catch it.
    const loose = { name: 'loose', serialize: (value: string) => (value === 'bad' ? (new Uint8Array([1]) as unknown as Buffer) : Buffer.from(value)), deserialize: (bytes: Buffer) => bytes.toString() };
    const producer = new Producer<string, string>(broker, { valueSerializer: loose });
    await expect(producer.send({ topic, messages: [{ value: 'good' }, { value: 'bad' }] })).rejects.toThrow(/serializer must return a Buffer or null/);
    await producer.send({ topic, messages: [{ value: 'after' }] });
    expect(readValues(topic, 0)).toEqual(['after']);
    await producer.close();
  });

  it('batches up to 256 KiB by default: a send of 100 KB of records is one batch', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker);
    const value = Buffer.alloc(100, 7);
    await producer.send({ topic, messages: Array.from({ length: 1000 }, () => ({ value })) });
    expect(readBatches(topic, 0).map((batch) => batch.records.length)).toEqual([1000]);
    await producer.close();
  });

  it('moves keyless records to another partition whenever the sticky one would need a new batch', async () => {
    const topic = await newTopic(3);
    const producer = new Producer(broker, { batchSize: 1024 });
    const values = Array.from({ length: 100 }, (_, i) => `v${String(i).padStart(3, '0')}`.padEnd(100, '.'));
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
    const perPartition = [0, 1, 2].map((partition) => readValues(topic, partition));
    // Every record once, in send order within its partition, in batches no larger than batchSize.
    expect(perPartition.flat().sort()).toEqual(values);
    for (const stored of perPartition) expect(stored).toEqual([...stored].sort());
    expect(perPartition.filter((stored) => stored.length > 0).length).toBeGreaterThan(1);
    for (const partition of [0, 1, 2]) for (const batch of readBatches(topic, partition)) expect(batch.records.length).toBeLessThanOrEqual(9);
    await producer.close();
  });

  it('flush() and close() send what lingers; close() then refuses sends with ClosedError', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker, { lingerMs: 60_000 });
    const pending = producer.send({ topic, messages: [{ value: 'a' }] });
    await producer.flush();
    expect((await pending)[0].baseOffset).toBe(0);
    const lingering = producer.send({ topic, messages: [{ value: 'b' }] });
    await producer.close();
    expect((await lingering)[0].baseOffset).toBe(1);
    await expect(producer.send({ topic, messages: [{ value: 'c' }] })).rejects.toBeInstanceOf(ClosedError);
    await expect(producer.connect()).rejects.toBeInstanceOf(ClosedError);
    expect(readValues(topic, 0)).toEqual(['a', 'b']);
  });
});

describe('Producer input checks', () => {
  it('rejects bad messages with typed errors, writes nothing of a rejected send, and the broker keeps serving', async () => {
    const topic = await newTopic(2);
    const producer = new Producer(broker);
    const bad: [unknown, new (...args: never[]) => Error][] = [
      [[{ value: 'ok' }, { value: 42 }], InvalidRecordError],
      [[{ value: { not: 'bytes' } }], InvalidRecordError],
      [[{ key: 'k' }], InvalidRecordError],
      [[{ key: 12, value: 'v' }], InvalidRecordError],
      [[{ value: 'v', headers: { h: 5 } }], InvalidRecordError],
      [[{ value: 'v', timestamp: -1 }], InvalidRecordError],
      [[{ value: 'v', partition: 2 }], PartitionNotFoundError],
      [[{ value: 'v', partition: -1 }], PartitionNotFoundError],
      [[{ value: 'v', partition: 0.5 }], InvalidRecordError],
      ['not an array', InvalidRecordError],
    ];
    for (const [messages, type] of bad) {
      await expect(producer.send({ topic, messages: messages as never })).rejects.toBeInstanceOf(type);
    }
    await expect(producer.send({ topic: '', messages: [] })).rejects.toBeInstanceOf(InvalidRecordError);
    await expect(producer.send({ topic: 'no-such-topic', messages: [{ value: 'v' }] })).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(producer.send({ topic, acks: 2 as never, messages: [{ value: 'v' }] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(producer.send({ topic, compression: 7, messages: [{ value: 'v' }] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(producer.send({ topic, compression: 'brotli' as never, messages: [{ value: 'v' }] })).rejects.toBeInstanceOf(InvalidConfigError);
    expect(readBatches(topic, 0)).toEqual([]);
    expect(readBatches(topic, 1)).toEqual([]);
    const [ok] = await producer.send({ topic, messages: [{ value: 'after', partition: 1 }] });
    expect(ok.baseOffset).toBe(0);
    await producer.close();
  });

  it('refuses a record larger than maxRequestSize before sending anything of the send', async () => {
    const topic = await newTopic(1);
    const producer = new Producer(broker, { maxRequestSize: 1_000 });
    const send = producer.send({ topic, messages: [{ value: 'small' }, { value: Buffer.alloc(1_000) }] });
    await expect(send).rejects.toBeInstanceOf(RecordTooLargeError);
    await expect(send).rejects.toThrow(/maxRequestSize/);
    expect(readBatches(topic, 0)).toEqual([]);
    // Likewise for sendBatch (a record made too large by its headers): nothing of that topic's messages is appended.
    const batchSend = producer.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'small' }, { value: 'x', headers: { h: Buffer.alloc(1_000) } }] }] });
    await expect(batchSend).rejects.toBeInstanceOf(RecordTooLargeError);
    expect(readBatches(topic, 0)).toEqual([]);
    // A record that fits alone goes through, in a batch of its own.
    await producer.send({ topic, messages: [{ value: Buffer.alloc(900) }] });
    expect(readBatches(topic, 0)).toHaveLength(1);
    await producer.close();
  });

  it('rejects invalid options with InvalidConfigError', () => {
    const cases: Record<string, unknown>[] = [
      { batchSize: 10 },
      { lingerMs: -1 },
      { bufferMemory: 1.5 },
      { maxInFlightRequests: 0 },
      { batchSize: 1 << 20, bufferMemory: 1 << 10 },
      { acks: 'some' },
      { createPartitioner: 'murmur' },
      { valueSerializer: {} },
      { allowAutoTopicCreation: 'yes' },
      // A misspelt option is an error, not a silent default.
      { lingerMS: 5 },
      { idempotent: 'yes' },
    ];
    for (const options of cases) expect(() => new Producer(broker, options as never)).toThrow(InvalidConfigError);
  });
});

describe('Producer topic auto-creation (kafkajs allowAutoTopicCreation)', () => {
  it('creates a missing topic with num.partitions when both it and the broker allow it; otherwise TopicNotFoundError and nothing created', async () => {
    const autoDir = mkdtempSync(join(tmpdir(), 'sluice-producer-auto-'));
    const autoBroker = await Broker.open({ dataDir: autoDir, shards: 1, numPartitions: 3 });
    try {
      const allowed = new Producer(autoBroker);
      expect(await allowed.send({ topic: 'made', messages: [{ value: 'v' }] })).toHaveLength(1);
      expect(autoBroker.topicMetadata('made').partitionCount).toBe(3);
      await allowed.close();

      const strict = new Producer(autoBroker, { allowAutoTopicCreation: false });
      await expect(strict.send({ topic: 'not-made', messages: [{ value: 'v' }] })).rejects.toThrow(TopicNotFoundError);
      await strict.close();
      expect(() => autoBroker.topicMetadata('not-made')).toThrow(TopicNotFoundError);
    } finally {
      await autoBroker.close();
      rmSync(autoDir, { recursive: true, force: true });
    }
    // The shared broker here has auto.create.topics.enable off: the producer's wish is not enough.
    const willing = new Producer(broker, { allowAutoTopicCreation: true });
    await expect(willing.send({ topic: 'refused-by-broker', messages: [{ value: 'v' }] })).rejects.toThrow(TopicNotFoundError);
    await willing.close();
  });
});

describe('Producer buffer memory', () => {
  it('a producer far faster than the log stays within bufferMemory and completes', async () => {
    const topic = await newTopic(2);
    const bufferMemory = 256 * 1024;
    const producer = new Producer(broker, { bufferMemory, batchSize: 16_384 });
    const value = Buffer.alloc(100, 0x42);
    const keys = [Buffer.from('0'), Buffer.from('1')];
    const total = 2_000_000;
    const perSend = 1_000;
    // 64 sends of 1000 records (6.9 MB) outstanding at once against a 256 KiB buffer: sends must wait.
    const inFlightSends = 64;
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let sent = 0;
    const sendMany = async (): Promise<void> => {
      while (sent < total) {
        sent += perSend;
        await producer.send({ topic, messages: Array.from({ length: perSend }, (_, i) => ({ key: keys[i & 1], value })) });
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
    };
    await Promise.all(Array.from({ length: inFlightSends }, sendMany));
    await producer.close();
    const stats = producer.stats();
    expect(stats.recordsSent).toBe(total);
    expect(stats.pendingBytes).toBe(0);
    expect(stats.maxPendingBytes).toBeLessThanOrEqual(bufferMemory);
    expect(stats.maxPendingBytes).toBeGreaterThan(bufferMemory / 2);
    // 220 MB of records went through; the process grew by its garbage-collected heap's working
    // size (about 120 MB here whatever the volume), not by the backlog.
    const writtenBytes = total * (value.length + 10);
    expect(rssPeak - rssBefore).toBeLessThan(160 * 1024 * 1024);
    expect(rssPeak - rssBefore).toBeLessThan(writtenBytes);
    const end = [0, 1].reduce((sum, partition) => sum + broker.partitionOffsets(topic, partition).highWatermark, 0);
    expect(end).toBe(total);
  });
});
