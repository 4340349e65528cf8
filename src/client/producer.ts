/**
 * The embedded producer, shaped after kafkajs's (`send`, `sendBatch`, `connect`, `disconnect`)
 * so that moving to a real Kafka cluster is a small change. It hands record batches to a
 * BrokerApi through the RecordAccumulator (batching, linger, buffer memory, in-flight limit).
 *
 * Differences from kafkajs, on purpose:
 *   - offsets and timestamps are numbers, not strings (`baseOffset: 42`), everywhere;
 *   - `batchSize` defaults to 256 KiB, not Kafka's 16 KiB (see DEFAULT_BATCH_SIZE);
 *   - `lingerMs` defaults to 0 (Kafka 3.x and kafkajs behaviour, best latency for an embedded
 *     queue); records appended in the same tick still share a batch. Kafka 4.0 moved its default
 *     to 5 ms for throughput: set `lingerMs: 5` for that trade-off.
 *   - a send is validated (and serialized) whole before any record is appended: a bad message
 *     rejects the send and none of its records is written.
 *
 * Idempotence and transactions (KIP-98), kafkajs's options and Kafka's semantics:
 *   - `idempotent: true`: the producer takes a producer id (InitProducerId) and numbers its
 *     batches per partition; a batch whose send failed with a retriable error is sent again with
 *     the same sequence, so the log keeps it once. It needs acks -1 and at most 5 requests in
 *     flight per partition, as Kafka. Default false, kafkajs's default: Kafka 3 turns it on by
 *     default, but that costs an InitProducerId per producer and producer state in every log,
 *     and the embedded path has no network to lose answers on (only a shard restart does).
 *   - `transactionalId`: implies idempotence; `await producer.transaction()` opens a transaction
 *     whose sends, and offsets (sendOffsets), become visible to read_committed consumers
 *     together on commit() or never (abort()). A new producer with the same transactional id
 *     fences this one: it then gets ProducerFencedError from every call.
 *
 * Placement: an explicit `partition` wins; otherwise the custom partitioner from
 * `createPartitioner` if given; otherwise Kafka's default: murmur2 of the key, and for null keys
 * the sticky partition, which moves (Partitioner.onNewBatch) whenever a keyless record would
 * open a new batch, as Kafka's DefaultPartitioner does.
 */
// The global Buffer is reached through a getter; the import is a plain binding on the hot path.
import { Buffer } from 'node:buffer';
import type { Acks, BrokerApi } from '../broker/broker-api.js';
import { ClosedError, InvalidConfigError, InvalidRecordError, PartitionNotFoundError, RecordTooLargeError } from '../errors.js';
import { BATCH_HEADER_BYTES } from '../protocol/batch-header.js';
import { checkCompressionType, compressionTypeOfId, type CompressionType } from '../protocol/compression.js';
import type { RecordHeader } from '../protocol/record-batch.js';
import { NOT_SIZED, OPENS_NEW_BATCH, RecordAccumulator, type AccumulatorStats, type ProduceFn, type ProducerBatch } from './accumulator.js';
import { Partitioner, type CustomPartitioner } from './partitioner.js';
import type { Serializer } from './serializers.js';
import { TransactionManager, type SendOffsetsRequest, type TransactionBrokerApi } from './transaction-manager.js';

/**
 * What the producer asks of the broker: the broker itself on the thread that opened it, or an
 * AttachedBroker on a thread attached to it.
 */
export type ProducerBrokerApi = Pick<BrokerApi, 'produce' | 'topicMetadata'> & TransactionBrokerApi;

/** What a record's key or value may be without a serializer; strings are encoded as UTF-8. */
export type RawBytes = Buffer | Uint8Array | string;

/** kafkajs's header shape: a value, or several values for a repeated key. */
export type MessageHeaders = Record<string, RawBytes | RawBytes[] | null | undefined>;

export interface Message<K = RawBytes, V = RawBytes> {
  key?: K | null;
  /** null is a tombstone (Kafka's delete marker for compacted topics). */
  value: V | null;
  headers?: MessageHeaders;
  /** CreateTime in ms since the epoch (a number, or a numeric string as kafkajs takes); default: now. */
  timestamp?: number | string;
  /** Forces the partition, bypassing the partitioner. */
  partition?: number;
}

/** kafkajs's numeric CompressionTypes (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) or Sluice's names. */
export type CompressionSetting = CompressionType | number;
export type AcksSetting = Acks | 'all';

export interface ProducerRecord<K = RawBytes, V = RawBytes> {
  topic: string;
  messages: Message<K, V>[];
  acks?: AcksSetting;
  compression?: CompressionSetting;
}

export interface TopicMessages<K = RawBytes, V = RawBytes> {
  topic: string;
  messages: Message<K, V>[];
}

export interface ProducerBatchRecord<K = RawBytes, V = RawBytes> {
  topicMessages: TopicMessages<K, V>[];
  acks?: AcksSetting;
  compression?: CompressionSetting;
}

