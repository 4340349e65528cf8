/**
 * TxnOffsetCommit: consumer offsets staged in the producer's transaction, visible to the group
 * once it commits. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and are not
 * staged; a transaction-level rejection (fenced, group not added) is every partition's error:
 * INVALID_PRODUCER_EPOCH for a zombie, TRANSACTION_ABORTABLE (INVALID_TXN_STATE before v4) for a
 * group not added with AddOffsetsToTxn.
 * v3+ carries the consumer's generation and member (KIP-447): a commit naming them must come from
 * a current member of the current generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * FENCED_INSTANCE_ID otherwise).
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { TxnOffsetCommit, type TxnOffsetCommitResponseInput } from '../../protocol/api/txn-offset-commit.js';
import { authorize } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { offsetsOfKnownPartitions } from './partition-count.js';
import { abortableErrorCode, transactionErrorCode } from './transaction-errors.js';
import { checkCoordinator } from '../cluster-view.js';

type TopicResponse = TxnOffsetCommitResponseInput['topics'][number];

export const txnOffsetCommitHandler = defineHandler({
  api: TxnOffsetCommit,
  async handle(ctx, request) {
    // As Kafka: WRITE on the transactional id, then READ on the group, else every partition fails;
    // READ on each topic, else its partitions fail and are not committed.
    const requestError = !authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', request.transactionalId)
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !authorize(ctx, 'READ', 'GROUP', request.groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : ErrorCode.NONE;
    const deniedTopics = new Set(request.topics.filter((topic) => !authorize(ctx, 'READ', 'TOPIC', topic.name)).map((topic) => topic.name));
    const counts = new Map<string, number>();
    const offsets = offsetsOfKnownPartitions(ctx.broker, request.topics.filter((topic) => !deniedTopics.has(topic.name)), counts);
    let errorCode: number = ErrorCode.NONE;
    if (offsets.length > 0 && requestError === ErrorCode.NONE) {
      try {
        checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
        await ctx.broker.txnOffsetCommit({
          transactionalId: request.transactionalId,
          producerId: request.producerId,
          producerEpoch: request.producerEpoch,
          groupId: request.groupId,
          offsets,
          generationId: request.generationId,
          memberId: request.memberId,
          groupInstanceId: request.groupInstanceId,
        });
      } catch (error) {
        // Kafka 3.9 verifies the group's offsets partition with the coordinator, and answers a
        // fenced producer INVALID_PRODUCER_EPOCH at every version, as it does for a batch.
        errorCode = abortableErrorCode(transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, Infinity), ctx.apiVersion, 4);
      }
    }
    const topics = request.topics.map(
      (topic): TopicResponse => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode:
            requestError !== ErrorCode.NONE
              ? requestError
              : deniedTopics.has(topic.name)
                ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                : partitionIndex >= (counts.get(topic.name) ?? 0)
                  ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                  : errorCode,
        })),
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
