/**
 * AlterConfigs (key 33): replace a resource's config overrides with the given set (configs left
 * out revert to their defaults). Spec: AlterConfigsRequest.json / AlterConfigsResponse.json.
 * Flexible from v2.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int8, string } from '../wire/schema.js';

export const AlterConfigs = new Api({
  name: 'AlterConfigs',
  apiKey: 33,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 2,
  request: {
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      configs: array({
        name: string(),
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

export type AlterConfigsRequest = RequestOf<typeof AlterConfigs>;
export type AlterConfigsRequestInput = RequestInputOf<typeof AlterConfigs>;
export type AlterConfigsResponse = ResponseOf<typeof AlterConfigs>;
export type AlterConfigsResponseInput = ResponseInputOf<typeof AlterConfigs>;
