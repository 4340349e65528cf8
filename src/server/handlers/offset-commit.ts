/**
 * OffsetCommit, mapped onto the group coordinator. Partitions of unknown topics (or past a topic's
 * partition count) get UNKNOWN_TOPIC_OR_PARTITION and are not committed, as in Kafka; a group-level
 * rejection (stale generation, unknown member, rebalance) is every partition's error. From v9 a
 * commit naming a generation (>= 0) of a group that does not exist is GROUP_ID_NOT_FOUND, as in
 * Kafka 3.9 (ILLEGAL_GENERATION before); a group being deleted counts as gone, since Kafka removes
 * a deleted group at once. A commit to a consumer-protocol group (KIP-848) goes to its coordinator,
 * which checks the member and its epoch (the generation field from v9) instead.
 */
import { GroupIdNotFoundError } from '../../errors.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION, OffsetCommit, type OffsetCommitResponseInput } from '../../protocol/api/offset-commit.js';
import { authorize } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { offsetsOfKnownPartitions } from './partition-count.js';
import { checkCoordinator } from '../cluster-view.js';

type TopicResponse = OffsetCommitResponseInput['topics'][number];

export const offsetCommitHandler = defineHandler({
  api: OffsetCommit,
  async handle(ctx, request) {
    const partitionCounts = new Map<string, number>();
    // As Kafka: READ on the group, else every partition fails; READ on each topic, else its partitions fail and are not committed.
    const groupDenied = !authorize(ctx, 'READ', 'GROUP', request.groupId);
    const deniedTopics = new Set(request.topics.filter((topic) => !authorize(ctx, 'READ', 'TOPIC', topic.name)).map((topic) => topic.name));
    const offsets = offsetsOfKnownPartitions(ctx.broker, request.topics.filter((topic) => !deniedTopics.has(topic.name)), partitionCounts);
    const errors = new Map<string, number>();
    let groupError: number = ErrorCode.NONE;
    if (offsets.length > 0 && !groupDenied) {
      // v0 has no generation or member: a standalone commit.
      const generationId = ctx.apiVersion >= 1 ? request.generationId : -1;
      try {
        checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
        // Checked and committed in one turn of the event loop: no deletion can come in between.
        if (
          ctx.apiVersion >= OFFSET_COMMIT_GROUP_ID_NOT_FOUND_VERSION &&
          generationId >= 0 &&
          ctx.broker.groups.describeGroup(request.groupId).state === 'Dead' &&
          !ctx.broker.consumerGroups.has(request.groupId)
        ) {
          throw new GroupIdNotFoundError(request.groupId);
        }
        const results = ctx.broker.consumerGroups.has(request.groupId)
          ? await ctx.broker.consumerGroups.commitOffsets({
              groupId: request.groupId,
              memberId: ctx.apiVersion >= 1 ? request.memberId : '',
              memberEpoch: generationId,
              apiVersion: ctx.apiVersion,
              offsets,
            })
          : await ctx.broker.groups.commitOffsets({
              groupId: request.groupId,
              generationId,
              memberId: ctx.apiVersion >= 1 ? request.memberId : '',
              groupInstanceId: request.groupInstanceId,
              offsets,
            });
        for (const result of results) {
          if (result.error !== null) errors.set(`${result.partition}:${result.topic}`, ctx.errorCode(result.error));
        }
      } catch (error) {
        groupError = ctx.errorCode(error);
      }
    }
    const topics = request.topics.map(
      (topic): TopicResponse => ({
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => ({
          partitionIndex,
          errorCode: groupDenied
            ? ErrorCode.GROUP_AUTHORIZATION_FAILED
            : deniedTopics.has(topic.name)
              ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
              : partitionIndex >= (partitionCounts.get(topic.name) ?? 0)
              ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
              : groupError !== ErrorCode.NONE
                ? groupError
                : (errors.get(`${partitionIndex}:${topic.name}`) ?? ErrorCode.NONE),
        })),
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
