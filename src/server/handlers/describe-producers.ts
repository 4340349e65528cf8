/**
 * DescribeProducers: each requested partition's producers as its log remembers them (the owning
 * shard answers). As Kafka: an invalid topic name gets INVALID_TOPIC_EXCEPTION, a topic or
 * partition that does not exist UNKNOWN_TOPIC_OR_PARTITION, each with a message.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { DescribeProducers, type DescribeProducersResponseInput } from '../../protocol/api/describe-producers.js';
import { validateTopicName } from '../../storage/topic-store.js';
import { authorize } from '../authorizer.js';
import { defineHandler, errorMessageOf } from './handler.js';
import { partitionCountOrZero } from './partition-count.js';

type PartitionResponse = DescribeProducersResponseInput['topics'][number]['partitions'][number];

export const describeProducersHandler = defineHandler({
  api: DescribeProducers,
  async handle(ctx, request) {
    const topics = await Promise.all(
      request.topics.map(async (topic) => {
        let topicError: { errorCode: number; errorMessage: string } | null = null;
        try {
          if (!authorize(ctx, 'READ', 'TOPIC', topic.name)) topicError = { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: `not authorized to READ topic "${topic.name}"` };
          else validateTopicName(topic.name);
        } catch (error) {
          topicError = { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: errorMessageOf(error) };
        }
        const count = topicError === null ? partitionCountOrZero(ctx.broker, topic.name) : 0;
        const partitions = await Promise.all(
          topic.partitionIndexes.map(async (partitionIndex): Promise<PartitionResponse> => {
            if (topicError !== null) return { partitionIndex, ...topicError, activeProducers: [] };
            if (partitionIndex < 0 || partitionIndex >= count) {
              const errorMessage = `This server does not host this topic-partition: ${topic.name}-${partitionIndex}`;
              return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage, activeProducers: [] };
            }
            try {
              const producers = await ctx.broker.describeProducers(topic.name, partitionIndex);
              return {
                partitionIndex,
                errorCode: ErrorCode.NONE,
                errorMessage: null,
                activeProducers: producers.map((producer) => ({
                  producerId: producer.producerId,
                  producerEpoch: producer.producerEpoch,
                  lastSequence: producer.lastSequence,
                  lastTimestamp: producer.lastTimestampMs,
                  coordinatorEpoch: producer.coordinatorEpoch,
                  currentTxnStartOffset: producer.currentTxnStartOffset,
                })),
              };
            } catch (error) {
              return { partitionIndex, errorCode: ctx.errorCode(error), errorMessage: errorMessageOf(error), activeProducers: [] };
            }
          }),
        );
        return { name: topic.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
