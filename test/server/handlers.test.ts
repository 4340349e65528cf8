/**
 * Each API handler over a real socket, through Sluice's codecs as the client: the answers Kafka
 * gives, including every error code a handler chooses, the Fetch size rules and long poll,
 * topic ids, and the group protocol round trip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { CreatePartitions } from '../../src/protocol/api/create-partitions.js';
import { CreateTopics } from '../../src/protocol/api/create-topics.js';
import { DeleteTopics } from '../../src/protocol/api/delete-topics.js';
import { DescribeConfigs } from '../../src/protocol/api/describe-configs.js';
import { DescribeGroups } from '../../src/protocol/api/describe-groups.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { FindCoordinator } from '../../src/protocol/api/find-coordinator.js';
import { Heartbeat } from '../../src/protocol/api/heartbeat.js';
import { JoinGroup } from '../../src/protocol/api/join-group.js';
import { LeaveGroup } from '../../src/protocol/api/leave-group.js';
import { ListGroups } from '../../src/protocol/api/list-groups.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { OffsetCommit } from '../../src/protocol/api/offset-commit.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { SaslHandshake } from '../../src/protocol/api/sasl-handshake.js';
import { SyncGroup } from '../../src/protocol/api/sync-group.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import { ZERO_UUID } from '../../src/protocol/wire/uuid.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

const T0 = 1_700_000_000_000;

function batch(count: number, tag = 'v', valueBytes = 0): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`${tag}-${i}`.padEnd(valueBytes, '.')),
      timestampMs: T0 + i * 10,
    })),
  });
}

function produceBody(topic: string, partition: number, records: Buffer | null, acks = 1) {
  return { transactionalId: null, acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
}

let t: TestServer;
let client: TestClient;

async function produce(topic: string, partition: number, records: Buffer | null, acks = 1) {
  const response = await client.send(Produce, 9, produceBody(topic, partition, records, acks));
  return response.responses[0].partitionResponses[0];
}

beforeAll(async () => {
  t = await startServer();
  client = await TestClient.connect(t.port);
  await t.broker.createTopic('orders', { partitions: 3 });
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('ApiVersions', () => {
  it('answers INVALID_REQUEST, with the list, to a client software name outside Kafka\'s pattern', async () => {
    const response = await client.send(ApiVersions, 3, { clientSoftwareName: 'bad name!', clientSoftwareVersion: '1.0' });
    expect(response.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(response.apiKeys.length).toBeGreaterThan(10);
  });
});

describe('Metadata', () => {
  it('reports this node as the only broker and the leader of every partition', async () => {
    const response = await client.send(Metadata, 9, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false });
    expect(response.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: t.port, rack: null }]);
    expect(response.controllerId).toBe(0);
    expect(response.clusterId).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(response.topics[0].partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes])).toEqual([
      [0, 0, [0], [0]],
      [1, 0, [0], [0]],
      [2, 0, [0], [0]],
    ]);
  });

  it('answers unknown and invalid topics per topic, and auto-creates only when the request allows it', async () => {
    const refused = await client.send(Metadata, 9, {
      topics: [{ name: 'not-there' }, { name: 'bad name!' }],
      allowAutoTopicCreation: false,
    });
    expect(refused.topics.map((topic) => topic.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_TOPIC_EXCEPTION]);
    expect(() => t.broker.topicMetadata('not-there')).toThrow();
    const created = await client.send(Metadata, 9, { topics: [{ name: 'not-there' }], allowAutoTopicCreation: true });
    expect(created.topics[0]).toMatchObject({ errorCode: 0, name: 'not-there' });
    expect(t.broker.topicMetadata('not-there').partitionCount).toBe(1);
  });

  it('lists every topic, internal ones flagged, with topic ids, and looks topics up by id at v12', async () => {
    const all = await client.send(Metadata, 12, { topics: null, allowAutoTopicCreation: false });
    const offsets = all.topics.find((topic) => topic.name === '__consumer_offsets')!;
    expect(offsets.isInternal).toBe(true);
    const orders = all.topics.find((topic) => topic.name === 'orders')!;
    expect(orders.topicId).toBe(t.broker.topicMetadata('orders').topicId);
    const byId = await client.send(Metadata, 12, {
      topics: [{ name: null, topicId: orders.topicId }, { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }],
      allowAutoTopicCreation: false,
    });
    expect(byId.topics.map((topic) => [topic.name, topic.errorCode])).toEqual([
      ['orders', 0],
      [null, ErrorCode.UNKNOWN_TOPIC_ID],
    ]);
  });
});

describe('Produce', () => {
  it('appends the batch as sent and answers base offset and log start offset', async () => {
    const sent = batch(4);
    expect(await produce('orders', 0, sent)).toMatchObject({ errorCode: 0, baseOffset: 0, logStartOffset: 0, logAppendTimeMs: -1 });
    expect(await produce('orders', 0, batch(2))).toMatchObject({ errorCode: 0, baseOffset: 4 });
    const stored = t.broker.fetch('orders', 0, 0, 1, 'read_uncommitted').records;
    // Byte for byte, except the base offset the log assigns and the leader epoch it stamps, 0 for a
    // new partition (both outside the CRC).
    expect(stored.subarray(8, 12)).toEqual(sent.subarray(8, 12));
    expect(sent.readInt32BE(12)).toBe(-1);
    expect(stored.readInt32BE(12)).toBe(0);
    expect(stored.subarray(16)).toEqual(sent.subarray(16));
  });

  it('maps refusals to Kafka error codes per partition', async () => {
    const corrupt = Buffer.from(batch(2));
    corrupt[corrupt.length - 1] ^= 0xff;
    expect((await produce('orders', 1, corrupt)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produce('orders', 9, batch(1))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce('__consumer_offsets', 0, batch(1))).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect((await produce('orders', 1, Buffer.concat([batch(1), batch(1)]))).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce('orders', 1, null)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce('orders', 1, batch(1), 2)).errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
    // A transactional id is no refusal by itself: the log checks the batch's producer fields.
    await t.broker.createTopic('with-transactional-id', { partitions: 1 });
    const transactional = await client.send(Produce, 9, { ...produceBody('with-transactional-id', 0, batch(1)), transactionalId: 'tx' });
    expect(transactional.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    await t.broker.createTopic('small', { partitions: 1, configs: { 'max.message.bytes': 200 } });
    const tooLarge = await client.send(Produce, 9, produceBody('small', 0, batch(20, 'big', 50)));
    expect(tooLarge.responses[0].partitionResponses[0]).toMatchObject({
      errorCode: ErrorCode.MESSAGE_TOO_LARGE,
      baseOffset: -1,
      errorMessage: expect.stringMatching(/max/),
    });
    expect(t.broker.partitionOffsets('orders', 1).highWatermark).toBe(0);
  });

  it('answers each partition of a request on its own: one failing at once does not affect the others', async () => {
    const response = await client.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        { name: 'orders', partitionData: [{ index: 1, records: batch(3) }, { index: 42, records: batch(1) }] },
        { name: 'bad name!', partitionData: [{ index: 0, records: batch(1) }] },
      ],
    });
    expect(response.responses.map((topic) => topic.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]))).toEqual([
      [
        [1, 0, 0],
        [42, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      ],
      // As Kafka's handleProduceRequest: a topic that does not exist is unknown, whatever its name.
      [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]],
    ]);
  });

  it('refuses zstd batches before Produce v7 with UNSUPPORTED_COMPRESSION_TYPE, as Kafka does (KIP-110)', async () => {
    await t.broker.createTopic('zstd-versions', { partitions: 1 });
    const zstd = encodeRecordBatch({ compression: 'zstd', records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestampMs: T0 }] });
    const old = await client.send(Produce, 6, produceBody('zstd-versions', 0, zstd));
    expect(old.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, baseOffset: -1 });
    const lz4 = encodeRecordBatch({ compression: 'lz4', records: [{ value: Buffer.from('v'), timestampMs: T0 }] });
    expect((await client.send(Produce, 6, produceBody('zstd-versions', 0, lz4))).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const current = await client.send(Produce, 7, produceBody('zstd-versions', 0, zstd));
    expect(current.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 1 });
  });
});

describe('Fetch', () => {
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) await produce('orders', 2, batch(5, `f${i}`, 100));
  });

  function fetchRequest(partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number }[], options: { maxBytes?: number; maxWaitMs?: number; minBytes?: number } = {}) {
    return {
      maxWaitMs: options.maxWaitMs ?? 0,
      minBytes: options.minBytes ?? 0,
      maxBytes: options.maxBytes ?? 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'orders', partitions }],
    };
  }

  it('returns whole stored batches within partitionMaxBytes, but the first batch whole even when larger', async () => {
    const batchBytes = batch(5, 'f0', 100).length;
    const within = await client.send(Fetch, 11, fetchRequest([{ partition: 2, fetchOffset: 0, partitionMaxBytes: 2 * batchBytes + 10 }]));
    expect(within.responses[0].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 15, logStartOffset: 0, lastStableOffset: 15 });
    expect(within.responses[0].partitions[0].records!.length).toBe(2 * batchBytes);
    const tiny = await client.send(Fetch, 11, fetchRequest([{ partition: 2, fetchOffset: 5, partitionMaxBytes: 10 }]));
    expect(tiny.responses[0].partitions[0].records!.length).toBe(batchBytes);
  });

  it('gives a later partition no records when its first batch does not fit the response maxBytes', async () => {
    const batchBytes = batch(5, 'f0', 100).length;
    const response = await client.send(
      Fetch,
      11,
      fetchRequest(
        [
          { partition: 2, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
          { partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 },
        ],
        { maxBytes: batchBytes + 10 },
      ),
    );
    const [first, second] = response.responses[0].partitions;
    expect(first.records!.length).toBe(batchBytes);
    expect(second).toMatchObject({ errorCode: 0, highWatermark: 6 });
    expect(second.records!.length).toBe(0);
  });

  it('answers a fetch before v10 from a compression.type=zstd topic with UNSUPPORTED_COMPRESSION_TYPE, as Kafka does (KIP-110)', async () => {
    await t.broker.createTopic('zstd-topic', { partitions: 1, configs: { 'compression.type': 'zstd' } });
    expect((await produce('zstd-topic', 0, batch(3))).errorCode).toBe(ErrorCode.NONE);
    const request = { ...fetchRequest([{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }]), topics: [{ topic: 'zstd-topic', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] };
    const old = await client.send(Fetch, 9, request);
    expect(old.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE });
    expect(old.responses[0].partitions[0].records?.length ?? 0).toBe(0);
    const current = await client.send(Fetch, 10, request);
    expect(current.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 3 });
    expect(decodeRecordBatches(current.responses[0].partitions[0].records!).map((b) => b.compression)).toEqual(['zstd']);
  });

  it('answers read_committed up to the last stable offset, with an aborted-transactions list', async () => {
    const response = await client.send(Fetch, 11, { ...fetchRequest([{ partition: 2, fetchOffset: 0, partitionMaxBytes: 1 << 20 }]), isolationLevel: 1 });
    expect(response.responses[0].partitions[0]).toMatchObject({ lastStableOffset: 15, abortedTransactions: [] });
    const uncommitted = await client.send(Fetch, 11, fetchRequest([{ partition: 2, fetchOffset: 0, partitionMaxBytes: 1 << 20 }]));
    expect(uncommitted.responses[0].partitions[0].abortedTransactions).toBeNull();
  });

  it('reports OFFSET_OUT_OF_RANGE per partition, and FETCH_SESSION_ID_NOT_FOUND for a session it does not hold', async () => {
    const response = await client.send(Fetch, 11, fetchRequest([{ partition: 2, fetchOffset: 99, partitionMaxBytes: 1000 }]));
    expect(response.responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(response.sessionId).toBe(0);
    const session = await client.send(Fetch, 11, { ...fetchRequest([]), sessionId: 12, sessionEpoch: 3 });
    expect(session.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  it('long-polls until minBytes arrive across partitions, woken by produces on another connection', async () => {
    await t.broker.createTopic('polled', { partitions: 2 });
    const reader = await TestClient.connect(t.port);
    const first = batch(2, 'a');
    const pending = reader.send(Fetch, 11, {
      maxWaitMs: 60_000,
      minBytes: first.length + 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'polled', partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 1 << 20 })) }],
    });
    expect((await produce('polled', 0, first)).errorCode).toBe(0);
    expect((await produce('polled', 1, batch(3, 'b'))).errorCode).toBe(0);
    const response = await pending;
    expect(response.responses[0].partitions.map((p) => p.highWatermark)).toEqual([2, 3]);
    expect(response.responses[0].partitions.every((p) => p.records!.length > 0)).toBe(true);
    reader.close();
  });

  it('serves v13, naming topics by id, and UNKNOWN_TOPIC_ID for an id it does not know', async () => {
    const topicId = t.broker.topicMetadata('orders').topicId;
    const response = await client.send(Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [
        { topicId, partitions: [{ partition: 2, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] },
        { topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] },
      ],
    });
    expect(response.responses[0].topicId).toBe(topicId);
    expect(response.responses[0].partitions[0].highWatermark).toBe(15);
    expect(response.responses[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });
});

describe('ListOffsets', () => {
  it('answers earliest, latest and by timestamp with the record timestamp, and v0 old-style offsets', async () => {
    const partitions = [-2, -1, T0 + 15, T0 + 1_000_000].map((timestamp, i) => ({ partitionIndex: 2, timestamp, currentLeaderEpoch: -1, i }));
    const response = await client.send(ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'orders', partitions }, { name: 'missing', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    });
    expect(response.topics[0].partitions.map((p) => [p.offset, p.timestamp])).toEqual([
      [0, -1],
      [15, -1],
      [2, T0 + 20],
      [-1, -1],
    ]);
    expect(response.topics[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const v0 = await client.send(ListOffsets, 0, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 2, timestamp: -1, maxNumOffsets: 1 }] }],
    });
    expect(v0.topics[0].partitions[0].oldStyleOffsets).toEqual([15]);
  });
});

describe('FindCoordinator', () => {
  it('names this node for groups and transactional ids, single and batched', async () => {
    expect(await client.send(FindCoordinator, 2, { key: 'g', keyType: 0 })).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port: t.port });
    expect(await client.send(FindCoordinator, 2, { key: 'tx', keyType: 1 })).toMatchObject({ errorCode: 0, nodeId: 0, host: '127.0.0.1', port: t.port });
    expect((await client.send(FindCoordinator, 2, { key: 'x', keyType: 7 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const batched = await client.send(FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(batched.coordinators.map((c) => [c.key, c.nodeId, c.port, c.errorCode])).toEqual([
      ['a', 0, t.port, 0],
      ['b', 0, t.port, 0],
    ]);
  });
});

describe('topic administration', () => {
  it('CreateTopics validates partitions, replication, assignments, configs and duplicates; validateOnly creates nothing', async () => {
    const topic = (name: string, extra: Record<string, unknown> = {}) => ({ name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: [], ...extra });
    const response = await client.send(CreateTopics, 7, {
      topics: [
        topic('created', { numPartitions: 2, configs: [{ name: 'retention.ms', value: '1000' }] }),
        topic('zero', { numPartitions: 0 }),
        topic('replicated', { replicationFactor: 3 }),
        topic('assigned', { assignments: [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 1, brokerIds: [0] }] }),
        topic('elsewhere', { assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
        topic('configured', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
        topic('twice'),
        topic('twice'),
        topic('orders'),
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(response.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['created', 0],
      ['zero', ErrorCode.INVALID_PARTITIONS],
      ['replicated', ErrorCode.INVALID_REPLICATION_FACTOR],
      ['assigned', 0],
      ['elsewhere', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['configured', ErrorCode.INVALID_CONFIG],
      ['twice', ErrorCode.INVALID_REQUEST],
      ['twice', ErrorCode.INVALID_REQUEST],
      ['orders', ErrorCode.TOPIC_ALREADY_EXISTS],
    ]);
    const created = response.topics[0];
    expect(created).toMatchObject({ numPartitions: 2, replicationFactor: 1, topicId: t.broker.topicMetadata('created').topicId });
    expect(created.configs!.find((c) => c.name === 'retention.ms')).toMatchObject({ value: '1000', configSource: 1 });
    expect(response.topics[5].errorMessage).toMatch(/retention\.ms/);
    expect(t.broker.topicMetadata('assigned').partitionCount).toBe(2);

    const validated = await client.send(CreateTopics, 7, { topics: [topic('dry-run', { numPartitions: 4 })], timeoutMs: 1000, validateOnly: true });
    expect(validated.topics[0]).toMatchObject({ errorCode: 0, numPartitions: 4 });
    expect(() => t.broker.topicMetadata('dry-run')).toThrow();
  });

  it('CreatePartitions grows a topic, refuses shrinking, and validateOnly changes nothing', async () => {
    const response = await client.send(CreatePartitions, 3, {
      topics: [
        { name: 'created', count: 4, assignments: null },
        { name: 'assigned', count: 1, assignments: null },
        { name: 'missing', count: 2, assignments: null },
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    expect(response.results.map((r) => r.errorCode)).toEqual([0, ErrorCode.INVALID_PARTITIONS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(t.broker.topicMetadata('created').partitionCount).toBe(4);
    const dry = await client.send(CreatePartitions, 3, { topics: [{ name: 'created', count: 9, assignments: null }], timeoutMs: 1000, validateOnly: true });
    expect(dry.results[0].errorCode).toBe(0);
    expect(t.broker.topicMetadata('created').partitionCount).toBe(4);
  });

  it('DeleteTopics deletes by name and by id, refuses internal topics, and reports unknown ids', async () => {
    const assignedId = t.broker.topicMetadata('assigned').topicId;
    const response = await client.send(DeleteTopics, 6, {
      topics: [
        { name: 'created', topicId: ZERO_UUID },
        { name: null, topicId: assignedId },
        { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' },
        { name: '__consumer_offsets', topicId: ZERO_UUID },
      ],
      timeoutMs: 1000,
    });
    expect(response.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ['created', 0],
      ['assigned', 0],
      [null, ErrorCode.UNKNOWN_TOPIC_ID],
      ['__consumer_offsets', ErrorCode.INVALID_TOPIC_EXCEPTION],
    ]);
    expect(t.broker.listTopics().map((m) => m.name)).not.toContain('created');
  });

  it('DescribeConfigs lists topic configs with their source and the broker listener settings', async () => {
    await t.broker.createTopic('described', { partitions: 1, configs: { 'retention.ms': 5000 } });
    const response = await client.send(DescribeConfigs, 1, {
      resources: [
        { resourceType: 2, resourceName: 'described', configurationKeys: ['retention.ms', 'cleanup.policy'] },
        { resourceType: 4, resourceName: '0', configurationKeys: null },
        { resourceType: 4, resourceName: '7', configurationKeys: null },
        { resourceType: 2, resourceName: 'missing', configurationKeys: null },
      ],
      includeSynonyms: false,
    });
    const [topic, broker, otherBroker, missing] = response.results;
    expect(topic.configs.map((c) => [c.name, c.value, c.configSource])).toEqual([
      ['cleanup.policy', 'delete', 5],
      ['retention.ms', '5000', 1],
    ]);
    expect(broker.configs.find((c) => c.name === 'socket.request.max.bytes')).toMatchObject({ value: '104857600', readOnly: true });
    expect(broker.configs.find((c) => c.name === 'advertised.listeners')!.value).toBe(`PLAINTEXT://127.0.0.1:${t.port}`);
    expect(otherBroker.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(missing.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const v0 = await client.send(DescribeConfigs, 0, { resources: [{ resourceType: 2, resourceName: 'described', configurationKeys: ['retention.ms', 'segment.ms'] }] });
    expect(v0.results[0].configs.map((c) => [c.name, c.isDefault])).toEqual([
      ['retention.ms', false],
      ['segment.ms', true],
    ]);
  });
});

describe('consumer group APIs', () => {
  it('join (MEMBER_ID_REQUIRED first), sync, heartbeat, commit, fetch offsets, describe, list and leave', async () => {
    const protocols = [{ name: 'range', metadata: Buffer.from('subscription') }];
    const join = { groupId: 'wire-group', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols, reason: null };
    const first = await client.send(JoinGroup, 7, join);
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).not.toBe('');
    const joined = await client.send(JoinGroup, 7, { ...join, memberId: first.memberId });
    expect(joined).toMatchObject({ errorCode: 0, generationId: 1, leader: first.memberId, protocolName: 'range' });
    expect(joined.members.map((m) => m.metadata.toString())).toEqual(['subscription']);

    const member = { groupId: 'wire-group', generationId: 1, memberId: first.memberId, groupInstanceId: null };
    const synced = await client.send(SyncGroup, 5, {
      ...member,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: first.memberId, assignment: Buffer.from('all of it') }],
    });
    expect(synced).toMatchObject({ errorCode: 0, protocolName: 'range' });
    expect(synced.assignment.toString()).toBe('all of it');
    expect((await client.send(Heartbeat, 4, member)).errorCode).toBe(0);
    expect((await client.send(Heartbeat, 4, { ...member, generationId: 5 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);

    const committed = await client.send(OffsetCommit, 8, {
      ...member,
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 3, committedLeaderEpoch: -1, committedMetadata: 'm' }] },
        { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] },
      ],
    });
    expect(committed.topics.map((t) => [t.name, t.partitions[0].errorCode])).toEqual([
      ['orders', 0],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const fetched = await client.send(OffsetFetch, 8, {
      groups: [
        { groupId: 'wire-group', topics: [{ name: 'orders', partitionIndexes: [0, 1] }] },
        { groupId: 'no-such-group', topics: null },
      ],
      requireStable: false,
    });
    expect(fetched.groups[0].topics[0].partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata])).toEqual([
      [0, 3, 'm'],
      [1, -1, ''],
    ]);
    expect(fetched.groups[1]).toMatchObject({ errorCode: 0, topics: [] });
    const v1 = await client.send(OffsetFetch, 1, { groupId: 'wire-group', topics: [{ name: 'orders', partitionIndexes: [0] }] });
    expect(v1.topics[0].partitions[0].committedOffset).toBe(3);

    const described = await client.send(DescribeGroups, 5, { groups: ['wire-group', 'no-such-group'], includeAuthorizedOperations: false });
    expect(described.groups.map((g) => [g.groupId, g.groupState, g.protocolData, g.members.length])).toEqual([
      ['wire-group', 'Stable', 'range', 1],
      ['no-such-group', 'Dead', '', 0],
    ]);
    expect(described.groups[0].members[0]).toMatchObject({ clientId: 'sluice-test', clientHost: '/127.0.0.1' });
    const listed = await client.send(ListGroups, 4, { statesFilter: ['Stable'] });
    expect(listed.groups).toMatchObject([{ groupId: 'wire-group', protocolType: 'consumer', groupState: 'Stable' }]);

    const left = await client.send(LeaveGroup, 5, { groupId: 'wire-group', members: [{ memberId: first.memberId, groupInstanceId: null, reason: null }] });
    expect(left).toMatchObject({ errorCode: 0, members: [{ memberId: first.memberId, errorCode: 0 }] });
    const leftAgain = await client.send(LeaveGroup, 1, { groupId: 'wire-group', memberId: first.memberId });
    expect(leftAgain.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('answers SaslHandshake with ILLEGAL_SASL_STATE when SASL is off', async () => {
    expect(await client.send(SaslHandshake, 1, { mechanism: 'PLAIN' })).toEqual({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] });
  });
});

describe('cluster id', () => {
  it('stays the same when the broker restarts on the same data directory', async () => {
    const first = await startServer();
    const metadata = async (server: TestServer) => {
      const c = await TestClient.connect(server.port);
      const { clusterId } = await c.send(Metadata, 9, { topics: [] });
      c.close();
      return clusterId;
    };
    const id = await metadata(first);
    await first.stop();
    const second = await startServer({ dataDir: first.dataDir });
    expect(await metadata(second)).toBe(id);
    await second.close();
    expect(id).not.toBe(await metadata(t));
  });
});
