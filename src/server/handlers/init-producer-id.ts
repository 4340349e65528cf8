/**
 * InitProducerId: a producer id and epoch for an idempotent producer (no transactional id) or a
 * transactional one, whose epoch bump fences its older instances. The broker answers once an open
 * transaction of a previous instance is aborted, so clients seldom see CONCURRENT_TRANSACTIONS.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { InitProducerId } from '../../protocol/api/init-producer-id.js';
import { AuthorizationFailedError } from '../../errors.js';
import { CLUSTER_NAME } from '../../broker/acl/acl.js';
import { authorizeAny, authorizeCluster, requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { transactionErrorCode } from './transaction-errors.js';
import { checkCoordinator } from '../cluster-view.js';

export const initProducerIdHandler = defineHandler({
  api: InitProducerId,
  async handle(ctx, request) {
    try {
      // As Kafka: WRITE on the transactional id; an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
      if (request.transactionalId !== null) {
        requireAuthorized(ctx, 'WRITE', 'TRANSACTIONAL_ID', request.transactionalId);
        checkCoordinator(ctx.server.config.cluster, ctx.server.nodeId, 'transaction');
      }
      else if (!authorizeCluster(ctx, 'IDEMPOTENT_WRITE') && !authorizeAny(ctx, 'WRITE', 'TOPIC')) {
        throw new AuthorizationFailedError('CLUSTER', 'IDEMPOTENT_WRITE', CLUSTER_NAME);
      }
      const result = await ctx.broker.initProducerId({
        transactionalId: request.transactionalId,
        transactionTimeoutMs: request.transactionTimeoutMs,
        // v0-v2 carry neither: the codec's defaults (-1) mean "none".
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: result.producerId, producerEpoch: result.producerEpoch };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: transactionErrorCode(ctx.errorCode(error), ctx.apiVersion, 4), producerId: -1, producerEpoch: -1 };
    }
  },
});
