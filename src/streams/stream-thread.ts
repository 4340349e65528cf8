/**
 * A stream thread, as Kafka Streams': its own consumer in the application's group, its own
 * producer (under exactly_once_v2 a transactional one, `<applicationId>-<processId>-StreamThread-<n>`),
 * and the tasks the group assigns its consumer. Threads of one instance share the connection, the
 * topology's definitions, the global stores and the state directory; a task that moves between
 * two threads of the instance passes through the instance's task lock (KafkaStreams.lockTask),
 * so the thread taking it over opens the task's stores only once the one giving it up has
 * committed or aborted its work and closed them.
 *
 * Everything a thread does (processing a batch, committing, moving tasks, punctuating on
 * wall-clock time) runs one step at a time through its `serial` chain, so a commit never sees
 * half a batch. Threads run side by side on the one event loop: the embedded clients of other
 * worker threads have no consumer groups or transactions (src/client/attached-broker.ts).
 */
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { FencedInstanceIdError, IllegalGenerationError, UnknownMemberIdError } from '../errors.js';
import {
  partitionKey,
  type StreamsBatch,
  type StreamsConnection,
  type StreamsGroupConsumer,
  type StreamsProducer,
  type StreamsTransaction,
  type TopicPartitionOffset,
} from './connection.js';
import { CachingKeyValueStore, ThreadCache } from './cache.js';
import { internalSerde } from './change-serde.js';
import { InMemoryBytesStore, LmdbBytesStore, TypedKeyValueStore, type BytesStore, type KeyValueStore } from './stores.js';
import { RecordCollector, StreamTask, type TaskEnvironment } from './task.js';
import type { StoreDefinition, Subtopology, Topology } from './topology.js';

/** What a stream thread takes from its KafkaStreams instance. */
export interface StreamThreadContext {
  readonly applicationId: string;
  readonly topology: Topology;
  readonly eos: boolean;
  readonly commitIntervalMs: number;
  /** Each thread's share of statestore.cache.max.bytes; 0: no record cache. */
  readonly cacheMaxBytesPerThread: number;
  readonly stateDir: string;
  readonly connection: StreamsConnection;
  /** Source topic (as consumed, prefixed when internal) to its sub-topology. */
  readonly topicToSubtopology: ReadonlyMap<string, Subtopology>;
  readonly globalStores: Map<string, TypedKeyValueStore<unknown, unknown>>;
  resolveTopic(topic: string): string;
  changelogTopic(store: string): string;
  /** Waits until no other thread of the instance holds the task; the function returned releases it. */
  lockTask(id: string): Promise<() => void>;
  /** The instance failed or is closing: no more processing. */
  halted(): boolean;
  /** The instance failed: no step runs any more. */
  failed(): boolean;
  fail(error: Error): void;
  /** This thread started or finished moving tasks. */
  onRebalance(): void;
}

/** Opens a store's bytes: in memory, or LMDB under `<stateDir>/<applicationId>/<task>/<store>`. */
export async function openBytesStore(context: Pick<StreamThreadContext, 'stateDir' | 'applicationId' | 'eos'>, definition: StoreDefinition, taskId: string): Promise<BytesStore> {
  if (!definition.persistent) return new InMemoryBytesStore();
  return LmdbBytesStore.open(path.join(context.stateDir, context.applicationId, taskId, definition.name), context.eos);
}

function discardCaches(task: StreamTask): void {
  for (const store of task.stores.values()) if (store instanceof CachingKeyValueStore) store.discard();
}

/** Kafka's retry.backoff.ms, between two reads of committed offsets a transaction still holds (UNSTABLE_OFFSET_COMMIT). */
const UNSTABLE_OFFSETS_BACKOFF_MS = 100;

/** The group refused a transaction's offsets: this member is no longer in its current generation (Kafka's TaskMigratedException). */
function isMigrated(error: unknown): boolean {
  return error instanceof IllegalGenerationError || error instanceof UnknownMemberIdError || error instanceof FencedInstanceIdError;
}

