/**
 * Turns the record batches a fetch returned into the messages a consumer hands out.
 *
 * A fetch returns whole batches exactly as stored, so the first batch may start before the
 * requested offset (the broker reads from a batch boundary): records below the fetch offset are
 * skipped, as are control batches (transaction markers, which are not application records).
 * For read_committed, the batches of aborted transactions are dropped too, by Kafka's consumer
 * algorithm over the fetch's aborted transactions (see decodeFetchedRecords).
 * Each message is one small object holding positions into the fetched bytes; its key, value and
 * headers are sliced (and deserialized) only when read, so a consumer that looks at the value
 * alone never pays for the key or the headers.
 */
// The global Buffer is reached through a getter; the import is a plain binding on the hot path.
import { Buffer } from 'node:buffer';
import { CONTROL_FLAG_MASK, TIMESTAMP_TYPE_MASK, TRANSACTIONAL_FLAG_MASK } from '../protocol/batch-header.js';
import { COMPRESSION_CODEC_IDS } from '../protocol/compression.js';
import type { RecordBatchHeader } from '../protocol/record-batch.js';
import { RecordBatchIterator, RecordView, type DecodeOptions } from '../protocol/record-batch-reader.js';
import { parseControlRecord } from '../protocol/control-record.js';
import type { Serializer } from './serializers.js';

/** Headers as kafkajs gives them: one Buffer per name, an array when the name repeats. */
export type ConsumedHeaders = Record<string, Buffer | Buffer[] | null>;

export interface Deserializers<K, V> {
  key: Serializer<K> | undefined;
  value: Serializer<V> | undefined;
}

/** What the messages of one record batch share, so that each message carries only its own positions. */
class BatchContext<K, V> {
  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The fetched bytes, or the batch's decompressed records. */
    readonly buffer: Buffer,
    readonly attributes: number,
    readonly baseOffset: number,
    /** The batch's base timestamp, or for LogAppendTime its max timestamp (every record's). */
    readonly baseTimestamp: number,
    readonly deserializers: Deserializers<K, V> | null,
  ) {}
}

/**
 * One consumed record, kafkajs-shaped ({ key, value, headers, timestamp, offset }) with offset
 * and timestamp as numbers. `key`, `value` and `headers` are computed on each read: keep the
 * result rather than reading them repeatedly. Keys and values are slices of the fetched bytes,
 * valid for as long as the message is referenced.
 *
 * Every field is a small integer (offset and timestamp are kept as deltas from the batch's), so
 * V8 stores them inline: a message is one small allocation, the cost that decides how fast a
 * consumer can go.
 */
export class ConsumedMessage<K = Buffer, V = Buffer> {
  private readonly batch: BatchContext<K, V>;
  private readonly offsetDelta: number;
  private readonly timestampDelta: number;
  private readonly keyStart: number;
  private readonly keyLength: number;
  private readonly valueStart: number;
  private readonly valueLength: number;
  private readonly headerCount: number;
  private readonly headersStart: number;

  constructor(batch: BatchContext<K, V>, view: RecordView) {
    this.batch = batch;
    this.offsetDelta = view.offset - batch.baseOffset;
    this.timestampDelta = view.timestamp - batch.baseTimestamp;
    this.keyStart = view.keyStart;
    this.keyLength = view.keyLength;
    this.valueStart = view.valueStart;
    this.valueLength = view.valueLength;
    this.headerCount = view.headerCount;
    this.headersStart = view.headersStart;
  }

  get topic(): string {
    return this.batch.topic;
  }

  get partition(): number {
    return this.batch.partition;
  }

  get offset(): number {
    return this.batch.baseOffset + this.offsetDelta;
  }

  /** CreateTime of the record, or the broker's append time for LogAppendTime topics (ms). */
  get timestamp(): number {
    return this.batch.baseTimestamp + this.timestampDelta;
  }

  /** The record batch's attributes (compression, timestamp type, transactional flag). */
  get attributes(): number {
    return this.batch.attributes;
  }

  get key(): K | null {
    if (this.keyLength < 0) return null;
    const bytes = this.batch.buffer.subarray(this.keyStart, this.keyStart + this.keyLength);
    const serializer = this.batch.deserializers?.key;
    return serializer === undefined ? (bytes as K) : serializer.deserialize(bytes);
  }

  get value(): V | null {
    if (this.valueLength < 0) return null;
    const bytes = this.batch.buffer.subarray(this.valueStart, this.valueStart + this.valueLength);
    const serializer = this.batch.deserializers?.value;
    return serializer === undefined ? (bytes as V) : serializer.deserialize(bytes);
  }

  /** Bytes of the value (0 for a tombstone), without slicing it. */
  get valueSize(): number {
    return this.valueLength < 0 ? 0 : this.valueLength;
  }

