/**
 * The producer's record accumulator: Kafka's RecordAccumulator and Sender, for one process.
 *
 * Records are appended straight into a RecordBatchBuilder per partition (the builder writes
 * their final bytes, so nothing sits between the caller's message and the batch). A partition's
 * open batch is closed when
 *   - the next record would take it past `batchSize` bytes (a record larger than batchSize gets a
 *     batch of its own), or
 *   - `lingerMs` has passed since its first record, and the partition has an in-flight slot free:
 *     until then it keeps filling, so a busy partition batches more, as in Kafka; or
 *   - flush() asks for it, or a sender is waiting for buffer memory.
 * With lingerMs 0 the linger check runs as a microtask, once the code that appended has run to
 * its end: the records appended in one synchronous run (several send() calls of one tick
 * included) share a batch, and the batch leaves without waiting for a turn of the event loop,
 * which would put the loop's other work (timers, I/O callbacks) in front of every record. A busy
 * partition still batches: a due batch waits for a free in-flight slot and keeps filling.
 *
 * Closed batches go to the broker in order, at most `maxInFlightRequests` per partition at once;
 * the broker appends a partition's batches in the order it receives them, so order per partition
 * holds. `bufferMemory` bounds the bytes of every batch not yet acknowledged (open, queued and in
 * flight): a sender that would exceed it waits, first come first served, and fails with
 * BufferExhaustedError after `maxBlockMs`. Builders are pooled: a builder returns to the pool
 * once the broker has settled its batch, so the steady state allocates no batch memory.
 *
 * Idempotence (Kafka's enable.idempotence): every batch carries the producer id and epoch and a
 * base sequence, numbered per partition from 0 in the order the batches are sent. A batch is
 * numbered when it opens: the partition's previous batch is closed by then (records go to the
 * open batch only), so the count before it is final, and batches are sent in the order they
 * open. A batch that fails with a retriable error (a shard that died before answering) is sent
 * again, byte for byte, with the same sequence, so the log answers a batch it already has with
 * its original offsets instead of writing it twice. Retries keep the order: the partition stops
 * sending, lets the batches in flight settle (those behind the failed one fail with
 * OutOfOrderSequence, which is then retriable too), and sends the failed ones again in sequence
 * order before anything new.
 */
import { BufferExhaustedError, ClosedError, OutOfOrderSequenceError, SluiceError } from '../errors.js';
import type { Acks, ProduceResult } from '../broker/broker-api.js';
import { BATCH_HEADER_BYTES } from '../protocol/batch-header.js';
import type { CompressionType } from '../protocol/compression.js';
import { RecordBatchBuilder } from '../protocol/record-batch-builder.js';
import type { RecordHeader } from '../protocol/record-batch.js';
import { INT32_MAX } from '../protocol/limits.js';
import { sizeOfVarint } from '../protocol/varint.js';

export interface AccumulatorOptions {
  /** Kafka's batch.size: the largest batch (bytes, header included) built from several records. */
  batchSize: number;
  /** Kafka's linger.ms: how long a batch waits for more records after its first one. */
  lingerMs: number;
  /** Kafka's buffer.memory: bytes of records appended and not yet acknowledged by the broker. */
  bufferMemory: number;
  /** Kafka's max.block.ms: how long an append waits for buffer memory. */
  maxBlockMs: number;
  /** Kafka's max.in.flight.requests.per.connection, applied per partition. */
  maxInFlightRequests: number;
  /**
   * Batches go out with their CRC32C field left 0, for a ProduceFn whose broker computes it (the
   * producer's, with ProduceOptions.crcUnset): the pass over every byte then runs on the shard's
   * thread, not the caller's. Default false: whole batches, CRC included.
   */
  crcByBroker?: boolean;
}

/** Hands one closed batch to the broker. */
export type ProduceFn = (topic: string, partition: number, batch: Buffer, acks: Acks) => Promise<ProduceResult>;

/** The producer id and epoch an idempotent producer stamps on its batches (owned by the producer). */
export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Batches are part of a transaction (transactional producer). */
  readonly transactional: boolean;
}

export interface IdempotenceOptions {
  readonly identity: () => ProducerIdentity;
  /** Sends of one batch after its first, for retriable failures (Kafka's retries). */
  readonly retries: number;
  /** Wait before a partition sends its failed batches again (Kafka's retry.backoff.ms). */
  readonly retryBackoffMs: number;
  /** Told of every batch that failed for good, before its senders are; returns the error they get. */
  readonly onFailure: (error: unknown) => unknown;
}

