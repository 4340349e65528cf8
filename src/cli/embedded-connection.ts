/**
 * The CLI's connection to an embedded broker on a data directory (`--data-dir`, the default):
 * every command runs in this process through the Admin, Producer and Consumer of src/client.
 */
import type { GroupLagDescription } from '../broker/broker-api.js';
import { alterBrokerConfigs, type BrokerConfigScope } from '../broker/broker-configs.js';
import { CONSUMER_GROUP_PROTOCOL_TYPE } from '../broker/consumer-group/consumer-group-coordinator.js';
import type { AclEntry, AclFilter, Admin } from '../client/admin.js';
import type { Consumer } from '../client/consumer.js';
import type { Producer } from '../client/producer.js';
import { ErrorCode, kafkaErrorCode } from '../protocol/api/error-codes.js';
import type { ElectionType } from '../server/cluster-view.js';
import { singleBrokerOutcomes } from '../server/handlers/elect-leaders.js';
import { Sluice } from '../sluice.js';
import { alterTopicConfigs } from '../storage/topic-config.js';
import type {
  AcksValue,
  CliConsumer,
  CliProducer,
  CommittedOffset,
  CompressionName,
  Connection,
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
  TOPIC_RESOURCE,
  aclEntriesOf,
  aclEntryOf,
  checkTopicToCreate,
  classicGroupDetails,
  describeConfigEntries,
} from './connection-answers.js';

export class EmbeddedConnection implements Connection {
  private readonly sluice: Sluice;
  private readonly admin: Admin;

  constructor(sluice: Sluice) {
    this.sluice = sluice;
    this.admin = sluice.admin();
  }

  async createTopic(topic: TopicToCreate): Promise<boolean> {
    checkTopicToCreate(topic);
    const configEntries = Object.entries(topic.configs).map(([name, value]) => ({ name, value }));
    return this.admin.createTopics({
      topics: [{ topic: topic.name, numPartitions: topic.partitions, ...(topic.replicationFactor === undefined ? {} : { replicationFactor: topic.replicationFactor }), configEntries }],
    });
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
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = describePartitions(await this.partitionOffsets(topic), topics[0].partitions);
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

  /** One broker on its data directory: the leader and only replica of every partition it holds. */
  async electLeaders(_type: ElectionType, partitions: readonly { topic: string; partition: number }[] | null): Promise<ElectionResultRow[]> {
    return singleBrokerOutcomes(this.sluice.broker, partitions ?? []).map(({ topic, partition, error }) => ({
      topic,
      partition,
      errorCode: error === null ? ErrorCode.NONE : kafkaErrorCode(error),
      errorMessage: error?.message ?? null,
    }));
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
    return classicGroupDetails(group, group.protocolName, group.members, (member) => member.assignment);
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
