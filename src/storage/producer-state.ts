/**
 * Kafka's ProducerStateManager for one partition: what the log knows about each idempotent or
 * transactional producer (producer id >= 0 in the batch header), enough to
 *
 *   - drop retries: the (epoch, first sequence, last sequence) of a producer's last five batches
 *     are cached with the offsets they were given; a batch matching one is a duplicate and is
 *     answered with its original offsets instead of being appended again;
 *   - reject gaps and zombies: a batch must continue its producer's sequence (int32, wrapping to 0
 *     after 2^31 - 1), a new epoch must start at sequence 0, an older epoch is refused;
 *   - track transactions: a transactional batch from a producer with no ongoing transaction starts
 *     one at its offset; the COMMIT or ABORT marker the coordinator writes ends it. The first
 *     offset of the oldest ongoing transaction bounds the last stable offset, and each aborted
 *     transaction becomes an entry of the transaction index (txn-index.ts).
 *
 * The rules are Kafka 3.x's (ProducerAppendInfo): an unknown producer (never seen, or expired, or
 * gone with its records) is accepted at any sequence; duplicates are looked for only among a
 * client's batches; the coordinator's appends skip sequence checks. A producer without an ongoing
 * transaction is forgotten producerIdExpirationMs after its last batch's timestamp.
 *
 * Appends are checked in full before anything is written (`checkAppend`) and applied batch by batch
 * once written (`applyBatch`), so a rejected append leaves no trace. Replaying the log after a
 * restart uses `applyBatch` alone: what the log holds was checked when it was appended.
 */
import assert from 'node:assert/strict';
import {
  InvalidProducerEpochError,
  InvalidRecordError,
  InvalidRequestError,
  InvalidTxnStateError,
  OutOfOrderSequenceError,
  TransactionCoordinatorFencedError,
} from '../errors.js';
import {
  PRODUCER_ID_OFFSET,
  batchSizeAt,
  isControlBatch,
  isTransactionalBatch,
  readAttributes,
  readBaseOffset,
  readBaseSequence,
  readLastOffsetDelta,
  readMaxTimestamp,
  readProducerEpoch,
  readProducerId,
  readRecordCount,
} from '../protocol/batch-header.js';
import { parseControlRecord, type ControlRecord } from '../protocol/control-record.js';
import { decodeRecordBatch } from '../protocol/record-batch-reader.js';
import { MAX_SNAPSHOT_BATCHES_PER_PRODUCER, type ProducerSnapshotEntry, type SnapshotBatch } from './producer-state-snapshot.js';
import type { AbortedTxn } from './txn-index.js';
import { INT32_MAX } from '../protocol/limits.js';

/** Who is appending: a producer (Kafka's AppendOrigin.CLIENT) or the transaction coordinator writing markers. */
export type AppendOrigin = 'client' | 'coordinator';

/** Kafka's producer.id.expiration.ms default: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;
const NO_EPOCH = -1;
const NO_SEQUENCE = -1;
const NO_OFFSET = -1;

/** The batch a retry duplicates: where it was appended. */
export interface DuplicateAppend {
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** The stored batch's max timestamp (the append time under LogAppendTime). */
  readonly maxTimestampMs: number;
}

/** The outcome of `checkAppend`; the same object is reused by every call. */
export interface AppendCheck {
  /** Batches with a producer id; 0 lets the log skip `applyBatch` entirely. */
  producerBatches: number;
  /** Set when every batch is a retry of one the log holds: append nothing, answer with this. */
  duplicate: DuplicateAppend | null;
}

/** A producer as the log knows it, for tools and tests. */
export interface ProducerStateView {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The last sequence of the newest cached batch, or -1. */
  readonly lastSequence: number;
  readonly coordinatorEpoch: number;
  /** The first offset of the ongoing transaction, or -1. */
  readonly currentTxnFirstOffset: number;
  readonly lastTimestampMs: number;
  /** Oldest first, at most five. */
  readonly batches: readonly SnapshotBatch[];
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31 - 1 to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

/** Whether `next` directly follows `last`, wrapping at 2^31 - 1 (NO_SEQUENCE is followed by 0). */
function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === INT32_MAX);
}

