/**
 * KafkaStreams: runs a Topology as Kafka Streams does. The applicationId is the consumer group;
 * the group's assignment (range, so that one member gets the same partition number of every
 * topic) decides the tasks, one per (sub-topology, partition). Before a task processes, its
 * stores are restored from their changelogs. Output, changelog writes and consumed offsets are
 * committed every commitIntervalMs: at_least_once sends, waits for the acknowledgements, then
 * commits the offsets; exactly_once_v2 does all three inside one transaction of the thread's
 * transactional producer, which reads its inputs read_committed.
 *
 * Everything a thread does (processing a batch, committing, moving tasks, punctuating on
 * wall-clock time) runs one step at a time through its `serial` chain, so a commit never sees
 * half a batch.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvalidConfigError, InvalidStateStoreError, StreamsError, TopologyError } from '../errors.js';
import type { Sluice } from '../sluice.js';
import { EmbeddedConnection, type StreamsBatch, type StreamsConnection, type StreamsMessage, type StreamsGroupConsumer, type StreamsProducer, type StreamsTransaction, type TopicPartitionOffset } from './connection.js';
import { internalSerde } from './change-serde.js';
import { InMemoryBytesStore, LmdbBytesStore, TypedKeyValueStore, type BytesStore, type KeyValue, type ReadOnlyKeyValueStore } from './stores.js';
import { RecordCollector, StreamTask, type TaskEnvironment } from './task.js';
import type { StoreDefinition, Subtopology, Topology } from './topology.js';

export type ProcessingGuarantee = 'at_least_once' | 'exactly_once_v2';

export type KafkaStreamsState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'PENDING_ERROR' | 'ERROR';

export interface StreamsConfig {
  /** The consumer group, the prefix of internal topics and the state directory's name. */
  applicationId: string;
  /** An embedded Sluice to run against; or bootstrapServers. */
  sluice?: Sluice;
  /** A Kafka-protocol server ('host:port', or several) to run against: `sluice serve` or Kafka. */
  bootstrapServers?: string | string[];
  /** Default 'at_least_once', as Kafka. */
  processingGuarantee?: ProcessingGuarantee;
  /** Default 30000 ms for at_least_once and 100 ms for exactly_once_v2, as Kafka. */
  commitIntervalMs?: number;
  /** Where persistent stores live, under `<stateDir>/<applicationId>/<task>/<store>`. Default `<tmpdir>/sluice-streams`. */
  stateDir?: string;
  /** Stream threads. Default 1. */
  numStreamThreads?: number;
  /** Partitions of the repartition and changelog topics' replication; kept for Kafka's config shape. Default 1. */
  replicationFactor?: number;
}

const VALID_TRANSITIONS: Record<KafkaStreamsState, readonly KafkaStreamsState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  REBALANCING: ['RUNNING', 'REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  PENDING_ERROR: ['ERROR'],
  ERROR: [],
};

type StateListener = (newState: KafkaStreamsState, oldState: KafkaStreamsState) => void;

const CONFIG_KEYS = ['applicationId', 'sluice', 'bootstrapServers', 'processingGuarantee', 'commitIntervalMs', 'stateDir', 'numStreamThreads', 'replicationFactor'];

export class KafkaStreams {
  private stateValue: KafkaStreamsState = 'CREATED';
  private readonly listeners: StateListener[] = [];
  private readonly applicationId: string;
  private readonly eos: boolean;
  private readonly commitIntervalMs: number;
  private readonly stateDir: string;
  private connection: StreamsConnection | null = null;
  private producer: StreamsProducer | null = null;
  private consumer: StreamsGroupConsumer | null = null;
  private transaction: StreamsTransaction | null = null;
  private readonly tasks = new Map<string, StreamTask>();
  private readonly taskStores = new Map<string, Map<string, BytesStore>>();
  private readonly globalStores = new Map<string, TypedKeyValueStore<unknown, unknown>>();
  private readonly followers: { close(): Promise<void> }[] = [];
  /** Source topic (as consumed, prefixed when internal) to its sub-topology. */
  private readonly topicToSubtopology = new Map<string, Subtopology>();
  private readonly collector = new RecordCollector();
  private pendingSends: Promise<void>[] = [];
  private serial: Promise<void> = Promise.resolve();
  private commitTimer: NodeJS.Timeout | null = null;
  private lastCommitMs = Date.now();
  private commitRequested = false;
  private revoking = false;
  private closing: Promise<void> | null = null;
  private failure: Error | null = null;
  private failing: Promise<void> | null = null;
  private processId = '';
  private onError: ((error: Error) => void) | null = null;

