/**
 * Client compatibility: `sluice serve` (the built CLI, as a user runs it) against five real Kafka
 * clients (./clients.ts). Each client, in turn, as far as it has the calls: an all-topics Metadata,
 * CreateTopics, CreatePartitions, DescribeConfigs, AlterConfigs, DeleteRecords, its description of
 * the cluster; produce with every codec it and Sluice both have (the stored batches must carry that
 * codec, so a client that silently sent uncompressed batches would fail); its idempotent producer
 * (one producer id, gapless sequences); transactions committed and aborted (the markers in the
 * log); a zombie transactional producer fenced by a newer one with its id (the zombie's commit
 * refused, a read_committed consumer sees only the new one's records); a group of two member
 * processes, one killed with SIGKILL, the other taking its partition over from the committed
 * offsets; consume everything in a consumer group and commit (the committed offsets must be the
 * log end offsets); ListOffsets by timestamp. Then README's client matrix must be the one the run
 * found, and no request of any client closed a connection as unparsable or unserved.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { parseControlRecord } from '../../src/protocol/control-record.js';
import { forEachRecord } from '../../src/protocol/record-batch-reader.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { CreateTopics } from '../../src/protocol/api/create-topics.js';
import { DescribeConfigs } from '../../src/protocol/api/describe-configs.js';
import { DescribeGroups } from '../../src/protocol/api/describe-groups.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { decodeAssignment } from '../../src/broker/consumer-protocol.js';
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
  GROUP_MEMBER_SESSION_TIMEOUT_MS,
  type ClientDriver,
  type GroupMemberProcess,
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

/**
 * README's client x feature matrix, as this suite finds it: a row per client, labelled with the
 * versions the client reports; each test fills its cell of the row when it passes ("✓", or what
 * the client did), or "—" when the client has no call for the feature; the last test compares
 * the table with README's.
 */
const MATRIX_COLUMNS = [
  'Metadata',
  'CreateTopics',
  'CreatePartitions',
  'DescribeConfigs',
  'AlterConfigs',
  'DeleteRecords',
  'Cluster description',
  'Produce, stored with its codec',
  'Idempotent produce',
  'Transactions (commit, abort)',
  'Zombie fenced (error surfaced)',
  'Group consume, commit',
  'Group of two processes, one killed',
  'Offsets by timestamp',
] as const;
type MatrixColumn = (typeof MATRIX_COLUMNS)[number];
const matrix = new Map<string, { label: string; cells: Map<MatrixColumn, string> }>(
  CLIENTS.map(([name]) => [name, { label: `${name} (version not read)`, cells: new Map() }]),
);
const README = join(dirname(fileURLToPath(import.meta.url)), '../../README.md');

function renderMatrix(): string {
  const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [
    row(['Client', ...MATRIX_COLUMNS]),
    row(['---', ...MATRIX_COLUMNS.map(() => '---')]),
    ...[...matrix.values()].map(({ label, cells }) => row([label, ...MATRIX_COLUMNS.map((column) => cells.get(column) ?? 'not run')])),
  ].join('\n');
}

const PARTITIONS = 2;

/** The error each client surfaces when its transactional producer has been fenced by a newer one. */
const FENCED_ERRORS: Record<string, string> = {
  // Its EndTxn v0-v1 predates PRODUCER_FENCED, which Kafka answers as INVALID_PRODUCER_EPOCH there.
  kafkajs: 'INVALID_PRODUCER_EPOCH',
  '@platformatic/kafka': 'PRODUCER_FENCED',
  // librdkafka raises its fatal _FENCED error.
  'python3-confluent-kafka': '_FENCED',
  '@confluentinc/kafka-javascript': 'ERR__FENCED',
};
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
    // Below Kafka's default 6 s, so that the group member tests wait out a killed member's session sooner.
    '--group-min-session-timeout-ms', '1000',
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

async function createTopic(name: string, numPartitions: number): Promise<void> {
  const response = await raw.send(CreateTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  expect(response.topics[0].errorCode, `creating ${name}`).toBe(0);
}

async function topicConfig(topic: string, name: string): Promise<string | null> {
  const response = await raw.send(DescribeConfigs, 1, {
    resources: [{ resourceType: 2, resourceName: topic, configurationKeys: [name] }],
    includeSynonyms: false,
  });
  return response.results[0].configs.find((config) => config.name === name)?.value ?? null;
}

/** ListOffsets: the earliest (-2) or latest (-1) offset of a partition. */
async function listOffset(topic: string, partition: number, timestamp: -1 | -2): Promise<number> {
  const response = await raw.send(ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp, currentLeaderEpoch: -1 }] }],
  });
  return Number(response.topics[0].partitions[0].offset);
}

