/**
 * LeaveGroup (key 13): members leave a group, which then rebalances.
 * Spec: LeaveGroupRequest.json / LeaveGroupResponse.json. Flexible from v4.
 *
 * Up to v2 a request names one `memberId`; from v3 (KIP-345) a batch of `members`, each
 * answered in the response's `members`.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, string } from '../wire/schema.js';

export const LeaveGroup = new Api({
  name: 'LeaveGroup',
  apiKey: 13,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 4,
  request: {
    groupId: string(),
    memberId: string({ versions: '0-2' }),
    members: array(
      {
        memberId: string({ versions: '3+' }),
        groupInstanceId: string({ versions: '3+', nullable: '3+', default: null }),
        reason: string({ versions: '5+', nullable: '5+', default: null }),
      },
      { versions: '3+' },
    ),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16(),
    members: array(
      {
        memberId: string({ versions: '3+' }),
        groupInstanceId: string({ versions: '3+', nullable: '3+' }),
        errorCode: int16({ versions: '3+' }),
      },
      { versions: '3+' },
    ),
  },
});

export type LeaveGroupRequest = RequestOf<typeof LeaveGroup>;
export type LeaveGroupRequestInput = RequestInputOf<typeof LeaveGroup>;
export type LeaveGroupResponse = ResponseOf<typeof LeaveGroup>;
export type LeaveGroupResponseInput = ResponseInputOf<typeof LeaveGroup>;
