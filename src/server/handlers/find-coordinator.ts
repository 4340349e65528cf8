/**
 * FindCoordinator: outside a cluster this node coordinates every consumer group and every transactional id.
 * v4+ (KIP-699) answers a batch of keys, each with its own outcome. Share groups (key type 2,
 * KIP-932) are answered as Kafka 3.9 answers them: INVALID_REQUEST before v6, and
 * COORDINATOR_NOT_AVAILABLE from v6, as there is no share coordinator. Any other key type is an
 * INVALID_REQUEST for every key.
 *
 * In a cluster, the answer is the leader of the coordinator's internal partition (ClusterView.coordinatorOf:
 * __consumer_offsets for a group, __transaction_state for a transactional id), at its endpoint for
 * the listener the client came through; COORDINATOR_NOT_AVAILABLE while it has no live leader (or
 * while the topic is being created, on the first lookup).
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import {
  COORDINATOR_KEY_TYPE_GROUP,
  COORDINATOR_KEY_TYPE_SHARE,
  COORDINATOR_KEY_TYPE_TRANSACTION,
  FIND_COORDINATOR_SHARE_VERSION,
  FindCoordinator,
} from '../../protocol/api/find-coordinator.js';
import { authorize } from '../authorizer.js';
import { endpointOf, type CoordinatorKind } from '../cluster-view.js';
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
        coordinators: request.coordinatorKeys.map((key) => ({ key, ...answer(ctx, request.keyType, key) })),
      };
    }
    return { throttleTimeMs: 0, ...answer(ctx, request.keyType, request.key ?? '') };
  },
});

function answer(ctx: RequestContext, keyType: number, key: string): Answer {
  switch (keyType) {
    case COORDINATOR_KEY_TYPE_GROUP:
      if (!authorize(ctx, 'DESCRIBE', 'GROUP', key)) return unavailable(ErrorCode.GROUP_AUTHORIZATION_FAILED, `not authorized to DESCRIBE group "${key}"`);
      return coordinator(ctx, 'group');
    case COORDINATOR_KEY_TYPE_TRANSACTION:
      if (!authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', key)) {
        return unavailable(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, `not authorized to DESCRIBE transactional id "${key}"`);
      }
      return coordinator(ctx, 'transaction');
    case COORDINATOR_KEY_TYPE_SHARE:
      if (ctx.apiVersion < FIND_COORDINATOR_SHARE_VERSION) {
        return unavailable(
          ErrorCode.INVALID_REQUEST,
          `coordinator key type 2 (share group) needs FindCoordinator v${FIND_COORDINATOR_SHARE_VERSION}+, not v${ctx.apiVersion}`,
        );
      }
      return unavailable(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'share groups (KIP-932) have no coordinator here; use a consumer group');
    default:
      return unavailable(ErrorCode.INVALID_REQUEST, `coordinator key type ${keyType} is not 0 (group), 1 (transaction) or 2 (share group)`);
  }
}

/** This node, or in a cluster the coordinator broker the cluster names. */
function coordinator(ctx: RequestContext, kind: CoordinatorKind): Answer {
  const cluster = ctx.server.config.cluster;
  if (cluster === null) {
    const { nodeId, host, port } = ctx.server;
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host, port };
  }
  const nodeId = cluster.coordinatorOf(kind);
  const endpoint = nodeId === -1 ? null : endpointOf(cluster, nodeId, ctx.server.listener.name);
  if (endpoint === null) return unavailable(ErrorCode.COORDINATOR_NOT_AVAILABLE, `the ${kind} coordinator's internal partition has no live leader now; retry`);
  return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId, host: endpoint.host, port: endpoint.port };
}

function unavailable(errorCode: number, errorMessage: string): Answer {
  return { errorCode, errorMessage, nodeId: -1, host: '', port: -1 };
}
