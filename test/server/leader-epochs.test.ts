/**
 * Leader epochs over a real socket: a partition whose epoch was raised to 2 (on its log, while
 * the broker was down, as a leader change would) answers Metadata with it, fences Fetch and
 * ListOffsets requests naming another epoch, and answers OffsetForLeaderEpoch (hand-built frames,
 * every version) and ListOffsets v7-v9 as Kafka 3.9 does. A librdkafka client (KIP-320: it sends
 * the epoch from Metadata in every Fetch) produces and consumes through it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Fetch } from '../../src/protocol/api/fetch.js';
import { ListOffsets } from '../../src/protocol/api/list-offsets.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { partitionDirName } from '../../src/storage/data-dir.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { createRequire } from 'node:module';
import { removeTempDir } from '../support/temp-dir.js';
import { startServer, TestClient, tempDataDir, type TestServer } from './helpers.js';

const require = createRequire(import.meta.url);

const T0 = 1_700_000_000_000;
const TOPIC = 'epochs';

let dataDir: string;
let t: TestServer;
let client: TestClient;

function batch(timestamps: number[]): Buffer {
  return encodeRecordBatch({ records: timestamps.map((timestampMs, i) => ({ key: null, value: Buffer.from(`v${i}`), timestampMs })) });
}

async function produce(records: Buffer): Promise<number> {
  const response = await client.send(Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  const partition = response.responses[0].partitionResponses[0];
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  return partition.baseOffset;
}

beforeAll(async () => {
  dataDir = tempDataDir();
  t = await startServer({ dataDir });
  client = await TestClient.connect(t.port);
  await t.broker.createTopic(TOPIC, { partitions: 1 });
  // Epoch 0: offsets 0-2, the middle record carrying the largest timestamp so far.
  await produce(batch([T0, T0 + 500, T0 + 10]));
  client.close();
  await t.stop();
  // A leader change while the broker was down: the log's epoch becomes 2 from offset 3.
  const log = PartitionLog.open(join(dataDir, partitionDirName(TOPIC, 0)));
  log.becomeLeader(2);
  log.close();
  t = await startServer({ dataDir });
  client = await TestClient.connect(t.port);
  // Epoch 2: offsets 3-4.
  expect(await produce(batch([T0 + 20, T0 + 30]))).toBe(3);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('Metadata', () => {
  it.each([7, 9, 12])('v%i carries the partition\'s current leader epoch', async (version) => {
    const response = await client.send(Metadata, version, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false });
    expect(response.topics[0].partitions[0].leaderEpoch).toBe(2);
  });
});

describe('Fetch (KIP-320)', () => {
  const fetchWith = (version: number, currentLeaderEpoch: number) =>
    client.send(Fetch, version, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      isolationLevel: 0,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });

  it.each([9, 11, 12])('v%i: an older epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH, -1 and the current one read', async (version) => {
    const answer = async (epoch: number) => (await fetchWith(version, epoch)).responses[0].partitions[0];
    expect((await answer(1)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect((await answer(3)).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    for (const epoch of [-1, 2]) {
      const partition = await answer(epoch);
      expect(partition.errorCode).toBe(ErrorCode.NONE);
      expect(partition.highWatermark).toBe(5);
      // The stored batches carry the epoch they were appended in.
      const records = partition.records!;
      expect(records.readInt32BE(12)).toBe(0);
      const second = records.readInt32BE(8) + 12;
      expect(records.readInt32BE(second + 12)).toBe(2);
    }
  });
});

describe('Fetch current leader (KIP-951)', () => {
  const fetchAt = async (version: number, currentLeaderEpoch: number, sessionEpoch = -1) => {
    const topicId = (await client.send(Metadata, 12, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false })).topics[0].topicId;
    return client.send(Fetch, version, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch,
      topics: [{ topic: TOPIC, topicId, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
  };
  const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

  it.each([16, 17])('v%i: a fenced partition names this node and its epoch, and the response this node\'s endpoint', async (version) => {
    const response = await fetchAt(version, 1);
    const partition = response.responses[0].partitions[0];
    expect(partition.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(partition.currentLeader).toEqual({ leaderId: t.server.config.nodeId, leaderEpoch: 2 });
    expect(response.nodeEndpoints).toEqual([{ nodeId: t.server.config.nodeId, host: '127.0.0.1', port: t.port, rack: null }]);
  });

  it('v16: a full fetch creating a session answers the fenced partition the same way', async () => {
    const response = await fetchAt(16, 1, 0);
    expect(response.sessionId).toBeGreaterThan(0);
    expect(response.responses[0].partitions[0].currentLeader).toEqual({ leaderId: t.server.config.nodeId, leaderEpoch: 2 });
    expect(response.nodeEndpoints.map((node) => node.nodeId)).toEqual([t.server.config.nodeId]);
  });

  it.each([12, 13, 15])('v%i: a fenced partition names no leader (Kafka fills it from v16)', async (version) => {
    const response = await fetchAt(version, 1);
    const partition = response.responses[0].partitions[0];
    expect(partition.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(partition.currentLeader).toEqual(NO_LEADER);
    expect(response.nodeEndpoints).toEqual([]);
  });

  it('v16: UNKNOWN_LEADER_EPOCH and a read name no leader, as in Kafka', async () => {
    for (const epoch of [3, 2]) {
      const response = await fetchAt(16, epoch);
      expect(response.responses[0].partitions[0].currentLeader).toEqual(NO_LEADER);
      expect(response.nodeEndpoints).toEqual([]);
    }
  });
});

describe('ListOffsets', () => {
  const listOffsets = async (version: number, timestamp: number, currentLeaderEpoch = -1, isolationLevel = 0) => {
    const response = await client.send(ListOffsets, version, {
      replicaId: -1,
      isolationLevel,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp }] }],
    });
    const { errorCode, offset, timestamp: found, leaderEpoch } = response.topics[0].partitions[0];
    return { errorCode, offset, timestamp: found, leaderEpoch };
  };

  it('v4+ fences a stale currentLeaderEpoch and refuses one from the future', async () => {
    expect((await listOffsets(4, -1, 0)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect((await listOffsets(9, -1, 5)).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect(await listOffsets(9, -1, 2)).toEqual({ errorCode: 0, offset: 5, timestamp: -1, leaderEpoch: 2 });
  });

  it('answers latest with the current epoch, earliest with the first cached epoch, and a timestamp with its batch\'s epoch', async () => {
    expect(await listOffsets(6, -1)).toEqual({ errorCode: 0, offset: 5, timestamp: -1, leaderEpoch: 2 });
    expect(await listOffsets(6, -2)).toEqual({ errorCode: 0, offset: 0, timestamp: -1, leaderEpoch: 0 });
    expect(await listOffsets(6, T0 + 400)).toEqual({ errorCode: 0, offset: 1, timestamp: T0 + 500, leaderEpoch: 0 });
    expect(await listOffsets(6, T0 + 600)).toEqual({ errorCode: 0, offset: -1, timestamp: -1, leaderEpoch: -1 });
  });

  it('v7: MAX_TIMESTAMP (-3) is the record with the largest timestamp, with its batch\'s epoch', async () => {
    expect(await listOffsets(7, -3)).toEqual({ errorCode: 0, offset: 1, timestamp: T0 + 500, leaderEpoch: 0 });
  });

  it('v8: EARLIEST_LOCAL_TIMESTAMP (-4) is the log start offset without tiered storage', async () => {
    expect(await listOffsets(8, -4)).toEqual({ errorCode: 0, offset: 0, timestamp: -1, leaderEpoch: 0 });
  });

  it('v9: LATEST_TIERED_TIMESTAMP (-5) is offset -1, epoch -1, as Kafka answers without remote storage', async () => {
    expect(await listOffsets(9, -5)).toEqual({ errorCode: 0, offset: -1, timestamp: -1, leaderEpoch: -1 });
  });

  it('MAX_TIMESTAMP follows a later, larger timestamp into the current epoch', async () => {
    const topic = 'max-ts';
    await t.broker.createTopic(topic, { partitions: 1 });
    const sent = async (timestamps: number[]) =>
      client.send(Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(timestamps) }] }],
      });
    const max = async () =>
      (await client.send(ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -3 }] }] }))
        .topics[0].partitions[0];
    expect(await max()).toMatchObject({ errorCode: 0, offset: -1, timestamp: -1 });
    await sent([T0, T0 + 5]);
    await sent([T0 + 1, T0 + 9, T0 + 9, T0 + 2]);
    await sent([T0 + 3]);
    expect(await max()).toMatchObject({ errorCode: 0, offset: 3, timestamp: T0 + 9, leaderEpoch: 0 });
  });
});

describe('OffsetForLeaderEpoch, hand-built frames', () => {
  interface Ask {
    partition: number;
    currentLeaderEpoch: number;
    leaderEpoch: number;
  }

  /** The request as Kafka's OffsetForLeaderEpochRequest.json lays it out, byte by byte. */
  function requestFrame(version: number, topic: string, asks: Ask[], correlationId: number): Buffer {
    const flexible = version >= 4;
    const parts: Buffer[] = [];
    const int16 = (v: number) => parts.push(Buffer.from([(v >> 8) & 0xff, v & 0xff]));
    const int32 = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(v);
      parts.push(b);
    };
    const uvarint = (v: number) => parts.push(Buffer.from([v]));
    const string = (s: string) => {
      if (flexible) uvarint(s.length + 1);
      else int16(s.length);
      parts.push(Buffer.from(s));
    };
    const arrayLength = (n: number) => (flexible ? uvarint(n + 1) : int32(n));
    int16(23);
    int16(version);
    int32(correlationId);
    int16(4);
    parts.push(Buffer.from('test'));
    if (flexible) uvarint(0);
    if (version >= 3) int32(-1);
    arrayLength(1);
    string(topic);
    arrayLength(asks.length);
    for (const ask of asks) {
      int32(ask.partition);
      if (version >= 2) int32(ask.currentLeaderEpoch);
      int32(ask.leaderEpoch);
      if (flexible) uvarint(0);
    }
    if (flexible) uvarint(0);
    if (flexible) uvarint(0);
    const body = Buffer.concat(parts);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    return Buffer.concat([size, body]);
  }

  /** The response decoded by hand: [errorCode, partition, leaderEpoch (v1+, else null), endOffset] per partition. */
  function parseResponse(version: number, frame: Buffer, correlationId: number): { topic: string; partitions: (number | null)[][] } {
    const flexible = version >= 4;
    let at = 0;
    expect(frame.readInt32BE(at)).toBe(correlationId);
    at += 4;
    if (flexible) expect(frame[at++]).toBe(0);
    if (version >= 2) {
      expect(frame.readInt32BE(at)).toBe(0);
      at += 4;
    }
    const readLength = () => {
      if (flexible) return frame[at++] - 1;
      const n = frame.readInt32BE(at);
      at += 4;
      return n;
    };
    expect(readLength()).toBe(1);
    const nameLength = flexible ? frame[at++] - 1 : frame.readInt16BE((at += 2) - 2);
    const topic = frame.toString('utf8', at, at + nameLength);
    at += nameLength;
    const partitions: (number | null)[][] = [];
    for (let i = readLength(); i > 0; i--) {
      const errorCode = frame.readInt16BE(at);
      const partition = frame.readInt32BE(at + 2);
      at += 6;
      let leaderEpoch: number | null = null;
      if (version >= 1) {
        leaderEpoch = frame.readInt32BE(at);
        at += 4;
      }
      const endOffset = Number(frame.readBigInt64BE(at));
      at += 8;
      if (flexible) expect(frame[at++]).toBe(0);
      partitions.push([errorCode, partition, leaderEpoch, endOffset]);
    }
    if (flexible) at += 2;
    expect(at).toBe(frame.length);
    return { topic, partitions };
  }

  async function ask(version: number, topic: string, asks: Ask[]) {
    const correlationId = 1000 + version;
    return parseResponse(version, await client.sendRaw(requestFrame(version, topic, asks, correlationId)), correlationId);
  }

  it.each([0, 1, 2, 3, 4])('v%i: the end offset of each epoch, as LeaderEpochFileCache.endOffsetFor answers', async (version) => {
    const asks = [
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 2 },
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 1 },
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: -1 },
      { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 7 },
      { partition: 4, currentLeaderEpoch: -1, leaderEpoch: 0 },
    ];
    const answer = await ask(version, TOPIC, asks);
    expect(answer.topic).toBe(TOPIC);
    const epoch = (e: number) => (version >= 1 ? e : null);
    expect(answer.partitions).toEqual([
      [0, 0, epoch(2), 5],
      [0, 0, epoch(0), 3],
      [0, 0, epoch(0), 3],
      [0, 0, epoch(-1), -1],
      [0, 0, epoch(-1), -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 4, epoch(-1), -1],
    ]);
  });

  it.each([2, 3, 4])('v%i: checks currentLeaderEpoch first: older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH', async (version) => {
    const answer = await ask(version, TOPIC, [
      { partition: 0, currentLeaderEpoch: 1, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: 3, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: 2, leaderEpoch: 0 },
    ]);
    expect(answer.partitions).toEqual([
      [ErrorCode.FENCED_LEADER_EPOCH, 0, -1, -1],
      [ErrorCode.UNKNOWN_LEADER_EPOCH, 0, -1, -1],
      [0, 0, 0, 3],
    ]);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a topic the broker does not have', async () => {
    expect((await ask(4, 'no-such-topic', [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }])).partitions).toEqual([
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0, -1, -1],
    ]);
  });
});

