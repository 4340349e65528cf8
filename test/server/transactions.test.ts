/**
 * Transactions over the Kafka protocol: kafkajs 2.2.4's idempotent and transactional producers
 * (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn, FindCoordinator
 * for a transactional id) and its read_committed consumer against the server.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import { EndTxn } from '../../src/protocol/api/end-txn.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { InitProducerId } from '../../src/protocol/api/init-producer-id.js';
import { AddOffsetsToTxn } from '../../src/protocol/api/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../src/protocol/api/add-partitions-to-txn.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { TxnOffsetCommit } from '../../src/protocol/api/txn-offset-commit.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { startServer, TestClient, type TestServer } from './helpers.js';

let t: TestServer;
let kafka: Kafka;

beforeAll(async () => {
  t = await startServer({ broker: { autoCreateTopicsEnable: false } });
  kafka = new Kafka({ clientId: 'txn-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 50 } });
  await t.broker.createTopic('txn-in', { partitions: 1 });
  await t.broker.createTopic('txn-out', { partitions: 2 });
});

afterAll(async () => {
  await t?.close();
});

async function readCommitted(topic: string, groupId: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(String(message.value));
        if (values.length >= expected) resolve();
      },
    });
  });
  await consumer.disconnect();
  return values.sort();
}

describe('kafkajs transactional producer', () => {
  it('commits and aborts transactions, with the consumer offsets of a transaction', async () => {
    const producer = kafka.producer({ transactionalId: 'kjs-tx', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic: 'txn-out', messages: [{ key: 'a', value: 'committed-a' }, { key: 'b', value: 'committed-b' }] });
    await committed.sendOffsets({ consumerGroupId: 'pipeline', topics: [{ topic: 'txn-in', partitions: [{ partition: 0, offset: '5' }] }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'txn-out', messages: [{ key: 'a', value: 'aborted-a' }, { key: 'b', value: 'aborted-b' }] });
    await aborted.sendOffsets({ consumerGroupId: 'pipeline', topics: [{ topic: 'txn-in', partitions: [{ partition: 0, offset: '9' }] }] });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic: 'txn-out', messages: [{ key: 'a', value: 'last-a' }] });
    await last.commit();
    await producer.disconnect();

    expect(await readCommitted('txn-out', 'reader', 3)).toEqual(['committed-a', 'committed-b', 'last-a']);
    const offsets = await t.broker.groups.fetchOffsets({ groupId: 'pipeline', partitions: [{ topic: 'txn-in', partition: 0 }] });
    expect(offsets[0].offset).toBe(5);
    // The aborted records are in the log, with the markers; read_committed left them out.
    let stored = 0;
    let markers = 0;
    for (const partition of [0, 1]) {
      const batches = decodeRecordBatches(t.broker.fetch('txn-out', partition, 0, 1 << 20, 'read_uncommitted').records);
      stored += batches.filter((batch) => !batch.isControl).reduce((sum, batch) => sum + batch.records.length, 0);
      markers += batches.filter((batch) => batch.isControl).length;
    }
    expect(stored).toBe(5);
    // One marker per partition each transaction wrote to: at least one per transaction.
    expect(markers).toBeGreaterThanOrEqual(3);
  });

  it('fences the older of two producers with one transactional id', async () => {
    const zombie = kafka.producer({ transactionalId: 'kjs-fenced', idempotent: true, maxInFlightRequests: 1 });
    await zombie.connect();
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic: 'txn-out', messages: [{ key: 'z', value: 'zombie' }] });
    const current = kafka.producer({ transactionalId: 'kjs-fenced', idempotent: true, maxInFlightRequests: 1 });
    await current.connect();
    // kafkajs takes the transactional id on its first transaction(), not on connect().
    const currentTxn = await current.transaction();
    await expect(zombieTxn.commit()).rejects.toThrow();
    await currentTxn.send({ topic: 'txn-out', messages: [{ key: 'c', value: 'current' }] });
    await currentTxn.commit();
    await current.disconnect();
    await zombie.disconnect().catch(() => undefined);
    expect(t.broker.describeTransaction('kjs-fenced')?.state).toBe('CompleteCommit');
  });

  it('stamps an idempotent producer id and sequences on kafkajs batches', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'txn-in', messages: [{ value: 'one' }, { value: 'two' }] });
    await producer.send({ topic: 'txn-in', messages: [{ value: 'three' }] });
    await producer.disconnect();
    const batches = decodeRecordBatches(t.broker.fetch('txn-in', 0, 0, 1 << 20, 'read_uncommitted').records);
    expect(batches.map((batch) => [batch.producerId >= 0, batch.baseSequence, batch.recordCount])).toEqual([
      [true, 0, 2],
      [true, 2, 1],
    ]);
  });
});

describe('transaction APIs on the wire', () => {
  it('answers PRODUCER_FENCED as INVALID_PRODUCER_EPOCH to versions from before KIP-588', async () => {
    const client = await TestClient.connect(t.port);
    const first = await client.send(InitProducerId, 4, { transactionalId: 'wire-tx', transactionTimeoutMs: 10_000, producerId: -1, producerEpoch: -1 });
    expect(first.errorCode).toBe(ErrorCode.NONE);
    const second = await client.send(InitProducerId, 4, { transactionalId: 'wire-tx', transactionTimeoutMs: 10_000, producerId: -1, producerEpoch: -1 });
    expect(second.producerEpoch).toBe(first.producerEpoch + 1);
    const stale = { transactionalId: 'wire-tx', producerId: first.producerId, producerEpoch: first.producerEpoch, committed: true };
    expect((await client.send(EndTxn, 1, stale)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await client.send(EndTxn, 3, stale)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await client.send(InitProducerId, 4, { transactionalId: 'wire-tx', transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 })).errorCode).toBe(
      ErrorCode.INVALID_TRANSACTION_TIMEOUT,
    );
    client.close();
  });

  it('serves InitProducerId v5 with KIP-360 epoch bumps: a matching epoch is bumped, a retry answered again, a stale one fenced', async () => {
    const client = await TestClient.connect(t.port);
    const init = (producerId: number, producerEpoch: number, version = 5) =>
      client.send(InitProducerId, version, { transactionalId: 'kip-360', transactionTimeoutMs: 10_000, producerId, producerEpoch });
    const first = await init(-1, -1);
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 });
    const bumped = await init(first.producerId, 0);
    expect(bumped).toMatchObject({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 1 });
    // The same request again (its answer was lost): the epoch it already bumped to, not another bump.
    expect(await init(first.producerId, 0)).toMatchObject({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 1 });
    // Without an id and epoch, InitProducerId always bumps: the holder of epoch 1 is fenced.
    expect(await init(-1, -1)).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 2 });
    expect(await init(first.producerId, 1)).toMatchObject({ errorCode: ErrorCode.PRODUCER_FENCED, producerId: -1, producerEpoch: -1 });
    expect((await init(first.producerId, 1, 3)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    client.close();
  });

  it('serves a whole transaction at Kafka 3.9 maxima: AddPartitionsToTxn v5, AddOffsetsToTxn v4, TxnOffsetCommit v4, EndTxn v4', async () => {
    const client = await TestClient.connect(t.port);
    await t.broker.createTopic('v4-txn', { partitions: 2 });
    const init = await client.send(InitProducerId, 5, { transactionalId: 'v4-txn', transactionTimeoutMs: 10_000, producerId: -1, producerEpoch: -1 });
    const ids = { transactionalId: 'v4-txn', producerId: init.producerId, producerEpoch: init.producerEpoch };
    const transaction = (verifyOnly: boolean, partitions: number[], epoch = ids.producerEpoch) => ({
      ...ids,
      producerEpoch: epoch,
      verifyOnly,
      topics: [{ name: 'v4-txn', partitions }],
    });
    const codes = (response: { resultsByTransaction?: { topicResults: { resultsByPartition: { partitionErrorCode: number }[] }[] }[] }) =>
      response.resultsByTransaction!.map((result) => result.topicResults.flatMap((topic) => topic.resultsByPartition.map((p) => p.partitionErrorCode)));

    // Nothing added yet: verification finds neither partition in the transaction.
    const before = await client.send(AddPartitionsToTxn, 5, { transactions: [transaction(true, [0, 1])] });
    expect(before.errorCode).toBe(ErrorCode.NONE);
    expect(codes(before)).toEqual([[ErrorCode.TRANSACTION_ABORTABLE, ErrorCode.TRANSACTION_ABORTABLE]]);
    const added = await client.send(AddPartitionsToTxn, 4, { transactions: [transaction(false, [0])] });
    expect(codes(added)).toEqual([[ErrorCode.NONE]]);
    expect(added.resultsByTransaction![0].transactionalId).toBe('v4-txn');
    const after = await client.send(AddPartitionsToTxn, 5, { transactions: [transaction(true, [0, 1])] });
    expect(codes(after)).toEqual([[ErrorCode.NONE, ErrorCode.TRANSACTION_ABORTABLE]]);
    // An epoch other than the coordinator's: a zombie's, or one from the future.
    const fenced = await client.send(AddPartitionsToTxn, 5, { transactions: [transaction(true, [0], ids.producerEpoch + 7)] });
    expect(codes(fenced)).toEqual([[ErrorCode.PRODUCER_FENCED]]);
    const unknown = await client.send(AddPartitionsToTxn, 5, { transactions: [transaction(true, [0, 9])] });
    expect(codes(unknown)).toEqual([[OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);

    const records = encodeRecordBatch({ producerId: ids.producerId, producerEpoch: ids.producerEpoch, baseSequence: 0, isTransactional: true, records: [{ value: Buffer.from('v4') }] });
    const produced = await client.send(Produce, 11, { transactionalId: 'v4-txn', acks: -1, timeoutMs: 1000, topicData: [{ name: 'v4-txn', partitionData: [{ index: 0, records }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const offsets = (groupId: string) => ({ ...ids, groupId, topics: [{ name: 'v4-txn', partitions: [{ partitionIndex: 1, committedOffset: 42, committedMetadata: 'm' }] }] });
    expect((await client.send(TxnOffsetCommit, 4, offsets('v4-group'))).topics[0].partitions[0].errorCode).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect((await client.send(AddOffsetsToTxn, 4, { ...ids, groupId: 'v4-group' })).errorCode).toBe(ErrorCode.NONE);
    expect((await client.send(TxnOffsetCommit, 4, offsets('v4-group'))).topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect((await client.send(EndTxn, 4, { ...ids, committed: true })).errorCode).toBe(ErrorCode.NONE);
    expect(t.broker.describeTransaction('v4-txn')?.state).toBe('CompleteCommit');
    const committed = await t.broker.groups.fetchOffsets({ groupId: 'v4-group', partitions: [{ topic: 'v4-txn', partition: 1 }] });
    expect(committed[0].offset).toBe(42);
    expect((await client.send(EndTxn, 4, { ...ids, committed: false })).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    client.close();
  });

  it('answers AddPartitionsToTxn v4 per transaction when one request carries several', async () => {
    const client = await TestClient.connect(t.port);
    await t.broker.createTopic('v4-batched', { partitions: 1 });
    const init = async (transactionalId: string) => {
      const response = await client.send(InitProducerId, 5, { transactionalId, transactionTimeoutMs: 10_000, producerId: -1, producerEpoch: -1 });
      return { transactionalId, producerId: response.producerId, producerEpoch: response.producerEpoch };
    };
    const first = await init('v4-first');
    const second = await init('v4-second');
    const topics = [{ name: 'v4-batched', partitions: [0] }];
    const response = await client.send(AddPartitionsToTxn, 4, {
      transactions: [
        { ...first, verifyOnly: false, topics },
        { ...second, verifyOnly: true, topics },
        { ...second, transactionalId: 'v4-nobody', verifyOnly: true, topics },
      ],
    });
    expect(response.errorCode).toBe(ErrorCode.NONE);
    expect(
      response.resultsByTransaction!.map((result) => [result.transactionalId, result.topicResults[0].resultsByPartition[0].partitionErrorCode]),
    ).toEqual([
      ['v4-first', ErrorCode.NONE],
      ['v4-second', ErrorCode.TRANSACTION_ABORTABLE],
      ['v4-nobody', ErrorCode.INVALID_PRODUCER_ID_MAPPING],
    ]);
    expect(t.broker.describeTransaction('v4-first')?.state).toBe('Ongoing');
    expect(t.broker.describeTransaction('v4-second')?.state).toBe('Empty');
    expect((await client.send(EndTxn, 4, { ...first, committed: false })).errorCode).toBe(ErrorCode.NONE);
    client.close();
  });
});

/** Kafka's OPERATION_NOT_ATTEMPTED. */
const OPERATION_NOT_ATTEMPTED = 55;