  constructor(
    private readonly topology: Topology,
    private readonly config: StreamsConfig,
  ) {
    if (config === null || typeof config !== 'object') throw new InvalidConfigError('KafkaStreams needs a config: { applicationId, sluice | bootstrapServers }');
    for (const key of Object.keys(config)) {
      if (!CONFIG_KEYS.includes(key)) throw new InvalidConfigError(`unknown streams config ${key}; known: ${CONFIG_KEYS.join(', ')}`);
    }
    if (typeof config.applicationId !== 'string' || !/^[A-Za-z0-9._-]+$/.test(config.applicationId)) {
      throw new InvalidConfigError('applicationId must be a non-empty string of letters, digits, ".", "_" and "-" (it names the group and the internal topics)');
    }
    if ((config.sluice === undefined) === (config.bootstrapServers === undefined)) {
      throw new InvalidConfigError('give exactly one of sluice (an embedded Sluice) and bootstrapServers (a Kafka-protocol server)');
    }
    const guarantee = config.processingGuarantee ?? 'at_least_once';
    if (guarantee !== 'at_least_once' && guarantee !== 'exactly_once_v2') {
      throw new InvalidConfigError(`processingGuarantee is 'at_least_once' or 'exactly_once_v2', not ${String(guarantee)}`);
    }
    this.eos = guarantee === 'exactly_once_v2';
    this.commitIntervalMs = config.commitIntervalMs ?? (this.eos ? 100 : 30_000);
    if (!Number.isSafeInteger(this.commitIntervalMs) || this.commitIntervalMs < 1) throw new InvalidConfigError(`commitIntervalMs must be a positive integer, not ${config.commitIntervalMs}`);
    const threads = config.numStreamThreads ?? 1;
    if (threads !== 1) {
      throw new InvalidConfigError(`numStreamThreads ${threads} is not supported: one stream thread per instance; run more instances with the same applicationId to spread the tasks`);
    }
    this.applicationId = config.applicationId;
    this.stateDir = config.stateDir ?? path.join(tmpdir(), 'sluice-streams');
  }

  get state(): KafkaStreamsState {
    return this.stateValue;
  }

  /** Called with (newState, oldState) on every change. */
  setStateListener(listener: StateListener): void {
    this.listeners.push(listener);
  }

  /** Called with the error that moved the application to ERROR (Kafka's uncaught exception handler). */
  setUncaughtExceptionHandler(handler: (error: Error) => void): void {
    this.onError = handler;
  }

  /** Records dropped, by reason (null keys into an aggregation, late records into a window). */
  metrics(): { droppedRecords: Record<string, number> } {
    return { droppedRecords: Object.fromEntries(this.topology.droppedRecords) };
  }

