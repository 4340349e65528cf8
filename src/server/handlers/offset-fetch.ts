/**
 * OffsetFetch, mapped onto the group coordinator: committed offsets, -1 for a partition without
 * one. Topics null (v2+) asks for every partition the group committed. v8 (KIP-709) carries a
 * batch of groups. Group-level errors go in the top-level error code from v2, per partition before.
 * v9's memberId and memberEpoch are checked only for groups of the KIP-848 consumer protocol
 * (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID), as in Kafka 3.9, which lets anyone read a classic
 * group's offsets whatever they say, as a classic member sends none.
 * requireStable (v7+): a partition whose offset a transaction has staged (TxnOffsetCommit) and not
 * yet completed gets UNSTABLE_OFFSET_COMMIT and offset -1, as in Kafka, so a read_committed
 * consumer retries instead of starting from an offset its transaction may still replace.
 */
import type { FetchedOffset } from '../../broker/group-coordinator.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { OffsetFetch } from '../../protocol/api/offset-fetch.js';
import { authorize } from '../authorizer.js';
import { defineHandler, type RequestContext } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

type RequestTopics = { name: string; partitionIndexes: number[] }[] | null;
interface TopicResponse {
  name: string;
  partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; metadata: string; errorCode: number }[];
}

export const offsetFetchHandler = defineHandler({
  api: OffsetFetch,
  async handle(ctx, request) {
    if (ctx.apiVersion >= 8) {
      const groups = await Promise.all(
        request.groups.map(async (group) => {
          const { topics, errorCode } = await fetchGroup(ctx, group.groupId, group.topics, request.requireStable, group.memberId, group.memberEpoch);
          return { groupId: group.groupId, topics, errorCode };
        }),
      );
      return { throttleTimeMs: 0, groups };
    }
    const { topics, errorCode } = await fetchGroup(ctx, request.groupId, request.topics, request.requireStable, null, -1);
    if (ctx.apiVersion >= 2 || errorCode === ErrorCode.NONE) return { throttleTimeMs: 0, topics, errorCode };
    // v0-v1 have no top-level error: every requested partition carries it.
    const failedTopics = (request.topics ?? []).map((topic) => ({
      name: topic.name,
      partitions: topic.partitionIndexes.map((partitionIndex) => ({
        partitionIndex,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode,
      })),
    }));
    return { throttleTimeMs: 0, topics: failedTopics };
  },
});

async function fetchGroup(
  ctx: RequestContext,
  groupId: string,
  topics: RequestTopics,
  requireStable: boolean,
  memberId: string | null,
  memberEpoch: number,
): Promise<{ topics: TopicResponse[]; errorCode: number }> {
  const partitions = topics === null ? null : topics.flatMap((topic) => topic.partitionIndexes.map((partition) => ({ topic: topic.name, partition })));
  if (!authorize(ctx, 'DESCRIBE', 'GROUP', groupId)) return { topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  let fetched: FetchedOffset[];
  try {
    checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
    fetched = ctx.broker.consumerGroups.has(groupId)
      ? await ctx.broker.consumerGroups.fetchOffsets({ groupId, memberId, memberEpoch, partitions })
      : await ctx.broker.groups.fetchOffsets({ groupId, partitions });
  } catch (error) {
    return { topics: [], errorCode: ctx.errorCode(error) };
  }
  const byTopic = new Map<string, TopicResponse>();
  for (const offset of fetched) {
    // As Kafka: topics the caller may not DESCRIBE are left out of an all-topics fetch, refused when named.
    const described = authorize(ctx, 'DESCRIBE', 'TOPIC', offset.topic);
    if (!described && topics === null) continue;
    let topic = byTopic.get(offset.topic);
    if (topic === undefined) byTopic.set(offset.topic, (topic = { name: offset.topic, partitions: [] }));
    if (!described) {
      topic.partitions.push({ partitionIndex: offset.partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
      continue;
    }
    if (requireStable && ctx.broker.hasPendingTransactionalOffset(groupId, offset.topic, offset.partition)) {
      topic.partitions.push({ partitionIndex: offset.partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
      continue;
    }
    topic.partitions.push({
      partitionIndex: offset.partition,
      committedOffset: offset.offset,
      committedLeaderEpoch: offset.leaderEpoch,
      metadata: offset.metadata,
      errorCode: ErrorCode.NONE,
    });
  }
  return { topics: [...byTopic.values()], errorCode: ErrorCode.NONE };
}
