/**
 * Per-partition log configuration: Kafka's topic-level log settings, renamed to camelCase with
 * their unit in the name, with Kafka's defaults and validation at the boundary.
 *
 *   segment.bytes          -> segmentBytes          (default 1 GiB)
 *   segment.ms             -> segmentMs             (default 7 days)
 *   segment.index.bytes    -> segmentIndexBytes     (default 10 MiB)
 *   index.interval.bytes   -> indexIntervalBytes    (default 4096)
 *   retention.ms           -> retentionMs           (default 7 days, -1 = keep forever)
 *   retention.bytes        -> retentionBytes        (default -1 = no size limit)
 *   flush.messages         -> flushMessages         (default null = leave flushing to the OS)
 *   flush.ms               -> flushMs               (default null = leave flushing to the OS)
 *   max.message.bytes      -> maxMessageBytes       (default 1048588, Kafka's 1 MiB + 12)
 *   message.timestamp.type -> messageTimestampType  (default CreateTime)
 *   message.timestamp.before.max.ms -> messageTimestampBeforeMaxMs (default no limit)
 *   message.timestamp.after.max.ms  -> messageTimestampAfterMaxMs  (default no limit)
 *   cleanup.policy         -> cleanupCompact        (default false: the policy is "delete" alone)
 *   delete.retention.ms    -> deleteRetentionMs     (default 1 day)
 *   min.compaction.lag.ms  -> minCompactionLagMs    (default 0)
 *   max.compaction.lag.ms  -> maxCompactionLagMs    (default never: Number.MAX_SAFE_INTEGER)
 *   min.cleanable.dirty.ratio -> minCleanableDirtyRatio (default 0.5)
 *   compression.type       -> compressionType       (default producer: batches kept as sent)
 *
 * Kafka spells "never flush" as Long.MAX_VALUE, which a JavaScript number cannot hold exactly;
 * here it is `null`, and `parseKafkaLogConfigs` maps any value at or beyond 2^53 to it.
 */
import { InvalidConfigError } from '../errors.js';
import { BATCH_HEADER_BYTES } from '../protocol/batch-header.js';
import { BROKER_COMPRESSION_TYPES, type BrokerCompressionType } from '../protocol/recompress.js';
import { INT32_MAX } from '../protocol/limits.js';

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  /** Roll a new segment before the active one would grow past this many bytes. */
  segmentBytes: number;
  /** Roll a new segment once the active one's first batch is this old (see PartitionLog). */
  segmentMs: number;
  /** Roll a new segment once either index of the active one holds this many bytes of entries. */
  segmentIndexBytes: number;
  /** Add an index entry each time more than this many log bytes were appended since the last. */
  indexIntervalBytes: number;
  /** Delete segments whose newest record is older than this; -1 keeps them forever. */
  retentionMs: number;
  /** Delete the oldest segments while the log is larger than this; -1 sets no limit. */
  retentionBytes: number;
  /** fsync once this many records are unflushed; null leaves flushing to the OS. */
  flushMessages: number | null;
  /** fsync once the oldest unflushed append is this old; null leaves flushing to the OS. */
  flushMs: number | null;
  /** The largest record batch the log accepts, in bytes. */
  maxMessageBytes: number;
  /** CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the append time. */
  messageTimestampType: TimestampType;
  /**
   * Under CreateTime, a record whose timestamp is more than this before the append time is
   * refused with INVALID_TIMESTAMP (KIP-937). Number.MAX_SAFE_INTEGER: no limit (Kafka's Long.MAX_VALUE).
   */
  messageTimestampBeforeMaxMs: number;
  /** Under CreateTime, a record whose timestamp is more than this after the append time is refused. */
  messageTimestampAfterMaxMs: number;
  /**
   * cleanup.policy contains "compact": the log cleaner (log-cleaner.ts) keeps only the latest record
   * per key, and appends of records without a key are refused, as Kafka refuses them.
   */
  cleanupCompact: boolean;
  /** How long a tombstone (null value) and a removable transaction marker outlive compaction. */
  deleteRetentionMs: number;
  /** A record is not compacted until its segment's newest record is at least this old. */
  minCompactionLagMs: number;
  /** A log whose oldest uncompacted record is older than this is cleaned whatever its dirty ratio. */
  maxCompactionLagMs: number;
  /** The log is cleaned once uncompacted bytes are more than this fraction of the cleanable bytes. */
  minCleanableDirtyRatio: number;
  /** "producer" stores batches in the producer's codec; a codec name (or "uncompressed") recompresses them on append. */
  compressionType: BrokerCompressionType;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushMessages: null,
  flushMs: null,
  maxMessageBytes: 1024 * 1024 + 12,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
  cleanupCompact: false,
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
  compressionType: 'producer',
});

