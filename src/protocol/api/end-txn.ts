/**
 * EndTxn (key 26): commit (`committed` true) or abort a transaction; the coordinator writes the
 * markers. Spec: EndTxnRequest.json / EndTxnResponse.json. Flexible from v3. v2 adds
 * PRODUCER_FENCED (KIP-588), v4 TRANSACTION_ABORTABLE (KIP-890); the bodies never change.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { bool, int16, int32, int64, string } from '../wire/schema.js';

export const EndTxn = new Api({
  name: 'EndTxn',
  apiKey: 26,
  minVersion: 0,
  maxVersion: 4,
  firstFlexibleVersion: 3,
  request: {
    transactionalId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    committed: bool(),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16(),
  },
});

export type EndTxnRequest = RequestOf<typeof EndTxn>;
export type EndTxnRequestInput = RequestInputOf<typeof EndTxn>;
export type EndTxnResponse = ResponseOf<typeof EndTxn>;
export type EndTxnResponseInput = ResponseInputOf<typeof EndTxn>;
