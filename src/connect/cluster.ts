/**
 * Where a worker's topics live: the embedded broker of a data directory (Sluice's own clients,
 * in process), or any Kafka-protocol broker (`bootstrap.servers`, through kafkajs). The worker
 * sees one small interface with offsets as numbers; the two kafkajs-shaped client families differ
 * only in that kafkajs spells offsets and timestamps as strings, converted here.
 */
import { randomUUID } from 'node:crypto';
import type * as KafkaJS from 'kafkajs';
import { registerKafkajsCodecs } from '../client/kafkajs-codecs.js';
import { ConnectError, GroupIdNotFoundError } from '../errors.js';
import { Sluice } from '../sluice.js';
import type { TopicPartition, TopicPartitionOffset } from './api.js';

export interface OutgoingRecord {
  readonly topic: string;
  readonly partition: number | null;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer>;
  readonly timestamp: number | null;
}

export interface IncomingRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | Buffer[] | null>;
  readonly timestamp: number;
}

export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly IncomingRecord[];
}

/** A transaction's writes: records, then commit or abort. */
export interface ClusterTransaction {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface ClusterProducer {
  /** Resolves once every record is acknowledged by all in-sync replicas (acks=all). */
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Transactional producers only. */
  transaction(): Promise<ClusterTransaction>;
  close(): Promise<void>;
}

export interface ConsumerHandlers {
  /** One fetched batch of a partition at a time; the next comes once it resolves. */
  batch(batch: IncomingBatch): Promise<void>;
  assigned(partitions: TopicPartition[]): void;
  /** Resolves once what was read from these partitions is flushed and committed. */
  revoked(partitions: TopicPartition[]): Promise<void>;
  crashed(error: Error): void;
}

export interface ClusterConsumer {
  subscribe(topics: readonly string[] | RegExp): Promise<void>;
  run(handlers: ConsumerHandlers): Promise<void>;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  assignment(): TopicPartition[];
  close(): Promise<void>;
}

export interface ConsumerSettings {
  readonly groupId: string;
  readonly clientId: string;
  readonly readCommitted?: boolean;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
}

export interface TopicSpec {
  readonly partitions?: number;
  /** -1 or absent: the broker's default. */
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

/** Offsets grouped by topic, as the admin calls that set them take them. */
function byTopic(offsets: readonly TopicPartitionOffset[]): Map<string, { partition: number; offset: number }[]> {
  const grouped = new Map<string, { partition: number; offset: number }[]>();
  for (const { topic, partition, offset } of offsets) {
    let list = grouped.get(topic);
    if (list === undefined) grouped.set(topic, (list = []));
    list.push({ partition, offset });
  }
  return grouped;
}

export interface Cluster {
  /** Creates the topic unless it exists. */
  ensureTopic(topic: string, spec: TopicSpec): Promise<void>;
  producer(options: { transactionalId?: string; clientId: string }): Promise<ClusterProducer>;
  consumer(options: ConsumerSettings): Promise<ClusterConsumer>;
  /** The group's committed offsets (partitions without one left out). */
  committedOffsets(groupId: string): Promise<TopicPartitionOffset[]>;
  /** Commits offsets for a group without running members (KIP-875's alter of a stopped sink). */
  setCommittedOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Deletes a group without members and its offsets; a group that does not exist is already gone. */
  deleteGroup(groupId: string): Promise<void>;
  /** The next offset of each partition of the topic. */
  endOffsets(topic: string): Promise<{ partition: number; offset: number }[]>;
  /**
   * Hands every committed record of the topic, from its start to its end as of the call, to
   * `apply` in order per partition (read_committed: records of aborted or open transactions are
   * not handed out; an open one is waited for).
   */
  replay(topic: string, apply: (record: IncomingRecord) => void): Promise<void>;
  /** Hands the topic's committed records to `apply` from its start, and the new ones as they come. */
  tail(topic: string, apply: (record: IncomingRecord) => void): Promise<TopicTail>;
  /** The Kafka cluster id; null for an embedded broker, which is served under none. */
  clusterId(): Promise<string | null>;
  close(): Promise<void>;
}

type GroupedPartitions = { topic: string; partitions: number[] }[];

function groupByTopic(partitions: readonly TopicPartition[]): GroupedPartitions {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}

function flatten(grouped: Record<string, number[]> | GroupedPartitions): TopicPartition[] {
  const entries = Array.isArray(grouped) ? grouped.map((entry) => [entry.topic, entry.partitions] as const) : Object.entries(grouped);
  return entries.flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
}

function messageOf(record: OutgoingRecord, timestamp: (ms: number) => number | string): KafkaJS.Message {
  return {
    key: record.key,
    value: record.value,
    headers: record.headers,
    ...(record.partition === null ? {} : { partition: record.partition }),
    ...(record.timestamp === null ? {} : { timestamp: timestamp(record.timestamp) as string }),
  };
}

/** Records grouped per topic in their order, for sendBatch. */
function topicMessages(records: readonly OutgoingRecord[], timestamp: (ms: number) => number | string): { topic: string; messages: KafkaJS.Message[] }[] {
  const byTopic = new Map<string, KafkaJS.Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (messages === undefined) byTopic.set(record.topic, (messages = []));
    messages.push(messageOf(record, timestamp));
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * The structural surface shared by Sluice's clients and kafkajs's that the adapters use; offsets
 * and timestamps cross as `number | string` and are converted by the adapter's `toWire`.
 */
interface KafkaLikeConsumer {
  subscribe(options: { topics: (string | RegExp)[]; fromBeginning: boolean }): Promise<void>;
  run(options: { autoCommit: boolean; eachBatchAutoResolve: boolean; eachBatch: (payload: { batch: { topic: string; partition: number; messages: unknown[] }; isStale(): boolean }) => Promise<void> }): Promise<void>;
  commitOffsets(offsets: { topic: string; partition: number; offset: never }[]): Promise<void>;
  pause(topics: GroupedPartitions): void;
  resume(topics: GroupedPartitions): void;
  on(event: string, listener: (event: { payload: Record<string, unknown> }) => void): unknown;
  events: { GROUP_JOIN: string; REBALANCING?: string; CRASH: string };
  disconnect(): Promise<void>;
}

class KafkaLikeClusterConsumer implements ClusterConsumer {
  private held: TopicPartition[] = [];

  constructor(
    private readonly consumer: KafkaLikeConsumer,
    private readonly toWire: (offset: number) => number | string,
  ) {}

  async subscribe(topics: readonly string[] | RegExp): Promise<void> {
    await this.consumer.subscribe({ topics: topics instanceof RegExp ? [topics] : [...topics], fromBeginning: true });
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const assignment = flatten(payload.memberAssignment as Record<string, number[]>);
      const added = assignment.filter((tp) => !this.held.some((held) => held.topic === tp.topic && held.partition === tp.partition));
      this.held = assignment;
      if (added.length > 0) handlers.assigned(added);
    });
    if (this.consumer.events.REBALANCING !== undefined) {
      // Sluice's consumer names what it gives up before rejoining; kafkajs's does not, so its sinks
      // commit at their flush interval and on stop (at least once either way).
      this.consumer.on(this.consumer.events.REBALANCING, ({ payload }) => {
        const revoked = flatten((payload.revoked as GroupedPartitions | undefined) ?? []);
        this.held = this.held.filter((tp) => !revoked.some((gone) => gone.topic === tp.topic && gone.partition === tp.partition));
        if (revoked.length > 0) void handlers.revoked(revoked).catch((error: Error) => handlers.crashed(error));
      });
    }
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart !== true) handlers.crashed(payload.error as Error);
    });
    await this.consumer.run({
      autoCommit: false,
      // Resolving moves the fetch position past the batch; nothing is committed but by commit().
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, isStale }) => {
        if (isStale()) return;
        const records = (batch.messages as { offset: number | string; key: Buffer | null; value: Buffer | null; headers?: Record<string, Buffer | Buffer[] | null>; timestamp: number | string }[]).map((message) => ({
          offset: Number(message.offset),
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
          timestamp: Number(message.timestamp),
        }));
        await handlers.batch({ topic: batch.topic, partition: batch.partition, records });
      },
    });
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: this.toWire(offset) as never })));
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.consumer.pause(groupByTopic(partitions));
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.consumer.resume(groupByTopic(partitions));
  }

  assignment(): TopicPartition[] {
    return [...this.held];
  }

  close(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/** The key of replay's end markers: a tombstone, so compaction removes them. */
export const REPLAY_MARKER_KEY = Buffer.from('sluice.connect.replay-marker');
const REPLAY_MARKER_HEADER = 'sluice.connect.replay-marker';

type MessageLike = { key: Buffer | null; value: Buffer | null; offset: number | string; timestamp: number | string; headers?: Record<string, Buffer | Buffer[] | null | undefined> };

/** A topic read continuously from its start (Kafka's KafkaBasedLog). */
export interface TopicTail {
  /** Resolves once every record committed before the call was handed out. */
  readToEnd(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a tail knows it read to the end: a consumer's position passes control records it never
 * hands out, so the end offset alone cannot tell when the last record arrived. Instead a marker
 * with a fresh id is written to every partition, and the read is at the end once each partition's
 * marker came back: everything committed before it was handed out by then.
 */
async function tailWithMarkers(
  cluster: Cluster,
  topic: string,
  apply: (record: IncomingRecord) => void,
  read: (onMessage: (partition: number, message: MessageLike) => void) => Promise<{ stop(): Promise<void> }>,
): Promise<TopicTail> {
  const pending = new Map<string, { waiting: Set<number>; done: () => void }>();
  const reader = await read((partition, message) => {
    if (message.key !== null && message.key.equals(REPLAY_MARKER_KEY)) {
      const header = message.headers?.[REPLAY_MARKER_HEADER];
      const entry = Buffer.isBuffer(header) ? pending.get(header.toString('utf8')) : undefined;
      if (entry !== undefined && entry.waiting.delete(partition) && entry.waiting.size === 0) entry.done();
      return;
    }
    apply({ offset: Number(message.offset), key: message.key, value: message.value, headers: (message.headers ?? {}) as IncomingRecord['headers'], timestamp: Number(message.timestamp) });
  });
  let producer: Promise<ClusterProducer> | null = null;
  return {
    async readToEnd() {
      const partitions = (await cluster.endOffsets(topic)).map((entry) => entry.partition);
      const marker = randomUUID();
      const reached = new Promise<void>((resolve) => pending.set(marker, { waiting: new Set(partitions), done: resolve }));
      try {
        producer ??= cluster.producer({ clientId: clientIdFor('tail') });
        const headers = { [REPLAY_MARKER_HEADER]: Buffer.from(marker) };
        await (await producer).send(partitions.map((partition) => ({ topic, partition, key: REPLAY_MARKER_KEY, value: null, headers, timestamp: null })));
        await reached;
      } finally {
        pending.delete(marker);
      }
    },
    async close() {
      await reader.stop();
      await (await producer)?.close();
    },
  };
}

/** Every committed record of the topic to its end as of the call, then stops. */
async function replayOnce(tail: TopicTail): Promise<void> {
  try {
    await tail.readToEnd();
  } finally {
    await tail.close();
  }
}

/** The embedded broker of a data directory, opened (and closed) by this cluster, or one the caller owns. */
export class EmbeddedCluster implements Cluster {
  constructor(
    readonly sluice: Sluice,
    private readonly owned: boolean,
  ) {}

  static async open(dataDir: string, logger: { info(line: string): void; warn(line: string): void }): Promise<EmbeddedCluster> {
    // Workers of one process are the only members of their groups: no other member to wait for.
    return new EmbeddedCluster(await Sluice.open({ dataDir, groupInitialRebalanceDelayMs: 0, logger }), true);
  }

  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    await this.sluice.admin().createTopics({
      topics: [{ topic, ...(spec.partitions === undefined ? {} : { numPartitions: spec.partitions }), ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }), configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })) }],
    });
  }

  async producer(options: { transactionalId?: string }): Promise<ClusterProducer> {
    const producer = this.sluice.producer({ acks: -1, idempotent: true, ...(options.transactionalId === undefined ? {} : { transactionalId: options.transactionalId }) });
    await producer.connect();
    const identity = (ms: number): number => ms;
    return {
      send: async (records) => {
        await producer.sendBatch({ topicMessages: topicMessages(records, identity) as never });
      },
      transaction: async () => {
        const transaction = await producer.transaction();
        return {
          send: async (records) => void (await transaction.sendBatch({ topicMessages: topicMessages(records, identity) as never })),
          commit: () => transaction.commit(),
          abort: () => transaction.abort(),
        };
      },
      close: () => producer.disconnect(),
    };
  }

  async consumer(options: ConsumerSettings): Promise<ClusterConsumer> {
    const consumer = this.sluice.consumer({
      groupId: options.groupId,
      clientId: options.clientId,
      ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeout: options.sessionTimeoutMs }),
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatInterval: options.heartbeatIntervalMs }),
      autoOffsetReset: 'earliest',
      isolationLevel: options.readCommitted === true ? 'read_committed' : 'read_uncommitted',
    });
    await consumer.connect();
    return new KafkaLikeClusterConsumer(consumer as unknown as KafkaLikeConsumer, (offset) => offset);
  }

  async setCommittedOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const [topic, partitions] of byTopic(offsets)) await this.sluice.admin().setOffsets({ groupId, topic, partitions });
  }

  async deleteGroup(groupId: string): Promise<void> {
    try {
      await this.sluice.admin().deleteGroups([groupId]);
    } catch (error) {
      if (!(error instanceof GroupIdNotFoundError)) throw error;
    }
  }

  async committedOffsets(groupId: string): Promise<TopicPartitionOffset[]> {
    const topics = await this.sluice.admin().fetchOffsets({ groupId });
    return topics.flatMap(({ topic, partitions }) => partitions.filter((entry) => entry.offset >= 0).map(({ partition, offset }) => ({ topic, partition, offset })));
  }

  async endOffsets(topic: string): Promise<{ partition: number; offset: number }[]> {
    return (await this.sluice.admin().fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: high }));
  }

  async replay(topic: string, apply: (record: IncomingRecord) => void): Promise<void> {
    await replayOnce(await this.tail(topic, apply));
  }

  tail(topic: string, apply: (record: IncomingRecord) => void): Promise<TopicTail> {
    return tailWithMarkers(this, topic, apply, async (onMessage) => {
      const consumer = this.sluice.consumer({ isolationLevel: 'read_committed' });
      await consumer.connect();
      consumer.assign((await this.endOffsets(topic)).map(({ partition }) => ({ topic, partition, offset: 0 })));
      await consumer.run({ eachMessage: ({ partition, message }) => onMessage(partition, message) });
      return { stop: () => consumer.disconnect() };
    });
  }

  async clusterId(): Promise<string | null> {
    return null;
  }

  async close(): Promise<void> {
    if (this.owned) await this.sluice.close();
  }
}