/** One per partition a send wrote to, as kafkajs resolves `send`; offsets are numbers. */
export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: 0;
  /** Offset of this send's first record in the partition; -1 with acks 0 (not waited for). */
  baseOffset: number;
  /** The broker's append time when the topic uses LogAppendTime, else -1. */
  logAppendTime: number;
  logStartOffset: number;
}

export interface ProducerOptions<K = RawBytes, V = RawBytes> {
  /** Kafka's batch.size, bytes. Default 262144 (256 KiB; Kafka's is 16 KiB: see README's producer settings). */
  batchSize?: number;
  /** Kafka's linger.ms. Default 0 (see the module comment). */
  lingerMs?: number;
  /** Kafka's buffer.memory, bytes. Default 32 MiB. */
  bufferMemory?: number;
  /** Kafka's max.block.ms: how long send waits for buffer memory. Default 60000. */
  maxBlockMs?: number;
  /** Kafka's max.request.size: the largest record (as a batch of its own), bytes. Default 1 MiB. */
  maxRequestSize?: number;
  /** Kafka's max.in.flight.requests.per.connection, per partition here. Default 5 (at most 5 when idempotent). */
  maxInFlightRequests?: number;
  /** Kafka's enable.idempotence (see the module comment). Default false, true with a transactionalId. */
  idempotent?: boolean;
  /** Kafka's transactional.id: makes the producer transactional (producer.transaction()). */
  transactionalId?: string;
  /** Kafka's transaction.timeout.ms: the coordinator aborts a transaction open longer. Default 60000. */
  transactionTimeout?: number;
  /** Idempotent: sends of a batch after its first on retriable failures (and of coordinator requests). Default 5. */
  retries?: number;
  /** Kafka's retry.backoff.ms: first wait before a retry. Default 100. */
  retryBackoffMs?: number;
  /** Default acks for sends: 0, 1 or -1 / 'all'. Default -1, Kafka 3's and kafkajs's. */
  acks?: AcksSetting;
  /** Default compression for sends. Default 'none'. */
  compression?: CompressionSetting;
  /** Create missing topics with the broker's defaults on first send (kafkajs allowAutoTopicCreation). Default true. */
  allowAutoTopicCreation?: boolean;
  /** kafkajs style: a factory of the custom partitioner, called once per producer. */
  createPartitioner?: () => CustomPartitioner;
  keySerializer?: Serializer<K>;
  valueSerializer?: Serializer<V>;
}

/**
 * 256 KiB, not Kafka's 16 KiB: Kafka sizes batch.size for requests crossing a network to brokers
 * holding thousands of partitions; here a batch costs a ring message, a shard wake-up, a file
 * write and an acknowledgement whatever its size, so small batches spend the caller's thread on
 * round trips (a batching sweep in BENCHMARKS.md). Memory follows what is sent, not this: a
 * batch's buffer starts at 16 KiB and grows with its records, and lingerMs 0 closes a batch at the
 * end of the synchronous run that filled it, so light traffic still goes out in small batches.
 */
export const DEFAULT_BATCH_SIZE = 262_144;
export const DEFAULT_LINGER_MS = 0;
export const DEFAULT_BUFFER_MEMORY = 32 * 1024 * 1024;
export const DEFAULT_MAX_BLOCK_MS = 60_000;
export const DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;
export const DEFAULT_MAX_IN_FLIGHT_REQUESTS = 5;
/** Kafka's limit for idempotent producers: the log remembers the last five batches of a producer per partition. */
export const MAX_IDEMPOTENT_IN_FLIGHT_REQUESTS = 5;
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
export const DEFAULT_RETRIES = 5;
export const DEFAULT_RETRY_BACKOFF_MS = 100;

const PRODUCER_OPTION_NAMES: readonly string[] = [
  'batchSize',
  'lingerMs',
  'bufferMemory',
  'maxBlockMs',
  'maxRequestSize',
  'maxInFlightRequests',
  'idempotent',
  'transactionalId',
  'transactionTimeout',
  'retries',
  'retryBackoffMs',
  'acks',
  'compression',
  'allowAutoTopicCreation',
  'createPartitioner',
  'keySerializer',
  'valueSerializer',
];

/** A misspelt option would otherwise be ignored in silence. */
export function checkKnownOptions(options: object, known: readonly string[], what: string): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new InvalidConfigError(`unknown ${what} option "${name}"; the ${what} options are ${known.join(', ')}`);
    }
  }
}

/** Where one send's records landed in one partition, to report its base offset. */
interface PartitionLanding {
  partition: number;
  firstBatch: ProducerBatch;
  firstOffsetDelta: number;
}

/**
 * The most bytes a record adds around its key and value: length varint (5), attributes (1),
 * timestamp delta varlong (10), offset delta, key length, value length and header count varints (5 each).
 */
