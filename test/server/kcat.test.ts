/**
 * kcat (librdkafka) against the server over loopback: metadata, produce and consume of 10,000
 * keyed lines uncompressed and with lz4 and gzip, an idempotent producer (InitProducerId, then
 * sequenced batches), a consumer group of two that splits the partitions, and a restarted group
 * member that resumes from its committed offsets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPRESSION_CODEC_MASK,
  batchSizeAt,
  readAttributes,
  readBaseSequence,
  readProducerEpoch,
  readProducerId,
  readRecordCount,
} from '../../src/protocol/batch-header.js';
import { kcat, startServer, type TestServer } from './helpers.js';

const RECORDS = 10_000;
const PARTITIONS = 3;

let t: TestServer;

beforeAll(async () => {
  // Kafka's default group.initial.rebalance.delay.ms: both kcat consumers land in the first generation.
  t = await startServer({ broker: { groupInitialRebalanceDelayMs: 3_000 } });
});

afterAll(async () => {
  await t?.close();
});

function keyedLines(count: number, tag: string): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`key-${i % 97}:${tag}-${i}`);
  return lines.join('\n') + '\n';
}

interface Consumed {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

function parseConsumed(stdout: string): Consumed[] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, key, value] = line.split('|');
      return { partition: Number(partition), offset: Number(offset), key, value };
    });
}

const FORMAT = '%p|%o|%k|%s\n';

/** Every produced line read back once, keys intact, each partition in produce order with dense offsets. */
function expectSameLines(consumed: Consumed[], count: number, tag: string): void {
  expect(consumed).toHaveLength(count);
  const seen = new Set<number>();
  const partitionOfKey = new Map<string, number>();
  const lastIndex = new Map<number, number>();
  const byPartition = new Map<number, number[]>();
  for (const record of consumed) {
    const index = Number(record.value.slice(tag.length + 1));
    expect(record.value).toBe(`${tag}-${index}`);
    expect(record.key).toBe(`key-${index % 97}`);
    expect(seen.has(index)).toBe(false);
    seen.add(index);
    // Same key, same partition; within a partition, produce order.
    expect(partitionOfKey.get(record.key) ?? record.partition).toBe(record.partition);
    partitionOfKey.set(record.key, record.partition);
    expect(index).toBeGreaterThan(lastIndex.get(record.partition) ?? -1);
    lastIndex.set(record.partition, index);
    let offsets = byPartition.get(record.partition);
    if (offsets === undefined) byPartition.set(record.partition, (offsets = []));
    offsets.push(record.offset);
  }
  for (const offsets of byPartition.values()) {
    offsets.forEach((offset, i) => expect(offset).toBe(offsets[0] + i));
  }
}

describe('kcat against the server', () => {
  it('-L lists this broker and the topics', async () => {
    await t.broker.createTopic('listed', { partitions: 2 });
    const { stdout } = await kcat(['-b', t.bootstrap, '-L', '-J']);
    const metadata = JSON.parse(stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[] }[];
    };
    expect(metadata.brokers).toEqual([{ id: 0, name: t.bootstrap }]);
    const listed = metadata.topics.find((topic) => topic.topic === 'listed')!;
    expect(listed.partitions.map((p) => [p.partition, p.leader, p.replicas.map((r) => r.id), p.isrs.map((r) => r.id)])).toEqual([
      [0, 0, [0], [0]],
      [1, 0, [0], [0]],
    ]);
  });

  for (const codec of ['none', 'lz4', 'gzip'] as const) {
    it(`-P of ${RECORDS} keyed lines (compression ${codec}) then -C -e returns them in per-partition order`, async () => {
      const topic = `lines-${codec}`;
      await t.broker.createTopic(topic, { partitions: PARTITIONS });
      await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-K:', '-X', `compression.codec=${codec}`], { input: keyedLines(RECORDS, codec) });
      const { stdout } = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', FORMAT]);
      expectSameLines(parseConsumed(stdout), RECORDS, codec);
      // Stored as the client sent it: the batches keep the client's compression (librdkafka
      // sends a batch uncompressed when compressing would not shrink it).
      const codecs = new Set<number>();
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const { records } = t.broker.fetch(topic, partition, 0, 64 << 20, 'read_uncommitted');
        for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
          codecs.add(readAttributes(records, pos) & COMPRESSION_CODEC_MASK);
        }
      }
      expect(codecs).toContain({ none: 0, gzip: 1, lz4: 3 }[codec]);
      if (codec === 'none') expect([...codecs]).toEqual([0]);
    });
  }

  it(`-P with enable.idempotence=true: ${RECORDS} keyed lines stored once each, in batches carrying one producer id and dense sequences`, async () => {
    const topic = 'idempotent';
    await t.broker.createTopic(topic, { partitions: PARTITIONS });
    // librdkafka asks InitProducerId for its id first, then numbers every batch per partition.
    await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-K:', '-X', 'enable.idempotence=true'], { input: keyedLines(RECORDS, 'idem') });
    const { stdout } = await kcat(['-b', t.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', FORMAT]);
    expectSameLines(parseConsumed(stdout), RECORDS, 'idem');

    const producerIds = new Set<number>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const { records } = t.broker.fetch(topic, partition, 0, 64 << 20, 'read_uncommitted');
      let nextSequence = 0;
      for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
        producerIds.add(readProducerId(records, pos));
        expect(readProducerEpoch(records, pos)).toBe(0);
        expect(readBaseSequence(records, pos)).toBe(nextSequence);
        nextSequence += readRecordCount(records, pos);
      }
      expect(nextSequence).toBeGreaterThan(0);
    }
    expect(producerIds.size).toBe(1);
    expect([...producerIds][0]).toBeGreaterThanOrEqual(0);
  });

  it('two -G consumers split the partitions, read every record once, and a restarted member resumes from committed offsets', async () => {
    const topic = 'grouped';
    const group = 'kcat-group';
    await t.broker.createTopic(topic, { partitions: 4 });
    await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-K:'], { input: keyedLines(2_000, 'g') });
    const consume = () =>
      kcat(['-b', t.bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', FORMAT, topic], { timeoutMs: 60_000 });
    const [first, second] = await Promise.all([consume(), consume()]);
    const a = parseConsumed(first.stdout);
    const b = parseConsumed(second.stdout);
    const partitionsA = new Set(a.map((r) => r.partition));
    const partitionsB = new Set(b.map((r) => r.partition));
    expect(partitionsA.size).toBeGreaterThan(0);
    expect(partitionsB.size).toBeGreaterThan(0);
    for (const partition of partitionsA) expect(partitionsB.has(partition)).toBe(false);
    expectSameLines([...a, ...b], 2_000, 'g');

    await kcat(['-b', t.bootstrap, '-P', '-t', topic, '-K:'], { input: keyedLines(300, 'more') });
    const resumed = parseConsumed((await consume()).stdout);
    expectSameLines(resumed, 300, 'more');
  });
});
