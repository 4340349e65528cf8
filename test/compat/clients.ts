/**
 * The Kafka clients of the compatibility suite, each behind the same few operations, each a real
 * program nobody here wrote:
 *  - kcat (Debian; librdkafka 2.0) and Debian's python3-confluent-kafka (its own librdkafka), run
 *    as child processes;
 *  - kafkajs 2.2.4 (LZ4 through the lz4-kafkajs plug-in), @platformatic/kafka and
 *    @confluentinc/kafka-javascript (a current librdkafka, built from source by
 *    scripts/build-kafka-javascript.mjs), in this process.
 * Every operation resolves when the client says it is done and rejects with the client's error.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Platformatic from '@platformatic/kafka';
import { CompressionCodecs, CompressionTypes, ConfigResourceTypes, Kafka as KafkaJs, logLevel } from 'kafkajs';

/** Kafka's codec names, as compression.type spells them. */
export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface KeyedValue {
  key: string;
  value: string;
}

export interface ConsumedRecord extends KeyedValue {
  topic: string;
  partition: number;
  offset: number;
}

/** The cluster as a client describes it. */
export interface ClusterDescription {
  /** null when the client does not report it. */
  clusterId: string | null;
  controllerId: number;
  brokers: { nodeId: number; host: string; port: number }[];
}

/** Consumer settings short enough for a test to wait out a dead member's session (the server must allow it). */
export const GROUP_MEMBER_SESSION_TIMEOUT_MS = 3_000;
export const GROUP_MEMBER_HEARTBEAT_INTERVAL_MS = 500;

/**
 * A consumer group member running as its own process until it is killed. Each record it reads is
 * reported (after its offset is committed, for the clients that commit per record) as a line
 * "topic\tpartition\toffset\tkey\tvalue" on its stdout.
 */
