/**
 * DescribeConfigs: a topic's every config with its value and source (TOPIC_CONFIG when the topic
 * sets it, DYNAMIC_BROKER_CONFIG / DYNAMIC_DEFAULT_BROKER_CONFIG when a dynamic broker config sets
 * its default, DEFAULT_CONFIG otherwise; isDefault in v0), and for the broker resource ("" or this
 * node's id) the listener settings this server runs with and the dynamic broker configs.
 */
import { InvalidRequestError } from '../../errors.js';
import {
  CONFIG_RESOURCE_BROKER,
  CONFIG_RESOURCE_TOPIC,
  CONFIG_SOURCE_DEFAULT,
  CONFIG_SOURCE_DYNAMIC_BROKER,
  CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER,
  CONFIG_SOURCE_STATIC_BROKER,
  CONFIG_SOURCE_TOPIC,
  DescribeConfigs,
  type DescribeConfigsResponseInput,
} from '../../protocol/api/describe-configs.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { BROKER_TOPIC_DEFAULTS, TOPIC_DEFAULT_BROKER_NAMES, describeEffectiveTopicConfigs, type BrokerConfigOverrides } from '../../broker/broker-configs.js';
import type { EffectiveTopicConfigEntry } from '../../broker/broker-configs.js';
import { describeTopicConfigs, type TopicConfigOverrides, type TopicConfigType } from '../../storage/topic-config.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_SOCKET_REQUEST_MAX_BYTES } from '../config.js';
import { CLUSTER_NAME } from '../../broker/acl/acl.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler, errorMessageOf, type RequestContext, type ServerInfo } from './handler.js';

type Result = DescribeConfigsResponseInput['results'][number];
type Entry = Result['configs'][number];
type Source = EffectiveTopicConfigEntry['source'] | 'STATIC_BROKER_CONFIG';

interface ConfigRow {
  readonly name: string;
  readonly value: string;
  readonly source: Source;
  readonly type: TopicConfigType | 'BOOLEAN';
  readonly readOnly: boolean;
  /** Where the value could come from, highest precedence first (Kafka's synonyms); just the row itself when absent. */
  readonly synonyms?: readonly Synonym[];
}

interface Synonym {
  readonly name: string;
  readonly value: string;
  readonly source: Source;
}

/** Kafka's ConfigEntry.ConfigType ids. */
const CONFIG_TYPE_IDS: Record<ConfigRow['type'], number> = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 };

export function configSourceId(source: Source): number {
  switch (source) {
    case 'TOPIC_CONFIG':
      return CONFIG_SOURCE_TOPIC;
    case 'STATIC_BROKER_CONFIG':
      return CONFIG_SOURCE_STATIC_BROKER;
    case 'DYNAMIC_BROKER_CONFIG':
      return CONFIG_SOURCE_DYNAMIC_BROKER;
    case 'DYNAMIC_DEFAULT_BROKER_CONFIG':
      return CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
    case 'DEFAULT_CONFIG':
      return CONFIG_SOURCE_DEFAULT;
  }
}