const MAX_RECORD_FRAMING_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;

let nextSendId = 1;

const PRODUCED_HERE = Object.freeze({ crcUnset: true });

export class Producer<K = RawBytes, V = RawBytes> {
  private readonly broker: ProducerBrokerApi;
  private readonly accumulator: RecordAccumulator;
  private readonly partitioner: Partitioner;
  private readonly customPartitioner: boolean;
  private readonly acks: Acks;
  private readonly compression: CompressionType;
  private readonly maxRequestSize: number;
  private readonly bufferMemory: number;
  /** The smaller of maxRequestSize and bufferMemory: no record batch may exceed either. */
  private readonly recordSizeLimit: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly keySerializer: Serializer<K> | undefined;
  private readonly valueSerializer: Serializer<V> | undefined;
  /** Idempotent and transactional producers: producer id, epoch, transaction state. */
  private readonly txns: TransactionManager | null;
  private closing: Promise<void> | null = null;

  constructor(broker: ProducerBrokerApi, options: ProducerOptions<K, V> = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidConfigError('producer options must be an object');
    checkKnownOptions(options, PRODUCER_OPTION_NAMES, 'producer');
    this.broker = broker;
    const batchSize = positiveInteger(options.batchSize, DEFAULT_BATCH_SIZE, 'batchSize', BATCH_HEADER_BYTES);
    const lingerMs = positiveInteger(options.lingerMs, DEFAULT_LINGER_MS, 'lingerMs', 0);
    this.bufferMemory = positiveInteger(options.bufferMemory, DEFAULT_BUFFER_MEMORY, 'bufferMemory', BATCH_HEADER_BYTES);
    const maxBlockMs = positiveInteger(options.maxBlockMs, DEFAULT_MAX_BLOCK_MS, 'maxBlockMs', 0);
    this.maxRequestSize = positiveInteger(options.maxRequestSize, DEFAULT_MAX_REQUEST_SIZE, 'maxRequestSize', BATCH_HEADER_BYTES);
    const maxInFlightRequests = positiveInteger(options.maxInFlightRequests, DEFAULT_MAX_IN_FLIGHT_REQUESTS, 'maxInFlightRequests', 1);
    this.recordSizeLimit = Math.min(this.maxRequestSize, this.bufferMemory);
    if (batchSize > this.bufferMemory) {
      throw new InvalidConfigError(`batchSize (${batchSize}) exceeds bufferMemory (${this.bufferMemory}); a batch must fit in the buffer`);
    }
    this.acks = toAcks(options.acks ?? -1, 'acks');
    this.compression = toCompression(options.compression ?? 'none', 'compression');
    if (options.allowAutoTopicCreation !== undefined && typeof options.allowAutoTopicCreation !== 'boolean') {
      throw new InvalidConfigError('allowAutoTopicCreation must be a boolean');
    }
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? true;
    if (options.createPartitioner !== undefined && typeof options.createPartitioner !== 'function') {
      throw new InvalidConfigError('createPartitioner must be a function returning ({ topic, partitionCount, key, value }) => partition');
    }
    const custom = options.createPartitioner?.();
    this.customPartitioner = custom !== undefined;
    this.partitioner = new Partitioner(custom === undefined ? {} : { partitioner: custom });
    this.keySerializer = checkSerializer(options.keySerializer, 'keySerializer');
    this.valueSerializer = checkSerializer(options.valueSerializer, 'valueSerializer');
    this.txns = transactionManagerFor(broker, options, this.acks, maxInFlightRequests);
    // The builder leaves every batch's CRC to the shard, which computes it on its own thread
    // (one pass over the bytes either way, off the thread that encodes the records).
    const plainProduce: ProduceFn = (topic, partition, batch, acks) => this.broker.produce(topic, partition, batch, acks, PRODUCED_HERE);
    const txns = this.txns;
    const transactionalId = txns?.transactionalId ?? null;
    // The broker verifies each transactional batch against this id's ongoing transaction.
    const produceOptions = Object.freeze({ crcUnset: true, transactionalId });
    const txnProduce: ProduceFn = (topic, partition, batch, acks) => this.broker.produce(topic, partition, batch, acks, produceOptions);
    const produce: ProduceFn =
      txns === null || transactionalId === null
        ? plainProduce
        : (topic, partition, batch, acks) => {
            // The partition joins the transaction before its first batch is appended.
            const gate = txns.gate(topic, partition);
            return gate === null ? txnProduce(topic, partition, batch, acks) : gate.then(() => txnProduce(topic, partition, batch, acks));
          };
    this.accumulator = new RecordAccumulator(
      { batchSize, lingerMs, bufferMemory: this.bufferMemory, maxBlockMs, maxInFlightRequests, crcByBroker: true },
      produce,
      txns === null
        ? null
        : {
            identity: () => txns.identity,
            retries: txns.retries,
            retryBackoffMs: txns.retryBackoffMs,
            onFailure: (error) => txns.noteFailure(error),
          },
    );
    if (txns !== null) txns.onEpochBumped = () => this.accumulator.resetSequences();
  }

