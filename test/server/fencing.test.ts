/**
 * Zombie fencing over the Kafka protocol, in every order: a producer whose transactional id was
 * initialised again elsewhere (InitProducerId) is refused at AddPartitionsToTxn,
 * AddOffsetsToTxn, Produce, TxnOffsetCommit and EndTxn, whether it was idle or mid-transaction,
 * with the error codes Kafka 3.9 answers per request version. Raw frames for each API on its
 * own, and kafkajs 2.2.4 as a real client.
 */
import { Kafka, logLevel, type Producer as KafkaProducer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFetchedRecords, type ConsumedMessage } from '../../src/client/fetcher.js';
import { AddOffsetsToTxn } from '../../src/protocol/api/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../src/protocol/api/add-partitions-to-txn.js';
import { EndTxn } from '../../src/protocol/api/end-txn.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { InitProducerId } from '../../src/protocol/api/init-producer-id.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { TxnOffsetCommit } from '../../src/protocol/api/txn-offset-commit.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { startServer, TestClient, type TestServer } from './helpers.js';

let t: TestServer;
let client: TestClient;
let kafka: Kafka;

beforeAll(async () => {
  t = await startServer({ broker: { autoCreateTopicsEnable: false } });
  client = await TestClient.connect(t.port);
  kafka = new Kafka({ clientId: 'fencing-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

interface RawProducer {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  nextSequence: number;
}

async function init(transactionalId: string, version = 4): Promise<RawProducer> {
  const response = await client.send(InitProducerId, version, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  expect(response.errorCode).toBe(ErrorCode.NONE);
  return { transactionalId, producerId: response.producerId, producerEpoch: response.producerEpoch, nextSequence: 0 };
}

const ids = (p: RawProducer) => ({ transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch });

async function addPartition(p: RawProducer, topic: string, version = 3): Promise<number> {
  const response = await client.send(AddPartitionsToTxn, version, { ...ids(p), topics: [{ name: topic, partitions: [0] }] });
  return response.results[0].resultsByPartition[0].partitionErrorCode;
}

async function addOffsets(p: RawProducer, groupId: string, version = 3): Promise<number> {
  return (await client.send(AddOffsetsToTxn, version, { ...ids(p), groupId })).errorCode;
}

async function produce(p: RawProducer, topic: string, value: string, version = 9, transactionalId: string | null = p.transactionalId): Promise<number> {
  const records = encodeRecordBatch({
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    baseSequence: p.nextSequence,
    isTransactional: true,
    records: [{ value: Buffer.from(value) }],
  });
  const response = await client.send(Produce, version, {
    transactionalId,
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const { errorCode } = response.responses[0].partitionResponses[0];
  if (errorCode === ErrorCode.NONE) p.nextSequence++;
  return errorCode;
}

async function commitOffset(p: RawProducer, groupId: string, topic: string, version = 3): Promise<number> {
  const response = await client.send(TxnOffsetCommit, version, {
    ...ids(p),
    groupId,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] }],
  });
  return response.topics[0].partitions[0].errorCode;
}

async function endTxn(p: RawProducer, committed: boolean, version = 3): Promise<number> {
  return (await client.send(EndTxn, version, { ...ids(p), committed })).errorCode;
}

/** What a read_committed consumer receives from partition 0, decoded by the consumer's own fetcher. */
function committedValues(topic: string): string[] {
  const out: ConsumedMessage[] = [];
  for (let offset = 0; ; ) {
    const fetched = t.broker.fetch(topic, 0, offset, 1 << 20, 'read_committed');
    if (fetched.records.length === 0) return out.map((message) => String(message.value));
    decodeFetchedRecords(topic, 0, fetched.records, offset, null, out, fetched.abortedTransactions);
    offset = fetched.nextOffset;
  }
}

let scenario = 0;

/** A zombie that committed one transaction (to its topic, with offsets of its group) and went idle; then a new instance initialised. */
async function idleZombie(): Promise<{ zombie: RawProducer; current: RawProducer; topic: string; groupId: string }> {
  const name = `idle-${++scenario}`;
  await t.broker.createTopic(name, { partitions: 1 });
  const zombie = await init(name);
  expect(await addPartition(zombie, name)).toBe(ErrorCode.NONE);
  expect(await addOffsets(zombie, name)).toBe(ErrorCode.NONE);
  expect(await produce(zombie, name, 'before')).toBe(ErrorCode.NONE);
  expect(await commitOffset(zombie, name, name)).toBe(ErrorCode.NONE);
  expect(await endTxn(zombie, true)).toBe(ErrorCode.NONE);
  const current = await init(name);
  // InitProducerId always bumps the epoch of an idle id.
  expect(current).toMatchObject({ producerId: zombie.producerId, producerEpoch: zombie.producerEpoch + 1 });
  return { zombie, current, topic: name, groupId: name };
}

/** A zombie with a transaction open (a partition, a group, a batch, staged offsets); then a new instance initialised. */
async function midTransactionZombie(): Promise<{ zombie: RawProducer; current: RawProducer; topic: string; groupId: string }> {
  const name = `mid-${++scenario}`;
  await t.broker.createTopic(name, { partitions: 1 });
  const zombie = await init(name);
  expect(await addPartition(zombie, name)).toBe(ErrorCode.NONE);
  expect(await addOffsets(zombie, name)).toBe(ErrorCode.NONE);
  expect(await produce(zombie, name, 'open')).toBe(ErrorCode.NONE);
  expect(await commitOffset(zombie, name, name)).toBe(ErrorCode.NONE);
  const current = await init(name);
  // The open transaction was aborted with the epoch bumped, and InitProducerId bumped it again.
  expect(current).toMatchObject({ producerId: zombie.producerId, producerEpoch: zombie.producerEpoch + 2 });
  expect(t.broker.describeTransaction(name)?.state).toBe('Empty');
  return { zombie, current, topic: name, groupId: name };
}

describe('a fenced producer on raw frames', () => {
  for (const [order, setUp, before] of [
    ['idle', idleZombie, ['before']],
    ['mid-transaction', midTransactionZombie, []],
  ] as const) {
    it(`refuses an ${order} zombie at AddPartitionsToTxn, PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before`, async () => {
      const { zombie, topic } = await setUp();
      expect(await addPartition(zombie, topic, 3)).toBe(ErrorCode.PRODUCER_FENCED);
      expect(await addPartition(zombie, topic, 1)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      expect(committedValues(topic)).toEqual(before);
    });

    it(`refuses an ${order} zombie at AddOffsetsToTxn`, async () => {
      const { zombie, groupId } = await setUp();
      expect(await addOffsets(zombie, groupId, 3)).toBe(ErrorCode.PRODUCER_FENCED);
      expect(await addOffsets(zombie, groupId, 1)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    });

    it(`refuses an ${order} zombie's transactional batch at Produce with INVALID_PRODUCER_EPOCH, nothing appended`, async () => {
      const { zombie, topic } = await setUp();
      const highWatermark = t.broker.partitionOffsets(topic, 0).highWatermark;
      expect(await produce(zombie, topic, 'zombie', 9)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      expect(await produce(zombie, topic, 'zombie', 11)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      expect(t.broker.partitionOffsets(topic, 0).highWatermark).toBe(highWatermark);
      expect(t.broker.partitionOffsets(topic, 0).lastStableOffset).toBe(highWatermark);
    });

    it(`refuses an ${order} zombie at TxnOffsetCommit with INVALID_PRODUCER_EPOCH, as Kafka 3.9 verifies it`, async () => {
      const { zombie, topic, groupId } = await setUp();
      expect(await commitOffset(zombie, groupId, topic, 3)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      expect(await commitOffset(zombie, groupId, topic, 0)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      const offsets = await t.broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
      expect(offsets[0].offset).toBe(order === 'idle' ? 1 : -1);
    });

    it(`refuses an ${order} zombie at EndTxn, commit and abort alike`, async () => {
      const { zombie, current, topic } = await setUp();
      expect(await endTxn(zombie, true, 3)).toBe(ErrorCode.PRODUCER_FENCED);
      expect(await endTxn(zombie, false, 3)).toBe(ErrorCode.PRODUCER_FENCED);
      expect(await endTxn(zombie, true, 1)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
      // The new instance is unaffected.
      expect(await addPartition(current, topic)).toBe(ErrorCode.NONE);
      expect(await produce(current, topic, 'current')).toBe(ErrorCode.NONE);
      expect(await endTxn(current, true)).toBe(ErrorCode.NONE);
      expect(committedValues(topic)).toEqual([...before, 'current']);
    });
  }

  it('refuses a batch for a partition not added to the transaction: INVALID_TXN_STATE before Produce v11, TRANSACTION_ABORTABLE from it', async () => {
    await t.broker.createTopic('not-added', { partitions: 1 });
    const producer = await init('not-added');
    expect(await produce(producer, 'not-added', 'x', 9)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await produce(producer, 'not-added', 'x', 11)).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect(await addOffsets(producer, 'g')).toBe(ErrorCode.NONE);
    expect(await produce(producer, 'not-added', 'x', 9)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(t.broker.partitionOffsets('not-added', 0).highWatermark).toBe(0);
    expect(await endTxn(producer, false)).toBe(ErrorCode.NONE);
  });

  it('refuses a TxnOffsetCommit for a group not added: INVALID_TXN_STATE before v4', async () => {
    await t.broker.createTopic('group-not-added', { partitions: 1 });
    const producer = await init('group-not-added');
    expect(await addPartition(producer, 'group-not-added')).toBe(ErrorCode.NONE);
    expect(await commitOffset(producer, 'g', 'group-not-added', 3)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await endTxn(producer, false)).toBe(ErrorCode.NONE);
  });

  it('refuses transactional batches without a transactional id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED', async () => {
    await t.broker.createTopic('no-id', { partitions: 1 });
    const producer = await init('no-id');
    expect(await addPartition(producer, 'no-id')).toBe(ErrorCode.NONE);
    expect(await produce(producer, 'no-id', 'x', 9, null)).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect(await produce(producer, 'no-id', 'x', 9, 'another-id')).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(t.broker.partitionOffsets('no-id', 0).highWatermark).toBe(0);
    expect(await produce(producer, 'no-id', 'x', 9)).toBe(ErrorCode.NONE);
    expect(await endTxn(producer, true)).toBe(ErrorCode.NONE);
  });
});

describe('a zombie consumer-producer (KIP-447)', () => {
  it('refuses a TxnOffsetCommit v3+ from a stale generation or an unknown member; earlier versions name neither', async () => {
    await t.broker.createTopic('kip-447', { partitions: 1 });
    const join = await t.broker.groups.joinGroup({
      groupId: 'kip-447',
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
      sessionTimeoutMs: 30_000,
    });
    await t.broker.groups.syncGroup({ groupId: 'kip-447', generationId: join.generationId, memberId: join.memberId, assignments: [] });
    const producer = await init('kip-447');
    expect(await addPartition(producer, 'kip-447')).toBe(ErrorCode.NONE);
    expect(await addOffsets(producer, 'kip-447', 3)).toBe(ErrorCode.NONE);
    const commit = async (version: number, member: { generationId?: number; memberId?: string; groupInstanceId?: string | null }) => {
      const response = await client.send(TxnOffsetCommit, version, {
        ...ids(producer),
        groupId: 'kip-447',
        ...member,
        topics: [{ name: 'kip-447', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }] }],
      });
      return response.topics[0].partitions[0].errorCode;
    };
    const current = { generationId: join.generationId, memberId: join.memberId };
    expect(await commit(3, { ...current, generationId: join.generationId - 1 })).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(4, { ...current, memberId: 'zombie-member' })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(4, { ...current, groupInstanceId: 'not-static' })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(4, current)).toBe(ErrorCode.NONE);
    // v0-v2 carry no group metadata: nothing to check, as in Kafka.
    expect(await commit(2, {})).toBe(ErrorCode.NONE);
    expect(await endTxn(producer, true)).toBe(ErrorCode.NONE);
    const offsets = await t.broker.groups.fetchOffsets({ groupId: 'kip-447', partitions: [{ topic: 'kip-447', partition: 0 }] });
    expect(offsets[0].offset).toBe(5);
  });
});

describe('a fenced kafkajs producer', () => {
  async function connected(transactionalId: string): Promise<KafkaProducer> {
    const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    return producer;
  }

  /** kafkajs takes the transactional id (InitProducerId) on its first transaction(). */
  async function takeOver(transactionalId: string): Promise<KafkaProducer> {
    const current = await connected(transactionalId);
    const txn = await current.transaction();
    await txn.abort();
    return current;
  }

  it('refuses a zombie that committed and went idle: its next send, sendOffsets and transaction are fenced', async () => {
    await t.broker.createTopic('kjs-idle', { partitions: 2 });
    const zombie = await connected('kjs-idle');
    const first = await zombie.transaction();
    await first.send({ topic: 'kjs-idle', messages: [{ value: 'before', partition: 0 }] });
    await first.commit();
    const current = await takeOver('kjs-idle');

    const late = await zombie.transaction();
    await expect(late.send({ topic: 'kjs-idle', messages: [{ value: 'zombie', partition: 0 }] })).rejects.toThrow(/epoch|fenced/i);
    await expect(
      late.sendOffsets({ consumerGroupId: 'kjs-idle', topics: [{ topic: 'kjs-idle', partitions: [{ partition: 0, offset: '7' }] }] }),
    ).rejects.toThrow(/epoch|fenced/i);
    const txn = await current.transaction();
    await txn.send({ topic: 'kjs-idle', messages: [{ value: 'current', partition: 0 }] });
    await txn.commit();
    await current.disconnect();
    await zombie.disconnect();
    expect(committedValues('kjs-idle')).toEqual(['before', 'current']);
    const offsets = await t.broker.groups.fetchOffsets({ groupId: 'kjs-idle', partitions: [{ topic: 'kjs-idle', partition: 0 }] });
    expect(offsets[0].offset).toBe(-1);
  });

  it('refuses a zombie mid-transaction: a send to a partition it already added, then its commit', async () => {
    await t.broker.createTopic('kjs-mid', { partitions: 1 });
    const zombie = await connected('kjs-mid');
    const open = await zombie.transaction();
    await open.send({ topic: 'kjs-mid', messages: [{ value: 'open' }] });
    const current = await takeOver('kjs-mid');

    // The partition is in the zombie's transaction already: kafkajs sends the batch without AddPartitionsToTxn.
    await expect(open.send({ topic: 'kjs-mid', messages: [{ value: 'zombie' }] })).rejects.toThrow(/epoch|fenced/i);
    await expect(open.commit()).rejects.toThrow(/epoch|fenced/i);
    const txn = await current.transaction();
    await txn.send({ topic: 'kjs-mid', messages: [{ value: 'current' }] });
    await txn.commit();
    await current.disconnect();
    await zombie.disconnect();
    expect(committedValues('kjs-mid')).toEqual(['current']);
  });

  it('refuses a zombie mid-transaction at sendOffsets', async () => {
    await t.broker.createTopic('kjs-mid-offsets', { partitions: 1 });
    const zombie = await connected('kjs-mid-offsets');
    const open = await zombie.transaction();
    await open.send({ topic: 'kjs-mid-offsets', messages: [{ value: 'open' }] });
    await takeOver('kjs-mid-offsets').then((current) => current.disconnect());
    await expect(
      open.sendOffsets({ consumerGroupId: 'kjs-mid-offsets', topics: [{ topic: 'kjs-mid-offsets', partitions: [{ partition: 0, offset: '3' }] }] }),
    ).rejects.toThrow(/epoch|fenced/i);
    await zombie.disconnect();
    const offsets = await t.broker.groups.fetchOffsets({ groupId: 'kjs-mid-offsets', partitions: [{ topic: 'kjs-mid-offsets', partition: 0 }] });
    expect(offsets[0].offset).toBe(-1);
    expect(committedValues('kjs-mid-offsets')).toEqual([]);
  });
});
