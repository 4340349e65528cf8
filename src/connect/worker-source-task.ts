/**
 * Runs one source task (Kafka's WorkerSourceTask): poll, transform, convert, send, and every
 * offset.flush.interval.ms store the source offsets of the records the broker acknowledged.
 *
 * At least once: an offset is stored only after every record sent before it was acknowledged
 * (the flush waits for the sends in flight when it took its snapshot), so after a crash the task
 * resumes at or before the first record that may be missing: some records may be written twice,
 * none lost. With exactly-once support (exactly-once.ts) records and offsets go together.
 */
import { ConnectError } from '../errors.js';
import type { OffsetStorageReader, Props, SourceRecord, SourceTask } from './api.js';
import type { ClusterProducer, OutgoingRecord } from './cluster.js';
import type { ConverterSet } from './converter-set.js';
import type { ErrorHandler, StageTracker } from './error-handler.js';
import { offsetKey, type OffsetStore } from './offset-store.js';
import type { TopicCreator } from './topic-creation.js';
import type { StatusListener, TaskId } from './status.js';
import type { TransformChain } from './transforms.js';

/** Sends awaited before more are issued: keeps the promises (and buffered records) between flushes bounded. */
const MAX_SENDS_IN_FLIGHT = 64;

export interface SourceTaskSetup {
  readonly id: TaskId;
  readonly task: SourceTask;
  readonly taskConfig: Props;
  readonly converters: ConverterSet;
  readonly transforms: TransformChain;
  readonly errors: ErrorHandler;
  readonly offsets: OffsetStore;
  readonly listener: StatusListener;
  readonly offsetFlushIntervalMs: number;
  /** Creates the topics records go to (KIP-158), when the connector asks for it. */
  readonly topicCreator: TopicCreator | null;
}

/** Converts a record for the producer, or throws the failure of its transforms or converters. */
export async function toOutgoing(record: SourceRecord, converters: ConverterSet, track: StageTracker): Promise<OutgoingRecord> {
  const headers: Record<string, Buffer> = {};
  if (record.headers.length > 0) track('HEADER_CONVERTER', converters.header.constructor.name);
  for (const header of record.headers) {
    const bytes = await converters.header.fromConnectData(record.topic, header.schema, header.value);
    if (bytes !== null) headers[header.key] = bytes;
  }
  track('KEY_CONVERTER', converters.key.constructor.name);
  const key = await converters.key.fromConnectData(record.topic, record.keySchema, record.key);
  track('VALUE_CONVERTER', converters.value.constructor.name);
  const value = await converters.value.fromConnectData(record.topic, record.valueSchema, record.value);
  return { topic: record.topic, partition: record.kafkaPartition, key, value, headers, timestamp: record.timestamp };
}

export function offsetReader(store: OffsetStore, connector: string): OffsetStorageReader {
  return {
    offset: (partition) => store.get(connector, partition),
    offsets: (partitions) => new Map(partitions.map((partition) => [partition, store.get(connector, partition)])),
  };
}

export abstract class SourceTaskRunnerBase {
  protected stopping = false;
  private paused = false;
  private resumed: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  protected failure: unknown = null;

  constructor(protected readonly setup: SourceTaskSetup) {}

  start(): void {
    this.loop = this.run();
  }

  pause(): void {
    this.paused = true;
    this.setup.listener.onPaused();
  }

  resume(): void {
    this.paused = false;
    this.resumed?.();
    this.setup.listener.onRunning();
  }

