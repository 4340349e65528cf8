/**
 * Runs one sink task (Kafka's WorkerSinkTask): a member of the consumer group connect-<name>,
 * it converts and transforms each consumed record, hands them to put(), and every
 * offset.flush.interval.ms (and before giving partitions up or stopping) asks the task to flush
 * (preCommit) and commits the offsets it answers. A record's offset is committed only after the
 * flush that followed its put(): at least once.
 */
import type { ConnectHeader, Props, SinkRecord, SinkTask, TopicPartition, TopicPartitionOffset } from './api.js';
import type { ClusterConsumer, IncomingBatch, IncomingRecord } from './cluster.js';
import type { ConverterSet } from './converter-set.js';
import type { ErrorHandler, StageTracker } from './error-handler.js';
import type { StatusListener, TaskId } from './status.js';
import type { TransformChain } from './transforms.js';

export interface SinkTaskSetup {
  readonly id: TaskId;
  readonly task: SinkTask;
  readonly taskConfig: Props;
  readonly topics: readonly string[] | RegExp;
  readonly converters: ConverterSet;
  readonly transforms: TransformChain;
  readonly errors: ErrorHandler;
  readonly consumer: ClusterConsumer;
  readonly listener: StatusListener;
  readonly offsetFlushIntervalMs: number;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class SinkTaskRunner {
  /** Next offset to read per partition: what a commit after the next flush may store. */
  private readonly current = new Map<string, TopicPartitionOffset>();
  private readonly committed = new Map<string, number>();
  /** put() and commits one at a time. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private commitRequested = false;
  private paused = false;
  private failed = false;
  private stopped = false;
  private starting: Promise<void> = Promise.resolve();
  private started = false;

  constructor(private readonly setup: SinkTaskSetup) {}

  /** Starts the task and its consumer in the background: the consumer may wait a while to join its group. */
  start(): void {
    this.starting = this.begin().finally(() => (this.started = true));
  }

  private async begin(): Promise<void> {
    const { task, taskConfig, consumer, listener, topics } = this.setup;
    try {
      task.context = {
        configs: taskConfig,
        assignment: () => consumer.assignment(),
        pause: (partitions) => consumer.pause(partitions),
        resume: (partitions) => consumer.resume(partitions),
        requestCommit: () => (this.commitRequested = true),
      };
      await task.start(taskConfig);
      await consumer.subscribe(topics);
      await consumer.run({
        batch: (batch) => this.serially(() => this.deliver(batch)),
        assigned: (partitions) => void this.serially(() => this.opened(partitions)).catch((error: unknown) => this.fail(error)),
        revoked: (partitions) => this.serially(() => this.closed(partitions)),
        crashed: (error) => this.fail(error),
      });
      this.timer = setInterval(() => void this.serially(() => this.commit()).catch((error: unknown) => this.fail(error)), this.setup.offsetFlushIntervalMs);
      if (!this.stopped) listener.onRunning();
    } catch (error) {
      this.fail(error);
    }
  }

  pause(): void {
    this.paused = true;
    this.setup.consumer.pause(this.setup.consumer.assignment());
    this.setup.listener.onPaused();
  }

  resume(): void {
    this.paused = false;
    this.setup.consumer.resume(this.setup.consumer.assignment());
    this.setup.listener.onRunning();
  }

  /** Flushes and commits what was put, leaves the group and stops the task. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A consumer still joining its group is closed first, so the stop does not wait for the join.
    if (!this.started) await this.setup.consumer.close().catch(() => {});
    await this.starting;
    if (this.timer !== null) clearInterval(this.timer);
    try {
      if (!this.failed) await this.serially(() => this.commit());
    } catch (error) {
      this.fail(error);
    }
    await this.setup.consumer.close().catch(() => {});
    try {
      await this.setup.task.stop();
    } catch (error) {
      this.fail(error);
    }
    this.setup.transforms.close();
    if (!this.failed) this.setup.listener.onStopped();
  }

  private fail(error: unknown): void {
    // What breaks while the task is being stopped (a consumer closed mid-join) is no failure of it.
    if (this.failed || (this.stopped && !this.started)) return;
    this.failed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.setup.listener.onFailure(error);
    void this.setup.consumer.close().catch(() => {});
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.exclusive.then(work);
    this.exclusive = next.catch(() => {});
    return next;
  }

  private async deliver(batch: IncomingBatch): Promise<void> {
    if (this.failed || this.stopped) return;
    try {
      const records: SinkRecord[] = [];
      if (batch.records.length > 0) this.setup.listener.onTopicActive(batch.topic);
      for (const raw of batch.records) {
        const record = await this.setup.errors.execute((track) => this.toSinkRecord(batch, raw, track), { topic: batch.topic, partition: batch.partition, record: raw });
        if (record !== null) records.push(record);
      }
      if (records.length > 0) await this.setup.task.put(records);
      const last = batch.records[batch.records.length - 1];
      if (last !== undefined) this.current.set(partitionKey(batch.topic, batch.partition), { topic: batch.topic, partition: batch.partition, offset: last.offset + 1 });
      if (this.commitRequested) await this.commit();
      if (this.paused) this.setup.consumer.pause([{ topic: batch.topic, partition: batch.partition }]);
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  private async toSinkRecord(batch: IncomingBatch, raw: IncomingRecord, track: StageTracker): Promise<SinkRecord | null> {
    const { converters, transforms } = this.setup;
    track('KEY_CONVERTER', converters.key.constructor.name);
    const key = await converters.key.toConnectData(batch.topic, raw.key);
    track('VALUE_CONVERTER', converters.value.constructor.name);
    const value = await converters.value.toConnectData(batch.topic, raw.value);
    track('HEADER_CONVERTER', converters.header.constructor.name);
    const headers: ConnectHeader[] = [];
    for (const [name, entry] of Object.entries(raw.headers)) {
      for (const bytes of Array.isArray(entry) ? entry : [entry]) {
        const converted = await converters.header.toConnectData(batch.topic, bytes);
        headers.push({ key: name, value: converted.value, schema: converted.schema });
      }
    }
    const record: SinkRecord = {
      topic: batch.topic,
      kafkaPartition: batch.partition,
      kafkaOffset: raw.offset,
      keySchema: key.schema,
      key: key.value,
      valueSchema: value.schema,
      value: value.value,
      timestamp: raw.timestamp,
      timestampType: 'CreateTime',
      headers,
      originalTopic: batch.topic,
      originalKafkaPartition: batch.partition,
      originalKafkaOffset: raw.offset,
    };
    return transforms.apply(record, (className) => track('TRANSFORMATION', className));
  }

  private async opened(partitions: TopicPartition[]): Promise<void> {
    await this.setup.task.open(partitions);
  }

  private async closed(partitions: TopicPartition[]): Promise<void> {
    await this.commit();
    for (const { topic, partition } of partitions) this.current.delete(partitionKey(topic, partition));
    await this.setup.task.close(partitions);
  }

  /** preCommit (flush) then commit the offsets it answers, if any moved. */
  private async commit(): Promise<void> {
    this.commitRequested = false;
    if (this.failed) return;
    const offsets = [...this.current.values()];
    if (offsets.length === 0) return;
    const safe = await this.setup.task.preCommit(offsets);
    const moved = safe.filter((entry) => this.committed.get(partitionKey(entry.topic, entry.partition)) !== entry.offset);
    if (moved.length === 0) return;
    await this.setup.consumer.commit(moved);
    for (const entry of moved) this.committed.set(partitionKey(entry.topic, entry.partition), entry.offset);
  }
}