export class GroupMemberProcess {
  readonly records: ConsumedRecord[] = [];
  stderr = '';
  readonly exited: Promise<void>;
  private pending = '';

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (this.pending + chunk).split('\n');
      this.pending = lines.pop()!;
      for (const line of lines) {
        const [topic, partition, offset, key, value] = line.split('\t');
        this.records.push({ topic, partition: Number(partition), offset: Number(offset), key, value });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => child.on('close', () => resolve()));
  }

  /** True once the process has ended (it is only ever meant to be killed). */
  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async kill(): Promise<void> {
    if (!this.hasExited) this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface ClientDriver {
  readonly name: string;
  /** The client and the versions it runs, read from the client itself: "kafkajs 2.2.4", "kcat 1.7.1 (librdkafka 2.0.2)". */
  version(): Promise<string>;
  /** The codecs this client can produce with. */
  readonly codecs: readonly Codec[];
  /** Topic names from an all-topics Metadata request. */
  listTopics(): Promise<string[]>;
  /** CreateTopics; null when the client has no way to create a topic (it relies on auto-creation). */
  readonly createTopic: ((topic: string, partitions: number) => Promise<void>) | null;
  /** CreatePartitions up to `count` in all; null when the client has no call for it. */
  readonly createPartitions: ((topic: string, count: number) => Promise<void>) | null;
  /** DescribeConfigs of a topic: name -> value; null when the client has no call for it. */
  readonly describeTopicConfigs: ((topic: string) => Promise<Map<string, string | null>>) | null;
  /** Sets one config of a topic (AlterConfigs or IncrementalAlterConfigs); null when the client has no call for it. */
  readonly alterTopicConfig: ((topic: string, name: string, value: string) => Promise<void>) | null;
  /** DeleteRecords: the records of the partition before `offset` go; null when the client has no call for it. */
  readonly deleteRecords: ((topic: string, partition: number, offset: number) => Promise<void>) | null;
  /** The client's description of the cluster (DescribeCluster, or Metadata where that is its call); null when it has none. */
  readonly describeCluster: (() => Promise<ClusterDescription>) | null;
  produce(topic: string, records: readonly KeyedValue[], codec: Codec): Promise<void>;
  /**
   * Zombie fencing: producer A with `transactionalId` begins a transaction and sends `zombieRecords`;
   * producer B inits the same id; A's commit is refused, and the name of the error the client
   * surfaces is returned; B then commits `records` in a transaction. Null when the client has no
   * transactions.
   */
  readonly fenceZombie:
    | ((topic: string, transactionalId: string, zombieRecords: readonly KeyedValue[], records: readonly KeyedValue[]) => Promise<string>)
    | null;
  /** Starts a member of `groupId` subscribed to `topic` from the earliest offset in a process of its own. */
  startGroupMember(groupId: string, topic: string): GroupMemberProcess;
  /** Produces `records` in one transaction and ends it; null when the client has no transactions. */
  readonly produceTransaction: ((topic: string, records: readonly KeyedValue[], outcome: 'commit' | 'abort') => Promise<void>) | null;
  /** Produces with the client's idempotent producer (InitProducerId, then sequenced batches). */
  produceIdempotently(topic: string, records: readonly KeyedValue[]): Promise<void>;
  /** Joins `groupId` subscribed to `topics` from the earliest offset (read_committed), reads `count` records, commits and leaves. */
  consume(groupId: string, topics: readonly string[], count: number): Promise<ConsumedRecord[]>;
  /** ListOffsets by timestamp: the first offset whose timestamp is at or after `timestampMs`. */
  offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
/** Debian's interpreter, which has python3-confluent-kafka (a python3 earlier on the PATH may not). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const CHILD_TIMEOUT_MS = 30_000;
const GROUP_MEMBER_SCRIPT = join(HERE, 'group_member.mjs');

/** The version of an installed npm package (some packages do not export their package.json). */
function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(HERE, '../../node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function startNodeGroupMember(client: 'kafkajs' | 'platformatic' | 'confluent', bootstrap: string, groupId: string, topic: string): GroupMemberProcess {
  const args = [GROUP_MEMBER_SCRIPT, client, bootstrap, groupId, topic, String(GROUP_MEMBER_SESSION_TIMEOUT_MS), String(GROUP_MEMBER_HEARTBEAT_INTERVAL_MS)];
  return new GroupMemberProcess(spawn(process.execPath, args));
}

function run(command: string, args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
    // A child that exits before reading its input (it failed) closes the pipe: its error is reported above, not as EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}

// ---- kcat ----

export function kcatDriver(bootstrap: string): ClientDriver {
  const kcat = (args: string[], input?: string) => run('kcat', ['-b', bootstrap, ...args], input);
  return {
    name: 'kcat',
    async version() {
      const match = /^Version (\S+) .*librdkafka (\S+)/m.exec(await kcat(['-V']));
      if (match === null) throw new Error('kcat -V printed no version');
      return `kcat ${match[1]} (librdkafka ${match[2]})`;
    },
    codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    async listTopics() {
      const metadata = JSON.parse(await kcat(['-L', '-J'])) as { topics: { topic: string }[] };
      return metadata.topics.map((topic) => topic.topic);
    },
    createTopic: null,
    createPartitions: null,
    describeTopicConfigs: null,
    alterTopicConfig: null,
    deleteRecords: null,
    async describeCluster() {
      // kcat's cluster view is its metadata listing (-L), which names no cluster id.
      const metadata = JSON.parse(await kcat(['-L', '-J'])) as { controllerid: number; brokers: { id: number; name: string }[] };
      return {
        clusterId: null,
        controllerId: metadata.controllerid,
        brokers: metadata.brokers.map(({ id, name }) => {
          const colon = name.lastIndexOf(':');
          return { nodeId: id, host: name.slice(0, colon), port: Number(name.slice(colon + 1)) };
        }),
      };
    },
    async produce(topic, records, codec) {
      // A delivery failure makes kcat exit non-zero, which run() turns into a rejection.
      await kcat(['-P', '-t', topic, '-K', '\t', '-z', codec], records.map((r) => `${r.key}\t${r.value}\n`).join(''));
    },
    produceTransaction: null,
    fenceZombie: null,
    startGroupMember(groupId, topic) {
      const args = [
        '-b', bootstrap, '-G', groupId, '-u', '-q', '-f', '%t\t%p\t%o\t%k\t%s\n',
        '-X', 'auto.offset.reset=earliest',
        '-X', `session.timeout.ms=${GROUP_MEMBER_SESSION_TIMEOUT_MS}`,
        '-X', `heartbeat.interval.ms=${GROUP_MEMBER_HEARTBEAT_INTERVAL_MS}`,
        // kcat commits on librdkafka's auto-commit timer; a short interval keeps the test's wait short.
        '-X', 'auto.commit.interval.ms=100',
        topic,
      ];
      return new GroupMemberProcess(spawn('kcat', args));
    },
    async produceIdempotently(topic, records) {
      await kcat(['-P', '-t', topic, '-K', '\t', '-X', 'enable.idempotence=true'], records.map((r) => `${r.key}\t${r.value}\n`).join(''));
    },
    async consume(groupId, topics, count) {
      const out = await kcat([
        '-G', groupId, '-X', 'auto.offset.reset=earliest', '-c', String(count), '-f', '%t\t%p\t%o\t%k\t%s\n', '-q', ...topics,
      ]);
      return out
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [topic, partition, offset, key, value] = line.split('\t');
          return { topic, partition: Number(partition), offset: Number(offset), key, value };
        });
    },
    async offsetForTimestamp(topic, partition, timestampMs) {
      const out = await kcat(['-Q', '-t', `${topic}:${partition}:${timestampMs}`]);
      const match = /offset (-?\d+)/.exec(out);
      if (match === null) throw new Error(`kcat -Q printed no offset: ${out}`);
      return Number(match[1]);
    },
    async close() {},
  };
}

// ---- Debian's python3-confluent-kafka ----

export function pythonDriver(bootstrap: string): ClientDriver {
  const script = join(HERE, 'confluent_kafka_client.py');
  const call = async (command: object): Promise<unknown> =>
    JSON.parse(await run(DEBIAN_PYTHON, [script, bootstrap], JSON.stringify(command)));
  return {
    name: 'python3-confluent-kafka',
    version: async () => {
      const { client, librdkafka } = (await call({ op: 'version' })) as { client: string; librdkafka: string };
      return `python3-confluent-kafka ${client} (librdkafka ${librdkafka})`;
    },
    codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    listTopics: async () => (await call({ op: 'list_topics' })) as string[],
    createTopic: async (topic, partitions) => {
      await call({ op: 'create_topic', topic, partitions });
    },
    createPartitions: async (topic, count) => {
      await call({ op: 'create_partitions', topic, count });
    },
    describeTopicConfigs: async (topic) => new Map(Object.entries((await call({ op: 'describe_topic_configs', topic })) as Record<string, string | null>)),
    alterTopicConfig: async (topic, name, value) => {
      await call({ op: 'alter_topic_config', topic, name, value });
    },
    // delete_records came with confluent-kafka 2.4.
    deleteRecords: null,
    describeCluster: async () => (await call({ op: 'describe_cluster' })) as ClusterDescription,
    async produce(topic, records, codec) {
      await call({ op: 'produce', topic, records, codec, idempotent: false });
    },
    async produceIdempotently(topic, records) {
      await call({ op: 'produce', topic, records, codec: 'none', idempotent: true });
    },
    async produceTransaction(topic, records, outcome) {
      await call({ op: 'produce_transaction', topic, records, outcome, transactional_id: 'compat-python-tx' });
    },
    fenceZombie: async (topic, transactionalId, zombieRecords, records) =>
      (await call({ op: 'fence_zombie', topic, transactional_id: transactionalId, zombie_records: zombieRecords, records })) as string,
    startGroupMember(groupId, topic) {
      const member = new GroupMemberProcess(spawn(DEBIAN_PYTHON, [script, bootstrap]));
      member.child.stdin.end(
        JSON.stringify({
          op: 'group_member',
          group: groupId,
          topic,
          session_timeout_ms: GROUP_MEMBER_SESSION_TIMEOUT_MS,
          heartbeat_interval_ms: GROUP_MEMBER_HEARTBEAT_INTERVAL_MS,
        }),
      );
      return member;
    },
    consume: async (groupId, topics, count) => (await call({ op: 'consume', group: groupId, topics, count })) as ConsumedRecord[],
    offsetForTimestamp: async (topic, partition, timestampMs) =>
      (await call({ op: 'offset_for_time', topic, partition, timestamp: timestampMs })) as number,
    async close() {},
  };
}

// ---- kafkajs ----

const KAFKAJS_CODECS: Record<Codec, CompressionTypes | null> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: null,
  lz4: CompressionTypes.LZ4,
  zstd: null,
};