/** Kafka's name for each setting, for messages and for translating topic configs. */
export const KAFKA_LOG_CONFIG_NAMES: Readonly<Record<keyof LogConfig, string>> = Object.freeze({
  segmentBytes: 'segment.bytes',
  segmentMs: 'segment.ms',
  segmentIndexBytes: 'segment.index.bytes',
  indexIntervalBytes: 'index.interval.bytes',
  retentionMs: 'retention.ms',
  retentionBytes: 'retention.bytes',
  flushMessages: 'flush.messages',
  flushMs: 'flush.ms',
  maxMessageBytes: 'max.message.bytes',
  messageTimestampType: 'message.timestamp.type',
  messageTimestampBeforeMaxMs: 'message.timestamp.before.max.ms',
  messageTimestampAfterMaxMs: 'message.timestamp.after.max.ms',
  cleanupCompact: 'cleanup.policy',
  deleteRetentionMs: 'delete.retention.ms',
  minCompactionLagMs: 'min.compaction.lag.ms',
  maxCompactionLagMs: 'max.compaction.lag.ms',
  minCleanableDirtyRatio: 'min.cleanable.dirty.ratio',
  compressionType: 'compression.type',
});

/** A time index entry is 12 bytes; an index must hold at least one. */
const MIN_SEGMENT_INDEX_BYTES = 12;

type Check = (value: unknown) => string | null;

function integerIn(min: number, max: number): Check {
  return (value) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
      ? null
      : `must be an integer from ${min} to ${max}`;
}

function infiniteOrIntegerIn(min: number, max: number): Check {
  const inRange = integerIn(min, max);
  return (value) =>
    value === -1 || inRange(value) === null ? null : `must be -1 (no limit) or an integer from ${min} to ${max}`;
}

function nullOrIntegerIn(min: number, max: number): Check {
  const inRange = integerIn(min, max);
  return (value) =>
    value === null || inRange(value) === null ? null : `must be null (never) or an integer from ${min} to ${max}`;
}

const CHECKS: Readonly<Record<keyof LogConfig, Check>> = {
  segmentBytes: integerIn(BATCH_HEADER_BYTES, INT32_MAX),
  segmentMs: integerIn(1, Number.MAX_SAFE_INTEGER),
  segmentIndexBytes: integerIn(MIN_SEGMENT_INDEX_BYTES, INT32_MAX),
  indexIntervalBytes: integerIn(0, INT32_MAX),
  retentionMs: infiniteOrIntegerIn(0, Number.MAX_SAFE_INTEGER),
  retentionBytes: infiniteOrIntegerIn(0, Number.MAX_SAFE_INTEGER),
  flushMessages: nullOrIntegerIn(1, Number.MAX_SAFE_INTEGER),
  flushMs: nullOrIntegerIn(0, Number.MAX_SAFE_INTEGER),
  maxMessageBytes: integerIn(BATCH_HEADER_BYTES, INT32_MAX),
  messageTimestampType: (value) =>
    value === 'CreateTime' || value === 'LogAppendTime' ? null : 'must be "CreateTime" or "LogAppendTime"',
  messageTimestampBeforeMaxMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  messageTimestampAfterMaxMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  cleanupCompact: (value) => (typeof value === 'boolean' ? null : 'must be true or false'),
  deleteRetentionMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  minCompactionLagMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  maxCompactionLagMs: integerIn(1, Number.MAX_SAFE_INTEGER),
  minCleanableDirtyRatio: (value) =>
    typeof value === 'number' && value >= 0 && value <= 1 ? null : 'must be a number from 0 to 1',
  compressionType: (value) =>
    (BROKER_COMPRESSION_TYPES as readonly unknown[]).includes(value) ? null : `must be one of ${BROKER_COMPRESSION_TYPES.join(', ')}`,
};

