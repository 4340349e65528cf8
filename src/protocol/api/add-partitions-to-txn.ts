/**
 * AddPartitionsToTxn (key 24): a transactional producer declares the partitions it will write.
 * Spec: AddPartitionsToTxnRequest.json / AddPartitionsToTxnResponse.json. Flexible from v3.
 *
 * Sluice serves v0-v3, the client-facing form: the spec's V3AndBelowTransactionalId,
 * V3AndBelowProducerId, V3AndBelowProducerEpoch, V3AndBelowTopics and ResultsByTopicV3AndBelow,
 * named here without the prefix. v4+ (KIP-890) is the broker-to-broker batched form.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

export const AddPartitionsToTxn = new Api({
  name: 'AddPartitionsToTxn',
  apiKey: 24,
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: 3,
  request: {
    transactionalId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    topics: array({
      name: string(),
      partitions: array(int32()),
    }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    results: array({
      name: string(),
      resultsByPartition: array({
        partitionIndex: int32(),
        partitionErrorCode: int16(),
      }),
    }),
  },
});

export type AddPartitionsToTxnRequest = RequestOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnRequestInput = RequestInputOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnResponse = ResponseOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnResponseInput = ResponseInputOf<typeof AddPartitionsToTxn>;
