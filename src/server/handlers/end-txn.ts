/**
 * EndTxn: commits or aborts the producer's transaction. Answered once the transaction is complete
 * (markers written, group offsets committed or dropped), so a read_committed fetch that follows
 * the answer sees the outcome.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { EndTxn } from '../../protocol/api/end-txn.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { transactionErrorCode } from './transaction-errors.js';
import { checkCoordinator } from '../cluster-view.js';

export const endTxnHandler = defineHandler({
  api: EndTxn,
  async handle(ctx, request) {
    try {
      requireAuthorized(ctx, 'WRITE', 'TRANSACTIONAL_ID', request.transactionalId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'transaction');
      await ctx.broker.endTxn({
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        committed: request.committed,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 2) };
    }
  },
});