  /**
   * kafkajs's producer.transaction(): opens a transaction (initializing the producer's
   * transactional id first, which fences older instances). One at a time per producer.
   */
  async transaction(): Promise<Transaction<K, V>> {
    if (this.closing !== null) throw new ClosedError('the producer');
    const txns = this.txns;
    if (txns === null || txns.transactionalId === null) {
      throw new InvalidConfigError('producer.transaction() needs a transactional producer: create it with { transactionalId }');
    }
    await txns.ensureInitialized();
    txns.beginTransaction();
    return new Transaction(this, txns);
  }

  /** @internal The sends of a transaction (Transaction.send), past the transaction-state check. */
  sendInTransaction(record: ProducerRecord<K, V>): Promise<RecordMetadata[]> {
    return this.sendRecord(record, true);
  }

  /** @internal */
  sendBatchInTransaction(batch: ProducerBatchRecord<K, V>): Promise<RecordMetadata[]> {
    return this.sendTopicMessages(batch, true);
  }

  /** @internal Every batch appended so far, settled (a transaction's commit and abort wait for them). */
  settleAll(): Promise<void> {
    return this.accumulator.flush();
  }

  /**
   * Nothing to connect to in-process; an idempotent or transactional producer takes its producer
   * id here (InitProducerId, which fences older instances of a transactional id), as kafkajs's
   * connect does. Otherwise that happens on the first send.
   */
  async connect(): Promise<void> {
    if (this.closing !== null) throw new ClosedError('the producer');
    if (this.txns !== null && !this.txns.initialized) await this.txns.ensureInitialized();
  }

  /** kafkajs's name for close(). */
  disconnect(): Promise<void> {
    return this.close();
  }

  /** Sends everything pending, waits for it, then refuses further sends with ClosedError. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.accumulator.close();
    return this.closing;
  }

  /** Sends every batch still lingering and resolves when all records sent so far are settled. */
  flush(): Promise<void> {
    return this.accumulator.flush();
  }

  /** Buffer use and totals, for monitoring and for tests of the memory bound. */
  stats(): AccumulatorStats {
    return this.accumulator.stats();
  }

  send(record: ProducerRecord<K, V>): Promise<RecordMetadata[]> {
    return this.sendRecord(record, false);
  }

  sendBatch(batch: ProducerBatchRecord<K, V>): Promise<RecordMetadata[]> {
    return this.sendTopicMessages(batch, false);
  }

  private async sendRecord(record: ProducerRecord<K, V>, inTransaction: boolean): Promise<RecordMetadata[]> {
    if (this.closing !== null) throw new ClosedError('the producer');
    const txns = this.txns;
    if (txns !== null) {
      if (!txns.initialized) await txns.ensureInitialized();
      this.checkCanSend(txns, inTransaction);
    }
    if (record === null || typeof record !== 'object') {
      throw new InvalidRecordError('send takes { topic, messages: [{ key, value, headers, timestamp, partition }] }');
    }
    const acks = record.acks === undefined ? this.acks : this.checkSendAcks(toAcks(record.acks, 'send acks'));
    const compression = record.compression === undefined ? this.compression : toCompression(record.compression, 'send compression');
    return this.sendTopic(record.topic, record.messages, acks, compression);
  }

