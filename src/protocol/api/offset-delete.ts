/**
 * OffsetDelete (key 47, KIP-496): deletes a group's committed offsets of some partitions.
 * Spec: OffsetDeleteRequest.json / OffsetDeleteResponse.json. Version 0 only, not flexible.
 *
 * The response's top-level errorCode comes BEFORE throttleTimeMs, unlike most APIs.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, string } from '../wire/schema.js';

export const OffsetDelete = new Api({
  name: 'OffsetDelete',
  apiKey: 47,
  minVersion: 0,
  maxVersion: 0,
  firstFlexibleVersion: null,
  request: {
    groupId: string(),
    topics: array({
      name: string(),
      partitions: array({ partitionIndex: int32() }),
    }),
  },
  response: {
    errorCode: int16(),
    throttleTimeMs: int32({ optional: true }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
      }),
    }),
  },
});

export type OffsetDeleteRequest = RequestOf<typeof OffsetDelete>;
export type OffsetDeleteRequestInput = RequestInputOf<typeof OffsetDelete>;
export type OffsetDeleteResponse = ResponseOf<typeof OffsetDelete>;
export type OffsetDeleteResponseInput = ResponseInputOf<typeof OffsetDelete>;
