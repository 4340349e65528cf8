/**
 * FindCoordinator: this node coordinates every consumer group and every transactional id.
 * v4 (KIP-699) answers a batch of keys.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import {
  COORDINATOR_KEY_TYPE_GROUP,
  COORDINATOR_KEY_TYPE_TRANSACTION,
  FindCoordinator,
} from '../../protocol/api/find-coordinator.js';
import { defineHandler, type RequestContext } from './handler.js';

interface Answer {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export const findCoordinatorHandler = defineHandler({
  api: FindCoordinator,
  handle(ctx, request) {
    if (ctx.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        coordinators: request.coordinatorKeys.map((key) => ({ key, ...answer(ctx, request.keyType) })),
      };
    }
    return { throttleTimeMs: 0, ...answer(ctx, request.keyType) };
  },
});

function answer(ctx: RequestContext, keyType: number): Answer {
  const { nodeId, host, port } = ctx.server;
  switch (keyType) {
    case COORDINATOR_KEY_TYPE_GROUP:
    case COORDINATOR_KEY_TYPE_TRANSACTION:
      return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host, port };
    default:
      return unavailable(ErrorCode.INVALID_REQUEST, `coordinator key type ${keyType} is not 0 (group) or 1 (transaction)`);
  }
}

function unavailable(errorCode: number, errorMessage: string): Answer {
  return { errorCode, errorMessage, nodeId: -1, host: '', port: -1 };
}
