/**
 * OffsetForLeaderEpoch (key 23, Kafka's OffsetsForLeaderEpoch, KIP-101 and KIP-320): the end
 * offset of a leader epoch in each partition, which followers use to find where their log
 * diverged and consumers to detect truncation after a leader change. Spec:
 * OffsetForLeaderEpochRequest.json / OffsetForLeaderEpochResponse.json. Flexible from v4.
 *
 * v1 adds the epoch found to the answer, v2 the request's currentLeaderEpoch (fencing) and the
 * throttle time, v3 the requester's replicaId (-1 a consumer, -2 when absent: a debugging client).
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

/** The request's replicaId before v3, Kafka's DEBUGGING_REPLICA_ID. */
export const DEBUGGING_REPLICA_ID = -2;

export const OffsetForLeaderEpoch = new Api({
  name: 'OffsetForLeaderEpoch',
  apiKey: 23,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 4,
  request: {
    replicaId: int32({ versions: '3+', default: DEBUGGING_REPLICA_ID }),
    topics: array({
      topic: string(),
      partitions: array({
        partition: int32(),
        currentLeaderEpoch: int32({ versions: '2+', default: -1 }),
        leaderEpoch: int32(),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32({ versions: '2+', optional: true }),
    topics: array({
      topic: string(),
      partitions: array({
        errorCode: int16(),
        partition: int32(),
        leaderEpoch: int32({ versions: '1+', default: -1 }),
        endOffset: int64({ default: -1 }),
      }),
    }),
  },
});

export type OffsetForLeaderEpochRequest = RequestOf<typeof OffsetForLeaderEpoch>;
export type OffsetForLeaderEpochRequestInput = RequestInputOf<typeof OffsetForLeaderEpoch>;
export type OffsetForLeaderEpochResponse = ResponseOf<typeof OffsetForLeaderEpoch>;
export type OffsetForLeaderEpochResponseInput = ResponseInputOf<typeof OffsetForLeaderEpoch>;
