/**
 * The streams runtime's view of a Kafka-protocol server (`sluice serve`, or Kafka) through
 * kafkajs. kafkajs's string offsets and timestamps are converted here and nowhere else. Its
 * consumers take Kafka's range assignor (the broker's own, src/broker/assignors/range.ts, as a
 * kafkajs PartitionAssigner): kafkajs ships round robin only, which would not keep co-partitioned
 * partitions on one member.
 *
 * kafkajs has no manual assignment: reading one partition to its end (a changelog restore, a
 * global table) is a consumer of a throwaway group that seeks the partition, and it is done once
 * the consumer's position passes the end, transaction markers and aborted records included
 * (kafkajs resolves those batches too, and says so in its end-batch event).
 */
import { randomUUID } from 'node:crypto';
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer, type PartitionAssigner, type Producer, type Transaction } from 'kafkajs';
import { rangeAssignor } from '../broker/assignors/range.js';
import { registerKafkajsCodecs } from '../client/kafkajs-codecs.js';
import type { ConsumedHeaders } from '../client/fetcher.js';
import { StreamsError } from '../errors.js';
import {
  groupByTopic,
  partitionKey,
  type GroupHandlers,
  type OutgoingTopicMessages,
  type StreamsBatch,
  type StreamsConnection,
  type StreamsGroupConsumer,
  type StreamsMessage,
  type StreamsProducer,
  type StreamsTransaction,
  type TopicToCreate,
} from './connection.js';

