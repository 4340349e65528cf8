/**
 * The embedded admin client, shaped after kafkajs's admin so that moving to a Kafka cluster is a
 * small change. It talks to a BrokerApi directly.
 *
 * Differences from kafkajs, on purpose:
 *   - offsets are numbers, not strings (`{ partition: 0, offset: 42, high: 42, low: 0 }`), as
 *     everywhere in Sluice;
 *   - connect/disconnect do nothing (the broker is in the process) but exist so code written for
 *     kafkajs runs unchanged;
 *   - a single broker: replicationFactor must be 1 or -1 (the default), and metadata shows broker
 *     0 as leader and only replica of every partition;
 *   - errors are Sluice's typed errors (TopicNotFoundError, InvalidPartitionsError, ...), not
 *     KafkaJSProtocolError; each names the problem and the fix.
 */
import type { BrokerApi, GroupLagDescription } from '../broker/broker-api.js';
import type { GroupState } from '../broker/group-coordinator.js';
import {
  InvalidPartitionsError,
  InvalidReplicationFactorError,
  InvalidRequestError,
  KafkaApiError,
  TopicExistsError,
} from '../errors.js';
import { brokerIncrementalChanges, incrementalChanges, replacementChanges, type ConfigChanges, type ConfigOperation } from '../broker/config-changes.js';
import { describeEffectiveTopicConfigs, type BrokerConfigOverrides, type EffectiveTopicConfigEntry } from '../broker/broker-configs.js';
import { validateTopicConfigs, type TopicConfigOverrides } from '../storage/topic-config.js';
import { validateTopicName } from '../storage/topic-store.js';
import { requireArray, requireNonEmptyString, requireObject, requireOffset } from '../validate.js';
import { groupByResourcePattern, validateFilter, type AclBinding, type AclBindingFilter } from '../broker/acl/acl.js';

/** kafkajs's ConfigResourceTypes; the embedded broker describes topics. */
export const ConfigResourceTypes = Object.freeze({ UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 });

export interface ConfigEntry {
  name: string;
  value: string;
}

export interface TopicToCreate {
  topic: string;
  numPartitions?: number;
  /** 1 or -1 (the default): a single broker holds one replica. */
  replicationFactor?: number;
  configEntries?: ConfigEntry[];
}

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  /** The partition's current leader epoch (Kafka's Metadata v7+ leaderEpoch), stamped on every batch appended. */
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicOffsets {
  partition: number;
  /** The high watermark, as kafkajs reports `offset`. */
  offset: number;
  high: number;
  low: number;
}

export interface GroupDescriptionResult {
  groupId: string;
  members: { memberId: string; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer }[];
  protocol: string;
  protocolType: string;
  state: GroupState;
  errorCode: number;
}

export interface ConfigEntryDescription {
  configName: string;
  configValue: string;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  readOnly: boolean;
}

/** What alterConfigs and incrementalAlterConfigs resolve with, as kafkajs's alterConfigs. */
export interface AlterConfigsResult {
  resources: { errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number }[];
  throttleTime: number;
}

/**
 * An ACL binding as kafkajs's createAcls takes it, with Kafka's codes (kafkajs's AclResourceTypes,
 * ResourcePatternTypes, AclOperationTypes, AclPermissionTypes have the same values).
 */
