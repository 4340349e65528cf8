/**
 * ListOffsets: earliest (-2) is the log start offset; latest (-1) the high watermark, or the last
 * stable offset for read_committed; a timestamp gives the first record whose timestamp reaches
 * it, with that timestamp, or -1 when none does.
 * v0 answers in `oldStyleOffsets` as Kafka does for it, from segment offsets and file times, up to
 * `maxNumOffsets` of them (Broker.legacyOffsetsBefore). Served up to v6: v7's max-timestamp lookup (-3) needs an index
 * the broker does not keep.
 */
import type { BrokerApi } from '../../broker/broker-api.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { ISOLATION_READ_COMMITTED } from '../../protocol/api/fetch.js';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ListOffsets, type ListOffsetsResponseInput } from '../../protocol/api/list-offsets.js';
import { forEachRecord } from '../../protocol/record-batch-reader.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';

type PartitionResponse = ListOffsetsResponseInput['topics'][number]['partitions'][number];

const UNKNOWN = -1;
const NO_LEADER_EPOCH = -1;
/** The replicaId of a consumer's request, whose v0 answer stops at the high watermark. */
const CONSUMER_REPLICA_ID = -1;

export const listOffsetsHandler = defineHandler({
  api: ListOffsets,
  maxVersion: 6,
  async handle(ctx, request) {
    const committed = ctx.apiVersion >= 2 && request.isolationLevel === ISOLATION_READ_COMMITTED;
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map(async ({ partitionIndex, timestamp, maxNumOffsets }): Promise<PartitionResponse> => {
            try {
              requireAuthorized(ctx, 'DESCRIBE', 'TOPIC', topic.name);
              if (ctx.apiVersion === 0) {
                const oldStyleOffsets = ctx.broker.legacyOffsetsBefore(topic.name, partitionIndex, timestamp, maxNumOffsets, request.replicaId === CONSUMER_REPLICA_ID);
                return { partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets, timestamp: UNKNOWN, offset: UNKNOWN, leaderEpoch: NO_LEADER_EPOCH };
              }
              const found = await lookUp(ctx.broker, topic.name, partitionIndex, timestamp, committed);
              return {
                partitionIndex,
                errorCode: ErrorCode.NONE,
                oldStyleOffsets: found.offset === UNKNOWN ? [] : [found.offset],
                timestamp: found.timestamp,
                offset: found.offset,
                leaderEpoch: NO_LEADER_EPOCH,
              };
            } catch (error) {
              return {
                partitionIndex,
                errorCode: ctx.errorCode(error),
                oldStyleOffsets: [],
                timestamp: UNKNOWN,
                offset: UNKNOWN,
                leaderEpoch: NO_LEADER_EPOCH,
              };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});

async function lookUp(
  broker: BrokerApi,
  topic: string,
  partition: number,
  timestamp: number,
  committed: boolean,
): Promise<{ offset: number; timestamp: number }> {
  if (timestamp === LATEST_TIMESTAMP) {
    const offsets = broker.partitionOffsets(topic, partition);
    return { offset: committed ? offsets.lastStableOffset : offsets.highWatermark, timestamp: UNKNOWN };
  }
  if (timestamp === EARLIEST_TIMESTAMP) {
    return { offset: broker.partitionOffsets(topic, partition).logStartOffset, timestamp: UNKNOWN };
  }
  const batchOffset = await broker.offsetForTimestamp(topic, partition, timestamp);
  if (batchOffset === null) return { offset: UNKNOWN, timestamp: UNKNOWN };
  return firstRecordReaching(broker, topic, partition, batchOffset, timestamp);
}

/**
 * The broker finds the batch whose max timestamp first reaches the target; Kafka answers with the
 * record inside it: the first one at or after `fromOffset` whose timestamp reaches the target.
 */
function firstRecordReaching(
  broker: BrokerApi,
  topic: string,
  partition: number,
  fromOffset: number,
  targetMs: number,
): { offset: number; timestamp: number } {
  const { records } = broker.fetch(topic, partition, fromOffset, 1, 'read_uncommitted');
  let found = { offset: fromOffset, timestamp: UNKNOWN };
  let searching = true;
  forEachRecord(records, (record) => {
    if (searching && record.offset >= fromOffset && record.timestamp >= targetMs) {
      found = { offset: record.offset, timestamp: record.timestamp };
      searching = false;
    }
  });
  return found;
}
