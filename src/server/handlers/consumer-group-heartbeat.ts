/**
 * ConsumerGroupHeartbeat (KIP-848), mapped onto the consumer group coordinator; errors carry their
 * message, as Kafka's do. As in Kafka, the caller needs READ on the group (GROUP_AUTHORIZATION_FAILED).
 */
import { ConsumerGroupHeartbeat } from '../../protocol/api/consumer-group-heartbeat.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

export const consumerGroupHeartbeatHandler = defineHandler({
  api: ConsumerGroupHeartbeat,
  async handle(ctx, request) {
    try {
      requireAuthorized(ctx, 'READ', 'GROUP', request.groupId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      const result = await ctx.broker.consumerGroups.heartbeat({
        groupId: request.groupId,
        memberId: request.memberId,
        memberEpoch: request.memberEpoch,
        instanceId: request.instanceId,
        rackId: request.rackId,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        subscribedTopicNames: request.subscribedTopicNames,
        subscribedTopicRegex: request.subscribedTopicRegex,
        serverAssignor: request.serverAssignor,
        topicPartitions: request.topicPartitions,
        clientId: ctx.clientId,
        clientHost: ctx.clientHost,
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId: result.memberId,
        memberEpoch: result.memberEpoch,
        heartbeatIntervalMs: result.heartbeatIntervalMs,
        assignment:
          result.assignment === null
            ? null
            : { topicPartitions: [...result.assignment].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions].sort((a, b) => a - b) })) },
      };
    } catch (error) {
      return {
        throttleTimeMs: 0,
        errorCode: ctx.errorCode(error),
        errorMessage: error instanceof Error ? error.message : String(error),
        memberId: null,
        memberEpoch: -1,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
  },
});
