/**
 * DeleteGroups: deletes groups without members, with their committed offsets (tombstones in
 * __consumer_offsets). Per group: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP or INVALID_GROUP_ID. A group
 * named twice is deleted once and answered once, as Kafka does. Consumer-protocol groups (KIP-848)
 * are deleted by their own coordinator, under the same rules.
 */
import { DeleteGroups } from '../../protocol/api/delete-groups.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { authorize } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

export const deleteGroupsHandler = defineHandler({
  api: DeleteGroups,
  async handle(ctx, request) {
    const requested = [...new Set(request.groupsNames)];
    // As Kafka: a group the caller may not DELETE is answered GROUP_AUTHORIZATION_FAILED and left alone.
    const denied = requested.filter((groupId) => !authorize(ctx, 'DELETE', 'GROUP', groupId));
    const groupIds = requested.filter((groupId) => !denied.includes(groupId));
    try {
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      const consumerGroupIds = groupIds.filter((groupId) => ctx.broker.consumerGroups.has(groupId));
      const classic = await ctx.broker.groups.deleteGroups(groupIds.filter((groupId) => !consumerGroupIds.includes(groupId)));
      const consumer = await Promise.all(
        consumerGroupIds.map((groupId) =>
          ctx.broker.consumerGroups.deleteGroup(groupId).then(
            () => ({ groupId, errorCode: ErrorCode.NONE as number }),
            (error: unknown) => ({ groupId, errorCode: ctx.errorCode(error) }),
          ),
        ),
      );
      return {
        throttleTimeMs: 0,
        results: [
          ...classic.map((result) => ({
            groupId: result.groupId,
            errorCode: result.error === null ? ErrorCode.NONE : ctx.errorCode(result.error),
          })),
          ...consumer,
          ...denied.map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })),
        ],
      };
    } catch (error) {
      const errorCode = ctx.errorCode(error);
      return {
        throttleTimeMs: 0,
        results: groupIds.map((groupId) => ({ groupId, errorCode })).concat(denied.map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }))),
      };
    }
  },
});
