/**
 * ListOffsets (key 2): the offset for a timestamp, or the earliest / latest / max-timestamp
 * offset of a partition. Spec: ListOffsetsRequest.json / ListOffsetsResponse.json. Flexible from v6.
 *
 * v0 answers with a list of offsets (`oldStyleOffsets`, at most `maxNumOffsets`); v1+ with one
 * `offset` and its `timestamp`. v2+ carries the isolation level: read_committed answers "latest"
 * with the last stable offset instead of the high watermark. v4+ carries the current leader epoch
 * (fencing) and answers the leader epoch of the offset found. v7 adds MAX_TIMESTAMP, v8
 * EARLIEST_LOCAL_TIMESTAMP, v9 LATEST_TIERED_TIMESTAMP: new special timestamps, the same fields.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, int8, string } from '../wire/schema.js';

/** Special `timestamp` values of a request partition. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
/** v7+ (KIP-734): the offset of the record with the largest timestamp. */
export const MAX_TIMESTAMP = -3;
/** v8+ (KIP-405): the first offset held locally, the log start offset without tiered storage. */
export const EARLIEST_LOCAL_TIMESTAMP = -4;
/** v9+ (KIP-1005): the last offset in tiered storage; -1 without it. */
export const LATEST_TIERED_TIMESTAMP = -5;

export const ListOffsets = new Api({
  name: 'ListOffsets',
  apiKey: 2,
  minVersion: 0,
  maxVersion: 9,
  firstFlexibleVersion: 6,
  request: {
    replicaId: int32(),
    isolationLevel: int8({ versions: '2+' }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        currentLeaderEpoch: int32({ versions: '4+', default: -1 }),
        timestamp: int64(),
        maxNumOffsets: int32({ versions: '0', default: 1 }),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32({ versions: '2+', optional: true }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
        oldStyleOffsets: array(int64(), { versions: '0' }),
        timestamp: int64({ versions: '1+', default: -1 }),
        offset: int64({ versions: '1+', default: -1 }),
        leaderEpoch: int32({ versions: '4+', default: -1 }),
      }),
    }),
  },
});

export type ListOffsetsRequest = RequestOf<typeof ListOffsets>;
export type ListOffsetsRequestInput = RequestInputOf<typeof ListOffsets>;
export type ListOffsetsResponse = ResponseOf<typeof ListOffsets>;
export type ListOffsetsResponseInput = ResponseInputOf<typeof ListOffsets>;
