/**
 * CreateAcls (key 30): adds ACL bindings, one result per creation in request order.
 * Spec: CreateAclsRequest.json / CreateAclsResponse.json. v1 added pattern types (KIP-290;
 * v0 knows only LITERAL), v2 is the first flexible version, v3 adds the USER_* operations.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int8, string } from '../wire/schema.js';

/** Kafka's PatternType.LITERAL code: the value of the pattern type field a v0 message lacks. */
const LITERAL = 3;

export const CreateAcls = new Api({
  name: 'CreateAcls',
  apiKey: 30,
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: 2,
  request: {
    creations: array({
      resourceType: int8(),
      resourceName: string(),
      resourcePatternType: int8({ versions: '1+', default: LITERAL }),
      principal: string(),
      host: string(),
      operation: int8(),
      permissionType: int8(),
    }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    results: array({
      errorCode: int16(),
      errorMessage: string({ nullable: '0+', default: null }),
    }),
  },
});

export type CreateAclsRequest = RequestOf<typeof CreateAcls>;
export type CreateAclsRequestInput = RequestInputOf<typeof CreateAcls>;
export type CreateAclsResponse = ResponseOf<typeof CreateAcls>;
export type CreateAclsResponseInput = ResponseInputOf<typeof CreateAcls>;
