/**
 * ConsumerGroupDescribe (KIP-848): each consumer group's epochs, assignor and members with their
 * current and target assignments; a group id that is not a consumer group gets GROUP_ID_NOT_FOUND,
 * as in Kafka. Topic names are resolved from the ids the assignments hold. A group the caller may
 * not DESCRIBE is answered GROUP_AUTHORIZATION_FAILED, as Kafka does. Asked for them (KIP-430),
 * a group described without error carries the group operations the caller's ACLs allow.
 */
import type { Assignment } from '../../broker/consumer-group/types.js';
import { ConsumerGroupDescribe, type ConsumerGroupDescribeResponseInput } from '../../protocol/api/consumer-group-describe.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../protocol/api/describe-cluster.js';
import { authorizedOperations, requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

type DescribedGroup = ConsumerGroupDescribeResponseInput['groups'][number];

export const consumerGroupDescribeHandler = defineHandler({
  api: ConsumerGroupDescribe,
  handle(ctx, request) {
    const names = new Map(ctx.broker.listTopics().map((topic) => [topic.topicId, topic.name]));
    const describe = (assignment: Assignment) => ({
      topicPartitions: [...assignment].map(([topicId, partitions]) => ({
        topicId,
        topicName: names.get(topicId) ?? '',
        partitions: [...partitions].sort((a, b) => a - b),
      })),
    });
    const groups = request.groupIds.map((groupId): DescribedGroup => {
      try {
        requireAuthorized(ctx, 'DESCRIBE', 'GROUP', groupId);
        checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
        const group = ctx.broker.consumerGroups.describe(groupId);
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          groupId,
          groupState: group.state,
          groupEpoch: group.groupEpoch,
          assignmentEpoch: group.assignmentEpoch,
          assignorName: group.assignorName,
          members: group.members.map((member) => ({
            memberId: member.memberId,
            instanceId: member.instanceId,
            rackId: member.rackId,
            memberEpoch: member.memberEpoch,
            clientId: member.clientId,
            clientHost: member.clientHost,
            subscribedTopicNames: member.subscribedTopicNames,
            subscribedTopicRegex: null,
            assignment: describe(member.assignment),
            targetAssignment: describe(member.targetAssignment),
          })),
          authorizedOperations: request.includeAuthorizedOperations ? authorizedOperations(ctx, 'GROUP', groupId) : AUTHORIZED_OPERATIONS_OMITTED,
        };
      } catch (error) {
        return {
          errorCode: ctx.errorCode(error),
          errorMessage: error instanceof Error ? error.message : String(error),
          groupId,
          groupState: '',
          groupEpoch: 0,
          assignmentEpoch: 0,
          assignorName: '',
          members: [],
          authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        };
      }
    });
    return { throttleTimeMs: 0, groups };
  },
});
