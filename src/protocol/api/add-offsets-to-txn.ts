/**
 * AddOffsetsToTxn (key 25): a transactional producer declares it will commit offsets of a group
 * in the transaction (consume-transform-produce). Spec: AddOffsetsToTxnRequest.json /
 * AddOffsetsToTxnResponse.json. Flexible from v3. v2 adds PRODUCER_FENCED (KIP-588), v4
 * TRANSACTION_ABORTABLE (KIP-890); the bodies never change.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { int16, int32, int64, string } from '../wire/schema.js';

export const AddOffsetsToTxn = new Api({
  name: 'AddOffsetsToTxn',
  apiKey: 25,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,
  request: {
    transactionalId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    groupId: string(),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16(),
  },
});

export type AddOffsetsToTxnRequest = RequestOf<typeof AddOffsetsToTxn>;
export type AddOffsetsToTxnRequestInput = RequestInputOf<typeof AddOffsetsToTxn>;
export type AddOffsetsToTxnResponse = ResponseOf<typeof AddOffsetsToTxn>;
export type AddOffsetsToTxnResponseInput = ResponseInputOf<typeof AddOffsetsToTxn>;
