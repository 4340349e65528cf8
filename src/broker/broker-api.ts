/**
 * The seam between the embedded clients (producer, consumer, admin in src/client) and the broker
 * (topics, shards, group coordinator in src/broker). The embedded clients talk to a `BrokerApi`
 * directly; the Kafka protocol server talks to the same object, so both paths share one behaviour.
 */
import type { GroupCoordinatorApi, TopicPartitionRef } from './group-types.js';
import type { CoordinatorCluster } from './coordinator-cluster.js';
import type { TxnMarker } from './transaction-types.js';
import type { ConsumerGroupCoordinator } from './consumer-group/consumer-group-coordinator.js';
import type { CommitWindowEntry, GroupLagStatus, PartitionLagStatus } from './lag.js';
import type {
  AddOffsetsToTxnRequest,
  AddPartitionsToTxnRequest,
  EndTxnRequest,
  InitProducerIdRequest,
  InitProducerIdResult,
  TransactionDescription,
  TransactionListFilters,
  TransactionListing,
} from './transaction-coordinator.js';
import type { TopicConfigValue } from '../storage/topic-config.js';
import type { BrokerConfigOverrides, BrokerConfigScope } from './broker-configs.js';
import type { TopicMetadata, CreateTopicOptions } from '../storage/topic-store.js';
import type { ActiveProducer } from '../shard/shard-messages.js';
import type { AclBinding, AclBindingFilter } from './acl/acl.js';
import type { AclCreateResult, AclDeleteResult } from './acl/acl-store.js';
import type { TimestampMatch } from '../storage/log-reader.js';
import type { EpochEndOffset, EpochEntry } from '../storage/leader-epoch-cache.js';

export type {
  AddOffsetsToTxnRequest,
  AddPartitionsToTxnRequest,
  EndTxnRequest,
  InitProducerIdRequest,
  InitProducerIdResult,
  TransactionDescription,
  TransactionListFilters,
  TransactionListing,
} from './transaction-coordinator.js';
export type { ActiveProducer } from '../shard/shard-messages.js';

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
  /**
   * The batches' CRC32C fields are not filled in: the shard computes them before the append.
   * For Sluice's own producer in this process, which leaves that pass to the shard's thread;
   * never for bytes from elsewhere (their CRC is what tells whether they arrived intact).
   */
  readonly crcUnset?: boolean;
  /**
   * The producer's transactional id (ProduceRequest transactionalId). Transactional batches need
   * it: the coordinator verifies that the partition is part of that id's ongoing transaction at
   * the batch's producer epoch before the batch is appended (Kafka's KIP-890 verification).
   */
  readonly transactionalId?: string | null;
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

/** Kafka's TxnOffsetCommit: consumer offsets committed as part of a producer's transaction. */
export interface TxnOffsetCommitRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
  offsets: { topic: string; partition: number; offset: number; leaderEpoch?: number; metadata?: string | null }[];
  /**
   * The consumer's group generation, member id and static instance id (TxnOffsetCommit v3+,
   * KIP-447): when given, the commit must come from a current member of the current generation.
   * Absent (-1, '', null): not checked, as for clients before KIP-447.
   */
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

export interface TopicPartitionOffsets {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  /** The offset after the last record written; fetch offsets above it are out of range. */
  readonly logEndOffset: number;
  /** The partition's current leader epoch (KIP-101), stamped on every batch appended; -1 while it opens. */
  readonly leaderEpoch: number;
}

/** One partition's consumer lag, as Broker.groupLag reports it. */
export interface PartitionLagDescription {
  topic: string;
  partition: number;
  committedOffset: number;
  highWatermark: number;
  lastStableOffset: number;
  /** Records between the committed offset and the last stable offset; never below 0. */
  lag: number;
  /**
   * Burrow's judgement of the partition's recent commits (lag.ts), or OUT_OF_RANGE when the
   * committed offset lies outside the log (a fetch there answers OFFSET_OUT_OF_RANGE, so the
   * group's consumers start from their reset policy).
   */
  status: PartitionLagStatus;
  /** Commits the status rests on; 0 means none seen yet, and the status is OK by default. */
  commitsInWindow: number;
  /** commitsInWindow / the window's size (Burrow's complete). */
  complete: number;
  /** The oldest and newest commits the status rests on; null with no commit seen. */
  start: CommitWindowEntry | null;
  end: CommitWindowEntry | null;
}

export interface GroupLagDescription {
  groupId: string;
  /** The worst of the partitions: OK, WARNING, or ERROR (some partition STALLED, STOPPED, REWIND or OUT_OF_RANGE). */
  status: GroupLagStatus;
  totalLag: number;
  /** Share of the partitions whose window of commits is full; 0 without partitions (Burrow's complete). */
  complete: number;
  /** Every partition the group has a committed offset for, of a topic that exists, by topic and partition. */
  partitions: PartitionLagDescription[];
}

