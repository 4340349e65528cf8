/**
 * The embedded broker: topics from the TopicStore, partition logs owned by shard worker threads,
 * reads straight from the segment files, consumer groups with durable offsets. It implements
 * BrokerApi, which the embedded clients and the Kafka protocol server both use.
 * Over 800 lines because it routes every BrokerApi call to the module that owns the work.
 *
 *   writes     produce -> the owning shard's request ring -> PartitionLog.append on that thread
 *   offsets    the shard publishes log start / high watermark / log end offset in the shared
 *              partition state table; partitionOffsets and long polls read it without messages
 *   reads      fetch -> LogReader on the calling thread, bounded by the published high watermark
 *   groups     GroupCoordinator over DurableOffsetStore / DurableGroupStore (__consumer_offsets)
 *   lag        every visible commit (replayed ones too) feeds a LagEvaluator; groupLag judges it
 *   txns       TransactionCoordinator over __transaction_state (transaction-store.ts); its markers
 *              go through the owning shards with origin 'coordinator'; TxnOffsetCommit offsets
 *              are staged in __consumer_offsets and made visible (or dropped) with the markers
 *   read_committed  the shard publishes the last stable offset (the first offset of the oldest
 *              open transaction); fetch stops there and lists the aborted transactions of the
 *              range from the segments' .txnindex files
 *
 * acks: 1 resolves after the append; -1 after the append and, when the topic sets flush.messages
 * or flush.ms, an fsync covering it; without a flush policy -1 is the same as 1, because a single
 * broker has no replicas to wait for (the page cache survives a process crash, not a power cut).
 * 0 still settles its promise, so callers can release buffer memory.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ClosedError,
  ConcurrentTransactionsError,
  FencedLeaderEpochError,
  GroupIdNotFoundError,
  InvalidGroupIdError,
  InvalidProducerEpochError,
  InvalidRequestError,
  InvalidTopicError,
  PartitionNotFoundError,
  PolicyViolationError,
  ProducerFencedError,
  RecoveryNeededError,
  TopicNotFoundError,
  TransactionAbortableError,
  TransactionalIdRequiredError,
  TransactionVerificationPendingError,
  UnknownLeaderEpochError,
} from '../errors.js';
import {
  BATCH_HEADER_BYTES,
  NO_PRODUCER_ID,
  PRODUCER_ID_OFFSET,
  batchSizeAt,
  isControlBatch,
  isTransactionalBatch,
  readAttributes,
  readProducerEpoch,
  readProducerId,
} from '../protocol/batch-header.js';
import { encodeControlBatch } from '../protocol/control-record.js';
import { INT32_MAX } from '../protocol/limits.js';
import { DataDir } from '../storage/data-dir.js';
import { requireOffset } from '../validate.js';
import { recoveryNeeded } from '../storage/log-loader.js';
import { LogReader, type ReadBounds, type TimestampMatch } from '../storage/log-reader.js';
import { endOffsetForEpoch, type EpochEndOffset, type EpochEntry } from '../storage/leader-epoch-cache.js';
import type { LogStats } from '../storage/partition-log.js';
import { alterTopicConfigs, resolveTopicConfig, toLogConfig, type TopicConfigOverrides, type TopicConfigValue } from '../storage/topic-config.js';
import { TopicStore, type CreateTopicOptions, type TopicMetadata } from '../storage/topic-store.js';
import { PartitionStateTable, emptySnapshot, type PartitionStateSnapshot } from '../shard/partition-state.js';
import { ShardPool, type RingUsage } from '../shard/shard-pool.js';
import type { ActiveProducer, OpenedPartition } from '../shard/shard-messages.js';
import type {
  Acks,
  AddOffsetsToTxnRequest,
  AddPartitionsToTxnRequest,
  BrokerApi,
  EndTxnRequest,
  InitProducerIdRequest,
  InitProducerIdResult,
  TxnOffsetCommitRequest,
  FetchPartitionResult,
  GroupLagDescription,
  IsolationLevel,
  LogDirDescription,
  PartitionLagDescription,
  ProduceOptions,
  ProduceResult,
  TopicPartitionOffsets,
} from './broker-api.js';
import { AclStore, type AclCreateResult, type AclDeleteResult } from './acl/acl-store.js';
import type { AclBinding, AclBindingFilter } from './acl/acl.js';
import { BrokerConfigFile, alterBrokerConfigs, type BrokerConfigOverrides, type BrokerConfigScope } from './broker-configs.js';
import { resolveBrokerConfig, type BrokerConfig, type BrokerOptions } from './config.js';
import { DEFAULT_OFFSET_METADATA_MAX_CHARS, GroupCoordinator } from './group-coordinator.js';
import { systemClock } from './coordinator-clock.js';
import type { GroupCoordinatorApi, TopicPartitionRef } from './group-types.js';
import { DurableGroupStore } from './group-store.js';
import { ConsumerGroupCoordinator } from './consumer-group/consumer-group-coordinator.js';
import { DurableConsumerGroupStore } from './consumer-group/store.js';
import { OffsetManager } from './offset-manager.js';
import { LagEvaluator, partitionLag, type CommitWindowEntry } from './lag.js';
import {
  CONSUMER_OFFSETS_TOPIC,
  DurableOffsetStore,
  emptyConsumerOffsetsState,
  replayConsumerOffsets,
  type ConsumerOffsetsState,
  type OffsetChangeListener,
} from './offset-store.js';
import { ProducerIdManager } from './producer-id-manager.js';
import { fetchFromLog, readBoundsOf, waitForLogData } from './partition-read.js';
import {
  TransactionCoordinator,
  type TransactionDescription,
  type TransactionListFilters,
  type TransactionListing,
  type TransactionLogEntry,
  type TxnMarker,
} from './transaction-coordinator.js';
import { DurableTransactionStateStore, TRANSACTION_STATE_TOPIC, TransactionMetaFile, replayTransactionLog } from './transaction-store.js';

/** A topic's partitions as an attached thread addresses them (Broker.topicPlacement). */
export interface TopicPlacement {
  readonly metadata: TopicMetadata;
  /** Indexed by partition number; `dir` is the partition's directory, which readers open. */
  readonly partitions: readonly { readonly shard: number; readonly slot: number; readonly generation: number; readonly dir: string }[];
}

interface OpenPartition {
  readonly topic: string;
  readonly partition: number;
  readonly shard: number;
  readonly slot: number;
  readonly dir: string;
  reader: LogReader | null;
  /** Settles once the shard has opened (recovered) the log. */
  opened: Promise<OpenedPartition>;
  /** Counted per produce and fetch call (never per record), for partitionStats. */
  readonly traffic: PartitionTraffic;
}

/** What a partition took in and handed out since it was opened here. */
export interface PartitionTraffic {
  /** Records appended by produce calls (the offsets they were given). */
  recordsIn: number;
  /** Bytes of record batches appended by produce calls. */
  bytesIn: number;
  /** Offsets handed out by fetch calls: the records read, with any control records among them. */
  recordsOut: number;
  /** Bytes of record batches handed out by fetch calls. */
  bytesOut: number;
}

/** One open partition's offsets and traffic, as Broker.partitionStats reports them. */
export interface PartitionStats {
  readonly topic: string;
  readonly partition: number;
  readonly shard: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  readonly lastStableOffset: number;
  readonly traffic: Readonly<PartitionTraffic>;
}

/**
 * What opening the broker repaired across every partition log (each repair is also logged as it
 * happens). A clean shutdown gives zeros but for partitionsOpened.
 */
