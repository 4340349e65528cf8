/** InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit against kafkajs. */
import { describe, expect, it } from 'vitest';
import { AddOffsetsToTxn } from '../../../src/protocol/api/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../../src/protocol/api/add-partitions-to-txn.js';
import { EndTxn } from '../../../src/protocol/api/end-txn.js';
import { InitProducerId } from '../../../src/protocol/api/init-producer-id.js';
import { decodeRequest } from '../../../src/protocol/api/registry.js';
import { TxnOffsetCommit } from '../../../src/protocol/api/txn-offset-commit.js';
import { decodeWithKafkajs, kafkajsRequestFrame } from './kafkajs-interop.js';

const producer = { transactionalId: 'tx-1', producerId: 4000, producerEpoch: 3 };

describe('InitProducerId', () => {
  it.each([0, 1])('decodes kafkajs v%i requests, transactional or idempotent', async (version) => {
    const transactional = decodeRequest(await kafkajsRequestFrame('initProducerId', version, { transactionalId: 'tx-1', transactionTimeout: 60000 }));
    expect(transactional.body).toEqual({ transactionalId: 'tx-1', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    const idempotent = decodeRequest(await kafkajsRequestFrame('initProducerId', version, { transactionalId: null, transactionTimeout: 30000 }));
    expect(idempotent.body).toMatchObject({ transactionalId: null });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('initProducerId', InitProducerId, version, { throttleTimeMs: 0, errorCode: 0, producerId: 2 ** 40, producerEpoch: 0 }, { parse: true });
    expect(decoded).toMatchObject({ errorCode: 0, producerId: String(2 ** 40), producerEpoch: 0 });
  });
});

describe('AddPartitionsToTxn', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const args = { ...producer, topics: [{ topic: 'orders', partitions: [0, 2] }] };
    const request = decodeRequest(await kafkajsRequestFrame('addPartitionsToTxn', version, args));
    // v4's batched form is absent before v4: its field decodes to its default.
    expect(request.body).toEqual({ transactions: [], ...producer, topics: [{ name: 'orders', partitions: [0, 2] }] });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const body = {
      throttleTimeMs: 0,
      results: [{ name: 'orders', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: 0 }, { partitionIndex: 2, partitionErrorCode: 0 }] }],
    };
    const decoded = await decodeWithKafkajs('addPartitionsToTxn', AddPartitionsToTxn, version, body, { parse: true });
    expect(decoded.errors).toEqual([{ topic: 'orders', partitionErrors: [{ partition: 0, errorCode: 0 }, { partition: 2, errorCode: 0 }] }]);
  });

  it('kafkajs sees a fenced producer on a partition', async () => {
    const body = { results: [{ name: 'orders', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: 47 }] }] };
    await expect(decodeWithKafkajs('addPartitionsToTxn', AddPartitionsToTxn, 0, body, { parse: true })).rejects.toMatchObject({
      type: 'INVALID_PRODUCER_EPOCH',
    });
  });
});

describe('AddOffsetsToTxn', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const request = decodeRequest(await kafkajsRequestFrame('addOffsetsToTxn', version, { ...producer, groupId: 'g' }));
    expect(request.body).toEqual({ ...producer, groupId: 'g' });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const decoded = await decodeWithKafkajs('addOffsetsToTxn', AddOffsetsToTxn, version, { errorCode: 0 }, { parse: true });
    expect(decoded.errorCode).toBe(0);
  });
});

describe('EndTxn', () => {
  it.each([0, 1])('decodes kafkajs v%i commit and abort requests', async (version) => {
    const commit = decodeRequest(await kafkajsRequestFrame('endTxn', version, { ...producer, transactionResult: true }));
    expect(commit.body).toEqual({ ...producer, committed: true });
    const abort = decodeRequest(await kafkajsRequestFrame('endTxn', version, { ...producer, transactionResult: false }));
    expect(abort.body).toMatchObject({ committed: false });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    await expect(decodeWithKafkajs('endTxn', EndTxn, version, { errorCode: 0 }, { parse: true })).resolves.toMatchObject({ errorCode: 0 });
    await expect(decodeWithKafkajs('endTxn', EndTxn, version, { errorCode: 48 }, { parse: true })).rejects.toMatchObject({
      type: 'INVALID_TXN_STATE',
    });
  });
});

describe('TxnOffsetCommit', () => {
  it.each([0, 1])('decodes kafkajs v%i requests', async (version) => {
    const args = {
      ...producer,
      groupId: 'g',
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '42', metadata: null }] }],
    };
    const request = decodeRequest(await kafkajsRequestFrame('txnOffsetCommit', version, args));
    expect(request.body).toEqual({
      ...producer,
      groupId: 'g',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
  });

  it.each([0, 1])('encodes v%i responses kafkajs reads', async (version) => {
    const body = { throttleTimeMs: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }] };
    const decoded = await decodeWithKafkajs('txnOffsetCommit', TxnOffsetCommit, version, body, { parse: true });
    expect(decoded.topics).toEqual([{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] }]);
  });
});
