/**
 * What the streams runtime needs from a broker, in one small interface with two implementations:
 * an embedded Sluice (its own clients and broker, in process) and a Kafka-protocol server (a
 * `sluice serve`, or Kafka) through kafkajs. The runtime never sees which one it has.
 */
import { Admin } from '../client/admin.js';
import { Consumer, CONSUMER_EVENTS } from '../client/consumer.js';
import { decodeFetchedRecords, type ConsumedHeaders, type ConsumedMessage } from '../client/fetcher.js';
import type { Producer, Transaction } from '../client/producer.js';
import type { ConsumerGroupMetadata } from '../client/transaction-manager.js';
import type { Sluice } from '../sluice.js';

export interface StreamsMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly offset: number;
  readonly headers: ConsumedHeaders;
}

export interface StreamsBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly StreamsMessage[];
}

export interface OutgoingMessage {
  key: Buffer | null;
  value: Buffer | null;
  /** Absent: the producer's partitioner picks it from the key (murmur2, as Kafka's). */
  partition?: number;
  timestamp: number;
  headers?: ConsumedHeaders;
}

export interface OutgoingTopicMessages {
  topic: string;
  messages: OutgoingMessage[];
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: number;
}

export interface StreamsTransaction {
  sendBatch(topicMessages: OutgoingTopicMessages[]): Promise<void>;
  /** With the member's group metadata, a member no longer in the group's current generation is refused (KIP-447). */
  sendOffsets(groupId: string, offsets: TopicPartitionOffset[], member: ConsumerGroupMetadata | null): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface StreamsProducer {
  sendBatch(topicMessages: OutgoingTopicMessages[]): Promise<void>;
  transaction(): Promise<StreamsTransaction>;
  close(): Promise<void>;
}

export interface GroupHandlers {
  onBatch(batch: StreamsBatch): Promise<void>;
  onAssigned(partitions: { topic: string; partitions: number[] }[]): void;
  onRevoked(partitions: { topic: string; partitions: number[] }[]): void;
  /** The consumer stopped on an error it will not retry. */
  onFatal(error: Error): void;
}

export interface StreamsGroupConsumer {
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** This member's identity in the generation of its last assignment; null where the client cannot send it with a transaction's offsets. */
  groupMetadata(): ConsumerGroupMetadata | null;
  /** The next offset of an assigned partition to hand out. */
  seek(topic: string, partition: number, offset: number): void;
  close(): Promise<void>;
}

export interface TopicToCreate {
  topic: string;
  numPartitions: number;
  configs: Record<string, string>;
}

export interface StreamsConnection {
  /** Partition counts of the topics that exist; a missing topic is absent from the map. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  createTopics(topics: readonly TopicToCreate[]): Promise<void>;
  /**
   * Hands every record of the partition from `fromOffset` to the end it has now (the last stable
   * offset when `readCommitted`) to `apply`, in order; resolves with that end offset.
   */
  readToEnd(topic: string, partition: number, fromOffset: number, readCommitted: boolean, apply: (message: StreamsMessage) => void): Promise<number>;
  /**
   * The group's committed offsets of these partitions (absent: none). With `requireStable`, null
   * while a transaction has offsets of one of them staged and not yet completed (OffsetFetch's
   * require_stable, KIP-447: Kafka answers UNSTABLE_OFFSET_COMMIT), to be asked again.
   */
  committedOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[], requireStable: boolean): Promise<Map<string, number> | null>;
  /** The consumer group `groupId` subscribed to `topics`, handing batches to `handlers`; resolves once running. */
  groupConsumer(groupId: string, topics: readonly string[], readCommitted: boolean, handlers: GroupHandlers): Promise<StreamsGroupConsumer>;
  /** Reads the partitions from the given offsets on, without a group (a global table's updates), until closed. */
  follow(topic: string, startOffsets: ReadonlyMap<number, number>, readCommitted: boolean, onBatch: (batch: StreamsBatch) => Promise<void>): Promise<{ close(): Promise<void> }>;
  /** Connected (and for a transactional id, initialized: older instances fenced, their open transactions aborted). */
  producer(transactionalId: string | null): Promise<StreamsProducer>;
  close(): Promise<void>;
}

const READ_BYTES_MAX = 4 * 1024 * 1024;

/** The streams runtime's view of an embedded Sluice. Closing it leaves the Sluice open (its owner closes it). */
export class EmbeddedConnection implements StreamsConnection {
  private readonly admin: Admin;
  private readonly clients = new Set<{ disconnect(): Promise<void> }>();

  constructor(private readonly sluice: Sluice) {
    this.admin = sluice.admin();
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const existing = new Map(this.sluice.broker.listTopics().map((topic) => [topic.name, topic.partitionCount]));
    for (const topic of topics) {
      const count = existing.get(topic);
      if (count !== undefined) counts.set(topic, count);
    }
    return counts;
  }