  /**
   * Checks the topics, creates the internal ones, joins the group and starts processing; resolves
   * once the consumer has joined (state REBALANCING, then RUNNING when the tasks are restored).
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'CREATED') throw new StreamsError(`start() can only be called once, in state CREATED (now ${this.stateValue})`);
    this.transition('REBALANCING');
    try {
      this.connection = await this.connect();
      this.processId = this.loadProcessId();
      const sourceTopics = await this.prepareTopics();
      await this.bootstrapGlobalStores();
      // The producer first: a transactional one fences an earlier instance of this thread and
      // aborts its open transaction, so the changelogs' last stable offset moves past it before
      // any task restores.
      this.producer = await this.connection.producer(this.eos ? `${this.applicationId}-${this.processId}-StreamThread-1` : null);
      this.consumer = await this.connection.groupConsumer(this.applicationId, sourceTopics, this.eos, {
        onBatch: (batch) => this.exclusive(() => this.processBatch(batch)),
        onAssigned: (partitions) => void this.exclusive(() => this.assign(partitions)),
        onRevoked: (partitions) => {
          if (this.stateValue === 'RUNNING') this.transition('REBALANCING');
          // Said at once, before the revoke step runs: no commit may land after the partitions are gone.
          this.revoking = true;
          void this.exclusive(() => this.revoke(partitions));
        },
        onFatal: (error) => this.fail(error),
      });
      this.commitTimer = setInterval(() => void this.exclusive(() => this.tick()), Math.min(this.commitIntervalMs, 1_000));
      this.commitTimer.unref();
    } catch (error) {
      await this.fail(error as Error);
      throw error;
    }
  }

  /** Commits, closes the tasks (persistent stores keep a checkpoint) and leaves the group. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** Interactive queries: the local instances of a key-value store, queried as one. */
  store<K = unknown, V = unknown>(name: string): ReadOnlyKeyValueStore<K, V> {
    const definition = this.topology.store(name);
    if (definition === undefined) throw new InvalidStateStoreError(`Cannot get state store ${name} because no such store is registered in the topology.`);
    if (this.stateValue !== 'RUNNING' && this.stateValue !== 'REBALANCING') {
      throw new InvalidStateStoreError(`Cannot get state store ${name} because the stream thread is ${this.stateValue}, not RUNNING`);
    }
    const locals = (): TypedKeyValueStore<K, V>[] => {
      const global = this.globalStores.get(name);
      if (global !== undefined) return [global as TypedKeyValueStore<K, V>];
      return [...this.tasks.values()].flatMap((task) => {
        const store = task.stores.get(name);
        return store === undefined ? [] : [store as TypedKeyValueStore<K, V>];
      });
    };
    const sorted = (entries: KeyValue<K, V>[], keySerde = definition.keySerde): KeyValue<K, V>[] =>
      entries
        .map((entry) => [keySerde.serialize(entry[0]), entry] as const)
        .sort((a, b) => Buffer.compare(a[0], b[0]))
        .map(([, entry]) => entry);
    return {
      name,
      get: (key) => {
        for (const store of locals()) {
          const value = store.get(key);
          if (value !== undefined) return value;
        }
        return undefined;
      },
      range: (from, to) => sorted(locals().flatMap((store) => store.range(from, to))),
      all: () => sorted(locals().flatMap((store) => store.all())),
      approximateNumEntries: () => locals().reduce((sum, store) => sum + store.approximateNumEntries(), 0),
    };
  }

  // ---- Start-up ----

  private async connect(): Promise<StreamsConnection> {
    if (this.config.sluice !== undefined) return new EmbeddedConnection(this.config.sluice);
    // Loaded only when asked for: an embedded application never loads kafkajs.
    const { KafkaJsConnection } = await import('./kafkajs-connection.js');
    return KafkaJsConnection.open(this.config.bootstrapServers!, this.applicationId);
  }

  /** Kafka Streams keeps a process id in the state directory, so a restart is the same process (same transactional ids). */
  private loadProcessId(): string {
    const directory = path.join(this.stateDir, this.applicationId);
    mkdirSync(directory, { recursive: true });
    const file = path.join(directory, 'kafka-streams-process-metadata');
    if (existsSync(file)) return String(JSON.parse(readFileSync(file, 'utf8')).processId);
    const processId = randomUUID();
    writeFileSync(file, JSON.stringify({ processId }));
    return processId;
  }

  private resolveTopic = (topic: string): string => (this.topology.isRepartitionTopic(topic) ? `${this.applicationId}-${topic}` : topic);

  private changelogTopic(store: string): string {
    return `${this.applicationId}-${store}-changelog`;
  }

