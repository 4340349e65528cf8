/**
 * The seam between the embedded clients (producer, consumer, admin in src/client) and the broker
 * (topics, shards, group coordinator in src/broker). The embedded clients talk to a `BrokerApi`
 * directly; the Kafka protocol server talks to the same object, so both paths share one behaviour.
 */
import type { GroupCoordinator } from './group-coordinator.js';
import type { TopicMetadata, CreateTopicOptions } from '../storage/topic-store.js';

export type Acks = 0 | 1 | -1;
export type IsolationLevel = 'read_uncommitted' | 'read_committed';

export interface ProduceResult {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record of the first batch appended. */
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
}

export interface ProduceOptions {
  readonly crcVerified?: boolean;
}

export interface FetchPartitionResult {
  readonly topic: string;
  readonly partition: number;
  /** Whole record batches exactly as stored (never re-encoded); empty when nothing is readable. */
  readonly records: Buffer;
  /** Offset to fetch next: after the last batch in `records` (or the request offset when empty). */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  /** Transactions aborted in the returned range (read_committed only), as Kafka's FetchResponse. */
  readonly abortedTransactions: readonly { producerId: number; firstOffset: number }[];
}

export interface TopicPartitionOffsets {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
}

export interface BrokerApi {
  /**
   * Topic metadata; with autoCreate, a missing topic is created with the broker's defaults when
   * the broker allows auto-creation (auto.create.topics.enable), else TopicNotFoundError.
   */
  topicMetadata(topic: string, options?: { autoCreate?: boolean }): TopicMetadata;
  listTopics(): TopicMetadata[];
  createTopic(name: string, options: CreateTopicOptions): Promise<TopicMetadata>;
  deleteTopic(name: string): Promise<void>;
  createPartitions(name: string, totalCount: number): Promise<TopicMetadata>;

  /**
   * Appends whole v2 batches to one partition through its owning shard. Resolves once appended
   * (acks 1) or appended and flushed per the topic's flush policy (acks -1); with acks 0 the
   * promise still settles so callers can release buffer memory, but nobody need wait on it.
   * `options.crcVerified`: the caller computed or checked every batch's CRC32C (the embedded
   * producer, the server's connection thread), so the shard skips that pass; structure is
   * still validated.
   */
  produce(topic: string, partition: number, batches: Buffer, acks: Acks, options?: ProduceOptions): Promise<ProduceResult>;

  /** Reads whole batches from `offset` without involving the owning shard (readers never block writers). */
  fetch(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    isolationLevel: IsolationLevel,
  ): FetchPartitionResult;

  /** Resolves when the partition's readable end moves past `offset`, or after `maxWaitMs`, or on abort. */
  waitForData(
    topic: string,
    partition: number,
    offset: number,
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<void>;

  partitionOffsets(topic: string, partition: number): TopicPartitionOffsets;
  offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null>;
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number>;

  readonly groups: GroupCoordinator;

  close(): Promise<void>;
}