export function kafkajsDriver(bootstrap: string): ClientDriver {
  // lz4-kafkajs is the plug-in kafkajs documents for LZ4 (kafkajs ships gzip only).
  const Lz4 = require('lz4-kafkajs') as new () => { codec: (typeof CompressionCodecs)[CompressionTypes.LZ4] };
  CompressionCodecs[CompressionTypes.LZ4] = new Lz4().codec;
  const kafka = new KafkaJs({ clientId: 'compat-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const idempotentProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const transactionalProducer = kafka.producer({ transactionalId: 'compat-kafkajs-tx', idempotent: true, maxInFlightRequests: 1 });
  const connected = Promise.all([admin.connect(), producer.connect(), idempotentProducer.connect(), transactionalProducer.connect()]);
  return {
    name: 'kafkajs',
    version: async () => `kafkajs ${packageVersion('kafkajs')}`,
    codecs: (Object.keys(KAFKAJS_CODECS) as Codec[]).filter((codec) => KAFKAJS_CODECS[codec] !== null),
    async listTopics() {
      await connected;
      return admin.listTopics();
    },
    async createTopic(topic, partitions) {
      await connected;
      if (!(await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }))) {
        throw new Error(`kafkajs did not create ${topic}`);
      }
    },
    async createPartitions(topic, count) {
      await connected;
      await admin.createPartitions({ topicPartitions: [{ topic, count }] });
    },
    async describeTopicConfigs(topic) {
      await connected;
      const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
      return new Map(resources[0].configEntries.map((entry) => [entry.configName, entry.configValue]));
    },
    async alterTopicConfig(topic, name, value) {
      await connected;
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name, value }] }] });
    },
    async deleteRecords(topic, partition, offset) {
      await connected;
      await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] });
    },
    async describeCluster() {
      await connected;
      const cluster = await admin.describeCluster();
      return { clusterId: cluster.clusterId, controllerId: cluster.controller!, brokers: cluster.brokers };
    },
    async produce(topic, records, codec) {
      await connected;
      await producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })), compression: KAFKAJS_CODECS[codec]! });
    },
    async produceIdempotently(topic, records) {
      await connected;
      await idempotentProducer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    },
    async produceTransaction(topic, records, outcome) {
      await connected;
      const transaction = await transactionalProducer.transaction();
      await transaction.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    },
    async fenceZombie(topic, transactionalId, zombieRecords, records) {
      const zombie = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await Promise.all([zombie.connect(), producer.connect()]);
      try {
        const zombieTransaction = await zombie.transaction();
        await zombieTransaction.send({ topic, messages: [...zombieRecords] });
        const transaction = await producer.transaction();
        const refusal = await zombieTransaction.commit().then(
          () => {
            throw new Error('the fenced producer committed');
          },
          (error: Error & { type?: string }) => error.type ?? error.name,
        );
        await transaction.send({ topic, messages: [...records] });
        await transaction.commit();
        return refusal;
      } finally {
        await Promise.all([zombie.disconnect(), producer.disconnect()]);
      }
    },
    startGroupMember: (groupId, topic) => startNodeGroupMember('kafkajs', bootstrap, groupId, topic),
    async consume(groupId, topics, count) {
      const consumer = kafka.consumer({ groupId });
      const records: ConsumedRecord[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [...topics], fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
          void consumer.run({
            eachMessage: async ({ topic, partition, message }) => {
              records.push({ topic, partition, offset: Number(message.offset), key: String(message.key), value: String(message.value) });
              if (records.length >= count) resolve();
            },
          });
        });
      } finally {
        // stop() commits what eachMessage resolved.
        await consumer.disconnect();
      }
      return records;
    },
    async offsetForTimestamp(topic, partition, timestampMs) {
      await connected;
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
      return Number(offsets.find((entry) => entry.partition === partition)?.offset);
    },
    async close() {
      await Promise.all([admin.disconnect(), producer.disconnect(), idempotentProducer.disconnect(), transactionalProducer.disconnect()]);
    },
  };
}

