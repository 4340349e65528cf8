/**
 * DescribeGroups, mapped onto the group coordinator; an unknown group is reported Dead, as Kafka
 * does, and so is a consumer-protocol (KIP-848) group, as Kafka 3.9 answers: ConsumerGroupDescribe
 * describes those. Asked for them (v3+, KIP-430), a group described without error carries the
 * group operations the caller's ACLs allow.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { DescribeGroups, type DescribeGroupsResponseInput } from '../../protocol/api/describe-groups.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../protocol/api/describe-cluster.js';
import { authorizedOperations, requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

type GroupResponse = DescribeGroupsResponseInput['groups'][number];

export const describeGroupsHandler = defineHandler({
  api: DescribeGroups,
  handle(ctx, request) {
    const groups = request.groups.map((groupId): GroupResponse => {
      try {
        requireAuthorized(ctx, 'DESCRIBE', 'GROUP', groupId);
        checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
        const group = ctx.broker.groups.describeGroup(groupId);
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: group.state,
          protocolType: group.protocolType,
          protocolData: group.protocolName,
          members: group.members.map((member) => ({
            memberId: member.memberId,
            groupInstanceId: member.groupInstanceId,
            clientId: member.clientId,
            clientHost: member.clientHost,
            memberMetadata: member.metadata,
            memberAssignment: member.assignment,
          })),
          // Requests before v3 decode includeAuthorizedOperations as false.
          authorizedOperations: request.includeAuthorizedOperations ? authorizedOperations(ctx, 'GROUP', groupId) : AUTHORIZED_OPERATIONS_OMITTED,
        };
      } catch (error) {
        return { errorCode: ctx.errorCode(error), groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
      }
    });
    return { throttleTimeMs: 0, groups };
  },
});
