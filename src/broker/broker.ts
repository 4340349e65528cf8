/**
 * The embedded broker: topics from the TopicStore, partition logs owned by shard worker threads,
 * reads straight from the segment files, consumer groups with durable offsets. It implements
 * BrokerApi, which the embedded clients and the Kafka protocol server both use.
 *
 *   writes     produce -> the owning shard's request ring -> PartitionLog.append on that thread
 *   offsets    the shard publishes log start / high watermark / log end offset in the shared
 *              partition state table; partitionOffsets and long polls read it without messages
 *   reads      fetch -> LogReader on the calling thread, bounded by the published high watermark
 *   groups     GroupCoordinator over DurableOffsetStore / DurableGroupStore (__consumer_offsets)
 *
 * acks: 1 resolves after the append; -1 after the append and, when the topic sets flush.messages
 * or flush.ms, an fsync covering it; without a flush policy -1 is the same as 1, because a single
 * broker has no replicas to wait for (the page cache survives a process crash, not a power cut).
 * 0 still settles its promise, so callers can release buffer memory.
 */
import {
  ClosedError,
  InvalidRequestError,
  InvalidTopicError,
  PartitionNotFoundError,
  TopicNotFoundError,
} from '../errors.js';
import { DataDir } from '../storage/data-dir.js';
import { LogReader, type ReadBounds } from '../storage/log-reader.js';
import { resolveTopicConfig, toLogConfig } from '../storage/topic-config.js';
import { TopicStore, type CreateTopicOptions, type TopicMetadata } from '../storage/topic-store.js';
import { PartitionStateTable, emptySnapshot, type PartitionStateSnapshot } from '../shard/partition-state.js';
import { ShardPool } from '../shard/shard-pool.js';
import type { OpenedPartition } from '../shard/shard-messages.js';
import type {
  Acks,
  BrokerApi,
  FetchPartitionResult,
  IsolationLevel,
  ProduceOptions,
  ProduceResult,
  TopicPartitionOffsets,
} from './broker-api.js';
import { resolveBrokerConfig, type BrokerConfig, type BrokerOptions } from './config.js';
import { GroupCoordinator } from './group-coordinator.js';
import { DurableGroupStore } from './group-store.js';
import {
  CONSUMER_OFFSETS_TOPIC,
  DurableOffsetStore,
  emptyConsumerOffsetsState,
  replayConsumerOffsets,
  type ConsumerOffsetsState,
} from './offset-store.js';

interface OpenPartition {
  readonly topic: string;
  readonly partition: number;
  readonly shard: number;
  readonly slot: number;
  readonly dir: string;
  reader: LogReader | null;
  /** Settles once the shard has opened (recovered) the log. */
  opened: Promise<OpenedPartition>;
}

interface OpenTopic {
  metadata: TopicMetadata;
  readonly partitions: OpenPartition[];
}

const NO_ABORTED_TRANSACTIONS: readonly { producerId: number; firstOffset: number }[] = Object.freeze([]);
/** Bytes read per step while replaying __consumer_offsets at open. */
const REPLAY_READ_BYTES = 1024 * 1024;
const INT32_MAX = 0x7fff_ffff;

export class Broker implements BrokerApi {
  readonly config: BrokerConfig;
  private readonly dataDir: DataDir;
  private readonly topicStore: TopicStore;
  private readonly stateTable: PartitionStateTable;
  private readonly pool: ShardPool;
  private readonly topics = new Map<string, OpenTopic>();
  private readonly snapshot: PartitionStateSnapshot = emptySnapshot();
  private coordinator: GroupCoordinator | null = null;
  private closing: Promise<void> | null = null;

  private constructor(config: BrokerConfig, dataDir: DataDir, topicStore: TopicStore, stateTable: PartitionStateTable, pool: ShardPool) {
    this.config = config;
    this.dataDir = dataDir;
    this.topicStore = topicStore;
    this.stateTable = stateTable;
    this.pool = pool;
  }

