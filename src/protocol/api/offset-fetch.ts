/**
 * OffsetFetch (key 9): the offsets a group has committed.
 * Spec: OffsetFetchRequest.json / OffsetFetchResponse.json. Flexible from v6.
 *
 * Up to v7 a request names one `groupId` and its `topics` (null from v2 = every committed
 * partition of the group); from v8 (KIP-709) it carries a batch of `groups`, answered in the
 * response's `groups`. `requireStable` (v7+) asks the broker to wait out pending transactional
 * commits (UNSTABLE_OFFSET_COMMIT) instead of answering with a stale offset. v9 (KIP-848) adds
 * each group's `memberId` and `memberEpoch`, which only the consumer group protocol fills in.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int64, string } from '../wire/schema.js';

export const OffsetFetch = new Api({
  name: 'OffsetFetch',
  apiKey: 9,
  minVersion: 0,
  maxVersion: 9,
  firstFlexibleVersion: 6,
  request: {
    groupId: string({ versions: '0-7' }),
    topics: array(
      {
        name: string({ versions: '0-7' }),
        partitionIndexes: array(int32(), { versions: '0-7' }),
      },
      { versions: '0-7', nullable: '2-7' },
    ),
    groups: array(
      {
        groupId: string({ versions: '8+' }),
        /** null (and epoch -1) from a classic group's member: only KIP-848 consumer groups set them. */
        memberId: string({ versions: '9+', nullable: '9+', default: null }),
        memberEpoch: int32({ versions: '9+', default: -1 }),
        topics: array(
          {
            name: string({ versions: '8+' }),
            partitionIndexes: array(int32(), { versions: '8+' }),
          },
          { versions: '8+', nullable: '8+' },
        ),
      },
      { versions: '8+' },
    ),
    requireStable: bool({ versions: '7+', default: false }),
  },
  response: {
    throttleTimeMs: int32({ versions: '3+', optional: true }),
    topics: array(
      {
        name: string({ versions: '0-7' }),
        partitions: array(
          {
            partitionIndex: int32({ versions: '0-7' }),
            committedOffset: int64({ versions: '0-7' }),
            committedLeaderEpoch: int32({ versions: '5-7', default: -1 }),
            metadata: string({ versions: '0-7', nullable: '0-7' }),
            errorCode: int16({ versions: '0-7' }),
          },
          { versions: '0-7' },
        ),
      },
      { versions: '0-7' },
    ),
    errorCode: int16({ versions: '2-7', default: 0 }),
    groups: array(
      {
        groupId: string({ versions: '8+' }),
        topics: array(
          {
            name: string({ versions: '8+' }),
            partitions: array(
              {
                partitionIndex: int32({ versions: '8+' }),
                committedOffset: int64({ versions: '8+' }),
                committedLeaderEpoch: int32({ versions: '8+', default: -1 }),
                metadata: string({ versions: '8+', nullable: '8+' }),
                errorCode: int16({ versions: '8+' }),
              },
              { versions: '8+' },
            ),
          },
          { versions: '8+' },
        ),
        errorCode: int16({ versions: '8+', default: 0 }),
      },
      { versions: '8+' },
    ),
  },
});

export type OffsetFetchRequest = RequestOf<typeof OffsetFetch>;
export type OffsetFetchRequestInput = RequestInputOf<typeof OffsetFetch>;
export type OffsetFetchResponse = ResponseOf<typeof OffsetFetch>;
export type OffsetFetchResponseInput = ResponseInputOf<typeof OffsetFetch>;
