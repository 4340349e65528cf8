/**
 * The embedded broker's configuration: Kafka's broker settings that apply to one process, in
 * camelCase with units in the names, plus the shard layer's limits. resolveBrokerConfig fills in
 * the defaults and rejects anything invalid with an InvalidConfigError that names the setting.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidConfigError } from '../errors.js';
import {
  DEFAULT_END_OFFSET_SAMPLE_INTERVAL_MS,
  DEFAULT_LAG_WINDOW_SIZE,
  DEFAULT_MAX_TRACKED_PARTITIONS,
  DEFAULT_MIN_COMMIT_INTERVAL_MS,
} from './lag.js';
import { MAX_RING_CAPACITY_BYTES, MIN_RING_CAPACITY_BYTES } from '../shard/ring.js';
import { MAX_PARTITION_STATE_SLOTS } from '../shard/partition-state.js';
import { DEFAULT_ATTACHED_RING_BYTES, DEFAULT_MAX_ATTACHED_THREADS } from '../shard/shard-pool.js';
import { INT32_MAX } from '../protocol/limits.js';
import type { ProducerIdBlockReserver } from './producer-id-manager.js';
import { integerOption } from '../validate.js';

export interface BrokerLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface BrokerConfig {
  /** Directory holding the partition logs and the broker's metadata; locked while open. */
  dataDir: string;
  /** Shard worker threads; each is the single writer of the partitions it owns. */
  shards: number;
  /**
   * Kafka's auto.create.topics.enable: a metadata lookup that asks for it (a Metadata request,
   * the embedded producer's allowAutoTopicCreation) creates an unknown topic. Produce never does.
   */
  autoCreateTopicsEnable: boolean;
  /** Kafka's num.partitions: the partition count of auto-created topics. */
  numPartitions: number;
  /** Kafka's log.retention.check.interval.ms: how often each shard applies retention. */
  logRetentionCheckIntervalMs: number;
  /**
   * Upper bound on partitions open at once (the size of the shared partition state table);
   * creating more is refused with POLICY_VIOLATION. The default, 4096, is lowered to what the
   * process's open-file limit can hold, and a larger value than that limit allows is refused.
   */
  maxPartitions: number;
  /** Upper bound on one topic's partition count. */
  maxPartitionsPerTopic: number;
  /** Data area of each shard's request ring (a power of two); one produce request must fit in it. */
  shardRingBytes: number;
  /** Data area of each shard's completion ring (a power of two). */
  shardCompletionRingBytes: number;
  /**
   * Threads that may be attached at once (Sluice.attach): each holds a request ring of
   * attachedRingBytes and a completion ring of shardCompletionRingBytes on every shard.
   */
  maxAttachedThreads: number;
  /** Data area of an attached thread's request ring on each shard (a power of two); one of its produce requests must fit. */
  attachedRingBytes: number;
  /** Kafka's group.initial.rebalance.delay.ms. */
  groupInitialRebalanceDelayMs: number;
  /** Kafka's group.min.session.timeout.ms. */
  groupMinSessionTimeoutMs: number;
  /** Kafka's group.max.session.timeout.ms. */
  groupMaxSessionTimeoutMs: number;
  /** Kafka's group.max.size. */
  groupMaxSize: number;
  /** Kafka's group.consumer.session.timeout.ms: a consumer-protocol (KIP-848) member is removed after this without a heartbeat. */
  groupConsumerSessionTimeoutMs: number;
  /** Kafka's group.consumer.heartbeat.interval.ms: how often consumer-protocol members heartbeat. */
  groupConsumerHeartbeatIntervalMs: number;
  /** Kafka's group.consumer.max.size. */
  groupConsumerMaxSize: number;
  /** Kafka's transaction.max.timeout.ms: the largest transaction timeout a producer may ask for. */
  transactionMaxTimeoutMs: number;
  /** Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are aborted. */
  transactionAbortTimedOutIntervalMs: number;
  /** Kafka's transactional.id.expiration.ms: an idle transactional id is forgotten after this. */
  transactionalIdExpirationMs: number;
  /** Commits per partition the lag evaluator judges a group by (Burrow's intervals); see lag.ts. */
  lagWindowSize: number;
  /** A commit closer than this to the previous one replaces it in the lag window (Burrow's min-distance). */
  lagMinCommitIntervalMs: number;
  /** A partition is STOPPED after this long without a commit; null: Burrow's rule (longer than the window spans). */
  lagStoppedAfterMs: number | null;
  /** Partitions whose commit history the lag evaluator keeps at once; the least recently committed goes first. */
  lagMaxTrackedPartitions: number;
  /** Log end samples per partition are at least this far apart (Burrow's offset-refresh); see lag.ts. */
  lagEndOffsetSampleIntervalMs: number;
  logger: BrokerLogger;
  /** Where producer ids come from in a cluster (ids unique across its brokers); null: this data directory's own blocks. */
  producerIdBlocks: ProducerIdBlockReserver | null;
  /**
   * Open only a data directory that needs no recovery: when a partition log would be repaired (a
   * torn tail cut, leftovers of interrupted work removed), open fails with RecoveryNeededError and
   * changes nothing. For inspection tools, which must not modify what they inspect: such a broker
   * also leaves the coordinator epoch and the space reserve as they are, so it is for reading.
   */
  refuseRecovery: boolean;
}

