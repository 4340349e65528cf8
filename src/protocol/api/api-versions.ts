/**
 * ApiVersions (key 18): the client asks which APIs and versions the broker serves.
 * Spec: ApiVersionsRequest.json / ApiVersionsResponse.json. Flexible from v3.
 *
 * Two rules peculiar to this API (KIP-511):
 *  - Its response header is always v0, even at flexible versions (see ./registry.ts), so a client
 *    can parse the answer to a version the broker does not know.
 *  - To a request of a version it does not serve, the broker answers with a v0 response holding
 *    UNSUPPORTED_VERSION and at least its own ApiVersions range; the client retries with that.
 */
import { Api, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int64, string } from '../wire/schema.js';

export const ApiVersions = new Api({
  name: 'ApiVersions',
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,
  request: {
    clientSoftwareName: string({ versions: '3+' }),
    clientSoftwareVersion: string({ versions: '3+' }),
  },
  response: {
    errorCode: int16(),
    apiKeys: array({
      apiKey: int16(),
      minVersion: int16(),
      maxVersion: int16(),
    }),
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    supportedFeatures: array(
      { name: string({ versions: '3+' }), minVersion: int16({ versions: '3+' }), maxVersion: int16({ versions: '3+' }) },
      { versions: '3+', tag: 0 },
    ),
    finalizedFeaturesEpoch: int64({ versions: '3+', tag: 1, default: -1 }),
    finalizedFeatures: array(
      {
        name: string({ versions: '3+' }),
        maxVersionLevel: int16({ versions: '3+' }),
        minVersionLevel: int16({ versions: '3+' }),
      },
      { versions: '3+', tag: 2 },
    ),
    zkMigrationReady: bool({ versions: '3+', tag: 3, default: false }),
  },
});

export type ApiVersionsRequest = RequestOf<typeof ApiVersions>;
export type ApiVersionsResponse = ResponseOf<typeof ApiVersions>;
export type ApiVersionsResponseInput = ResponseInputOf<typeof ApiVersions>;
