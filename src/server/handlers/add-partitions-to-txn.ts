/**
 * AddPartitionsToTxn (v0-v3, one transaction per request): the partitions join the producer's
 * transaction. As in Kafka, a request naming a partition that does not exist adds none: those
 * get UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { AddPartitionsToTxn, type AddPartitionsToTxnResponseInput } from '../../protocol/api/add-partitions-to-txn.js';
import { defineHandler } from './handler.js';
import { partitionCountOrZero } from './partition-count.js';
import { transactionErrorCode } from './transaction-errors.js';

type TopicResult = AddPartitionsToTxnResponseInput['results'][number];

/** Kafka's OPERATION_NOT_ATTEMPTED: the partition was valid, another in the request was not. */
const OPERATION_NOT_ATTEMPTED = 55;

export const addPartitionsToTxnHandler = defineHandler({
  api: AddPartitionsToTxn,
  async handle(ctx, request) {
    const unknown = new Set<string>();
    for (const topic of request.topics) {
      const count = partitionCountOrZero(ctx.broker, topic.name);
      for (const partition of topic.partitions) if (partition < 0 || partition >= count) unknown.add(`${partition}:${topic.name}`);
    }
    let errorCode: number = ErrorCode.NONE;
    if (unknown.size === 0) {
      try {
        await ctx.broker.addPartitionsToTxn({
          transactionalId: request.transactionalId,
          producerId: request.producerId,
          producerEpoch: request.producerEpoch,
          partitions: request.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition }))),
        });
      } catch (error) {
        errorCode = transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 2);
      }
    }
    const results = request.topics.map(
      (topic): TopicResult => ({
        name: topic.name,
        resultsByPartition: topic.partitions.map((partitionIndex) => ({
          partitionIndex,
          partitionErrorCode:
            unknown.size === 0
              ? errorCode
              : unknown.has(`${partitionIndex}:${topic.name}`)
                ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                : OPERATION_NOT_ATTEMPTED,
        })),
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});
