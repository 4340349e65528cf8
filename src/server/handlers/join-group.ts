/**
 * JoinGroup, mapped onto the group coordinator. The call parks until the rebalance's join phase
 * completes; like Kafka, the connection answers nothing else meanwhile (responses stay ordered).
 * v4+ members joining without an id get MEMBER_ID_REQUIRED with their new id (KIP-394).
 */
import { MemberIdRequiredError } from '../../errors.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { JoinGroup, type JoinGroupResponseInput } from '../../protocol/api/join-group.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkCoordinator } from '../cluster-view.js';

export const joinGroupHandler = defineHandler({
  api: JoinGroup,
  async handle(ctx, request): Promise<JoinGroupResponseInput> {
    try {
      requireAuthorized(ctx, 'READ', 'GROUP', request.groupId);
      checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'group');
      const result = await ctx.broker.groups.joinGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        clientId: ctx.clientId,
        clientHost: ctx.clientHost,
        protocolType: request.protocolType,
        protocols: request.protocols,
        sessionTimeoutMs: request.sessionTimeoutMs,
        // v0 has no rebalance timeout (decoded as -1): the session timeout serves for both.
        rebalanceTimeoutMs: ctx.apiVersion >= 1 ? request.rebalanceTimeoutMs : undefined,
        requireKnownMemberId: ctx.apiVersion >= 4,
        supportsSkipAssignment: ctx.apiVersion >= 9,
      });
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        generationId: result.generationId,
        protocolType: result.protocolType,
        protocolName: result.protocolName,
        leader: result.leaderId,
        skipAssignment: result.skipAssignment,
        memberId: result.memberId,
        members: result.members,
      };
    } catch (error) {
      const memberId = error instanceof MemberIdRequiredError ? error.memberId : request.memberId;
      return {
        throttleTimeMs: 0,
        errorCode: ctx.errorCode(error),
        generationId: -1,
        protocolType: null,
        // Nullable from v7; before that Kafka sends an empty name.
        protocolName: ctx.apiVersion >= 7 ? null : '',
        leader: '',
        memberId,
        members: [],
      };
    }
  },
});