const FIRST_SEQUENCE = 0;
const LAST_SEQUENCE = 1;
const FIRST_OFFSET = 2;
const LAST_OFFSET = 3;
const MAX_TIMESTAMP = 4;
const BATCH_FIELDS = 5;

/** One producer's state; its cached batches live in a ring of five slots of five numbers. */
class ProducerEntry {
  epoch: number;
  coordinatorEpoch = -1;
  currentTxnFirstOffset = NO_OFFSET;
  lastTimestampMs = -1;
  batchCount = 0;
  private oldest = 0;
  private readonly batches = new Float64Array(MAX_SNAPSHOT_BATCHES_PER_PRODUCER * BATCH_FIELDS);

  constructor(
    readonly producerId: number,
    epoch: number,
  ) {
    this.epoch = epoch;
  }

  /** Kafka's maybeUpdateProducerEpoch: a new epoch starts with no cached batches. */
  setEpoch(epoch: number): void {
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.batchCount = 0;
    this.oldest = 0;
  }

  addBatch(firstSequence: number, lastSequence: number, firstOffset: number, lastOffset: number, maxTimestampMs: number): void {
    let slot: number;
    if (this.batchCount === MAX_SNAPSHOT_BATCHES_PER_PRODUCER) {
      slot = this.oldest;
      this.oldest = (this.oldest + 1) % MAX_SNAPSHOT_BATCHES_PER_PRODUCER;
    } else {
      slot = (this.oldest + this.batchCount) % MAX_SNAPSHOT_BATCHES_PER_PRODUCER;
      this.batchCount++;
    }
    const at = slot * BATCH_FIELDS;
    this.batches[at + FIRST_SEQUENCE] = firstSequence;
    this.batches[at + LAST_SEQUENCE] = lastSequence;
    this.batches[at + FIRST_OFFSET] = firstOffset;
    this.batches[at + LAST_OFFSET] = lastOffset;
    this.batches[at + MAX_TIMESTAMP] = maxTimestampMs;
  }

  /** The field of the i-th cached batch, oldest first. */
  field(i: number, field: number): number {
    return this.batches[((this.oldest + i) % MAX_SNAPSHOT_BATCHES_PER_PRODUCER) * BATCH_FIELDS + field];
  }

  get lastSequence(): number {
    return this.batchCount === 0 ? NO_SEQUENCE : this.field(this.batchCount - 1, LAST_SEQUENCE);
  }

  /** Kafka's batchWithSequenceRange: the cached batch with exactly these sequences, or -1. */
  findBatch(firstSequence: number, lastSequence: number): number {
    for (let i = 0; i < this.batchCount; i++) {
      if (this.field(i, FIRST_SEQUENCE) === firstSequence && this.field(i, LAST_SEQUENCE) === lastSequence) return i;
    }
    return -1;
  }

  cachedBatches(): SnapshotBatch[] {
    const batches: SnapshotBatch[] = [];
    for (let i = 0; i < this.batchCount; i++) {
      batches.push({
        firstSequence: this.field(i, FIRST_SEQUENCE),
        lastSequence: this.field(i, LAST_SEQUENCE),
        firstOffset: this.field(i, FIRST_OFFSET),
        lastOffset: this.field(i, LAST_OFFSET),
        maxTimestampMs: this.field(i, MAX_TIMESTAMP),
      });
    }
    return batches;
  }
}

/** A producer's state as the batches checked so far in an append leave it. */
interface PriorState {
  known: boolean;
  epoch: number;
  lastSequence: number;
  inTransaction: boolean;
  coordinatorEpoch: number;
}

export class ProducerStateManager {
  private readonly producerIdExpirationMs: number;
  private readonly producers = new Map<number, ProducerEntry>();
  /**
   * producerId -> first offset of its ongoing transaction. Transactions begin at ascending offsets,
   * so the Map's insertion order is first-offset order and its first entry is the oldest.
   */
  private readonly ongoing = new Map<number, number>();
  private oldestTxnFirstOffset = NO_OFFSET;
  private newestTxnFirstOffset = NO_OFFSET;
  private readonly check: AppendCheck = { producerBatches: 0, duplicate: null };
  private readonly prior: PriorState = { known: false, epoch: NO_EPOCH, lastSequence: NO_SEQUENCE, inTransaction: false, coordinatorEpoch: -1 };
  // The state each checked batch of the current append leaves its producer in, for later batches.
  private staged = 0;
  private readonly stagedProducerIds: number[] = [];
  private readonly stagedEpochs: number[] = [];
  private readonly stagedLastSequences: number[] = [];
  private readonly stagedInTransaction: boolean[] = [];
  private readonly stagedCoordinatorEpochs: number[] = [];

