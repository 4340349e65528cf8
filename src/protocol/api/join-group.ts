/**
 * JoinGroup (key 11): a consumer joins a group; the response names the leader, which gets
 * every member's subscription metadata to compute the assignment.
 * Spec: JoinGroupRequest.json / JoinGroupResponse.json. Flexible from v6.
 *
 * From v4 a member joining with an empty member id is answered MEMBER_ID_REQUIRED with its new
 * id and must join again (KIP-394); v5 adds static membership (`groupInstanceId`, KIP-345).
 * `metadata` bytes are slices of the request frame: copy what the group keeps.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, bytes, int16, int32, string } from '../wire/schema.js';

export const JoinGroup = new Api({
  name: 'JoinGroup',
  apiKey: 11,
  minVersion: 0,
  maxVersion: 9,
  firstFlexibleVersion: 6,
  request: {
    groupId: string(),
    sessionTimeoutMs: int32(),
    rebalanceTimeoutMs: int32({ versions: '1+', default: -1 }),
    memberId: string(),
    groupInstanceId: string({ versions: '5+', nullable: '5+', default: null }),
    protocolType: string(),
    protocols: array({
      name: string(),
      metadata: bytes(),
    }),
    reason: string({ versions: '8+', nullable: '8+', default: null }),
  },
  response: {
    throttleTimeMs: int32({ versions: '2+', optional: true }),
    errorCode: int16(),
    generationId: int32({ default: -1 }),
    protocolType: string({ versions: '7+', nullable: '7+', default: null }),
    protocolName: string({ nullable: '7+' }),
    leader: string(),
    skipAssignment: bool({ versions: '9+', default: false }),
    memberId: string(),
    members: array({
      memberId: string(),
      groupInstanceId: string({ versions: '5+', nullable: '5+', default: null }),
      metadata: bytes(),
    }),
  },
});

export type JoinGroupRequest = RequestOf<typeof JoinGroup>;
export type JoinGroupRequestInput = RequestInputOf<typeof JoinGroup>;
export type JoinGroupResponse = ResponseOf<typeof JoinGroup>;
export type JoinGroupResponseInput = ResponseInputOf<typeof JoinGroup>;
