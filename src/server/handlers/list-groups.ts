/**
 * ListGroups, mapped onto the group coordinator. v4+ filters by state (KIP-518), v5+ by type
 * (KIP-848). As in Kafka 3.9 both filters are case-insensitive and a name Kafka does not know
 * matches no group rather than failing the request. Every group here speaks the classic
 * protocol, so a types filter keeps them all when it names "classic" and none otherwise.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { GROUP_TYPE_CLASSIC, ListGroups } from '../../protocol/api/list-groups.js';
import { authorize, authorizeCluster } from '../authorizer.js';
import { defineHandler } from './handler.js';

export const listGroupsHandler = defineHandler({
  api: ListGroups,
  handle(ctx, request) {
    const states = new Set(request.statesFilter.map((state) => state.trim().toLowerCase()));
    const typeMatches = request.typesFilter.length === 0 || request.typesFilter.some((type) => type.toLowerCase() === GROUP_TYPE_CLASSIC);
    // As Kafka: DESCRIBE on the cluster lists every group, else only the groups the caller may DESCRIBE.
    const describesCluster = authorizeCluster(ctx, 'DESCRIBE');
    try {
      const groups = typeMatches
        ? ctx.broker.groups
            .listGroups()
            .filter((group) => states.size === 0 || states.has(group.state.toLowerCase()))
            .filter((group) => describesCluster || authorize(ctx, 'DESCRIBE', 'GROUP', group.groupId))
            .map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: GROUP_TYPE_CLASSIC }))
        : [];
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error), groups: [] };
    }
  },
});
