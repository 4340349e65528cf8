/** ListGroups, mapped onto the group coordinator; v4+ filters by state (KIP-518). */
import type { GroupState } from '../../broker/group-coordinator.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { ListGroups } from '../../protocol/api/list-groups.js';
import { defineHandler } from './handler.js';

export const listGroupsHandler = defineHandler({
  api: ListGroups,
  handle(ctx, request) {
    try {
      const groups = ctx.broker.groups
        .listGroups(request.statesFilter as GroupState[])
        .map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error), groups: [] };
    }
  },
});
