/**
 * The settings every connector has besides its own (Kafka's ConnectorConfig, SourceConnectorConfig
 * and SinkConnectorConfig): its name and class, tasks.max, converter overrides, transforms and
 * error handling; sinks name their topics (topics or topics.regex), sources may ask for exactly
 * once.
 */
import type { Props } from './api.js';
import { atLeast, ConfigDef, nonEmptyString, oneOf, type ConfigValue } from './config-def.js';

export const NAME_CONFIG = 'name';
export const CONNECTOR_CLASS_CONFIG = 'connector.class';
export const TASKS_MAX_CONFIG = 'tasks.max';
export const TOPICS_CONFIG = 'topics';
export const TOPICS_REGEX_CONFIG = 'topics.regex';
export const DLQ_TOPIC_CONFIG = 'errors.deadletterqueue.topic.name';
export const DLQ_CONTEXT_HEADERS_CONFIG = 'errors.deadletterqueue.context.headers.enable';
export const DLQ_REPLICATION_FACTOR_CONFIG = 'errors.deadletterqueue.topic.replication.factor';
export const ERRORS_TOLERANCE_CONFIG = 'errors.tolerance';
export const ERRORS_LOG_ENABLE_CONFIG = 'errors.log.enable';
export const EXACTLY_ONCE_SUPPORT_CONFIG = 'exactly.once.support';
export const TRANSACTION_BOUNDARY_CONFIG = 'transaction.boundary';

/** KIP-477's PATCH: the patch's settings replace the config's, a null removes one (Kafka's ConnectUtils.patchConfig). */
export function patchConfig(config: Readonly<Record<string, string>>, patch: Readonly<Record<string, string | null>>): Record<string, string> {
  const result: Record<string, string> = { ...config };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = value;
  }
  return result;
}

const COMMON_GROUP = 'Common';
const TRANSFORMS_GROUP = 'Transforms';
const ERROR_GROUP = 'Error Handling';

function commonDef(): ConfigDef {
  return new ConfigDef()
    .define({ name: NAME_CONFIG, type: 'STRING', importance: 'HIGH', validator: nonEmptyString, group: COMMON_GROUP, orderInGroup: 1, displayName: 'Connector name', documentation: 'Globally unique name to use for this connector.' })
    .define({ name: CONNECTOR_CLASS_CONFIG, type: 'STRING', importance: 'HIGH', group: COMMON_GROUP, orderInGroup: 2, displayName: 'Connector class', documentation: 'Name or alias of the class for this connector.' })
    .define({ name: TASKS_MAX_CONFIG, type: 'INT', defaultValue: 1, validator: atLeast(1), importance: 'HIGH', group: COMMON_GROUP, orderInGroup: 3, displayName: 'Tasks max', documentation: 'Maximum number of tasks to use for this connector.' })
    .define({ name: 'key.converter', type: 'CLASS', defaultValue: null, importance: 'LOW', group: COMMON_GROUP, orderInGroup: 4, displayName: 'Key converter class', documentation: 'Converter class for keys, overriding the worker\'s.' })
    .define({ name: 'value.converter', type: 'CLASS', defaultValue: null, importance: 'LOW', group: COMMON_GROUP, orderInGroup: 5, displayName: 'Value converter class', documentation: 'Converter class for values, overriding the worker\'s.' })
    .define({ name: 'header.converter', type: 'CLASS', defaultValue: null, importance: 'LOW', group: COMMON_GROUP, orderInGroup: 6, displayName: 'Header converter class', documentation: 'Converter class for header values, overriding the worker\'s.' })
    .define({ name: 'transforms', type: 'LIST', defaultValue: [], importance: 'LOW', group: TRANSFORMS_GROUP, orderInGroup: 1, displayName: 'Transforms', documentation: 'Aliases for the transformations to be applied to records.' })
    .define({ name: 'predicates', type: 'LIST', defaultValue: [], importance: 'LOW', group: 'Predicates', orderInGroup: 1, displayName: 'Predicates', documentation: 'Aliases for the predicates used by transformations.' })
    .define({ name: ERRORS_TOLERANCE_CONFIG, type: 'STRING', defaultValue: 'none', validator: oneOf('none', 'all'), importance: 'MEDIUM', group: ERROR_GROUP, orderInGroup: 3, displayName: 'Error Tolerance', recommendedValues: ['none', 'all'], documentation: 'Behavior for tolerating errors during connector operation. \'none\' is the default value and signals that any error will result in an immediate connector task failure; \'all\' changes the behavior to skip over problematic records.' })
    .define({ name: ERRORS_LOG_ENABLE_CONFIG, type: 'BOOLEAN', defaultValue: false, importance: 'MEDIUM', group: ERROR_GROUP, orderInGroup: 4, displayName: 'Log Errors', documentation: 'If true, write each error and the details of the failed operation and problematic record to the worker log.' });
}

