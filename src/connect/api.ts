/**
 * The Connector API, shaped after Kafka Connect's: a connector describes a job and splits it into
 * task configurations (taskConfigs(maxTasks)); tasks do the copying. A source task's poll()
 * returns records, each with the source partition and source offset it came from, which the
 * worker stores once the records are written, and hands back through the task's context after a
 * restart. A sink task gets records through put() and makes them durable in flush(), after which
 * the worker commits the consumer offsets (at least once).
 *
 * Plugins subclass SourceConnector / SinkConnector and their task classes; `config()` defines
 * their settings (ConfigDef), which the worker validates before start() and the REST API reports.
 */
import type { ConfigDef, ConfigValue } from './config-def.js';
import type { Schema } from './data.js';

/** A Connect header: a key, a value and its schema (null: schemaless). */
export interface ConnectHeader {
  readonly key: string;
  readonly value: unknown;
  readonly schema: Schema | null;
}

/** What every record has, source or sink: transforms and converters work on this. */
export interface ConnectRecord {
  readonly topic: string;
  /** null: the producer's partitioner picks. */
  readonly kafkaPartition: number | null;
  readonly keySchema: Schema | null;
  readonly key: unknown;
  readonly valueSchema: Schema | null;
  readonly value: unknown;
  /** ms since the epoch; null: the time it is written. */
  readonly timestamp: number | null;
  readonly headers: readonly ConnectHeader[];
}

/** Where a source record came from, as the task defines it, e.g. { filename: '/in.txt' }. */
export type SourcePartition = Readonly<Record<string, unknown>>;
/** How far into its source partition a record is, e.g. { position: 4096 }. */
export type SourceOffset = Readonly<Record<string, unknown>>;

export interface SourceRecord extends ConnectRecord {
  readonly sourcePartition: SourcePartition | null;
  readonly sourceOffset: SourceOffset | null;
}

export interface SinkRecord extends ConnectRecord {
  readonly kafkaPartition: number;
  readonly kafkaOffset: number;
  readonly timestampType: 'CreateTime' | 'LogAppendTime' | 'NoTimestampType';
  /** The topic and partition the record was read from, before transforms renamed it. */
  readonly originalTopic: string;
  readonly originalKafkaPartition: number;
  readonly originalKafkaOffset: number;
}

/** A source record from its essentials: the rest defaults to null (schemaless key, no partition, no headers). */
export function sourceRecord(fields: Partial<SourceRecord> & Pick<SourceRecord, 'topic' | 'value'>): SourceRecord {
  return {
    sourcePartition: null,
    sourceOffset: null,
    kafkaPartition: null,
    keySchema: null,
    key: null,
    valueSchema: null,
    timestamp: null,
    headers: [],
    ...fields,
  };
}

/** A partition of a Kafka topic with an offset: the next offset to read, as Kafka commits it. */
export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface ConnectorContext {
  /** Asks the worker to call taskConfigs() again and restart the tasks if their configs changed. */
  requestTaskReconfiguration(): void;
  /** Marks the connector FAILED with this error. */
  raiseError(error: Error): void;
}

/** The source offsets stored for this connector (OffsetStorageReader). */
export interface OffsetStorageReader {
  offset(partition: SourcePartition): SourceOffset | null;
  offsets(partitions: readonly SourcePartition[]): Map<SourcePartition, SourceOffset | null>;
}

export interface SourceTaskContext {
  readonly configs: Readonly<Record<string, string>>;
  readonly offsetStorageReader: OffsetStorageReader;
}

export interface SinkTaskContext {
  readonly configs: Readonly<Record<string, string>>;
  /** The partitions this task holds now. */
  assignment(): TopicPartition[];
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Asks for flush() and an offset commit as soon as the current put() returns. */
  requestCommit(): void;
}

export type Props = Readonly<Record<string, string>>;

abstract class Connector {
  /** Set by the worker before start(). */
  context!: ConnectorContext;
  abstract version(): string;
  abstract start(props: Props): void | Promise<void>;
  /** The task class the worker instantiates for each of taskConfigs()'s entries. */
  abstract taskClass(): new () => SourceTask | SinkTask;
  /** At most maxTasks task configurations; their count is how many tasks run. */
  abstract taskConfigs(maxTasks: number): Props[] | Promise<Props[]>;
  abstract stop(): void | Promise<void>;
  abstract config(): ConfigDef;
  /** Each setting's problems; the default checks config()'s definitions. */
  validate(props: Props): ConfigValue[] {
    return this.config().validate(props);
  }
}

export abstract class SourceConnector extends Connector {
  abstract override taskClass(): new () => SourceTask;
  /**
   * Whether the connector's tasks can be run exactly once (KIP-618): 'SUPPORTED' when every
   * record's source offset identifies it and the task resumes exactly after it.
   */
  exactlyOnceSupport(_props: Props): 'SUPPORTED' | 'UNSUPPORTED' | null {
    return null;
  }

  /**
   * Called before the worker writes offsets given over the REST API (KIP-875; a null offset
   * resets that partition): throw to refuse them, return true when the connector keeps no offsets
   * of its own elsewhere, false (the default) when it may and they must be changed there too.
   */
  alterOffsets(_props: Props, _offsets: readonly { partition: SourcePartition; offset: SourceOffset | null }[]): boolean | Promise<boolean> {
    return false;
  }
}

export abstract class SinkConnector extends Connector {
  abstract override taskClass(): new () => SinkTask;

  /** As SourceConnector.alterOffsets, for the consumer group's offsets (null: reset). */
  alterOffsets(_props: Props, _offsets: readonly { topic: string; partition: number; offset: number | null }[]): boolean | Promise<boolean> {
    return false;
  }
}

export abstract class SourceTask {
  /** Set by the worker before start(). */
  context!: SourceTaskContext;
  abstract version(): string;
  abstract start(props: Props): void | Promise<void>;
  /** The next records, or null/[] when there are none yet (wait a little before returning then). */
  abstract poll(): Promise<SourceRecord[] | null>;
  abstract stop(): void | Promise<void>;
  /** Called after the offsets of the records written so far were stored. */
  commit(): void | Promise<void> {}
}

export abstract class SinkTask {
  /** Set by the worker before start(). */
  context!: SinkTaskContext;
  abstract version(): string;
  abstract start(props: Props): void | Promise<void>;
  abstract put(records: readonly SinkRecord[]): void | Promise<void>;
  /** Makes everything put() so far durable: the worker commits `currentOffsets` once it resolves. */
  flush(_currentOffsets: readonly TopicPartitionOffset[]): void | Promise<void> {}
  /** The offsets safe to commit; the default flushes and answers `currentOffsets`. */
  async preCommit(currentOffsets: readonly TopicPartitionOffset[]): Promise<readonly TopicPartitionOffset[]> {
    await this.flush(currentOffsets);
    return currentOffsets;
  }
  open(_partitions: readonly TopicPartition[]): void | Promise<void> {}
  close(_partitions: readonly TopicPartition[]): void | Promise<void> {}
  abstract stop(): void | Promise<void>;
}