export class StreamThread {
  readonly name: string;
  readonly tasks = new Map<string, StreamTask>();
  private readonly taskStores = new Map<string, Map<string, BytesStore>>();
  private readonly taskReleases = new Map<string, () => void>();
  private producer: StreamsProducer | null = null;
  private consumer: StreamsGroupConsumer | null = null;
  private transaction: StreamsTransaction | null = null;
  private readonly collector = new RecordCollector();
  private readonly cache: ThreadCache;
  private pendingSends: Promise<void>[] = [];
  private serial: Promise<void> = Promise.resolve();
  private commitTimer: NodeJS.Timeout | null = null;
  private lastCommitMs = Date.now();
  private commitRequested = false;
  private revoking = false;
  /** Tasks assigned and restored since the last revocation. */
  private assigned = false;
  private everAssigned = false;
  /** The group fenced a commit of this thread: no processing until the consumer's next assignment. */
  private migrated = false;

  constructor(
    private readonly context: StreamThreadContext,
    private readonly processId: string,
    /** 1-based, as Kafka's thread names. */
    readonly index: number,
  ) {
    this.name = `${context.applicationId}-${processId}-StreamThread-${index}`;
    this.cache = new ThreadCache(context.cacheMaxBytesPerThread);
  }

  /** Not moving tasks: its assignment is in place and restored. */
  get running(): boolean {
    return this.assigned && !this.revoking;
  }

  /** Kafka's thread states, of those a thread here passes through while it runs. */
  get state(): 'STARTING' | 'PARTITIONS_REVOKED' | 'RUNNING' {
    if (this.running) return 'RUNNING';
    return this.revoking || this.everAssigned ? 'PARTITIONS_REVOKED' : 'STARTING';
  }

  /**
   * Connects the producer. A transactional one fences an earlier instance of this thread and
   * aborts its open transaction, so the changelogs' last stable offset moves past it before any
   * task restores: every thread's producer is opened before any thread's consumer.
   */
  async openProducer(): Promise<void> {
    this.producer = await this.context.connection.producer(this.context.eos ? this.name : null);
  }

  /** Joins the group and starts processing. */
  async startConsumer(sourceTopics: string[]): Promise<void> {
    const context = this.context;
    this.consumer = await context.connection.groupConsumer(context.applicationId, sourceTopics, context.eos, {
      onBatch: (batch) => this.exclusive(() => this.processBatch(batch)),
      onAssigned: (partitions) => void this.exclusive(() => this.assign(partitions)),
      onRevoked: (partitions) => {
        // Said at once, before the revoke step runs: no commit may land after the partitions are gone.
        this.revoking = true;
        context.onRebalance();
        void this.exclusive(() => this.revoke(partitions));
      },
      onFatal: (error) => context.fail(error),
    });
    this.commitTimer = setInterval(() => void this.exclusive(() => this.tick()), Math.min(context.commitIntervalMs, 1_000));
    this.commitTimer.unref();
  }

  /** The last commit of a clean close, after every step queued before it. */
  finalCommit(): Promise<void> {
    return this.exclusive(async () => {
      if (this.producer !== null) await this.commit();
    });
  }

  // ---- Tasks ----

  private async assign(partitions: { topic: string; partitions: number[] }[]): Promise<void> {
    this.migrated = false;
    // The group rebalances eagerly (range): every assignment follows the revocation of all the
    // member's partitions. A task still held here was lost without one (the member was removed
    // from the group, its session expired), and another member may have worked on it since.
    if (this.tasks.size > 0) await this.dropAll();
    for (const { topic, partitions: numbers } of partitions) {
      const subtopology = this.context.topicToSubtopology.get(topic);
      if (subtopology === undefined) continue;
      for (const partition of numbers) if ((await this.taskFor(subtopology, partition)) === null) return;
    }
    this.assigned = true;
    this.everAssigned = true;
    this.context.onRebalance();
  }