/** Kafka's DescribeLogDirs answer for the broker's one log directory. */
export interface LogDirDescription {
  /** Absolute path of the data directory. */
  readonly dir: string;
  /** Size and free space of the volume holding it. */
  readonly totalBytes: number;
  readonly usableBytes: number;
  readonly partitions: readonly { topic: string; partition: number; sizeBytes: number; offsetLag: number }[];
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
   * still validated. An unknown topic is TopicNotFoundError, never created (as Kafka's Produce).
   */
  produce(topic: string, partition: number, batches: Buffer, acks: Acks, options?: ProduceOptions): Promise<ProduceResult>;
  /**
   * Kafka's appendAsFollower (cluster mode): stores a leader's batches unchanged (offsets, leader
   * epochs, producer ids and sequences, CRCs checked); they must start at the log end offset
   * (OffsetOutOfOrderError otherwise, nothing written).
   */
  appendAsFollower(topic: string, partition: number, batches: Buffer): Promise<ProduceResult>;
  /** Kafka's follower truncation (cluster mode): cuts the log at `offset`, its epoch cache with it; returns the log end offset. */
  truncateAsFollower(topic: string, partition: number, offset: number): Promise<number>;

  /**
   * Reads whole batches from `offset` without involving the owning shard (readers never block
   * writers). read_committed stops at the last stable offset and lists the transactions aborted
   * in the returned range (`abortedTransactions`), for the consumer to drop their records.
   */
  fetch(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    isolationLevel: IsolationLevel,
  ): FetchPartitionResult;

  /**
   * Resolves when the partition's readable end (the high watermark, or for read_committed the last
   * stable offset) moves past `offset`, or after `maxWaitMs`, or on abort.
   */
  waitForData(
    topic: string,
    partition: number,
    offset: number,
    maxWaitMs: number,
    signal?: AbortSignal,
    isolationLevel?: IsolationLevel,
  ): Promise<void>;

  partitionOffsets(topic: string, partition: number): TopicPartitionOffsets;
  /**
   * Kafka's makeLeader for the partition's log (cluster mode): its leader epoch becomes
   * `leaderEpoch` from the log end on, durably; an epoch below the current one is refused.
   */
  becomeLeader(topic: string, partition: number, leaderEpoch: number): Promise<void>;
  /** Cluster mode: the cluster's side of the coordinators (see coordinator-cluster.ts); needs the broker opened with clusterCoordinators. */
  attachCoordinatorCluster(cluster: CoordinatorCluster): void;
  /** Cluster mode: this broker leads partition 0 of an internal topic at `leaderEpoch`: its coordinator loads the state from the local log. */
  loadCoordinator(topic: string, leaderEpoch: number): Promise<void>;
  /** Whether this broker coordinates groups or transactions now (always outside a cluster); see Broker.coordinates. */
  coordinates(kind: 'group' | 'transaction'): boolean;
  /** Cluster mode: this broker no longer leads partition 0 of the internal topic: its coordinator drops its state. */
  unloadCoordinator(topic: string): void;
  /** Kafka's WriteTxnMarkers on the partitions' leader (cluster mode), local writes only; see Broker.writeTxnMarkers. */
  writeTxnMarkers(partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void>;
  /** The topic's effective min.insync.replicas (its override, else the broker default); throws TopicNotFoundError. */
  minInsyncReplicas(topic: string): number;
  offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number | null>;
  /** ListOffsets v0's answer: segment offsets, newest first (see Broker.legacyOffsetsBefore). */
  legacyOffsetsBefore(topic: string, partition: number, timestampMs: number, maxNumOffsets: number, fromConsumer: boolean): number[];
  /**
   * The batch a ListOffsets lookup settles on (see Broker.batchForTimestamp): a timestamp >= 0, or
   * -3 for the batch carrying the largest timestamp (KIP-734). Null when there is none.
   */
  batchForTimestamp(topic: string, partition: number, timestampMs: number, isolationLevel: IsolationLevel): Promise<TimestampMatch | null>;
  /**
   * Kafka's check of a request's currentLeaderEpoch (KIP-320): -1 passes; older throws
   * FencedLeaderEpochError, newer UnknownLeaderEpochError. Returns the partition's current epoch.
   */
  checkLeaderEpoch(topic: string, partition: number, currentLeaderEpoch: number): number;
  /** The partition's leader epoch cache: each epoch and the first offset written in it. */
  leaderEpochs(topic: string, partition: number): EpochEntry[];
  /** Kafka's OffsetsForLeaderEpoch for one partition: the end offset of an epoch, -1/-1 when unknown. */
  offsetForLeaderEpoch(topic: string, partition: number, leaderEpoch: number): EpochEndOffset;
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number>;

  /**
   * Sets (a value) or removes (null) topic config overrides, validated as a whole, persisted, and
   * applied to the running partition logs; validateOnly changes nothing. See Broker.alterTopicConfigs.
   */
  alterTopicConfigs(
    name: string,
    changes: Readonly<Record<string, TopicConfigValue | null>>,
    options?: { validateOnly?: boolean },
  ): Promise<TopicMetadata>;
  /** The dynamic broker configs of a scope (see Broker.alterBrokerConfigs). */
  brokerConfigs(scope: BrokerConfigScope): BrokerConfigOverrides;
  /** Sets (a value) or removes (null) dynamic broker configs: topic config defaults, applied live. */
  alterBrokerConfigs(
    scope: BrokerConfigScope,
    changes: Readonly<Record<string, string | number | null>>,
    options?: { validateOnly?: boolean },
  ): Promise<BrokerConfigOverrides>;
  /** Every ACL binding (acl/acl-store.ts), in creation order. */
  aclBindings(): readonly AclBinding[];
  /** Kafka's DescribeAcls: the bindings the filter matches. */
  describeAcls(filter: AclBindingFilter): AclBinding[];
  /** Kafka's CreateAcls: adds the valid bindings, durable before it returns; per binding null or the error refusing it. */
  createAcls(bindings: readonly AclBinding[]): AclCreateResult[];
  /** Kafka's DeleteAcls: removes what each filter matches, durable before it returns; per filter the bindings removed. */
  deleteAcls(filters: readonly AclBindingFilter[]): AclDeleteResult[];
  /** The log directory and the size of each partition's segments in it (null: every partition). */
  describeLogDir(partitions: readonly { topic: string; partition: number }[] | null): Promise<LogDirDescription>;

  readonly groups: GroupCoordinatorApi;
  /** Groups of the KIP-848 consumer protocol (ConsumerGroupHeartbeat), sharing the group id space with `groups`. */
  readonly consumerGroups: ConsumerGroupCoordinator;

  /**
   * The group's consumer lag per partition, with a Burrow-style status judged from the commits
   * the broker has seen (and replayed from __consumer_offsets). `nowMs` is the time the STOPPED
   * rule measures against (default: now). GroupIdNotFoundError for a group that does not exist.
   */
  groupLag(groupId: string, options?: { nowMs?: number }): GroupLagDescription;

  /**
   * Whether a transactional producer has staged an offset of the partition for the group
   * (TxnOffsetCommit) in a transaction not yet completed: OffsetFetch with requireStable answers
   * such a partition UNSTABLE_OFFSET_COMMIT, as Kafka does, instead of its committed offset.
   */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean;

  // ---- Idempotent and transactional producers (KIP-98) ----

  /**
   * Kafka's InitProducerId. Without a transactional id: a new producer id at epoch 0 (idempotent
   * producer). With one: its producer id with the epoch bumped, which fences every older instance;
   * an open transaction of the previous instance is aborted first (this resolves once it is).
   */
  initProducerId(request: InitProducerIdRequest): Promise<InitProducerIdResult>;
  /** Registers partitions in the producer's transaction (starting it); call before producing to them. */
  addPartitionsToTxn(request: AddPartitionsToTxnRequest): Promise<void>;
  /**
   * Kafka's AddPartitionsToTxn with verifyOnly (KIP-890): the partitions that are not part of the
   * producer's ongoing transaction. Throws as addPartitionsToTxn does for a fenced producer or an
   * unknown id, and ConcurrentTransactionsError while the transaction completes.
   */
  verifyPartitionsInTxn(request: AddPartitionsToTxnRequest): TopicPartitionRef[];
  /**
   * Kafka's DescribeTransactions: the coordinator's state of the transactional id, or null when
   * it does not know the id (never initialised, or expired).
   */
  describeTransaction(transactionalId: string): TransactionDescription | null;
  /** Kafka's ListTransactions: the transactional ids the coordinator knows, filtered. */
  listTransactions(filters?: TransactionListFilters): TransactionListing;
  /** Kafka's DescribeProducers: the producers the partition's log remembers. */
  describeProducers(topic: string, partition: number): Promise<ActiveProducer[]>;
  /** Adds a consumer group to the transaction, before txnOffsetCommit for it. */
  addOffsetsToTxn(request: AddOffsetsToTxnRequest): Promise<void>;
  /** Stages the group's offsets in the transaction: visible once it commits, dropped if it aborts. */
  txnOffsetCommit(request: TxnOffsetCommitRequest): Promise<void>;
  /**
   * Commits or aborts the transaction. Resolves once it is complete: markers written to every
   * partition and the group offsets committed or dropped, so a read_committed reader sees the
   * outcome. A producer from an older epoch gets ProducerFencedError.
   */
  endTxn(request: EndTxnRequest): Promise<void>;

  close(): Promise<void>;
}