export interface AccumulatorStats {
  /** Bytes appended and not yet settled by the broker. */
  pendingBytes: number;
  /** The most pendingBytes has been since the accumulator was created. */
  maxPendingBytes: number;
  batchesSent: number;
  recordsSent: number;
  /** Idempotent: sends of batches after their first (retries of retriable failures). */
  batchesRetried: number;
}

/** sizeInOpenBatch's answer when the record does not go into the open batch. */
export const OPENS_NEW_BATCH = -1;
/** tryAppend's `sized` when sizeInOpenBatch was not asked. */
export const NOT_SIZED = -2;

/** Builders kept for reuse; beyond this, settled builders are left to the garbage collector. */
const MAX_POOLED_BUILDERS = 64;
/**
 * A new builder's buffer, or batchSize when smaller: it grows (doubling) as records come, so a
 * large batchSize costs memory only where a partition's traffic fills its batches.
 */
const INITIAL_BUILDER_BYTES = 16 * 1024;

/** One batch of one partition, from its first record until the broker settles it. */
export class ProducerBatch {
  readonly queue: PartitionQueue;
  readonly acks: Acks;
  readonly compression: CompressionType;
  readonly builder: RecordBatchBuilder;
  /** The builder's bytes when this batch was opened and as records were appended (header included). */
  reservedBytes = BATCH_HEADER_BYTES;
  readonly openedAtMs: number;
  /** Settles with the broker's answer. Never left unhandled: a rejection nobody awaits is dropped. */
  readonly result: Promise<ProduceResult>;
  /** Set by the producer to tell whether this send already counted this batch. */
  lastSendId = 0;
  /** The built bytes, kept for retries (a view of the builder's memory until it is settled). */
  built: Buffer | null = null;
  /** Idempotent: the batch's base sequence; -1 otherwise. */
  baseSequence = -1;
  /** Times the batch was sent. */
  attempts = 0;
  private settle!: { resolve(result: ProduceResult): void; reject(error: unknown): void };

  constructor(queue: PartitionQueue, builder: RecordBatchBuilder, acks: Acks, compression: CompressionType, nowMs: number) {
    this.queue = queue;
    this.builder = builder;
    this.acks = acks;
    this.compression = compression;
    this.openedAtMs = nowMs;
    this.result = new Promise<ProduceResult>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.result.catch(() => undefined);
  }

  resolve(result: ProduceResult): void {
    this.settle.resolve(result);
  }

  reject(error: unknown): void {
    this.settle.reject(error);
  }
}

/** A partition's batches: the one filling, closed ones waiting for a slot, and the slots in use. */
class PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  open: ProducerBatch | null = null;
  readonly ready: ProducerBatch[] = [];
  inFlight = 0;
  /** Idempotent: the sequence of the next batch to open. */
  nextSequence = 0;
  /** Idempotent: sent batches not yet settled, in sequence order. */
  readonly unacknowledged: ProducerBatch[] = [];
  /** Idempotent: failed batches to send again, in sequence order; nothing new is sent meanwhile. */
  readonly retrying: ProducerBatch[] = [];
  retryTimer: NodeJS.Timeout | null = null;
  /** The open batch's linger is over (or a flush or a waiting sender wants it): close it at the next free slot. */
  due = false;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
}

