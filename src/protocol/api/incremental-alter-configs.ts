/**
 * IncrementalAlterConfigs (key 44, KIP-339): change single configs of a resource with SET, DELETE,
 * APPEND or SUBTRACT (the last two for list-typed configs). Spec:
 * IncrementalAlterConfigsRequest.json / IncrementalAlterConfigsResponse.json. Flexible from v1.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int8, string } from '../wire/schema.js';

export const IncrementalAlterConfigs = new Api({
  name: 'IncrementalAlterConfigs',
  apiKey: 44,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 1,
  request: {
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      configs: array({
        name: string(),
        /** AlterConfigOp.OpType: SET 0, DELETE 1, APPEND 2, SUBTRACT 3. */
        configOperation: int8(),
        value: string({ nullable: '0+' }),
      }),
    }),
    validateOnly: bool(),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    responses: array({
      errorCode: int16(),
      errorMessage: string({ nullable: '0+', default: null }),
      resourceType: int8(),
      resourceName: string(),
    }),
  },
});

export type IncrementalAlterConfigsRequest = RequestOf<typeof IncrementalAlterConfigs>;
export type IncrementalAlterConfigsRequestInput = RequestInputOf<typeof IncrementalAlterConfigs>;
export type IncrementalAlterConfigsResponse = ResponseOf<typeof IncrementalAlterConfigs>;
export type IncrementalAlterConfigsResponseInput = ResponseInputOf<typeof IncrementalAlterConfigs>;