  get headers(): ConsumedHeaders {
    const headers: ConsumedHeaders = {};
    if (this.headerCount === 0) return headers;
    const view = new RecordView();
    view.buffer = this.batch.buffer;
    view.headersStart = this.headersStart;
    view.headerCount = this.headerCount;
    for (const { key, value } of view.headers()) {
      const existing = headers[key];
      if (existing === undefined) {
        headers[key] = value;
      } else if (Array.isArray(existing)) {
        if (value !== null) existing.push(value);
      } else if (existing !== null && value !== null) {
        headers[key] = [existing, value];
      }
    }
    return headers;
  }
}

/** A transaction the fetch reports aborted: its producer's transactional batches from firstOffset on are dropped. */
export interface FetchedAbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

const NO_ABORTED_TRANSACTIONS: readonly FetchedAbortedTransaction[] = [];
const CHECK_CRCS: DecodeOptions = Object.freeze({ checkCrcs: true });
const SKIP_CRCS: DecodeOptions = Object.freeze({ checkCrcs: false });

/**
 * Decodes the records of `records` (whole batches, a partial one at the end ignored) with
 * offsets >= `fromOffset`, control batches left out, appended to `out`. Returns the bytes
 * consumed. Bad bytes throw CorruptRecordError; `checkCrcs` false skips the CRC32C pass over each
 * batch (see ConsumerOptions.checkCrcs).
 *
 * `abortedTransactions` (read_committed) drops aborted records as Kafka's consumer does: going
 * through the batches in offset order, a producer joins the aborted set once a transactional
 * batch reaches the firstOffset of one of its aborted transactions; its transactional batches are
 * dropped while it is in the set, and its ABORT marker takes it out again.
 */
export function decodeFetchedRecords<K, V>(
  topic: string,
  partition: number,
  records: Buffer,
  fromOffset: number,
  deserializers: Deserializers<K, V> | null,
  out: ConsumedMessage<K, V>[],
  abortedTransactions: readonly FetchedAbortedTransaction[] = NO_ABORTED_TRANSACTIONS,
  checkCrcs = true,
): number {
  if (records.length === 0) return 0;
  const aborted =
    abortedTransactions.length > 1 ? [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset) : abortedTransactions;
  let nextAborted = 0;
  const abortedProducers = new Set<number>();
  const iterator = new RecordBatchIterator(records, checkCrcs ? CHECK_CRCS : SKIP_CRCS);
  const view = new RecordView();
  // What to keep is decided once per batch; the per-record loops only parse and hand out.
  for (let batch = iterator.nextBatch(view); batch !== null; batch = iterator.nextBatch(view)) {
    const count = batch.recordCount;
    if (batch.isControl) {
      // A control batch holds one marker: an ABORT ends its producer's aborted transaction.
      for (let i = 0; i < count; i++) {
        iterator.nextRecord(view);
        if (abortedProducers.has(batch.producerId) && parseControlRecord(view.key(), view.value()).type === 'abort') {
          abortedProducers.delete(batch.producerId);
        }
      }
      continue;
    }
    if (aborted.length > 0 && batch.isTransactional) {
      const lastOffset = batch.baseOffset + batch.lastOffsetDelta;
      while (nextAborted < aborted.length && aborted[nextAborted].firstOffset <= lastOffset) {
        abortedProducers.add(aborted[nextAborted++].producerId);
      }
      // Its records are still parsed (and checked) by nextBatch, but none is handed out.
      if (abortedProducers.has(batch.producerId)) continue;
    }
    let i = 0;
    for (; i < count; i++) {
      iterator.nextRecord(view);
      if (view.offset >= fromOffset) break;
    }
    if (i === count) continue;
    const baseTimestamp = batch.timestampType === 'logAppend' ? batch.maxTimestamp : batch.baseTimestamp;
    const context = new BatchContext(topic, partition, view.buffer, attributesOf(batch), batch.baseOffset, baseTimestamp, deserializers);
    out.push(new ConsumedMessage(context, view));
    for (i++; i < count; i++) {
      iterator.nextRecord(view);
      out.push(new ConsumedMessage(context, view));
    }
  }
  return iterator.position;
}

/** The attributes int16 rebuilt from the decoded header (what kafkajs exposes as `attributes`). */
function attributesOf(batch: RecordBatchHeader): number {
  return (
    COMPRESSION_CODEC_IDS[batch.compression] |
    (batch.timestampType === 'logAppend' ? TIMESTAMP_TYPE_MASK : 0) |
    (batch.isTransactional ? TRANSACTIONAL_FLAG_MASK : 0) |
    (batch.isControl ? CONTROL_FLAG_MASK : 0)
  );
}