const KEYS = Object.keys(CHECKS) as (keyof LogConfig)[];

/** Fills defaults and validates every field; throws InvalidConfigError naming the field and its range. */
export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new InvalidConfigError(`log config must be an object of settings, got ${describe(overrides)}`);
  }
  for (const key of Object.keys(overrides)) {
    if (!(key in CHECKS)) {
      throw new InvalidConfigError(`unknown log config "${key}"; known settings are ${KEYS.join(', ')}`);
    }
  }
  const config = { ...DEFAULT_LOG_CONFIG } as LogConfig;
  for (const key of KEYS) {
    const value = overrides[key];
    if (value === undefined) continue;
    const problem = CHECKS[key](value);
    if (problem !== null) {
      throw new InvalidConfigError(
        `log config ${key} (${KAFKA_LOG_CONFIG_NAMES[key]}) ${problem}, got ${describe(value)}`,
      );
    }
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  if (config.minCompactionLagMs > config.maxCompactionLagMs) {
    throw new InvalidConfigError(
      `log config minCompactionLagMs (${config.minCompactionLagMs}) is greater than maxCompactionLagMs ` +
        `(${config.maxCompactionLagMs}); lower the first or raise the second`,
    );
  }
  return config;
}

const KEY_BY_KAFKA_NAME = new Map<string, keyof LogConfig>(KEYS.map((key) => [KAFKA_LOG_CONFIG_NAMES[key], key]));
const BEYOND_SAFE_INTEGERS = 2 ** 53;

/**
 * Translates Kafka topic configs (string values, as CreateTopics and AlterConfigs carry them)
 * into LogConfig fields. Names this log does not handle (min.insync.replicas, ...)
 * come back in `otherNames` for their owners to handle or reject. Validation of the values'
 * ranges happens in resolveLogConfig.
 */
export function parseKafkaLogConfigs(configs: Readonly<Record<string, string | number>>): {
  logConfig: Partial<LogConfig>;
  otherNames: string[];
} {
  const logConfig: Partial<LogConfig> = {};
  const otherNames: string[] = [];
  for (const [name, raw] of Object.entries(configs)) {
    const key = KEY_BY_KAFKA_NAME.get(name);
    if (key === undefined) {
      otherNames.push(name);
      continue;
    }
    const text = String(raw).trim();
    if (key === 'messageTimestampType') {
      logConfig.messageTimestampType = text as TimestampType;
      continue;
    }
    if (key === 'compressionType') {
      logConfig.compressionType = text as BrokerCompressionType;
      continue;
    }
    if (key === 'cleanupCompact') {
      logConfig.cleanupCompact = text.split(',').some((policy) => policy.trim() === 'compact');
      continue;
    }
    if (key === 'minCleanableDirtyRatio') {
      logConfig.minCleanableDirtyRatio = text.length > 0 && Number.isFinite(Number(text)) ? Number(text) : Number.NaN;
      continue;
    }
    if (!/^-?\d+$/.test(text)) {
      throw new InvalidConfigError(`topic config ${name} must be an integer, got "${text}"`);
    }
    const value = Number(text);
    if ((key === 'flushMessages' || key === 'flushMs') && value >= BEYOND_SAFE_INTEGERS) {
      logConfig[key] = null;
    } else if (
      (key === 'maxCompactionLagMs' || key === 'messageTimestampBeforeMaxMs' || key === 'messageTimestampAfterMaxMs') &&
      value >= BEYOND_SAFE_INTEGERS
    ) {
      logConfig[key] = Number.MAX_SAFE_INTEGER;
    } else {
      (logConfig as Record<string, number>)[key] = value;
    }
  }
  return { logConfig, otherNames };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
