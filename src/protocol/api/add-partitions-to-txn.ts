/**
 * AddPartitionsToTxn (key 24): a transactional producer declares the partitions it will write.
 * Spec: AddPartitionsToTxnRequest.json / AddPartitionsToTxnResponse.json. Flexible from v3.
 *
 * v0-v3 are the client form, one transaction per request: the spec's V3AndBelowTransactionalId,
 * V3AndBelowProducerId, V3AndBelowProducerEpoch, V3AndBelowTopics and ResultsByTopicV3AndBelow,
 * named here without the prefix. v4+ (KIP-890) is the form brokers use: several transactions per
 * request, each either added or, with verifyOnly, checked for membership, and a top-level error
 * code. v2 adds PRODUCER_FENCED, v5 TRANSACTION_ABORTABLE.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int64, string } from '../wire/schema.js';

/** One topic's partitions (the spec's AddPartitionsToTxnTopic), in both forms. */
const topicPartitions = {
  name: string(),
  partitions: array(int32()),
};

/** One topic's per-partition results (the spec's AddPartitionsToTxnTopicResult), in both forms. */
const topicResult = {
  name: string(),
  resultsByPartition: array({
    partitionIndex: int32(),
    partitionErrorCode: int16(),
  }),
};

export const AddPartitionsToTxn = new Api({
  name: 'AddPartitionsToTxn',
  apiKey: 24,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 3,
  request: {
    transactions: array(
      {
        transactionalId: string(),
        producerId: int64(),
        producerEpoch: int16(),
        verifyOnly: bool({ default: false }),
        topics: array(topicPartitions),
      },
      { versions: '4+' },
    ),
    transactionalId: string({ versions: '0-3' }),
    producerId: int64({ versions: '0-3' }),
    producerEpoch: int16({ versions: '0-3' }),
    topics: array(topicPartitions, { versions: '0-3' }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16({ versions: '4+', default: 0 }),
    resultsByTransaction: array(
      {
        transactionalId: string(),
        topicResults: array(topicResult),
      },
      { versions: '4+' },
    ),
    results: array(topicResult, { versions: '0-3' }),
  },
});

export type AddPartitionsToTxnRequest = RequestOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnRequestInput = RequestInputOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnResponse = ResponseOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnResponseInput = ResponseInputOf<typeof AddPartitionsToTxn>;