  /**
   * Checks that the source topics exist and that co-partitioned topics agree, works out the
   * partitions of each repartition and changelog topic, and creates the missing ones. Returns
   * the topics the group consumes.
   */
  private async prepareTopics(): Promise<string[]> {
    const connection = this.connection!;
    const subtopologies = this.topology.subtopologies();
    const external = new Set<string>();
    for (const subtopology of subtopologies) {
      for (const topic of subtopology.sourceTopics) if (!this.topology.isRepartitionTopic(topic)) external.add(topic);
    }
    const counts = await connection.partitionCounts([...external]);
    const missing = [...external].filter((topic) => !counts.has(topic)).sort();
    if (missing.length > 0) {
      throw new TopologyError(`source topics ${missing.join(', ')} do not exist; create them before starting the application (Kafka's MissingSourceTopicException)`);
    }
    this.checkCopartitioning(counts);
    // Repartition topics take the partition count given them (repartition(), or a join's
    // co-partitioning), else the largest of the sub-topology writing them, which may itself read
    // repartition topics: resolve until nothing changes.
    for (const subtopology of subtopologies) {
      for (const topic of [...subtopology.sourceTopics, ...subtopology.sinkTopics]) {
        const given = this.topology.isRepartitionTopic(topic) ? this.topology.repartitionPartitions(topic) : undefined;
        if (given !== undefined) counts.set(topic, given);
      }
    }
    let changed = true;
    while (changed) {
      changed = false;
      for (const subtopology of subtopologies) {
        const inputs = subtopology.sourceTopics.map((topic) => counts.get(topic)).filter((count) => count !== undefined);
        if (inputs.length === 0) continue;
        const width = Math.max(...inputs);
        for (const sink of subtopology.sinkTopics) {
          if (!this.topology.isRepartitionTopic(sink) || counts.has(sink)) continue;
          counts.set(sink, width);
          changed = true;
        }
      }
    }
    const unresolved = subtopologies.flatMap((subtopology) => subtopology.sourceTopics).filter((topic) => !counts.has(topic));
    if (unresolved.length > 0) throw new TopologyError(`Number of partitions is not set for topics ${unresolved.join(', ')}`);
    const toCreate: { topic: string; numPartitions: number; configs: Record<string, string> }[] = [];
    const wanted = new Map<string, number>();
    for (const subtopology of subtopologies) {
      if (subtopology.global) continue;
      const width = Math.max(...subtopology.sourceTopics.map((topic) => counts.get(topic) ?? 0));
      if (width === 0) throw new TopologyError(`could not work out the partitions of sub-topology ${subtopology.id}'s topics ${subtopology.sourceTopics.join(', ')}`);
      for (const topic of subtopology.sourceTopics) {
        this.topicToSubtopology.set(this.resolveTopic(topic), subtopology);
        if (this.topology.isRepartitionTopic(topic)) {
          wanted.set(this.resolveTopic(topic), counts.get(topic)!);
          toCreate.push({ topic: this.resolveTopic(topic), numPartitions: counts.get(topic)!, configs: { 'cleanup.policy': 'delete' } });
        }
      }
      for (const store of subtopology.stores) {
        const definition = this.topology.store(store)!;
        if (!definition.logging || this.topology.isGlobalStore(store)) continue;
        wanted.set(this.changelogTopic(store), width);
        toCreate.push({ topic: this.changelogTopic(store), numPartitions: width, configs: { 'cleanup.policy': 'compact' } });
      }
    }
    const existing = await connection.partitionCounts(toCreate.map((entry) => entry.topic));
    for (const [topic, count] of existing) {
      if (count !== wanted.get(topic)) {
        throw new TopologyError(`internal topic ${topic} has ${count} partitions, the application needs ${wanted.get(topic)}; delete it (and reset the application) or restore the partition count of its source topics`);
      }
    }
    await connection.createTopics(toCreate.filter((entry) => !existing.has(entry.topic)));
    return [...this.topicToSubtopology.keys()];
  }

  private checkCopartitioning(counts: Map<string, number>): void {
    for (const group of this.topology.copartitioned()) {
      const external = group.filter((topic) => !this.topology.isRepartitionTopic(topic)).sort();
      const partitions = new Set(external.map((topic) => counts.get(topic)));
      if (partitions.size > 1) {
        const listing = external.map((topic) => `${topic}=${counts.get(topic)}`).join(', ');
        throw new TopologyError(
          `Topics not co-partitioned: [{${listing}}]; a join needs the same number of partitions on both sides: add partitions to the smaller topic or repartition() one side`,
        );
      }
      // A repartition topic joined with external topics takes their partition count.
      const width = external.length > 0 ? counts.get(external[0])! : undefined;
      if (width !== undefined) {
        for (const topic of group) if (this.topology.isRepartitionTopic(topic) && this.topology.repartitionPartitions(topic) === undefined) this.topology.setRepartitionPartitions(topic, width);
      }
    }
  }