// ---- @platformatic/kafka ----

export function platformaticDriver(bootstrap: string): ClientDriver {
  const base = { bootstrapBrokers: [bootstrap], clientId: 'compat-platformatic' };
  const admin = new Platformatic.Admin(base);
  const producer = new Platformatic.Producer({ ...base, serializers: Platformatic.stringSerializers });
  const idempotentProducer = new Platformatic.Producer({ ...base, idempotent: true, serializers: Platformatic.stringSerializers });
  const transactionalProducer = new Platformatic.Producer({
    ...base,
    idempotent: true,
    transactionalId: 'compat-platformatic-tx',
    serializers: Platformatic.stringSerializers,
  });
  return {
    name: '@platformatic/kafka',
    version: async () => `@platformatic/kafka ${packageVersion('@platformatic/kafka')}`,
    // Its zstd is node:zlib's, which Node 20 does not have.
    codecs: ['none', 'gzip', 'snappy', 'lz4'],
    listTopics: () => admin.listTopics({ includeInternals: true }),
    async createTopic(topic, partitions) {
      await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
    },
    async createPartitions(topic, count) {
      await admin.createPartitions({ topics: [{ name: topic, count }] });
    },
    async describeTopicConfigs(topic) {
      const [described] = await admin.describeConfigs({ resources: [{ resourceType: Platformatic.ConfigResourceTypes.TOPIC, resourceName: topic }] });
      return new Map(described.configs.map((config) => [config.name, config.value ?? null]));
    },
    async alterTopicConfig(topic, name, value) {
      await admin.alterConfigs({
        resources: [{ resourceType: Platformatic.ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name, value }] }],
      });
    },
    async deleteRecords(topic, partition, offset) {
      await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition, offset: BigInt(offset) }] }] });
    },
    async describeCluster() {
      // Its cluster view is the Metadata response's.
      const metadata = await admin.metadata({ topics: [] });
      return {
        clusterId: metadata.id,
        controllerId: metadata.controllerId,
        brokers: [...metadata.brokers].map(([nodeId, broker]) => ({ nodeId, host: broker.host, port: broker.port })),
      };
    },
    async produce(topic, records, codec) {
      await producer.send({
        messages: records.map((r) => ({ topic, key: r.key, value: r.value })),
        compression: codec === 'none' ? undefined : codec,
        acks: Platformatic.ProduceAcks.LEADER,
      });
    },
    async produceIdempotently(topic, records) {
      await idempotentProducer.send({ messages: records.map((r) => ({ topic, key: r.key, value: r.value })) });
    },
    async produceTransaction(topic, records, outcome) {
      const transaction = await transactionalProducer.beginTransaction();
      await transaction.send({ messages: records.map((r) => ({ topic, key: r.key, value: r.value })) });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    },
    async fenceZombie(topic, transactionalId, zombieRecords, records) {
      const options = { ...base, idempotent: true, transactionalId, serializers: Platformatic.stringSerializers };
      const zombie = new Platformatic.Producer(options);
      // Its InitProducerId otherwise claims producer id 0, epoch 0 (KIP-360's "I am this producer"),
      // which Kafka fences for a transactional id another producer id holds; -1/-1 asks as a new producer.
      const producer = new Platformatic.Producer({ ...options, producerId: -1n, producerEpoch: -1 });
      try {
        const zombieTransaction = await zombie.beginTransaction();
        await zombieTransaction.send({ messages: zombieRecords.map((r) => ({ topic, key: r.key, value: r.value })) });
        const transaction = await producer.beginTransaction();
        const refusal = await zombieTransaction.commit().then(
          () => {
            throw new Error('the fenced producer committed');
          },
          (error: Error) => describePlatformaticError(error),
        );
        await transaction.send({ messages: records.map((r) => ({ topic, key: r.key, value: r.value })) });
        await transaction.commit();
        return refusal;
      } finally {
        await Promise.all([zombie.close(true), producer.close()]);
      }
    },
    startGroupMember: (groupId, topic) => startNodeGroupMember('platformatic', bootstrap, groupId, topic),
    async consume(groupId, topics, count) {
      const consumer = new Platformatic.Consumer({
        ...base,
        groupId,
        isolationLevel: Platformatic.FetchIsolationLevels.READ_COMMITTED,
        deserializers: Platformatic.stringDeserializers,
      });
      const records: ConsumedRecord[] = [];
      try {
        const stream = await consumer.consume({ topics: [...topics], mode: Platformatic.MessagesStreamModes.EARLIEST, autocommit: false });
        for await (const message of stream) {
          records.push({ topic: message.topic, partition: message.partition, offset: Number(message.offset), key: message.key, value: message.value });
          await message.commit();
          if (records.length >= count) break;
        }
        await stream.close();
      } finally {
        await consumer.close(true);
      }
      return records;
    },
    async offsetForTimestamp(topic, partition, timestampMs) {
      const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: BigInt(timestampMs) }] }] });
      return Number(listed.partitions.find((entry) => entry.partitionIndex === partition)?.offset);
    },
    async close() {
      await Promise.all([admin.close(), producer.close(), idempotentProducer.close(), transactionalProducer.close()]);
    },
  };
}

