/**
 * ListTransactions (key 66, KIP-664): the transactional ids the coordinator knows, filtered by
 * state names, producer ids and (v1, KIP-994) a minimum running time. Spec:
 * ListTransactionsRequest.json / ListTransactionsResponse.json. Flexible from v0.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int64, string } from '../wire/schema.js';

export const ListTransactions = new Api({
  name: 'ListTransactions',
  apiKey: 66,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 0,
  request: {
    stateFilters: array(string()),
    producerIdFilters: array(int64()),
    durationFilter: int64({ versions: '1+', default: -1 }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16(),
    unknownStateFilters: array(string()),
    transactionStates: array({
      transactionalId: string(),
      producerId: int64(),
      transactionState: string(),
    }),
  },
});

export type ListTransactionsRequest = RequestOf<typeof ListTransactions>;
export type ListTransactionsRequestInput = RequestInputOf<typeof ListTransactions>;
export type ListTransactionsResponse = ResponseOf<typeof ListTransactions>;
export type ListTransactionsResponseInput = ResponseInputOf<typeof ListTransactions>;
