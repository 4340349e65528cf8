/**
 * AddPartitionsToTxn: the partitions join the producer's transaction. v0-v3 (clients) carry one
 * transaction; v4+ carry several, each added or, with verifyOnly, checked for membership
 * (KIP-890: the check a partition leader makes before a transactional append), answered per
 * transaction under a top-level error code. As in Kafka, a transaction naming a partition that
 * does not exist adds none: those get UNKNOWN_TOPIC_OR_PARTITION and the others
 * OPERATION_NOT_ATTEMPTED. A verified partition not in the transaction gets TRANSACTION_ABORTABLE.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { AddPartitionsToTxn, type AddPartitionsToTxnResponseInput } from '../../protocol/api/add-partitions-to-txn.js';
import { authorize, authorizeCluster } from '../authorizer.js';
import { defineHandler, type RequestContext } from './handler.js';
import { partitionCountOrZero } from './partition-count.js';
import { transactionErrorCode } from './transaction-errors.js';
import { checkCoordinator } from '../cluster-view.js';

type TopicResult = NonNullable<AddPartitionsToTxnResponseInput['results']>[number];

/** Kafka's OPERATION_NOT_ATTEMPTED: the partition was valid, another in the request was not. */
const OPERATION_NOT_ATTEMPTED = 55;

interface TransactionInput {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  verifyOnly: boolean;
  topics: readonly { name: string; partitions: readonly number[] }[];
}

export const addPartitionsToTxnHandler = defineHandler({
  api: AddPartitionsToTxn,
  async handle(ctx, request) {
    if (ctx.apiVersion < 4) {
      const results = await handleTransaction(ctx, {
        transactionalId: request.transactionalId!,
        producerId: request.producerId!,
        producerEpoch: request.producerEpoch!,
        verifyOnly: false,
        topics: request.topics!,
      });
      return { throttleTimeMs: 0, results };
    }
    // v4+ is sent by brokers verifying transactions: Kafka asks CLUSTER_ACTION on the cluster.
    if (!authorizeCluster(ctx, 'CLUSTER_ACTION')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    const resultsByTransaction = await Promise.all(
      request.transactions!.map(async (transaction) => ({ transactionalId: transaction.transactionalId, topicResults: await handleTransaction(ctx, transaction) })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  },
});

async function handleTransaction(ctx: RequestContext, transaction: TransactionInput): Promise<TopicResult[]> {
  const { transactionalId, producerId, producerEpoch, topics } = transaction;
  // As Kafka: before v4, WRITE on the transactional id or every partition fails; WRITE on each
  // topic, else its partitions fail and the others are not attempted.
  if (ctx.apiVersion < 4 && !authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', transactionalId)) {
    return topics.map((topic) => ({
      name: topic.name,
      resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED })),
    }));
  }
  const denied = new Set(topics.filter((topic) => !authorize(ctx, 'WRITE', 'TOPIC', topic.name)).map((topic) => topic.name));
  const unknown = new Set<string>();
  const memo = new Map<string, number>();
  for (const topic of topics) {
    if (denied.has(topic.name)) continue;
    const count = partitionCountOrZero(ctx.broker, topic.name, memo);
    for (const partition of topic.partitions) if (partition < 0 || partition >= count) unknown.add(`${partition}:${topic.name}`);
  }
  const partitions = topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition })));
  let errorCode: number = ErrorCode.NONE;
  let notInTransaction = new Set<string>();
  if (unknown.size === 0 && denied.size === 0) {
    try {
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'transaction');
      if (transaction.verifyOnly) {
        const missing = ctx.broker.verifyPartitionsInTxn({ transactionalId, producerId, producerEpoch, partitions });
        notInTransaction = new Set(missing.map(({ topic, partition }) => `${partition}:${topic}`));
      } else {
        await ctx.broker.addPartitionsToTxn({ transactionalId, producerId, producerEpoch, partitions });
      }
    } catch (error) {
      errorCode = transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 2);
    }
  }
  const codeOf = (topic: string, partition: number): number => {
    const key = `${partition}:${topic}`;
    if (denied.size > 0 && denied.has(topic)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    if (unknown.size > 0 || denied.size > 0) return unknown.has(key) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : OPERATION_NOT_ATTEMPTED;
    if (errorCode !== ErrorCode.NONE) return errorCode;
    return notInTransaction.has(key) ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.NONE;
  };
  return topics.map((topic) => ({
    name: topic.name,
    resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: codeOf(topic.name, partitionIndex) })),
  }));
}
