/**
 * KafkaStreams: runs a Topology as Kafka Streams does. The applicationId is the consumer group;
 * the group's assignment (range, so that one member gets the same partition number of every
 * topic) decides the tasks, one per (sub-topology, partition). Before a task processes, its
 * stores are restored from their changelogs. Output, changelog writes and consumed offsets are
 * committed every commitIntervalMs: at_least_once sends, waits for the acknowledgements, then
 * commits the offsets; exactly_once_v2 does all three inside one transaction of the thread's
 * transactional producer, which reads its inputs read_committed. An instance runs
 * numStreamThreads stream threads (stream-thread.ts), each a member of the group with its own
 * tasks and producer.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvalidConfigError, InvalidStateStoreError, StreamsError, TopologyError } from '../errors.js';
import type { Sluice } from '../sluice.js';
import { EmbeddedConnection, type StreamsConnection, type StreamsMessage } from './connection.js';
import type { Serde } from './serdes.js';
import { TypedKeyValueStore, type KeyValue, type ReadOnlyKeyValueStore } from './stores.js';
import { sessionStoreView, windowStoreView, type ReadOnlySessionStore, type ReadOnlyWindowStore, type Windowed } from './windows.js';
import { StreamThread, openBytesStore, type StreamThreadContext } from './stream-thread.js';
import type { Subtopology, Topology } from './topology.js';

/** What KafkaStreams.store() answers as, from QueryableStoreTypes. */
export interface QueryableStoreType<T extends 'keyValue' | 'window' | 'session', K, V> {
  readonly kind: T;
  /** Carries K and V to store()'s answer. */
  readonly types?: [K, V];
}

/** Kafka's QueryableStoreTypes: the store types interactive queries ask for. */
export const QueryableStoreTypes = Object.freeze({
  keyValueStore: <K = unknown, V = unknown>(): QueryableStoreType<'keyValue', K, V> => ({ kind: 'keyValue' }),
  windowStore: <K = unknown, V = unknown>(): QueryableStoreType<'window', K, V> => ({ kind: 'window' }),
  sessionStore: <K = unknown, V = unknown>(): QueryableStoreType<'session', K, V> => ({ kind: 'session' }),
});

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
  /** Stream threads, each a member of the group with its own tasks (and transactional producer). Default 1. */
  numStreamThreads?: number;
  /**
   * Kafka's statestore.cache.max.bytes: the record cache in front of the key-value aggregations'
   * and tables' stores, shared equally by the stream threads; a key updated many times between
   * two commits is stored, logged and forwarded once (cache.ts). 0 forwards every update.
   * Default 10485760 (10 MiB), as Kafka.
   */
  statestoreCacheMaxBytes?: number;
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

/** A stream thread as metadataForLocalThreads describes it. */
export interface ThreadMetadata {
  /** `<applicationId>-<processId>-StreamThread-<n>`. */
  threadName: string;
  /** STARTING until its first assignment is restored, PARTITIONS_REVOKED from a revocation to the next. */
  threadState: 'STARTING' | 'PARTITIONS_REVOKED' | 'RUNNING';
  /** Its producer's transactional id under exactly_once_v2 (the thread name, as Kafka's); null otherwise. */
  transactionalId: string | null;
  activeTasks: { taskId: string; topicPartitions: { topic: string; partition: number }[] }[];
}

type StateListener = (newState: KafkaStreamsState, oldState: KafkaStreamsState) => void;

const CONFIG_KEYS = ['applicationId', 'sluice', 'bootstrapServers', 'processingGuarantee', 'commitIntervalMs', 'stateDir', 'numStreamThreads', 'statestoreCacheMaxBytes', 'replicationFactor'];

/** Kafka's statestore.cache.max.bytes default. */
const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 * 1024;

