/**
 * Kafka Connect's validation of connector configs, shared by the standalone and distributed
 * herders: the common settings of the connector's type, its own config(), each transform's, the
 * sink cross checks and the exactly-once preflight; and the plugin listings of the REST API.
 */
import { ConnectRestError } from '../errors.js';
import type { Props, SourceConnector } from './api.js';
import type { ConfigDef, ConfigInfos, ConfigValue } from './config-def.js';
import { CONNECTOR_CLASS_CONFIG, EXACTLY_ONCE_SUPPORT_CONFIG, sinkConnectorDef, sinkCrossChecks, sourceConnectorDef } from './connector-config.js';
import type { PluginDescriptor, Plugins } from './plugins.js';
import { TOPIC_CREATION_GROUPS_CONFIG, topicCreationProblems, usesTopicCreation } from './topic-creation.js';
import { NEGATE_CONFIG, PREDICATE_CONFIG, PREDICATES_CONFIG, transformAliases, transformPredicate, transformProps } from './transforms.js';
import type { Worker } from './worker.js';

export interface PluginInfo {
  class: string;
  type: string;
  version: string;
}

export function pluginInfos(plugins: Plugins, connectorsOnly: boolean): PluginInfo[] {
  return plugins
    .descriptors()
    .filter((plugin) => !connectorsOnly || plugin.type === 'source' || plugin.type === 'sink')
    .map((plugin) => ({ class: plugin.className, type: plugin.type, version: plugin.version }));
}

/** The settings a connector plugin takes, as GET /connector-plugins/{plugin}/config lists them. */
export function pluginConfigDefinitions(plugins: Plugins, pluginName: string): ConfigInfos['configs'][number]['definition'][] {
  const plugin = plugins.find(pluginName);
  if (plugin === undefined) throw new ConnectRestError(404, `Unknown plugin ${pluginName}.`);
  const instance = plugin.create() as { config(): ConfigDef };
  return instance.config().configInfos(plugin.className, []).configs.map((config) => config.definition);
}

/**
 * Kafka Connect's validation of a connector config: the common settings of its type, its own
 * config() and those of each transform, and the cross checks of sinks.
 */
