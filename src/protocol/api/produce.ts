/**
 * Produce (key 0): append record batches to partitions.
 * Spec: ProduceRequest.json / ProduceResponse.json. Flexible from v9.
 *
 * v0-v2 carry legacy MessageSets (magic 0 and 1), which the handler converts to RecordBatch v2
 * (see ../legacy-message-set.ts); v3 is the first version that carries RecordBatch v2.
 * `records` is decoded as a slice of the request frame, so batches reach the log unchanged.
 * acks 0 means the broker sends no response at all.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, records, string, struct } from '../wire/schema.js';

export const Produce = new Api({
  name: 'Produce',
  apiKey: 0,
  minVersion: 0,
  maxVersion: 11,
  firstFlexibleVersion: 9,
  request: {
    transactionalId: string({ versions: '3+', nullable: '3+', default: null }),
    acks: int16(),
    timeoutMs: int32(),
    topicData: array({
      name: string(),
      partitionData: array({
        index: int32(),
        records: records(),
      }),
    }),
  },
  response: {
    responses: array({
      name: string(),
      partitionResponses: array({
        index: int32(),
        errorCode: int16(),
        baseOffset: int64(),
        logAppendTimeMs: int64({ versions: '2+', default: -1 }),
        logStartOffset: int64({ versions: '5+', default: -1 }),
        recordErrors: array(
          {
            batchIndex: int32({ versions: '8+' }),
            batchIndexErrorMessage: string({ versions: '8+', nullable: '8+', default: null }),
          },
          { versions: '8+', optional: true },
        ),
        errorMessage: string({ versions: '8+', nullable: '8+', default: null }),
        currentLeader: struct(
          {
            leaderId: int32({ versions: '10+', default: -1 }),
            leaderEpoch: int32({ versions: '10+', default: -1 }),
          },
          { versions: '10+', tag: 0 },
        ),
      }),
    }),
    throttleTimeMs: int32({ versions: '1+', default: 0 }),
    nodeEndpoints: array(
      {
        nodeId: int32({ versions: '10+' }),
        host: string({ versions: '10+' }),
        port: int32({ versions: '10+' }),
        rack: string({ versions: '10+', nullable: '10+', default: null }),
      },
      { versions: '10+', tag: 0 },
    ),
  },
});

export type ProduceRequest = RequestOf<typeof Produce>;
export type ProduceRequestInput = RequestInputOf<typeof Produce>;
export type ProduceResponse = ResponseOf<typeof Produce>;
export type ProduceResponseInput = ResponseInputOf<typeof Produce>;
