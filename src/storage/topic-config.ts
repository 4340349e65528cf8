/**
 * Topic configs: Kafka's names, value types, bounds and defaults, validated as a Kafka 4 broker
 * validates them (its LogConfig), so a config that Sluice accepts is accepted by Kafka too and moving
 * a topic to a real cluster needs no rewrite.
 *
 * Three representations:
 *   - input: what a client sends, `{ "retention.ms": "86400000" }` or `{ "retention.ms": 86400000 }`
 *     (the wire and the CLI carry strings, the library API may pass numbers);
 *   - overrides: the validated, canonical strings of the configs a topic sets, which is what is
 *     persisted (Kafka too stores only overrides, so a topic follows the defaults it does not set);
 *   - resolved: every config, defaults filled in, as camelCase numbers with units in the names
 *     ({ retentionMs, segmentBytes, ... }), ready for the log.
 *
 * Resolved values follow the log's own LogConfig conventions (log-config.ts), which
 * ResolvedTopicConfig extends, so `toLogConfig(resolveTopicConfig(overrides))` configures a log.
 * Kafka spells "never" as Long.MAX_VALUE (9223372036854775807), beyond JavaScript's safe integers:
 *   - flush.messages and flush.ms at or beyond 2^53 resolve to null, LogConfig's "never flush";
 *   - retention.ms and retention.bytes beyond 2^53 resolve to -1, Kafka's and LogConfig's "no
 *     limit" (any negative retention.bytes also resolves to -1);
 *   - any other long beyond 2^53 is clamped to Number.MAX_SAFE_INTEGER: 285,000 years of
 *     milliseconds, never in practice, and still a number every comparison handles.
 */
import { InvalidConfigError } from '../errors.js';
import { BROKER_COMPRESSION_TYPES, type BrokerCompressionType } from '../protocol/recompress.js';
import { KAFKA_LOG_CONFIG_NAMES, type LogConfig } from './log-config.js';

/** Kafka's config type names, as DescribeConfigs (v3+) reports them. */
export type TopicConfigType = 'INT' | 'LONG' | 'DOUBLE' | 'STRING' | 'LIST' | 'BOOLEAN';

/** A config value as a client provides it. */
export type TopicConfigValue = string | number;
/** Config name to value, as a client provides them (Kafka names, e.g. "retention.ms"). */
export type TopicConfigInput = Readonly<Record<string, TopicConfigValue>>;
/** Config name to canonical string value: only the configs a topic sets. */
export type TopicConfigOverrides = Readonly<Record<string, string>>;

/** Topic-level compression: "producer" keeps the producer's codec, the others recompress. */
export type TopicCompressionType = BrokerCompressionType;

export const LONG_MAX_VALUE = '9223372036854775807';
const INT32_MAX_BIG = 2_147_483_647n;
const INT64_MIN_BIG = -9_223_372_036_854_775_808n;
const INT64_MAX_BIG = 9_223_372_036_854_775_807n;

const DAY_MS = 24 * 60 * 60 * 1000;

interface IntegerDef {
  readonly type: 'INT' | 'LONG';
  readonly defaultValue: string;
  readonly min: bigint;
  readonly max: bigint;
  readonly unit: string;
}

interface DoubleDef {
  readonly type: 'DOUBLE';
  readonly defaultValue: string;
  readonly min: number;
  readonly max: number;
}

interface ChoiceDef {
  readonly type: 'STRING' | 'LIST' | 'BOOLEAN';
  readonly defaultValue: string;
  readonly allowed: readonly string[];
}

type ConfigDef = IntegerDef | DoubleDef | ChoiceDef;

function int(defaultValue: number, min: number, unit: string): IntegerDef {
  return { type: 'INT', defaultValue: String(defaultValue), min: BigInt(min), max: INT32_MAX_BIG, unit };
}

function long(defaultValue: number | string, min: number | bigint, unit: string): IntegerDef {
  return { type: 'LONG', defaultValue: String(defaultValue), min: BigInt(min), max: INT64_MAX_BIG, unit };
}

/**
 * The topic configs Sluice honours, with Kafka's types, lower bounds and broker defaults
 * (Kafka 4: segment.bytes is at least 1 MiB).
 */