/** Kafka's range assignor for kafkajs consumers. */
const rangePartitionAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,
  async assign({ members, topics }) {
    const counts = new Map(topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).length] as const));
    const assignment = rangeAssignor.assign(
      members.map(({ memberId, memberMetadata }) => {
        const metadata = AssignerProtocol.MemberMetadata.decode(memberMetadata);
        return { memberId, groupInstanceId: null, subscription: { version: 0, topics: metadata?.topics ?? [], userData: null, ownedPartitions: [], generationId: -1, rackId: null } };
      }),
      counts,
    );
    return [...assignment].map(([memberId, partitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: Object.fromEntries(partitions.map(({ topic, partitions: numbers }) => [topic, numbers])),
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return { name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});

interface KafkajsMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

function toStreamsMessage(message: KafkajsMessage): StreamsMessage {
  const headers: ConsumedHeaders = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map((part) => Buffer.from(part)) : Buffer.from(value);
  }
  return { key: message.key, value: message.value, timestamp: Number(message.timestamp), offset: Number(message.offset), headers };
}

/**
 * Kafka's fetch.max.wait.ms (500 ms) for every consumer here, not kafkajs's 5 s: kafkajs's
 * disconnect waits for the fetch in flight, so its long poll was added to every close of the
 * application and to every changelog restore (a throwaway consumer disconnected once at the end).
 */
const FETCH_MAX_WAIT_MS = 500;

/**
 * What one kafkajs sendBatch call carries at most. kafkajs groups a call's messages by partition
 * by copying each partition's array once per message (producer/groupMessagesPerPartition.js in
 * 2.2.4), so a call costs the square of its messages per partition: 80,000 messages over 4
 * partitions took 14 s of CPU, 20,000 took 0.2 s. And it writes each partition's messages of a
 * call as one record batch, which the broker refuses past max.message.bytes (1 MB by default). A
 * stream thread's commit interval can collect hundreds of thousands of records (every
 * repartition, changelog and output record of a fetched batch), so they go in calls of at most
 * this many messages and key and value bytes, one after the other.
 */
const SEND_BATCH_MESSAGES_MAX = 2_000;
const SEND_BATCH_BYTES_MAX = 512 * 1024;

/** The messages in slices within SEND_BATCH_MESSAGES_MAX and SEND_BATCH_BYTES_MAX (a larger message alone), in order. */
function sendBatchSlices(topicMessages: OutgoingTopicMessages[]): OutgoingTopicMessages[][] {
  const slices: OutgoingTopicMessages[][] = [];
  let slice: OutgoingTopicMessages[] = [];
  let sliceMessages = 0;
  let sliceBytes = 0;
  for (const { topic, messages } of topicMessages) {
    let entry: OutgoingTopicMessages | null = null;
    for (const message of messages) {
      const bytes = (message.key?.length ?? 0) + (message.value?.length ?? 0);
      if (sliceMessages > 0 && (sliceMessages === SEND_BATCH_MESSAGES_MAX || sliceBytes + bytes > SEND_BATCH_BYTES_MAX)) {
        slices.push(slice);
        slice = [];
        entry = null;
        sliceMessages = 0;
        sliceBytes = 0;
      }
      if (entry === null) slice.push((entry = { topic, messages: [] }));
      entry.messages.push(message);
      sliceMessages++;
      sliceBytes += bytes;
    }
  }
  if (slice.length > 0) slices.push(slice);
  return slices;
}

async function sendInSlices(send: (batch: { topicMessages: ReturnType<typeof toKafkajsMessages>; acks: -1 }) => Promise<unknown>, topicMessages: OutgoingTopicMessages[]): Promise<void> {
  for (const slice of sendBatchSlices(topicMessages)) await send({ topicMessages: toKafkajsMessages(slice), acks: -1 });
}

function toKafkajsMessages(topicMessages: OutgoingTopicMessages[]) {
  return topicMessages.map(({ topic, messages }) => ({
    topic,
    messages: messages.map((message) => ({
      key: message.key,
      value: message.value,
      timestamp: String(message.timestamp),
      ...(message.partition === undefined ? {} : { partition: message.partition }),
      ...(message.headers === undefined ? {} : { headers: message.headers as Record<string, Buffer | Buffer[]> }),
    })),
  }));
}

export class KafkaJsConnection implements StreamsConnection {
  private readonly clients = new Set<{ disconnect(): Promise<void> }>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
  ) {}

  static async open(bootstrapServers: string | string[], clientId: string): Promise<KafkaJsConnection> {
    // kafkajs warns on every producer that its default partitioner changed in 2.0; ours is the new one (murmur2, as Kafka's) on purpose.
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    const kafkajs = (await import('kafkajs')).default as unknown as typeof import('kafkajs');
    registerKafkajsCodecs(kafkajs);
    const kafka = new Kafka({
      clientId,
      brokers: Array.isArray(bootstrapServers) ? bootstrapServers : bootstrapServers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    return new KafkaJsConnection(kafka, admin);
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const existing = new Set(await this.admin.listTopics());
    const wanted = topics.filter((topic) => existing.has(topic));
    const counts = new Map<string, number>();
    if (wanted.length === 0) return counts;
    const { topics: metadata } = await this.admin.fetchTopicMetadata({ topics: wanted });
    for (const topic of metadata) counts.set(topic.name, topic.partitions.length);
    return counts;
  }

  async createTopics(topics: readonly TopicToCreate[]): Promise<void> {
    if (topics.length === 0) return;
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: topics.map(({ topic, numPartitions, configs }) => ({
        topic,
        numPartitions,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async readToEnd(topic: string, partition: number, fromOffset: number, readCommitted: boolean, apply: (message: StreamsMessage) => void): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    const entry = offsets.find((candidate) => candidate.partition === partition);
    if (entry === undefined) throw new StreamsError(`topic ${topic} has no partition ${partition}`);
    const end = Number(entry.high);
    const start = Math.max(fromOffset, Number(entry.low));
    if (start >= end) return end;
    const consumer = this.kafka.consumer({ groupId: `${topic}-reader-${randomUUID()}`, readUncommitted: !readCommitted, partitionAssigners: [rangePartitionAssigner], maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
    this.clients.add(consumer);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const reached = (offset: number): void => {
          if (offset >= end - 1) resolve();
        };
        consumer.on(consumer.events.END_BATCH_PROCESS, (event: { payload: { topic: string; partition: number; lastOffset: string } }) => {
          if (event.payload.topic === topic && event.payload.partition === partition) reached(Number(event.payload.lastOffset));
        });
        consumer.on(consumer.events.CRASH, (event: { payload: { error: Error } }) => reject(event.payload.error));
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                if (offset < start || offset >= end) continue;
                apply(toStreamsMessage(message));
              }
            },
          })
          .then(() => {
            for (const other of offsets) if (other.partition !== partition) consumer.pause([{ topic, partitions: [other.partition] }]);
            consumer.seek({ topic, partition, offset: String(start) });
          }, reject);
      });
    } finally {
      this.clients.delete(consumer);
      await consumer.disconnect();
    }
    return end;
  }

  /**
   * kafkajs's OffsetFetch (v1-v4) predates require_stable, and its TxnOffsetCommit (v0-v1) the
   * group metadata: against a Kafka-protocol server a task taken over reads the offsets committed
   * so far, and a transaction's offsets are not checked against the member's generation.
   */
  async committedOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, number>> {
    const wanted = new Set(partitions.map(({ topic, partition }) => partitionKey(topic, partition)));
    const offsets = new Map<string, number>();
    const topics = [...new Set(partitions.map(({ topic }) => topic))];
    for (const { topic, partitions: fetched } of await this.admin.fetchOffsets({ groupId, topics })) {
      for (const { partition, offset } of fetched) {
        const key = partitionKey(topic, partition);
        if (wanted.has(key) && Number(offset) >= 0) offsets.set(key, Number(offset));
      }
    }
    return offsets;
  }

  async follow(topic: string, startOffsets: ReadonlyMap<number, number>, readCommitted: boolean, onBatch: (batch: StreamsBatch) => Promise<void>): Promise<{ close(): Promise<void> }> {
    const consumer = this.kafka.consumer({ groupId: `${topic}-follower-${randomUUID()}`, readUncommitted: !readCommitted, partitionAssigners: [rangePartitionAssigner], maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
    this.clients.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const from = startOffsets.get(batch.partition) ?? 0;
        const messages = batch.messages.filter((message) => Number(message.offset) >= from).map(toStreamsMessage);
        if (messages.length > 0) await onBatch({ topic: batch.topic, partition: batch.partition, messages });
      },
    });
    for (const [partition, offset] of startOffsets) consumer.seek({ topic, partition, offset: String(offset) });
    return {
      close: async () => {
        this.clients.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async groupConsumer(groupId: string, topics: readonly string[], readCommitted: boolean, handlers: GroupHandlers): Promise<StreamsGroupConsumer> {
    const consumer: Consumer = this.kafka.consumer({ groupId, readUncommitted: !readCommitted, partitionAssigners: [rangePartitionAssigner], maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
    this.clients.add(consumer);
    // kafkajs rebalances eagerly and says nothing of what it revokes: everything it was given.
    let assigned: { topic: string; partitions: number[] }[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (event: { payload: { memberAssignment: Record<string, number[]> } }) => {
      assigned = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
      handlers.onAssigned(assigned);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (assigned.length > 0) handlers.onRevoked(assigned);
      assigned = [];
    });
    consumer.on(consumer.events.CRASH, (event: { payload: { error: Error; restart: boolean } }) => {
      if (!event.payload.restart) handlers.onFatal(event.payload.error);
    });
    await consumer.connect();
    // Kafka Streams' auto.offset.reset is earliest.
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        await handlers.onBatch({ topic: batch.topic, partition: batch.partition, messages: batch.messages.map(toStreamsMessage) });
      },
    });
    return {
      commit: (offsets) => consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) }))),
      groupMetadata: () => null,
      seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset: String(offset) }),
      close: async () => {
        this.clients.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async producer(transactionalId: string | null): Promise<StreamsProducer> {
    // A transaction begun right after a commit meets CONCURRENT_TRANSACTIONS until the commit's
    // markers are written; kafkajs's default backoff (from 300 ms, doubling) would stall the
    // thread for seconds each time, where Kafka's Java producer retries every 20 ms. Retries stay
    // unlimited, as an idempotent producer's must.
    const producer: Producer =
      transactionalId === null
        ? this.kafka.producer()
        : this.kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, retry: { initialRetryTime: 20, maxRetryTime: 1_000, retries: Number.MAX_SAFE_INTEGER } });
    this.clients.add(producer);
    await producer.connect();
    return {
      sendBatch: (topicMessages) => sendInSlices((batch) => producer.sendBatch(batch), topicMessages),
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
    await this.admin.disconnect();
  }
}

function wrapTransaction(transaction: Transaction): StreamsTransaction {
  return {
    sendBatch: (topicMessages) => sendInSlices((batch) => transaction.sendBatch(batch), topicMessages),
    sendOffsets: (groupId, offsets) =>
      transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: groupByTopic(offsets).map(({ topic, partitions }) => ({ topic, partitions: partitions.map(({ partition, offset }) => ({ partition, offset: String(offset) })) })),
      }),
    commit: () => transaction.commit(),
    abort: () => transaction.abort(),
  };
}
