/**
 * CreatePartitions (key 37): grow a topic to `count` partitions (never shrink).
 * Spec: CreatePartitionsRequest.json / CreatePartitionsResponse.json. Flexible from v2.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, string } from '../wire/schema.js';

export const CreatePartitions = new Api({
  name: 'CreatePartitions',
  apiKey: 37,
  minVersion: 0,
  maxVersion: 3,
  firstFlexibleVersion: 2,
  request: {
    topics: array({
      name: string(),
      count: int32(),
      /** Replica placement of each new partition, or null to let the broker choose. */
      assignments: array({ brokerIds: array(int32()) }, { nullable: '0+' }),
    }),
    timeoutMs: int32(),
    validateOnly: bool(),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    results: array({
      name: string(),
      errorCode: int16(),
      errorMessage: string({ nullable: '0+', default: null }),
    }),
  },
});

export type CreatePartitionsRequest = RequestOf<typeof CreatePartitions>;
export type CreatePartitionsRequestInput = RequestInputOf<typeof CreatePartitions>;
export type CreatePartitionsResponse = ResponseOf<typeof CreatePartitions>;
export type CreatePartitionsResponseInput = ResponseInputOf<typeof CreatePartitions>;