  /**
   * Opens the data directory (locking it), starts the shards, opens and recovers every partition
   * log, and replays the committed offsets and groups.
   */
  static async open(options: BrokerOptions): Promise<Broker> {
    const config = resolveBrokerConfig(options);
    const dataDir = DataDir.open(config.dataDir, { logger: config.logger });
    let pool: ShardPool | null = null;
    try {
      const topicStore = TopicStore.open(dataDir, { maxPartitionsPerTopic: config.maxPartitionsPerTopic });
      const stateTable = PartitionStateTable.create(config.maxPartitions);
      pool = new ShardPool({
        shards: config.shards,
        stateTable,
        requestRingBytes: config.shardRingBytes,
        completionRingBytes: config.shardCompletionRingBytes,
        retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
        logger: config.logger,
      });
      const broker = new Broker(config, dataDir, topicStore, stateTable, pool);
      pool.on('shardFailure', (shard: number, error: Error) => {
        config.logger.warn(`shard ${shard} failed and was restarted: ${error.message}`);
      });
      for (const metadata of topicStore.list()) broker.openTopic(metadata);
      await broker.allOpened();
      await broker.startGroupCoordinator();
      return broker;
    } catch (error) {
      await pool?.close().catch(() => undefined);
      dataDir.close();
      throw error;
    }
  }

  get groups(): GroupCoordinator {
    this.checkOpen();
    return this.coordinator!;
  }

  /** The shard threads, for diagnostics and fault-injection tests. */
  get shards(): ShardPool {
    return this.pool;
  }

  // ---- Topics ----

  topicMetadata(topic: string, options: { autoCreate?: boolean } = {}): TopicMetadata {
    this.checkOpen();
    const open = this.topics.get(requireTopicName(topic));
    if (open !== undefined) return open.metadata;
    if (options?.autoCreate === true && this.config.autoCreateTopicsEnable) {
      return this.createTopicNow(topic, { partitions: this.config.numPartitions }).metadata;
    }
    throw new TopicNotFoundError(topic);
  }

  listTopics(): TopicMetadata[] {
    this.checkOpen();
    return this.topicStore.list();
  }

