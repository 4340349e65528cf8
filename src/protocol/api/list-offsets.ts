/**
 * ListOffsets (key 2): the offset for a timestamp, or the earliest / latest / max-timestamp
 * offset of a partition. Spec: ListOffsetsRequest.json / ListOffsetsResponse.json. Flexible from v6.
 *
 * v0 answers with a list of offsets (`oldStyleOffsets`, at most `maxNumOffsets`); v1+ with one
 * `offset` and its `timestamp`. v2+ carries the isolation level: read_committed answers "latest"
 * with the last stable offset instead of the high watermark.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, int8, string } from '../wire/schema.js';

/** Special `timestamp` values of a request partition. */
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
/** v7+ (KIP-734): the offset of the record with the largest timestamp. */
export const MAX_TIMESTAMP = -3;

export const ListOffsets = new Api({
  name: 'ListOffsets',
  apiKey: 2,
  minVersion: 0,
  maxVersion: 7,
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
