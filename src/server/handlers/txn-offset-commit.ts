/**
 * TxnOffsetCommit: consumer offsets staged in the producer's transaction, visible to the group
 * once it commits. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and are not
 * staged; a transaction-level rejection (fenced, group not added) is every partition's error.
 * The v3 generation and member fields (KIP-447) are not checked against the group.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { TxnOffsetCommit, type TxnOffsetCommitResponseInput } from '../../protocol/api/txn-offset-commit.js';
import { defineHandler } from './handler.js';
import { offsetsOfKnownPartitions } from './partition-count.js';
import { transactionErrorCode } from './transaction-errors.js';

type TopicResponse = TxnOffsetCommitResponseInput['topics'][number];

export const txnOffsetCommitHandler = defineHandler({
  api: TxnOffsetCommit,
  async handle(ctx, request) {
    const counts = new Map<string, number>();
    const offsets = offsetsOfKnownPartitions(ctx.broker, request.topics, counts);
    let errorCode: number = ErrorCode.NONE;
    if (offsets.length > 0) {
      try {
        await ctx.broker.txnOffsetCommit({
          transactionalId: request.transactionalId,
          producerId: request.producerId,
          producerEpoch: request.producerEpoch,
          groupId: request.groupId,
          offsets,
        });
      } catch (error) {
        errorCode = transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 3);
      }
    }
    const topics = request.topics.map(
      (topic): TopicResponse => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode: partitionIndex >= (counts.get(topic.name) ?? 0) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : errorCode,
        })),
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
