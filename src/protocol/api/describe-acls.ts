/**
 * DescribeAcls (key 29): the ACL bindings matching one filter, grouped by resource pattern.
 * Spec: DescribeAclsRequest.json / DescribeAclsResponse.json. v1 added pattern types (KIP-290;
 * v0 knows only LITERAL), v2 is the first flexible version, v3 adds the USER_* operations.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int8, string } from '../wire/schema.js';

/** Kafka's PatternType.LITERAL code: the value of the pattern type fields a v0 message lacks. */
const LITERAL = 3;

export const DescribeAcls = new Api({
  name: 'DescribeAcls',
  apiKey: 29,
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: 2,
  request: {
    resourceTypeFilter: int8(),
    resourceNameFilter: string({ nullable: '0+' }),
    patternTypeFilter: int8({ versions: '1+', default: LITERAL }),
    principalFilter: string({ nullable: '0+' }),
    hostFilter: string({ nullable: '0+' }),
    operation: int8(),
    permissionType: int8(),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16(),
    errorMessage: string({ nullable: '0+', default: null }),
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      patternType: int8({ versions: '1+', default: LITERAL }),
      acls: array({
        principal: string(),
        host: string(),
        operation: int8(),
        permissionType: int8(),
      }),
    }),
  },
});

export type DescribeAclsRequest = RequestOf<typeof DescribeAcls>;
export type DescribeAclsRequestInput = RequestInputOf<typeof DescribeAcls>;
export type DescribeAclsResponse = ResponseOf<typeof DescribeAcls>;
export type DescribeAclsResponseInput = ResponseInputOf<typeof DescribeAcls>;