  private async sendTopicMessages(batch: ProducerBatchRecord<K, V>, inTransaction: boolean): Promise<RecordMetadata[]> {
    if (this.closing !== null) throw new ClosedError('the producer');
    const txns = this.txns;
    if (txns !== null) {
      if (!txns.initialized) await txns.ensureInitialized();
      this.checkCanSend(txns, inTransaction);
    }
    if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.topicMessages)) {
      throw new InvalidRecordError('sendBatch takes { topicMessages: [{ topic, messages }] }');
    }
    const acks = batch.acks === undefined ? this.acks : this.checkSendAcks(toAcks(batch.acks, 'sendBatch acks'));
    const compression = batch.compression === undefined ? this.compression : toCompression(batch.compression, 'sendBatch compression');
    const rawBounds = batch.topicMessages.map((entry, i) => {
      if (entry === null || typeof entry !== 'object') throw new InvalidRecordError(`topicMessages[${i}] must be { topic, messages }`);
      return checkMessages(entry.messages, this.partitionCountOf(entry.topic), entry.topic, this.keySerializer !== undefined, this.valueSerializer !== undefined);
    });
    const results = await Promise.all(
      batch.topicMessages.map((entry, i) => this.sendTopic(entry.topic, entry.messages, acks, compression, rawBounds[i])),
    );
    return results.flat();
  }

  /**
   * Idempotent producers take their producer id first; transactional ones send inside a
   * transaction only. Synchronous once initialized: records of a send are appended in the call,
   * so a flush() right after it covers them.
   */
  private checkCanSend(txns: TransactionManager, inTransaction: boolean): void {
    if (txns.transactionalId !== null && !inTransaction) {
      throw new InvalidConfigError(
        `transactional producer "${txns.transactionalId}" sends inside a transaction: use (await producer.transaction()).send(...)`,
      );
    }
    txns.checkCanSend();
  }

  private partitionCountOf(topic: unknown): number {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new InvalidRecordError(`topic must be a non-empty string (got ${JSON.stringify(topic)})`);
    }
    return this.broker.topicMetadata(topic, { autoCreate: this.allowAutoTopicCreation }).partitionCount;
  }

  private async sendTopic(
    topic: string,
    messages: Message<K, V>[],
    acks: Acks,
    compression: CompressionType,
    checkedRawBound = NOT_CHECKED,
  ): Promise<RecordMetadata[]> {
    const partitionCount = this.partitionCountOf(topic);
    const rawBound =
      checkedRawBound === NOT_CHECKED
        ? checkMessages(messages, partitionCount, topic, this.keySerializer !== undefined, this.valueSerializer !== undefined)
        : checkedRawBound;
    const count = messages.length;
    const accumulator = this.accumulator;
    // Serializers run before anything is appended (they may throw); their output is kept for the
    // append pass. Without serializers, bytes are taken from the messages as they are appended.
    let keys: (Buffer | null)[] | null = null;
    let values: (Buffer | null)[] | null = null;
    if (this.keySerializer !== undefined || this.valueSerializer !== undefined) {
      keys = new Array(count);
      values = new Array(count);
      for (let i = 0; i < count; i++) {
        keys[i] = toBytes(messages[i].key, this.keySerializer);
        values[i] = toBytes(messages[i].value, this.valueSerializer);
      }
    }
    // Sized one by one only when checkMessages's bound on the largest message (payload plus the
    // most framing a record can take) comes near the limit; near it, the exact size.
    for (let i = 0; rawBound + BATCH_HEADER_BYTES + MAX_RECORD_FRAMING_BYTES > this.recordSizeLimit && i < count; i++) {
      const message = messages[i];
      const boundBytes =
        (keys === null ? rawSizeBound(message.key) : sizeOf(keys[i])) +
        (values === null ? rawSizeBound(message.value) : sizeOf(values[i])) +
        (message.headers === undefined ? 0 : headersSizeBound(message.headers)) +
        BATCH_HEADER_BYTES +
        MAX_RECORD_FRAMING_BYTES;
      if (boundBytes > this.recordSizeLimit) {
        const key = keys === null ? toBytes(message.key, undefined) : keys[i];
        const value = values === null ? toBytes(message.value, undefined) : values[i];
        const headers = message.headers === undefined ? null : toRecordHeaders(message.headers);
        this.checkRecordSize(accumulator.soloBatchBytes(key, value, headers));
      }
    }
    const sendId = nextSendId++;
    const landings: PartitionLanding[] = [];
    const landingByPartition: (PartitionLanding | undefined)[] = [];
    const batches: ProducerBatch[] = [];
    const nowMs = Date.now();
    for (let i = 0; i < count; i++) {
      const message = messages[i];
      const key = keys === null ? toBytes(message.key, undefined) : keys[i];
      const value = values === null ? toBytes(message.value, undefined) : values[i];
      const headers = message.headers === undefined ? null : toRecordHeaders(message.headers);
      const timestampMs = message.timestamp === undefined ? nowMs : Number(message.timestamp);
      let partition: number;
      let sized = NOT_SIZED;
      if (message.partition !== undefined && message.partition !== null) {
        partition = message.partition;
      } else {
        partition = this.partitioner.partition(topic, partitionCount, key, value);
        // Kafka's sticky rule: a keyless record that would open a new batch moves the sticky partition first.
        if (key === null && !this.customPartitioner) {
          sized = accumulator.sizeInOpenBatch(topic, partition, key, value, headers, timestampMs, acks, compression);
          if (sized === OPENS_NEW_BATCH) {
            partition = this.partitioner.onNewBatch(topic, partitionCount, partition);
            sized = NOT_SIZED;
          }
        }
      }
      let batch = accumulator.tryAppend(topic, partition, key, value, headers, timestampMs, acks, compression, false, sized);
      let holdingTurn = false;
      while (batch === null) {
        // No room in bufferMemory: wait (first come, first served), then try again holding the
        // turn; the record is sized again, as its partition's batch may have closed meanwhile.
        await (holdingTurn ? accumulator.waitAgainForRoom(accumulator.neededBytes) : accumulator.waitForRoom(accumulator.neededBytes));
        holdingTurn = true;
        if (this.closing !== null) {
          accumulator.releaseTurn();
          throw new ClosedError('the producer');
        }
        batch = accumulator.tryAppend(topic, partition, key, value, headers, timestampMs, acks, compression, true);
      }
      if (batch.lastSendId !== sendId) {
        batch.lastSendId = sendId;
        batches.push(batch);
      }
      if (landingByPartition[partition] === undefined) {
        const landing = { partition, firstBatch: batch, firstOffsetDelta: accumulator.lastOffsetDelta };
        landingByPartition[partition] = landing;
        landings.push(landing);
      }
    }
    if (acks === 0) {
      return landings.map(({ partition }) => ({
        topicName: topic,
        partition,
        errorCode: 0,
        baseOffset: -1,
        logAppendTime: -1,
        logStartOffset: -1,
      }));
    }
    await Promise.all(batches.map((batch) => batch.result));
    const out: RecordMetadata[] = [];
    for (const landing of landings) {
      const result = await landing.firstBatch.result;
      out.push({
        topicName: topic,
        partition: landing.partition,
        errorCode: 0,
        baseOffset: result.baseOffset + landing.firstOffsetDelta,
        logAppendTime: result.logAppendTimeMs,
        logStartOffset: result.logStartOffset,
      });
    }
    return out;
  }

  private checkSendAcks(acks: Acks): Acks {
    if (this.txns !== null && acks !== -1) {
      throw new InvalidConfigError(`an idempotent producer sends with acks -1 ('all'), as Kafka requires; this send asks for acks ${acks}`);
    }
    return acks;
  }

  private checkRecordSize(batchBytes: number): void {
    if (batchBytes > this.maxRequestSize) throw new RecordTooLargeError(batchBytes, this.maxRequestSize, 'maxRequestSize');
    if (batchBytes > this.bufferMemory) throw new RecordTooLargeError(batchBytes, this.bufferMemory, 'bufferMemory');
  }
}