/** The Kafka error a @platformatic/kafka error carries: a ResponseError lists the per-request errors. */
function describePlatformaticError(error: Error): string {
  const nested = (error as Error & { errors?: Error[] }).errors;
  if (nested !== undefined && nested.length > 0) return describePlatformaticError(nested[0]);
  return (error as Error & { apiId?: string }).apiId ?? error.message;
}

// ---- @confluentinc/kafka-javascript (its KafkaJS-shaped API) ----

export function confluentDriver(bootstrap: string): ClientDriver {
  const { KafkaJS, AdminClient, librdkafkaVersion } = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], clientId: 'compat-confluent', logLevel: KafkaJS.logLevel.NOTHING } });
  const admin = kafka.admin();
  const producers = new Map<Codec | 'idempotent' | 'transactional', ReturnType<typeof kafka.producer>>();
  const adminConnected = admin.connect();
  // Its KafkaJS-shaped admin has no createPartitions; its node-rdkafka-shaped one has.
  const rdkafkaAdmin = AdminClient.create({ 'bootstrap.servers': bootstrap, 'client.id': 'compat-confluent' });
  // librdkafka sets compression per producer, so there is one producer per codec.
  const PRODUCER_CONFIGS = {
    idempotent: { 'enable.idempotence': true },
    transactional: { 'transactional.id': 'compat-confluent-tx', 'enable.idempotence': true },
  };
  async function producerFor(kind: Codec | 'idempotent' | 'transactional') {
    let producer = producers.get(kind);
    if (producer === undefined) {
      const config = kind === 'idempotent' || kind === 'transactional' ? PRODUCER_CONFIGS[kind] : { 'compression.type': kind };
      producer = kafka.producer({ ...config, 'linger.ms': 0 });
      producers.set(kind, producer);
      await producer.connect();
    }
    return producer;
  }
  return {
    name: '@confluentinc/kafka-javascript',
    version: async () => `@confluentinc/kafka-javascript ${packageVersion('@confluentinc/kafka-javascript')} (librdkafka ${librdkafkaVersion})`,
    codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    async listTopics() {
      await adminConnected;
      return admin.listTopics();
    },
    async createTopic(topic, partitions) {
      await adminConnected;
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
    },
    createPartitions: (topic, count) =>
      new Promise<void>((resolve, reject) => rdkafkaAdmin.createPartitions(topic, count, 10_000, (error) => (error ? reject(error) : resolve()))),
    // No DescribeConfigs, AlterConfigs or cluster description in either of its admin APIs.
    describeTopicConfigs: null,
    alterTopicConfig: null,
    describeCluster: null,
    async deleteRecords(topic, partition, offset) {
      await adminConnected;
      await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] });
    },
    async produce(topic, records, codec) {
      const producer = await producerFor(codec);
      await producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    },
    async produceIdempotently(topic, records) {
      const producer = await producerFor('idempotent');
      await producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    },
    async produceTransaction(topic, records, outcome) {
      const producer = await producerFor('transactional');
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    },
    async fenceZombie(topic, transactionalId, zombieRecords, records) {
      const config = { 'transactional.id': transactionalId, 'enable.idempotence': true, 'linger.ms': 0 };
      const zombie = kafka.producer(config);
      const producer = kafka.producer(config);
      await zombie.connect();
      try {
        const zombieTransaction = await zombie.transaction();
        await zombieTransaction.send({ topic, messages: zombieRecords.map((r) => ({ key: r.key, value: r.value })) });
        // Connecting inits the transactional id (InitProducerId), which fences the zombie.
        await producer.connect();
        const refusal = await zombieTransaction.commit().then(
          () => {
            throw new Error('the fenced producer committed');
          },
          (error: Error & { type?: string }) => error.type ?? error.name,
        );
        const transaction = await producer.transaction();
        await transaction.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
        await transaction.commit();
        return refusal;
      } finally {
        await Promise.all([zombie.disconnect(), producer.disconnect()]);
      }
    },
    startGroupMember: (groupId, topic) => startNodeGroupMember('confluent', bootstrap, groupId, topic),
    async consume(groupId, topics, count) {
      const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false } });
      const records: ConsumedRecord[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [...topics] });
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async ({ topic, partition, message }) => {
                records.push({ topic, partition, offset: Number(message.offset), key: String(message.key), value: String(message.value) });
                if (records.length === count) resolve();
              },
            })
            .catch(reject);
        });
        await consumer.commitOffsets(
          Object.values(
            Object.fromEntries(records.map((r) => [`${r.topic}/${r.partition}`, { topic: r.topic, partition: r.partition, offset: String(r.offset + 1) }])),
          ),
        );
      } finally {
        await consumer.disconnect();
      }
      return records;
    },
    async offsetForTimestamp(topic, partition, timestampMs) {
      await adminConnected;
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
      return Number(offsets.find((entry) => entry.partition === partition)?.offset);
    },
    async close() {
      rdkafkaAdmin.disconnect();
      await Promise.all([admin.disconnect(), ...[...producers.values()].map((producer) => producer.disconnect())]);
    },
  };
}
