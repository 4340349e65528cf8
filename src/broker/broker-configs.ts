/**
 * Dynamic broker configs: the broker-level defaults of the topic configs, changed at runtime with
 * AlterConfigs / IncrementalAlterConfigs on the BROKER resource, as Kafka's DynamicLogConfig
 * allows. Two scopes, as in Kafka: the cluster-wide default (resource name "") and this broker
 * (resource name its node id), which wins over the default. A topic's own override wins over both.
 *
 * The names are Kafka's broker names (ServerTopicConfigSynonyms: log.retention.ms for
 * retention.ms, message.max.bytes for max.message.bytes...), the values are validated as the topic
 * config they stand for, and both scopes persist in `__sluice_meta/broker-configs.json`, written
 * atomically (temp file, fsync, rename, fsync the directory).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptFileError, InvalidConfigError } from '../errors.js';
import { fsyncDirectory, writeFileDurably } from '../storage/durable-fs.js';
import { describeTopicConfigs, validateTopicConfig, type TopicConfigEntry, type TopicConfigOverrides } from '../storage/topic-config.js';

export type BrokerConfigScope = 'default' | 'broker';

/** Broker config name -> the topic config it sets the default of (Kafka's primary synonyms). */
export const BROKER_TOPIC_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  'compression.type': 'compression.type',
  'log.cleaner.delete.retention.ms': 'delete.retention.ms',
  'log.cleaner.max.compaction.lag.ms': 'max.compaction.lag.ms',
  'log.cleaner.min.cleanable.ratio': 'min.cleanable.dirty.ratio',
  'log.cleaner.min.compaction.lag.ms': 'min.compaction.lag.ms',
  'log.cleanup.policy': 'cleanup.policy',
  'log.flush.interval.messages': 'flush.messages',
  'log.flush.interval.ms': 'flush.ms',
  'log.index.interval.bytes': 'index.interval.bytes',
  'log.index.size.max.bytes': 'segment.index.bytes',
  'log.message.timestamp.after.max.ms': 'message.timestamp.after.max.ms',
  'log.message.timestamp.before.max.ms': 'message.timestamp.before.max.ms',
  'log.message.timestamp.difference.max.ms': 'message.timestamp.difference.max.ms',
  'log.message.timestamp.type': 'message.timestamp.type',
  'log.retention.bytes': 'retention.bytes',
  'log.retention.ms': 'retention.ms',
  'log.roll.ms': 'segment.ms',
  'log.segment.bytes': 'segment.bytes',
  'message.max.bytes': 'max.message.bytes',
  'min.insync.replicas': 'min.insync.replicas',
});

/** Topic config name -> its broker config name. */
export const TOPIC_DEFAULT_BROKER_NAMES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(BROKER_TOPIC_DEFAULTS).map(([broker, topic]) => [topic, broker])),
);

export const BROKER_CONFIGS_FILE = 'broker-configs.json';
const FILE_VERSION = 1;

/** Broker config name to canonical value, for one scope. */
export type BrokerConfigOverrides = Readonly<Record<string, string>>;

/** The topic config a dynamic broker config sets the default of; InvalidConfigError for any other name. */
export function topicConfigOfBrokerConfig(name: string): string {
  const topicName = Object.hasOwn(BROKER_TOPIC_DEFAULTS, name) ? BROKER_TOPIC_DEFAULTS[name] : undefined;
  if (topicName === undefined) {
    throw new InvalidConfigError(`unknown dynamic broker config "${name}"; the broker's dynamic configs are: ${Object.keys(BROKER_TOPIC_DEFAULTS).join(', ')}`);
  }
  return topicName;
}

/**
 * Validates a change of one scope (a value sets, null removes) and returns the scope's new
 * overrides. A name that is not a dynamic broker config is INVALID_CONFIG.
 */
export function alterBrokerConfigs(current: BrokerConfigOverrides, changes: Readonly<Record<string, string | number | null>>): BrokerConfigOverrides {
  const next = new Map(Object.entries(current));
  for (const [name, value] of Object.entries(changes)) {
    const topicName = topicConfigOfBrokerConfig(name);
    if (value === null) {
      next.delete(name);
      continue;
    }
    try {
      next.set(name, validateTopicConfig(topicName, value));
    } catch (error) {
      throw new InvalidConfigError(`${(error as Error).message} (broker config ${name} sets the default of topic config ${topicName})`);
    }
  }
  return Object.freeze(Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** Broker overrides as topic config defaults (broker scope over default scope), by topic config name. */
export function topicDefaultsOf(defaults: BrokerConfigOverrides, broker: BrokerConfigOverrides): TopicConfigOverrides {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...defaults, ...broker })) merged[BROKER_TOPIC_DEFAULTS[name]] = value;
  return Object.freeze(merged);
}

