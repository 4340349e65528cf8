/**
 * DescribeTransactions: the coordinator's state of each transactional id, as Kafka's
 * TransactionCoordinator.handleDescribeTransactions answers it: TRANSACTIONAL_ID_NOT_FOUND for an
 * id it does not know, INVALID_REQUEST for an empty one.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { DescribeTransactions, type DescribeTransactionsResponseInput } from '../../protocol/api/describe-transactions.js';
import type { TransactionDescription } from '../../broker/broker-api.js';
import { authorize } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

type TransactionStateOut = DescribeTransactionsResponseInput['transactionStates'][number];

export const describeTransactionsHandler = defineHandler({
  api: DescribeTransactions,
  handle(ctx, request) {
    const transactionStates = request.transactionalIds.map((transactionalId): TransactionStateOut => {
      // Kafka sets only the id and the error; the other fields keep the schema's zero values.
      const failed = (errorCode: number): TransactionStateOut => ({
        errorCode,
        transactionalId,
        transactionState: '',
        transactionTimeoutMs: 0,
        transactionStartTimeMs: 0,
        producerId: 0,
        producerEpoch: 0,
        topics: [],
      });
      if (!authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', transactionalId)) return failed(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST);
      let description: TransactionDescription | null;
      try {
        checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'transaction');
        description = ctx.broker.describeTransaction(transactionalId);
      } catch (error) {
        return failed(ctx.errorCode(error));
      }
      if (description === null) return failed(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      const topics = new Map<string, number[]>();
      for (const { topic, partition } of description.partitions) {
        // As Kafka: only the topics the caller may DESCRIBE are listed.
        if (!authorize(ctx, 'DESCRIBE', 'TOPIC', topic)) continue;
        let partitions = topics.get(topic);
        if (partitions === undefined) topics.set(topic, (partitions = []));
        partitions.push(partition);
      }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId,
        transactionState: description.state,
        transactionTimeoutMs: description.transactionTimeoutMs,
        transactionStartTimeMs: description.txnStartTimestampMs,
        producerId: description.producerId,
        producerEpoch: description.producerEpoch,
        topics: Array.from(topics, ([topic, partitions]) => ({ topic, partitions })),
      };
    });
    return { throttleTimeMs: 0, transactionStates };
  },
});