  private async bootstrapGlobalStores(): Promise<void> {
    for (const subtopology of this.topology.subtopologies()) {
      if (!subtopology.global) continue;
      const [topic] = subtopology.sourceTopics;
      const [storeName] = subtopology.stores;
      const definition = this.topology.store(storeName)!;
      const bytes = await this.openBytesStore(definition, 'global');
      const store = new TypedKeyValueStore<unknown, unknown>(storeName, bytes, definition.keySerde, definition.valueSerde, null);
      this.globalStores.set(storeName, store);
      const counts = await this.connection!.partitionCounts([topic]);
      const partitions = counts.get(topic) ?? 0;
      const apply = (message: StreamsMessage): void => {
        if (message.key !== null) bytes.put(message.key, message.value);
      };
      const ends = new Map<number, number>();
      for (let partition = 0; partition < partitions; partition++) {
        ends.set(partition, await this.connection!.readToEnd(topic, partition, 0, this.eos, apply));
      }
      // After the bootstrap, the table follows the topic's new records as they come.
      this.followers.push(
        await this.connection!.follow(topic, ends, this.eos, (batch) =>
          this.exclusive(async () => {
            for (const message of batch.messages) apply(message);
          }),
        ),
      );
    }
  }

  // ---- Tasks ----

  private async openBytesStore(definition: StoreDefinition, taskId: string): Promise<BytesStore> {
    if (!definition.persistent) return new InMemoryBytesStore();
    return LmdbBytesStore.open(path.join(this.stateDir, this.applicationId, taskId, definition.name), this.eos);
  }

  private async assign(partitions: { topic: string; partitions: number[] }[]): Promise<void> {
    for (const { topic, partitions: numbers } of partitions) {
      const subtopology = this.topicToSubtopology.get(topic);
      if (subtopology === undefined) continue;
      for (const partition of numbers) await this.taskFor(subtopology, partition);
    }
    if (this.stateValue === 'REBALANCING') this.transition('RUNNING');
  }

  /** The task of (sub-topology, partition), created and restored from its changelogs first if new. */
  private async taskFor(subtopology: Subtopology, partition: number): Promise<StreamTask> {
    const id = `${subtopology.id}_${partition}`;
    const existing = this.tasks.get(id);
    if (existing !== undefined) return existing;
    const bytesStores = new Map<string, BytesStore>();
    const stores = new Map<string, TypedKeyValueStore<unknown, unknown>>();
    for (const storeName of subtopology.stores) {
      if (this.topology.isGlobalStore(storeName)) continue;
      const definition = this.topology.store(storeName)!;
      const bytes = await this.openBytesStore(definition, id);
      bytesStores.set(storeName, bytes);
      let logger: ((key: Buffer, value: Buffer | null) => void) | null = null;
      if (definition.logging) {
        const changelog = this.changelogTopic(storeName);
        const end = await this.connection!.readToEnd(changelog, partition, bytes.restoredOffset(), this.eos, (message) => {
          if (message.key !== null) bytes.put(message.key, message.value);
        });
        bytes.flush(end);
        logger = (key, value) => this.collector.send(changelog, key, value, Date.now(), partition, undefined);
      }
      stores.set(storeName, new TypedKeyValueStore(storeName, bytes, definition.keySerde ?? internalSerde, definition.valueSerde ?? internalSerde, logger));
    }
    const environment: TaskEnvironment = {
      applicationId: this.applicationId,
      topology: this.topology,
      collector: this.collector,
      resolveTopic: this.resolveTopic,
      requestCommit: () => {
        this.commitRequested = true;
      },
    };
    const task = new StreamTask(subtopology, partition, environment, stores, this.globalStores);
    this.tasks.set(id, task);
    this.taskStores.set(id, bytesStores);
    return task;
  }