export function validateConnectorConfig(worker: Worker, config: Props, pluginName?: string): ConfigInfos {
  const className = config[CONNECTOR_CLASS_CONFIG];
  if (className === undefined || className.trim() === '') {
    throw new ConnectRestError(400, `Connector config ${JSON.stringify(config)} contains no connector type`);
  }
  let plugin: PluginDescriptor;
  try {
    plugin = worker.plugins.connector(className.trim());
  } catch (error) {
    throw new ConnectRestError(400, (error as Error).message);
  }
  if (pluginName !== undefined && worker.plugins.find(pluginName) !== plugin) {
    throw new ConnectRestError(400, `Included connector type ${className} does not match request type ${pluginName}`);
  }
  const connector = worker.plugins.newConnector(plugin.className);
  const def = plugin.type === 'source' ? sourceConnectorDef() : sinkConnectorDef();
  const values: ConfigValue[] = def.validate(config);
  if (plugin.type === 'sink') sinkCrossChecks(config, values);
  if (plugin.type === 'source' && usesTopicCreation(worker.config.topicCreationEnabled, config)) {
    // KIP-158's settings, validated only where the worker would act on them, as Kafka's.
    for (const problem of topicCreationProblems(config)) {
      const existing = values.find((value) => value.name === problem.name);
      if (existing !== undefined) existing.errors.push(problem.message);
      else {
        def.define({ name: problem.name, type: problem.name === TOPIC_CREATION_GROUPS_CONFIG ? 'LIST' : 'STRING', importance: 'LOW', group: 'Topic Creation', documentation: 'A setting of KIP-158\'s topic creation.' });
        values.push({ name: problem.name, value: problem.value, errors: [problem.message] });
      }
    }
  }
  if (plugin.type === 'source' && worker.config.exactlyOnceSource && config[EXACTLY_ONCE_SUPPORT_CONFIG] === 'required') {
    const problem = exactlyOnceProblem((connector as SourceConnector).exactlyOnceSupport(config));
    if (problem !== null) values.find((value) => value.name === EXACTLY_ONCE_SUPPORT_CONFIG)?.errors.push(problem);
  }
  const own = connector.config();
  const ownValues = connector.validate(config).filter((value) => !def.has(value.name));
  def.merge(own);
  values.push(...ownValues);
  for (const alias of safeAliases(config, values)) {
    const type = transformProps(config, alias).type;
    const typeName = `transforms.${alias}.type`;
    const group = `Transforms: ${alias}`;
    def.define({ name: typeName, type: 'CLASS', importance: 'HIGH', group, documentation: 'Class for the transformation.' });
    const errors: string[] = [];
    if (type === undefined || type.trim() === '') errors.push(`Missing required configuration "${typeName}" which has no default value.`);
    values.push({ name: typeName, value: type ?? null, errors });
    if (errors.length > 0) continue;
    let transformDef: ConfigDef;
    try {
      transformDef = worker.plugins.newTransformation(type!.trim()).config();
    } catch (error) {
      errors.push(`Invalid value ${type} for configuration ${typeName}: ${(error as Error).message}`);
      continue;
    }
    const props = transformProps(config, alias);
    for (const key of transformDef.configKeys()) def.define({ ...key, name: `transforms.${alias}.${key.name}`, group });
    for (const value of transformDef.validate(props)) values.push({ ...value, name: `transforms.${alias}.${value.name}` });
    // KIP-585's implicit settings of every transform.
    const predicateName = `transforms.${alias}.${PREDICATE_CONFIG}`;
    const negateName = `transforms.${alias}.${NEGATE_CONFIG}`;
    def.define({ name: predicateName, type: 'STRING', defaultValue: null, importance: 'MEDIUM', group, documentation: 'The alias of a predicate used to determine whether to apply this transformation.' });
    def.define({ name: negateName, type: 'BOOLEAN', defaultValue: false, importance: 'MEDIUM', group, documentation: 'Whether the configured predicate should be negated.' });
    const predicateErrors: string[] = [];
    try {
      transformPredicate(config, alias);
    } catch (error) {
      predicateErrors.push((error as Error).message);
    }
    values.push({ name: predicateName, value: props[PREDICATE_CONFIG] ?? null, errors: predicateErrors });
  }
  for (const alias of safeAliases(config, values, PREDICATES_CONFIG)) {
    const props = transformProps(config, alias, PREDICATES_CONFIG);
    const typeName = `${PREDICATES_CONFIG}.${alias}.type`;
    const group = `Predicates: ${alias}`;
    def.define({ name: typeName, type: 'CLASS', importance: 'HIGH', group, documentation: 'Class for the predicate.' });
    const errors: string[] = [];
    values.push({ name: typeName, value: props.type ?? null, errors });
    if (props.type === undefined || props.type.trim() === '') {
      errors.push(`Missing required configuration "${typeName}" which has no default value.`);
      continue;
    }
    let predicateDef: ConfigDef;
    try {
      predicateDef = worker.plugins.newPredicate(props.type.trim()).config();
    } catch (error) {
      errors.push(`Invalid value ${props.type} for configuration ${typeName}: ${(error as Error).message}`);
      continue;
    }
    for (const key of predicateDef.configKeys()) def.define({ ...key, name: `${PREDICATES_CONFIG}.${alias}.${key.name}`, group });
    for (const value of predicateDef.validate(props)) values.push({ ...value, name: `${PREDICATES_CONFIG}.${alias}.${value.name}` });
  }
  return def.configInfos(plugin.className, values);
}

/** The transform (or predicate) aliases, or none when the list itself is invalid (reported on the list). */
function safeAliases(config: Props, values: ConfigValue[], listConfig: 'transforms' | typeof PREDICATES_CONFIG = 'transforms'): string[] {
  try {
    return transformAliases(config, listConfig);
  } catch (error) {
    values.find((value) => value.name === listConfig)?.errors.push((error as Error).message);
    return [];
  }
}

/** Kafka's preflight messages for exactly.once.support=required. */
function exactlyOnceProblem(support: 'SUPPORTED' | 'UNSUPPORTED' | null): string | null {
  if (support === 'SUPPORTED') return null;
  if (support === 'UNSUPPORTED') return 'The connector does not support exactly-once semantics with the provided configuration.';
  return (
    'The connector does not implement the API required for preflight validation of exactly-once source support. Please consult the documentation ' +
    "for the connector to determine whether it supports exactly-once semantics, and then consider reconfiguring the connector to use the value 'requested' " +
    'for this property (which will disable this preflight check and allow the connector to be created).'
  );
}

export function checkName(name: string): void {
  if (name.trim() === '') throw new ConnectRestError(400, 'Connector name is null or empty');
  if (/[\u0000-\u001f]/.test(name)) throw new ConnectRestError(400, 'Connector name contains ISO control characters');
}

/** Kafka's BadRequestException for a config with errors, listing them. */
export function invalidConfigError(infos: ConfigInfos): ConnectRestError {
  const messages = infos.configs.flatMap((config) => config.value.errors);
  return new ConnectRestError(
    400,
    `Connector configuration is invalid and contains the following ${messages.length} error(s):\n${messages.join('\n')}\n` +
      'You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`',
  );
}