/**
 * Kafka's fetch.max.wait.ms default; kafkajs waits 5000 ms, and a consumer's disconnect waits for
 * its fetch in flight, which would make every stop of a sink task or a worker take seconds.
 */
const KAFKA_FETCH_MAX_WAIT_MS = 500;

/** A Kafka-protocol broker (a `sluice serve`, or any Kafka cluster) through kafkajs. */
export class KafkaCluster implements Cluster {
  private readonly clients = new Set<{ disconnect(): Promise<void> }>();

  private constructor(
    private readonly kafka: KafkaJS.Kafka,
    private readonly admin: KafkaJS.Admin,
  ) {}

  static async open(bootstrapServers: readonly string[]): Promise<KafkaCluster> {
    // kafkajs warns on every producer that its default partitioner changed in 2.0; the new one is wanted.
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    const kafkajs = (await import('kafkajs')).default as typeof KafkaJS;
    registerKafkajsCodecs(kafkajs);
    const kafka = new kafkajs.Kafka({ clientId: 'sluice-connect', brokers: [...bootstrapServers], logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    try {
      await admin.connect();
    } catch (error) {
      throw new ConnectError(`cannot reach bootstrap.servers ${bootstrapServers.join(',')}: ${(error as Error).message}`, { cause: error });
    }
    return new KafkaCluster(kafka, admin);
  }

  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    const existing = await this.admin.listTopics();
    if (existing.includes(topic)) return;
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, ...(spec.partitions === undefined ? {} : { numPartitions: spec.partitions }), ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }), configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })) }],
    });
  }

  async producer(options: { transactionalId?: string; clientId: string }): Promise<ClusterProducer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: true,
      ...(options.transactionalId === undefined ? {} : { transactionalId: options.transactionalId }),
    });
    await producer.connect();
    this.clients.add(producer);
    const asString = (ms: number): string => String(ms);
    return {
      send: async (records) => void (await producer.sendBatch({ acks: -1, topicMessages: topicMessages(records, asString) })),
      transaction: async () => {
        const transaction = await producer.transaction();
        return {
          send: async (records) => void (await transaction.sendBatch({ acks: -1, topicMessages: topicMessages(records, asString) })),
          commit: () => transaction.commit(),
          abort: () => transaction.abort(),
        };
      },
      close: async () => {
        this.clients.delete(producer);
        await producer.disconnect();
      },
    };
  }

  async consumer(options: ConsumerSettings): Promise<ClusterConsumer> {
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: options.readCommitted !== true,
      maxWaitTimeInMs: KAFKA_FETCH_MAX_WAIT_MS,
      ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeout: options.sessionTimeoutMs }),
      ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatInterval: options.heartbeatIntervalMs }),
    });
    await consumer.connect();
    this.clients.add(consumer);
    return new KafkaLikeClusterConsumer(consumer as unknown as KafkaLikeConsumer, (offset) => String(offset));
  }

  async setCommittedOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const [topic, partitions] of byTopic(offsets)) {
      await this.admin.setOffsets({ groupId, topic, partitions: partitions.map(({ partition, offset }) => ({ partition, offset: String(offset) })) });
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    const groups = await this.admin.listGroups();
    if (groups.groups.some((group) => group.groupId === groupId)) await this.admin.deleteGroups([groupId]);
  }

  async committedOffsets(groupId: string): Promise<TopicPartitionOffset[]> {
    const groups = await this.admin.listGroups();
    if (!groups.groups.some((group) => group.groupId === groupId)) return [];
    const topics = await this.admin.fetchOffsets({ groupId });
    return topics.flatMap(({ topic, partitions }) =>
      partitions.filter((entry) => Number(entry.offset) >= 0).map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) })),
    );
  }

  async endOffsets(topic: string): Promise<{ partition: number; offset: number }[]> {
    return (await this.admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: Number(high) }));
  }

  async replay(topic: string, apply: (record: IncomingRecord) => void): Promise<void> {
    await replayOnce(await this.tail(topic, apply));
  }

  tail(topic: string, apply: (record: IncomingRecord) => void): Promise<TopicTail> {
    return tailWithMarkers(this, topic, apply, async (onMessage) => {
      // kafkajs reads only through a group: one of its own that commits nothing.
      const consumer = this.kafka.consumer({ groupId: clientIdFor('replay'), readUncommitted: false, maxWaitTimeInMs: KAFKA_FETCH_MAX_WAIT_MS });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => onMessage(partition, message as MessageLike) });
      return { stop: () => consumer.disconnect() };
    });
  }

  async clusterId(): Promise<string | null> {
    return (await this.admin.describeCluster()).clusterId;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients].map((client) => client.disconnect()));
    await this.admin.disconnect();
  }
}

/** A client id unique to this process and purpose. */
export function clientIdFor(purpose: string): string {
  return `connect-${purpose}-${randomUUID().slice(0, 8)}`;
}