  private async revoke(partitions: { topic: string; partitions: number[] }[]): Promise<void> {
    const ids = new Set<string>();
    for (const { topic, partitions: numbers } of partitions) {
      const subtopology = this.topicToSubtopology.get(topic);
      if (subtopology !== undefined) for (const partition of numbers) ids.add(`${subtopology.id}_${partition}`);
    }
    this.revoking = false;
    if (ids.size === 0) return;
    const uncommittedElsewhere = [...this.tasks.values()].some((task) => !ids.has(task.id) && task.consumedOffsets.size > 0);
    if (!this.eos || uncommittedElsewhere) {
      await this.commit();
      for (const id of ids) await this.closeTask(id);
      return;
    }
    // exactly_once_v2: the group may already have handed these partitions to another member, which
    // starts from the committed offsets; committing now could land after it read them and count
    // this work twice. So the open transaction is aborted and the tasks' stores dropped with their
    // uncommitted changes: whoever owns the partitions next restores them from the committed
    // changelogs and processes from the committed offsets.
    await Promise.allSettled(this.pendingSends);
    this.pendingSends = [];
    this.collector.drain();
    await this.transaction?.abort();
    this.transaction = null;
    for (const id of ids) await this.dropTask(id);
  }

  /** Closes a task without keeping its stores' uncommitted changes (a persistent store is rebuilt from its changelog). */
  private async dropTask(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    task.close();
    this.tasks.delete(id);
    for (const bytes of this.taskStores.get(id)?.values() ?? []) {
      if (bytes instanceof LmdbBytesStore) await bytes.discard();
      else await bytes.close();
    }
    this.taskStores.delete(id);
  }

  private async closeTask(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    task.close();
    this.tasks.delete(id);
    for (const [storeName, bytes] of this.taskStores.get(id) ?? []) {
      const definition = this.topology.store(storeName)!;
      const end = definition.logging ? await this.changelogEnd(storeName, task.partition) : null;
      bytes.flush(end);
      if (bytes instanceof LmdbBytesStore && end !== null) bytes.writeCheckpoint();
      await bytes.close();
    }
    this.taskStores.delete(id);
  }

  private async changelogEnd(storeName: string, partition: number): Promise<number> {
    return this.connection!.readToEnd(this.changelogTopic(storeName), partition, Number.MAX_SAFE_INTEGER, this.eos, () => undefined);
  }

  // ---- Processing and committing ----

  private async processBatch(batch: StreamsBatch): Promise<void> {
    if (this.failure !== null || this.closing !== null) return;
    const subtopology = this.topicToSubtopology.get(batch.topic);
    if (subtopology === undefined) return;
    const task = await this.taskFor(subtopology, batch.partition);
    if (this.eos && this.transaction === null) this.transaction = await this.producer!.transaction();
    task.processBatch(batch.topic, batch.messages);
    this.sendCollected();
    if (this.commitRequested || Date.now() - this.lastCommitMs >= this.commitIntervalMs) await this.commit();
  }

  private sendCollected(): void {
    if (this.collector.size === 0) return;
    const messages = this.collector.drain();
    const sending = this.transaction !== null ? this.transaction.sendBatch(messages) : this.producer!.sendBatch(messages);
    // Awaited at the commit; caught here so a failure is not an unhandled rejection meanwhile.
    sending.catch(() => undefined);
    this.pendingSends.push(sending);
  }

  /** Wall-clock punctuations, and a commit when the interval has passed without records. */
  private async tick(): Promise<void> {
    if (this.failure !== null || this.closing !== null) return;
    const now = Date.now();
    for (const task of this.tasks.values()) task.punctuate('WALL_CLOCK_TIME', now);
    if (this.collector.size > 0 && this.eos && this.transaction === null) this.transaction = await this.producer!.transaction();
    this.sendCollected();
    if (this.commitRequested || now - this.lastCommitMs >= this.commitIntervalMs) await this.commit();
  }