describe('a librdkafka client (@confluentinc/kafka-javascript, KIP-320)', () => {
  it('produces and consumes through epoch-carrying responses, and resumes its group\'s commit across a leader epoch change', async () => {
    const { KafkaJS } = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');
    const dir = tempDataDir();
    let server = await startServer({ dataDir: dir });
    const topic = 'rdkafka-epochs';
    const groupId = 'rdkafka-epochs-group';
    const values = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);
    const produceWith = async (bootstrap: string, messages: string[]) => {
      const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], clientId: 'epochs', logLevel: KafkaJS.logLevel.NOTHING } });
      const producer = kafka.producer({ 'linger.ms': 0 });
      await producer.connect();
      await producer.send({ topic, messages: messages.map((value) => ({ value })) });
      await producer.disconnect();
    };
    /** Reads `count` records in the group from its committed offset (earliest when none), then commits and leaves. */
    const consumeWith = async (bootstrap: string, count: number) => {
      const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], clientId: 'epochs', logLevel: KafkaJS.logLevel.NOTHING } });
      const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false } });
      const seen: { offset: number; value: string; leaderEpoch: number | undefined }[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic] });
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async ({ message }) => {
                seen.push({ offset: Number(message.offset), value: String(message.value), leaderEpoch: message.leaderEpoch });
                if (seen.length === count) resolve();
              },
            })
            .catch(reject);
        });
        const last = seen[seen.length - 1];
        await consumer.commitOffsets([{ topic, partition: 0, offset: String(last.offset + 1), leaderEpoch: last.leaderEpoch }]);
      } finally {
        await consumer.disconnect();
      }
      return seen;
    };
    try {
      await server.broker.createTopic(topic, { partitions: 1 });
      await produceWith(server.bootstrap, values(0, 5));
      const first = await consumeWith(server.bootstrap, 5);
      expect(first.map((m) => [m.offset, m.value])).toEqual(values(0, 5).map((value, i) => [i, value]));
      expect(first.every((m) => m.leaderEpoch === 0)).toBe(true);
      await server.stop();
      // A leader change while the broker was down: epoch 3 from offset 5.
      const log = PartitionLog.open(join(dir, partitionDirName(topic, 0)));
      log.becomeLeader(3);
      log.close();
      server = await startServer({ dataDir: dir });
      await produceWith(server.bootstrap, values(5, 8));
      // The committed position (5, epoch 0) is older than the leader's epoch: a KIP-320 client may
      // check it with OffsetForLeaderEpoch (epoch 0 ends at 5: nothing was truncated) and must read
      // on from it, in epoch 3, neither resetting nor skipping.
      const second = await consumeWith(server.bootstrap, 3);
      expect(second.map((m) => [m.offset, m.value, m.leaderEpoch])).toEqual(values(5, 8).map((value, i) => [5 + i, value, 3]));
    } finally {
      await server.stop();
      removeTempDir(dir);
    }
  }, 60_000);
});
