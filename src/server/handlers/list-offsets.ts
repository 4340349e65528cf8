/**
 * ListOffsets, as Kafka's Partition.fetchOffsetForTimestamp and UnifiedLog.fetchOffsetByTimestamp
 * answer it. The request's currentLeaderEpoch (v4+) is checked first (-1 passes, older is
 * FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH). Then:
 *   latest (-1)            the high watermark (read_committed: the last stable offset), with the
 *                          current leader epoch
 *   earliest (-2), and earliest-local (-4, KIP-405; the same without tiered storage)
 *                          the log start offset, with the first cached epoch if it covers it
 *   max timestamp (-3, KIP-734)
 *                          the first record carrying the largest timestamp, found from the
 *                          segments' time indexes (LogReader.maxTimestampBatch), not a full scan
 *   latest tiered (-5, KIP-1005)
 *                          offset -1 and leader epoch -1: Kafka's answer without remote storage
 *   a timestamp >= 0       the first record whose timestamp reaches it, or -1 when none does
 * Answers found in a batch carry that batch's partitionLeaderEpoch (-1 for batches written before
 * epochs were kept). v0 answers in `oldStyleOffsets` as Kafka does for it, from segment offsets
 * and file times, up to `maxNumOffsets` of them (Broker.legacyOffsetsBefore).
 */
import type { BrokerApi, IsolationLevel } from '../../broker/broker-api.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { ISOLATION_READ_COMMITTED } from '../../protocol/api/fetch.js';
import {
  EARLIEST_LOCAL_TIMESTAMP,
  EARLIEST_TIMESTAMP,
  LATEST_TIERED_TIMESTAMP,
  LATEST_TIMESTAMP,
  ListOffsets,
  MAX_TIMESTAMP,
  type ListOffsetsResponseInput,
} from '../../protocol/api/list-offsets.js';
import { forEachRecord } from '../../protocol/record-batch-reader.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler } from './handler.js';
import { checkLeader, type ClusterView } from '../cluster-view.js';

type PartitionResponse = ListOffsetsResponseInput['topics'][number]['partitions'][number];

const UNKNOWN = -1;
const NO_LEADER_EPOCH = -1;
/** The replicaId of a consumer's request, whose v0 answer stops at the high watermark. */
const CONSUMER_REPLICA_ID = -1;

interface Found {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

const NOT_FOUND: Found = { offset: UNKNOWN, timestamp: UNKNOWN, leaderEpoch: NO_LEADER_EPOCH };

export const listOffsetsHandler = defineHandler({
  api: ListOffsets,
  async handle(ctx, request) {
    const isolation: IsolationLevel =
      ctx.apiVersion >= 2 && request.isolationLevel === ISOLATION_READ_COMMITTED ? 'read_committed' : 'read_uncommitted';
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map(async ({ partitionIndex, currentLeaderEpoch, timestamp, maxNumOffsets }): Promise<PartitionResponse> => {
            try {
              requireAuthorized(ctx, 'DESCRIBE', 'TOPIC', topic.name);
              checkLeader(ctx.server.config.cluster, ctx.server.nodeId, topic.name, partitionIndex);
              if (ctx.apiVersion === 0) {
                const oldStyleOffsets = ctx.broker.legacyOffsetsBefore(topic.name, partitionIndex, timestamp, maxNumOffsets, request.replicaId === CONSUMER_REPLICA_ID);
                return { partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets, timestamp: UNKNOWN, offset: UNKNOWN, leaderEpoch: NO_LEADER_EPOCH };
              }
              const epoch = ctx.broker.checkLeaderEpoch(topic.name, partitionIndex, currentLeaderEpoch);
              const found = await lookUp(ctx.broker, topic.name, partitionIndex, timestamp, isolation, epoch, ctx.server.config.cluster);
              return {
                partitionIndex,
                errorCode: ErrorCode.NONE,
                oldStyleOffsets: found.offset === UNKNOWN ? [] : [found.offset],
                timestamp: found.timestamp,
                offset: found.offset,
                leaderEpoch: found.leaderEpoch,
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
  isolation: IsolationLevel,
  currentEpoch: number,
  cluster: ClusterView | null,
): Promise<Found> {
  switch (timestamp) {
    case LATEST_TIMESTAMP: {
      const offsets = broker.partitionOffsets(topic, partition);
      // In a cluster the high watermark is the ISR's, below the leader's log end while followers catch up.
      const highWatermark = cluster === null ? offsets.highWatermark : cluster.highWatermark(topic, partition, offsets.highWatermark);
      const offset = isolation === 'read_committed' ? Math.min(offsets.lastStableOffset, highWatermark) : highWatermark;
      return { offset, timestamp: UNKNOWN, leaderEpoch: currentEpoch };
    }
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP: {
      const { logStartOffset } = broker.partitionOffsets(topic, partition);
      // The first cached epoch starts at the log start offset unless the oldest batches predate epochs.
      const first = broker.leaderEpochs(topic, partition)[0];
      const leaderEpoch = first !== undefined && first.startOffset <= logStartOffset ? first.epoch : NO_LEADER_EPOCH;
      return { offset: logStartOffset, timestamp: UNKNOWN, leaderEpoch };
    }
    case LATEST_TIERED_TIMESTAMP:
      return NOT_FOUND;
    case MAX_TIMESTAMP: {
      const batch = await broker.batchForTimestamp(topic, partition, MAX_TIMESTAMP, isolation);
      if (batch === null) return NOT_FOUND;
      return firstRecord(broker, topic, partition, batch.offset, batch.leaderEpoch, (recordMs) => recordMs === batch.maxTimestampMs);
    }
    default: {
      const batch = await broker.batchForTimestamp(topic, partition, timestamp, isolation);
      if (batch === null) return NOT_FOUND;
      return firstRecord(broker, topic, partition, batch.offset, batch.leaderEpoch, (recordMs) => recordMs >= timestamp);
    }
  }
}

/**
 * The broker finds the batch from its headers; Kafka answers with a record inside it: the first
 * one at or after `fromOffset` whose timestamp `matches`, with the batch's leader epoch.
 */
function firstRecord(
  broker: BrokerApi,
  topic: string,
  partition: number,
  fromOffset: number,
  batchEpoch: number,
  matches: (timestampMs: number) => boolean,
): Found {
  const { records } = broker.fetch(topic, partition, fromOffset, 1, 'read_uncommitted');
  const leaderEpoch = batchEpoch >= 0 ? batchEpoch : NO_LEADER_EPOCH;
  let found: Found = { offset: fromOffset, timestamp: UNKNOWN, leaderEpoch };
  let searching = true;
  forEachRecord(records, (record) => {
    if (searching && record.offset >= fromOffset && matches(record.timestamp)) {
      found = { offset: record.offset, timestamp: record.timestamp, leaderEpoch };
      searching = false;
    }
  });
  return found;
}
