/**
 * The partition count handlers check a request's partitions against: a partition at or past it,
 * or of a topic that does not exist (count 0), gets UNKNOWN_TOPIC_OR_PARTITION instead of being
 * handed to the broker.
 */
import type { BrokerApi } from '../../broker/broker-api.js';

/**
 * The topic's partition count, 0 when the broker cannot describe it (it does not exist). With
 * `memo`, each topic is looked up once per request however many times the request names it.
 */
export function partitionCountOrZero(broker: BrokerApi, topic: string, memo?: Map<string, number>): number {
  let count = memo?.get(topic);
  if (count === undefined) {
    try {
      count = broker.topicMetadata(topic).partitionCount;
    } catch {
      count = 0;
    }
    memo?.set(topic, count);
  }
  return count;
}

/** The per-partition fields OffsetCommit and TxnOffsetCommit requests share. */
interface CommitRequestTopic {
  name: string;
  partitions: readonly {
    partitionIndex: number;
    committedOffset: number;
    committedLeaderEpoch?: number;
    committedMetadata: string | null;
  }[];
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number | undefined;
  metadata: string | null;
}

/**
 * The offsets of a commit request that name existing partitions, in request order; the others
 * are left for the handler to answer with UNKNOWN_TOPIC_OR_PARTITION (check them with `counts`,
 * which this fills).
 */
export function offsetsOfKnownPartitions(
  broker: BrokerApi,
  topics: readonly CommitRequestTopic[],
  counts: Map<string, number>,
): OffsetToCommit[] {
  const offsets: OffsetToCommit[] = [];
  for (const topic of topics) {
    const count = partitionCountOrZero(broker, topic.name, counts);
    for (const partition of topic.partitions) {
      if (partition.partitionIndex < count) {
        offsets.push({
          topic: topic.name,
          partition: partition.partitionIndex,
          offset: partition.committedOffset,
          leaderEpoch: partition.committedLeaderEpoch,
          metadata: partition.committedMetadata,
        });
      }
    }
  }
  return offsets;
}
