/**
 * TxnOffsetCommit (key 28): offsets committed inside a transaction, visible when it commits.
 * Spec: TxnOffsetCommitRequest.json / TxnOffsetCommitResponse.json. Flexible from v3.
 * v3 (KIP-447) adds the group generation and member, so the coordinator can fence zombies; v4
 * adds TRANSACTION_ABORTABLE (KIP-890) with the v3 bodies.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

export const TxnOffsetCommit = new Api({
  name: 'TxnOffsetCommit',
  apiKey: 28,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,
  request: {
    transactionalId: string(),
    groupId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    generationId: int32({ versions: '3+', default: -1 }),
    memberId: string({ versions: '3+', default: '' }),
    groupInstanceId: string({ versions: '3+', nullable: '3+', default: null }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        committedOffset: int64(),
        committedLeaderEpoch: int32({ versions: '2+', default: -1 }),
        committedMetadata: string({ nullable: '0+' }),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
      }),
    }),
  },
});

export type TxnOffsetCommitRequest = RequestOf<typeof TxnOffsetCommit>;
export type TxnOffsetCommitRequestInput = RequestInputOf<typeof TxnOffsetCommit>;
export type TxnOffsetCommitResponse = ResponseOf<typeof TxnOffsetCommit>;
export type TxnOffsetCommitResponseInput = ResponseInputOf<typeof TxnOffsetCommit>;