export interface AclEntry {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A filter over ACL bindings as kafkajs's describeAcls / deleteAcls take it: null strings and ANY codes match everything. */
export interface AclFilter {
  resourceType: number;
  resourceName?: string | null;
  resourcePatternType: number;
  principal?: string | null;
  host?: string | null;
  operation: number;
  permissionType: number;
}

/** What describeAcls resolves with, as kafkajs's: the matching bindings grouped by resource pattern. */
export interface DescribeAclsResult {
  throttleTime: number;
  errorCode: number;
  errorMessage: string | null;
  resources: {
    resourceType: number;
    resourceName: string;
    resourcePatternType: number;
    acls: { principal: string; host: string; operation: number; permissionType: number }[];
  }[];
}

/** What deleteAcls resolves with, as kafkajs's: per filter the bindings it removed. */
export interface DeleteAclsResult {
  filterResponses: { errorCode: number; errorMessage: string | null; matchingAcls: (AclEntry & { errorCode: number; errorMessage: string | null })[] }[];
}

/** Kafka's DescribeConfigs ConfigSource ids. */
const CONFIG_SOURCE_IDS: Readonly<Record<EffectiveTopicConfigEntry['source'], number>> = {
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  DEFAULT_CONFIG: 5,
};
const BROKER_ID = 0;

export class Admin {
  private readonly broker: BrokerApi;