export function sourceConnectorDef(): ConfigDef {
  return commonDef()
    .define({ name: EXACTLY_ONCE_SUPPORT_CONFIG, type: 'STRING', defaultValue: 'requested', validator: oneOf('requested', 'required'), importance: 'MEDIUM', group: 'Exactly Once Support', orderInGroup: 1, recommendedValues: ['requested', 'required'], documentation: 'Permitted values are requested, required. If set to "required", forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration.' })
    .define({ name: TRANSACTION_BOUNDARY_CONFIG, type: 'STRING', defaultValue: 'poll', validator: oneOf('poll'), importance: 'MEDIUM', group: 'Exactly Once Support', orderInGroup: 2, recommendedValues: ['poll'], documentation: 'Permitted values are poll: a new transaction is started and committed for every batch of records that the task polls.' });
}

export function sinkConnectorDef(): ConfigDef {
  return commonDef()
    .define({ name: TOPICS_CONFIG, type: 'LIST', defaultValue: [], importance: 'HIGH', group: COMMON_GROUP, orderInGroup: 4, displayName: 'Topics', documentation: 'List of topics to consume, separated by commas' })
    .define({ name: TOPICS_REGEX_CONFIG, type: 'STRING', defaultValue: '', importance: 'HIGH', group: COMMON_GROUP, orderInGroup: 4, displayName: 'Topics regex', documentation: 'Regular expression giving topics to consume.' })
    .define({ name: DLQ_TOPIC_CONFIG, type: 'STRING', defaultValue: '', importance: 'MEDIUM', group: ERROR_GROUP, orderInGroup: 6, displayName: 'Dead Letter Queue Topic Name', documentation: 'The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters.' })
    .define({ name: DLQ_REPLICATION_FACTOR_CONFIG, type: 'SHORT', defaultValue: 3, importance: 'MEDIUM', group: ERROR_GROUP, orderInGroup: 7, displayName: 'Dead Letter Queue Topic Replication Factor', documentation: 'Replication factor used to create the dead letter queue topic when it doesn\'t already exist.' })
    .define({ name: DLQ_CONTEXT_HEADERS_CONFIG, type: 'BOOLEAN', defaultValue: false, importance: 'MEDIUM', group: ERROR_GROUP, orderInGroup: 8, displayName: 'Enable Error Context Headers', documentation: 'If true, add headers containing error context to the messages written to the dead letter queue.' });
}

/** Sink rules across settings (SinkConnectorConfig.validate): exactly one of topics and topics.regex; the DLQ topic is not consumed. */
export function sinkCrossChecks(props: Props, values: ConfigValue[]): void {
  const topics = (props[TOPICS_CONFIG] ?? '').trim();
  const regex = (props[TOPICS_REGEX_CONFIG] ?? '').trim();
  const problem = (name: string, message: string): void => {
    values.find((value) => value.name === name)?.errors.push(message);
  };
  if (topics !== '' && regex !== '') problem(TOPICS_CONFIG, `${TOPICS_CONFIG} and ${TOPICS_REGEX_CONFIG} are mutually exclusive options, but both are set.`);
  if (topics === '' && regex === '') problem(TOPICS_CONFIG, `Must configure one of ${TOPICS_CONFIG} or ${TOPICS_REGEX_CONFIG}`);
  if (regex !== '') {
    try {
      new RegExp(regex);
    } catch (error) {
      problem(TOPICS_REGEX_CONFIG, `Invalid value ${regex} for configuration ${TOPICS_REGEX_CONFIG}: ${(error as Error).message}`);
    }
  }
  const dlq = (props[DLQ_TOPIC_CONFIG] ?? '').trim();
  if (dlq !== '' && topics.split(/\s*,\s*/).includes(dlq)) {
    problem(DLQ_TOPIC_CONFIG, `The DLQ topic '${dlq}' may not be included in the list of topics ('${TOPICS_CONFIG}=${topics}') consumed by the connector`);
  }
}

/** The sink's topics: the list, or the regex. */
export function sinkTopics(props: Props): string[] | RegExp {
  const regex = (props[TOPICS_REGEX_CONFIG] ?? '').trim();
  if (regex !== '') return new RegExp(`^(?:${regex})$`);
  return (props[TOPICS_CONFIG] ?? '').split(',').map((topic) => topic.trim()).filter((topic) => topic !== '');
}