export type BrokerOptions = Partial<BrokerConfig> & { dataDir: string };

export const DEFAULT_SHARD_RING_BYTES = 16 * 1024 * 1024;
export const DEFAULT_SHARD_COMPLETION_RING_BYTES = 1024 * 1024;

const DEFAULT_LOGGER: BrokerLogger = {
  info: () => {},
  warn: (message) => process.emitWarning(message, { type: 'SluiceBrokerWarning' }),
};

/**
 * Files a partition holds open at most: the writer's active log, offset index and time index, and
 * the reader's log, offset index and transaction index.
 */
const FILES_PER_PARTITION = 6;
/** Share of the open-file limit partitions may take; the rest is for connections, metadata files and the runtime. */
const PARTITION_FILE_SHARE = 0.8;
const DEFAULT_MAX_PARTITIONS = 4096;

/** The process's soft limit on open files (ulimit -n), or null where it cannot be read (outside Linux, or unlimited). */
export function openFileLimit(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
  const match = /^Max open files\s+(\d+)/m.exec(text);
  return match === null ? null : Number(match[1]);
}

/** The most partitions the open-file limit lets the broker hold open, or null when the limit is unknown. */
function partitionsWithinFileLimit(): number | null {
  const limit = openFileLimit();
  return limit === null ? null : Math.max(1, Math.floor((limit * PARTITION_FILE_SHARE) / FILES_PER_PARTITION));
}