  /** Stops polling, stores what was acknowledged, stops the task. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.resumed?.();
    try {
      await this.setup.task.stop();
    } catch (error) {
      this.failure ??= error;
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    const { task, taskConfig, listener, offsets, id } = this.setup;
    try {
      await this.open();
      task.context = { configs: taskConfig, offsetStorageReader: offsetReader(offsets, id.connector) };
      await task.start(taskConfig);
      listener.onRunning();
      while (!this.stopping) {
        if (this.paused) {
          await new Promise<void>((resolve) => (this.resumed = resolve));
          this.resumed = null;
          continue;
        }
        const polled = await task.poll();
        if (this.failure !== null) break;
        if (polled === null || polled.length === 0) {
          await this.idle();
          continue;
        }
        await this.process(polled);
      }
      await this.close();
      if (this.failure !== null) throw this.failure;
      listener.onStopped();
    } catch (error) {
      await this.close().catch(() => {});
      listener.onFailure(error);
    }
  }

  /** The transformed, converted records of a poll with the offsets they carry; dropped records still count for their offsets. */
  protected async prepare(polled: readonly SourceRecord[]): Promise<{ out: OutgoingRecord[]; offsets: Map<string, string | null> }> {
    const { transforms, converters, errors, id } = this.setup;
    const out: OutgoingRecord[] = [];
    const offsets = new Map<string, string | null>();
    for (const record of polled) {
      const converted = await errors.execute(async (track) => {
        const transformed = transforms.apply(record, (className) => track('TRANSFORMATION', className));
        if (transformed === null) return null;
        return toOutgoing(transformed, converters, track);
      });
      if (converted !== null) {
        await this.setup.topicCreator?.ensure(converted.topic);
        out.push(converted);
        this.setup.listener.onTopicActive(converted.topic);
      }
      if (record.sourcePartition !== null && record.sourceOffset !== null) offsets.set(offsetKey(id.connector, record.sourcePartition), JSON.stringify(record.sourceOffset));
    }
    return { out, offsets };
  }

  /** Before the task starts: its offsets must be readable by then. */
  protected abstract open(): Promise<void>;
  protected abstract process(polled: readonly SourceRecord[]): Promise<void>;
  /** Called when a poll had nothing: a chance to flush. */
  protected abstract idle(): Promise<void>;
  protected abstract close(): Promise<void>;
}

/** At-least-once delivery with periodic offset flushes (the default). */
export class SourceTaskRunner extends SourceTaskRunnerBase {
  private inFlight: Promise<void>[] = [];
  private pendingOffsets = new Map<string, string | null>();
  private nextFlushMs = 0;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    setup: SourceTaskSetup,
    private readonly producer: ClusterProducer,
  ) {
    super(setup);
  }

  protected async open(): Promise<void> {
    // A distributed worker's offsets topic may hold offsets another worker stored since it started.
    await this.setup.offsets.catchUp();
    this.nextFlushMs = Date.now() + this.setup.offsetFlushIntervalMs;
  }

  protected async process(polled: readonly SourceRecord[]): Promise<void> {
    const { out, offsets } = await this.prepare(polled);
    if (out.length > 0) {
      if (this.inFlight.length >= MAX_SENDS_IN_FLIGHT) await this.inFlight.shift();
      this.inFlight.push(
        this.producer.send(out).catch((error: unknown) => {
          this.failure ??= new ConnectError(`Unrecoverable exception from producer send callback: ${(error as Error).message}`, { cause: error });
        }),
      );
    }
    for (const [key, value] of offsets) this.pendingOffsets.set(key, value);
    if (Date.now() >= this.nextFlushMs) await this.flushOffsets();
  }

  protected async idle(): Promise<void> {
    if (Date.now() >= this.nextFlushMs) await this.flushOffsets();
  }

  protected async close(): Promise<void> {
    await this.flushOffsets();
  }

  /** Stores the offsets of everything sent so far, once all of it was acknowledged. */
  private flushOffsets(): Promise<void> {
    this.nextFlushMs = Date.now() + this.setup.offsetFlushIntervalMs;
    const sends = this.inFlight;
    const offsets = this.pendingOffsets;
    this.inFlight = [];
    this.pendingOffsets = new Map();
    this.flushing = this.flushing.then(async () => {
      await Promise.all(sends);
      if (this.failure !== null) return;
      await this.setup.offsets.write(offsets);
      await this.setup.task.commit();
    });
    return this.flushing;
  }
}

