/** AddOffsetsToTxn: the consumer group joins the transaction, before TxnOffsetCommit for it. */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { AddOffsetsToTxn } from '../../protocol/api/add-offsets-to-txn.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { transactionErrorCode } from './transaction-errors.js';
import { checkCoordinator } from '../cluster-view.js';

export const addOffsetsToTxnHandler = defineHandler({
  api: AddOffsetsToTxn,
  async handle(ctx, request) {
    try {
      requireAuthorized(ctx, 'WRITE', 'TRANSACTIONAL_ID', request.transactionalId);
      requireAuthorized(ctx, 'READ', 'GROUP', request.groupId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'transaction');
      await ctx.broker.addOffsetsToTxn({
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        groupId: request.groupId,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 2) };
    }
  },
});