export const describeConfigsHandler = defineHandler({
  api: DescribeConfigs,
  handle(ctx, request) {
    const results = request.resources.map(({ resourceType, resourceName, configurationKeys }): Result => {
      try {
        const keys = configurationKeys === null ? null : new Set(configurationKeys);
        const rows = resourceRows(ctx, resourceType, resourceName).filter((row) => keys === null || keys.has(row.name));
        return {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType,
          resourceName,
          configs: rows.map((row) => entry(row, request.includeSynonyms)),
        };
      } catch (error) {
        return { errorCode: ctx.errorCode(error), errorMessage: errorMessageOf(error), resourceType, resourceName, configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
});

function resourceRows(ctx: RequestContext, resourceType: number, resourceName: string): ConfigRow[] {
  switch (resourceType) {
    case CONFIG_RESOURCE_TOPIC:
      requireAuthorized(ctx, 'DESCRIBE_CONFIGS', 'TOPIC', resourceName);
      return topicRows(ctx, ctx.broker.topicMetadata(resourceName).configs);
    case CONFIG_RESOURCE_BROKER:
      requireAuthorized(ctx, 'DESCRIBE_CONFIGS', 'CLUSTER', CLUSTER_NAME);
      if (resourceName !== '' && resourceName !== String(ctx.server.nodeId)) {
        throw new InvalidRequestError(`broker "${resourceName}" is not this node (${ctx.server.nodeId}); ask for "" or "${ctx.server.nodeId}"`);
      }
      return [...staticBrokerRows(ctx.server), ...dynamicBrokerRows(ctx)];
    default:
      throw new InvalidRequestError(`config resource type ${resourceType} is not served; use 2 (topic) or 4 (broker)`);
  }
}

/**
 * A topic's configs with their source (describeEffectiveTopicConfigs) and, as Kafka lists them, the
 * synonyms: the topic's override, then the broker-level config of the same default.
 */
function topicRows(ctx: RequestContext, overrides: TopicConfigOverrides): ConfigRow[] {
  const scopes = { default: ctx.broker.brokerConfigs('default'), broker: ctx.broker.brokerConfigs('broker') };
  const defaults = new Map(describeTopicConfigs({}).map((row) => [row.name, row.value]));
  return describeEffectiveTopicConfigs(overrides, scopes).map((row) => {
    const own: Synonym[] = Object.hasOwn(overrides, row.name) ? [{ name: row.name, value: overrides[row.name], source: 'TOPIC_CONFIG' }] : [];
    // A config no broker config sets the default of (unclean.leader.election.enable) has only its built-in default below the override.
    const below: Synonym[] = Object.hasOwn(TOPIC_DEFAULT_BROKER_NAMES, row.name)
      ? brokerSynonyms(TOPIC_DEFAULT_BROKER_NAMES[row.name], defaults.get(row.name)!, scopes)
      : [{ name: row.name, value: defaults.get(row.name)!, source: 'DEFAULT_CONFIG' }];
    return { ...row, synonyms: [...own, ...below] };
  });
}

/** Every dynamic broker config with its value: set for this broker, set cluster-wide, or the default. */
function dynamicBrokerRows(ctx: RequestContext): ConfigRow[] {
  const byTopicName = new Map(describeTopicConfigs({}).map((row) => [row.name, row]));
  const scopes = { default: ctx.broker.brokerConfigs('default'), broker: ctx.broker.brokerConfigs('broker') };
  return Object.entries(BROKER_TOPIC_DEFAULTS).map(([name, topicName]): ConfigRow => {
    const { value: defaultValue, type } = byTopicName.get(topicName)!;
    const synonyms = brokerSynonyms(name, defaultValue, scopes);
    return { name, value: synonyms[0].value, source: synonyms[0].source, type, readOnly: false, synonyms };
  });
}

/** A dynamic broker config's values by precedence: this broker's, the cluster-wide one, the built-in default. */
function brokerSynonyms(name: string, defaultValue: string, scopes: { default: BrokerConfigOverrides; broker: BrokerConfigOverrides }): Synonym[] {
  const synonyms: Synonym[] = [];
  if (Object.hasOwn(scopes.broker, name)) synonyms.push({ name, value: scopes.broker[name], source: 'DYNAMIC_BROKER_CONFIG' });
  if (Object.hasOwn(scopes.default, name)) synonyms.push({ name, value: scopes.default[name], source: 'DYNAMIC_DEFAULT_BROKER_CONFIG' });
  synonyms.push({ name, value: defaultValue, source: 'DEFAULT_CONFIG' });
  return synonyms;
}

/**
 * The listener settings, as Kafka names them; DEFAULT_CONFIG when equal to Kafka's default. They are
 * fixed when the server starts: AlterConfigs refuses them.
 */
export function staticBrokerRows(server: ServerInfo): ConfigRow[] {
  const { config } = server;
  const row = (name: string, value: string | number, type: ConfigRow['type'], kafkaDefault?: string | number): ConfigRow => ({
    name,
    value: String(value),
    source: kafkaDefault !== undefined && String(kafkaDefault) === String(value) ? 'DEFAULT_CONFIG' : 'STATIC_BROKER_CONFIG',
    type,
    readOnly: true,
  });
  const rows = [
    row('node.id', server.nodeId, 'INT'),
    row('broker.id', server.nodeId, 'INT'),
    row('listeners', server.listeners.map((listener) => `${listener.name}://${listener.host}:${listener.port}`).join(','), 'LIST'),
    row(
      'advertised.listeners',
      server.listeners.map((listener) => `${listener.name}://${listener.advertisedHost}:${listener.advertisedPort}`).join(','),
      'LIST',
    ),
    row('socket.request.max.bytes', config.socketRequestMaxBytes, 'INT', DEFAULT_SOCKET_REQUEST_MAX_BYTES),
    row('connections.max.idle.ms', config.idleTimeoutMs, 'LONG', DEFAULT_IDLE_TIMEOUT_MS),
    row('max.connections', config.connectionsMax, 'INT'),
  ];
  if (config.sasl !== null) rows.push(row('sasl.enabled.mechanisms', config.sasl.mechanisms.join(','), 'LIST'));
  if (config.tls !== null) {
    rows.push(row('ssl.client.auth', config.tls.clientAuth, 'STRING', 'none'));
    rows.push(row('ssl.principal.mapping.rules', config.tls.principalMapper.rules.map((rule) => rule.text).join(','), 'STRING', 'DEFAULT'));
  }
  return rows;
}

function entry(row: ConfigRow, includeSynonyms: boolean): Entry {
  const source = configSourceId(row.source);
  return {
    name: row.name,
    value: row.value,
    readOnly: row.readOnly,
    isDefault: row.source === 'DEFAULT_CONFIG',
    configSource: source,
    isSensitive: false,
    synonyms: !includeSynonyms
      ? []
      : (row.synonyms ?? [row]).map((synonym) => ({ name: synonym.name, value: synonym.value, source: configSourceId(synonym.source) })),
    configType: CONFIG_TYPE_IDS[row.type],
    documentation: null,
  };
}
