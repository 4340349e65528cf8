/**
 * InitProducerId: a producer id and epoch for an idempotent producer (no transactional id) or a
 * transactional one, whose epoch bump fences its older instances. The broker answers once an open
 * transaction of a previous instance is aborted, so clients seldom see CONCURRENT_TRANSACTIONS.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { InitProducerId } from '../../protocol/api/init-producer-id.js';
import { defineHandler } from './handler.js';
import { transactionErrorCode } from './transaction-errors.js';

export const initProducerIdHandler = defineHandler({
  api: InitProducerId,
  async handle(ctx, request) {
    try {
      const result = await ctx.broker.initProducerId({
        transactionalId: request.transactionalId,
        transactionTimeoutMs: request.transactionTimeoutMs,
        // v0-v2 carry neither: the codec's defaults (-1) mean "none".
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: result.producerId, producerEpoch: result.producerEpoch };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 4), producerId: -1, producerEpoch: -1 };
    }
  },
});