/** A topic config as DescribeConfigs lists it, its default possibly set by a dynamic broker config. */
export interface EffectiveTopicConfigEntry extends Omit<TopicConfigEntry, 'source' | 'isDefault'> {
  readonly isDefault: boolean;
  readonly source: TopicConfigEntry['source'] | 'DYNAMIC_BROKER_CONFIG' | 'DYNAMIC_DEFAULT_BROKER_CONFIG';
}

/**
 * A topic's every config: its override, else the default a dynamic broker config sets (the broker
 * scope over the cluster-wide one), else the built-in default, each with its source.
 */
export function describeEffectiveTopicConfigs(
  overrides: TopicConfigOverrides,
  scopes: { default: BrokerConfigOverrides; broker: BrokerConfigOverrides },
): EffectiveTopicConfigEntry[] {
  return describeTopicConfigs(overrides).map((row): EffectiveTopicConfigEntry => {
    if (row.source !== 'DEFAULT_CONFIG' || !Object.hasOwn(TOPIC_DEFAULT_BROKER_NAMES, row.name)) return row;
    const brokerName = TOPIC_DEFAULT_BROKER_NAMES[row.name];
    if (Object.hasOwn(scopes.broker, brokerName)) return { ...row, value: scopes.broker[brokerName], isDefault: false, source: 'DYNAMIC_BROKER_CONFIG' };
    if (Object.hasOwn(scopes.default, brokerName)) return { ...row, value: scopes.default[brokerName], isDefault: false, source: 'DYNAMIC_DEFAULT_BROKER_CONFIG' };
    return row;
  });
}

/** The persisted dynamic broker configs of a data directory. */
export class BrokerConfigFile {
  private readonly file: string;
  private scopes: Readonly<Record<BrokerConfigScope, BrokerConfigOverrides>>;

  private constructor(file: string, scopes: Record<BrokerConfigScope, BrokerConfigOverrides>) {
    this.file = file;
    this.scopes = scopes;
  }

  /** Loads the file (none yet: no dynamic configs); a damaged one is a CorruptFileError naming it. */
  static open(metaDir: string): BrokerConfigFile {
    const file = path.join(metaDir, BROKER_CONFIGS_FILE);
    if (!fs.existsSync(file)) return new BrokerConfigFile(file, { default: {}, broker: {} });
    const fix = 'restore it from a backup, or delete it to drop the dynamic broker configs';
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new CorruptFileError(file, `it is not valid JSON (${(error as Error).message}); ${fix}`);
    }
    if (data === null || typeof data !== 'object' || data.version !== FILE_VERSION) throw new CorruptFileError(file, `it is not a version ${FILE_VERSION} broker config file; ${fix}`);
    const scope = (name: BrokerConfigScope): BrokerConfigOverrides => {
      const value = data[name];
      try {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`"${name}" is not an object`);
        return alterBrokerConfigs({}, value as Record<string, string>);
      } catch (error) {
        throw new CorruptFileError(file, `its "${name}" configs are invalid (${(error as Error).message}); ${fix}`);
      }
    };
    return new BrokerConfigFile(file, { default: scope('default'), broker: scope('broker') });
  }

  get(scope: BrokerConfigScope): BrokerConfigOverrides {
    return this.scopes[scope];
  }

  /** The topic config defaults both scopes set, by topic config name. */
  topicDefaults(): TopicConfigOverrides {
    return topicDefaultsOf(this.scopes.default, this.scopes.broker);
  }

  /** Replaces one scope's overrides; durable before it returns. */
  replace(scope: BrokerConfigScope, overrides: BrokerConfigOverrides): void {
    const next = { ...this.scopes, [scope]: overrides };
    const temp = `${this.file}.tmp`;
    writeFileDurably(temp, JSON.stringify({ version: FILE_VERSION, ...next }, null, 2) + '\n');
    fs.renameSync(temp, this.file);
    fsyncDirectory(path.dirname(this.file));
    this.scopes = next;
  }
}