  async createTopic(name: string, options: CreateTopicOptions = {}): Promise<TopicMetadata> {
    this.checkOpen();
    if (options === null || typeof options !== 'object') throw new InvalidRequestError('createTopic options must be an object');
    const open = this.createTopicNow(requireTopicName(name), { partitions: options.partitions ?? this.config.numPartitions, configs: options.configs });
    await Promise.all(open.partitions.map((partition) => partition.opened));
    return open.metadata;
  }

  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    const open = this.openTopic(requireTopicName(name), false);
    if (open.metadata.internal) throw new InvalidTopicError(`topic "${name}" is internal to the broker and cannot be deleted`);
    this.topicStore.delete(name);
    this.topics.delete(name);
    await Promise.all(open.partitions.map((partition) => this.closePartition(partition, true)));
  }

  async createPartitions(name: string, totalCount: number): Promise<TopicMetadata> {
    this.checkOpen();
    const open = this.openTopic(requireTopicName(name), false);
    const metadata = this.topicStore.addPartitions(name, totalCount);
    open.metadata = metadata;
    const added: OpenPartition[] = [];
    for (let partition = open.partitions.length; partition < metadata.partitionCount; partition++) {
      const opened = this.openPartition(metadata, partition);
      open.partitions.push(opened);
      added.push(opened);
    }
    await Promise.all(added.map((partition) => partition.opened));
    return metadata;
  }

  // ---- Data ----

  async produce(topic: string, partition: number, batches: Buffer, acks: Acks, options: ProduceOptions = {}): Promise<ProduceResult> {
    this.checkOpen();
    if (!Buffer.isBuffer(batches) || batches.length === 0) {
      throw new InvalidRequestError('produce takes a non-empty Buffer of whole record batches');
    }
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      throw new InvalidRequestError(`acks must be 0, 1 or -1 (all), got ${String(acks)}`);
    }
    const target = this.partitionOf(topic, partition, this.config.autoCreateTopicsEnable);
    if (options === null || typeof options !== 'object') throw new InvalidRequestError('produce options must be an object');
    const outcome = await this.pool.append(target.shard, target.slot, batches, acks, options.crcVerified === true);
    return {
      topic,
      partition,
      baseOffset: outcome.baseOffset,
      lastOffset: outcome.lastOffset,
      logAppendTimeMs: outcome.logAppendTimeMs,
      logStartOffset: outcome.logStartOffset,
    };
  }

  fetch(topic: string, partition: number, offset: number, maxBytes: number, isolationLevel: IsolationLevel): FetchPartitionResult {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    requireOffset('fetch offset', offset);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new InvalidRequestError(`fetch maxBytes must be an integer >= 0, got ${String(maxBytes)}`);
    }
    if (isolationLevel !== 'read_uncommitted' && isolationLevel !== 'read_committed') {
      throw new InvalidRequestError(`isolationLevel must be 'read_uncommitted' or 'read_committed', got ${String(isolationLevel)}`);
    }
    const state = this.stateTable.read(target.slot, this.snapshot);
    const logStartOffset = state.logStartOffset;
    const highWatermark = state.highWatermark;
    const lastStableOffset = state.lastStableOffset;
    // read_committed stops at the last stable offset (equal to the high watermark until transactions).
    const readableEnd = isolationLevel === 'read_committed' ? lastStableOffset : highWatermark;
    target.reader ??= new LogReader(target.dir);
    const bounds: ReadBounds = { logStartOffset, logEndOffset: state.logEndOffset, readableEndOffset: readableEnd, storageEpoch: state.storageEpoch };
    const result = target.reader.read(offset, maxBytes, bounds, () => {
      const now = this.stateTable.read(target.slot, this.snapshot);
      return {
        logStartOffset: now.logStartOffset,
        logEndOffset: now.logEndOffset,
        readableEndOffset: isolationLevel === 'read_committed' ? now.lastStableOffset : now.highWatermark,
        storageEpoch: now.storageEpoch,
      };
    });
    return {
      topic,
      partition,
      records: result.records,
      nextOffset: result.nextOffset,
      highWatermark,
      lastStableOffset,
      logStartOffset,
      abortedTransactions: NO_ABORTED_TRANSACTIONS,
    };
  }

  async waitForData(topic: string, partition: number, offset: number, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    requireOffset('waitForData offset', offset);
    if (!(typeof maxWaitMs === 'number' && maxWaitMs >= 0 && (Number.isInteger(maxWaitMs) || maxWaitMs === Infinity))) {
      throw new InvalidRequestError(`maxWaitMs must be an integer >= 0 (or Infinity), got ${String(maxWaitMs)}`);
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidRequestError('signal must be an AbortSignal');
    const deadlineMs = Date.now() + maxWaitMs;
    const state = emptySnapshot();
    for (;;) {
      this.stateTable.read(target.slot, state);
      if (state.highWatermark > offset || signal?.aborted || this.closing !== null || !this.isCurrent(target)) return;
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) return;
      await this.stateTable.waitForChange(target.slot, state.sequence, remainingMs, signal);
    }
  }

  partitionOffsets(topic: string, partition: number): TopicPartitionOffsets {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    const state = this.stateTable.read(target.slot, this.snapshot);
    return {
      partition,
      logStartOffset: state.logStartOffset,
      highWatermark: state.highWatermark,
      lastStableOffset: state.lastStableOffset,
    };
  }

  /**
   * Kafka's ListOffsets: the earliest offset whose batch reaches `timestampMs` (see
   * PartitionLog.offsetForTimestamp), null when none does. -1 (latest) gives the high watermark
   * and -2 (earliest) the log start offset, as in Kafka.
   */
  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    if (!Number.isSafeInteger(timestampMs) || timestampMs < -2) {
      throw new InvalidRequestError(`timestampMs must be a time in ms, -1 (latest) or -2 (earliest), got ${String(timestampMs)}`);
    }
    if (timestampMs === -1) return this.stateTable.read(target.slot, this.snapshot).highWatermark;
    if (timestampMs === -2) return this.stateTable.read(target.slot, this.snapshot).logStartOffset;
    return this.pool.control<number | null>(target.shard, { op: 'offsetForTimestamp', slot: target.slot, timestampMs });
  }

  /** Kafka's DeleteRecords: moves the log start offset to `beforeOffset` (-1: the high watermark). */
  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    if (beforeOffset !== -1) requireOffset('deleteRecords offset', beforeOffset);
    const offset = beforeOffset === -1 ? this.stateTable.read(target.slot, this.snapshot).highWatermark : beforeOffset;
    return this.pool.control<number>(target.shard, { op: 'deleteRecords', slot: target.slot, offset });
  }

  /**
   * Stops the group coordinator, lets every shard finish the requests already sent, closes every
   * log and waits for every shard thread to exit, then unlocks the data directory. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    this.coordinator?.close();
    try {
      await this.pool.close();
    } finally {
      for (const open of this.topics.values()) for (const partition of open.partitions) partition.reader?.close();
      this.topics.clear();
      this.topicStore.close();
      this.dataDir.close();
    }
  }

  // ---- Internals ----

  private createTopicNow(name: string, options: CreateTopicOptions): OpenTopic {
    return this.openTopic(this.topicStore.create(name, options));
  }

  private openTopic(metadata: TopicMetadata): OpenTopic;
  private openTopic(name: string, autoCreate: boolean): OpenTopic;
  private openTopic(what: TopicMetadata | string, autoCreate?: boolean): OpenTopic {
    if (typeof what === 'string') {
      const open = this.topics.get(what);
      if (open !== undefined) return open;
      if (autoCreate === true) return this.createTopicNow(what, { partitions: this.config.numPartitions });
      throw new TopicNotFoundError(what);
    }
    const open: OpenTopic = { metadata: what, partitions: [] };
    for (let partition = 0; partition < what.partitionCount; partition++) open.partitions.push(this.openPartition(what, partition));
    this.topics.set(what.name, open);
    return open;
  }

  /**
   * Sends the open to the owning shard at once: requests for the partition sent later queue
   * behind it in the same ring, so callers need not wait for it.
   */
  private openPartition(metadata: TopicMetadata, partition: number): OpenPartition {
    const resolved = resolveTopicConfig(metadata.configs);
    const slot = this.stateTable.allocate();
    const shard = this.pool.shardFor(metadata.name, partition);
    const dir = this.dataDir.partitionDir(metadata.name, partition);
    const opened = this.pool.openPartition(shard, { slot, dir, config: toLogConfig(resolved), deleteRetention: resolved.cleanupDelete });
    opened.catch((error: Error) => this.config.logger.warn(`could not open ${dir}: ${error.message}`));
    return { topic: metadata.name, partition, shard, slot, dir, reader: null, opened };
  }

  private async closePartition(partition: OpenPartition, removeDirectory: boolean): Promise<void> {
    partition.reader?.close();
    partition.reader = null;
    try {
      await this.pool.closePartition(partition.shard, partition.slot, removeDirectory);
    } finally {
      this.stateTable.release(partition.slot);
    }
  }

  private async allOpened(): Promise<void> {
    const opens: Promise<OpenedPartition>[] = [];
    for (const open of this.topics.values()) for (const partition of open.partitions) opens.push(partition.opened);
    await Promise.all(opens);
  }

  private isCurrent(target: OpenPartition): boolean {
    return this.topics.get(target.topic)?.partitions[target.partition] === target;
  }

  private partitionOf(topic: string, partition: number, autoCreate: boolean): OpenPartition {
    const open = this.openTopic(requireTopicName(topic), autoCreate);
    if (!Number.isInteger(partition) || partition < 0 || partition > INT32_MAX) {
      throw new InvalidRequestError(`partition must be an integer >= 0, got ${String(partition)}`);
    }
    const found = open.partitions[partition];
    if (found === undefined) throw new PartitionNotFoundError(topic, partition, open.partitions.length);
    return found;
  }

  /** Creates __consumer_offsets if needed, replays it, and starts the coordinator on it. */
  private async startGroupCoordinator(): Promise<void> {
    if (!this.topics.has(CONSUMER_OFFSETS_TOPIC)) {
      const open = this.openTopic(
        this.topicStore.create(CONSUMER_OFFSETS_TOPIC, { partitions: 1, configs: { 'cleanup.policy': 'compact' }, internal: true }),
      );
      await Promise.all(open.partitions.map((partition) => partition.opened));
    }
    const state = emptyConsumerOffsetsState();
    this.replayOffsets(state);
    const append = async (batch: Buffer): Promise<void> => {
      // Encoded here by the record batch encoder: its CRC is right by construction.
      await this.produce(CONSUMER_OFFSETS_TOPIC, 0, batch, -1, { crcVerified: true });
    };
    const offsetStore = new DurableOffsetStore(state, append);
    const groupStore = new DurableGroupStore(state, append);
    this.coordinator = new GroupCoordinator({
      offsetStore,
      metadataStore: groupStore,
      initialRebalanceDelayMs: this.config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: this.config.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: this.config.groupMaxSessionTimeoutMs,
      maxGroupSize: this.config.groupMaxSize,
      restoredGroups: groupStore.restoredGroups(offsetStore.groupIds(), Date.now()),
    });
  }

  private replayOffsets(state: ConsumerOffsetsState): void {
    const { logStartOffset, highWatermark } = this.partitionOffsets(CONSUMER_OFFSETS_TOPIC, 0);
    for (let offset = logStartOffset; offset < highWatermark; ) {
      const result = this.fetch(CONSUMER_OFFSETS_TOPIC, 0, offset, REPLAY_READ_BYTES, 'read_uncommitted');
      if (result.records.length === 0) break;
      replayConsumerOffsets(result.records, state);
      offset = result.nextOffset;
    }
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new ClosedError('broker');
  }
}

function requireTopicName(topic: unknown): string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new InvalidTopicError(`topic must be a non-empty string, got ${topic === '' ? 'an empty string' : String(topic)}`);
  }
  return topic;
}

function requireOffset(what: string, offset: unknown): void {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidRequestError(`${what} must be an integer >= 0, got ${String(offset)}`);
  }
}