  constructor(producerIdExpirationMs: number = DEFAULT_PRODUCER_ID_EXPIRATION_MS) {
    assert.ok(Number.isSafeInteger(producerIdExpirationMs) && producerIdExpirationMs >= 0, 'expiration is a duration in ms');
    this.producerIdExpirationMs = producerIdExpirationMs;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** The first offset of the oldest ongoing transaction, or -1 when none is ongoing. */
  get firstUnstableOffset(): number {
    return this.oldestTxnFirstOffset;
  }

  producer(producerId: number): ProducerStateView | null {
    const entry = this.producers.get(producerId);
    return entry === undefined ? null : viewOf(entry);
  }

  /** Every producer the log remembers (Kafka's activeProducers, for DescribeProducers). */
  activeProducers(): ProducerStateView[] {
    return Array.from(this.producers.values(), viewOf);
  }

  /**
   * Checks an append of whole, structurally valid batches against every producer rule before any
   * is written; throws the typed error Kafka answers with. Sets `duplicate` when every batch is a
   * retry of a cached one (Kafka's produce v3+ carries one batch per partition, so a retry is one
   * batch). An append mixing retries with new batches cannot be answered with one offset range, so
   * it is refused whole with InvalidRequestError: the caller resends the new batches alone.
   */
  checkAppend(batches: Buffer, byteLength: number, origin: AppendOrigin): AppendCheck {
    const check = this.check;
    check.producerBatches = 0;
    check.duplicate = null;
    this.staged = 0;
    let batchCount = 0;
    let duplicates = 0;
    let firstDuplicate = -1;
    let duplicateEnd = -1;
    let duplicateMaxTimestampMs = -1;
    for (let position = 0; position < byteLength; position += batchSizeAt(batches, position)) {
      batchCount++;
      const attributes = readAttributes(batches, position);
      const control = isControlBatch(attributes);
      const transactional = isTransactionalBatch(attributes);
      if (batches.readInt32BE(position + PRODUCER_ID_OFFSET) < 0) {
        if (control || transactional) {
          throw new InvalidRecordError(
            `the ${control ? 'control' : 'transactional'} batch at byte ${position} has no producer id; only a ` +
              `transactional producer (producerId >= 0) writes transactions`,
          );
        }
        continue;
      }
      check.producerBatches++;
      const producerId = readProducerId(batches, position);
      const epoch = readProducerEpoch(batches, position);
      if (epoch < 0) {
        throw new InvalidRecordError(`the batch at byte ${position} has producer id ${producerId} but epoch ${epoch}`);
      }
      if (control) {
        this.checkMarker(batches, position, producerId, epoch, transactional, origin);
        continue;
      }
      const baseSequence = readBaseSequence(batches, position);
      if (origin === 'client' && baseSequence < 0) {
        throw new InvalidRecordError(
          `invalid sequence number ${baseSequence} in the batch at byte ${position} from producer ${producerId}; ` +
            `an idempotent producer numbers its batches from 0`,
        );
      }
      const lastSequence =
        baseSequence < 0 ? NO_SEQUENCE : incrementSequence(baseSequence, readLastOffsetDelta(batches, position));
      if (origin === 'client') {
        const entry = this.producers.get(producerId);
        // A batch that continues the sequence cannot repeat a cached one (that would take 2^31
        // sequence numbers in five batches), so only others are looked up.
        const slot =
          entry !== undefined && entry.epoch === epoch && !inSequence(entry.lastSequence, baseSequence)
            ? entry.findBatch(baseSequence, lastSequence)
            : -1;
        if (slot >= 0) {
          const firstOffset = entry!.field(slot, FIRST_OFFSET);
          if (duplicates > 0 && firstOffset <= duplicateEnd) {
            throw new InvalidRequestError('the append repeats retried batches out of their original order; resend each alone');
          }
          if (duplicates === 0) firstDuplicate = firstOffset;
          duplicateEnd = entry!.field(slot, LAST_OFFSET);
          duplicateMaxTimestampMs = entry!.field(slot, MAX_TIMESTAMP);
          duplicates++;
          continue;
        }
      }
      this.checkDataBatch(producerId, epoch, baseSequence, lastSequence, transactional, origin, position);
    }
    if (duplicates > 0) {
      if (duplicates !== batchCount) {
        throw new InvalidRequestError(
          `the append holds ${duplicates} retried batch(es) the log already has and ${batchCount - duplicates} new ` +
            `one(s); append the new batches on their own`,
        );
      }
      check.duplicate = { firstOffset: firstDuplicate, lastOffset: duplicateEnd, maxTimestampMs: duplicateMaxTimestampMs };
    }
    return check;
  }

  /**
   * Applies a batch the log now holds at `at` of `buffer`, offsets assigned (a control batch must
   * be there whole). Returns the aborted transaction an ABORT marker completes, with the LSO Kafka
   * records for it, for the caller to add to the transaction index; otherwise null.
   */
  applyBatch(buffer: Buffer, at: number): AbortedTxn | null {
    if (buffer.readInt32BE(at + PRODUCER_ID_OFFSET) < 0) return null;
    const producerId = readProducerId(buffer, at);
    const epoch = readProducerEpoch(buffer, at);
    const attributes = readAttributes(buffer, at);
    const firstOffset = readBaseOffset(buffer, at);
    const maxTimestampMs = readMaxTimestamp(buffer, at);
    let entry = this.producers.get(producerId);
    if (isControlBatch(attributes)) {
      const marker = readEndTxnMarker(buffer, at);
      // Only commit and abort markers concern producers (an empty control batch is a marker whose
      // transaction compaction removed, as in Kafka); append accepts no other kind.
      if (marker.type === 'other') return null;
      if (entry === undefined) {
        entry = new ProducerEntry(producerId, epoch);
        this.producers.set(producerId, entry);
      }
      entry.setEpoch(epoch);
      entry.coordinatorEpoch = marker.coordinatorEpoch;
      entry.lastTimestampMs = maxTimestampMs;
      const txnFirstOffset = entry.currentTxnFirstOffset;
      if (txnFirstOffset === NO_OFFSET) return null;
      entry.currentTxnFirstOffset = NO_OFFSET;
      const lastStableOffset = this.oldestOngoingFirstOffsetExcept(producerId, firstOffset + 1);
      this.endTransaction(producerId);
      if (marker.type === 'commit') return null;
      return { producerId, firstOffset: txnFirstOffset, lastOffset: firstOffset, lastStableOffset };
    }
    if (entry === undefined) {
      entry = new ProducerEntry(producerId, epoch);
      this.producers.set(producerId, entry);
    }
    entry.setEpoch(epoch);
    const lastOffsetDelta = readLastOffsetDelta(buffer, at);
    const baseSequence = readBaseSequence(buffer, at);
    const lastSequence = baseSequence < 0 ? NO_SEQUENCE : incrementSequence(baseSequence, lastOffsetDelta);
    entry.addBatch(baseSequence, lastSequence, firstOffset, firstOffset + lastOffsetDelta, maxTimestampMs);
    entry.lastTimestampMs = maxTimestampMs;
    if (isTransactionalBatch(attributes) && entry.currentTxnFirstOffset === NO_OFFSET) {
      entry.currentTxnFirstOffset = firstOffset;
      this.beginTransaction(producerId, firstOffset);
    }
    return null;
  }

  /**
   * Kafka's removeExpiredProducers: forgets every producer with no ongoing transaction whose last
   * batch is at least producerIdExpirationMs older than `nowMs`. Returns how many it forgot.
   */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (this.isExpired(entry, nowMs)) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  /** Every producer, for a snapshot. */
  snapshotEntries(): ProducerSnapshotEntry[] {
    const entries: ProducerSnapshotEntry[] = [];
    for (const entry of this.producers.values()) {
      entries.push({
        producerId: entry.producerId,
        producerEpoch: entry.epoch,
        coordinatorEpoch: entry.coordinatorEpoch,
        currentTxnFirstOffset: entry.currentTxnFirstOffset,
        lastTimestampMs: entry.lastTimestampMs,
        batches: entry.cachedBatches(),
      });
    }
    return entries;
  }

  /** Replaces the whole state with a snapshot's, leaving out producers already expired at `nowMs`. */
  load(entries: readonly ProducerSnapshotEntry[], nowMs: number): void {
    this.producers.clear();
    this.ongoing.clear();
    this.oldestTxnFirstOffset = NO_OFFSET;
    this.newestTxnFirstOffset = NO_OFFSET;
    const inTransaction: ProducerEntry[] = [];
    for (const snapshot of entries) {
      const entry = new ProducerEntry(snapshot.producerId, snapshot.producerEpoch);
      entry.coordinatorEpoch = snapshot.coordinatorEpoch;
      entry.currentTxnFirstOffset = snapshot.currentTxnFirstOffset;
      entry.lastTimestampMs = snapshot.lastTimestampMs;
      for (const batch of snapshot.batches) {
        entry.addBatch(batch.firstSequence, batch.lastSequence, batch.firstOffset, batch.lastOffset, batch.maxTimestampMs);
      }
      if (this.isExpired(entry, nowMs)) continue;
      this.producers.set(entry.producerId, entry);
      if (entry.currentTxnFirstOffset !== NO_OFFSET) inTransaction.push(entry);
    }
    inTransaction.sort((a, b) => a.currentTxnFirstOffset - b.currentTxnFirstOffset);
    for (const entry of inTransaction) this.beginTransaction(entry.producerId, entry.currentTxnFirstOffset);
  }

  private isExpired(entry: ProducerEntry, nowMs: number): boolean {
    return entry.currentTxnFirstOffset === NO_OFFSET && nowMs - entry.lastTimestampMs >= this.producerIdExpirationMs;
  }

  private checkMarker(
    batches: Buffer,
    position: number,
    producerId: number,
    epoch: number,
    transactional: boolean,
    origin: AppendOrigin,
  ): void {
    if (origin === 'client') {
      throw new InvalidRecordError(
        `clients may not write control batches (the batch at byte ${position}); commit and abort markers are ` +
          `written by the transaction coordinator, with origin 'coordinator'`,
      );
    }
    if (!transactional || readRecordCount(batches, position) !== 1) {
      throw new InvalidRecordError(
        `the control batch at byte ${position} must be transactional and hold exactly one marker record`,
      );
    }
    const marker = readEndTxnMarker(batches, position);
    if (marker.type === 'other') {
      throw new InvalidRecordError(
        `the control batch at byte ${position} holds control record type ${marker.typeId}; only commit (1) and ` +
          `abort (0) markers can be appended to a partition log`,
      );
    }
    const prior = this.priorState(producerId);
    if (prior.known && epoch < prior.epoch) throw new InvalidProducerEpochError(producerId, epoch, prior.epoch);
    if (prior.coordinatorEpoch > marker.coordinatorEpoch) {
      throw new TransactionCoordinatorFencedError(producerId, marker.coordinatorEpoch, prior.coordinatorEpoch);
    }
    this.stage(producerId, epoch, epoch === prior.epoch ? prior.lastSequence : NO_SEQUENCE, false, marker.coordinatorEpoch);
  }

  /** Kafka's checkProducerEpoch, checkSequence (clients only) and the transactional-state rule. */
  private checkDataBatch(
    producerId: number,
    epoch: number,
    baseSequence: number,
    lastSequence: number,
    transactional: boolean,
    origin: AppendOrigin,
    position: number,
  ): void {
    const prior = this.priorState(producerId);
    if (prior.known && epoch < prior.epoch) throw new InvalidProducerEpochError(producerId, epoch, prior.epoch);
    if (origin === 'client' && prior.known) {
      if (epoch !== prior.epoch) {
        if (baseSequence !== 0) {
          throw new OutOfOrderSequenceError(
            producerId,
            `the batch at byte ${position} opens epoch ${epoch} at sequence ${baseSequence}; a new epoch starts at 0`,
          );
        }
      } else if (this.producers.has(producerId) && !inSequence(prior.lastSequence, baseSequence)) {
        // A producer the log has no state for is accepted at any sequence (Kafka 2.5+): its records
        // may have been deleted by retention, and refusing would make it resend them.
        throw new OutOfOrderSequenceError(
          producerId,
          `the batch at byte ${position} starts at sequence ${baseSequence} (epoch ${epoch}) but the last one ` +
            `ended at ${prior.lastSequence}`,
        );
      }
    }
    if (prior.inTransaction && !transactional) {
      throw new InvalidTxnStateError(
        `producer ${producerId} wrote a non-transactional batch (at byte ${position}) while its transaction is ongoing`,
      );
    }
    this.stage(producerId, epoch, lastSequence, prior.inTransaction || transactional, prior.coordinatorEpoch);
  }

  /** The producer's state after the batches staged so far in this append, else as stored. */
  private priorState(producerId: number): PriorState {
    const prior = this.prior;
    for (let i = this.staged - 1; i >= 0; i--) {
      if (this.stagedProducerIds[i] !== producerId) continue;
      prior.known = true;
      prior.epoch = this.stagedEpochs[i];
      prior.lastSequence = this.stagedLastSequences[i];
      prior.inTransaction = this.stagedInTransaction[i];
      prior.coordinatorEpoch = this.stagedCoordinatorEpochs[i];
      return prior;
    }
    const entry = this.producers.get(producerId);
    prior.known = entry !== undefined;
    prior.epoch = entry?.epoch ?? NO_EPOCH;
    prior.lastSequence = entry?.lastSequence ?? NO_SEQUENCE;
    prior.inTransaction = entry !== undefined && entry.currentTxnFirstOffset !== NO_OFFSET;
    prior.coordinatorEpoch = entry?.coordinatorEpoch ?? -1;
    return prior;
  }

  private stage(producerId: number, epoch: number, lastSequence: number, inTransaction: boolean, coordinatorEpoch: number): void {
    const i = this.staged++;
    this.stagedProducerIds[i] = producerId;
    this.stagedEpochs[i] = epoch;
    this.stagedLastSequences[i] = lastSequence;
    this.stagedInTransaction[i] = inTransaction;
    this.stagedCoordinatorEpochs[i] = coordinatorEpoch;
  }

  private beginTransaction(producerId: number, firstOffset: number): void {
    assert.ok(firstOffset > this.newestTxnFirstOffset, 'transactions begin at ascending offsets');
    this.ongoing.set(producerId, firstOffset);
    this.newestTxnFirstOffset = firstOffset;
    if (this.oldestTxnFirstOffset === NO_OFFSET) this.oldestTxnFirstOffset = firstOffset;
  }

  private endTransaction(producerId: number): void {
    const firstOffset = this.ongoing.get(producerId);
    assert.ok(firstOffset !== undefined, 'only an ongoing transaction ends');
    this.ongoing.delete(producerId);
    if (firstOffset !== this.oldestTxnFirstOffset) return;
    this.oldestTxnFirstOffset = NO_OFFSET;
    for (const next of this.ongoing.values()) {
      this.oldestTxnFirstOffset = next;
      break;
    }
  }

  /** Kafka's lastStableOffset(completedTxn): the oldest other ongoing transaction's first offset, else `otherwise`. */
  private oldestOngoingFirstOffsetExcept(producerId: number, otherwise: number): number {
    for (const [ongoingProducerId, firstOffset] of this.ongoing) {
      if (ongoingProducerId !== producerId) return firstOffset;
    }
    return otherwise;
  }
}

function viewOf(entry: ProducerEntry): ProducerStateView {
  return {
    producerId: entry.producerId,
    producerEpoch: entry.epoch,
    lastSequence: entry.lastSequence,
    coordinatorEpoch: entry.coordinatorEpoch,
    currentTxnFirstOffset: entry.currentTxnFirstOffset,
    lastTimestampMs: entry.lastTimestampMs,
    batches: entry.cachedBatches(),
  };
}

/** The marker a control batch at `at` (whole in `buffer`) holds: its one record's key and value. */
function readEndTxnMarker(buffer: Buffer, at: number): ControlRecord {
  const batch = decodeRecordBatch(buffer, at);
  if (batch.records.length === 0) return { type: 'other', keyVersion: -1, typeId: -1 };
  const record = batch.records[0];
  return parseControlRecord(record.key, record.value, at);
}
