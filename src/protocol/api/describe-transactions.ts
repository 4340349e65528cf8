/**
 * DescribeTransactions (key 65, KIP-664): the coordinator's state of transactional ids: state,
 * producer id and epoch, timeout, start time and the partitions of the transaction in flight.
 * Spec: DescribeTransactionsRequest.json / DescribeTransactionsResponse.json. Flexible from v0.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

export const DescribeTransactions = new Api({
  name: 'DescribeTransactions',
  apiKey: 65,
  minVersion: 0,
  maxVersion: 0,
  firstFlexibleVersion: 0,
  request: {
    transactionalIds: array(string()),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    transactionStates: array({
      errorCode: int16(),
      transactionalId: string(),
      transactionState: string(),
      transactionTimeoutMs: int32(),
      transactionStartTimeMs: int64(),
      producerId: int64(),
      producerEpoch: int16(),
      topics: array({
        topic: string(),
        partitions: array(int32()),
      }),
    }),
  },
});

export type DescribeTransactionsRequest = RequestOf<typeof DescribeTransactions>;
export type DescribeTransactionsRequestInput = RequestInputOf<typeof DescribeTransactions>;
export type DescribeTransactionsResponse = ResponseOf<typeof DescribeTransactions>;
export type DescribeTransactionsResponseInput = ResponseInputOf<typeof DescribeTransactions>;
