/**
 * DescribeProducers (key 61, KIP-664): the producers a partition's log remembers, with their
 * epoch, last sequence and the first offset of their open transaction, for finding hanging
 * transactions. Spec: DescribeProducersRequest.json / DescribeProducersResponse.json. Flexible
 * from v0.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

export const DescribeProducers = new Api({
  name: 'DescribeProducers',
  apiKey: 61,
  minVersion: 0,
  maxVersion: 0,
  firstFlexibleVersion: 0,
  request: {
    topics: array({
      name: string(),
      partitionIndexes: array(int32()),
    }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
        errorMessage: string({ nullable: '0+', default: null }),
        activeProducers: array({
          producerId: int64(),
          producerEpoch: int32(),
          lastSequence: int32({ default: -1 }),
          lastTimestamp: int64({ default: -1 }),
          coordinatorEpoch: int32(),
          currentTxnStartOffset: int64({ default: -1 }),
        }),
      }),
    }),
  },
});

export type DescribeProducersRequest = RequestOf<typeof DescribeProducers>;
export type DescribeProducersRequestInput = RequestInputOf<typeof DescribeProducers>;
export type DescribeProducersResponse = ResponseOf<typeof DescribeProducers>;
export type DescribeProducersResponseInput = ResponseInputOf<typeof DescribeProducers>;
