/**
 * DescribeGroups (key 15): state, protocol and members of consumer groups.
 * Spec: DescribeGroupsRequest.json / DescribeGroupsResponse.json. Flexible from v5.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, bytes, int16, int32, string } from '../wire/schema.js';

const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

export const DescribeGroups = new Api({
  name: 'DescribeGroups',
  apiKey: 15,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 5,
  request: {
    groups: array(string()),
    includeAuthorizedOperations: bool({ versions: '3+', default: false }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    groups: array({
      errorCode: int16(),
      groupId: string(),
      groupState: string(),
      protocolType: string(),
      protocolData: string(),
      members: array({
        memberId: string(),
        groupInstanceId: string({ versions: '4+', nullable: '4+', default: null }),
        clientId: string(),
        clientHost: string(),
        memberMetadata: bytes(),
        memberAssignment: bytes(),
      }),
      authorizedOperations: int32({ versions: '3+', default: AUTHORIZED_OPERATIONS_UNKNOWN }),
    }),
  },
});

export type DescribeGroupsRequest = RequestOf<typeof DescribeGroups>;
export type DescribeGroupsRequestInput = RequestInputOf<typeof DescribeGroups>;
export type DescribeGroupsResponse = ResponseOf<typeof DescribeGroups>;
export type DescribeGroupsResponseInput = ResponseInputOf<typeof DescribeGroups>;
