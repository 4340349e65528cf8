/**
 * The CLI's connection to a running Kafka protocol server (`--bootstrap-server host:port`) through
 * kafkajs, loaded only when a command asks for it. kafkajs's string offsets and error shapes are
 * converted here, and nowhere else.
 */
import { randomUUID } from 'node:crypto';
import type * as KafkaJS from 'kafkajs';
import { alterBrokerConfigs, type BrokerConfigScope } from '../broker/broker-configs.js';
import type { AclEntry, AclFilter, DescribeAclsResult } from '../client/admin.js';
import { kafkajsCompressionType, registerKafkajsCodecs } from '../client/kafkajs-codecs.js';
import { InvalidRequestError, SluiceError, TopicNotFoundError } from '../errors.js';
import { alterTopicConfigs } from '../storage/topic-config.js';
import { ReplicaClient } from '../cluster/replica-client.js';
import { ApiVersions } from '../protocol/api/api-versions.js';
import { ELECTION_TYPE_PREFERRED, ELECTION_TYPE_UNCLEAN, ElectLeaders } from '../protocol/api/elect-leaders.js';
import { ErrorCode, errorCodeName } from '../protocol/api/error-codes.js';
import { Metadata, type MetadataResponse } from '../protocol/api/metadata.js';
import type { ElectionType } from '../server/cluster-view.js';
import { formatHostPort, type HostPort } from './arguments.js';
import { debugEnabled, printWarning } from './output.js';
import type {
  AcksValue,
  CliConsumer,
  CliProducer,
  CommittedOffset,
  CompressionName,
  Connection,
  ConnectionOptions,
  ConsumeRequest,
  DeleteRecordsTarget,
  ElectionResultRow,
  GroupDetails,
  GroupSummary,
  PartitionOffsets,
  TopicDescription,
  TopicSummary,
  TopicToCreate,
} from './connection.js';
import {
  describePartitions,
  BROKER_RESOURCE,
  CLI_RETRY,
  CONFIG_SOURCES,
  TOPIC_RESOURCE,
  aclEntriesOf,
  aclEntryOf,
  checkTopicToCreate,
  classicGroupDetails,
  describeConfigEntries,
} from './connection-answers.js';

const CLIENT_ID = 'sluice-cli';

type KafkaModule = typeof KafkaJS;

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

export class KafkaConnection implements Connection {
  private readonly kafkajs: KafkaModule;
  private readonly kafka: KafkaJS.Kafka;
  private readonly admin: KafkaJS.Admin;
  private readonly clients = new Set<{ disconnect(): Promise<void> }>();

  private constructor(
    kafkajs: KafkaModule,
    kafka: KafkaJS.Kafka,
    admin: KafkaJS.Admin,
    /** The --bootstrap-server, for requests sent outside kafkajs. */
    private readonly server: HostPort,
    /** Whether the server wants SASL: requests sent outside kafkajs cannot log in. */
    private readonly sasl: boolean,
  ) {
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
      // A partition without a leader fails kafkajs's metadata of every topic, yet the server
      // answered: it is reachable and took the login (elect-leaders is run for such partitions).
      if (!leaderNotAvailable(error)) {
        await admin.disconnect().catch(() => undefined);
        throw new ServerConnectionError(address, error as Error, sasl !== undefined);
      }
    }
    return new KafkaConnection(kafkajs, kafka, admin, server, sasl !== undefined);
  }

  async createTopic(topic: TopicToCreate): Promise<boolean> {
    checkTopicToCreate(topic);
    const configEntries = Object.entries(topic.configs).map(([name, value]) => ({ name, value }));
    return this.admin.createTopics({
      topics: [
        {
          topic: topic.name,
          ...(topic.partitions === undefined ? {} : { numPartitions: topic.partitions }),
          ...(topic.replicationFactor === undefined ? {} : { replicationFactor: topic.replicationFactor }),
          configEntries,
        },
      ],
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
    const offsets = await this.partitionOffsets(topic);
    const { topics } = await this.withTopic(topic, () => this.admin.fetchTopicMetadata({ topics: [topic] }));
    const partitions = describePartitions(offsets, topics[0].partitions);
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

  /** As alterTopicConfigs: read this broker's dynamic configs (DYNAMIC_BROKER_CONFIG), change them here, write the whole set with AlterConfigs. */
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
    return classicGroupDetails(group, group.protocol, group.members, (member) => member.memberAssignment);
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

  /**
   * kafkajs has no ElectLeaders, and its metadata fails while a partition has no leader: the
   * controller is looked up with a Metadata request naming no topic, and the election sent to it
   * on a connection of its own, at the highest version both sides speak (ApiVersions), as Kafka's
   * admin client sends it.
   */
  async electLeaders(type: ElectionType, partitions: readonly { topic: string; partition: number }[] | null, timeoutMs: number): Promise<ElectionResultRow[]> {
    if (this.sasl) throw new InvalidRequestError('elect-leaders cannot log in with SASL; run it against a PLAINTEXT listener of the cluster');
    const address = formatHostPort(this.server.host, this.server.port);
    const bootstrap = await ReplicaClient.connect(this.server.host, this.server.port, CLIENT_ID, 3_000, `the server at ${address}`);
    let cluster: MetadataResponse;
    try {
      cluster = await bootstrap.send(Metadata, 1, { topics: [] });
    } finally {
      bootstrap.close();
    }
    const target = cluster.brokers.find((broker) => broker.nodeId === cluster.controllerId);
    if (target === undefined) throw new InvalidRequestError(`the cluster names no live controller (controller id ${cluster.controllerId}); retry once one is elected`);
    const controller = `the controller (broker ${target.nodeId})`;
    const client = await ReplicaClient.connect(target.host, target.port, CLIENT_ID, 3_000, controller);
    try {
      const served = (await client.send(ApiVersions, 0, {})).apiKeys.find((entry) => entry.apiKey === ElectLeaders.apiKey);
      if (served === undefined || served.maxVersion < ElectLeaders.minVersion || (type === 'unclean' && served.maxVersion < 1)) {
        throw new InvalidRequestError(`${controller} does not serve ElectLeaders${type === 'unclean' ? ' v1 (unclean elections)' : ''}`);
      }
      const byTopic = new Map<string, number[]>();
      for (const { topic, partition } of partitions ?? []) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
      const response = await client.send(ElectLeaders, Math.min(served.maxVersion, ElectLeaders.maxVersion), {
        electionType: type === 'preferred' ? ELECTION_TYPE_PREFERRED : ELECTION_TYPE_UNCLEAN,
        topicPartitions: partitions === null ? null : [...byTopic].map(([topic, indexes]) => ({ topic, partitions: indexes })),
        timeoutMs,
      });
      if (response.errorCode !== ErrorCode.NONE) throw new InvalidRequestError(`${controller} refused the election: ${errorCodeName(response.errorCode)}`);
      return response.replicaElectionResults.flatMap(({ topic, partitionResult }) =>
        partitionResult.map(({ partitionId, errorCode, errorMessage }) => ({ topic, partition: partitionId, errorCode, errorMessage })),
      );
    } finally {
      client.close();
    }
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

/** Whether a kafkajs error is, or was caused by (after its retries), LEADER_NOT_AVAILABLE. */
function leaderNotAvailable(error: unknown): boolean {
  for (let cause = error as { type?: string; cause?: unknown } | undefined; cause !== undefined && cause !== null; cause = cause.cause as typeof cause) {
    if (cause.type === 'LEADER_NOT_AVAILABLE') return true;
  }
  return false;
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