export interface RecoverySummary {
  partitionsOpened: number;
  /** Partitions where recovery changed something on disk. */
  partitionsRepaired: number;
  /** Bytes cut from torn or corrupt segment tails. */
  bytesTruncated: number;
  /** Segments deleted because an earlier one was cut (offsets stay contiguous). */
  segmentsRemoved: number;
  /** Segments whose offset and time indexes were rebuilt from their log. */
  indexesRebuilt: number;
  /** Producer-state snapshots that failed their checks and were discarded. */
  snapshotsDiscarded: number;
  /** Leftovers of interrupted work removed: checkpoint writes, segment deletions, log cleans. */
  filesRemoved: number;
}

/** The one-line form of a recovery summary, as `sluice serve` prints it at start. */
export function formatRecoverySummary(summary: RecoverySummary): string {
  return (
    `recovery: ${summary.partitionsOpened} partition(s) opened, ${summary.partitionsRepaired} repaired; ` +
    `${summary.bytesTruncated} byte(s) truncated, ${summary.segmentsRemoved} segment(s) removed, ` +
    `${summary.indexesRebuilt} index(es) rebuilt, ${summary.snapshotsDiscarded} snapshot(s) discarded, ` +
    `${summary.filesRemoved} leftover file(s) removed`
  );
}

interface OpenTopic {
  metadata: TopicMetadata;
  readonly partitions: OpenPartition[];
}

/** How many times initProducerId waits out a transaction completing before it gives up with CONCURRENT_TRANSACTIONS. */
const MAX_INIT_PRODUCER_ID_WAITS = 50;
/** Bytes read per step while replaying __consumer_offsets at open. */
const REPLAY_READ_BYTES = 1024 * 1024;
/** Kafka's NO_PARTITION_LEADER_EPOCH: a request's currentLeaderEpoch that asks for no check. */
const NO_LEADER_EPOCH = -1;
/** ListOffsets' MAX_TIMESTAMP (KIP-734), as batchForTimestamp takes it. */
const MAX_TIMESTAMP_LOOKUP = -3;

export class Broker implements BrokerApi {
  readonly config: BrokerConfig;
  private readonly dataDir: DataDir;
  private readonly topicStore: TopicStore;
  /** Dynamic broker configs: the topic config defaults set at runtime (broker-configs.ts). */
  private readonly brokerConfigFile: BrokerConfigFile;
  /** ACL bindings (acl/acl-store.ts), enforced by the Kafka protocol server's authorizer. */
  private readonly aclStore: AclStore;
  private readonly stateTable: PartitionStateTable;
  private readonly pool: ShardPool;
  private readonly topics = new Map<string, OpenTopic>();
  private readonly snapshot: PartitionStateSnapshot = emptySnapshot();
  private coordinator: GroupCoordinator | null = null;
  private consumerGroupCoordinator: ConsumerGroupCoordinator | null = null;
  private offsetStore: DurableOffsetStore | null = null;
  /** What the offset store rebuilt and keeps current, read for the offsets still staged in transactions. */
  private consumerOffsetsState: ConsumerOffsetsState | null = null;
  private txnCoordinator: TransactionCoordinator | null = null;
  /** Every group's recent commits, fed by the offset store (live and replayed), for groupLag. */
  private readonly lag: LagEvaluator;
  /** Callers waiting for the next durable state change of a transactional id (endTxn, initProducerId). */
  private readonly txnWaiters = new Map<string, Set<{ resolve(): void; reject(error: Error): void }>>();
  /** Set by injectMarkerFault: marker writes fail (the coordinator retries them) until healed. */
  private markerFault: Error | null = null;
  private closing: Promise<void> | null = null;
  private recoverySummary: RecoverySummary | null = null;

  private constructor(
    config: BrokerConfig,
    dataDir: DataDir,
    topicStore: TopicStore,
    brokerConfigFile: BrokerConfigFile,
    stateTable: PartitionStateTable,
    pool: ShardPool,
  ) {
    this.config = config;
    this.dataDir = dataDir;
    this.topicStore = topicStore;
    this.brokerConfigFile = brokerConfigFile;
    this.aclStore = AclStore.open(dataDir.metaDir);
    this.stateTable = stateTable;
    this.pool = pool;
    this.lag = new LagEvaluator({
      windowSize: config.lagWindowSize,
      minCommitIntervalMs: config.lagMinCommitIntervalMs,
      stoppedAfterMs: config.lagStoppedAfterMs ?? undefined,
      maxTrackedPartitions: config.lagMaxTrackedPartitions,
      endOffsetSampleIntervalMs: config.lagEndOffsetSampleIntervalMs,
    });
  }

  /**
   * Opens the data directory (locking it), starts the shards, opens and recovers every partition
   * log, and replays the committed offsets and groups.
   */
  static async open(options: BrokerOptions): Promise<Broker> {
    const config = resolveBrokerConfig(options);
    // An inspection (refuseRecovery) changes nothing, the space reserve included.
    const dataDir = DataDir.open(config.dataDir, { logger: config.logger, spaceReserve: !config.refuseRecovery });
    let pool: ShardPool | null = null;
    try {
      // Checked under the lock, so no other process changes the directory between check and open.
      if (config.refuseRecovery) refuseIfRecoveryNeeded(dataDir, config.dataDir);
      const topicStore = TopicStore.open(dataDir, { maxPartitionsPerTopic: config.maxPartitionsPerTopic });
      const brokerConfigFile = BrokerConfigFile.open(dataDir.metaDir);
      const stateTable = PartitionStateTable.create(config.maxPartitions);
      pool = new ShardPool({
        shards: config.shards,
        stateTable,
        requestRingBytes: config.shardRingBytes,
        completionRingBytes: config.shardCompletionRingBytes,
        retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
        logger: config.logger,
        maxAttachedThreads: config.maxAttachedThreads,
        attachedRingBytes: config.attachedRingBytes,
      });
      const broker = new Broker(config, dataDir, topicStore, brokerConfigFile, stateTable, pool);
      pool.on('shardFailure', (shard: number, error: Error) => {
        config.logger.warn(`shard ${shard} failed and was restarted: ${error.message}`);
      });
      for (const metadata of topicStore.list()) broker.openTopic(metadata);
      broker.recoverySummary = summarize(await broker.allOpened());
      await broker.startGroupCoordinator();
      await broker.startTransactionCoordinator();
      return broker;
    } catch (error) {
      await pool?.close().catch(() => undefined);
      dataDir.close();
      throw error;
    }
  }

  get groups(): GroupCoordinatorApi {
    this.checkOpen();
    return this.coordinator!;
  }

  get consumerGroups(): ConsumerGroupCoordinator {
    this.checkOpen();
    return this.consumerGroupCoordinator!;
  }

  /** Kafka's DescribeTransactions for one transactional id, or null when the coordinator has none. */
  describeTransaction(transactionalId: string): TransactionDescription | null {
    return this.transactions().describeTransaction(transactionalId);
  }

  listTransactions(filters?: TransactionListFilters): TransactionListing {
    return this.transactions().listTransactions(filters);
  }