  async createTopics(topics: readonly TopicToCreate[]): Promise<void> {
    if (topics.length === 0) return;
    await this.admin.createTopics({
      topics: topics.map(({ topic, numPartitions, configs }) => ({
        topic,
        numPartitions,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async readToEnd(topic: string, partition: number, fromOffset: number, readCommitted: boolean, apply: (message: StreamsMessage) => void): Promise<number> {
    const broker = this.sluice.broker;
    const isolation = readCommitted ? 'read_committed' : 'read_uncommitted';
    const offsets = broker.partitionOffsets(topic, partition);
    const end = readCommitted ? offsets.lastStableOffset : offsets.highWatermark;
    let offset = Math.max(fromOffset, offsets.logStartOffset);
    const messages: ConsumedMessage[] = [];
    while (offset < end) {
      const fetched = broker.fetch(topic, partition, offset, READ_BYTES_MAX, isolation);
      messages.length = 0;
      decodeFetchedRecords(topic, partition, fetched.records, offset, null, messages, fetched.abortedTransactions);
      for (const message of messages) {
        if (message.offset >= end) break;
        apply({ key: message.key, value: message.value, timestamp: message.timestamp, offset: message.offset, headers: message.headers });
      }
      if (fetched.nextOffset === offset) await broker.waitForData(topic, partition, offset, 1_000, undefined, isolation);
      offset = fetched.nextOffset;
    }
    return end;
  }

  async committedOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[], requireStable: boolean): Promise<Map<string, number> | null> {
    const broker = this.sluice.broker;
    if (requireStable && partitions.some(({ topic, partition }) => broker.hasPendingTransactionalOffset(groupId, topic, partition))) return null;
    const offsets = new Map<string, number>();
    for (const { topic, partition, offset } of await broker.groups.fetchOffsets({ groupId, partitions: [...partitions] })) {
      if (offset >= 0) offsets.set(partitionKey(topic, partition), offset);
    }
    return offsets;
  }

  async groupConsumer(groupId: string, topics: readonly string[], readCommitted: boolean, handlers: GroupHandlers): Promise<StreamsGroupConsumer> {
    let member: ConsumerGroupMetadata | null = null;
    const consumer = this.sluice.consumer({
      groupId,
      // Kafka Streams' defaults: earliest for a new application, and the range assignor, which
      // gives one member the same partition numbers of every topic (co-partitioned tasks).
      autoOffsetReset: 'earliest',
      assignors: ['range'],
      isolationLevel: readCommitted ? 'read_committed' : 'read_uncommitted',
    });
    this.clients.add(consumer);
    consumer.on(CONSUMER_EVENTS.GROUP_JOIN, (event: { payload: { memberId: string; generationId: number; memberAssignment: Record<string, number[]> } }) => {
      member = { generationId: event.payload.generationId, memberId: event.payload.memberId };
      handlers.onAssigned(Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions })));
    });
    consumer.on(CONSUMER_EVENTS.REBALANCING, (event: { payload: { revoked: { topic: string; partitions: number[] }[] } }) => handlers.onRevoked(event.payload.revoked));
    consumer.on(CONSUMER_EVENTS.CRASH, (event: { payload: { error: Error; restart: boolean } }) => {
      if (!event.payload.restart) handlers.onFatal(event.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics] });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        await handlers.onBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages as unknown as StreamsMessage[] });
      },
    });
    return {
      commit: (offsets) => consumer.commitOffsets(offsets),
      groupMetadata: () => member,
      seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
      close: async () => {
        this.clients.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async follow(topic: string, startOffsets: ReadonlyMap<number, number>, readCommitted: boolean, onBatch: (batch: StreamsBatch) => Promise<void>): Promise<{ close(): Promise<void> }> {
    const consumer = this.sluice.consumer({ isolationLevel: readCommitted ? 'read_committed' : 'read_uncommitted' });
    this.clients.add(consumer);
    await consumer.connect();
    consumer.assign([...startOffsets].map(([partition, offset]) => ({ topic, partition, offset })));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        await onBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages as unknown as StreamsMessage[] });
      },
    });
    return {
      close: async () => {
        this.clients.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async producer(transactionalId: string | null): Promise<StreamsProducer> {
    const producer: Producer = this.sluice.producer(transactionalId === null ? { acks: -1 } : { transactionalId, acks: -1, idempotent: true, maxInFlightRequests: 1 });
    this.clients.add(producer);
    await producer.connect();
    return {
      sendBatch: async (topicMessages) => {
        await producer.sendBatch({ topicMessages });
      },
      transaction: async () => wrapTransaction(await producer.transaction()),
      close: async () => {
        this.clients.delete(producer);
        await producer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients].map((client) => client.disconnect()));
    this.clients.clear();
  }
}

function wrapTransaction(transaction: Transaction): StreamsTransaction {
  return {
    sendBatch: async (topicMessages) => {
      await transaction.sendBatch({ topicMessages });
    },
    sendOffsets: (groupId, offsets, member) =>
      transaction.sendOffsets({ consumerGroupId: groupId, topics: groupByTopic(offsets), ...(member === null ? {} : { consumerGroupMetadata: member }) }),
    commit: () => transaction.commit(),
    abort: () => transaction.abort(),
  };
}

/** The key of a topic-partition in the maps committedOffsets returns. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export function groupByTopic(offsets: readonly TopicPartitionOffset[]): { topic: string; partitions: { partition: number; offset: number }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: number }[]>();
  for (const { topic, partition, offset } of offsets) {
    let list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, (list = []));
    list.push({ partition, offset });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
