/**
 * A worker's properties file, with Kafka Connect's names and defaults. Where the worker's topics
 * live: `data.dir` (Sluice's embedded broker in that data directory) or `bootstrap.servers` (any
 * Kafka-protocol broker). The REST API listens where `listeners` says (http://host:port; an
 * empty host is 127.0.0.1 here, not every interface), else on rest.host.name:rest.port.
 */
import { ConnectError } from '../errors.js';
import type { Props } from './api.js';
import { atLeast, ConfigDef, nonEmptyString, oneOf, type ParsedConfig } from './config-def.js';

export const DEFAULT_REST_PORT = 8083;
export const DEFAULT_REST_HOST = '127.0.0.1';
export const JSON_CONVERTER = 'org.apache.kafka.connect.json.JsonConverter';

const COMMON = (): ConfigDef =>
  new ConfigDef()
    .define({ name: 'bootstrap.servers', type: 'LIST', defaultValue: ['localhost:9092'], importance: 'HIGH', documentation: 'host:port pairs of the Kafka brokers to use, unless data.dir names an embedded one' })
    .define({ name: 'data.dir', type: 'STRING', defaultValue: null, importance: 'HIGH', documentation: "Data directory of an embedded Sluice broker the worker opens (instead of bootstrap.servers)" })
    .define({ name: 'key.converter', type: 'CLASS', defaultValue: JSON_CONVERTER, importance: 'HIGH', documentation: 'Converter class for record keys' })
    .define({ name: 'value.converter', type: 'CLASS', defaultValue: JSON_CONVERTER, importance: 'HIGH', documentation: 'Converter class for record values' })
    .define({ name: 'header.converter', type: 'CLASS', defaultValue: 'org.apache.kafka.connect.storage.SimpleHeaderConverter', importance: 'LOW', documentation: 'Converter class for record header values' })
    .define({ name: 'offset.flush.interval.ms', type: 'LONG', defaultValue: 60_000, validator: atLeast(1), importance: 'LOW', documentation: 'Interval at which to try committing offsets for tasks' })
    .define({ name: 'listeners', type: 'LIST', defaultValue: null, importance: 'LOW', documentation: 'Comma-separated URIs the REST API listens on, e.g. http://127.0.0.1:8083' })
    .define({ name: 'rest.host.name', type: 'STRING', defaultValue: DEFAULT_REST_HOST, importance: 'LOW', documentation: 'Interface the REST API binds when listeners is not set' })
    .define({ name: 'rest.port', type: 'INT', defaultValue: DEFAULT_REST_PORT, validator: atLeast(0), importance: 'LOW', documentation: 'Port the REST API listens on when listeners is not set; 0 picks a free one' })
    .define({ name: 'plugin.path', type: 'LIST', defaultValue: null, importance: 'LOW', documentation: 'npm packages whose exported connectors, converters and transforms the worker loads' })
    .define({ name: 'consumer.session.timeout.ms', type: 'INT', defaultValue: 45_000, validator: atLeast(1), importance: 'LOW', documentation: "Sink tasks' consumers: the session timeout of their group membership (Kafka's consumer session.timeout.ms)" })
    .define({ name: 'consumer.heartbeat.interval.ms', type: 'INT', defaultValue: 3_000, validator: atLeast(1), importance: 'LOW', documentation: "Sink tasks' consumers: their heartbeat interval (Kafka's consumer heartbeat.interval.ms)" })
    .define({ name: 'topic.creation.enable', type: 'BOOLEAN', defaultValue: true, importance: 'LOW', documentation: 'Whether to allow automatic creation of topics used by source connectors, when source connectors are configured with `topic.creation.` properties' })
    .define({ name: 'topic.tracking.enable', type: 'BOOLEAN', defaultValue: true, importance: 'LOW', documentation: 'Enable tracking the set of active topics per connector during runtime' })
    .define({ name: 'topic.tracking.allow.reset', type: 'BOOLEAN', defaultValue: true, importance: 'LOW', documentation: 'If set to true, it allows user requests to reset the set of active topics per connector' })
    .define({
      name: 'exactly.once.source.support',
      type: 'STRING',
      defaultValue: 'disabled',
      validator: oneOf('disabled', 'enabled'),
      importance: 'HIGH',
      recommendedValues: ['disabled', 'enabled'],
      documentation: 'Whether to enable exactly-once support for source connectors: each poll\'s records and source offsets are written in one transaction (KIP-618), offsets in offset.storage.topic',
    })
    .define({ name: 'offset.storage.topic', type: 'STRING', defaultValue: 'connect-offsets', validator: nonEmptyString, importance: 'HIGH', documentation: 'The name of the Kafka topic where source connector offsets are stored' })
    .define({ name: 'offset.storage.partitions', type: 'INT', defaultValue: 25, validator: atLeast(1), importance: 'LOW', documentation: 'The number of partitions used when creating the offset storage topic' })