  /**
   * The task of (sub-topology, partition), created if new: once this thread holds it, the group's
   * committed offsets of its partitions are read again, waiting out a transaction that still holds
   * some (OffsetFetch's require_stable), since its previous owner may have committed after the
   * consumer read them at the assignment; then its stores are restored from their changelogs,
   * which by then hold what that commit wrote, and the consumer is moved to those offsets. Null
   * when the instance halted meanwhile.
   */
  private async taskFor(subtopology: Subtopology, partition: number): Promise<StreamTask | null> {
    const id = `${subtopology.id}_${partition}`;
    const existing = this.tasks.get(id);
    if (existing !== undefined) return existing;
    const context = this.context;
    const release = await context.lockTask(id);
    const sources = subtopology.sourceTopics.map((topic) => ({ topic: context.resolveTopic(topic), partition }));
    const committed = await this.stableCommittedOffsets(sources);
    if (committed === null) {
      release();
      return null;
    }
    this.taskReleases.set(id, release);
    const bytesStores = new Map<string, BytesStore>();
    this.taskStores.set(id, bytesStores);
    const stores = new Map<string, KeyValueStore<unknown, unknown>>();
    // Created below, before any record reaches a store.
    let task: StreamTask;
    for (const storeName of subtopology.stores) {
      if (context.topology.isGlobalStore(storeName)) continue;
      const definition = context.topology.store(storeName)!;
      const bytes = await openBytesStore(context, definition, id);
      bytesStores.set(storeName, bytes);
      let logger: ((key: Buffer, value: Buffer | null) => void) | null = null;
      if (definition.logging) {
        const changelog = context.changelogTopic(storeName);
        const end = await context.connection.readToEnd(changelog, partition, bytes.restoredOffset(), context.eos, (message) => {
          if (message.key !== null) bytes.put(message.key, message.value);
        });
        bytes.flush(end);
        logger = (key, value) => this.collector.send(changelog, key, value, Date.now(), partition, undefined);
      }
      const keySerde = definition.keySerde ?? internalSerde;
      const valueSerde = definition.valueSerde ?? internalSerde;
      const store = new TypedKeyValueStore(storeName, bytes, keySerde, valueSerde, logger);
      const cached = definition.caching === true && this.cache.maxBytes > 0;
      stores.set(storeName, cached ? new CachingKeyValueStore(store, this.cache, keySerde, valueSerde, () => task.currentRecord) : store);
    }
    const environment: TaskEnvironment = {
      applicationId: context.applicationId,
      topology: context.topology,
      collector: this.collector,
      resolveTopic: (topic) => context.resolveTopic(topic),
      requestCommit: () => {
        this.commitRequested = true;
      },
    };
    const startOffsets = new Map(sources.map(({ topic }) => [topic, committed.get(partitionKey(topic, partition)) ?? 0] as const));
    task = new StreamTask(subtopology, partition, environment, stores, context.globalStores, startOffsets);
    this.tasks.set(id, task);
    // Offset 0 below the log start resets to the earliest, as with no committed offset.
    if (!context.halted()) for (const [topic, offset] of startOffsets) this.consumer?.seek(topic, partition, offset);
    return task;
  }

  /** The group's committed offsets, once no transaction holds any of them (exactly_once_v2); null if the instance halts meanwhile. */
  private async stableCommittedOffsets(partitions: { topic: string; partition: number }[]): Promise<Map<string, number> | null> {
    for (;;) {
      if (this.context.halted()) return null;
      const offsets = await this.context.connection.committedOffsets(this.context.applicationId, partitions, this.context.eos);
      if (offsets !== null) return offsets;
      await delay(UNSTABLE_OFFSETS_BACKOFF_MS);
    }
  }

