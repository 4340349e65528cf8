/**
 * OffsetCommit (key 8): a group member stores the offsets it has consumed.
 * Spec: OffsetCommitRequest.json / OffsetCommitResponse.json. Flexible from v8.
 *
 * `generationId` is the spec's GenerationIdOrMemberEpoch: for the classic group protocol Sluice
 * speaks, the generation. v1 alone carries a per-partition `commitTimestamp`; v2-v4 a
 * group-wide `retentionTimeMs` (-1 = the broker's retention). v9 (KIP-848) has v8's body; a
 * commit naming a generation of a group that does not exist gets GROUP_ID_NOT_FOUND instead of
 * ILLEGAL_GENERATION.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

/** The first version that answers GROUP_ID_NOT_FOUND for a commit to a generation of no group. */
export const OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION = 9;

export const OffsetCommit = new Api({
  name: 'OffsetCommit',
  apiKey: 8,
  minVersion: 0,
  maxVersion: 9,
  firstFlexibleVersion: 8,
  request: {
    groupId: string(),
    generationId: int32({ versions: '1+', default: -1 }),
    memberId: string({ versions: '1+' }),
    groupInstanceId: string({ versions: '7+', nullable: '7+', default: null }),
    retentionTimeMs: int64({ versions: '2-4', default: -1 }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        committedOffset: int64(),
        committedLeaderEpoch: int32({ versions: '6+', default: -1 }),
        commitTimestamp: int64({ versions: '1', default: -1 }),
        committedMetadata: string({ nullable: '0+' }),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32({ versions: '3+', optional: true }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
      }),
    }),
  },
});

export type OffsetCommitRequest = RequestOf<typeof OffsetCommit>;
export type OffsetCommitRequestInput = RequestInputOf<typeof OffsetCommit>;
export type OffsetCommitResponse = ResponseOf<typeof OffsetCommit>;
export type OffsetCommitResponseInput = ResponseInputOf<typeof OffsetCommit>;
