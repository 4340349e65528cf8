/**
 * Where a CLI command's work happens: an embedded broker on a data directory (`--data-dir`, the
 * default), or a running Kafka protocol server (`--bootstrap-server host:port`) through kafkajs.
 * Commands see one interface, `Connection`, with offsets as numbers in both cases; the kafkajs
 * side converts its string offsets and error shapes here, and nowhere else.
 *
 * A data directory is locked by the process that opens it: while `sluice serve` holds one, an
 * embedded command on it fails with DataDirLockedError, whose message points to --bootstrap-server.
 */
import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import type * as KafkaJS from 'kafkajs';
import type { GroupLagDescription, IsolationLevel } from '../broker/broker-api.js';
import { alterBrokerConfigs, type BrokerConfigScope } from '../broker/broker-configs.js';
import { CONSUMER_GROUP_PROTOCOL_TYPE } from '../broker/consumer-group/consumer-group-coordinator.js';
import { decodeAssignment, type TopicPartitions } from '../broker/consumer-protocol.js';
import type { AclEntry, AclFilter, Admin, DescribeAclsResult } from '../client/admin.js';
import type { Consumer } from '../client/consumer.js';
import type { Producer } from '../client/producer.js';
import { kafkajsCompressionType, registerKafkajsCodecs } from '../client/kafkajs-codecs.js';
import { InvalidRequestError, SluiceError, TopicNotFoundError } from '../errors.js';
import type { CompressionType } from '../protocol/compression.js';
import { Sluice } from '../sluice.js';
import { alterTopicConfigs, validateTopicConfigs } from '../storage/topic-config.js';
import { validateTopicName } from '../storage/topic-store.js';
import { formatHostPort, hostPortArg, type HostPort } from './arguments.js';
import { debugEnabled, printWarning, stderrLogger } from './output.js';

export const DEFAULT_DATA_DIR = './sluice-data';
const CLIENT_ID = 'sluice-cli';
/** Retries of a command line's clients: it should fail within seconds, not retry for a minute. */
const CLI_RETRY = Object.freeze({ retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 });
/** Kafka's ConfigResource types for topics and brokers. */
const TOPIC_RESOURCE = 2;
const BROKER_RESOURCE = 4;
/** DescribeConfigs ConfigSource ids Sluice reports. */
const CONFIG_SOURCES: Readonly<Record<number, string>> = { 1: 'topic', 2: 'dynamic-broker', 3: 'dynamic-default', 4: 'broker', 5: 'default' };

export type CompressionName = CompressionType;
export type AcksValue = 0 | 1 | -1;

export interface ConnectionOptions {
  dataDir: string;
  bootstrapServer?: HostPort;
  saslMechanism?: 'plain' | 'scram-sha-256';
  saslUsername?: string;
  saslPassword?: string;
}

export interface TopicSummary {
  name: string;
  partitions: number;
}

export interface PartitionOffsets {
  partition: number;
  logStartOffset: number;
  /** The high watermark: the end consumers read up to. */
  logEndOffset: number;
}

export interface TopicConfigDescription {
  name: string;
  value: string;
  isDefault: boolean;
  source: string;
}

export interface DeleteRecordsTarget {
  partition: number;
  /** Records below this offset are deleted; -1 deletes up to the high watermark. */
  offset: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionOffsets[];
  configs: TopicConfigDescription[];
}

export interface GroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  assignment: TopicPartitions[];
}