/**
 * kafkajs's Transaction: the sends and offsets of one transaction, committed or aborted together.
 * Every method throws ProducerFencedError once a newer producer took the transactional id.
 */
export class Transaction<K = RawBytes, V = RawBytes> {
  private readonly producer: Producer<K, V>;
  private readonly txns: TransactionManager;

  /** @internal Made by producer.transaction(). */
  constructor(producer: Producer<K, V>, txns: TransactionManager) {
    this.producer = producer;
    this.txns = txns;
  }

  async send(record: ProducerRecord<K, V>): Promise<RecordMetadata[]> {
    this.checkActive('send');
    return this.producer.sendInTransaction(record);
  }

  async sendBatch(batch: ProducerBatchRecord<K, V>): Promise<RecordMetadata[]> {
    this.checkActive('sendBatch');
    return this.producer.sendBatchInTransaction(batch);
  }

  /**
   * Commits the consumer group's offsets as part of the transaction (consume-transform-produce):
   * `offsets` are the next offsets to consume, as kafkajs takes them (numbers or numeric strings).
   */
  async sendOffsets(request: SendOffsetsRequest): Promise<void> {
    this.checkActive('sendOffsets');
    checkSendOffsets(request);
    await this.txns.sendOffsets(request);
  }

  /** Waits for every send of the transaction, then commits it; resolves once it is visible to read_committed. */
  async commit(): Promise<void> {
    this.checkActive('commit');
    return this.txns.commit(() => this.producer.settleAll());
  }

  /** Lets the sends in flight settle, then aborts: read_committed consumers never see its records. */
  async abort(): Promise<void> {
    this.checkActive('abort');
    return this.txns.abort(() => this.producer.settleAll());
  }

  /** True until commit() or abort() is called. */
  isActive(): boolean {
    return this.txns.inTransaction;
  }

  private checkActive(what: string): void {
    if (this.txns.state === 'fatalError' || this.txns.inTransaction) return;
    throw new InvalidConfigError(`transaction.${what}() after the transaction ended (state ${this.txns.state}); open a new one with producer.transaction()`);
  }
}

function checkSendOffsets(request: SendOffsetsRequest): void {
  if (request === null || typeof request !== 'object' || typeof request.consumerGroupId !== 'string' || request.consumerGroupId === '') {
    throw new InvalidConfigError('sendOffsets takes { consumerGroupId, topics: [{ topic, partitions: [{ partition, offset }] }] }');
  }
  if (!Array.isArray(request.topics)) throw new InvalidConfigError('sendOffsets topics must be an array of { topic, partitions }');
  const member = request.consumerGroupMetadata;
  if (
    member !== undefined &&
    (member === null ||
      typeof member !== 'object' ||
      !Number.isInteger(member.generationId) ||
      typeof member.memberId !== 'string' ||
      (member.groupInstanceId !== undefined && member.groupInstanceId !== null && typeof member.groupInstanceId !== 'string'))
  ) {
    throw new InvalidConfigError(
      `sendOffsets consumerGroupMetadata must be { generationId, memberId, groupInstanceId? } as the consumer's GROUP_JOIN event gives them (got ${JSON.stringify(member)})`,
    );
  }
  for (const entry of request.topics) {
    if (entry === null || typeof entry !== 'object' || typeof entry.topic !== 'string' || !Array.isArray(entry.partitions)) {
      throw new InvalidConfigError('sendOffsets topics must be an array of { topic, partitions: [{ partition, offset }] }');
    }
    for (const { partition, offset } of entry.partitions) {
      const value = Number(offset);
      if (!Number.isInteger(partition) || partition < 0 || (typeof offset !== 'number' && typeof offset !== 'string') || !Number.isSafeInteger(value) || value < 0) {
        throw new InvalidConfigError(
          `sendOffsets for topic "${entry.topic}": partition must be an integer >= 0 and offset a non-negative integer (got ${JSON.stringify({ partition, offset })})`,
        );
      }
    }
  }
}

