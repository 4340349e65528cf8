/**
 * The Processor API, as Kafka Streams' org.apache.kafka.streams.processor.api: a Processor gets
 * one record at a time, forwards records to its children through its context, keeps state in
 * the stores it was connected to, and schedules punctuations on stream time or wall-clock time.
 * Everything here is synchronous: a task processes one record to the end before the next.
 */
import type { ConsumedHeaders } from '../client/fetcher.js';

export type RecordHeaders = ConsumedHeaders;

/** A record as it flows through a topology (Kafka Streams' api.Record). */
export interface StreamRecord<K, V> {
  key: K;
  value: V;
  /** Event time, ms since the epoch: the input record's timestamp unless a processor sets another. */
  timestamp: number;
  headers: RecordHeaders;
}

/** Where the record being processed was read: absent for records a punctuation forwards. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export type PunctuationType = 'STREAM_TIME' | 'WALL_CLOCK_TIME';

export interface Cancellable {
  cancel(): void;
}

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string;
  /** The task, as Kafka names it: `<sub-topology>_<partition>`. */
  readonly taskId: string;
  /** The partition this task owns on each of its source topics. */
  readonly partition: number;
  /** The record being processed came from here; null inside a punctuation. */
  recordMetadata(): RecordMetadata | null;
  /** The largest record timestamp this task has seen (Kafka's stream time); -1 before the first. */
  currentStreamTimeMs(): number;
  currentSystemTimeMs(): number;
  /** To every child, or to the one named `childName`. */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): void;
  /** A store connected to this processor (in the topology, or through process(..., storeNames)). */
  getStateStore<S = unknown>(name: string): S;
  /**
   * Calls `punctuator(timestampMs)` every `intervalMs` of stream time (when records advance it)
   * or of wall-clock time.
   */
  schedule(intervalMs: number, type: PunctuationType, punctuator: (timestampMs: number) => void): Cancellable;
  /** Asks for a commit at the next opportunity (Kafka's context.commit()). */
  commit(): void;
}

export interface Processor<KIn, VIn, KOut = unknown, VOut = unknown> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  close?(): void;
}

export type ProcessorSupplier<KIn, VIn, KOut = unknown, VOut = unknown> = () => Processor<KIn, VIn, KOut, VOut>;
