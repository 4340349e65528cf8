/**
 * DeleteRecords: each partition's log start offset moves to the requested offset (-1: the high
 * watermark), as Kafka's Partition.deleteRecordsOnLeader does; the answer's lowWatermark is the
 * new log start offset. A negative offset other than -1, or one past the high watermark, is
 * OFFSET_OUT_OF_RANGE; an internal topic INVALID_TOPIC_EXCEPTION; a topic whose cleanup.policy
 * lacks "delete" POLICY_VIOLATION. A single broker is the only replica, so the answer is final at
 * once and the request's timeout is never waited on.
 */
import { OffsetOutOfRangeError } from '../../errors.js';
import { DeleteRecords, type DeleteRecordsResponseInput } from '../../protocol/api/delete-records.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkLeader } from '../cluster-view.js';

type PartitionResult = DeleteRecordsResponseInput['topics'][number]['partitions'][number];

/** Kafka's DeleteRecordsRequest.HIGH_WATERMARK. */
const HIGH_WATERMARK = -1;

export const deleteRecordsHandler = defineHandler({
  api: DeleteRecords,
  async handle(ctx, request) {
    const topics = await Promise.all(
      request.topics.map(async ({ name, partitions }) => ({
        name,
        partitions: await Promise.all(
          partitions.map(async ({ partitionIndex, offset }): Promise<PartitionResult> => {
            try {
              requireAuthorized(ctx, 'DELETE', 'TOPIC', name);
              checkLeader(ctx.server.config.cluster, ctx.server.nodeId, name, partitionIndex);
              if (offset < HIGH_WATERMARK) {
                const { logStartOffset, highWatermark } = ctx.broker.partitionOffsets(name, partitionIndex);
                throw new OffsetOutOfRangeError(offset, logStartOffset, highWatermark, `DeleteRecords of ${name}-${partitionIndex}`);
              }
              const lowWatermark = await ctx.broker.deleteRecords(name, partitionIndex, offset);
              return { partitionIndex, lowWatermark, errorCode: 0 };
            } catch (error) {
              return { partitionIndex, lowWatermark: -1, errorCode: ctx.errorCode(error) };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
