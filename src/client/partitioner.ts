/**
 * Kafka's default partitioner, so that a key lands on the same partition in Sluice as in Apache
 * Kafka with the same partition count: moving to a real cluster keeps every key's placement.
 *
 *   keyed record     toPositive(murmur2(keyBytes)) % partitionCount, murmur2 exactly as Kafka's
 *                    Java client computes it (Utils.murmur2: seed 0x9747b28c, 32-bit wrap-around
 *                    arithmetic, little-endian 4-byte blocks, the 1-3 byte tail mixed in last)
 *   null key         sticky partitioning (KIP-480): every keyless record of a topic goes to one
 *                    partition until the accumulator closes a batch for it and calls onNewBatch,
 *                    then a different partition is picked at random. Batches fill up instead of
 *                    spreading one record per partition, and over many batches the load evens out.
 *   custom function  `(args) => partition`, its answer checked to be a partition of the topic.
 */
import { InvalidConfigError, InvalidPartitionerResultError, InvalidPartitionsError } from '../errors.js';
import { INT32_MAX } from '../protocol/limits.js';
import { murmur2, toPositive } from '../protocol/murmur2.js';

/** Kafka numbers partitions with a Java int. */
const MAX_PARTITION_COUNT = INT32_MAX;

/** The partition Kafka's default partitioner gives a keyed record. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  checkPartitionCount(partitionCount);
  return toPositive(murmur2(key)) % partitionCount;
}

export interface PartitionerArgs {
  topic: string;
  partitionCount: number;
  /** Serialized key, or null for a keyless record. */
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** A user-supplied placement: must return an integer in [0, partitionCount). */
export type CustomPartitioner = (args: PartitionerArgs) => number;

export interface PartitionerOptions {
  /** Replaces the default partitioner entirely (keyed and keyless records alike), as in Kafka. */
  partitioner?: CustomPartitioner;
  /** Source of uniform numbers in [0, 1) for sticky partition choice; Math.random unless given. */
  random?: () => number;
}

/**
 * Chooses the partition of each record. One instance per producer: it remembers the sticky
 * partition of each topic.
 */
export class Partitioner {
  private readonly custom: CustomPartitioner | undefined;
  private readonly random: () => number;
  /** Current sticky partition per topic, for keyless records. */
  private readonly stickyByTopic = new Map<string, number>();

  constructor(options: PartitionerOptions = {}) {
    if (options.partitioner !== undefined && typeof options.partitioner !== 'function') {
      throw new InvalidConfigError(
        `partitioner must be a function ({ topic, partitionCount, key, value }) => partition, got a ${typeof options.partitioner}`,
      );
    }
    if (options.random !== undefined && typeof options.random !== 'function') {
      throw new InvalidConfigError(`random must be a function returning a number in [0, 1), got a ${typeof options.random}`);
    }
    this.custom = options.partitioner;
    this.random = options.random ?? Math.random;
  }

  /** The partition for one record. `value` is only looked at by a custom partitioner. */
  partition(topic: string, partitionCount: number, key: Uint8Array | null, value: Uint8Array | null = null): number {
    checkPartitionCount(partitionCount);
    if (typeof topic !== 'string') throw new TypeError(`topic must be a string, got a ${typeof topic}`);
    if (key !== null && !(key instanceof Uint8Array)) {
      throw new TypeError(`record key must be a Uint8Array (or Buffer) or null, got a ${typeof key}; serialize the key first`);
    }
    if (this.custom !== undefined) {
      const chosen: unknown = this.custom({ topic, partitionCount, key, value });
      if (!(typeof chosen === 'number' && Number.isInteger(chosen) && chosen >= 0 && chosen < partitionCount)) {
        throw new InvalidPartitionerResultError(topic, chosen, partitionCount);
      }
      return chosen;
    }
    if (key !== null) return toPositive(murmur2(key)) % partitionCount;
    const sticky = this.stickyByTopic.get(topic);
    // A sticky partition beyond the count means the topic was recreated with fewer partitions.
    if (sticky !== undefined && sticky < partitionCount) return sticky;
    return this.pickSticky(topic, partitionCount, undefined, undefined);
  }

