/**
 * LeaveGroup, mapped onto the group coordinator. Up to v2 one member leaves and its outcome is the
 * top-level error; from v3 a batch leaves, each with its own outcome, as Kafka's LeaveGroupResponse.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { LeaveGroup } from '../../protocol/api/leave-group.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

export const leaveGroupHandler = defineHandler({
  api: LeaveGroup,
  handle(ctx, request) {
    const leaving = ctx.apiVersion >= 3 ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
    try {
      requireAuthorized(ctx, 'READ', 'GROUP', request.groupId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      const results = ctx.broker.groups.leaveGroup({ groupId: request.groupId, members: leaving });
      const members = results.map((result) => ({
        memberId: result.memberId,
        groupInstanceId: result.groupInstanceId,
        errorCode: result.error === null ? ErrorCode.NONE : ctx.errorCode(result.error),
      }));
      const errorCode = ctx.apiVersion >= 3 ? ErrorCode.NONE : (members[0]?.errorCode ?? ErrorCode.NONE);
      return { throttleTimeMs: 0, errorCode, members };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error), members: [] };
    }
  },
});
