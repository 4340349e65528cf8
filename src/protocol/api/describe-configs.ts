/**
 * DescribeConfigs (key 32): configuration of topics and brokers.
 * Spec: DescribeConfigsRequest.json / DescribeConfigsResponse.json. Flexible from v4.
 *
 * `configurationKeys` null asks for every key. v0 flags defaults with `isDefault`; v1+ says
 * where each value comes from in `configSource` and can list `synonyms`.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int8, string } from '../wire/schema.js';

/** `resourceType` values (ConfigResource.Type). */
export const CONFIG_RESOURCE_TOPIC = 2;
export const CONFIG_RESOURCE_BROKER = 4;

/** `configSource` values (DescribeConfigsResponse.ConfigSource). */
export const CONFIG_SOURCE_TOPIC = 1;
export const CONFIG_SOURCE_DYNAMIC_BROKER = 2;
export const CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3;
export const CONFIG_SOURCE_STATIC_BROKER = 4;
export const CONFIG_SOURCE_DEFAULT = 5;

export const DescribeConfigs = new Api({
  name: 'DescribeConfigs',
  apiKey: 32,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 4,
  request: {
    resources: array({
      resourceType: int8(),
      resourceName: string(),
      configurationKeys: array(string(), { nullable: '0+' }),
    }),
    includeSynonyms: bool({ versions: '1+', default: false }),
    includeDocumentation: bool({ versions: '3+', default: false }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    results: array({
      errorCode: int16(),
      errorMessage: string({ nullable: '0+', default: null }),
      resourceType: int8(),
      resourceName: string(),
      configs: array({
        name: string(),
        value: string({ nullable: '0+' }),
        readOnly: bool(),
        isDefault: bool({ versions: '0' }),
        configSource: int8({ versions: '1+', default: -1 }),
        isSensitive: bool(),
        synonyms: array(
          {
            name: string({ versions: '1+' }),
            value: string({ versions: '1+', nullable: '0+' }),
            source: int8({ versions: '1+' }),
          },
          { versions: '1+', optional: true },
        ),
        configType: int8({ versions: '3+', default: 0 }),
        documentation: string({ versions: '3+', nullable: '0+', default: null }),
      }),
    }),
  },
});

export type DescribeConfigsRequest = RequestOf<typeof DescribeConfigs>;
export type DescribeConfigsRequestInput = RequestInputOf<typeof DescribeConfigs>;
export type DescribeConfigsResponse = ResponseOf<typeof DescribeConfigs>;
export type DescribeConfigsResponseInput = ResponseInputOf<typeof DescribeConfigs>;
