/** Heartbeat, mapped onto the group coordinator; the error code tells the member when to rejoin. */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { Heartbeat } from '../../protocol/api/heartbeat.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

export const heartbeatHandler = defineHandler({
  api: Heartbeat,
  handle(ctx, request) {
    try {
      requireAuthorized(ctx, 'READ', 'GROUP', request.groupId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      ctx.broker.groups.heartbeat({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error) };
    }
  },
});
