/**
 * DeleteAcls (key 31): removes the ACL bindings matching each filter and lists what each filter
 * removed. Spec: DeleteAclsRequest.json / DeleteAclsResponse.json. v1 added pattern types
 * (KIP-290; v0 knows only LITERAL), v2 is the first flexible version, v3 adds the USER_*
 * operations.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int8, string } from '../wire/schema.js';

/** Kafka's PatternType.LITERAL code: the value of the pattern type fields a v0 message lacks. */
const LITERAL = 3;

export const DeleteAcls = new Api({
  name: 'DeleteAcls',
  apiKey: 31,
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: 2,
  request: {
    filters: array({
      resourceTypeFilter: int8(),
      resourceNameFilter: string({ nullable: '0+' }),
      patternTypeFilter: int8({ versions: '1+', default: LITERAL }),
      principalFilter: string({ nullable: '0+' }),
      hostFilter: string({ nullable: '0+' }),
      operation: int8(),
      permissionType: int8(),
    }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    filterResults: array({
      errorCode: int16(),
      errorMessage: string({ nullable: '0+', default: null }),
      matchingAcls: array({
        errorCode: int16(),
        errorMessage: string({ nullable: '0+', default: null }),
        resourceType: int8(),
        resourceName: string(),
        patternType: int8({ versions: '1+', default: LITERAL }),
        principal: string(),
        host: string(),
        operation: int8(),
        permissionType: int8(),
      }),
    }),
  },
});

export type DeleteAclsRequest = RequestOf<typeof DeleteAcls>;
export type DeleteAclsRequestInput = RequestInputOf<typeof DeleteAcls>;
export type DeleteAclsResponse = ResponseOf<typeof DeleteAcls>;
export type DeleteAclsResponseInput = ResponseInputOf<typeof DeleteAcls>;