export const STANDALONE_CONFIG_DEF = (): ConfigDef =>
  COMMON().define({
    name: 'offset.storage.file.filename',
    type: 'STRING',
    defaultValue: null,
    importance: 'HIGH',
    documentation: 'File to store source connector offsets in (required unless exactly.once.source.support=enabled, which keeps them in offset.storage.topic)',
  });

export interface RestListener {
  readonly host: string;
  readonly port: number;
}

export interface WorkerConfig {
  readonly props: Props;
  readonly parsed: ParsedConfig;
  readonly dataDir: string | null;
  readonly bootstrapServers: readonly string[];
  readonly offsetFlushIntervalMs: number;
  readonly rest: RestListener;
  readonly pluginPackages: readonly string[];
  readonly exactlyOnceSource: boolean;
  readonly consumerSessionTimeoutMs: number;
  readonly consumerHeartbeatIntervalMs: number;
  /** KIP-558: whether active topics are tracked, and whether a REST call may reset them. */
  readonly topicTracking: { readonly enabled: boolean; readonly allowReset: boolean };
  /** KIP-158: whether source connectors' topic.creation.* settings create their topics. */
  readonly topicCreationEnabled: boolean;
}

function restListener(parsed: ParsedConfig): RestListener {
  const listeners = parsed.listeners as string[] | null;
  if (listeners === null || listeners.length === 0) return { host: parsed['rest.host.name'] as string, port: parsed['rest.port'] as number };
  const match = /^http:\/\/(\[[^\]]*\]|[^:/]*):(\d+)\/?$/i.exec(listeners[0]!);
  if (match === null) {
    throw new ConnectError(`Invalid value ${listeners[0]} for configuration listeners: expected http://host:port (https listeners are not served)`);
  }
  return { host: match[1] === '' ? DEFAULT_REST_HOST : match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** Parses the properties against `def` (standalone or distributed), throwing every problem at once. */
export function workerConfig(props: Props, def: ConfigDef): WorkerConfig {
  const parsed = def.parse(props, 'Worker configuration');
  return {
    props,
    parsed,
    dataDir: parsed['data.dir'] as string | null,
    bootstrapServers: parsed['bootstrap.servers'] as string[],
    offsetFlushIntervalMs: parsed['offset.flush.interval.ms'] as number,
    rest: restListener(parsed),
    pluginPackages: (parsed['plugin.path'] as string[] | null) ?? [],
    exactlyOnceSource: parsed['exactly.once.source.support'] === 'enabled',
    consumerSessionTimeoutMs: parsed['consumer.session.timeout.ms'] as number,
    consumerHeartbeatIntervalMs: parsed['consumer.heartbeat.interval.ms'] as number,
    topicTracking: { enabled: parsed['topic.tracking.enable'] as boolean, allowReset: parsed['topic.tracking.allow.reset'] as boolean },
    topicCreationEnabled: parsed['topic.creation.enable'] as boolean,
  };
}

/** The settings under `prefix` (e.g. "key.converter."), without it. */
export function withPrefix(props: Props, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(props)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = value;
  return out;
}


export const DISTRIBUTED_CONFIG_DEF = (): ConfigDef =>
  COMMON()
    .define({ name: 'group.id', type: 'STRING', validator: nonEmptyString, importance: 'HIGH', documentation: 'A unique string that identifies the Connect cluster group this worker belongs to' })
    .define({ name: 'config.storage.topic', type: 'STRING', defaultValue: 'connect-configs', validator: nonEmptyString, importance: 'HIGH', documentation: 'The name of the Kafka topic where connector configurations are stored' })
    .define({ name: 'status.storage.topic', type: 'STRING', defaultValue: 'connect-status', validator: nonEmptyString, importance: 'HIGH', documentation: 'The name of the Kafka topic where connector and task status are stored' })
    .define({ name: 'status.storage.partitions', type: 'INT', defaultValue: 5, validator: atLeast(1), importance: 'LOW', documentation: 'The number of partitions used when creating the status storage topic' })
    .define({ name: 'session.timeout.ms', type: 'INT', defaultValue: 10_000, validator: atLeast(1), importance: 'HIGH', documentation: 'The timeout used to detect worker failures' })
    .define({ name: 'heartbeat.interval.ms', type: 'INT', defaultValue: 3_000, validator: atLeast(1), importance: 'HIGH', documentation: "The expected time between heartbeats to the group coordinator" })
    .define({ name: 'rebalance.timeout.ms', type: 'INT', defaultValue: 60_000, validator: atLeast(1), importance: 'HIGH', documentation: 'The maximum allowed time for each worker to join the group once a rebalance has begun' });
