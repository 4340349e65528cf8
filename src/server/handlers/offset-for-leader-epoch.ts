/**
 * OffsetForLeaderEpoch, as Kafka's ReplicaManager.lastOffsetForLeaderEpoch and
 * Partition.lastOffsetForLeaderEpoch answer it: the request's currentLeaderEpoch is checked first
 * (-1 passes, older is FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH), then the end offset of
 * the requested epoch comes from the partition's leader epoch cache (LeaderEpochFileCache.endOffsetFor):
 * the log end offset for the current epoch, the next epoch's start offset for an older one, -1/-1
 * for UNDEFINED_EPOCH (-1) or an epoch above every known one. A topic or partition this broker
 * does not have is UNKNOWN_TOPIC_OR_PARTITION.
 *
 * replicaId (v3+) names a follower or is -1 for a consumer; this broker, the only replica of its
 * partitions, answers every requester from the leader's log alike, as Kafka's leader does (it
 * answers followers and consumers from the same cache, fetchOnlyFromLeader in both cases).
 * As in Kafka, CLUSTER_ACTION on the cluster (a follower) or DESCRIBE on the topic is needed,
 * else the topic's partitions get TOPIC_AUTHORIZATION_FAILED.
 */
import { OffsetForLeaderEpoch, type OffsetForLeaderEpochResponseInput } from '../../protocol/api/offset-for-leader-epoch.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { authorize, authorizeCluster } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkLeader } from '../cluster-view.js';

type PartitionResult = OffsetForLeaderEpochResponseInput['topics'][number]['partitions'][number];

const UNDEFINED = -1;

export const offsetForLeaderEpochHandler = defineHandler({
  api: OffsetForLeaderEpoch,
  async handle(ctx, request) {
    const clusterAction = authorizeCluster(ctx, 'CLUSTER_ACTION');
    const topics = request.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, currentLeaderEpoch, leaderEpoch }): PartitionResult => {
        if (!clusterAction && !authorize(ctx, 'DESCRIBE', 'TOPIC', topic)) {
          return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, partition, leaderEpoch: UNDEFINED, endOffset: UNDEFINED };
        }
        try {
          checkLeader(ctx.server.config.cluster, ctx.server.nodeId, topic, partition);
          ctx.broker.checkLeaderEpoch(topic, partition, currentLeaderEpoch);
          const found = ctx.broker.offsetForLeaderEpoch(topic, partition, leaderEpoch);
          return { errorCode: ErrorCode.NONE, partition, leaderEpoch: found.leaderEpoch, endOffset: found.endOffset };
        } catch (error) {
          return { errorCode: ctx.errorCode(error), partition, leaderEpoch: UNDEFINED, endOffset: UNDEFINED };
        }
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
