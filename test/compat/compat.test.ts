/**
 * Client compatibility: `sluice serve` (the built CLI, as a user runs it) against five real Kafka
 * clients (./clients.ts). Each client, in turn, as far as it has the calls: an all-topics Metadata,
 * CreateTopics, CreatePartitions, DescribeConfigs; produce with every codec it and Sluice both
 * have (the stored batches must carry that codec, so a client that silently sent uncompressed
 * batches would fail); its idempotent producer (one producer id, gapless sequences); transactions
 * committed and aborted (the markers in the log); consume everything in a consumer group and
 * commit (the committed offsets must be the log end offsets); ListOffsets by timestamp. Last, no
 * request of any client closed a connection as unparsable or unserved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { parseControlRecord } from '../../src/protocol/control-record.js';
import { forEachRecord } from '../../src/protocol/record-batch-reader.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  COMPRESSION_CODEC_MASK,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  batchSizeAt,
} from '../../src/protocol/batch-header.js';
import { CliProcess, killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { TestClient, eventually } from '../server/helpers.js';
import {
  confluentDriver,
  kafkajsDriver,
  kcatDriver,
  platformaticDriver,
  pythonDriver,
  type ClientDriver,
  type Codec,
  type KeyedValue,
} from './clients.js';

/** The codecs Sluice stores and serves back: one line to add each codec it learns. */
const SLUICE_CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** Kafka's codec ids, as a batch's attributes carry them. */
const CODEC_IDS: Record<Codec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

const CLIENTS: readonly [string, (bootstrap: string) => ClientDriver][] = [
  ['kcat', kcatDriver],
  ['kafkajs', kafkajsDriver],
  ['@platformatic/kafka', platformaticDriver],
  ['python3-confluent-kafka', pythonDriver],
  ['@confluentinc/kafka-javascript', confluentDriver],
];

const PARTITIONS = 2;
const RECORDS_PER_CODEC = 20;

let dataDir: string;
let server: CliProcess;
let bootstrap: string;
let port: number;
let raw: TestClient;

beforeAll(async () => {
  dataDir = tempDir();
  server = new CliProcess([
    'serve', '--data-dir', dataDir, '--port', '0', '--shards', '1', '--num-partitions', '1', '--group-initial-rebalance-delay-ms', '0',
  ]);
  await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
  const match = /^listening on (127\.0\.0\.1:(\d+))\n$/.exec(server.stdout);
  if (match === null) throw new Error(`unexpected first line from sluice serve: ${server.stdout}`);
  bootstrap = match[1];
  port = Number(match[2]);
  raw = await TestClient.connect(port);
});

afterAll(async () => {
  raw?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  killRunning();
  removeDir(dataDir);
});

interface StoredBatch {
  codec: Codec;
  producerId: number;
  baseSequence: number;
  recordCount: number;
}

/** Everything stored in a partition, read back with a raw Fetch. */
async function fetchRecords(topic: string, partition: number): Promise<Buffer> {
  const response = await raw.send(Fetch, 4, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 24,
    isolationLevel: 0,
    topics: [{ topic, partitions: [{ partition, fetchOffset: 0, partitionMaxBytes: 1 << 24 }] }],
  });
  const { errorCode, records } = response.responses[0].partitions[0];
  expect(errorCode).toBe(0);
  return records ?? Buffer.alloc(0);
}

/** The headers of every batch stored in a partition. */
async function storedBatches(topic: string, partition: number): Promise<StoredBatch[]> {
  const records = await fetchRecords(topic, partition);
  const batches: StoredBatch[] = [];
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    const id = records.readInt16BE(pos + ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK;
    batches.push({
      codec: (Object.keys(CODEC_IDS) as Codec[]).find((codec) => CODEC_IDS[codec] === id)!,
      producerId: Number(records.readBigInt64BE(pos + PRODUCER_ID_OFFSET)),
      baseSequence: records.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
      recordCount: records.readInt32BE(pos + RECORD_COUNT_OFFSET),
    });
  }
  return batches;
}

async function committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
  const response = await raw.send(OffsetFetch, 7, { groupId, topics: [{ name: topic, partitionIndexes: [...Array(PARTITIONS).keys()] }] });
  return new Map(response.topics[0].partitions.map((p) => [p.partitionIndex, p.committedOffset]));
}

/** Values that compress well even one at a time: librdkafka sends a batch uncompressed when compressing does not shrink it. */
function recordsFor(client: string, codec: Codec): KeyedValue[] {
  const padding = ' sluice'.repeat(40);
  return Array.from({ length: RECORDS_PER_CODEC }, (_, i) => ({ key: `k${i}`, value: `${client} ${codec} ${i}${padding}` }));
}