  private async revoke(partitions: { topic: string; partitions: number[] }[]): Promise<void> {
    const ids = new Set<string>();
    for (const { topic, partitions: numbers } of partitions) {
      const subtopology = this.context.topicToSubtopology.get(topic);
      if (subtopology !== undefined) for (const partition of numbers) ids.add(`${subtopology.id}_${partition}`);
    }
    this.revoking = false;
    this.assigned = false;
    if (ids.size === 0) return;
    if (!this.context.eos) {
      await this.commit();
      for (const id of ids) await this.closeTask(id);
      return;
    }
    // exactly_once_v2: the group may already have handed these partitions to another member, which
    // starts from the committed offsets; committing now could land after it read them and count
    // this work twice. So the open transaction is aborted and the tasks' stores dropped with their
    // uncommitted changes: whoever owns the partitions next restores them from the committed
    // changelogs and processes from the committed offsets. The group rebalances eagerly, so
    // these are all the thread's tasks: the transaction holds no work of a task it keeps.
    await this.abortTransaction();
    for (const id of ids) await this.dropTask(id);
  }

  /** Aborts the open transaction (under at_least_once, forgets what is not yet sent). */
  private async abortTransaction(): Promise<void> {
    await Promise.allSettled(this.pendingSends);
    this.pendingSends = [];
    this.collector.drain();
    const transaction = this.transaction;
    this.transaction = null;
    await transaction?.abort();
  }

  /**
   * The group moved on without this thread's tasks (Kafka's handleLostAll): their uncommitted
   * work is aborted and every task dropped with it, since the one transaction held the work of
   * all; the tasks the consumer still owns are created again from the committed state.
   */
  private async dropAll(): Promise<void> {
    for (const task of this.tasks.values()) task.consumedOffsets.clear();
    await this.abortTransaction();
    for (const id of [...this.tasks.keys()]) await this.dropTask(id);
  }

  /** Closes a task without keeping its stores' uncommitted changes (a persistent store is rebuilt from its changelog). */
  private async dropTask(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    discardCaches(task);
    task.close();
    this.tasks.delete(id);
    for (const bytes of this.taskStores.get(id)?.values() ?? []) {
      if (bytes instanceof LmdbBytesStore) await bytes.discard();
      else await bytes.close();
    }
    this.taskStores.delete(id);
    this.releaseTask(id);
  }

  /** Closes a task after a commit: its stores keep what was committed (updates cached since were not, nor their offsets). */
  private async closeTask(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    discardCaches(task);
    task.close();
    this.tasks.delete(id);
    for (const [storeName, bytes] of this.taskStores.get(id) ?? []) {
      const definition = this.context.topology.store(storeName)!;
      const end = definition.logging ? await this.changelogEnd(storeName, task.partition) : null;
      bytes.flush(end);
      if (bytes instanceof LmdbBytesStore && end !== null) bytes.writeCheckpoint();
      await bytes.close();
    }
    this.taskStores.delete(id);
    this.releaseTask(id);
  }

  private releaseTask(id: string): void {
    this.taskReleases.get(id)?.();
    this.taskReleases.delete(id);
  }

  private async changelogEnd(storeName: string, partition: number): Promise<number> {
    return this.context.connection.readToEnd(this.context.changelogTopic(storeName), partition, Number.MAX_SAFE_INTEGER, this.context.eos, () => undefined);
  }

  // ---- Processing and committing ----

  private async processBatch(batch: StreamsBatch): Promise<void> {
    if (this.context.halted() || this.migrated) return;
    const subtopology = this.context.topicToSubtopology.get(batch.topic);
    if (subtopology === undefined) return;
    const task = await this.taskFor(subtopology, batch.partition);
    if (task === null) return;
    if (this.context.eos && this.transaction === null) this.transaction = await this.producer!.transaction();
    task.processBatch(batch.topic, batch.messages);
    this.sendCollected();
    if (this.commitRequested || Date.now() - this.lastCommitMs >= this.context.commitIntervalMs) await this.commit();
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
    if (this.context.halted()) return;
    const now = Date.now();
    for (const task of this.tasks.values()) task.punctuate('WALL_CLOCK_TIME', now);
    if (this.collector.size > 0 && this.context.eos && this.transaction === null) this.transaction = await this.producer!.transaction();
    this.sendCollected();
    if (this.commitRequested || now - this.lastCommitMs >= this.context.commitIntervalMs) await this.commit();
  }