  private async commit(): Promise<void> {
    // A revocation is pending: its step decides what happens to the open work (see revoke).
    if (this.eos && this.revoking) return;
    this.commitRequested = false;
    this.lastCommitMs = Date.now();
    this.sendCollected();
    const sends = this.pendingSends;
    this.pendingSends = [];
    await Promise.all(sends);
    const offsets: TopicPartitionOffset[] = [];
    for (const task of this.tasks.values()) {
      for (const [topic, offset] of task.consumedOffsets) offsets.push({ topic, partition: task.partition, offset });
      task.consumedOffsets.clear();
    }
    if (this.eos) {
      const transaction = this.transaction;
      if (transaction === null) return;
      this.transaction = null;
      if (offsets.length > 0) await transaction.sendOffsets(this.applicationId, offsets);
      await transaction.commit();
    } else if (offsets.length > 0) {
      await this.consumer!.commit(offsets);
    }
    for (const [id, stores] of this.taskStores) {
      for (const [storeName, bytes] of stores) {
        if (!(bytes instanceof LmdbBytesStore)) continue;
        // Under exactly_once_v2 the checkpoint is written only by a clean close (see stores.ts),
        // which looks the changelog's end up itself: a commit only writes the store to disk.
        const end = !this.eos && this.topology.store(storeName)!.logging ? await this.changelogEnd(storeName, this.tasks.get(id)!.partition) : null;
        bytes.flush(end);
        if (end !== null) bytes.writeCheckpoint();
      }
    }
  }

  private exclusive(step: () => Promise<void>): Promise<void> {
    const run = this.serial.then(async () => {
      if (this.failure !== null) return;
      try {
        await step();
      } catch (error) {
        // Not awaited: failing stops the consumer, which waits for the batch handler this step
        // may be running in. The failure is recorded at once, so no later step runs.
        void this.fail(error as Error);
      }
    });
    this.serial = run;
    return run;
  }

  private fail(error: Error): Promise<void> {
    this.failing ??= this.failWith(error);
    return this.failing;
  }

  private async failWith(error: Error): Promise<void> {
    this.failure = error;
    if (this.stateValue !== 'PENDING_SHUTDOWN' && this.stateValue !== 'NOT_RUNNING') this.transition('PENDING_ERROR');
    await this.release(false);
    if (this.stateValue === 'PENDING_ERROR') this.transition('ERROR');
    // A failure while closing still ends the close.
    if (this.stateValue === 'PENDING_SHUTDOWN') this.transition('NOT_RUNNING');
    this.onError?.(error);
  }

  private async shutDown(): Promise<void> {
    if (this.failing !== null) return this.failing;
    if (this.stateValue === 'NOT_RUNNING') return;
    this.transition('PENDING_SHUTDOWN');
    await this.exclusive(async () => {
      if (this.failure === null && this.producer !== null) await this.commit();
    });
    // A failure while committing released everything already.
    if (this.failing !== null) return this.failing;
    await this.release(true);
    if (this.stateValue === 'PENDING_SHUTDOWN') this.transition('NOT_RUNNING');
  }

  /** Stops the consumer, closes the tasks (clean: with checkpoints) and the clients. */
  private async release(clean: boolean): Promise<void> {
    if (this.commitTimer !== null) clearInterval(this.commitTimer);
    this.commitTimer = null;
    await this.consumer?.close().catch(() => undefined);
    this.consumer = null;
    for (const follower of this.followers.splice(0)) await follower.close().catch(() => undefined);
    if (!clean) {
      await this.transaction?.abort().catch(() => undefined);
      this.transaction = null;
      for (const task of this.tasks.values()) task.close();
      for (const stores of this.taskStores.values()) for (const bytes of stores.values()) await bytes.close();
      this.tasks.clear();
      this.taskStores.clear();
    } else {
      for (const id of [...this.tasks.keys()]) await this.closeTask(id);
    }
    for (const store of this.globalStores.values()) await store.bytes.close();
    this.globalStores.clear();
    await this.producer?.close().catch(() => undefined);
    this.producer = null;
    await this.connection?.close();
    this.connection = null;
  }

  private transition(next: KafkaStreamsState): void {
    const previous = this.stateValue;
    if (!VALID_TRANSITIONS[previous].includes(next)) return;
    this.stateValue = next;
    for (const listener of this.listeners) listener(next, previous);
  }
}
