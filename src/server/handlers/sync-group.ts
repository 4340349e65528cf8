/** SyncGroup, mapped onto the group coordinator: the leader hands in assignments, every member gets its own. */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { SyncGroup, type SyncGroupResponseInput } from '../../protocol/api/sync-group.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

const EMPTY = Buffer.alloc(0);

export const syncGroupHandler = defineHandler({
  api: SyncGroup,
  async handle(ctx, request): Promise<SyncGroupResponseInput> {
    try {
      requireAuthorized(ctx, 'READ', 'GROUP', request.groupId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      const result = await ctx.broker.groups.syncGroup({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        protocolType: ctx.apiVersion >= 5 ? request.protocolType : undefined,
        protocolName: ctx.apiVersion >= 5 ? request.protocolName : undefined,
        assignments: request.assignments,
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        protocolType: result.protocolType,
        protocolName: result.protocolName,
        assignment: result.assignment,
      };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error), protocolType: null, protocolName: null, assignment: EMPTY };
    }
  },
});