describe.each(CLIENTS)('%s', (name, makeDriver) => {
  const slug = name.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const topicOf = (codec: Codec) => `compat-${slug}-${codec}`;
  let client: ClientDriver;
  let codecs: Codec[];

  beforeAll(() => {
    client = makeDriver(bootstrap);
    codecs = SLUICE_CODECS.filter((codec) => client.codecs.includes(codec));
  });

  afterAll(async () => {
    await client?.close();
  });

  it('connects and lists every topic (all-topics Metadata)', async () => {
    expect(await client.listTopics()).toEqual(expect.any(Array));
  });

  it('creates topics, which an all-topics Metadata then lists', async () => {
    if (client.createTopic === null) return; // kcat has no CreateTopics: its topics are auto-created on produce.
    for (const codec of codecs) await client.createTopic(topicOf(codec), PARTITIONS);
    expect(await client.listTopics()).toEqual(expect.arrayContaining(codecs.map(topicOf)));
  });

  it('adds partitions (CreatePartitions) and reads topic configs (DescribeConfigs) where it has the calls', async () => {
    if (client.createTopic !== null && client.createPartitions !== null) {
      const topic = `compat-${slug}-grow`;
      await client.createTopic(topic, 1);
      await client.createPartitions(topic, 3);
      const { topics } = await raw.send(Metadata, 12, { topics: [{ name: topic }] });
      expect(topics[0].partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
    }
    if (client.describeTopicConfigs !== null) {
      const configs = await client.describeTopicConfigs(topicOf('none'));
      expect(configs.get('cleanup.policy')).toBe('delete');
      expect(configs.get('retention.ms')).toBe('604800000');
    }
  });

  it('produces with every codec it shares with Sluice, stored as that codec', async () => {
    for (const codec of codecs) {
      await client.produce(topicOf(codec), recordsFor(name, codec), codec);
      const stored = [];
      for (let partition = 0; partition < (client.createTopic === null ? 1 : PARTITIONS); partition++) {
        stored.push(...(await storedBatches(topicOf(codec), partition)).map((batch) => batch.codec));
      }
      expect(stored.length, codec).toBeGreaterThan(0);
      expect(new Set(stored), codec).toEqual(new Set([codec]));
    }
  });

  it('produces with its idempotent producer: one producer id, sequences from 0 without a gap', async () => {
    const topic = `compat-${slug}-idempotent`;
    if (client.createTopic !== null) await client.createTopic(topic, 1);
    await client.produceIdempotently(topic, recordsFor(name, 'none').slice(0, 6));
    await client.produceIdempotently(topic, recordsFor(name, 'none').slice(6, 10));
    const batches = await storedBatches(topic, 0);
    expect(batches.reduce((sum, batch) => sum + batch.recordCount, 0)).toBe(10);
    for (const batch of batches) expect(batch.producerId).toBeGreaterThanOrEqual(0);
    // Each client run may be its own producer (kcat and python start a process per call).
    const nextSequence = new Map<number, number>();
    for (const batch of batches) {
      expect(batch.baseSequence).toBe(nextSequence.get(batch.producerId) ?? 0);
      nextSequence.set(batch.producerId, batch.baseSequence + batch.recordCount);
    }
  });

  it('produces in transactions, committed and aborted, and the log holds the markers in order', async () => {
    if (client.produceTransaction === null) return; // kcat has no transactions.
    const topic = `compat-${slug}-txn`;
    if (client.createTopic !== null) await client.createTopic(topic, 1);
    const records = recordsFor(name, 'none').map((r, i) => ({ key: r.key, value: `txn ${i}` }));
    await client.produceTransaction(topic, records.slice(0, 3), 'commit');
    await client.produceTransaction(topic, records.slice(3, 6), 'abort');
    await client.produceTransaction(topic, records.slice(6, 8), 'commit');
    const log: string[] = [];
    forEachRecord(await fetchRecords(topic, 0), (record) => {
      if (record.batch.isControl) log.push(parseControlRecord(record.key(), record.value()).type.toUpperCase());
      else log.push(`${record.batch.isTransactional ? '' : 'NOT TRANSACTIONAL '}${record.value()!.toString()}`);
    });
    expect(log).toEqual(['txn 0', 'txn 1', 'txn 2', 'COMMIT', 'txn 3', 'txn 4', 'txn 5', 'ABORT', 'txn 6', 'txn 7', 'COMMIT']);
  });

  it('consumes everything in a consumer group and commits the log end offsets', async () => {
    const groupId = `compat-${slug}-group`;
    const topics = codecs.map(topicOf);
    const consumed = await client.consume(groupId, topics, codecs.length * RECORDS_PER_CODEC);
    const expected = codecs.flatMap((codec) => recordsFor(name, codec).map((r) => ({ topic: topicOf(codec), key: r.key, value: r.value })));
    const byOrder = (a: { topic: string; value: string }, b: { topic: string; value: string }) =>
      a.topic.localeCompare(b.topic) || a.value.localeCompare(b.value);
    expect(consumed.map(({ topic, key, value }) => ({ topic, key, value })).sort(byOrder)).toEqual(expected.sort(byOrder));
    for (const topic of topics) {
      const ends = new Map<number, number>();
      for (const record of consumed.filter((r) => r.topic === topic)) ends.set(record.partition, Math.max(ends.get(record.partition) ?? 0, record.offset + 1));
      expect(await committedOffsets(groupId, topic), topic).toEqual(
        new Map([...Array(PARTITIONS).keys()].map((partition) => [partition, ends.get(partition) ?? -1])),
      );
    }
  });

  it('finds the first offset at or after a timestamp (ListOffsets)', async () => {
    const topic = `compat-${slug}-time`;
    if (client.createTopic !== null) await client.createTopic(topic, 1);
    const before = recordsFor(name, 'none').slice(0, 5);
    await client.produce(topic, before, 'none');
    // The boundary is a millisecond no earlier record can carry: it starts after they were acknowledged.
    const boundaryMs = Date.now() + 1;
    await eventually(() => Date.now() >= boundaryMs);
    await client.produce(topic, recordsFor(name, 'none').slice(5, 8), 'none');
    expect(await client.offsetForTimestamp(topic, 0, boundaryMs)).toBe(before.length);
  });
});

it('closed no connection for a request it could not parse or does not serve', () => {
  expect(server.stderr).not.toMatch(/closing connection: (malformed|.* is not supported)/);
});
