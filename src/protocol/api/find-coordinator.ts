/**
 * FindCoordinator (key 10): which broker coordinates a consumer group or a transactional id.
 * Spec: FindCoordinatorRequest.json / FindCoordinatorResponse.json. Flexible from v3.
 *
 * Up to v3 a request names one `key` and the response one coordinator; from v4 (KIP-699) a
 * request carries `coordinatorKeys` and the response one entry per key in `coordinators`. v5 only
 * allows TRANSACTION_ABORTABLE (KIP-890); v6 adds the share-group key type (KIP-932). The bodies
 * of v4, v5 and v6 are the same.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int8, string } from '../wire/schema.js';

export const COORDINATOR_KEY_TYPE_GROUP = 0;
export const COORDINATOR_KEY_TYPE_TRANSACTION = 1;
/** A share group's coordinator (KIP-932): a valid key type from v6. */
export const COORDINATOR_KEY_TYPE_SHARE = 2;
/** The first version whose requests may name share groups. */
export const FIND_COORDINATOR_SHARE_VERSION = 6;

export const FindCoordinator = new Api({
  name: 'FindCoordinator',
  apiKey: 10,
  minVersion: 0,
  maxVersion: 6,
  firstFlexibleVersion: 3,
  request: {
    key: string({ versions: '0-3' }),
    keyType: int8({ versions: '1+', default: COORDINATOR_KEY_TYPE_GROUP }),
    coordinatorKeys: array(string(), { versions: '4+' }),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    errorCode: int16({ versions: '0-3' }),
    errorMessage: string({ versions: '1-3', nullable: '1-3', default: null }),
    nodeId: int32({ versions: '0-3' }),
    host: string({ versions: '0-3' }),
    port: int32({ versions: '0-3' }),
    coordinators: array(
      {
        key: string({ versions: '4+' }),
        nodeId: int32({ versions: '4+' }),
        host: string({ versions: '4+' }),
        port: int32({ versions: '4+' }),
        errorCode: int16({ versions: '4+' }),
        errorMessage: string({ versions: '4+', nullable: '4+', default: null }),
      },
      { versions: '4+' },
    ),
  },
});

export type FindCoordinatorRequest = RequestOf<typeof FindCoordinator>;
export type FindCoordinatorRequestInput = RequestInputOf<typeof FindCoordinator>;
export type FindCoordinatorResponse = ResponseOf<typeof FindCoordinator>;
export type FindCoordinatorResponseInput = ResponseInputOf<typeof FindCoordinator>;