export interface GroupDetails {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMember[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface TopicToCreate {
  name: string;
  /** Unset: the broker's default partition count. */
  partitions?: number;
  configs: Record<string, string>;
}

export interface OutgoingRecord {
  key: Buffer | null;
  value: Buffer;
  partition?: number;
}

export interface CliProducer {
  /** Resolves once the broker acknowledged every record (per acks). */
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The fields of a consumed record the CLI reads; the embedded and kafkajs messages both have them. */
export interface ConsumedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** A number from the embedded consumer, a decimal string from kafkajs. */
  readonly offset: number | string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: readonly ConsumedRecord[];
}

export interface ConsumeRequest {
  topic: string;
  partitionCount: number;
  /** Null: read without a group and commit nothing. */
  groupId: string | null;
  /** Where to start without a committed offset. */
  fromBeginning: boolean;
  /** Read only this partition, starting at `offset` when given. */
  partition: number | null;
  offset: number | null;
  isolationLevel: IsolationLevel;
}

export interface CliConsumer {
  /**
   * Starts consuming; resolves once the consumer holds its partitions. `handler` gets each
   * fetched batch, one at a time; `onCrash` a failure that stopped the consumer.
   */
  start(handler: (batch: ConsumedBatch) => Promise<void>, onCrash: (error: Error) => void): Promise<void>;
  /** Commits offsets (each the next offset to read) for the group. */
  commit(offsets: CommittedOffset[]): Promise<void>;
  /** Stops fetching, leaves the group, and releases what was set up for this read. */
  stop(): Promise<void>;
}

export interface Connection {
  createTopic(topic: TopicToCreate): Promise<boolean>;
  listTopics(): Promise<TopicSummary[]>;
  /** Throws TopicNotFoundError for an unknown topic. */
  partitionCount(topic: string): Promise<number>;
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>;
  describeTopic(topic: string): Promise<TopicDescription>;
  deleteTopic(topic: string): Promise<void>;
  /**
   * Sets (`set`) and removes (`remove`: back to the default) topic config overrides, as
   * kafka-configs.sh --add-config / --delete-config; resolves with the topic's overrides after.
   */
  alterTopicConfigs(topic: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>>;
  /**
   * Sets and removes dynamic broker configs of a scope ('default': every broker, 'broker': this
   * one); resolves with the scope's configs after.
   */
  alterBrokerConfigs(scope: BrokerConfigScope, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>>;
  /** Moves log start offsets (offset -1: the high watermark); resolves with each partition's new one. */
  deleteRecords(topic: string, partitions: readonly DeleteRecordsTarget[]): Promise<{ partition: number; logStartOffset: number }[]>;
  listGroups(): Promise<GroupSummary[]>;
  describeGroup(groupId: string): Promise<GroupDetails>;
  /** The group's committed offsets, partitions without one left out. */
  committedOffsets(groupId: string): Promise<CommittedOffset[]>;
  /**
   * The broker's lag report of the group with its Burrow-style statuses, or null where it cannot
   * be had: over --bootstrap-server, Kafka's protocol has no API for it, and the CLI, which runs
   * once, never sees the group's commits over time.
   */
  lagStatus(groupId: string): Promise<GroupLagDescription | null>;
  producer(options: { acks: AcksValue; compression: CompressionName }): Promise<CliProducer>;
  consumer(request: ConsumeRequest): Promise<CliConsumer>;
  /** The ACL bindings matching the filter. */
  describeAcls(filter: AclFilter): Promise<AclEntry[]>;
  createAcls(entries: AclEntry[]): Promise<void>;
  /** Removes the ACL bindings matching the filter; resolves with them. */
  deleteAcls(filter: AclFilter): Promise<AclEntry[]>;
  close(): Promise<void>;
}

/** Adds --data-dir, --bootstrap-server and the SASL client options to a command that talks to a broker. */
export function addConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--data-dir <dir>', 'data directory of an embedded broker').default(DEFAULT_DATA_DIR).conflicts('bootstrapServer'))
    .addOption(new Option('--bootstrap-server <host:port>', 'talk to a running server (sluice serve) instead').argParser(hostPortArg))
    .addOption(new Option('--sasl-mechanism <mechanism>', 'SASL mechanism for --bootstrap-server').choices(['plain', 'scram-sha-256']))
    .addOption(new Option('--sasl-username <name>', 'SASL user name'))
    .addOption(new Option('--sasl-password <password>', 'SASL password').env('SLUICE_SASL_PASSWORD'));
}

/** The connection options of a command's parsed flags, with their combinations checked. */
export function connectionOptionsOf(command: Command): ConnectionOptions {
  const flags = command.opts<{
    dataDir: string;
    bootstrapServer?: HostPort;
    saslMechanism?: 'plain' | 'scram-sha-256';
    saslUsername?: string;
    saslPassword?: string;
  }>();
  const sasl = [flags.saslMechanism, flags.saslUsername, flags.saslPassword];
  if (sasl.some((value) => value !== undefined)) {
    if (flags.bootstrapServer === undefined) {
      command.error('error: the --sasl-* options apply to --bootstrap-server; an embedded data directory needs no login', { exitCode: 2 });
    }
    if (sasl.some((value) => value === undefined)) {
      command.error('error: SASL needs --sasl-mechanism, --sasl-username and --sasl-password (or SLUICE_SASL_PASSWORD) together', { exitCode: 2 });
    }
  }
  return flags;
}

/**
 * `inspect`: the command only reads (topics list/describe, groups list/describe). A data directory
 * that needs recovery is then not repaired unasked: the open fails with RecoveryNeededError, which
 * names the command that repairs it, and leaves every file as it was.
 */
export async function openConnection(options: ConnectionOptions, inspect = false): Promise<Connection> {
  if (options.bootstrapServer !== undefined) return KafkaConnection.open(options.bootstrapServer, options);
  const sluice = await Sluice.open({
    dataDir: options.dataDir,
    logger: stderrLogger({ info: false }),
    // The data directory is locked to this process, so no other member can join a group: nothing to wait for.
    groupInitialRebalanceDelayMs: 0,
    refuseRecovery: inspect,
  });
  return new EmbeddedConnection(sluice);
}

/**
 * Opens the command's connection, runs `work`, and closes the connection whatever happens.
 * `inspect`: see openConnection.
 */
export async function withConnection(command: Command, work: (connection: Connection) => Promise<void>, inspect = false): Promise<void> {
  const connection = await openConnection(connectionOptionsOf(command), inspect);
  try {
    await work(connection);
  } finally {
    await connection.close();
  }
}

/** DescribeAcls's resources flattened into bindings. */
function aclEntriesOf(result: DescribeAclsResult): AclEntry[] {
  return result.resources.flatMap(({ resourceType, resourceName, resourcePatternType, acls }) =>
    acls.map(({ principal, host, operation, permissionType }) => ({ resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType })),
  );
}

/** kafkajs spells "any" as a missing string, not null. */
function kafkajsAclFilter(filter: AclFilter): KafkaJS.AclFilter {
  const { resourceName, principal, host, ...codes } = filter;
  return {
    ...codes,
    ...(resourceName === null || resourceName === undefined ? {} : { resourceName }),
    ...(principal === null || principal === undefined ? {} : { principal }),
    ...(host === null || host === undefined ? {} : { host }),
  } as KafkaJS.AclFilter;
}

/** Only a binding's fields (DeleteAcls adds per-binding error fields). */
function aclEntryOf(acl: AclEntry): AclEntry {
  const { resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType } = acl;
  return { resourceType, resourceName, resourcePatternType, principal, host, operation, permissionType };
}

/** Checks topic name and configs here, so that both paths report them with the same messages. */
function checkTopicToCreate(topic: TopicToCreate): void {
  validateTopicName(topic.name);
  validateTopicConfigs(topic.configs);
}

function memberAssignment(protocolType: string, assignment: Buffer): TopicPartitions[] {
  if (protocolType !== 'consumer') return [];
  return decodeAssignment(assignment).assignedPartitions;
}

function describeConfigEntries(entries: { configName: string; configValue: string | null; isDefault: boolean; configSource: number }[]): TopicConfigDescription[] {
  return entries
    .map((entry) => ({
      name: entry.configName,
      value: entry.configValue ?? '',
      isDefault: entry.isDefault,
      source: CONFIG_SOURCES[entry.configSource] ?? `source ${entry.configSource}`,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---- Embedded ----

class EmbeddedConnection implements Connection {
  private readonly sluice: Sluice;
  private readonly admin: Admin;

  constructor(sluice: Sluice) {
    this.sluice = sluice;
    this.admin = sluice.admin();
  }

  async createTopic(topic: TopicToCreate): Promise<boolean> {
    checkTopicToCreate(topic);
    const configEntries = Object.entries(topic.configs).map(([name, value]) => ({ name, value }));
    return this.admin.createTopics({ topics: [{ topic: topic.name, numPartitions: topic.partitions, configEntries }] });
  }

  async listTopics(): Promise<TopicSummary[]> {
    return this.sluice.broker.listTopics().map((topic) => ({ name: topic.name, partitions: topic.partitionCount }));
  }

  async partitionCount(topic: string): Promise<number> {
    return this.sluice.broker.topicMetadata(topic).partitionCount;
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map((entry) => ({ partition: entry.partition, logStartOffset: entry.low, logEndOffset: entry.high }));
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    const partitions = await this.partitionOffsets(topic);
    const { resources } = await this.admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name: topic }] });
    return { name: topic, partitions, configs: describeConfigEntries(resources[0].configEntries) };
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.admin.deleteTopics({ topics: [topic] });
  }

  async alterTopicConfigs(topic: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>> {
    const configEntries = [
      ...Object.entries(set).map(([name, value]) => ({ name, value, operation: 'SET' as const })),
      ...remove.map((name) => ({ name, operation: 'DELETE' as const })),
    ];
    await this.admin.incrementalAlterConfigs({ resources: [{ type: TOPIC_RESOURCE, name: topic, configEntries }] });
    return { ...this.sluice.broker.topicMetadata(topic).configs };
  }

  async alterBrokerConfigs(scope: BrokerConfigScope, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>> {
    const configEntries = [
      ...Object.entries(set).map(([name, value]) => ({ name, value, operation: 'SET' as const })),
      ...remove.map((name) => ({ name, operation: 'DELETE' as const })),
    ];
    await this.admin.incrementalAlterConfigs({ resources: [{ type: BROKER_RESOURCE, name: scope === 'default' ? '' : '0', configEntries }] });
    return { ...this.sluice.broker.brokerConfigs(scope) };
  }

  async describeAcls(filter: AclFilter): Promise<AclEntry[]> {
    return aclEntriesOf(await this.admin.describeAcls(filter));
  }

  async createAcls(entries: AclEntry[]): Promise<void> {
    await this.admin.createAcls({ acl: entries });
  }

  async deleteAcls(filter: AclFilter): Promise<AclEntry[]> {
    const { filterResponses } = await this.admin.deleteAcls({ filters: [filter] });
    return filterResponses[0].matchingAcls.map(aclEntryOf);
  }

  async deleteRecords(topic: string, partitions: readonly DeleteRecordsTarget[]): Promise<{ partition: number; logStartOffset: number }[]> {
    await this.admin.deleteTopicRecords({ topic, partitions: partitions.map(({ partition, offset }) => ({ partition, offset })) });
    return partitions.map(({ partition }) => ({ partition, logStartOffset: this.sluice.broker.partitionOffsets(topic, partition).logStartOffset }));
  }

  async listGroups(): Promise<GroupSummary[]> {
    const coordinator = this.sluice.broker.groups;
    const consumerGroups = this.sluice.broker.consumerGroups;
    return [
      ...coordinator.listGroups().map((group) => ({
        groupId: group.groupId,
        state: group.state,
        protocolType: group.protocolType,
        members: coordinator.describeGroup(group.groupId).members.length,
      })),
      ...consumerGroups.listGroups().map((group) => ({
        groupId: group.groupId,
        state: group.state,
        protocolType: CONSUMER_GROUP_PROTOCOL_TYPE,
        members: consumerGroups.describe(group.groupId).members.length,
      })),
    ];
  }

  async describeGroup(groupId: string): Promise<GroupDetails> {
    if (this.sluice.broker.consumerGroups.has(groupId)) {
      // A KIP-848 consumer group: its assignor runs in the broker, its assignments name topics by id.
      const group = this.sluice.broker.consumerGroups.describe(groupId);
      const names = new Map(this.sluice.broker.listTopics().map((topic) => [topic.topicId, topic.name]));
      return {
        groupId,
        state: group.state,
        protocolType: CONSUMER_GROUP_PROTOCOL_TYPE,
        protocol: group.assignorName,
        members: group.members.map((member) => ({
          memberId: member.memberId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          assignment: [...member.assignment].map(([topicId, partitions]) => ({
            topic: names.get(topicId) ?? topicId,
            partitions: [...partitions].sort((a, b) => a - b),
          })),
        })),
      };
    }
    const group = this.sluice.broker.groups.describeGroup(groupId);
    return {
      groupId: group.groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocolName,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: memberAssignment(group.protocolType, member.assignment),
      })),
    };
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    const fetched = await this.sluice.broker.groups.fetchOffsets({ groupId, partitions: null });
    return fetched.filter((entry) => entry.offset >= 0).map(({ topic, partition, offset }) => ({ topic, partition, offset }));
  }

  lagStatus(groupId: string): Promise<GroupLagDescription> {
    return this.admin.fetchGroupLag({ groupId });
  }

  async producer(options: { acks: AcksValue; compression: CompressionName }): Promise<CliProducer> {
    const producer: Producer = this.sluice.producer({ acks: options.acks, compression: options.compression });
    return {
      async send(topic, records) {
        await producer.send({ topic, messages: records });
      },
      close: () => producer.disconnect(),
    };
  }

  async consumer(request: ConsumeRequest): Promise<CliConsumer> {
    const consumer: Consumer = this.sluice.consumer({
      ...(request.groupId === null ? {} : { groupId: request.groupId }),
      autoOffsetReset: request.fromBeginning ? 'earliest' : 'latest',
      isolationLevel: request.isolationLevel,
      retry: CLI_RETRY,
    });
    if (request.groupId !== null && request.partition === null) {
      await consumer.subscribe({ topics: [request.topic], fromBeginning: request.fromBeginning });
    } else {
      const partitions = request.partition === null ? [...Array(request.partitionCount).keys()] : [request.partition];
      consumer.assign(
        partitions.map((partition) => ({
          topic: request.topic,
          partition,
          ...(partition === request.partition && request.offset !== null ? { offset: request.offset } : {}),
        })),
      );
    }
    // Set while the run loop is alive: stop() must outlast it, or the broker could close under it.
    let loopEnded: Promise<void> | null = null;
    return {
      async start(handler, onCrash) {
        const { CRASH, STOP } = consumer.events;
        // The first crash ends the command, restart or not (its retries already ran): stop() cancels the restart.
        consumer.on(CRASH, (event: { payload: { error: Error } }) => onCrash(event.payload.error));
        const ended = new Promise<void>((resolve) => {
          consumer.once(STOP, resolve);
          consumer.once(CRASH, () => resolve());
        });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => handler({ topic: batch.topic, partition: batch.partition, messages: batch.messages }),
        });
        loopEnded = ended;
      },
      commit: (offsets) => consumer.commitOffsets(offsets),
      stop: async () => {
        // Asked while a handler is still returning, disconnect() resolves before the run loop
        // has finished (it leaves the group on its way out): wait for that too.
        await consumer.disconnect();
        await loopEnded;
      },
    };
  }