  /**
   * The accumulator closed the batch of `prevPartition` and needs a new one: if that partition is
   * still the topic's sticky partition, move keyless records to another partition, chosen at random
   * among `availablePartitions` (default: all). A stale call (the sticky partition already moved)
   * changes nothing, as in Kafka, so concurrent batch closes move it only once.
   * Returns the topic's sticky partition after the call.
   */
  onNewBatch(
    topic: string,
    partitionCount: number,
    prevPartition: number,
    availablePartitions?: readonly number[],
  ): number {
    checkPartitionCount(partitionCount);
    if (!(Number.isInteger(prevPartition) && prevPartition >= 0 && prevPartition < partitionCount)) {
      throw new InvalidPartitionsError(
        `prevPartition ${prevPartition} is not a partition of topic "${topic}" (0 to ${partitionCount - 1})`,
      );
    }
    if (availablePartitions !== undefined) checkAvailablePartitions(topic, partitionCount, availablePartitions);
    const sticky = this.stickyByTopic.get(topic);
    if (sticky !== undefined && sticky !== prevPartition && sticky < partitionCount) return sticky;
    return this.pickSticky(topic, partitionCount, sticky, availablePartitions);
  }

  /** The topic's current sticky partition, undefined before its first keyless record. */
  stickyPartition(topic: string): number | undefined {
    return this.stickyByTopic.get(topic);
  }

  /**
   * Picks uniformly among the candidates other than `previous` (when there is another one), in one
   * draw: index into the candidates with `previous` removed, so no retry loop can spin on a poor
   * random source.
   */
  private pickSticky(
    topic: string,
    partitionCount: number,
    previous: number | undefined,
    availablePartitions: readonly number[] | undefined,
  ): number {
    let chosen: number;
    if (availablePartitions === undefined || availablePartitions.length === 0) {
      // No availability information (or nothing available): every partition is a candidate.
      chosen = this.pickExcluding(partitionCount, previous !== undefined && previous < partitionCount ? previous : -1);
    } else {
      const previousIndex = previous === undefined ? -1 : availablePartitions.indexOf(previous);
      chosen = availablePartitions[this.pickExcluding(availablePartitions.length, previousIndex)];
    }
    // Invariant: the candidates were validated and the index is in range.
    if (!(Number.isInteger(chosen) && chosen >= 0 && chosen < partitionCount)) {
      throw new Error(`invariant violated: sticky partition ${chosen} is outside [0, ${partitionCount})`);
    }
    this.stickyByTopic.set(topic, chosen);
    return chosen;
  }

  /** A uniform index in [0, count), never `excluded` when another index exists. */
  private pickExcluding(count: number, excluded: number): number {
    if (excluded < 0 || count === 1) return this.randomIndex(count);
    const index = this.randomIndex(count - 1);
    return index >= excluded ? index + 1 : index;
  }

  private randomIndex(count: number): number {
    const r = this.random();
    if (!(r >= 0 && r < 1)) {
      throw new InvalidConfigError(`random() returned ${r}; it must return a number in [0, 1)`);
    }
    // r * count can round up to count when r is within an ulp of 1.
    return Math.min(count - 1, Math.floor(r * count));
  }
}

function checkPartitionCount(partitionCount: number): void {
  if (!(Number.isInteger(partitionCount) && partitionCount >= 1 && partitionCount <= MAX_PARTITION_COUNT)) {
    throw new InvalidPartitionsError(
      `partitionCount must be an integer from 1 to ${MAX_PARTITION_COUNT}, got ${partitionCount}`,
    );
  }
}

function checkAvailablePartitions(topic: string, partitionCount: number, available: readonly number[]): void {
  for (const partition of available) {
    if (!(Number.isInteger(partition) && partition >= 0 && partition < partitionCount)) {
      throw new InvalidPartitionsError(
        `available partition ${partition} is not a partition of topic "${topic}" (0 to ${partitionCount - 1})`,
      );
    }
  }
}
