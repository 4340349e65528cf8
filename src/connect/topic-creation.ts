/**
 * KIP-158: a source connector's topics created by the worker with the connector's settings,
 * before its first record goes to a topic that does not exist yet. Enabled by the worker's
 * topic.creation.enable (default true) for a connector that sets topic.creation.* settings:
 *
 *   topic.creation.default.replication.factor=1     (required, -1: the broker's default)
 *   topic.creation.default.partitions=6             (required, -1: the broker's default)
 *   topic.creation.groups=compacted
 *   topic.creation.compacted.include=status-.*      (regexes; a topic goes to the first listed
 *   topic.creation.compacted.exclude=status-tmp     group that includes and does not exclude it,
 *   topic.creation.compacted.cleanup.policy=compact else to default)
 *
 * A group's replication.factor and partitions default to the default group's; its other
 * settings are the topic's configs. An existing topic is left as it is.
 */
import type { Props } from './api.js';
import type { Cluster } from './cluster.js';

export const TOPIC_CREATION_PREFIX = 'topic.creation.';
export const TOPIC_CREATION_GROUPS_CONFIG = 'topic.creation.groups';
const DEFAULT_GROUP = 'default';
const GROUP_SETTINGS = new Set(['include', 'exclude', 'replication.factor', 'partitions']);

export interface TopicCreationGroup {
  readonly name: string;
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
  readonly replicationFactor: number;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
}

/** Whether the connector's topics are created by the worker: the worker allows it and the connector sets topic.creation.*. */
export function usesTopicCreation(workerEnabled: boolean, props: Props): boolean {
  return workerEnabled && Object.keys(props).some((name) => name.startsWith(TOPIC_CREATION_PREFIX));
}

function list(value: string | undefined): string[] {
  const text = value?.trim() ?? '';
  return text === '' ? [] : text.split(/\s*,\s*/);
}

/** Each problem with the settings, by setting name, in Kafka's words; none when they are valid. */
export function topicCreationProblems(props: Props): { name: string; value: string | null; message: string }[] {
  const problems: { name: string; value: string | null; message: string }[] = [];
  const groups = list(props[TOPIC_CREATION_GROUPS_CONFIG]);
  for (const group of new Set([DEFAULT_GROUP, ...groups])) {
    const prefix = `${TOPIC_CREATION_PREFIX}${group}.`;
    for (const [setting, what] of [
      ['replication.factor', 'Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker\'s default'],
      ['partitions', 'Number of partitions must be positive, or -1 to use the broker\'s default'],
    ] as const) {
      const name = `${prefix}${setting}`;
      const value = props[name];
      if (value === undefined) {
        if (group === DEFAULT_GROUP) problems.push({ name, value: null, message: `Missing required configuration "${name}" which has no default value.` });
        continue;
      }
      const number = Number(value);
      if (!/^-?\d+$/.test(value.trim()) || (number < 1 && number !== -1)) problems.push({ name, value, message: `Invalid value ${value} for configuration ${name}: ${what}` });
    }
    for (const setting of ['include', 'exclude']) {
      const name = `${prefix}${setting}`;
      for (const pattern of list(props[name])) {
        try {
          new RegExp(pattern);
        } catch (error) {
          problems.push({ name, value: props[name]!, message: `Invalid value ${pattern} for configuration ${name}: ${(error as Error).message}` });
        }
      }
    }
  }
  if (groups.includes(DEFAULT_GROUP)) problems.push({ name: TOPIC_CREATION_GROUPS_CONFIG, value: props[TOPIC_CREATION_GROUPS_CONFIG]!, message: `Group '${DEFAULT_GROUP}' is reserved and cannot be listed in ${TOPIC_CREATION_GROUPS_CONFIG}` });
  return problems;
}

/** The groups in matching order (the listed ones, then default); the settings must be valid (see topicCreationProblems). */
export function topicCreationGroups(props: Props): TopicCreationGroup[] {
  const whole = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`);
  const defaults = { replicationFactor: Number(props[`${TOPIC_CREATION_PREFIX}${DEFAULT_GROUP}.replication.factor`]), partitions: Number(props[`${TOPIC_CREATION_PREFIX}${DEFAULT_GROUP}.partitions`]) };
  return [...list(props[TOPIC_CREATION_GROUPS_CONFIG]), DEFAULT_GROUP].map((name) => {
    const prefix = `${TOPIC_CREATION_PREFIX}${name}.`;
    const configs: Record<string, string> = {};
    for (const [key, value] of Object.entries(props)) {
      if (key.startsWith(prefix) && !GROUP_SETTINGS.has(key.slice(prefix.length))) configs[key.slice(prefix.length)] = value;
    }
    const number = (setting: string, fallback: number): number => (props[`${prefix}${setting}`] === undefined ? fallback : Number(props[`${prefix}${setting}`]));
    return {
      name,
      include: name === DEFAULT_GROUP ? [/^/] : list(props[`${prefix}include`]).map(whole),
      exclude: list(props[`${prefix}exclude`]).map(whole),
      replicationFactor: number('replication.factor', defaults.replicationFactor),
      partitions: number('partitions', defaults.partitions),
      configs,
    };
  });
}

export function groupOf(groups: readonly TopicCreationGroup[], topic: string): TopicCreationGroup {
  return groups.find((group) => group.include.some((regex) => regex.test(topic)) && !group.exclude.some((regex) => regex.test(topic)))!;
}

/** Creates each topic a task sends to, once per task, with its group's settings. */
export class TopicCreator {
  private readonly known = new Set<string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly groups: readonly TopicCreationGroup[],
  ) {}

  async ensure(topic: string): Promise<void> {
    if (this.known.has(topic)) return;
    const group = groupOf(this.groups, topic);
    await this.cluster.ensureTopic(topic, { partitions: group.partitions, replicationFactor: group.replicationFactor, configs: group.configs });
    this.known.add(topic);
  }
}