  private async commit(): Promise<void> {
    const context = this.context;
    // A revocation is pending: its step decides what happens to the open work (see revoke).
    if (context.eos && this.revoking) return;
    this.commitRequested = false;
    this.lastCommitMs = Date.now();
    // The generation these tasks were assigned in, taken before anything is awaited: the group
    // may move on while the sends settle, and then the offsets must be refused.
    const member = this.consumer?.groupMetadata() ?? null;
    // The record caches first: what they forward and log is part of this commit. A flush may
    // write into another cached store downstream in the task, so until every cache is empty.
    for (let flushed = true; flushed; ) {
      flushed = false;
      for (const task of this.tasks.values()) {
        for (const store of task.stores.values()) {
          if (!(store instanceof CachingKeyValueStore) || store.size === 0) continue;
          store.flush();
          flushed = true;
        }
      }
    }
    if (context.eos && this.collector.size > 0 && this.transaction === null) this.transaction = await this.producer!.transaction();
    this.sendCollected();
    const sends = this.pendingSends;
    this.pendingSends = [];
    await Promise.all(sends);
    const offsets: TopicPartitionOffset[] = [];
    for (const task of this.tasks.values()) {
      for (const [topic, offset] of task.consumedOffsets) offsets.push({ topic, partition: task.partition, offset });
      task.consumedOffsets.clear();
    }
    if (context.eos) {
      const transaction = this.transaction;
      if (transaction === null) return;
      this.transaction = null;
      if (offsets.length > 0) {
        try {
          await transaction.sendOffsets(context.applicationId, offsets, member);
        } catch (error) {
          if (!isMigrated(error)) throw error;
          // Fenced by the group: another member may own these tasks now, so this work is dropped
          // (Kafka's TaskMigratedException) and the thread waits for its consumer's next assignment.
          this.transaction = transaction;
          await this.dropAll();
          this.migrated = true;
          return;
        }
      }
      await transaction.commit();
    } else if (offsets.length > 0) {
      await this.consumer!.commit(offsets);
    }
    for (const [id, stores] of this.taskStores) {
      for (const [storeName, bytes] of stores) {
        if (!(bytes instanceof LmdbBytesStore)) continue;
        // Under exactly_once_v2 the checkpoint is written only by a clean close (see stores.ts),
        // which looks the changelog's end up itself: a commit only writes the store to disk.
        const end = !context.eos && context.topology.store(storeName)!.logging ? await this.changelogEnd(storeName, this.tasks.get(id)!.partition) : null;
        bytes.flush(end);
        if (end !== null) bytes.writeCheckpoint();
      }
    }
  }

  private exclusive(step: () => Promise<void>): Promise<void> {
    const run = this.serial.then(async () => {
      if (this.context.failed()) return;
      try {
        await step();
      } catch (error) {
        // Not awaited: failing stops the consumer, which waits for the batch handler this step
        // may be running in. The failure is recorded at once, so no later step runs.
        this.context.fail(error as Error);
      }
    });
    this.serial = run;
    return run;
  }

  /** Stops the consumer, then closes the tasks (clean: with checkpoints) and the producer. */
  async stopConsumer(): Promise<void> {
    if (this.commitTimer !== null) clearInterval(this.commitTimer);
    this.commitTimer = null;
    await this.consumer?.close().catch(() => undefined);
    this.consumer = null;
  }

  async release(clean: boolean): Promise<void> {
    await this.stopConsumer();
    if (!clean) {
      await this.transaction?.abort().catch(() => undefined);
      this.transaction = null;
      for (const task of this.tasks.values()) task.close();
      for (const stores of this.taskStores.values()) for (const bytes of stores.values()) await bytes.close();
      this.tasks.clear();
      this.taskStores.clear();
      for (const id of [...this.taskReleases.keys()]) this.releaseTask(id);
    } else {
      for (const id of [...this.tasks.keys()]) await this.closeTask(id);
    }
    await this.producer?.close().catch(() => undefined);
    this.producer = null;
  }
}