/** The transaction manager of an idempotent or transactional producer, after checking the options Kafka requires. */
function transactionManagerFor(broker: ProducerBrokerApi, options: ProducerOptions<unknown, unknown>, acks: Acks, maxInFlightRequests: number): TransactionManager | null {
  const { idempotent, transactionalId } = options;
  if (idempotent !== undefined && typeof idempotent !== 'boolean') throw new InvalidConfigError('idempotent must be a boolean');
  if (transactionalId !== undefined && (typeof transactionalId !== 'string' || transactionalId === '')) {
    throw new InvalidConfigError(`transactionalId must be a non-empty string (got ${JSON.stringify(transactionalId)})`);
  }
  if (transactionalId !== undefined && idempotent === false) {
    throw new InvalidConfigError('a transactional producer is idempotent: drop idempotent: false, or the transactionalId');
  }
  if (idempotent !== true && transactionalId === undefined) {
    for (const name of ['transactionTimeout', 'retries', 'retryBackoffMs'] as const) {
      if (options[name] !== undefined) throw new InvalidConfigError(`${name} applies to idempotent or transactional producers; set idempotent: true or a transactionalId`);
    }
    return null;
  }
  if (acks !== -1) throw new InvalidConfigError(`an idempotent producer needs acks -1 ('all'), as Kafka requires (got ${acks})`);
  if (maxInFlightRequests > MAX_IDEMPOTENT_IN_FLIGHT_REQUESTS) {
    throw new InvalidConfigError(
      `an idempotent producer allows at most ${MAX_IDEMPOTENT_IN_FLIGHT_REQUESTS} requests in flight per partition (got maxInFlightRequests ${maxInFlightRequests}): ` +
        `the log remembers five batches per producer to recognize retries`,
    );
  }
  return new TransactionManager(broker, {
    transactionalId: transactionalId ?? null,
    transactionTimeoutMs: positiveInteger(options.transactionTimeout, DEFAULT_TRANSACTION_TIMEOUT_MS, 'transactionTimeout', 1),
    retries: nonNegativeInteger(options.retries, DEFAULT_RETRIES, 'retries'),
    retryBackoffMs: nonNegativeInteger(options.retryBackoffMs, DEFAULT_RETRY_BACKOFF_MS, 'retryBackoffMs'),
  });
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  return positiveInteger(value, fallback, name, 0);
}

function positiveInteger(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidConfigError(`${name} must be an integer >= ${min} (got ${String(value)})`);
  }
  return value;
}

function toAcks(value: unknown, name: string): Acks {
  if (value === 'all') return -1;
  if (value === 0 || value === 1 || value === -1) return value;
  throw new InvalidConfigError(`${name} must be 0, 1, -1 or 'all' (got ${JSON.stringify(value)})`);
}

function toCompression(value: unknown, name: string): CompressionType {
  if (typeof value === 'number') {
    const type = Number.isInteger(value) ? compressionTypeOfId(value) : undefined;
    if (type === undefined) {
      throw new InvalidConfigError(`${name} must be a compression codec id 0-4 or a name "none", "gzip", "snappy", "lz4", "zstd" (got ${value})`);
    }
    return checkCompressionType(type, name);
  }
  return checkCompressionType(value, name);
}

function checkSerializer<T>(serializer: Serializer<T> | undefined, name: string): Serializer<T> | undefined {
  if (serializer === undefined) return undefined;
  if (serializer === null || typeof serializer !== 'object' || typeof serializer.serialize !== 'function') {
    throw new InvalidConfigError(`${name} must be a serializer such as json() or msgpack() from 'sluice'`);
  }
  return serializer;
}

function isRawBytes(value: unknown): boolean {
  return typeof value === 'string' || value instanceof Uint8Array;
}

/** sendTopic's `checkedRawBound` when the messages were not checked yet. */
const NOT_CHECKED = -1;

/**
 * Checks every message of a send before any is appended: shape, key and value types, headers,
 * timestamp and partition. Throws InvalidRecordError (or PartitionNotFoundError) naming the message.
 * Returns a bound on the largest message's key, value and headers as they will be encoded
 * (Infinity with a serializer, whose output is not known yet), so that records are sized one by
 * one only when one of them may be too large.
 */