  constructor(broker: BrokerApi) {
    if (broker === null || typeof broker !== 'object') throw new InvalidRequestError('Admin needs the broker it administers');
    this.broker = broker;
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  /**
   * Creates the topics. Resolves true when every topic was created, false when some already
   * existed (the others are still created), as kafkajs does; any other problem rejects.
   */
  async createTopics(options: { topics: TopicToCreate[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean> {
    requireObject('createTopics options', options);
    requireArray('createTopics topics', options.topics);
    const seen = new Set<string>();
    const requests = options.topics.map((entry, i) => {
      requireObject(`createTopics topics[${i}]`, entry);
      validateTopicName(entry.topic);
      if (seen.has(entry.topic)) throw new InvalidRequestError(`createTopics names topic "${entry.topic}" twice`);
      seen.add(entry.topic);
      if (entry.replicationFactor !== undefined && entry.replicationFactor !== -1 && entry.replicationFactor !== 1) {
        throw new InvalidReplicationFactorError(entry.topic, entry.replicationFactor);
      }
      const numPartitions = entry.numPartitions ?? -1;
      if (!Number.isInteger(numPartitions) || (numPartitions < 1 && numPartitions !== -1)) {
        throw new InvalidPartitionsError(`topic "${entry.topic}": numPartitions must be an integer >= 1 (or -1 for the default), got ${String(entry.numPartitions)}`);
      }
      const configs: Record<string, string> = {};
      if (entry.configEntries !== undefined) {
        requireArray(`topic "${entry.topic}" configEntries`, entry.configEntries);
        for (const config of entry.configEntries) {
          requireObject(`topic "${entry.topic}" config entry`, config);
          if (typeof config.name !== 'string' || typeof config.value !== 'string') {
            throw new InvalidRequestError(`topic "${entry.topic}": each config entry needs string name and value, got ${JSON.stringify(config)}`);
          }
          configs[config.name] = config.value;
        }
      }
      validateTopicConfigs(configs);
      return { topic: entry.topic, partitions: numPartitions === -1 ? undefined : numPartitions, configs };
    });
    const existing = new Set(this.broker.listTopics().map((topic) => topic.name));
    if (options.validateOnly === true) return requests.every((request) => !existing.has(request.topic));
    let allCreated = true;
    for (const request of requests) {
      try {
        await this.broker.createTopic(request.topic, { partitions: request.partitions, configs: request.configs });
      } catch (error) {
        if (!(error instanceof TopicExistsError)) throw error;
        allCreated = false;
      }
    }
    return allCreated;
  }

  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    requireObject('deleteTopics options', options);
    requireArray('deleteTopics topics', options.topics);
    for (const topic of options.topics) this.broker.topicMetadata(requireNonEmptyString('topic', topic));
    for (const topic of options.topics) await this.broker.deleteTopic(topic);
  }

  /** Raises each topic's partition count to `count` (the new total). Resolves true, as kafkajs. */
  async createPartitions(options: { topicPartitions: { topic: string; count: number }[]; validateOnly?: boolean; timeout?: number }): Promise<boolean> {
    requireObject('createPartitions options', options);
    requireArray('createPartitions topicPartitions', options.topicPartitions);
    for (const [i, entry] of options.topicPartitions.entries()) {
      requireObject(`createPartitions topicPartitions[${i}]`, entry);
      const current = this.broker.topicMetadata(requireNonEmptyString('topic', entry.topic)).partitionCount;
      if (!Number.isInteger(entry.count) || entry.count <= current) {
        throw new InvalidPartitionsError(
          `topic "${entry.topic}" has ${current} partition(s); count is the new total and must be an integer above ${current}, got ${String(entry.count)}`,
        );
      }
    }
    if (options.validateOnly === true) return true;
    for (const entry of options.topicPartitions) await this.broker.createPartitions(entry.topic, entry.count);
    return true;
  }

  async listTopics(): Promise<string[]> {
    return this.broker.listTopics().map((topic) => topic.name);
  }

  async fetchTopicMetadata(options: { topics?: string[] } = {}): Promise<{ topics: { name: string; partitions: PartitionMetadata[] }[] }> {
    requireObject('fetchTopicMetadata options', options);
    const names = options.topics === undefined ? this.broker.listTopics().map((topic) => topic.name) : requireArray('fetchTopicMetadata topics', options.topics);
    const topics = names.map((name) => {
      const metadata = this.broker.topicMetadata(requireNonEmptyString('topic', name));
      const partitions: PartitionMetadata[] = [];
      for (let partitionId = 0; partitionId < metadata.partitionCount; partitionId++) {
        const { leaderEpoch } = this.broker.partitionOffsets(metadata.name, partitionId);
        partitions.push({ partitionErrorCode: 0, partitionId, leader: BROKER_ID, leaderEpoch, replicas: [BROKER_ID], isr: [BROKER_ID], offlineReplicas: [] });
      }
      return { name: metadata.name, partitions };
    });
    return { topics };
  }

  /** Per partition: the high watermark (`offset` and `high`) and the log start offset (`low`). */
  async fetchTopicOffsets(topic: string): Promise<TopicOffsets[]> {
    const metadata = this.broker.topicMetadata(requireNonEmptyString('topic', topic));
    const offsets: TopicOffsets[] = [];
    for (let partition = 0; partition < metadata.partitionCount; partition++) {
      const { highWatermark, logStartOffset } = this.broker.partitionOffsets(topic, partition);
      offsets.push({ partition, offset: highWatermark, high: highWatermark, low: logStartOffset });
    }
    return offsets;
  }

  /**
   * Per partition, the earliest offset whose record timestamp is >= `timestampMs`, or the high
   * watermark when no record is that recent (kafkajs's behaviour). Without a timestamp: the log
   * start offsets.
   */
  async fetchTopicOffsetsByTimestamp(topic: string, timestampMs?: number): Promise<{ partition: number; offset: number }[]> {
    const metadata = this.broker.topicMetadata(requireNonEmptyString('topic', topic));
    if (timestampMs !== undefined && (!Number.isSafeInteger(timestampMs) || timestampMs < 0)) {
      throw new InvalidRequestError(`timestamp must be a time in ms >= 0, got ${String(timestampMs)}`);
    }
    const result: { partition: number; offset: number }[] = [];
    for (let partition = 0; partition < metadata.partitionCount; partition++) {
      const found = await this.broker.offsetForTimestamp(topic, partition, timestampMs ?? -2);
      result.push({ partition, offset: found ?? this.broker.partitionOffsets(topic, partition).highWatermark });
    }
    return result;
  }

  async describeGroups(groupIds: string[]): Promise<{ groups: GroupDescriptionResult[] }> {
    requireArray('describeGroups groupIds', groupIds);
    return {
      groups: groupIds.map((groupId) => {
        const group = this.broker.groups.describeGroup(requireNonEmptyString('groupId', groupId));
        return {
          groupId: group.groupId,
          members: group.members.map((member) => ({
            memberId: member.memberId,
            clientId: member.clientId,
            clientHost: member.clientHost,
            memberMetadata: member.metadata,
            memberAssignment: member.assignment,
          })),
          protocol: group.protocolName,
          protocolType: group.protocolType,
          state: group.state,
          errorCode: 0,
        };
      }),
    };
  }

  async listGroups(): Promise<{ groups: { groupId: string; protocolType: string }[] }> {
    return { groups: this.broker.groups.listGroups().map((group) => ({ groupId: group.groupId, protocolType: group.protocolType })) };
  }

  /** Deletes groups without members, with their offsets; rejects with the first group's error. */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    requireArray('deleteGroups groupIds', groupIds);
    const results = await this.broker.groups.deleteGroups(groupIds.map((groupId) => requireNonEmptyString('groupId', groupId)));
    const failed = results.find((result) => result.error !== null);
    if (failed !== undefined) throw failed.error!;
    return results.map((result) => ({ groupId: result.groupId, errorCode: 0 }));
  }

  /**
   * Consumer lag of a group, with a Burrow-style status (kafkajs has no lag call; this is
   * Sluice's). Per partition the group has committed: the committed offset, the high watermark
   * and last stable offset, the lag (to the last stable offset, see Broker.groupLag) and the
   * status of its recent commits: OK, WARNING (lag grows while the consumer commits), STALLED
   * (commits do not move), STOPPED (no commits for longer than the window spans, or
   * lagStoppedAfterMs) or REWIND (the offset went back). The group's status is OK, WARNING or
   * ERROR. `nowMs` is the time the STOPPED rule measures against (default: now). Rejects with
   * GroupIdNotFoundError for a group that does not exist.
   */
  async fetchGroupLag(options: { groupId: string; nowMs?: number }): Promise<GroupLagDescription> {
    requireObject('fetchGroupLag options', options);
    const groupId = requireNonEmptyString('groupId', options.groupId);
    return this.broker.groupLag(groupId, options.nowMs === undefined ? {} : { nowMs: options.nowMs });
  }

  /** The group's committed offsets per topic; -1 for a partition without one. */
  async fetchOffsets(options: { groupId: string; topics?: string[] }): Promise<{ topic: string; partitions: { partition: number; offset: number; metadata: string | null }[] }[]> {
    requireObject('fetchOffsets options', options);
    const groupId = requireNonEmptyString('groupId', options.groupId);
    let partitions: { topic: string; partition: number }[] | null = null;
    if (options.topics !== undefined) {
      partitions = [];
      for (const topic of requireArray('fetchOffsets topics', options.topics)) {
        const metadata = this.broker.topicMetadata(requireNonEmptyString('topic', topic));
        for (let partition = 0; partition < metadata.partitionCount; partition++) partitions.push({ topic, partition });
      }
    }
    const fetched = await this.broker.groups.fetchOffsets({ groupId, partitions });
    const byTopic = new Map<string, { partition: number; offset: number; metadata: string | null }[]>();
    for (const topic of options.topics ?? []) byTopic.set(topic, []);
    for (const offset of fetched) {
      let list = byTopic.get(offset.topic);
      if (list === undefined) byTopic.set(offset.topic, (list = []));
      list.push({ partition: offset.partition, offset: offset.offset, metadata: offset.metadata === '' ? null : offset.metadata });
    }
    return [...byTopic].map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a.partition - b.partition) }));
  }

  /**
   * Sets the group's offsets of every partition of `topic` to the log start (earliest) or the
   * high watermark (latest, the default). The group must have no running members, as in Kafka.
   */
  async resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    requireObject('resetOffsets options', options);
    const groupId = requireNonEmptyString('groupId', options.groupId);
    const metadata = this.broker.topicMetadata(requireNonEmptyString('topic', options.topic));
    const offsets = [];
    for (let partition = 0; partition < metadata.partitionCount; partition++) {
      const state = this.broker.partitionOffsets(metadata.name, partition);
      offsets.push({ topic: metadata.name, partition, offset: options.earliest === true ? state.logStartOffset : state.highWatermark });
    }
    await this.commit(groupId, offsets);
  }

  /** Sets the group's offsets for the given partitions. The group must have no running members. */
  async setOffsets(options: { groupId: string; topic: string; partitions: { partition: number; offset: number }[] }): Promise<void> {
    requireObject('setOffsets options', options);
    const groupId = requireNonEmptyString('groupId', options.groupId);
    const metadata = this.broker.topicMetadata(requireNonEmptyString('topic', options.topic));
    const offsets = requireArray('setOffsets partitions', options.partitions).map((entry) => {
      requireObject('setOffsets partition entry', entry);
      this.broker.partitionOffsets(metadata.name, entry.partition);
      requireOffset(`offset of partition ${entry.partition}`, entry.offset);
      return { topic: metadata.name, partition: entry.partition, offset: entry.offset };
    });
    await this.commit(groupId, offsets);
  }

  /**
   * Kafka's DeleteRecords (kafkajs's deleteTopicRecords): each partition's log start offset moves
   * to `offset` (-1: the high watermark); records below it are no longer readable and their
   * segments are deleted. An offset past the high watermark is OffsetOutOfRangeError; a topic
   * whose cleanup.policy lacks "delete" refuses it (PolicyViolationError), as do internal topics.
   */
  async deleteTopicRecords(options: { topic: string; partitions: { partition: number; offset: number }[] }): Promise<void> {
    requireObject('deleteTopicRecords options', options);
    const topic = requireNonEmptyString('topic', options.topic);
    this.broker.topicMetadata(topic);
    const partitions = requireArray('deleteTopicRecords partitions', options.partitions);
    for (const entry of partitions) {
      requireObject('deleteTopicRecords partition entry', entry);
      this.broker.partitionOffsets(topic, entry.partition);
      if (entry.offset !== -1) requireOffset(`offset of partition ${entry.partition}`, entry.offset);
    }
    for (const entry of partitions) await this.broker.deleteRecords(topic, entry.partition, entry.offset);
  }

  /** Topic configs (kafkajs's describeConfigs for TOPIC resources). */
  async describeConfigs(options: { resources: { type: number; name: string; configNames?: string[] }[]; includeSynonyms?: boolean }): Promise<{
    resources: { resourceType: number; resourceName: string; errorCode: number; errorMessage: string | null; configEntries: ConfigEntryDescription[] }[];
    throttleTime: number;
  }> {
    requireObject('describeConfigs options', options);
    const resources = requireArray('describeConfigs resources', options.resources).map((resource) => {
      requireObject('describeConfigs resource', resource);
      if (resource.type !== ConfigResourceTypes.TOPIC) {
        throw new InvalidRequestError(`describeConfigs supports TOPIC resources (type ${ConfigResourceTypes.TOPIC}) here, got type ${String(resource.type)}`);
      }
      const metadata = this.broker.topicMetadata(requireNonEmptyString('resource name', resource.name));
      const wanted = resource.configNames === undefined ? null : new Set(requireArray('configNames', resource.configNames));
      const scopes = { default: this.broker.brokerConfigs('default'), broker: this.broker.brokerConfigs('broker') };
      const configEntries = describeEffectiveTopicConfigs(metadata.configs, scopes)
        .filter((entry) => wanted === null || wanted.has(entry.name))
        .map((entry) => ({
          configName: entry.name,
          configValue: entry.value,
          isDefault: entry.isDefault,
          configSource: CONFIG_SOURCE_IDS[entry.source],
          isSensitive: entry.sensitive,
          readOnly: entry.readOnly,
        }));
      return { resourceType: resource.type, resourceName: metadata.name, errorCode: 0, errorMessage: null, configEntries };
    });
    return { resources, throttleTime: 0 };
  }

  /**
   * Kafka's AlterConfigs, as kafkajs calls it: each resource's `configEntries` become its whole set
   * of overrides (a config left out reverts to its default). A TOPIC resource changes the topic's
   * configs; a BROKER resource ("" for the cluster-wide default, "0" for this broker) the dynamic
   * broker configs, the topic config defaults by their broker names (log.retention.ms,
   * message.max.bytes...). Every resource is validated before any changes, so a bad one
   * (InvalidConfigError, TopicNotFoundError...) rejects with nothing applied; then the running logs
   * take the new configs at once and they persist.
   */
  async alterConfigs(options: { validateOnly?: boolean; resources: { type: number; name: string; configEntries: ConfigEntry[] }[] }): Promise<AlterConfigsResult> {
    requireObject('alterConfigs options', options);
    const replacement = (current: Readonly<Record<string, string>>, entries: ConfigEntry[]) =>
      replacementChanges(current, entries.map((entry) => ({ name: requireNonEmptyString('config name', entry.name), value: entry.value })));
    return this.alterResourceConfigs('alterConfigs', options, { topic: replacement, broker: replacement });
  }

  /**
   * Kafka's IncrementalAlterConfigs: per config entry an `operation`, 'SET' (the default),
   * 'DELETE' (back to the default), 'APPEND' or 'SUBTRACT' (items of a list config such as
   * cleanup.policy). kafkajs has no such call; the shape follows its alterConfigs. Resources,
   * validation and effect as alterConfigs.
   */
  async incrementalAlterConfigs(options: {
    validateOnly?: boolean;
    resources: { type: number; name: string; configEntries: { name: string; value?: string | null; operation?: ConfigOperation }[] }[];
  }): Promise<AlterConfigsResult> {
    requireObject('incrementalAlterConfigs options', options);
    const operations = (entries: { name: string; value?: string | null; operation?: ConfigOperation }[]) =>
      entries.map((entry) => ({ name: requireNonEmptyString('config name', entry.name), operation: entry.operation ?? 'SET', value: entry.value ?? null }));
    return this.alterResourceConfigs('incrementalAlterConfigs', options, {
      topic: (current, entries) => incrementalChanges(current, operations(entries)),
      broker: (current, entries) => brokerIncrementalChanges(current, operations(entries)),
    });
  }

  private async alterResourceConfigs<E>(
    what: string,
    options: { validateOnly?: boolean; resources: { type: number; name: string; configEntries: E[] }[] },
    toChanges: {
      topic(current: TopicConfigOverrides, entries: E[]): ConfigChanges;
      broker(current: BrokerConfigOverrides, entries: E[]): ConfigChanges;
    },
  ): Promise<AlterConfigsResult> {
    const seen = new Set<string>();
    const plans = requireArray(`${what} resources`, options.resources).map((resource, i) => {
      requireObject(`${what} resources[${i}]`, resource);
      if (typeof resource.name !== 'string') throw new InvalidRequestError(`${what} resources[${i}].name must be a string`);
      const key = `${String(resource.type)}:${resource.name}`;
      if (seen.has(key)) throw new InvalidRequestError(`${what} names resource ${key} twice; each resource must appear at most once`);
      seen.add(key);
      const entries = requireArray(`resource "${resource.name}" configEntries`, resource.configEntries);
      for (const entry of entries) requireObject(`resource "${resource.name}" config entry`, entry);
      switch (resource.type) {
        case ConfigResourceTypes.TOPIC: {
          const name = requireNonEmptyString('topic name', resource.name);
          const changes = toChanges.topic(this.broker.topicMetadata(name).configs, entries);
          return { resource, apply: (validateOnly: boolean) => this.broker.alterTopicConfigs(name, changes, { validateOnly }) };
        }
        case ConfigResourceTypes.BROKER: {
          if (resource.name !== '' && resource.name !== String(BROKER_ID)) {
            throw new InvalidRequestError(`broker "${resource.name}" is not this broker: name "" (every broker) or "${BROKER_ID}"`);
          }
          const scope = resource.name === '' ? 'default' : 'broker';
          const changes = toChanges.broker(this.broker.brokerConfigs(scope), entries);
          return { resource, apply: (validateOnly: boolean) => this.broker.alterBrokerConfigs(scope, changes, { validateOnly }) };
        }
        default:
          throw new InvalidRequestError(`${what} changes TOPIC (${ConfigResourceTypes.TOPIC}) and BROKER (${ConfigResourceTypes.BROKER}) resources, got type ${String(resource.type)}`);
      }
    });
    for (const plan of plans) await plan.apply(true);
    if (options.validateOnly !== true) for (const plan of plans) await plan.apply(false);
    return {
      resources: plans.map(({ resource }) => ({ errorCode: 0, errorMessage: null, resourceName: resource.name, resourceType: resource.type })),
      throttleTime: 0,
    };
  }

  /**
   * The data directory's ACL bindings matching the filter (Kafka's DescribeAcls). They are
   * enforced by a Kafka protocol server started with an authorizer; the embedded clients are not
   * subject to them.
   */
  async describeAcls(filter: AclFilter): Promise<DescribeAclsResult> {
    const resources = groupByResourcePattern(this.broker.describeAcls(aclFilter(filter))).map(({ resourceType, resourceName, patternType, acls }) => ({
      resourceType,
      resourceName,
      resourcePatternType: patternType,
      acls,
    }));
    return { throttleTime: 0, errorCode: 0, errorMessage: null, resources };
  }

  /** Adds ACL bindings, durably (Kafka's CreateAcls); rejects with the first invalid one's error, the valid ones still created. */
  async createAcls(options: { acl: AclEntry[] }): Promise<boolean> {
    requireObject('createAcls options', options);
    const bindings = requireArray('createAcls acl', options.acl).map((entry): AclBinding => {
      requireObject('an ACL', entry);
      return {
        resourceType: entry.resourceType,
        resourceName: entry.resourceName,
        patternType: entry.resourcePatternType,
        principal: entry.principal,
        host: entry.host,
        operation: entry.operation,
        permissionType: entry.permissionType,
      };
    });
    const failed = this.broker.createAcls(bindings).find((result) => result !== null);
    if (failed !== undefined && failed !== null) throw failed;
    return true;
  }

  /** Removes the ACL bindings each filter matches, durably (Kafka's DeleteAcls); resolves with what each removed. */
  async deleteAcls(options: { filters: AclFilter[] }): Promise<DeleteAclsResult> {
    requireObject('deleteAcls options', options);
    const results = this.broker.deleteAcls(requireArray('deleteAcls filters', options.filters).map(aclFilter));
    return {
      filterResponses: results.map(({ deleted }) => ({
        errorCode: 0,
        errorMessage: null,
        matchingAcls: deleted.map((binding) => ({
          errorCode: 0,
          errorMessage: null,
          resourceType: binding.resourceType,
          resourceName: binding.resourceName,
          resourcePatternType: binding.patternType,
          principal: binding.principal,
          host: binding.host,
          operation: binding.operation,
          permissionType: binding.permissionType,
        })),
      })),
    };
  }

  private async commit(groupId: string, offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const results = await this.broker.groups.commitOffsets({ groupId, offsets });
    const failed = results.find((result) => result.error !== null);
    if (failed !== undefined) throw failed.error as KafkaApiError;
  }
}

/** A kafkajs-shaped ACL filter as the broker's, checked for UNKNOWN codes (InvalidRequestError). */
function aclFilter(filter: AclFilter): AclBindingFilter {
  requireObject('an ACL filter', filter);
  const converted = {
    resourceType: filter.resourceType,
    resourceName: filter.resourceName ?? null,
    patternType: filter.resourcePatternType,
    principal: filter.principal ?? null,
    host: filter.host ?? null,
    operation: filter.operation,
    permissionType: filter.permissionType,
  };
  validateFilter(converted);
  return converted;
}
