/**
 * The groups' committed offsets (Kafka's OffsetMetadataManager, the offsets half of its
 * GroupMetadataManager): which offsets of a commit are accepted, their commit timestamps, writing
 * them to the OffsetStore (awaited before the commit is acknowledged), reading them back for
 * OffsetFetch, and deleting them (DeleteGroups, OffsetDelete).
 *
 * Membership is not its concern: the group coordinator decides whether a member may commit, or
 * whether a partition's offset may be deleted, and then hands the work here. Staged transactional
 * offsets and their visibility at the transaction's end live in the store (offset-store.ts).
 */
import { OffsetMetadataTooLargeError } from '../errors.js';
import type { CoordinatorClock } from './coordinator-clock.js';
import type { CommittedOffset, FetchedOffset, OffsetCommitPartitionResult, OffsetStore, TopicPartitionRef } from './group-types.js';
import { storeError } from './group-validation.js';

/** A commit's offsets split into those to store and every partition's outcome. */
export interface PreparedCommit {
  accepted: CommittedOffset[];
  results: OffsetCommitPartitionResult[];
}

export class OffsetManager {
  constructor(
    private readonly store: OffsetStore,
    private readonly clock: CoordinatorClock,
    /** Kafka's offset.metadata.max.bytes, which Kafka measures in characters. */
    private readonly metadataMaxChars: number,
  ) {}

  /**
   * Timestamps the offsets now; a partition whose metadata is too long gets its own error while
   * the others are accepted, as Kafka does.
   */
  prepareCommit(offsets: readonly Omit<CommittedOffset, 'commitTimestampMs'>[]): PreparedCommit {
    const now = this.clock.nowMs();
    const results: OffsetCommitPartitionResult[] = [];
    const accepted: CommittedOffset[] = [];
    for (const entry of offsets) {
      if (entry.metadata.length > this.metadataMaxChars) {
        results.push({
          topic: entry.topic,
          partition: entry.partition,
          error: new OffsetMetadataTooLargeError(entry.topic, entry.partition, entry.metadata.length, this.metadataMaxChars),
        });
      } else {
        accepted.push({ ...entry, commitTimestampMs: now });
        results.push({ topic: entry.topic, partition: entry.partition, error: null });
      }
    }
    return { accepted, results };
  }

  /** Durably records accepted offsets; resolves once the store has them. */
  async commit(groupId: string, accepted: readonly CommittedOffset[]): Promise<void> {
    try {
      await this.store.commitOffsets(groupId, accepted);
    } catch (error) {
      throw storeError(error, `offsets of group "${groupId}" could not be stored`);
    }
  }

  /**
   * The group's committed offsets (all of them when `partitions` is null); offset -1 for a
   * requested partition without one. Any group id works, existing or not, as Kafka's OffsetFetch.
   */
  async fetch(groupId: string, partitions: readonly TopicPartitionRef[] | null): Promise<FetchedOffset[]> {
    let stored: readonly CommittedOffset[];
    try {
      stored = await this.store.fetchOffsets(groupId, partitions);
    } catch (error) {
      throw storeError(error, `offsets of group "${groupId}" could not be read`);
    }
    const toFetched = (offset: CommittedOffset): FetchedOffset => ({
      topic: offset.topic,
      partition: offset.partition,
      offset: offset.offset,
      leaderEpoch: offset.leaderEpoch,
      metadata: offset.metadata,
    });
    if (partitions === null) return stored.map(toFetched);
    const byPartition = new Map<string, Map<number, CommittedOffset>>();
    for (const offset of stored) {
      let topic = byPartition.get(offset.topic);
      if (topic === undefined) byPartition.set(offset.topic, (topic = new Map()));
      topic.set(offset.partition, offset);
    }
    return partitions.map(({ topic, partition }) => {
      const found = byPartition.get(topic)?.get(partition);
      return found === undefined ? { topic, partition, offset: -1, leaderEpoch: -1, metadata: '' } : toFetched(found);
    });
  }

  /** Durably deletes the group's offsets of these partitions (Kafka's OffsetDelete). */
  async deletePartitions(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<void> {
    try {
      await this.store.deletePartitionOffsets(groupId, partitions);
    } catch (error) {
      throw storeError(error, `offsets of group "${groupId}" could not be deleted`);
    }
  }

  /** Deletes every offset of the group (DeleteGroups); a store failure passes through as it came. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.store.deleteOffsets(groupId);
  }
}