/** The group's members with their assigned partitions of `topic`, once it is Stable; null before. */
async function stableAssignment(groupId: string, topic: string): Promise<number[][] | null> {
  const { groups } = await raw.send(DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
  if (groups[0].groupState !== 'Stable') return null;
  return groups[0].members.map(
    (member) => decodeAssignment(member.memberAssignment).assignedPartitions.find((entry) => entry.topic === topic)?.partitions ?? [],
  );
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
  const found = (column: MatrixColumn, cell: string) => matrix.get(name)!.cells.set(column, cell);
  const NO_CALL = '—';

  beforeAll(async () => {
    client = makeDriver(bootstrap);
    codecs = SLUICE_CODECS.filter((codec) => client.codecs.includes(codec));
    matrix.get(name)!.label = await client.version();
  });

  afterAll(async () => {
    await client?.close();
  });

  it('connects and lists every topic (all-topics Metadata)', async () => {
    expect(await client.listTopics()).toEqual(expect.any(Array));
    found('Metadata', '✓');
  });

  it('creates topics, which an all-topics Metadata then lists', async () => {
    if (client.createTopic === null) {
      // kcat has no CreateTopics: its topics are auto-created on produce.
      found('CreateTopics', `${NO_CALL} (auto-created)`);
      return;
    }
    for (const codec of codecs) await client.createTopic(topicOf(codec), PARTITIONS);
    expect(await client.listTopics()).toEqual(expect.arrayContaining(codecs.map(topicOf)));
    found('CreateTopics', '✓');
  });

  it('adds partitions (CreatePartitions) and reads topic configs (DescribeConfigs) where it has the calls', async () => {
    if (client.createPartitions !== null) {
      const topic = `compat-${slug}-grow`;
      await (client.createTopic ?? createTopic)(topic, 1);
      await client.createPartitions(topic, 3);
      const { topics } = await raw.send(Metadata, 12, { topics: [{ name: topic }] });
      expect(topics[0].partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
    }
    found('CreatePartitions', client.createPartitions === null ? NO_CALL : '✓');
    if (client.describeTopicConfigs !== null) {
      const configs = await client.describeTopicConfigs(topicOf('none'));
      expect(configs.get('cleanup.policy')).toBe('delete');
      expect(configs.get('retention.ms')).toBe('604800000');
    }
    found('DescribeConfigs', client.describeTopicConfigs === null ? NO_CALL : '✓');
  });

  it('alters a topic config, deletes records and describes the cluster where it has the calls', async () => {
    const topic = `compat-${slug}-admin`;
    await createTopic(topic, 1);
    if (client.alterTopicConfig !== null) {
      await client.alterTopicConfig(topic, 'retention.ms', '3600000');
      expect(await topicConfig(topic, 'retention.ms')).toBe('3600000');
    }
    found('AlterConfigs', client.alterTopicConfig === null ? NO_CALL : '✓');
    if (client.deleteRecords !== null) {
      await client.produce(topic, recordsFor(name, 'none').slice(0, 5), 'none');
      await client.deleteRecords(topic, 0, 3);
      expect(await listOffset(topic, 0, -2)).toBe(3);
      expect(await listOffset(topic, 0, -1)).toBe(5);
    }
    found('DeleteRecords', client.deleteRecords === null ? NO_CALL : '✓');
    if (client.describeCluster !== null) {
      const { clusterId, brokers } = await raw.send(Metadata, 12, { topics: [] });
      const cluster = await client.describeCluster();
      expect(cluster.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port }]);
      expect(cluster.controllerId).toBe(0);
      if (cluster.clusterId !== null) expect(cluster.clusterId).toBe(clusterId);
      expect(brokers.map((broker) => broker.nodeId)).toEqual([0]);
    }
    found('Cluster description', client.describeCluster === null ? NO_CALL : '✓');
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
    found('Produce, stored with its codec', codecs.join(', '));
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
    found('Idempotent produce', '✓');
  });

  it('produces in transactions, committed and aborted, and the log holds the markers in order', async () => {
    if (client.produceTransaction === null) {
      found('Transactions (commit, abort)', NO_CALL);
      return;
    }
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
    found('Transactions (commit, abort)', '✓');
  });

  it('fences a zombie transactional producer: its commit is refused, the new one commits, read_committed sees only that', async () => {
    if (client.fenceZombie === null) {
      found('Zombie fenced (error surfaced)', NO_CALL);
      return;
    }
    const topic = `compat-${slug}-fenced`;
    await createTopic(topic, 1);
    const zombieRecords = [0, 1, 2].map((i) => ({ key: `z${i}`, value: `zombie ${i}` }));
    const records = [0, 1].map((i) => ({ key: `b${i}`, value: `committed ${i}` }));
    const refusal = await client.fenceZombie(topic, `compat-${slug}-fenced`, zombieRecords, records);
    expect(refusal).toBe(FENCED_ERRORS[name]);
    const log: string[] = [];
    forEachRecord(await fetchRecords(topic, 0), (record) => {
      log.push(record.batch.isControl ? parseControlRecord(record.key(), record.value()).type.toUpperCase() : record.value()!.toString());
    });
    // The new producer's InitProducerId aborted the zombie's transaction.
    expect(log).toEqual(['zombie 0', 'zombie 1', 'zombie 2', 'ABORT', 'committed 0', 'committed 1', 'COMMIT']);
    const consumed = await client.consume(`compat-${slug}-fenced-reader`, [topic], records.length);
    expect(consumed.map((r) => r.value)).toEqual(records.map((r) => r.value));
    found('Zombie fenced (error surfaced)', `✓ (${refusal})`);
  });

  it('consumes in a group of two processes; one is killed and the other takes over from its committed offsets', async () => {
    const topic = `compat-${slug}-members`;
    const groupId = `compat-${slug}-members`;
    await createTopic(topic, PARTITIONS);
    const members: GroupMemberProcess[] = [client.startGroupMember(groupId, topic), client.startGroupMember(groupId, topic)];
    try {
      const memberDied = () => members.find((member) => member.hasExited);
      // Both members hold a partition before anything is produced, so both read.
      await eventually(
        async () => {
          const died = memberDied();
          if (died !== undefined) throw new Error(`a group member exited: ${died.stderr}`);
          const assignment = await stableAssignment(groupId, topic);
          return assignment !== null && assignment.length === 2 && assignment.every((partitions) => partitions.length === 1);
        },
        { what: 'two members with a partition each' },
      );
      const before = recordsFor(name, 'none').slice(0, 10);
      await client.produce(topic, before, 'none');
      const ends = await Promise.all([...Array(PARTITIONS).keys()].map((partition) => listOffset(topic, partition, -1)));
      expect(ends.every((end) => end > 0), 'records on both partitions').toBe(true);
      await eventually(
        async () => {
          const committed = await committedOffsets(groupId, topic);
          return ends.every((end, partition) => committed.get(partition) === end);
        },
        { what: 'the first records read and committed' },
      );
      // A member reports a record once its offset is committed, so the report may come just after.
      await eventually(() => before.every((r) => members.some((member) => member.records.some((read) => read.value === r.value))), {
        what: 'the members reporting the first records',
      });
      // Usually each member read its own partition; but a member that learns of the rebalance late
      // keeps fetching its old partitions until its SyncGroup returns, and may read and commit both.
      // The one killed is one that read (the second, unless only the first did).
      const [survivor, victim] = members[1].records.length > 0 ? members : [members[1], members[0]];
      const victimPartition = victim.records[victim.records.length - 1].partition;
      const survivorReadBefore = survivor.records.length;

      await victim.kill();
      const after = recordsFor(name, 'none').slice(10, 20);
      await client.produce(topic, after, 'none');
      await eventually(
        () => {
          if (survivor.hasExited) throw new Error(`the surviving member exited: ${survivor.stderr}`);
          return after.every((r) => survivor.records.some((read) => read.value === r.value));
        },
        {
          // The dead member's session must end before its partition is handed over.
          timeoutMs: GROUP_MEMBER_SESSION_TIMEOUT_MS + 30_000,
          what: 'the survivor reading every record produced after the kill',
        },
      );
      const readAfterKill = survivor.records.slice(survivorReadBefore);
      // Committed offsets honoured: the dead member's partition is taken over at its committed
      // offset, the log end before the kill, so the first new record read from it is the first one
      // produced after the kill...
      const afterValues = new Set(after.map((r) => r.value));
      const takenOver = readAfterKill.filter((r) => r.partition === victimPartition && afterValues.has(r.value));
      expect(takenOver.length).toBeGreaterThan(0);
      expect(takenOver[0].offset).toBe(ends[victimPartition]);
      // ...and nothing the survivor read before the kill is read again. (A record read before the
      // kill may be reported just after it: a member that learns of a rebalance late reads both
      // partitions for a while, and its reports trail its reads; so the check is that no record
      // is reported twice, not which side of the kill its report landed on.)
      const reportsByValue = new Map<string, number>();
      for (const record of survivor.records) reportsByValue.set(record.value, (reportsByValue.get(record.value) ?? 0) + 1);
      expect([...reportsByValue].filter(([, count]) => count > 1)).toEqual([]);
      found('Group of two processes, one killed', '✓');
    } finally {
      await Promise.all(members.map((member) => member.kill()));
    }
    // Its waits are each bounded; together they may pass the default test timeout on a loaded machine.
  }, 120_000);

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
    found('Group consume, commit', '✓');
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
    found('Offsets by timestamp', '✓');
  });
});

it('closed no connection for a request it could not parse or does not serve', () => {
  expect(server.stderr).not.toMatch(/closing connection: (malformed|.* is not supported)/);
});

it("README's client matrix is the one this run found", () => {
  const readme = readFileSync(README, 'utf8');
  const match = /<!-- compat-matrix:start -->\n([\s\S]*?)\n<!-- compat-matrix:end -->/.exec(readme);
  expect(match, 'the compat-matrix markers in README.md').not.toBeNull();
  // On a difference, the expected table is the one to put between the markers.
  expect(match![1]).toBe(renderMatrix());
});