const DEFS: Readonly<Record<string, ConfigDef>> = {
  'cleanup.policy': { type: 'LIST', defaultValue: 'delete', allowed: ['delete', 'compact'] },
  'compression.type': {
    type: 'STRING',
    defaultValue: 'producer',
    allowed: BROKER_COMPRESSION_TYPES,
  },
  'delete.retention.ms': long(DAY_MS, 0, 'ms'),
  'flush.messages': long(LONG_MAX_VALUE, 1, 'messages'),
  'flush.ms': long(LONG_MAX_VALUE, 0, 'ms'),
  'index.interval.bytes': int(4096, 0, 'bytes'),
  'max.compaction.lag.ms': long(LONG_MAX_VALUE, 1, 'ms'),
  'max.message.bytes': int(1024 * 1024 + 12, 0, 'bytes'),
  'message.timestamp.after.max.ms': long(LONG_MAX_VALUE, 0, 'ms'),
  'message.timestamp.before.max.ms': long(LONG_MAX_VALUE, 0, 'ms'),
  // Deprecated by KIP-937; still honoured where before/after are left at their default.
  'message.timestamp.difference.max.ms': long(LONG_MAX_VALUE, 0, 'ms'),
  'message.timestamp.type': { type: 'STRING', defaultValue: 'CreateTime', allowed: ['CreateTime', 'LogAppendTime'] },
  'min.cleanable.dirty.ratio': { type: 'DOUBLE', defaultValue: '0.5', min: 0, max: 1 },
  'min.compaction.lag.ms': long(0, 0, 'ms'),
  'min.insync.replicas': int(1, 1, 'replicas'),
  'retention.bytes': long(-1, INT64_MIN_BIG, 'bytes'),
  'retention.ms': long(7 * DAY_MS, -1, 'ms'),
  'segment.bytes': int(1024 * 1024 * 1024, 1024 * 1024, 'bytes'),
  'segment.index.bytes': int(10 * 1024 * 1024, 4, 'bytes'),
  'segment.ms': long(7 * DAY_MS, 1, 'ms'),
  // Read by a cluster's controller: may a replica outside the ISR lead when no ISR member is live.
  'unclean.leader.election.enable': { type: 'BOOLEAN', defaultValue: 'false', allowed: ['true', 'false'] },
};

/** Every topic config name Sluice accepts, sorted. */
export const TOPIC_CONFIG_NAMES: readonly string[] = Object.freeze(Object.keys(DEFS).sort());

/**
 * Every config with defaults filled in, in the log's terms: camelCase, units in the names. The
 * LogConfig fields (segmentBytes, segmentMs, segmentIndexBytes, indexIntervalBytes, retentionMs,
 * retentionBytes, flushMessages, flushMs, maxMessageBytes, messageTimestampType) come from
 * segment.bytes, segment.ms, and so on.
 */
export interface ResolvedTopicConfig extends LogConfig {
  /** cleanup.policy contains "delete": segments past retention.ms / retention.bytes are deleted. */
  readonly cleanupDelete: boolean;
  /** cleanup.policy contains "compact": only the latest record per key is kept. */
  readonly cleanupCompact: boolean;
  readonly compressionType: TopicCompressionType;
  readonly deleteRetentionMs: number;
  readonly maxCompactionLagMs: number;
  readonly messageTimestampAfterMaxMs: number;
  readonly messageTimestampBeforeMaxMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly minInsyncReplicas: number;
}

/** One row of a DescribeConfigs answer for a topic. */
export interface TopicConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly isDefault: boolean;
  /** Kafka's ConfigSource: TOPIC_CONFIG (id 1) when the topic sets it, DEFAULT_CONFIG (id 5) otherwise. */
  readonly source: 'TOPIC_CONFIG' | 'DEFAULT_CONFIG';
  readonly type: TopicConfigType;
  readonly readOnly: false;
  readonly sensitive: false;
}

function invalid(name: string, value: unknown, expected: string): InvalidConfigError {
  const shown = typeof value === 'string' ? `"${value}"` : String(value);
  return new InvalidConfigError(`invalid value ${shown} for topic config ${name}: ${expected}`);
}