export class KafkaStreams {
  private stateValue: KafkaStreamsState = 'CREATED';
  private readonly listeners: StateListener[] = [];
  private readonly applicationId: string;
  private readonly eos: boolean;
  private readonly commitIntervalMs: number;
  private readonly stateDir: string;
  private readonly numStreamThreads: number;
  private readonly cacheMaxBytes: number;
  private connection: StreamsConnection | null = null;
  private threads: StreamThread[] = [];
  /** Tasks held by a thread of this instance, each with what resolves when it lets go. */
  private readonly taskLocks = new Map<string, Promise<void>>();
  private readonly globalStores = new Map<string, TypedKeyValueStore<unknown, unknown>>();
  private readonly followers: { close(): Promise<void> }[] = [];
  /** Source topic (as consumed, prefixed when internal) to its sub-topology. */
  private readonly topicToSubtopology = new Map<string, Subtopology>();
  /** Global tables' updates, one at a time. */
  private globalSerial: Promise<void> = Promise.resolve();
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
    this.numStreamThreads = config.numStreamThreads ?? 1;
    if (!Number.isSafeInteger(this.numStreamThreads) || this.numStreamThreads < 1) {
      throw new InvalidConfigError(`numStreamThreads must be a positive integer, not ${config.numStreamThreads}`);
    }
    this.cacheMaxBytes = config.statestoreCacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    if (!Number.isSafeInteger(this.cacheMaxBytes) || this.cacheMaxBytes < 0) {
      throw new InvalidConfigError(`statestoreCacheMaxBytes must be an integer of bytes >= 0 (0 turns the record cache off), not ${config.statestoreCacheMaxBytes}`);
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
   * Each stream thread of this instance (Kafka's metadataForLocalThreads): its name, state,
   * transactional id under exactly_once_v2, and the tasks it runs now with their input partitions.
   */
  metadataForLocalThreads(): ThreadMetadata[] {
    return this.threads.map((thread) => ({
      threadName: thread.name,
      threadState: thread.state,
      transactionalId: this.eos ? thread.name : null,
      activeTasks: [...thread.tasks.values()]
        .map((task) => ({
          taskId: task.id,
          topicPartitions: task.subtopology.sourceTopics.map((topic) => ({ topic: this.resolveTopic(topic), partition: task.partition })),
        }))
        .sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0)),
    }));
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
      const context = this.threadContext(this.connection);
      this.threads = Array.from({ length: this.numStreamThreads }, (_, i) => new StreamThread(context, this.processId, i + 1));
      // Every producer first (see StreamThread.openProducer), then the consumers.
      for (const thread of this.threads) await thread.openProducer();
      for (const thread of this.threads) await thread.startConsumer(sourceTopics);
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

  /**
   * Interactive queries: the local instances of a store, queried as one. Without a type, as a
   * key-value store (a window or session store's keys are then Windowed); with
   * QueryableStoreTypes.windowStore() or sessionStore(), by key and time, as Kafka's
   * ReadOnlyWindowStore and ReadOnlySessionStore.
   */
  store<K = unknown, V = unknown>(name: string, type?: QueryableStoreType<'keyValue', K, V>): ReadOnlyKeyValueStore<K, V>;
  store<K = unknown, V = unknown>(name: string, type: QueryableStoreType<'window', K, V>): ReadOnlyWindowStore<K, V>;
  store<K = unknown, V = unknown>(name: string, type: QueryableStoreType<'session', K, V>): ReadOnlySessionStore<K, V>;
  store<K = unknown, V = unknown>(
    name: string,
    type?: QueryableStoreType<'keyValue' | 'window' | 'session', K, V>,
  ): ReadOnlyKeyValueStore<K, V> | ReadOnlyWindowStore<K, V> | ReadOnlySessionStore<K, V> {
    const definition = this.topology.store(name);
    if (definition === undefined) throw new InvalidStateStoreError(`Cannot get state store ${name} because no such store is registered in the topology.`);
    if (this.stateValue !== 'RUNNING' && this.stateValue !== 'REBALANCING') {
      throw new InvalidStateStoreError(`Cannot get state store ${name} because the stream thread is ${this.stateValue}, not RUNNING`);
    }
    const kind = type?.kind ?? 'keyValue';
    if (kind !== 'keyValue' && kind !== 'window' && kind !== 'session') {
      throw new InvalidStateStoreError(`Cannot get state store ${name}: the store type must come from QueryableStoreTypes (keyValueStore, windowStore or sessionStore)`);
    }
    if (kind !== 'keyValue' && definition.type !== kind) {
      throw new InvalidStateStoreError(
        `Cannot get state store ${name} because the queryable store type ${kind}Store does not accept the actual store type, a ${definition.type ?? 'keyValue'} store`,
      );
    }
    const keyValue = this.keyValueView<K, V>(name, definition.keySerde);
    if (kind === 'window') return windowStoreView(keyValue as unknown as ReadOnlyKeyValueStore<Windowed<K>, V>);
    if (kind === 'session') return sessionStoreView(keyValue as unknown as ReadOnlyKeyValueStore<Windowed<K>, V>);
    return keyValue;
  }

  private keyValueView<K, V>(name: string, keySerde: Serde<unknown>): ReadOnlyKeyValueStore<K, V> {
    const locals = (): ReadOnlyKeyValueStore<K, V>[] => {
      const global = this.globalStores.get(name);
      if (global !== undefined) return [global as TypedKeyValueStore<K, V>];
      return this.threads.flatMap((thread) => [...thread.tasks.values()]).flatMap((task) => {
        const store = task.stores.get(name);
        return store === undefined ? [] : [store as ReadOnlyKeyValueStore<K, V>];
      });
    };
    const sorted = (entries: KeyValue<K, V>[]): KeyValue<K, V>[] =>
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
      const bytes = await openBytesStore({ stateDir: this.stateDir, applicationId: this.applicationId, eos: this.eos }, definition, 'global');
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
        await this.connection!.follow(topic, ends, this.eos, (batch) => {
          // A batch applies whole between two of a thread's steps (both run without yielding).
          this.globalSerial = this.globalSerial.then(() => {
            for (const message of batch.messages) apply(message);
          });
          return this.globalSerial;
        }),
      );
    }
  }

  // ---- Stream threads ----

  private threadContext(connection: StreamsConnection): StreamThreadContext {
    return {
      applicationId: this.applicationId,
      topology: this.topology,
      eos: this.eos,
      commitIntervalMs: this.commitIntervalMs,
      cacheMaxBytesPerThread: Math.floor(this.cacheMaxBytes / this.numStreamThreads),
      stateDir: this.stateDir,
      connection,
      topicToSubtopology: this.topicToSubtopology,
      globalStores: this.globalStores,
      resolveTopic: this.resolveTopic,
      changelogTopic: (store) => this.changelogTopic(store),
      lockTask: (id) => this.lockTask(id),
      halted: () => this.failure !== null || this.closing !== null,
      failed: () => this.failure !== null,
      fail: (error) => void this.fail(error),
      onRebalance: () => {
        // As Kafka: RUNNING once every thread has its tasks in place, REBALANCING while one moves them.
        if (this.stateValue !== 'RUNNING' && this.stateValue !== 'REBALANCING') return;
        this.transition(this.threads.every((thread) => thread.running) ? 'RUNNING' : 'REBALANCING');
      },
    };
  }

  /**
   * A task moving between two threads of this instance is opened by the one taking it only once
   * the one giving it up has closed it (Kafka's task directory lock): its stores' files and, under
   * exactly_once_v2, its open transaction are gone by then.
   */
  private async lockTask(id: string): Promise<() => void> {
    for (let held = this.taskLocks.get(id); held !== undefined; held = this.taskLocks.get(id)) await held;
    let release!: () => void;
    this.taskLocks.set(id, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.taskLocks.delete(id);
      release();
    };
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
    await Promise.all(this.threads.map((thread) => thread.finalCommit()));
    // A failure while committing released everything already.
    if (this.failing !== null) return this.failing;
    await this.release(true);
    if (this.stateValue === 'PENDING_SHUTDOWN') this.transition('NOT_RUNNING');
  }

  /** Stops the consumers, closes the tasks (clean: with checkpoints) and the clients. */
  private async release(clean: boolean): Promise<void> {
    // Every consumer first: no thread processes or moves tasks while the others close theirs.
    await Promise.all(this.threads.map((thread) => thread.stopConsumer()));
    for (const follower of this.followers.splice(0)) await follower.close().catch(() => undefined);
    await Promise.all(this.threads.map((thread) => thread.release(clean)));
    for (const store of this.globalStores.values()) await store.bytes.close();
    this.globalStores.clear();
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
