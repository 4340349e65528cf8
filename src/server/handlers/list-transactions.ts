/**
 * ListTransactions: the transactional ids the coordinator knows, filtered by state names,
 * producer ids and (v1) how long their transaction has been running; state names that are no
 * transaction state come back in unknownStateFilters, as Kafka answers.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { ListTransactions } from '../../protocol/api/list-transactions.js';
import { authorize } from '../authorizer.js';
import { defineHandler } from './handler.js';

export const listTransactionsHandler = defineHandler({
  api: ListTransactions,
  handle(ctx, request) {
    try {
      // In a cluster, a broker lists the transactional ids it coordinates: none unless it leads __transaction_state.
      if (!ctx.broker.coordinates('transaction')) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters: [], transactionStates: [] };
      const listing = ctx.broker.listTransactions({
        states: request.stateFilters,
        producerIds: request.producerIdFilters,
        durationMs: request.durationFilter ?? -1,
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        unknownStateFilters: listing.unknownStates,
        // As Kafka: only the transactional ids the caller may DESCRIBE are listed.
        transactionStates: listing.transactions.filter((txn) => authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', txn.transactionalId)).map((txn) => ({ transactionalId: txn.transactionalId, producerId: txn.producerId, transactionState: txn.state })),
      };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error), unknownStateFilters: [], transactionStates: [] };
    }
  },
});
