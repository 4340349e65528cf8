/**
 * DeleteRecords (key 21): move partitions' log start offsets forward, deleting the records below.
 * Spec: DeleteRecordsRequest.json / DeleteRecordsResponse.json. Flexible from v2.
 *
 * An `offset` of -1 means the high watermark; `lowWatermark` answers the new log start offset.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

export const DeleteRecords = new Api({
  name: 'DeleteRecords',
  apiKey: 21,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 2,
  request: {
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        offset: int64(),
      }),
    }),
    timeoutMs: int32(),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        lowWatermark: int64(),
        errorCode: int16(),
      }),
    }),
  },
});

export type DeleteRecordsRequest = RequestOf<typeof DeleteRecords>;
export type DeleteRecordsRequestInput = RequestInputOf<typeof DeleteRecords>;
export type DeleteRecordsResponse = ResponseOf<typeof DeleteRecords>;
export type DeleteRecordsResponseInput = ResponseInputOf<typeof DeleteRecords>;
