/**
 * InitProducerId (key 22): a producer gets its id and epoch, for idempotence and transactions.
 * Spec: InitProducerIdRequest.json / InitProducerIdResponse.json. Flexible from v2.
 *
 * `transactionalId` null: an idempotent producer. v3+ lets a producer that already has an id
 * and epoch ask for a bumped epoch (KIP-360) instead of a new id. v4 adds PRODUCER_FENCED
 * (KIP-588), v5 TRANSACTION_ABORTABLE (KIP-890); the bodies are those of v3.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { int16, int32, int64, string } from '../wire/schema.js';

export const InitProducerId = new Api({
  name: 'InitProducerId',
  apiKey: 22,
  minVersion: 0,
  maxVersion: 5,
  firstFlexibleVersion: 2,
  request: {
    transactionalId: string({ nullable: '0+' }),
    transactionTimeoutMs: int32(),
    producerId: int64({ versions: '3+', default: -1 }),
    producerEpoch: int16({ versions: '3+', default: -1 }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16(),
    producerId: int64({ default: -1 }),
    producerEpoch: int16(),
  },
});

export type InitProducerIdRequest = RequestOf<typeof InitProducerId>;
export type InitProducerIdRequestInput = RequestInputOf<typeof InitProducerId>;
export type InitProducerIdResponse = ResponseOf<typeof InitProducerId>;
export type InitProducerIdResponseInput = ResponseInputOf<typeof InitProducerId>;
