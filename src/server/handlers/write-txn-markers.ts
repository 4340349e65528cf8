/**
 * WriteTxnMarkers: a transaction coordinator (another broker of the cluster, or any client
 * allowed CLUSTER_ACTION on the cluster, as Kafka requires) has this broker, the partitions'
 * leader, append a producer's commit or abort markers (writeMarkersAsLeader). Each partition
 * answers on its own: NOT_LEADER_OR_FOLLOWER where this broker does not lead it (the coordinator
 * looks the leader up again and retries), REQUEST_TIMED_OUT when the ISR did not take the marker
 * within the broker's request timeout.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { WriteTxnMarkers } from '../../protocol/api/write-txn-markers.js';
import { authorizeCluster } from '../authorizer.js';
import { writeMarkersAsLeader } from '../cluster-view.js';
import { defineHandler } from './handler.js';

/** Kafka's request.timeout.ms, which its WriteTxnMarkers append waits for the ISR. */
export const WRITE_TXN_MARKERS_TIMEOUT_MS = 30_000;

export const writeTxnMarkersHandler = defineHandler({
  api: WriteTxnMarkers,
  async handle(ctx, request) {
    const allowed = authorizeCluster(ctx, 'CLUSTER_ACTION');
    const markers = await Promise.all(
      request.markers.map(async (entry) => {
        const marker = { producerId: entry.producerId, producerEpoch: entry.producerEpoch, commit: entry.transactionResult, coordinatorEpoch: entry.coordinatorEpoch };
        const topics = await Promise.all(
          entry.topics.map(async ({ name, partitionIndexes }) => {
            if (!allowed) return { name, partitions: partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) };
            const refs = partitionIndexes.map((partition) => ({ topic: name, partition }));
            const errors = await writeMarkersAsLeader(ctx.broker, ctx.server.config.cluster, ctx.server.nodeId, refs, marker, WRITE_TXN_MARKERS_TIMEOUT_MS);
            return {
              name,
              partitions: partitionIndexes.map((partitionIndex, i) => ({ partitionIndex, errorCode: errors[i] === null ? ErrorCode.NONE : ctx.errorCode(errors[i]) })),
            };
          }),
        );
        return { producerId: entry.producerId, topics };
      }),
    );
    return { markers };
  },
});
