/**
 * DescribeProducers, DescribeTransactions and ListTransactions (KIP-664, KIP-994) on raw frames
 * against a real server: the producers each partition's log remembers (answered by its shard)
 * and the coordinator's transactional ids, with Kafka's error codes for what does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeProducers } from '../../src/protocol/api/describe-producers.js';
import { DescribeTransactions } from '../../src/protocol/api/describe-transactions.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { ListTransactions } from '../../src/protocol/api/list-transactions.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { startServer, TestClient, type TestServer } from './helpers.js';

let t: TestServer;
let client: TestClient;
let open: { producerId: number; producerEpoch: number };
let done: { producerId: number; producerEpoch: number };
let idempotent: { producerId: number; producerEpoch: number };
let openStartMs: number;

beforeAll(async () => {
  t = await startServer({ broker: { autoCreateTopicsEnable: false } });
  client = await TestClient.connect(t.port);
  const broker = t.broker;
  await broker.createTopic('admin-txn', { partitions: 2 });
  const batch = (producer: { producerId: number; producerEpoch: number }, baseSequence: number, values: number, isTransactional: boolean) =>
    encodeRecordBatch({
      ...producer,
      baseSequence,
      isTransactional,
      records: Array.from({ length: values }, (_, i) => ({ value: Buffer.from(`v${i}`) })),
    });

  // A transaction left open on partition 0: two batches, three records.
  open = await broker.initProducerId({ transactionalId: 'admin-open', transactionTimeoutMs: 60_000 });
  await broker.addPartitionsToTxn({ transactionalId: 'admin-open', ...open, partitions: [{ topic: 'admin-txn', partition: 0 }] });
  await broker.produce('admin-txn', 0, batch(open, 0, 2, true), -1, { transactionalId: 'admin-open' });
  await broker.produce('admin-txn', 0, batch(open, 2, 1, true), -1, { transactionalId: 'admin-open' });
  openStartMs = broker.describeTransaction('admin-open')!.txnStartTimestampMs;
  // A committed transaction on partition 1, and an idempotent producer there.
  done = await broker.initProducerId({ transactionalId: 'admin-done', transactionTimeoutMs: 30_000 });
  await broker.addPartitionsToTxn({ transactionalId: 'admin-done', ...done, partitions: [{ topic: 'admin-txn', partition: 1 }] });
  await broker.produce('admin-txn', 1, batch(done, 0, 1, true), -1, { transactionalId: 'admin-done' });
  await broker.endTxn({ transactionalId: 'admin-done', ...done, committed: true });
  idempotent = await broker.initProducerId({ transactionTimeoutMs: 1000 });
  await broker.produce('admin-txn', 1, batch(idempotent, 0, 4, false), -1);
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('DescribeProducers v0', () => {
  it("answers each partition's producers from its log, and Kafka's errors for partitions that do not exist", async () => {
    const response = await client.send(DescribeProducers, 0, {
      topics: [
        { name: 'admin-txn', partitionIndexes: [0, 1, 7] },
        { name: 'no-such-topic', partitionIndexes: [0] },
        { name: 'bad/name', partitionIndexes: [0] },
      ],
    });
    const [known, missing, invalid] = response.topics;
    expect(known.partitions[0]).toMatchObject({ partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null });
    expect(known.partitions[0].activeProducers).toEqual([
      {
        producerId: open.producerId,
        producerEpoch: open.producerEpoch,
        lastSequence: 2,
        lastTimestamp: expect.any(Number),
        coordinatorEpoch: -1,
        currentTxnStartOffset: 0,
      },
    ]);
    const byId = new Map(known.partitions[1].activeProducers.map((producer) => [producer.producerId, producer]));
    expect(byId.size).toBe(2);
    // The commit marker ended the transaction and recorded the coordinator's epoch.
    expect(byId.get(done.producerId)).toMatchObject({ producerEpoch: done.producerEpoch, lastSequence: 0, currentTxnStartOffset: -1 });
    expect(byId.get(done.producerId)!.coordinatorEpoch).toBeGreaterThanOrEqual(0);
    expect(byId.get(idempotent.producerId)).toMatchObject({ producerEpoch: 0, lastSequence: 3, coordinatorEpoch: -1, currentTxnStartOffset: -1 });
    expect(known.partitions[2]).toMatchObject({ partitionIndex: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, activeProducers: [] });
    expect(missing.partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(invalid.partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: expect.stringMatching(/not valid/) });
  });
});

describe('DescribeTransactions v0', () => {
  it('describes ongoing and completed transactions, TRANSACTIONAL_ID_NOT_FOUND and INVALID_REQUEST otherwise', async () => {
    const response = await client.send(DescribeTransactions, 0, { transactionalIds: ['admin-open', 'admin-done', 'nobody', ''] });
    expect(response.transactionStates).toEqual([
      {
        errorCode: ErrorCode.NONE,
        transactionalId: 'admin-open',
        transactionState: 'Ongoing',
        transactionTimeoutMs: 60_000,
        transactionStartTimeMs: openStartMs,
        producerId: open.producerId,
        producerEpoch: open.producerEpoch,
        topics: [{ topic: 'admin-txn', partitions: [0] }],
      },
      expect.objectContaining({
        errorCode: ErrorCode.NONE,
        transactionalId: 'admin-done',
        transactionState: 'CompleteCommit',
        transactionTimeoutMs: 30_000,
        producerId: done.producerId,
        topics: [],
      }),
      expect.objectContaining({ errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: 'nobody' }),
      expect.objectContaining({ errorCode: ErrorCode.INVALID_REQUEST, transactionalId: '' }),
    ]);
    expect(openStartMs).toBeGreaterThan(0);
  });
});

describe('ListTransactions', () => {
  const list = async (version: number, body: { stateFilters?: string[]; producerIdFilters?: number[]; durationFilter?: number }) => {
    const response = await client.send(ListTransactions, version, { stateFilters: [], producerIdFilters: [], ...body });
    return {
      errorCode: response.errorCode,
      unknownStateFilters: response.unknownStateFilters,
      ids: response.transactionStates.map((txn) => `${txn.transactionalId}:${txn.transactionState}:${txn.producerId}`).sort(),
    };
  };

  it('v0 lists every transactional id, or those of the given states and producer ids', async () => {
    expect(await list(0, {})).toEqual({
      errorCode: ErrorCode.NONE,
      unknownStateFilters: [],
      ids: [`admin-done:CompleteCommit:${done.producerId}`, `admin-open:Ongoing:${open.producerId}`],
    });
    expect(await list(0, { stateFilters: ['Ongoing', 'Running'] })).toEqual({
      errorCode: ErrorCode.NONE,
      unknownStateFilters: ['Running'],
      ids: [`admin-open:Ongoing:${open.producerId}`],
    });
    expect((await list(0, { producerIdFilters: [done.producerId] })).ids).toEqual([`admin-done:CompleteCommit:${done.producerId}`]);
    expect((await list(0, { producerIdFilters: [idempotent.producerId] })).ids).toEqual([]);
  });

  it('v1 filters by how long the transaction has been running', async () => {
    // Nothing here has run for a day; -1 is no filter.
    expect((await list(1, { durationFilter: 86_400_000 })).ids).toEqual([]);
    expect((await list(1, { durationFilter: -1 })).ids).toHaveLength(2);
  });
});