interface MemoryWaiter {
  bytes: number;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RecordAccumulator {
  private readonly options: AccumulatorOptions;
  private readonly produce: ProduceFn;
  private readonly queues = new Map<string, PartitionQueue[]>();
  private readonly builderPool: RecordBatchBuilder[] = [];
  /** Every batch not yet settled, for flush(). */
  private readonly unsettled = new Set<ProducerBatch>();
  /** Open batches in the order they were opened, which is also the order their linger ends. */
  private lingering: ProducerBatch[] = [];
  private lingerTimer: NodeJS.Timeout | null = null;
  /** A linger-0 check is queued as a microtask (which cannot be cancelled: close() disarms it). */
  private lingerMicrotaskQueued = false;
  /** The linger-0 check, made once rather than a closure per batch. */
  private readonly endLingerMicrotask = (): void => {
    if (!this.lingerMicrotaskQueued) return;
    this.lingerMicrotaskQueued = false;
    this.endLinger();
  };
  private readonly memoryWaiters: MemoryWaiter[] = [];
  /** A woken waiter that has not appended yet: others wait behind it. */
  private wokenWaiter = false;
  private pending = 0;
  private maxPending = 0;
  private batchesSent = 0;
  private recordsSent = 0;
  private batchesRetried = 0;
  private closed = false;
  /** offsetDelta of the record the last append wrote, within its batch. */
  lastOffsetDelta = 0;
  /** Bytes the last refused tryAppend needed. */
  neededBytes = 0;
  /** The queue of the last append: consecutive records mostly go to the same partition. */
  private lastQueue: PartitionQueue | null = null;

  private readonly idempotence: IdempotenceOptions | null;

  constructor(options: AccumulatorOptions, produce: ProduceFn, idempotence: IdempotenceOptions | null = null) {
    this.options = options;
    this.produce = produce;
    this.idempotence = idempotence;
  }

  /**
   * Idempotent: numbers the next batches of every partition from 0 again, for a new producer
   * epoch (or id). Only when nothing is open, queued or in flight.
   */
  resetSequences(): void {
    for (const perTopic of this.queues.values()) {
      for (const queue of perTopic) {
        if (queue === undefined) continue;
        if (queue.open !== null || queue.ready.length > 0 || queue.inFlight > 0 || queue.retrying.length > 0) {
          throw new Error(`invariant: sequences of ${queue.topic}-${queue.partition} reset with batches pending`);
        }
        queue.nextSequence = 0;
      }
    }
  }

  stats(): AccumulatorStats {
    return {
      pendingBytes: this.pending,
      maxPendingBytes: this.maxPending,
      batchesSent: this.batchesSent,
      recordsSent: this.recordsSent,
      batchesRetried: this.batchesRetried,
    };
  }

  /**
   * The record's body size in the partition's open batch, or OPENS_NEW_BATCH when appending it
   * would close that batch or open the first one. The size may be given to the tryAppend that
   * follows with the same arguments, which then does not size the record again.
   */
  sizeInOpenBatch(
    topic: string,
    partition: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
    acks: Acks,
    compression: CompressionType,
  ): number {
    const open = this.queue(topic, partition).open;
    if (open === null || open.acks !== acks || open.compression !== compression) return OPENS_NEW_BATCH;
    const bodyBytes = open.builder.bodyBytesOf(key, value, headers, timestampMs);
    return open.builder.sizeBytes + sizeOfVarint(bodyBytes) + bodyBytes > this.options.batchSize ? OPENS_NEW_BATCH : bodyBytes;
  }

  /** True when `bytes` more fit in bufferMemory now and nobody is waiting ahead. */
  private hasRoomFor(bytes: number): boolean {
    return this.memoryWaiters.length === 0 && !this.wokenWaiter && this.pending + bytes <= this.options.bufferMemory;
  }

  /**
   * Waits until `bytes` fit in bufferMemory, behind earlier waiters. The caller must append at
   * once when it resolves (the next waiter stays blocked until it does). Rejects with
   * BufferExhaustedError after maxBlockMs, ClosedError if the accumulator is aborted.
   */
  waitForRoom(bytes: number): Promise<void> {
    return this.enqueueWaiter(bytes, false);
  }

  /**
   * For a woken waiter whose record no longer fits as sized (its partition's batch closed while
   * it waited, so the record now needs a batch header too): gives up its turn and waits again,
   * still first in line.
   */
  waitAgainForRoom(bytes: number): Promise<void> {
    if (!this.wokenWaiter) throw new Error('invariant: waitAgainForRoom without the turn of a woken waiter');
    this.wokenWaiter = false;
    return this.enqueueWaiter(bytes, true);
  }

  /** For a woken waiter: whether `bytes` fit now. */
  private fitsNow(bytes: number): boolean {
    return this.pending + bytes <= this.options.bufferMemory;
  }

  private enqueueWaiter(bytes: number, first: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('the producer'));
    const promise = new Promise<void>((resolve, reject) => {
      const waiter: MemoryWaiter = {
        bytes,
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = this.memoryWaiters.indexOf(waiter);
          if (index >= 0) this.memoryWaiters.splice(index, 1);
          reject(new BufferExhaustedError(bytes, this.options.bufferMemory, this.options.maxBlockMs));
          this.wakeWaiters();
        }, this.options.maxBlockMs),
      };
      if (first) this.memoryWaiters.unshift(waiter);
      else this.memoryWaiters.push(waiter);
    });
    // Memory is held by batches still lingering: send them now instead of waiting out their linger.
    for (const batch of this.lingering) this.markDue(batch.queue);
    this.wakeWaiters();
    return promise;
  }

  /**
   * Appends one record if bufferMemory has room for it now, else returns null and leaves in
   * `neededBytes` what to wait for (waitForRoom). `holdingTurn`: the caller is the waiter just
   * woken, so earlier waiters do not stand in its way. Arguments were validated by the producer,
   * as RecordBatchBuilder.append would check them (the builder's appendValidated skips that).
   * `sized`: what sizeInOpenBatch answered for these arguments just before, if it was asked.
   */
  tryAppend(
    topic: string,
    partition: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
    acks: Acks,
    compression: CompressionType,
    holdingTurn: boolean,
    sized: number = NOT_SIZED,
  ): ProducerBatch | null {
    if (this.closed) throw new ClosedError('the producer');
    const queue = this.queue(topic, partition);
    // The record's body size in the open batch, computed once and handed to the builder's append.
    const bodyBytes = sized === NOT_SIZED ? this.sizeInOpenBatch(topic, partition, key, value, headers, timestampMs, acks, compression) : sized;
    const bytes = bodyBytes >= 0 ? sizeOfVarint(bodyBytes) + bodyBytes : this.soloBatchBytes(key, value, headers);
    if (holdingTurn ? !this.fitsNow(bytes) : !this.hasRoomFor(bytes)) {
      this.neededBytes = bytes;
      return null;
    }
    return this.appendTo(queue, bodyBytes, key, value, headers, timestampMs, acks, compression);
  }

  /** `bodyBytes`: the record's body size in the open batch, or -1 when it opens a new batch. */
  private appendTo(
    queue: PartitionQueue,
    bodyBytes: number,
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
    acks: Acks,
    compression: CompressionType,
  ): ProducerBatch {
    let batch = queue.open;
    if (batch === null || bodyBytes < 0) {
      this.closeOpen(queue);
      batch = this.openBatch(queue, acks, compression);
      // The batch just closed (if any) goes as soon as a slot allows.
      if (queue.ready.length > 0) this.pump(queue);
      bodyBytes = batch.builder.bodyBytesOf(key, value, headers, timestampMs);
    }
    const builder = batch.builder;
    const before = builder.sizeBytes;
    this.lastOffsetDelta = builder.recordCount;
    builder.appendValidated(key, value, headers, timestampMs, bodyBytes);
    const added = builder.sizeBytes - before;
    batch.reservedBytes += added;
    this.pending += added;
    if (this.pending > this.maxPending) this.maxPending = this.pending;
    this.releaseTurn();
    // A full batch goes at once; one that is not waits for its linger.
    if (builder.sizeBytes >= this.options.batchSize) {
      this.closeOpen(queue);
      this.pump(queue);
    }
    return batch;
  }

  /** A woken waiter that will not append after all (its send failed) lets the next one go. */
  releaseTurn(): void {
    if (!this.wokenWaiter) return;
    this.wokenWaiter = false;
    this.wakeWaiters();
  }

  /** Sends every open batch now and resolves when every batch appended so far is settled. */
  async flush(): Promise<void> {
    const waiting = [...this.unsettled].map((batch) => batch.result);
    for (const perTopic of this.queues.values()) {
      for (const queue of perTopic) {
        if (queue !== undefined && queue.open !== null) this.markDue(queue);
      }
    }
    await Promise.allSettled(waiting);
  }

  /** Refuses further appends and waits for everything pending; memory waiters fail with ClosedError. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const waiter of this.memoryWaiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new ClosedError('the producer'));
      }
    }
    await this.flush();
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.lingerMicrotaskQueued = false;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const last = this.lastQueue;
    if (last !== null && last.partition === partition && last.topic === topic) return last;
    let perTopic = this.queues.get(topic);
    if (perTopic === undefined) {
      perTopic = [];
      this.queues.set(topic, perTopic);
    }
    let queue = perTopic[partition];
    if (queue === undefined) {
      queue = new PartitionQueue(topic, partition);
      perTopic[partition] = queue;
    }
    this.lastQueue = queue;
    return queue;
  }

  private openBatch(queue: PartitionQueue, acks: Acks, compression: CompressionType): ProducerBatch {
    let baseSequence = -1;
    let builder = this.builderPool.pop();
    if (this.idempotence === null) {
      if (builder === undefined) {
        builder = new RecordBatchBuilder({ initialCapacityBytes: this.initialBuilderBytes(), compression });
      } else if (builder.compression === compression) {
        builder.reset();
      } else {
        builder.reset({ compression });
      }
    } else {
      const { producerId, producerEpoch, transactional } = this.idempotence.identity();
      baseSequence = queue.nextSequence;
      const header = { compression, producerId, producerEpoch, baseSequence, isTransactional: transactional };
      if (builder === undefined) {
        builder = new RecordBatchBuilder({ initialCapacityBytes: this.initialBuilderBytes(), ...header });
      } else {
        builder.reset(header);
      }
    }
    const batch = new ProducerBatch(queue, builder, acks, compression, Date.now());
    batch.baseSequence = baseSequence;
    queue.open = batch;
    queue.due = false;
    this.unsettled.add(batch);
    this.pending += BATCH_HEADER_BYTES;
    this.lingering.push(batch);
    this.scheduleLinger();
    return batch;
  }

  /** Moves the open batch to the partition's ready queue. */
  private closeOpen(queue: PartitionQueue): void {
    const batch = queue.open;
    if (batch === null) return;
    queue.open = null;
    queue.due = false;
    queue.ready.push(batch);
    // Final now: the next batch of the partition continues the sequence after this one's records.
    if (batch.baseSequence >= 0) queue.nextSequence = incrementSequence(batch.baseSequence, batch.builder.recordCount);
  }

  private markDue(queue: PartitionQueue): void {
    queue.due = true;
    this.pump(queue);
  }

  /** Sends the partition's closed batches (and its open one, once due) while slots are free. */
  private pump(queue: PartitionQueue): void {
    // Failed batches go again first, in order, once nothing else is in flight.
    if (queue.retrying.length > 0) return;
    while (queue.inFlight < this.options.maxInFlightRequests) {
      if (queue.ready.length === 0) {
        if (queue.open === null || !queue.due) return;
        this.closeOpen(queue);
      }
      this.send(queue, queue.ready.shift()!);
    }
  }

  private send(queue: PartitionQueue, batch: ProducerBatch): void {
    queue.inFlight++;
    batch.attempts++;
    if (batch.baseSequence >= 0 && batch.attempts === 1) queue.unacknowledged.push(batch);
    const recordCount = batch.builder.recordCount;
    let produced: Promise<ProduceResult>;
    try {
      batch.built ??= batch.builder.build(this.options.crcByBroker !== true);
      produced = this.produce(queue.topic, queue.partition, batch.built, batch.acks);
    } catch (error) {
      produced = Promise.reject(error);
    }
    produced.then(
      (result) => {
        this.batchesSent++;
        this.recordsSent += recordCount;
        this.settled(queue, batch);
        batch.resolve(result);
      },
      (error: unknown) => {
        if (this.shouldRetry(queue, batch, error)) {
          this.retryLater(queue, batch);
          return;
        }
        this.settled(queue, batch);
        batch.reject(this.idempotence === null ? error : this.idempotence.onFailure(error));
      },
    );
  }

  /**
   * Idempotent only: a retriable failure (the request may or may not have been applied), or an
   * out-of-order sequence behind an earlier batch of the partition that is itself not yet
   * acknowledged (it failed and is being retried), while sends remain. Without idempotence a
   * retry could write the batch twice, so nothing is retried.
   */
  private shouldRetry(queue: PartitionQueue, batch: ProducerBatch, error: unknown): boolean {
    if (this.idempotence === null || batch.attempts > this.idempotence.retries) return false;
    if (error instanceof OutOfOrderSequenceError) return queue.unacknowledged[0] !== batch;
    return error instanceof SluiceError && error.retriable;
  }

  /** Parks a failed batch; once the partition has nothing in flight, the parked ones go again in order. */
  private retryLater(queue: PartitionQueue, batch: ProducerBatch): void {
    queue.inFlight--;
    let at = queue.retrying.length;
    while (at > 0 && sequenceBefore(batch, queue.retrying[at - 1])) at--;
    queue.retrying.splice(at, 0, batch);
    this.scheduleRetry(queue);
  }

  private scheduleRetry(queue: PartitionQueue): void {
    if (queue.inFlight > 0 || queue.retrying.length === 0 || queue.retryTimer !== null) return;
    queue.retryTimer = setTimeout(() => {
      queue.retryTimer = null;
      const batches = queue.retrying.splice(0);
      this.batchesRetried += batches.length;
      for (const batch of batches) this.send(queue, batch);
      this.pump(queue);
    }, this.idempotence!.retryBackoffMs);
  }

  private settled(queue: PartitionQueue, batch: ProducerBatch): void {
    if (batch.baseSequence >= 0) {
      const at = queue.unacknowledged.indexOf(batch);
      if (at >= 0) queue.unacknowledged.splice(at, 1);
    }
    queue.inFlight--;
    this.pending -= batch.reservedBytes;
    if (!(this.pending >= 0 && queue.inFlight >= 0)) {
      throw new Error(`invariant: pending bytes ${this.pending}, in-flight ${queue.inFlight} went negative`);
    }
    this.unsettled.delete(batch);
    batch.built = null;
    // A builder grown past batchSize by one large record is not worth keeping.
    if (this.builderPool.length < MAX_POOLED_BUILDERS && batch.reservedBytes <= this.options.batchSize) {
      batch.builder.reset();
      this.builderPool.push(batch.builder);
    }
    if (queue.retrying.length > 0) this.scheduleRetry(queue);
    else this.pump(queue);
    this.wakeWaiters();
  }

  /** Lets the first waiter go when its bytes fit; it wakes the next one after it appends. */
  private wakeWaiters(): void {
    if (this.wokenWaiter) return;
    const head = this.memoryWaiters[0];
    if (head === undefined || this.pending + head.bytes > this.options.bufferMemory) return;
    this.memoryWaiters.shift();
    clearTimeout(head.timer);
    this.wokenWaiter = true;
    head.resolve();
  }

  private scheduleLinger(): void {
    if (this.lingerTimer !== null || this.lingerMicrotaskQueued || this.lingering.length === 0) return;
    if (this.options.lingerMs === 0) {
      this.lingerMicrotaskQueued = true;
      queueMicrotask(this.endLingerMicrotask);
      return;
    }
    const delayMs = Math.max(0, this.lingering[0].openedAtMs + this.options.lingerMs - Date.now());
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.endLinger();
    }, delayMs);
  }

  /** Marks due every open batch whose linger is over, then waits for the next one. */
  private endLinger(): void {
    const now = Date.now();
    let i = 0;
    for (; i < this.lingering.length; i++) {
      const batch = this.lingering[i];
      if (batch.openedAtMs + this.options.lingerMs > now) break;
      // The batch may have closed (full) since; only a still-open batch needs the nudge.
      if (batch.queue.open === batch) this.markDue(batch.queue);
    }
    this.lingering = i === this.lingering.length ? [] : this.lingering.slice(i);
    this.scheduleLinger();
  }

  private initialBuilderBytes(): number {
    return Math.max(BATCH_HEADER_BYTES, Math.min(this.options.batchSize, INITIAL_BUILDER_BYTES));
  }

  /** Bytes of a batch holding only this record (its timestamp and offset deltas 0), header included. */
  soloBatchBytes(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[] | null): number {
    let scratch = this.builderPool[this.builderPool.length - 1];
    if (scratch === undefined) {
      scratch = new RecordBatchBuilder({ initialCapacityBytes: this.initialBuilderBytes() });
      this.builderPool.push(scratch);
    }
    // An idle pooled builder is empty, so the record would be its first: deltas 0.
    return BATCH_HEADER_BYTES + scratch.appendSizeBytes(key, value, headers, 0);
  }
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31 - 1 to 0. */
function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

/** Whether `a` was sent before `b` in their partition (sequences wrap, but never by half the range within five batches). */
function sequenceBefore(a: ProducerBatch, b: ProducerBatch): boolean {
  const distance = (b.baseSequence - a.baseSequence + 2 ** 31) % 2 ** 31;
  return distance !== 0 && distance < 2 ** 30;
}
