/**
 * Kafka's two ways to change a topic's configs, turned into the set/remove map that
 * Broker.alterTopicConfigs applies (a value sets a config, null removes its override):
 *
 *   replace      AlterConfigs: the given set becomes the topic's overrides; every override left
 *                out reverts to its default.
 *   incremental  IncrementalAlterConfigs (KIP-339): per config SET, DELETE, APPEND or SUBTRACT.
 *                APPEND and SUBTRACT edit a list-typed config (cleanup.policy) starting from its
 *                current value, the override or else the default, as Kafka's
 *                ConfigAdminManager.prepareIncrementalConfigs does; on any other config they are
 *                INVALID_CONFIG.
 *
 * Both refuse a config named twice and a null value (except DELETE's) with INVALID_REQUEST, the
 * checks Kafka makes before any change. Used by the protocol handlers and the embedded admin alike.
 */
import { InvalidConfigError, InvalidRequestError } from '../errors.js';
import { describeTopicConfigs, type TopicConfigOverrides, type TopicConfigValue } from '../storage/topic-config.js';
import { TOPIC_DEFAULT_BROKER_NAMES, topicConfigOfBrokerConfig, type BrokerConfigOverrides } from './broker-configs.js';

/** AlterConfigOp.OpType, by name; the wire carries the index (SET 0, DELETE 1, APPEND 2, SUBTRACT 3). */
export const CONFIG_OPERATIONS = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'] as const;
export type ConfigOperation = (typeof CONFIG_OPERATIONS)[number];

export type ConfigChanges = Record<string, TopicConfigValue | null>;

export interface IncrementalConfigChange {
  readonly name: string;
  readonly operation: ConfigOperation;
  /** Ignored by DELETE; required by the others. */
  readonly value: string | null;
}

function checkNames(names: readonly string[]): void {
  if (new Set(names).size !== names.length) throw new InvalidRequestError('Error due to duplicate config keys');
}

function checkNotNull(names: readonly string[]): void {
  if (names.length > 0) throw new InvalidRequestError(`Null value not supported for : ${names.join(', ')}`);
}

/** AlterConfigs: `configs` replaces the overrides in `current`. */
export function replacementChanges(current: TopicConfigOverrides, configs: readonly { name: string; value: string | null }[]): ConfigChanges {
  checkNames(configs.map((config) => config.name));
  checkNotNull(configs.filter((config) => config.value === null).map((config) => config.name));
  const changes: ConfigChanges = {};
  for (const name of Object.keys(current)) changes[name] = null;
  for (const { name, value } of configs) changes[name] = value;
  return changes;
}

/** IncrementalAlterConfigs: each change applied to `current`, in order. */
export function incrementalChanges(current: TopicConfigOverrides, configs: readonly IncrementalConfigChange[]): ConfigChanges {
  checkNames(configs.map((config) => config.name));
  checkNotNull(configs.filter((config) => config.value === null && config.operation !== 'DELETE').map((config) => config.name));
  const effective = describeTopicConfigs(current);
  const changes: ConfigChanges = {};
  for (const { name, operation, value } of configs) {
    switch (operation) {
      case 'SET':
        changes[name] = value;
        break;
      case 'DELETE':
        changes[name] = null;
        break;
      case 'APPEND':
      case 'SUBTRACT': {
        const entry = effective.find((row) => row.name === name);
        if (entry === undefined) throw new InvalidConfigError(`Unknown config name: ${name}`);
        if (entry.type !== 'LIST') throw new InvalidConfigError(`Config value ${operation.toLowerCase()} is not allowed for config key: ${name}`);
        const items = entry.value.split(',').filter((item) => item !== '');
        const given = value!.split(',');
        changes[name] = (operation === 'APPEND' ? [...items, ...given.filter((item) => !items.includes(item))] : items.filter((item) => !given.includes(item))).join(',');
        break;
      }
      default:
        throw new InvalidRequestError(`Unknown operations type ${String(operation)}; use one of ${CONFIG_OPERATIONS.join(', ')}`);
    }
  }
  return changes;
}

/**
 * A broker resource's operations, computed as for the topic configs they set the defaults of (so
 * APPEND and SUBTRACT work on log.cleanup.policy), by their broker names.
 */
export function brokerIncrementalChanges(current: BrokerConfigOverrides, changes: readonly IncrementalConfigChange[]): ConfigChanges {
  const asTopic: Record<string, string> = {};
  for (const [name, value] of Object.entries(current)) asTopic[topicConfigOfBrokerConfig(name)] = value;
  const topicChanges = incrementalChanges(asTopic, changes.map((change) => ({ ...change, name: topicConfigOfBrokerConfig(change.name) })));
  return Object.fromEntries(Object.entries(topicChanges).map(([name, value]) => [TOPIC_DEFAULT_BROKER_NAMES[name], value]));
}