function defOf(name: string): ConfigDef {
  const def = Object.hasOwn(DEFS, name) ? DEFS[name] : undefined;
  if (def === undefined) {
    throw new InvalidConfigError(
      `unknown topic config "${name}"; the topic configs are: ${TOPIC_CONFIG_NAMES.join(', ')}`,
    );
  }
  return def;
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function canonicalInteger(name: string, def: IntegerDef, value: TopicConfigValue): string {
  const range = `must be an integer from ${def.min} to ${def.max} (${def.unit})`;
  let big: bigint;
  if (typeof value === 'number') {
    // Beyond 2^53 a number has already lost digits; Kafka's longs travel as strings.
    if (!Number.isSafeInteger(value)) {
      throw invalid(name, value, `${range}; pass integers beyond ${Number.MAX_SAFE_INTEGER} as strings`);
    }
    big = BigInt(value);
  } else {
    const text = value.trim();
    if (!INTEGER_TEXT.test(text)) throw invalid(name, value, range);
    big = BigInt(text);
  }
  // def.min and def.max lie within the type's range (int32 or int64), so this is the type check too.
  if (big < def.min || big > def.max) throw invalid(name, value, range);
  return big.toString();
}

function canonicalDouble(name: string, def: DoubleDef, value: TopicConfigValue): string {
  const expected = `must be a number from ${def.min} to ${def.max}`;
  let n: number;
  if (typeof value === 'number') {
    n = value;
  } else {
    const text = value.trim();
    if (!DECIMAL_TEXT.test(text)) throw invalid(name, value, expected);
    n = Number(text);
  }
  if (!Number.isFinite(n) || n < def.min || n > def.max) throw invalid(name, value, expected);
  return String(n);
}

function checkChoice(name: string, def: ChoiceDef, item: string, value: TopicConfigValue): void {
  if (def.allowed.includes(item)) return;
  const hint = name === 'compression.type' && item === 'none' ? ' (a topic says "uncompressed" where a producer says "none")' : '';
  throw invalid(name, value, `must be one of ${def.allowed.join(', ')}${hint}`);
}

function canonicalChoice(name: string, def: ChoiceDef, value: TopicConfigValue): string {
  if (typeof value !== 'string') {
    throw invalid(name, value, `must be a string: ${def.type === 'LIST' ? 'a comma-separated list of ' : 'one of '}${def.allowed.join(', ')}`);
  }
  if (def.type === 'BOOLEAN') {
    // Kafka's ConfigDef parses booleans ignoring case.
    const text = value.trim().toLowerCase();
    checkChoice(name, def, text, value);
    return text;
  }
  if (def.type === 'STRING') {
    const text = value.trim();
    checkChoice(name, def, text, value);
    return text;
  }
  const items: string[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    checkChoice(name, def, item, value);
    if (!items.includes(item)) items.push(item);
  }
  return items.join(',');
}

/** Validates one config and returns its canonical string; throws InvalidConfigError. */
export function validateTopicConfig(name: string, value: TopicConfigValue): string {
  const def = defOf(name);
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw invalid(name, value, `expected a string or a number, got ${value === null ? 'null' : typeof value}`);
  }
  switch (def.type) {
    case 'INT':
    case 'LONG':
      return canonicalInteger(name, def, value);
    case 'DOUBLE':
      return canonicalDouble(name, def, value);
    case 'STRING':
    case 'LIST':
    case 'BOOLEAN':
      return canonicalChoice(name, def, value);
  }
}

/** Rules that involve several configs, checked on the effective values as Kafka does. */
function checkCrossConfig(overrides: TopicConfigOverrides): void {
  const minLag = BigInt(overrides['min.compaction.lag.ms'] ?? DEFS['min.compaction.lag.ms'].defaultValue);
  const maxLag = BigInt(overrides['max.compaction.lag.ms'] ?? DEFS['max.compaction.lag.ms'].defaultValue);
  if (minLag > maxLag) {
    throw new InvalidConfigError(
      `topic config min.compaction.lag.ms (${minLag}) is greater than max.compaction.lag.ms (${maxLag}); ` +
        `lower the first or raise the second`,
    );
  }
}

function sortedOverrides(entries: Iterable<[string, string]>): TopicConfigOverrides {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.freeze(Object.fromEntries(sorted));
}

function checkInputObject(input: unknown, what: string): asserts input is Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidConfigError(`${what} must be an object of config name to value, e.g. { "retention.ms": "86400000" }`);
  }
}

/**
 * Validates a set of topic configs (names and values) and returns them as canonical strings,
 * sorted by name. Throws InvalidConfigError naming the config, the value and the allowed range.
 */
export function validateTopicConfigs(input: TopicConfigInput): TopicConfigOverrides {
  checkInputObject(input, 'topic configs');
  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(input)) {
    entries.push([name, validateTopicConfig(name, value as TopicConfigValue)]);
  }
  const overrides = sortedOverrides(entries);
  checkCrossConfig(overrides);
  return overrides;
}

/**
 * Applies an incremental change (Kafka's IncrementalAlterConfigs SET and DELETE): a value sets the
 * config, null removes the override so the default applies again. Returns the new overrides.
 */