  async describeProducers(topic: string, partition: number): Promise<ActiveProducer[]> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    return this.pool.control<ActiveProducer[]>(target.shard, { op: 'describeProducers', slot: target.slot });
  }

  /**
   * Fault injection for tests and drills: every transaction marker write fails (the coordinator
   * keeps retrying with backoff) until the returned function is called, so a transaction can be
   * held between its durable decision (PrepareCommit/PrepareAbort) and its markers.
   */
  injectMarkerFault(): () => void {
    this.checkOpen();
    const fault = new Error('transaction markers are failed on purpose (Broker.injectMarkerFault)');
    this.markerFault = fault;
    return () => {
      if (this.markerFault === fault) this.markerFault = null;
    };
  }

  /** What opening the broker repaired in its partition logs (see RecoverySummary). */
  /**
   * Every open partition's offsets (from the shared state table) and traffic counters: cheap
   * enough to call at each metrics scrape, and nothing is computed between scrapes.
   */
  partitionStats(): PartitionStats[] {
    this.checkOpen();
    const stats: PartitionStats[] = [];
    for (const open of this.topics.values()) {
      for (const target of open.partitions) {
        const { logStartOffset, highWatermark, logEndOffset, lastStableOffset } = this.stateTable.read(target.slot, this.snapshot);
        const { topic, partition, shard, traffic } = target;
        stats.push({ topic, partition, shard, logStartOffset, highWatermark, logEndOffset, lastStableOffset, traffic: { ...traffic } });
      }
    }
    return stats;
  }

  /** Per shard thread: restarts after failures, and the bytes held in its request and completion rings. */
  shardStats(): { shard: number; restarts: number; rings: RingUsage }[] {
    this.checkOpen();
    return Array.from({ length: this.pool.shardCount }, (_, shard) => ({
      shard,
      restarts: this.pool.restartCount(shard),
      rings: this.pool.ringUsage(shard),
    }));
  }

  get recovery(): RecoverySummary {
    assert.ok(this.recoverySummary !== null, 'set by open');
    return this.recoverySummary;
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

  /**
   * Where a topic's partitions live, for a thread attached to this broker, which appends to the
   * shards itself: each partition's shard, state table slot and open generation (the shard
   * refuses an append whose generation is no longer the slot's). Creates the topic as
   * topicMetadata does when `autoCreate` is set, and settles once every partition is open.
   */
  async topicPlacement(topic: string, autoCreate: boolean): Promise<TopicPlacement> {
    this.checkOpen();
    const name = requireTopicName(topic);
    const open = this.openTopic(name, autoCreate && this.config.autoCreateTopicsEnable);
    // Read in this turn: the generations are those of the opens awaited below.
    const placement: TopicPlacement = {
      metadata: open.metadata,
      partitions: open.partitions.map((partition) => ({
        shard: partition.shard,
        slot: partition.slot,
        generation: this.pool.generationOf(partition.shard, partition.slot),
        dir: partition.dir,
      })),
    };
    await Promise.all(open.partitions.map((partition) => partition.opened));
    return placement;
  }

  listTopics(): TopicMetadata[] {
    this.checkOpen();
    return this.topicStore.list();
  }

  async createTopic(name: string, options: CreateTopicOptions = {}): Promise<TopicMetadata> {
    this.checkOpen();
    if (options === null || typeof options !== 'object') throw new InvalidRequestError('createTopic options must be an object');
    const open = this.createTopicNow(requireTopicName(name), {
      partitions: options.partitions ?? this.config.numPartitions,
      configs: options.configs,
      ...(options.topicId === undefined ? {} : { topicId: options.topicId }),
    });
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
    if (Number.isInteger(totalCount)) this.checkPartitionCapacity(totalCount - open.partitions.length, `adding partitions to "${name}"`);
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

  /**
   * Changes a topic's configs as Kafka's IncrementalAlterConfigs does: a value sets a config, null
   * removes the override so the default applies again (Kafka's AlterConfigs, which replaces the
   * whole set, is this with null for every override it leaves out). The result is validated as a
   * whole (InvalidConfigError) before anything changes; then it is persisted in the topic store
   * and every partition log of the topic takes it at once, through its shard. validateOnly
   * checks and changes nothing. Returns the topic as it is (or would be) afterwards.
   */
  async alterTopicConfigs(
    name: string,
    changes: Readonly<Record<string, TopicConfigValue | null>>,
    options: { validateOnly?: boolean } = {},
  ): Promise<TopicMetadata> {
    this.checkOpen();
    const open = this.openTopic(requireTopicName(name), false);
    if (options === null || typeof options !== 'object') throw new InvalidRequestError('alterTopicConfigs options must be an object');
    if (options.validateOnly === true) return Object.freeze({ ...open.metadata, configs: alterTopicConfigs(open.metadata.configs, changes) });
    const metadata = this.topicStore.alterConfigs(name, changes);
    open.metadata = metadata;
    await this.applyTopicConfigs(open);
    return metadata;
  }

  /** The dynamic broker configs of one scope: "default" (cluster-wide) or "broker" (this node, wins). */
  brokerConfigs(scope: BrokerConfigScope): BrokerConfigOverrides {
    this.checkOpen();
    return this.brokerConfigFile.get(scope);
  }

  /**
   * Changes dynamic broker configs (Kafka's AlterConfigs on the BROKER resource): the topic config
   * defaults by their broker names (log.retention.ms, message.max.bytes...), a value to set, null
   * to remove. Validated (InvalidConfigError), persisted, then every partition of every topic that
   * does not override the config takes the new default at once. validateOnly changes nothing.
   * Returns the scope's overrides afterwards.
   */
  async alterBrokerConfigs(
    scope: BrokerConfigScope,
    changes: Readonly<Record<string, string | number | null>>,
    options: { validateOnly?: boolean } = {},
  ): Promise<BrokerConfigOverrides> {
    this.checkOpen();
    if (scope !== 'default' && scope !== 'broker') throw new InvalidRequestError(`broker config scope must be 'default' or 'broker', got ${String(scope)}`);
    if (changes === null || typeof changes !== 'object') throw new InvalidRequestError('broker config changes must be an object of name to value (or null)');
    const next = alterBrokerConfigs(this.brokerConfigFile.get(scope), changes);
    if (options?.validateOnly === true) return next;
    this.brokerConfigFile.replace(scope, next);
    await Promise.all([...this.topics.values()].map((open) => this.applyTopicConfigs(open)));
    return next;
  }

  /** Every ACL binding, in creation order (the authorizer reads this at each decision). */
  aclBindings(): readonly AclBinding[] {
    this.checkOpen();
    return this.aclStore.all();
  }

  /** Kafka's DescribeAcls: the bindings the filter matches. */
  describeAcls(filter: AclBindingFilter): AclBinding[] {
    this.checkOpen();
    return this.aclStore.describe(filter);
  }

  /** Kafka's CreateAcls: adds the valid bindings, persisted before it returns; one result per binding. */
  createAcls(bindings: readonly AclBinding[]): AclCreateResult[] {
    this.checkOpen();
    return this.aclStore.create(bindings);
  }

  /** Kafka's DeleteAcls: removes what each filter matches, persisted before it returns; one result per filter. */
  deleteAcls(filters: readonly AclBindingFilter[]): AclDeleteResult[] {
    this.checkOpen();
    return this.aclStore.delete(filters);
  }

  /** A topic's overrides over the dynamic broker defaults: what its logs run with. */
  private effectiveTopicConfigs(metadata: TopicMetadata): TopicConfigOverrides {
    return { ...this.brokerConfigFile.topicDefaults(), ...metadata.configs };
  }

  /** Sends the topic's effective configs to every partition log, through its shard. */
  private async applyTopicConfigs(open: OpenTopic): Promise<void> {
    const resolved = resolveTopicConfig(this.effectiveTopicConfigs(open.metadata));
    const config = toLogConfig(resolved);
    await Promise.all(
      open.partitions.map((partition) => this.pool.updatePartitionConfig(partition.shard, partition.slot, config, resolved.cleanupDelete)),
    );
  }

  /**
   * Kafka's DescribeLogDirs for this broker's one log directory: per partition, the bytes of its
   * segments (as its files hold them) and its offset lag (0: the only replica is the leader), and
   * the volume's total and usable bytes. `partitions` null describes every partition.
   */
  async describeLogDir(partitions: readonly { topic: string; partition: number }[] | null): Promise<LogDirDescription> {
    this.checkOpen();
    // A set: a partition asked for twice is described once, as Kafka does.
    const wanted = new Set<OpenPartition>();
    if (partitions === null) {
      for (const open of this.topics.values()) for (const partition of open.partitions) wanted.add(partition);
    } else {
      for (const { topic, partition } of partitions) {
        const found = this.topics.get(topic)?.partitions[partition];
        if (found !== undefined) wanted.add(found);
      }
    }
    const described = await Promise.all(
      [...wanted].map(async (target) => {
        const stats = await this.pool.control<LogStats>(target.shard, { op: 'stats', slot: target.slot });
        return { topic: target.topic, partition: target.partition, sizeBytes: stats.sizeBytes, offsetLag: 0 };
      }),
    );
    const dir = path.resolve(this.config.dataDir);
    const volume = fs.statfsSync(dir);
    return {
      dir,
      totalBytes: volume.blocks * volume.bsize,
      usableBytes: volume.bavail * volume.bsize,
      partitions: described,
    };
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
    // As Kafka, producing never creates a topic: clients create it through Metadata (kafkajs's
    // allowAutoTopicCreation, the embedded producer's topicMetadata) or explicitly.
    const target = this.partitionOf(topic, partition, false);
    if (options === null || typeof options !== 'object') throw new InvalidRequestError('produce options must be an object');
    // Verified and sent to the shard in one turn: markers of a decision taken after the check are
    // queued behind this append, so a decision always covers the batches it verified.
    this.verifyTransactionalBatches(topic, partition, batches, options.transactionalId);
    const crc = options.crcUnset === true ? 'unset' : options.crcVerified === true ? 'verified' : 'check';
    const outcome = await this.pool.append(target.shard, target.slot, batches, acks, crc);
    if (outcome.baseOffset >= 0) {
      target.traffic.recordsIn += outcome.lastOffset - outcome.baseOffset + 1;
      target.traffic.bytesIn += batches.length;
    }
    return {
      topic,
      partition,
      baseOffset: outcome.baseOffset,
      lastOffset: outcome.lastOffset,
      logAppendTimeMs: outcome.logAppendTimeMs,
      logStartOffset: outcome.logStartOffset,
    };
  }

  /**
   * Kafka's appendAsFollower (cluster mode): stores batches fetched from the partition's leader
   * unchanged, through the partition's shard like every other write. They must start at this
   * log's end offset (OffsetOutOfOrderError otherwise, nothing written). Resolves with the
   * offsets they took, which are theirs already.
   */
  async appendAsFollower(topic: string, partition: number, batches: Buffer): Promise<ProduceResult> {
    this.checkOpen();
    if (!Buffer.isBuffer(batches) || batches.length === 0) {
      throw new InvalidRequestError('appendAsFollower takes a non-empty Buffer of whole record batches');
    }
    const target = this.partitionOf(topic, partition, false);
    const outcome = await this.pool.appendAsFollower(target.shard, target.slot, batches);
    target.traffic.recordsIn += outcome.lastOffset - outcome.baseOffset + 1;
    target.traffic.bytesIn += batches.length;
    return { topic, partition, ...outcome };
  }

  /**
   * Kafka's follower truncation (cluster mode): removes the records at and after `offset` (the
   * batch holding it goes whole) when they diverge from the leader's log, as OffsetForLeaderEpoch
   * found; the leader epoch cache loses the epochs that started there. Returns the log end offset.
   */
  async truncateAsFollower(topic: string, partition: number, offset: number): Promise<number> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    return this.pool.control<number>(target.shard, { op: 'truncate', slot: target.slot, offset, asFollower: true });
  }

  /**
   * Kafka's transaction verification (KIP-890 part 1, ReplicaManager.handleProduceAppend): a
   * transactional batch is appended only if its partition is part of the ongoing transaction of
   * the request's transactional id at the batch's producer id and epoch. A zombie (an older epoch,
   * idle or mid-transaction) gets INVALID_PRODUCER_EPOCH, as Kafka maps the coordinator's
   * PRODUCER_FENCED for Produce; a partition not added gets TRANSACTION_ABORTABLE (the Produce
   * handler answers INVALID_TXN_STATE to versions before 11); a transaction completing gets
   * NOT_ENOUGH_REPLICAS, which every client retries. Kafka checks only a partition's first batch
   * of a transaction; the check is an in-memory lookup here, so every transactional batch gets it.
   */
  private verifyTransactionalBatches(topic: string, partition: number, batches: Buffer, transactionalId: string | null | undefined): void {
    let producerId = NO_PRODUCER_ID;
    let producerEpoch = -1;
    // Header fields only; a malformed length stops the walk and is the log's to report.
    for (let position = 0; position + BATCH_HEADER_BYTES <= batches.length; ) {
      const attributes = readAttributes(batches, position);
      if (isTransactionalBatch(attributes) && !isControlBatch(attributes) && batches.readInt32BE(position + PRODUCER_ID_OFFSET) >= 0) {
        const id = readProducerId(batches, position);
        const epoch = readProducerEpoch(batches, position);
        if (producerId !== NO_PRODUCER_ID && (id !== producerId || epoch !== producerEpoch)) {
          throw new InvalidRequestError(`the transactional batches for ${topic}-${partition} carry more than one producer id and epoch`);
        }
        producerId = id;
        producerEpoch = epoch;
      }
      const size = batchSizeAt(batches, position);
      if (size < BATCH_HEADER_BYTES) break;
      position += size;
    }
    if (producerId === NO_PRODUCER_ID) return;
    if (typeof transactionalId !== 'string') throw new TransactionalIdRequiredError(topic, partition);
    const coordinator = this.transactions();
    let missing: readonly TopicPartitionRef[];
    try {
      missing = coordinator.verifyInTransaction(transactionalId, producerId, producerEpoch, [{ topic, partition }]).partitions;
    } catch (error) {
      if (error instanceof ProducerFencedError) {
        throw new InvalidProducerEpochError(producerId, producerEpoch, coordinator.describeTransaction(transactionalId)?.producerEpoch ?? -1);
      }
      if (error instanceof ConcurrentTransactionsError) throw new TransactionVerificationPendingError(transactionalId, error.message);
      throw error;
    }
    if (missing.length > 0) throw new TransactionAbortableError(transactionalId, `partition ${topic}-${partition}`);
  }

  fetch(topic: string, partition: number, offset: number, maxBytes: number, isolationLevel: IsolationLevel): FetchPartitionResult {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    target.reader ??= new LogReader(target.dir);
    const result = fetchFromLog(this.stateTable, target.slot, target.reader, topic, partition, offset, maxBytes, isolationLevel, this.snapshot);
    if (result.records.length > 0) {
      target.traffic.recordsOut += result.nextOffset - offset;
      target.traffic.bytesOut += result.records.length;
    }
    return result;
  }

  async waitForData(
    topic: string,
    partition: number,
    offset: number,
    maxWaitMs: number,
    signal?: AbortSignal,
    isolationLevel: IsolationLevel = 'read_uncommitted',
  ): Promise<void> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    await waitForLogData(this.stateTable, target.slot, offset, maxWaitMs, signal, isolationLevel, () => this.closing !== null || !this.isCurrent(target));
  }

  /** Long polls (waitForData) parked on the partition now: diagnostics, and tests that must produce only once a poll waits. */
  parkedWaits(topic: string, partition: number): number {
    this.checkOpen();
    return this.stateTable.waiters(this.partitionOf(topic, partition, false).slot);
  }

  async becomeLeader(topic: string, partition: number, leaderEpoch: number): Promise<void> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    await this.pool.becomeLeader(target.shard, target.slot, leaderEpoch);
  }

  minInsyncReplicas(topic: string): number {
    this.checkOpen();
    return resolveTopicConfig(this.effectiveTopicConfigs(this.topicStore.get(requireTopicName(topic)))).minInsyncReplicas;
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
      logEndOffset: state.logEndOffset,
      leaderEpoch: this.stateTable.leaderEpoch(target.slot),
    };
  }

  /**
   * Kafka's check of a request's currentLeaderEpoch (KIP-320): -1 is not checked; an older epoch
   * is FencedLeaderEpochError, a newer one UnknownLeaderEpochError. Returns the current epoch.
   */
  checkLeaderEpoch(topic: string, partition: number, currentLeaderEpoch: number): number {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    const current = this.stateTable.leaderEpoch(target.slot);
    if (currentLeaderEpoch === NO_LEADER_EPOCH) return current;
    if (!Number.isInteger(currentLeaderEpoch) || currentLeaderEpoch < NO_LEADER_EPOCH || currentLeaderEpoch > INT32_MAX) {
      throw new InvalidRequestError(`currentLeaderEpoch must be an int32 >= -1, got ${String(currentLeaderEpoch)}`);
    }
    if (currentLeaderEpoch < current) throw new FencedLeaderEpochError(topic, partition, currentLeaderEpoch, current);
    if (currentLeaderEpoch > current) throw new UnknownLeaderEpochError(topic, partition, currentLeaderEpoch, current);
    return current;
  }

  /**
   * The partition's leader epoch cache (leader-epoch-checkpoint), read on this thread through
   * the partition's reader: each epoch and the first offset written in it.
   */
  leaderEpochs(topic: string, partition: number): EpochEntry[] {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    target.reader ??= new LogReader(target.dir);
    return target.reader.leaderEpochs();
  }

  /**
   * Kafka's OffsetsForLeaderEpoch for one partition (LeaderEpochFileCache.endOffsetFor): the end
   * offset of `leaderEpoch` and the epoch it belongs to; -1/-1 when it is unknown.
   */
  offsetForLeaderEpoch(topic: string, partition: number, leaderEpoch: number): EpochEndOffset {
    this.checkOpen();
    if (!Number.isInteger(leaderEpoch) || leaderEpoch < NO_LEADER_EPOCH || leaderEpoch > INT32_MAX) {
      throw new InvalidRequestError(`leaderEpoch must be an int32 >= -1, got ${String(leaderEpoch)}`);
    }
    const entries = this.leaderEpochs(topic, partition);
    const target = this.partitionOf(topic, partition, false);
    return endOffsetForEpoch(entries, leaderEpoch, this.stateTable.read(target.slot, this.snapshot).logEndOffset);
  }

  /**
   * The batch a ListOffsets lookup settles on, read through the partition's reader below the high
   * watermark (read_committed: the last stable offset): for a timestamp >= 0 the first batch
   * whose max timestamp reaches it; for -3 (MAX_TIMESTAMP, KIP-734) the first batch carrying the
   * partition's largest timestamp. Null when there is none.
   */
  async batchForTimestamp(topic: string, partition: number, timestampMs: number, isolationLevel: IsolationLevel): Promise<TimestampMatch | null> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    if (!Number.isSafeInteger(timestampMs) || (timestampMs < 0 && timestampMs !== MAX_TIMESTAMP_LOOKUP)) {
      throw new InvalidRequestError(`timestampMs must be a time in ms >= 0 or -3 (max timestamp), got ${String(timestampMs)}`);
    }
    target.reader ??= new LogReader(target.dir);
    const bounds = this.readBounds(target, isolationLevel);
    const current = (): ReadBounds => this.readBounds(target, isolationLevel);
    return timestampMs === MAX_TIMESTAMP_LOOKUP
      ? target.reader.maxTimestampBatch(bounds, current)
      : target.reader.offsetForTimestamp(timestampMs, bounds, current);
  }

  /**
   * Kafka's ListOffsets: the earliest offset whose batch reaches `timestampMs` (see
   * LogReader.offsetForTimestamp), null when none does. -1 (latest) gives the high watermark
   * and -2 (earliest) the log start offset, as in Kafka. Like a fetch, the lookup reads the
   * segment files on this thread: it never queues behind the shard's appends.
   */
  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    if (!Number.isSafeInteger(timestampMs) || timestampMs < -2) {
      throw new InvalidRequestError(`timestampMs must be a time in ms, -1 (latest) or -2 (earliest), got ${String(timestampMs)}`);
    }
    if (timestampMs === -1) return this.stateTable.read(target.slot, this.snapshot).highWatermark;
    if (timestampMs === -2) return this.stateTable.read(target.slot, this.snapshot).logStartOffset;
    target.reader ??= new LogReader(target.dir);
    const bounds = this.readBounds(target, 'read_uncommitted');
    return target.reader.offsetForTimestamp(timestampMs, bounds, () => this.readBounds(target, 'read_uncommitted'))?.offset ?? null;
  }

  /**
   * Kafka's ListOffsets v0 (UnifiedLog.legacyFetchOffsetsBefore and
   * Partition.legacyFetchOffsetsForTimestamp), which predates record timestamps: each segment
   * stands for its base offset (raised to the log start offset) at its file's last-modified time,
   * and the log end offset for now when the last segment holds data. Latest (-1) starts from the
   * newest entry, earliest (-2) from the oldest, a timestamp from the newest entry not after it;
   * from there at most `maxNumOffsets` offsets going back, newest first. A consumer's answer does
   * not go past the high watermark: offsets above it give way to the high watermark itself.
   */
  legacyOffsetsBefore(topic: string, partition: number, timestampMs: number, maxNumOffsets: number, fromConsumer: boolean): number[] {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    if (!Number.isSafeInteger(timestampMs) || timestampMs < -2) {
      throw new InvalidRequestError(`timestampMs must be a time in ms, -1 (latest) or -2 (earliest), got ${String(timestampMs)}`);
    }
    if (!Number.isInteger(maxNumOffsets) || maxNumOffsets < 0) {
      throw new InvalidRequestError(`maxNumOffsets must be an integer >= 0, got ${String(maxNumOffsets)}`);
    }
    target.reader ??= new LogReader(target.dir);
    const segments = target.reader.segmentTimes();
    const { logStartOffset, logEndOffset, highWatermark } = this.stateTable.read(target.slot, this.snapshot);
    const entries = segments.map((segment) => ({ offset: Math.max(segment.baseOffset, logStartOffset), timeMs: segment.lastModifiedMs }));
    if (segments.length > 0 && segments[segments.length - 1].sizeBytes > 0) entries.push({ offset: logEndOffset, timeMs: Date.now() });
    let start = entries.length - 1;
    if (timestampMs === -2) start = 0;
    else if (timestampMs !== -1) while (start >= 0 && entries[start].timeMs > timestampMs) start--;
    const offsets: number[] = [];
    for (let index = start; index >= 0 && offsets.length < maxNumOffsets; index--) offsets.push(entries[index].offset);
    offsets.sort((a, b) => b - a);
    if (!fromConsumer || !offsets.some((offset) => offset > highWatermark)) return offsets;
    return [highWatermark, ...offsets.filter((offset) => offset <= highWatermark)];
  }

  /** What a LogReader may read of a partition now, from the partition state table. */
  private readBounds(target: OpenPartition, isolationLevel: IsolationLevel): ReadBounds {
    return readBoundsOf(this.stateTable, target.slot, isolationLevel, this.snapshot);
  }

  /**
   * Kafka's DeleteRecords: moves the log start offset to `beforeOffset` (-1: the high watermark).
   * As in Kafka, internal topics refuse it (INVALID_TOPIC_EXCEPTION), and so do topics whose
   * cleanup.policy lacks "delete" (POLICY_VIOLATION).
   */
  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number> {
    this.checkOpen();
    const target = this.partitionOf(topic, partition, false);
    if (beforeOffset !== -1) requireOffset('deleteRecords offset', beforeOffset);
    const { metadata } = this.topics.get(topic)!;
    if (metadata.internal) throw new InvalidTopicError(`cannot delete records of internal topic "${topic}"`);
    const effective = this.effectiveTopicConfigs(metadata);
    if (!resolveTopicConfig(effective).cleanupDelete) {
      throw new PolicyViolationError(
        `records of ${topic}-${partition} cannot be deleted: its cleanup.policy is "${effective['cleanup.policy']}"; ` +
          `add "delete" to it first`,
      );
    }
    const offset = beforeOffset === -1 ? this.stateTable.read(target.slot, this.snapshot).highWatermark : beforeOffset;
    return this.pool.control<number>(target.shard, { op: 'deleteRecords', slot: target.slot, offset });
  }

  /** Read straight from the replayed state, which TxnOffsetCommit and EndTxn keep current. */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    this.checkOpen();
    const byProducer = this.consumerOffsetsState!.staged.get(groupId);
    if (byProducer === undefined) return false;
    for (const staged of byProducer.values()) {
      for (const offset of staged.values()) if (offset.topic === topic && offset.partition === partition) return true;
    }
    return false;
  }

  // ---- Consumer lag ----

  /**
   * Lag is measured to the last stable offset, for every group: the broker does not know a
   * group's isolation level, and the LSO equals the high watermark whenever no transaction is
   * open. Measured to the high watermark (Burrow, kafka-consumer-groups), a caught-up
   * read_committed consumer would show lag, and soon STALLED, behind every open transaction,
   * which it cannot read past; measured to the LSO, a read_uncommitted consumer's lag leaves out
   * at most the records of transactions still open (bounded by transaction.max.timeout.ms).
   * Both ends are reported. Negative committed offsets (clients' "no position") and offsets of
   * deleted topics have no lag and are left out.
   */
  groupLag(groupId: string, options: { nowMs?: number } = {}): GroupLagDescription {
    this.checkOpen();
    if (typeof groupId !== 'string') throw new InvalidGroupIdError(groupId);
    if (options === null || typeof options !== 'object') throw new InvalidRequestError('groupLag options must be an object');
    const nowMs = options.nowMs ?? Date.now();
    if (!Number.isSafeInteger(nowMs)) throw new InvalidRequestError(`groupLag nowMs must be a time in ms, got ${String(nowMs)}`);
    const offsetStore = this.offsetStore!;
    const committed = offsetStore.committedOffsets(groupId);
    if (committed.length === 0 && this.groups.describeGroup(groupId).state === 'Dead' && !this.consumerGroups.has(groupId)) {
      throw new GroupIdNotFoundError(groupId);
    }
    const rows: (Omit<PartitionLagDescription, 'status' | 'commitsInWindow' | 'complete' | 'start' | 'end'> & { outOfRange: boolean })[] = [];
    for (const stored of committed) {
      const { topic, partition, offset } = stored;
      const target = this.topics.get(topic)?.partitions[partition];
      if (offset < 0 || target === undefined) continue;
      const { highWatermark, lastStableOffset, logStartOffset, logEndOffset } = this.stateTable.read(target.slot, this.snapshot);
      const lag = partitionLag({ committedOffset: offset, logEndOffset: highWatermark, lastStableOffset, isolationLevel: 'read_committed' })!;
      // Where a fetch would answer OFFSET_OUT_OF_RANGE, or an offset held back since open.
      const outOfRange = offset < logStartOffset || offset > logEndOffset || offsetStore.isBeyondLogEnd(groupId, stored);
      rows.push({ topic, partition, committedOffset: offset, highWatermark, lastStableOffset, lag, outOfRange });
    }
    rows.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    const report = this.lag.evaluateGroup(
      groupId,
      rows.map((row) => ({ topic: row.topic, partition: row.partition, currentLag: row.lag, endOffset: row.lastStableOffset })),
      nowMs,
    );
    return {
      groupId,
      status: rows.some((row) => row.outOfRange) ? 'ERROR' : report.status,
      totalLag: report.totalLag,
      complete: report.complete,
      partitions: rows.map(({ outOfRange, ...row }, i) => {
        const { status, commitsInWindow, complete, start, end } = report.partitions[i];
        return { ...row, status: outOfRange ? 'OUT_OF_RANGE' : status, commitsInWindow, complete, start, end };
      }),
    };
  }

  /** The commits the lag status of a group's partition rests on, oldest first (at most lagWindowSize). */
  lagWindow(groupId: string, topic: string, partition: number): CommitWindowEntry[] {
    this.checkOpen();
    return this.lag.windowEntries(groupId, topic, partition);
  }

  /** Feeds the lag evaluator every offset that becomes visible, with the partition's LSO at that moment. */
  private lagListener(): OffsetChangeListener {
    return {
      endOffsetOf: (topic, partition) => {
        const target = this.topics.get(topic)?.partitions[partition];
        return target === undefined ? null : this.stateTable.read(target.slot, this.snapshot).lastStableOffset;
      },
      committed: (groupId, offset, endOffset) => {
        // Sentinels (-1, -2) are no position, and an offset stored without its end has no known lag.
        if (offset.offset < 0 || endOffset === null) return;
        const lag = Math.max(0, endOffset - offset.offset);
        this.lag.recordCommit(groupId, offset.topic, offset.partition, offset.offset, lag, offset.commitTimestampMs, Date.now());
      },
      deleted: (groupId, topic, partition) => this.lag.forgetPartition(groupId, topic, partition),
    };
  }

  // ---- Transactions ----

  async initProducerId(request: InitProducerIdRequest): Promise<InitProducerIdResult> {
    const coordinator = this.transactions();
    for (let waits = 0; ; waits++) {
      const transactionalId = request?.transactionalId;
      // Registered before the attempt, so a change persisted meanwhile is not missed.
      const changed = typeof transactionalId === 'string' ? this.nextTxnChange(transactionalId) : null;
      try {
        const result = await coordinator.initProducerId(request);
        changed?.cancel();
        return result;
      } catch (error) {
        // The previous instance's transaction is being completed (or another request persists):
        // wait for the id's next durable change instead of making the caller poll.
        if (!(error instanceof ConcurrentTransactionsError) || changed === null || waits >= MAX_INIT_PRODUCER_ID_WAITS) {
          changed?.cancel();
          throw error;
        }
        await changed.promise;
      }
    }
  }

  async addPartitionsToTxn(request: AddPartitionsToTxnRequest): Promise<void> {
    const coordinator = this.transactions();
    if (request !== null && typeof request === 'object' && Array.isArray(request.partitions)) {
      // Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist.
      for (const { topic, partition } of request.partitions) this.partitionOf(topic, partition, false);
    }
    await coordinator.addPartitionsToTxn(request);
  }

  verifyPartitionsInTxn(request: AddPartitionsToTxnRequest): TopicPartitionRef[] {
    const coordinator = this.transactions();
    if (request === null || typeof request !== 'object' || !Array.isArray(request.partitions)) {
      throw new InvalidRequestError('verifyPartitionsInTxn needs { transactionalId, producerId, producerEpoch, partitions: [{ topic, partition }] }');
    }
    for (const { topic, partition } of request.partitions) this.partitionOf(topic, partition, false);
    return coordinator.verifyInTransaction(request.transactionalId, request.producerId, request.producerEpoch, request.partitions).partitions;
  }

  async addOffsetsToTxn(request: AddOffsetsToTxnRequest): Promise<void> {
    await this.transactions().addOffsetsToTxn(request);
  }

  async txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<void> {
    const coordinator = this.transactions();
    coordinator.validateTxnOffsetCommit(request);
    // As Kafka: the transaction is verified first, then the consumer's group membership.
    if (this.consumerGroups.has(request.groupId)) this.consumerGroups.validateTransactionalCommit(request);
    else this.groups.validateTransactionalCommit(request);
    if (!Array.isArray(request.offsets)) throw new InvalidRequestError('TxnOffsetCommit offsets must be an array of { topic, partition, offset }');
    const nowMs = Date.now();
    const offsets = request.offsets.map((entry, i) => {
      if (entry === null || typeof entry !== 'object') throw new InvalidRequestError(`TxnOffsetCommit offsets[${i}] must be { topic, partition, offset }`);
      this.partitionOf(entry.topic, entry.partition, false);
      requireOffset(`TxnOffsetCommit offsets[${i}].offset`, entry.offset);
      const leaderEpoch = entry.leaderEpoch ?? -1;
      if (!Number.isInteger(leaderEpoch) || leaderEpoch < -1) {
        throw new InvalidRequestError(`TxnOffsetCommit offsets[${i}].leaderEpoch must be an integer >= -1, got ${String(leaderEpoch)}`);
      }
      const metadata = entry.metadata ?? '';
      if (typeof metadata !== 'string') throw new InvalidRequestError(`TxnOffsetCommit offsets[${i}].metadata must be a string or null`);
      return { topic: entry.topic, partition: entry.partition, offset: entry.offset, leaderEpoch, metadata, commitTimestampMs: nowMs };
    });
    await this.offsetStore!.stageOffsets(request.groupId, request.producerId, offsets);
  }

  async endTxn(request: EndTxnRequest): Promise<void> {
    const coordinator = this.transactions();
    await coordinator.endTxn(request);
    // Decided and durable; wait for the markers and the group offsets, so the caller's next
    // read_committed fetch sees the outcome.
    for (;;) {
      const changed = this.nextTxnChange(request.transactionalId);
      const state = coordinator.describeTransaction(request.transactionalId)?.state;
      if (state !== 'PrepareCommit' && state !== 'PrepareAbort') {
        changed.cancel();
        return;
      }
      await changed.promise;
    }
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
    this.txnCoordinator?.close();
    const closed = new ClosedError('broker');
    for (const waiters of this.txnWaiters.values()) for (const waiter of waiters) waiter.reject(closed);
    this.txnWaiters.clear();
    this.coordinator?.close();
    this.consumerGroupCoordinator?.close();
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
    const partitions = options.partitions;
    // An existing topic or an invalid count is the topic store's to refuse; only valid creations are weighed here.
    if (!this.topics.has(name) && Number.isInteger(partitions) && partitions! > 0 && partitions! <= this.config.maxPartitionsPerTopic) {
      this.checkPartitionCapacity(partitions!, `creating topic "${name}"`);
    }
    return this.openTopic(this.topicStore.create(name, options));
  }

  /**
   * Refuses, before anything is written, a creation that would open more than maxPartitions
   * partitions: each holds files open and a slot of the shared state table, so past the cap the
   * broker would run out of file descriptors instead of answering.
   */
  private checkPartitionCapacity(adding: number, what: string): void {
    if (adding <= 0) return;
    let open = 0;
    for (const topic of this.topics.values()) open += topic.partitions.length;
    if (open + adding > this.config.maxPartitions) {
      throw new PolicyViolationError(
        `${what} would open ${open + adding} partitions, past the broker's maxPartitions (${this.config.maxPartitions}); ` +
          'delete topics or raise maxPartitions (sluice serve --max-partitions)',
      );
    }
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
    const resolved = resolveTopicConfig(this.effectiveTopicConfigs(metadata));
    const slot = this.stateTable.allocate();
    const shard = this.pool.shardFor(metadata.name, partition);
    const dir = this.dataDir.partitionDir(metadata.name, partition);
    const opened = this.pool.openPartition(shard, {
      slot,
      dir,
      config: toLogConfig(resolved),
      deleteRetention: resolved.cleanupDelete,
      internal: metadata.internal,
    });
    opened.catch((error: Error) => this.config.logger.warn(`could not open ${dir}: ${error.message}`));
    return { topic: metadata.name, partition, shard, slot, dir, reader: null, opened, traffic: { recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0 } };
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

  private async allOpened(): Promise<OpenedPartition[]> {
    const opens: Promise<OpenedPartition>[] = [];
    for (const open of this.topics.values()) for (const partition of open.partitions) opens.push(partition.opened);
    return Promise.all(opens);
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
    await this.ensureInternalTopic(CONSUMER_OFFSETS_TOPIC);
    const state = emptyConsumerOffsetsState();
    const lagListener = this.lagListener();
    this.replayOffsets(state, lagListener);
    const append = async (batch: Buffer): Promise<void> => {
      // Encoded here by the record batch encoder: its CRC is right by construction.
      await this.produce(CONSUMER_OFFSETS_TOPIC, 0, batch, -1, { crcVerified: true });
    };
    const offsetStore = new DurableOffsetStore(state, append, lagListener);
    this.offsetStore = offsetStore;
    this.consumerOffsetsState = state;
    // The logs are recovered: an offset a group committed past what recovery kept is out of range.
    const { heldBack, writeError } = await offsetStore.holdBackOffsetsBeyondLogEnd((topic, partition) => {
      const target = this.topics.get(topic)?.partitions[partition];
      return target === undefined ? null : this.stateTable.read(target.slot, this.snapshot).logEndOffset;
    });
    for (const { groupId, topic, partition, offset, logEndOffset } of heldBack) {
      this.config.logger.warn(
        `group "${groupId}" committed offset ${offset} of ${topic}-${partition}, beyond the log end ${logEndOffset} left by recovery: ` +
          `out of range, its consumers start from their auto.offset.reset policy`,
      );
    }
    if (writeError !== null) {
      this.config.logger.warn(
        `could not record in ${CONSUMER_OFFSETS_TOPIC} that those offsets are out of range (${writeError.message}); ` +
          `they are held back until this broker closes`,
      );
    }
    const groupStore = new DurableGroupStore(state, append);
    const consumerGroupStore = new DurableConsumerGroupStore(state, append);
    // One group id space for both protocols: each coordinator asks the other before it creates a group.
    const consumerGroups = new ConsumerGroupCoordinator({
      offsets: new OffsetManager(offsetStore, systemClock, DEFAULT_OFFSET_METADATA_MAX_CHARS),
      store: consumerGroupStore,
      classicGroups: { releaseForConsumerProtocol: (groupId) => this.coordinator!.releaseForConsumerProtocol(groupId) },
      topics: () => this.topicStore.list().filter((topic) => !topic.internal),
      sessionTimeoutMs: this.config.groupConsumerSessionTimeoutMs,
      heartbeatIntervalMs: this.config.groupConsumerHeartbeatIntervalMs,
      maxGroupSize: this.config.groupConsumerMaxSize,
      restoredGroups: consumerGroupStore.restoredGroups(),
    });
    this.consumerGroupCoordinator = consumerGroups;
    this.coordinator = new GroupCoordinator({
      offsetStore,
      metadataStore: groupStore,
      consumerProtocolGroups: consumerGroups,
      initialRebalanceDelayMs: this.config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: this.config.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: this.config.groupMaxSessionTimeoutMs,
      maxGroupSize: this.config.groupMaxSize,
      // A consumer group's committed offsets do not make it a classic group.
      restoredGroups: groupStore
        .restoredGroups(offsetStore.groupIds(), Date.now())
        .filter((snapshot) => !consumerGroups.has(snapshot.groupId)),
    });
  }

  private replayOffsets(state: ConsumerOffsetsState, listener: OffsetChangeListener): void {
    this.replayTopic(CONSUMER_OFFSETS_TOPIC, (batches) => replayConsumerOffsets(batches, state, listener));
  }

  /** Reads every batch of an internal topic's partition 0, in order. */
  private replayTopic(topic: string, apply: (batches: Buffer) => void): void {
    const { logStartOffset, highWatermark } = this.partitionOffsets(topic, 0);
    for (let offset = logStartOffset; offset < highWatermark; ) {
      const result = this.fetch(topic, 0, offset, REPLAY_READ_BYTES, 'read_uncommitted');
      if (result.records.length === 0) break;
      apply(result.records);
      offset = result.nextOffset;
    }
  }

  /** Creates the internal topic (one partition, compacted) if it does not exist yet. */
  private async ensureInternalTopic(name: string): Promise<void> {
    if (this.topics.has(name)) return;
    const open = this.openTopic(this.topicStore.create(name, { partitions: 1, configs: { 'cleanup.policy': 'compact' }, internal: true }));
    await Promise.all(open.partitions.map((partition) => partition.opened));
  }

  /**
   * Replays __transaction_state (created on first use) and starts the transaction coordinator,
   * which completes every transaction it finds decided (PrepareCommit/PrepareAbort) in the
   * background. Runs after the group coordinator: completing a transaction commits its staged
   * group offsets, replayed from __consumer_offsets.
   */
  private async startTransactionCoordinator(): Promise<void> {
    const entries: TransactionLogEntry[] = [];
    // Created with the first transactional id, as Kafka does: brokers without transactions never have it.
    let topicReady: Promise<void> | null = null;
    if (this.topics.has(TRANSACTION_STATE_TOPIC)) {
      this.replayTopic(TRANSACTION_STATE_TOPIC, (batches) => replayTransactionLog(batches, entries));
      topicReady = Promise.resolve();
    }
    // An inspection (refuseRecovery) must leave the data directory as it found it.
    const metaFile = TransactionMetaFile.openAndBumpEpoch(this.dataDir.metaDir, !this.config.refuseRecovery);
    const append = async (batch: Buffer): Promise<void> => {
      topicReady ??= this.ensureInternalTopic(TRANSACTION_STATE_TOPIC).catch((error: unknown) => {
        topicReady = null;
        throw error;
      });
      await topicReady;
      await this.produce(TRANSACTION_STATE_TOPIC, 0, batch, -1, { crcVerified: true });
    };
    const stateStore = new DurableTransactionStateStore(entries, append, (entry) => this.transactionChanged(entry.transactionalId));
    const offsetStore = this.offsetStore!;
    this.txnCoordinator = await TransactionCoordinator.open({
      stateStore,
      producerIds: new ProducerIdManager({ store: this.config.producerIdBlocks ?? metaFile }),
      markerWriter: {
        writeMarkers: (partitions, marker) => this.writeMarkers(partitions, marker),
        completeGroupOffsets: (groupId, producerId, commit) => offsetStore.completeStagedOffsets(groupId, producerId, commit),
      },
      // An inspection of a directory never opened for writing finds no epoch yet (-1); it writes no markers.
      coordinatorEpoch: Math.max(metaFile.coordinatorEpoch, 0),
      transactionMaxTimeoutMs: this.config.transactionMaxTimeoutMs,
      abortTimedOutTransactionsIntervalMs: this.config.transactionAbortTimedOutIntervalMs,
      transactionalIdExpirationMs: this.config.transactionalIdExpirationMs,
      onBackgroundError: (error) => this.config.logger.warn(error.message),
    });
  }

  /**
   * The coordinator's marker writer: one COMMIT or ABORT control batch per partition, appended by
   * the owning shard with origin 'coordinator' (no sequence checks; only the coordinator may write
   * control batches). Partitions deleted since the transaction touched them are skipped.
   */
  private async writeMarkers(partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void> {
    if (this.markerFault !== null) throw this.markerFault;
    const timestampMs = Date.now();
    const writes: Promise<unknown>[] = [];
    for (const { topic, partition } of partitions) {
      const target = this.topics.get(topic)?.partitions[partition];
      if (target === undefined) continue;
      const batch = encodeControlBatch({
        producerId: marker.producerId,
        producerEpoch: marker.producerEpoch,
        type: marker.commit ? 'commit' : 'abort',
        coordinatorEpoch: marker.coordinatorEpoch,
        timestampMs,
      });
      // encodeControlBatch computed the CRC: no second pass on the shard.
      writes.push(this.pool.append(target.shard, target.slot, batch, -1, 'verified', 'coordinator'));
    }
    await Promise.all(writes);
  }

  /** Wakes the callers waiting on the id, once the coordinator has applied the stored change. */
  private transactionChanged(transactionalId: string): void {
    const waiters = this.txnWaiters.get(transactionalId);
    if (waiters === undefined) return;
    this.txnWaiters.delete(transactionalId);
    // The coordinator applies a change in the continuation of the store's append: after this turn.
    setImmediate(() => {
      for (const waiter of waiters) waiter.resolve();
    });
  }

  /** A promise of the id's next durable state change (rejected with ClosedError on close). */
  private nextTxnChange(transactionalId: string): { promise: Promise<void>; cancel(): void } {
    this.checkOpen();
    let waiters = this.txnWaiters.get(transactionalId);
    if (waiters === undefined) this.txnWaiters.set(transactionalId, (waiters = new Set()));
    const set = waiters;
    let waiter!: { resolve(): void; reject(error: Error): void };
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    set.add(waiter);
    return {
      promise,
      cancel: () => {
        set.delete(waiter);
        if (set.size === 0 && this.txnWaiters.get(transactionalId) === set) this.txnWaiters.delete(transactionalId);
      },
    };
  }

  private transactions(): TransactionCoordinator {
    this.checkOpen();
    return this.txnCoordinator!;
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new ClosedError('broker');
  }
}

function refuseIfRecoveryNeeded(dataDir: DataDir, path: string): void {
  const problems: string[] = [];
  for (const entry of dataDir.partitionDirs()) {
    const problem = recoveryNeeded(entry.path);
    if (problem !== null) problems.push(`${entry.topic}-${entry.partition}: ${problem}`);
  }
  if (problems.length > 0) throw new RecoveryNeededError(path, problems);
}

function summarize(opened: readonly OpenedPartition[]): RecoverySummary {
  const summary: RecoverySummary = {
    partitionsOpened: opened.length,
    partitionsRepaired: 0,
    bytesTruncated: 0,
    segmentsRemoved: 0,
    indexesRebuilt: 0,
    snapshotsDiscarded: 0,
    filesRemoved: 0,
  };
  for (const partition of opened) {
    const repairs = partition.truncatedBytes + partition.segmentsDeleted + partition.indexesRebuilt + partition.snapshotsDiscarded + partition.filesRemoved;
    if (repairs > 0) summary.partitionsRepaired++;
    summary.bytesTruncated += partition.truncatedBytes;
    summary.segmentsRemoved += partition.segmentsDeleted;
    summary.indexesRebuilt += partition.indexesRebuilt;
    summary.snapshotsDiscarded += partition.snapshotsDiscarded;
    summary.filesRemoved += partition.filesRemoved;
  }
  return summary;
}

function requireTopicName(topic: unknown): string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new InvalidTopicError(`topic must be a non-empty string, got ${topic === '' ? 'an empty string' : String(topic)}`);
  }
  return topic;
}
