/**
 * OffsetDelete (KIP-496): deletes a group's committed offsets of some partitions. A partition of
 * a topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION, as in Kafka; the coordinator
 * answers the rest (GROUP_SUBSCRIBED_TO_TOPIC for a topic a member consumes). A group-level
 * refusal (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, INVALID_GROUP_ID) is the top-level errorCode,
 * with no topics. A consumer-protocol group (KIP-848) is answered by its own coordinator.
 */
import type { OffsetDeletePartitionResult } from '../../broker/group-coordinator.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { OffsetDelete, type OffsetDeleteResponseInput } from '../../protocol/api/offset-delete.js';
import { authorize } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { partitionCountOrZero } from './partition-count.js';
import { checkCoordinator } from '../cluster-view.js';

type TopicResponse = OffsetDeleteResponseInput['topics'][number];

export const offsetDeleteHandler = defineHandler({
  api: OffsetDelete,
  async handle(ctx, request) {
    // As Kafka: DELETE on the group, else the whole request fails; READ on each topic, else its partitions fail.
    if (!authorize(ctx, 'DELETE', 'GROUP', request.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const deniedTopics = new Set(request.topics.filter(({ name }) => !authorize(ctx, 'READ', 'TOPIC', name)).map(({ name }) => name));
    const known: { topic: string; partition: number }[] = [];
    const partitionCounts = new Map<string, number>();
    for (const { name, partitions } of request.topics) {
      if (deniedTopics.has(name)) continue;
      const count = partitionCountOrZero(ctx.broker, name, partitionCounts);
      for (const { partitionIndex } of partitions) {
        if (partitionIndex >= 0 && partitionIndex < count) known.push({ topic: name, partition: partitionIndex });
      }
    }
    let results: OffsetDeletePartitionResult[];
    try {
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      results = ctx.broker.consumerGroups.has(request.groupId)
        ? await ctx.broker.consumerGroups.deletePartitionOffsets(request.groupId, known)
        : await ctx.broker.groups.deletePartitionOffsets({ groupId: request.groupId, partitions: known });
    } catch (error) {
      return { errorCode: ctx.errorCode(error), throttleTimeMs: 0, topics: [] };
    }
    const errorByPartition = new Map(results.map((result) => [`${result.partition}\0${result.topic}`, result.error]));
    const topics: TopicResponse[] = request.topics.map(({ name, partitions }) => ({
      name,
      partitions: partitions.map(({ partitionIndex }) => {
        if (deniedTopics.has(name)) return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        const error = errorByPartition.get(`${partitionIndex}\0${name}`);
        if (error === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        return { partitionIndex, errorCode: error === null ? ErrorCode.NONE : ctx.errorCode(error) };
      }),
    }));
    return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
  },
});