export function alterTopicConfigs(
  current: TopicConfigOverrides,
  changes: Readonly<Record<string, TopicConfigValue | null>>,
): TopicConfigOverrides {
  checkInputObject(changes, 'config changes');
  const next = new Map(Object.entries(current));
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) {
      defOf(name);
      next.delete(name);
    } else {
      next.set(name, validateTopicConfig(name, value));
    }
  }
  const overrides = sortedOverrides(next);
  checkCrossConfig(overrides);
  return overrides;
}

function effective(overrides: TopicConfigOverrides, name: string): string {
  return Object.hasOwn(overrides, name) ? overrides[name] : DEFS[name].defaultValue;
}

const SAFE_MAX_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A validated long as a number, clamped to Number.MAX_SAFE_INTEGER ("never"). Only retention.bytes
 * may be below -1, and retentionLimit handles it.
 */
function clampedLong(text: string): number {
  const big = BigInt(text);
  return big > SAFE_MAX_BIG ? Number.MAX_SAFE_INTEGER : Number(big);
}

/** flush.messages / flush.ms: null (never flush) at or beyond 2^53, as LogConfig has it. */
function flushSetting(text: string): number | null {
  return BigInt(text) > SAFE_MAX_BIG ? null : Number(text);
}

/** retention.ms / retention.bytes: -1 (no limit) for any negative value or one beyond 2^53. */
function retentionLimit(text: string): number {
  const big = BigInt(text);
  return big < 0n || big > SAFE_MAX_BIG ? -1 : Number(big);
}

/**
 * Kafka's LogConfig.getMessageTimestampBeforeMaxMs / AfterMaxMs: the KIP-937 setting, unless it is
 * at its default (no limit), in which case the deprecated message.timestamp.difference.max.ms.
 */
function timestampLimit(overrides: TopicConfigOverrides, name: string): number {
  const own = effective(overrides, name);
  return clampedLong(BigInt(own) === BigInt(LONG_MAX_VALUE) ? effective(overrides, 'message.timestamp.difference.max.ms') : own);
}

/**
 * Every config of a topic with the defaults filled in, as the log uses them. `overrides` must come
 * from validateTopicConfigs or alterTopicConfigs.
 */
export function resolveTopicConfig(overrides: TopicConfigOverrides): ResolvedTopicConfig {
  const get = (name: string): string => effective(overrides, name);
  const num = (name: string): number => clampedLong(get(name));
  const policies = get('cleanup.policy').split(',');
  return Object.freeze({
    cleanupDelete: policies.includes('delete'),
    cleanupCompact: policies.includes('compact'),
    compressionType: get('compression.type') as TopicCompressionType,
    deleteRetentionMs: num('delete.retention.ms'),
    flushMessages: flushSetting(get('flush.messages')),
    flushMs: flushSetting(get('flush.ms')),
    indexIntervalBytes: num('index.interval.bytes'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    maxMessageBytes: num('max.message.bytes'),
    messageTimestampAfterMaxMs: timestampLimit(overrides, 'message.timestamp.after.max.ms'),
    messageTimestampBeforeMaxMs: timestampLimit(overrides, 'message.timestamp.before.max.ms'),
    messageTimestampType: get('message.timestamp.type') as LogConfig['messageTimestampType'],
    minCleanableDirtyRatio: Number(get('min.cleanable.dirty.ratio')),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    minInsyncReplicas: num('min.insync.replicas'),
    retentionBytes: retentionLimit(get('retention.bytes')),
    retentionMs: retentionLimit(get('retention.ms')),
    segmentBytes: num('segment.bytes'),
    segmentIndexBytes: num('segment.index.bytes'),
    segmentMs: num('segment.ms'),
  });
}

/** The LogConfig part of a resolved topic config, for the topic's partition logs. */
export function toLogConfig(resolved: ResolvedTopicConfig): LogConfig {
  const config: Record<string, unknown> = {};
  for (const key of Object.keys(KAFKA_LOG_CONFIG_NAMES) as (keyof LogConfig)[]) config[key] = resolved[key];
  return config as unknown as LogConfig;
}

/** The DescribeConfigs listing of a topic: every config, its value as a string, and where it comes from. */
export function describeTopicConfigs(overrides: TopicConfigOverrides): TopicConfigEntry[] {
  return TOPIC_CONFIG_NAMES.map((name) => {
    const isSet = Object.hasOwn(overrides, name);
    return {
      name,
      value: isSet ? overrides[name] : DEFS[name].defaultValue,
      isDefault: !isSet,
      source: isSet ? 'TOPIC_CONFIG' : 'DEFAULT_CONFIG',
      type: DEFS[name].type,
      readOnly: false,
      sensitive: false,
    };
  });
}