  close(): Promise<void> {
    return this.sluice.close();
  }
}

// ---- Over the Kafka protocol ----

type KafkaModule = typeof KafkaJS;

class KafkaConnection implements Connection {
  private readonly kafkajs: KafkaModule;
  private readonly kafka: KafkaJS.Kafka;
  private readonly admin: KafkaJS.Admin;
  private readonly clients = new Set<{ disconnect(): Promise<void> }>();

  private constructor(kafkajs: KafkaModule, kafka: KafkaJS.Kafka, admin: KafkaJS.Admin) {
    this.kafkajs = kafkajs;
    this.kafka = kafka;
    this.admin = admin;
  }

  static async open(server: HostPort, options: ConnectionOptions): Promise<KafkaConnection> {
    const address = formatHostPort(server.host, server.port);
    // kafkajs warns on every producer that its default partitioner changed in 2.0; ours is the new one on purpose.
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    // kafkajs is CommonJS: its module object (the default export) has every export, the named ones only some.
    const kafkajs = (await import('kafkajs')).default as KafkaModule;
    registerKafkajsCodecs(kafkajs);
    const sasl: KafkaJS.SASLOptions | undefined =
      options.saslMechanism === undefined
        ? undefined
        : { mechanism: options.saslMechanism, username: options.saslUsername!, password: options.saslPassword! };
    const kafka = new kafkajs.Kafka({
      clientId: CLIENT_ID,
      brokers: [address],
      ...(sasl === undefined ? {} : { sasl }),
      // A command line should fail within seconds when the server is not there, not retry for a minute.
      connectionTimeout: 3_000,
      retry: CLI_RETRY,
      logLevel: debugEnabled() ? kafkajs.logLevel.INFO : kafkajs.logLevel.NOTHING,
      logCreator: () => (entry) => process.stderr.write(`kafkajs ${entry.namespace}: ${entry.log.message}\n`),
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      // Connecting is not enough to learn that the server wants a login: a first request is.
      await admin.listTopics();
    } catch (error) {
      await admin.disconnect().catch(() => undefined);
      throw new ServerConnectionError(address, error as Error, sasl !== undefined);
    }
    return new KafkaConnection(kafkajs, kafka, admin);
  }

  async createTopic(topic: TopicToCreate): Promise<boolean> {
    checkTopicToCreate(topic);
    const configEntries = Object.entries(topic.configs).map(([name, value]) => ({ name, value }));
    return this.admin.createTopics({
      topics: [{ topic: topic.name, ...(topic.partitions === undefined ? {} : { numPartitions: topic.partitions }), configEntries }],
    });
  }

  async listTopics(): Promise<TopicSummary[]> {
    const { topics } = await this.admin.fetchTopicMetadata();
    return topics
      .map((topic) => ({ name: topic.name, partitions: topic.partitions.length }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async partitionCount(topic: string): Promise<number> {
    const { topics } = await this.withTopic(topic, () => this.admin.fetchTopicMetadata({ topics: [topic] }));
    return topics[0].partitions.length;
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await this.withTopic(topic, () => this.admin.fetchTopicOffsets(topic));
    return offsets
      .map((entry) => ({ partition: entry.partition, logStartOffset: Number(entry.low), logEndOffset: Number(entry.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    const partitions = await this.partitionOffsets(topic);
    const { resources } = await this.withTopic(topic, () =>
      this.admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name: topic }], includeSynonyms: false }),
    );
    return { name: topic, partitions, configs: describeConfigEntries(resources[0].configEntries) };
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.partitionCount(topic);
    await this.admin.deleteTopics({ topics: [topic] });
  }

  /**
   * kafkajs has no IncrementalAlterConfigs: read the overrides, apply the change here (validated
   * as the broker will, for a message naming the config), and write the whole set with
   * AlterConfigs, as kafka-configs.sh did before Kafka 2.3.
   */
  async alterTopicConfigs(topic: string, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>> {
    const described = await this.describeTopic(topic);
    // The topic's own overrides only: defaults set by dynamic broker configs stay the broker's.
    const current = Object.fromEntries(described.configs.filter((config) => config.source === CONFIG_SOURCES[1]).map((config) => [config.name, config.value]));
    const changes: Record<string, string | null> = { ...set };
    for (const name of remove) changes[name] = null;
    const next = alterTopicConfigs(current, changes);
    const configEntries = Object.entries(next).map(([name, value]) => ({ name, value }));
    await this.withTopic(topic, () => this.admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC_RESOURCE, name: topic, configEntries }] }));
    return { ...next };
  }

  /** As alterTopicConfigs: read this broker's dynamic configs (DYNAMIC_BROKER_CONFIG), change them here, write the whole set with AlterConfigs. */
  async describeAcls(filter: AclFilter): Promise<AclEntry[]> {
    return aclEntriesOf((await this.admin.describeAcls(kafkajsAclFilter(filter))) as unknown as DescribeAclsResult);
  }

  async createAcls(entries: AclEntry[]): Promise<void> {
    await this.admin.createAcls({ acl: entries as unknown as KafkaJS.AclEntry[] });
  }

  async deleteAcls(filter: AclFilter): Promise<AclEntry[]> {
    const { filterResponses } = await this.admin.deleteAcls({ filters: [kafkajsAclFilter(filter)] });
    return filterResponses[0].matchingAcls.map((acl) => aclEntryOf(acl as unknown as AclEntry));
  }

  async alterBrokerConfigs(scope: BrokerConfigScope, set: Readonly<Record<string, string>>, remove: readonly string[]): Promise<Record<string, string>> {
    if (scope === 'default') {
      // kafkajs refuses the empty resource name that addresses the cluster-wide scope.
      throw new InvalidRequestError(
        'the cluster-wide default (--cluster-default) cannot be changed over --bootstrap-server: kafkajs, which the CLI speaks through, ' +
          'refuses its empty broker name; run the command with --data-dir, or change this broker\'s configs instead',
      );
    }
    const name = String((await this.admin.describeCluster()).brokers[0].nodeId);
    const { resources } = await this.admin.describeConfigs({ resources: [{ type: BROKER_RESOURCE, name }], includeSynonyms: false });
    const current = Object.fromEntries(
      resources[0].configEntries.filter((entry) => entry.configSource === 2).map((entry) => [entry.configName, entry.configValue]),
    );
    const changes: Record<string, string | null> = { ...set };
    for (const config of remove) changes[config] = null;
    const next = alterBrokerConfigs(current, changes);
    const configEntries = Object.entries(next).map(([config, value]) => ({ name: config, value }));
    await this.admin.alterConfigs({ validateOnly: false, resources: [{ type: BROKER_RESOURCE, name, configEntries }] });
    return { ...next };
  }

  async deleteRecords(topic: string, partitions: readonly DeleteRecordsTarget[]): Promise<{ partition: number; logStartOffset: number }[]> {
    // kafkajs finds partition leaders only in metadata it already holds.
    await this.partitionCount(topic);
    try {
      await this.admin.deleteTopicRecords({ topic, partitions: partitions.map(({ partition, offset }) => ({ partition, offset: String(offset) })) });
    } catch (error) {
      const failed = ((error as { cause?: { partitions?: { partition: number; offset: string; error: Error & { type?: string } }[] } }).cause?.partitions ?? [])[0];
      if (failed === undefined) throw error;
      throw new SluiceError(
        failed.error.type ?? 'DELETE_RECORDS_FAILED',
        `deleting the records of ${topic}-${failed.partition} below offset ${failed.offset} failed: ${failed.error.message}`,
      );
    }
    const offsets = await this.partitionOffsets(topic);
    return partitions.map(({ partition }) => ({ partition, logStartOffset: offsets.find((entry) => entry.partition === partition)!.logStartOffset }));
  }

  async listGroups(): Promise<GroupSummary[]> {
    const { groups } = await this.admin.listGroups();
    if (groups.length === 0) return [];
    const described = await this.admin.describeGroups(groups.map((group) => group.groupId));
    return described.groups.map((group) => ({
      groupId: group.groupId,
      state: group.state,
      protocolType: group.protocolType,
      members: group.members.length,
    }));
  }

  async describeGroup(groupId: string): Promise<GroupDetails> {
    const { groups } = await this.admin.describeGroups([groupId]);
    const group = groups[0];
    return {
      groupId: group.groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocol,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: memberAssignment(group.protocolType, member.memberAssignment),
      })),
    };
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    // kafkajs asks for named topics only (an empty list fetches nothing), so name them all.
    const topics = (await this.listTopics()).map((topic) => topic.name);
    if (topics.length === 0) return [];
    const fetched = await this.admin.fetchOffsets({ groupId, topics });
    const offsets: CommittedOffset[] = [];
    for (const { topic, partitions } of fetched) {
      for (const { partition, offset } of partitions) {
        const value = Number(offset);
        if (value >= 0) offsets.push({ topic, partition, offset: value });
      }
    }
    return offsets;
  }

  async lagStatus(): Promise<null> {
    return null;
  }

  async producer(options: { acks: AcksValue; compression: CompressionName }): Promise<CliProducer> {
    const compression = kafkajsCompressionType(this.kafkajs, options.compression);
    const producer = this.kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    this.clients.add(producer);
    return {
      async send(topic, records) {
        await producer.send({ topic, messages: records, acks: options.acks, compression });
      },
      close: async () => {
        this.clients.delete(producer);
        await producer.disconnect();
      },
    };
  }

  async consumer(request: ConsumeRequest): Promise<CliConsumer> {
    // kafkajs reads only as a group member. Without --group, a group of our own (never committed
    // to, deleted on stop) stands in for Kafka's assign().
    const ownGroup = request.groupId === null;
    const groupId = request.groupId ?? `${CLIENT_ID}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      readUncommitted: request.isolationLevel === 'read_uncommitted',
    });
    await consumer.connect();
    this.clients.add(consumer);
    const startOffset = request.offset;
    await consumer.subscribe({ topics: [request.topic], fromBeginning: request.fromBeginning });
    const { GROUP_JOIN, CRASH } = consumer.events;
    let stopped = false;
    return {
      start: async (handler, onCrash) => {
        const joined = new Promise<void>((resolve, reject) => {
          consumer.on(GROUP_JOIN, () => resolve());
          consumer.on(CRASH, (event) => {
            // kafkajs restarts itself after retriable failures; only a final one stops it.
            if (event.payload.restart) return;
            reject(event.payload.error);
            onCrash(event.payload.error);
          });
        });
        // Awaited below; a crash while run() is still starting must not count as unhandled meanwhile.
        joined.catch(() => undefined);
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, isStale }) => {
            if (request.partition !== null && batch.partition !== request.partition) return;
            if (isStale()) return;
            await handler({ topic: batch.topic, partition: batch.partition, messages: batch.messages });
          },
        });
        if (request.partition !== null) {
          const others = [...Array(request.partitionCount).keys()].filter((partition) => partition !== request.partition);
          if (others.length > 0) consumer.pause([{ topic: request.topic, partitions: others }]);
          if (startOffset !== null) consumer.seek({ topic: request.topic, partition: request.partition, offset: String(startOffset) });
        }
        await joined;
      },
      commit: (offsets) =>
        consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) }))),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        this.clients.delete(consumer);
        await consumer.disconnect();
        if (ownGroup) {
          await this.admin.deleteGroups([groupId]).catch((error: Error) => {
            // A group that never committed is forgotten by the coordinator as its last member
            // leaves (as Kafka's cleanup would): already gone is what was wanted.
            if (onlyGroupsNotFound(error)) return;
            printWarning(`could not delete the temporary consumer group ${groupId}: ${error.message}`);
          });
        }
      },
    };
  }

  async close(): Promise<void> {
    const clients = [...this.clients];
    this.clients.clear();
    await Promise.allSettled(clients.map((client) => client.disconnect()));
    await this.admin.disconnect();
  }

  /** Runs a request about one topic, reporting an unknown topic as TopicNotFoundError. */
  private async withTopic<T>(topic: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || (error as Error).message?.includes('does not host this topic')) {
        throw new TopicNotFoundError(topic);
      }
      throw error;
    }
  }
}

/** kafkajs's DeleteGroups failure where every group it names failed with GROUP_ID_NOT_FOUND. */
function onlyGroupsNotFound(error: Error): boolean {
  const groups = (error as { groups?: { error?: { type?: string } }[] }).groups;
  return Array.isArray(groups) && groups.length > 0 && groups.every((group) => group.error?.type === 'GROUP_ID_NOT_FOUND');
}

/** The server named by --bootstrap-server could not be reached or refused the login. */
class ServerConnectionError extends SluiceError {
  constructor(address: string, cause: Error, saslGiven: boolean) {
    super('SERVER_CONNECTION', ServerConnectionError.explain(address, cause, saslGiven), true);
  }

  private static explain(address: string, cause: Error, saslGiven: boolean): string {
    if (cause.name === 'KafkaJSSASLAuthenticationError') return `the server at ${address} refused the login: ${cause.message}`;
    if (!saslGiven && /closed connection/i.test(cause.message)) {
      return `the server at ${address} closed the connection; if it requires SASL, give --sasl-mechanism, --sasl-username and --sasl-password`;
    }
    return `cannot reach a Kafka server at ${address} (${cause.message}); is \`sluice serve\` running there?`;
  }
}
