/**
 * The embedded consumer's public vocabulary: its options, the payloads its handlers get, its
 * event names and defaults, apart from the Consumer that implements them (consumer.ts re-exports
 * all of it).
 */
import type { IsolationLevel } from '../broker/broker-api.js';
import type { ConsumedMessage } from './fetcher.js';
import type { Serializer } from './serializers.js';

export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export interface ConsumerOptions<K = Buffer, V = Buffer> {
  /** Consumer group; required for subscribe() and for committing offsets. */
  groupId?: string;
  /** Static membership (KIP-345): a restarted member takes its place back without a rebalance; it does not leave on disconnect. */
  groupInstanceId?: string;
  clientId?: string;
  /** Default 30000 ms; must lie within the broker's group session timeout range. */
  sessionTimeout?: number;
  /** How long a rebalance waits for members to rejoin. Default 60000 ms. */
  rebalanceTimeout?: number;
  /** Default 3000 ms; keep it well below sessionTimeout. */
  heartbeatInterval?: number;
  /**
   * Assignor names in order of preference. Default ['range', 'cooperative-sticky'], Kafka's
   * default (kafkajs's is round robin): range is used, and a group can move to cooperative-sticky
   * by a rolling change to ['cooperative-sticky'].
   */
  assignors?: string[];
  /** Where to start without a committed offset (and after an out-of-range position). Default 'latest', as Kafka. */
  autoOffsetReset?: AutoOffsetReset;
  /** Kafka's fetch.max.bytes: fetched bytes per round, all partitions. Default 52428800. */
  maxBytes?: number;
  /** Kafka's max.partition.fetch.bytes. Default 1048576. */
  maxBytesPerPartition?: number;
  /** Kafka's fetch.min.bytes: wait for this much before handing out. Default 1. */
  minBytes?: number;
  /** Kafka's fetch.max.wait.ms: longest wait for minBytes. Default 500. */
  maxWaitTimeInMs?: number;
  /**
   * Default 'read_uncommitted', Kafka's default. 'read_committed' reads up to the last stable
   * offset and never hands out records of aborted transactions. kafkajs's numbers are accepted
   * too (IsolationLevel.READ_UNCOMMITTED 0, READ_COMMITTED 1).
   */
  isolationLevel?: IsolationLevel | 0 | 1;
  /** Re-check subscribed topics (new regex matches, added partitions) this often. Default 300000 ms. */
  metadataMaxAge?: number;
  /**
   * Kafka's check.crcs: verify the CRC32C of every fetched batch. Default true, as Kafka.
   * The bytes did not cross a network, but they did rest on a disk: each batch's CRC was checked
   * when it was appended and the shard checks its active segment again at startup, not when it
   * is read back, so this check is what notices a segment damaged since (a bad sector, a
   * file changed by another program), as a CorruptRecordError instead of a wrong key or value.
   * Framing, lengths and varints are checked either way, so false never reads out of bounds;
   * it saves one pass over every fetched byte: about a quarter more records per second for a
   * consumer of 100-byte records read from disk.
   */
  checkCrcs?: boolean;
  keyDeserializer?: Serializer<K>;
  valueDeserializer?: Serializer<V>;
  /** How run() retries and restarts after a failure, as kafkajs's consumer `retry` option. */
  retry?: ConsumerRetryOptions;
}

/** kafkajs's RetryOptions, with its defaults. */
export interface ConsumerRetryOptions {
  /** Backoff before the first retry, ms. Default 300. */
  initialRetryTime?: number;
  /** Largest backoff, ms. Default 30000. */
  maxRetryTime?: number;
  /** Randomization of each backoff, 0 to 1: ±factor of it. Default 0.2. */
  factor?: number;
  /** Growth of the backoff from one retry to the next. Default 2. */
  multiplier?: number;
  /** Retries before the consumer stops and restarts. Default 5. */
  retries?: number;
  /**
   * Called when the retries ran out, before the restart: the consumer restarts if it resolves
   * true (truthy) and stays stopped otherwise. A callback that throws counts as true, as in kafkajs.
   */
  restartOnFailure?: (error: Error) => Promise<boolean> | boolean;
}

