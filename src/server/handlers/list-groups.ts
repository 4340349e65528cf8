/**
 * ListGroups, mapped onto the group coordinator. v4+ filters by state (KIP-518), v5+ by type
 * (KIP-848). As in Kafka 3.9 both filters are case-insensitive and a name Kafka does not know
 * matches no group rather than failing the request. Classic groups have type "classic",
 * KIP-848 consumer groups "consumer" (protocol type "consumer", states Empty, Assigning,
 * Reconciling, Stable).
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { CONSUMER_GROUP_PROTOCOL_TYPE } from '../../broker/consumer-group/consumer-group-coordinator.js';
import { GROUP_TYPE_CLASSIC, GROUP_TYPE_CONSUMER, ListGroups } from '../../protocol/api/list-groups.js';
import { authorize, authorizeCluster } from '../authorizer.js';
import { defineHandler } from './handler.js';

export const listGroupsHandler = defineHandler({
  api: ListGroups,
  handle(ctx, request) {
    const states = new Set(request.statesFilter.map((state) => state.trim().toLowerCase()));
    const types = new Set(request.typesFilter.map((type) => type.toLowerCase()));
    const stateMatches = (state: string): boolean => states.size === 0 || states.has(state.toLowerCase());
    // As Kafka: DESCRIBE on the cluster lists every group, else only the groups the caller may DESCRIBE.
    const describesCluster = authorizeCluster(ctx, 'DESCRIBE');
    const describable = (groupId: string): boolean => describesCluster || authorize(ctx, 'DESCRIBE', 'GROUP', groupId);
    try {
      // In a cluster, a broker lists the groups it coordinates: none unless it leads __consumer_offsets.
      if (!ctx.broker.coordinates('group')) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [] };
      const classic = types.size === 0 || types.has(GROUP_TYPE_CLASSIC)
        ? ctx.broker.groups
            .listGroups()
            .filter((group) => stateMatches(group.state))
            .filter((group) => describable(group.groupId))
            .map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: GROUP_TYPE_CLASSIC }))
        : [];
      const consumer = types.size === 0 || types.has(GROUP_TYPE_CONSUMER)
        ? ctx.broker.consumerGroups
            .listGroups()
            .filter((group) => stateMatches(group.state))
            .filter((group) => describable(group.groupId))
            .map((group) => ({ groupId: group.groupId, protocolType: CONSUMER_GROUP_PROTOCOL_TYPE, groupState: group.state, groupType: GROUP_TYPE_CONSUMER }))
        : [];
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [...classic, ...consumer] };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: ctx.errorCode(error), groups: [] };
    }
  },
});
