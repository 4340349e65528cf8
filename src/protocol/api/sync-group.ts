/**
 * SyncGroup (key 14): the leader hands in the assignment; every member gets its own share.
 * Spec: SyncGroupRequest.json / SyncGroupResponse.json. Flexible from v4.
 * `assignment` bytes are slices of the request frame: copy what the group keeps.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bytes, int16, int32, string } from '../wire/schema.js';

export const SyncGroup = new Api({
  name: 'SyncGroup',
  apiKey: 14,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 4,
  request: {
    groupId: string(),
    generationId: int32(),
    memberId: string(),
    groupInstanceId: string({ versions: '3+', nullable: '3+', default: null }),
    protocolType: string({ versions: '5+', nullable: '5+', default: null }),
    protocolName: string({ versions: '5+', nullable: '5+', default: null }),
    assignments: array({
      memberId: string(),
      assignment: bytes(),
    }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16(),
    protocolType: string({ versions: '5+', nullable: '5+', default: null }),
    protocolName: string({ versions: '5+', nullable: '5+', default: null }),
    assignment: bytes(),
  },
});

export type SyncGroupRequest = RequestOf<typeof SyncGroup>;
export type SyncGroupRequestInput = RequestInputOf<typeof SyncGroup>;
export type SyncGroupResponse = ResponseOf<typeof SyncGroup>;
export type SyncGroupResponseInput = ResponseInputOf<typeof SyncGroup>;