export interface SubscribeOptions {
  topics?: (string | RegExp)[];
  topic?: string | RegExp;
  /** true: 'earliest' for these topics when the group has no offset; false: 'latest'; unset: autoOffsetReset. */
  fromBeginning?: boolean;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface ManualAssignment {
  topic: string;
  partition: number;
  /** Start here; otherwise the group's committed offset, then autoOffsetReset. */
  offset?: number;
}

export interface EachMessagePayload<K, V> {
  topic: string;
  partition: number;
  message: ConsumedMessage<K, V>;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface Batch<K, V> {
  topic: string;
  partition: number;
  highWatermark: number;
  messages: ConsumedMessage<K, V>[];
  isEmpty(): boolean;
  firstOffset(): number | null;
  lastOffset(): number;
  /** Records between the last message of the batch and the end the consumer reads to (read_committed: the last stable offset). */
  offsetLag(): number;
  /** Records between the first message of the batch and that end. */
  offsetLagLow(): number;
}

export interface EachBatchPayload<K, V> {
  batch: Batch<K, V>;
  /** Marks the message at `offset` (and all before it) processed. */
  resolveOffset(offset: number): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
  commitOffsetsIfNecessary(): Promise<void>;
  uncommittedOffsets(): TopicPartitionOffset[];
  isRunning(): boolean;
  /** True once the partition was revoked, seeked or paused: stop processing this batch. */
  isStale(): boolean;
}

export interface RunOptions<K, V> {
  eachMessage?: (payload: EachMessagePayload<K, V>) => Promise<void> | void;
  eachBatch?: (payload: EachBatchPayload<K, V>) => Promise<void> | void;
  /** Resolve the batch's last offset when eachBatch returns. Default true. */
  eachBatchAutoResolve?: boolean;
  /** Default true (needs a groupId). */
  autoCommit?: boolean;
  /** Commit at most this often, ms. Default 5000. */
  autoCommitInterval?: number;
  /** Commit once this many messages were processed since the last commit. Default: no threshold. */
  autoCommitThreshold?: number;
  /** Partitions handed to handlers at once. Default 1. */
  partitionsConsumedConcurrently?: number;
}

/**
 * kafkajs's event names; listeners get { id, type, timestamp, payload }. Payloads:
 *   GROUP_JOIN   { groupId, memberId, generationId, memberAssignment: { topic: partitions } }, when
 *                a rebalance gives this member partitions;
 *   REBALANCING  { groupId, memberId, revoked: [{ topic, partitions }] }, when it gives some up
 *                (eager: all of them, before rejoining; cooperative: those that move);
 *   CRASH        { error, groupId, restart }, when a failure stopped the consumer; `restart` says
 *                whether it starts again by itself (see the retry option);
 *   STOP         {}, when stop() or disconnect() completed.
 */
export const CONSUMER_EVENTS = Object.freeze({
  GROUP_JOIN: 'consumer.group_join',
  CRASH: 'consumer.crash',
  STOP: 'consumer.stop',
  REBALANCING: 'consumer.rebalancing',
});

export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
export const DEFAULT_REBALANCE_TIMEOUT_MS = 60_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;
export const DEFAULT_ASSIGNORS: readonly string[] = Object.freeze(['range', 'cooperative-sticky']);
export const DEFAULT_MAX_BYTES = 52_428_800;
export const DEFAULT_MAX_BYTES_PER_PARTITION = 1_048_576;
export const DEFAULT_MAX_WAIT_TIME_MS = 500;
export const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5_000;
export const DEFAULT_METADATA_MAX_AGE_MS = 300_000;
/** kafkajs's retry defaults. */
export const DEFAULT_RETRY = Object.freeze({ initialRetryTime: 300, maxRetryTime: 30_000, factor: 0.2, multiplier: 2, retries: 5 });