function checkMessages(
  messages: unknown,
  partitionCount: number,
  topic: string,
  hasKeySerializer: boolean,
  hasValueSerializer: boolean,
): number {
  let largestBytes = hasKeySerializer || hasValueSerializer ? Infinity : 0;
  if (!Array.isArray(messages)) {
    throw new InvalidRecordError(`messages for topic "${topic}" must be an array of { key, value, headers, timestamp, partition }`);
  }
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as Message<unknown, unknown> | null;
    if (message === null || typeof message !== 'object') {
      throw new InvalidRecordError(`message ${i} for topic "${topic}" must be an object { key, value, ... }`);
    }
    const value = message.value;
    if (value === undefined) {
      throw new InvalidRecordError(`message ${i} for topic "${topic}" has no value; give a value, or null for a tombstone`);
    }
    if (value !== null && !hasValueSerializer && !isRawBytes(value)) {
      throw new InvalidRecordError(
        `message ${i} for topic "${topic}": value must be a Buffer, Uint8Array, string or null (got a ${typeName(value)}); ` +
          `serialize it, or give the producer a valueSerializer such as json() or msgpack()`,
      );
    }
    const key = message.key;
    if (key !== undefined && key !== null && !hasKeySerializer && !isRawBytes(key)) {
      throw new InvalidRecordError(
        `message ${i} for topic "${topic}": key must be a Buffer, Uint8Array, string or null (got a ${typeName(key)}); ` +
          `serialize it, or give the producer a keySerializer`,
      );
    }
    if (message.headers !== undefined) checkHeaders(message.headers, i, topic);
    if (message.timestamp !== undefined) {
      const timestampMs = Number(message.timestamp);
      if ((typeof message.timestamp !== 'number' && typeof message.timestamp !== 'string') || !Number.isSafeInteger(timestampMs) || timestampMs < 0) {
        throw new InvalidRecordError(
          `message ${i} for topic "${topic}": timestamp must be a non-negative integer of ms since the epoch (got ${JSON.stringify(message.timestamp)})`,
        );
      }
    }
    const partition = message.partition;
    if (partition !== undefined && partition !== null) {
      if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
        if (typeof partition === 'number' && Number.isInteger(partition)) throw new PartitionNotFoundError(topic, partition, partitionCount);
        throw new InvalidRecordError(`message ${i} for topic "${topic}": partition must be an integer (got ${JSON.stringify(partition)})`);
      }
    }
    const bytes = rawSizeBound(key) + rawSizeBound(value) + (message.headers === undefined ? 0 : headersSizeBound(message.headers as MessageHeaders));
    if (bytes > largestBytes) largestBytes = bytes;
  }
  return largestBytes;
}

function checkHeaders(headers: unknown, index: number, topic: string): void {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new InvalidRecordError(`message ${index} for topic "${topic}": headers must be an object { name: value }`);
  }
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    for (const one of values) {
      if (one !== null && one !== undefined && !isRawBytes(one)) {
        throw new InvalidRecordError(
          `message ${index} for topic "${topic}": header "${name}" must be a Buffer, Uint8Array, string, null or an array of them (got a ${typeName(one)})`,
        );
      }
    }
  }
}

function sizeOf(bytes: Buffer | null): number {
  return bytes === null ? 0 : bytes.length;
}

/** Most bytes a key or value can take once encoded (a string's UTF-8 takes at most 3 bytes per UTF-16 unit). */
function rawSizeBound(value: RawBytes | null | undefined | unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return value.length * 3;
  return (value as Uint8Array).byteLength;
}

function headersSizeBound(headers: MessageHeaders): number {
  let bytes = 0;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    const values = Array.isArray(value) ? value : [value];
    for (const one of values) bytes += name.length * 3 + rawSizeBound(one) + 2 * 5;
  }
  return bytes;
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}

/** Checked bytes of a key or value: Buffers pass as they are, strings and Uint8Arrays are wrapped. */
function toBytes<T>(value: T | RawBytes | null | undefined, serializer: Serializer<T> | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  if (serializer !== undefined) {
    const bytes = serializer.serialize(value as T);
    // The batch builder writes what it is given unchecked (the producer checks for it).
    if (bytes !== null && !Buffer.isBuffer(bytes)) throw new InvalidRecordError('a serializer must return a Buffer or null');
    return bytes;
  }
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  const bytes = value as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** kafkajs header object to the batch builder's list; repeated keys become repeated headers. */
function toRecordHeaders(headers: MessageHeaders): RecordHeader[] {
  const out: RecordHeader[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const one of value) out.push({ key: name, value: toBytes(one, undefined) });
    } else {
      out.push({ key: name, value: toBytes(value, undefined) });
    }
  }
  return out;
}