export function defaultShardCount(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

const KNOWN_KEYS = new Set<string>([
  'dataDir',
  'shards',
  'autoCreateTopicsEnable',
  'numPartitions',
  'logRetentionCheckIntervalMs',
  'maxPartitions',
  'maxPartitionsPerTopic',
  'shardRingBytes',
  'shardCompletionRingBytes',
  'maxAttachedThreads',
  'attachedRingBytes',
  'groupInitialRebalanceDelayMs',
  'groupMinSessionTimeoutMs',
  'groupMaxSessionTimeoutMs',
  'groupMaxSize',
  'groupConsumerSessionTimeoutMs',
  'groupConsumerHeartbeatIntervalMs',
  'groupConsumerMaxSize',
  'transactionMaxTimeoutMs',
  'transactionAbortTimedOutIntervalMs',
  'transactionalIdExpirationMs',
  'lagWindowSize',
  'lagMinCommitIntervalMs',
  'lagStoppedAfterMs',
  'lagMaxTrackedPartitions',
  'lagEndOffsetSampleIntervalMs',
  'logger',
  'producerIdBlocks',
  'refuseRecovery',
]);

export function resolveBrokerConfig(options: BrokerOptions): BrokerConfig {
  if (options === null || typeof options !== 'object') {
    throw new InvalidConfigError('the broker needs an options object with at least { dataDir }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new InvalidConfigError(`unknown broker option "${key}"; known options are ${[...KNOWN_KEYS].join(', ')}`);
    }
  }
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
    throw new InvalidConfigError('dataDir must be a non-empty path string: the directory that holds the logs');
  }
  const logger = options.logger ?? DEFAULT_LOGGER;
  if (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function') {
    throw new InvalidConfigError('logger must be an object with info(message) and warn(message)');
  }
  const producerIdBlocks = options.producerIdBlocks ?? null;
  if (producerIdBlocks !== null && (typeof producerIdBlocks !== 'object' || typeof producerIdBlocks.reserveBlock !== 'function')) {
    throw new InvalidConfigError('producerIdBlocks must be an object with reserveBlock(size), such as a cluster broker\'s, or null');
  }
  if (options.refuseRecovery !== undefined && typeof options.refuseRecovery !== 'boolean') {
    throw new InvalidConfigError(`refuseRecovery must be a boolean, got ${String(options.refuseRecovery)}`);
  }
  if (options.autoCreateTopicsEnable !== undefined && typeof options.autoCreateTopicsEnable !== 'boolean') {
    throw new InvalidConfigError(`autoCreateTopicsEnable must be a boolean, got ${String(options.autoCreateTopicsEnable)}`);
  }
  const config: BrokerConfig = {
    dataDir: options.dataDir,
    shards: integer(options, 'shards', defaultShardCount(), 1, 256),
    autoCreateTopicsEnable: options.autoCreateTopicsEnable ?? true,
    numPartitions: integer(options, 'numPartitions', 1, 1, 1_000_000),
    logRetentionCheckIntervalMs: integer(options, 'logRetentionCheckIntervalMs', 5 * 60 * 1000, 1, INT32_MAX),
    maxPartitions: maxPartitions(options),
    maxPartitionsPerTopic: integer(options, 'maxPartitionsPerTopic', 1000, 1, 1_000_000),
    shardRingBytes: ringBytes(options, 'shardRingBytes', DEFAULT_SHARD_RING_BYTES),
    shardCompletionRingBytes: ringBytes(options, 'shardCompletionRingBytes', DEFAULT_SHARD_COMPLETION_RING_BYTES),
    maxAttachedThreads: integer(options, 'maxAttachedThreads', DEFAULT_MAX_ATTACHED_THREADS, 0, 1024),
    attachedRingBytes: ringBytes(options, 'attachedRingBytes', DEFAULT_ATTACHED_RING_BYTES),
    groupInitialRebalanceDelayMs: integer(options, 'groupInitialRebalanceDelayMs', 3_000, 0, INT32_MAX),
    groupMinSessionTimeoutMs: integer(options, 'groupMinSessionTimeoutMs', 6_000, 1, INT32_MAX),
    groupMaxSessionTimeoutMs: integer(options, 'groupMaxSessionTimeoutMs', 1_800_000, 1, INT32_MAX),
    groupMaxSize: integer(options, 'groupMaxSize', 1_000, 1, INT32_MAX),
    groupConsumerSessionTimeoutMs: integer(options, 'groupConsumerSessionTimeoutMs', 45_000, 1, INT32_MAX),
    groupConsumerHeartbeatIntervalMs: integer(options, 'groupConsumerHeartbeatIntervalMs', 5_000, 1, INT32_MAX),
    groupConsumerMaxSize: integer(options, 'groupConsumerMaxSize', 1_000, 1, INT32_MAX),
    transactionMaxTimeoutMs: integer(options, 'transactionMaxTimeoutMs', 900_000, 1, INT32_MAX),
    transactionAbortTimedOutIntervalMs: integer(options, 'transactionAbortTimedOutIntervalMs', 10_000, 1, INT32_MAX),
    transactionalIdExpirationMs: integer(options, 'transactionalIdExpirationMs', 7 * 24 * 3_600_000, 1, Number.MAX_SAFE_INTEGER),
    lagWindowSize: integer(options, 'lagWindowSize', DEFAULT_LAG_WINDOW_SIZE, 1, 1_000),
    lagMinCommitIntervalMs: integer(options, 'lagMinCommitIntervalMs', DEFAULT_MIN_COMMIT_INTERVAL_MS, 0, INT32_MAX),
    lagStoppedAfterMs:
      options.lagStoppedAfterMs === undefined || options.lagStoppedAfterMs === null
        ? null
        : integer(options, 'lagStoppedAfterMs', 0, 1, Number.MAX_SAFE_INTEGER),
    lagMaxTrackedPartitions: integer(options, 'lagMaxTrackedPartitions', DEFAULT_MAX_TRACKED_PARTITIONS, 1, 10_000_000),
    lagEndOffsetSampleIntervalMs: integer(options, 'lagEndOffsetSampleIntervalMs', DEFAULT_END_OFFSET_SAMPLE_INTERVAL_MS, 0, INT32_MAX),
    logger,
    producerIdBlocks,
    refuseRecovery: options.refuseRecovery ?? false,
  };
  if (config.numPartitions > config.maxPartitionsPerTopic) {
    throw new InvalidConfigError(`numPartitions (${config.numPartitions}) exceeds maxPartitionsPerTopic (${config.maxPartitionsPerTopic})`);
  }
  if (config.shardCompletionRingBytes < 4096) {
    throw new InvalidConfigError(`shardCompletionRingBytes must be at least 4096 so an error report fits, got ${config.shardCompletionRingBytes}`);
  }
  return Object.freeze(config);
}

function maxPartitions(options: BrokerOptions): number {
  const fileBound = partitionsWithinFileLimit();
  if (options.maxPartitions === undefined) return Math.min(DEFAULT_MAX_PARTITIONS, fileBound ?? DEFAULT_MAX_PARTITIONS);
  const value = integer(options, 'maxPartitions', DEFAULT_MAX_PARTITIONS, 1, MAX_PARTITION_STATE_SLOTS);
  if (fileBound !== null && value > fileBound) {
    throw new InvalidConfigError(
      `maxPartitions ${value} needs up to ${value * FILES_PER_PARTITION} open files, more than the open-file limit ` +
        `(ulimit -n ${openFileLimit()}) leaves for partitions (${fileBound} partitions); raise the limit or lower maxPartitions`,
    );
  }
  return value;
}

function integer(options: BrokerOptions, name: keyof BrokerConfig, fallback: number, min: number, max: number): number {
  return integerOption(name, (options[name] ?? undefined) as number | undefined, fallback, min, max);
}

function ringBytes(options: BrokerOptions, name: keyof BrokerConfig, fallback: number): number {
  const value = options[name] ?? fallback;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_RING_CAPACITY_BYTES ||
    value > MAX_RING_CAPACITY_BYTES ||
    (value & (value - 1)) !== 0
  ) {
    throw new InvalidConfigError(
      `${name} must be a power of two from ${MIN_RING_CAPACITY_BYTES} to ${MAX_RING_CAPACITY_BYTES} bytes, got ${String(value)}`,
    );
  }
  return value;
}
