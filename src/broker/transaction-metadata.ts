/**
 * One transactional id's state at the coordinator (Kafka's TransactionMetadata), and the records
 * of the transitions it may take. A transition is computed here as a record, persisted by the
 * coordinator, and applied with `apply` only once persisted: memory never runs ahead of storage.
 * While a record is being persisted `pendingState` names where it leads, and every other
 * request for the id is answered CONCURRENT_TRANSACTIONS (Kafka's pendingTransitionInProgress).
 */
import type { TimerHandle } from './coordinator-clock.js';
import type { TopicPartitionRef } from './group-types.js';
import {
  MAX_PRODUCER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  assertLegalTransition,
  isEpochExhausted,
  type LiveTransactionState,
  type TransactionState,
  type TransactionStateRecord,
} from './transaction-state.js';

export class TransactionMetadata {
  readonly transactionalId: string;
  // Every field below is set from a record by takeOn, in the constructor and in apply.
  producerId = NO_PRODUCER_ID;
  lastProducerId = NO_PRODUCER_ID;
  producerEpoch = NO_PRODUCER_EPOCH;
  lastProducerEpoch = NO_PRODUCER_EPOCH;
  transactionTimeoutMs = 0;
  state: TransactionState = 'Empty';
  /** topic -> partitions of the transaction in flight. */
  readonly partitions = new Map<string, Set<number>>();
  partitionCount = 0;
  readonly groupIds = new Set<string>();
  txnStartTimestampMs = -1;
  txnLastUpdateTimestampMs = -1;
  /** Where the transition being persisted leads; null when none is. */
  pendingState: TransactionState | null = null;
  /** A PrepareCommit/PrepareAbort whose markers are being written and whose Complete state is being persisted. */
  completing = false;
  /** The backoff timer of a failed completion step, cleared by the coordinator's close(). */
  retryTimer: TimerHandle | null = null;

  private constructor(record: TransactionStateRecord) {
    this.transactionalId = record.transactionalId;
    this.takeOn(record);
  }

  /** As restored from the transaction log. */
  static fromRecord(record: TransactionStateRecord): TransactionMetadata {
    return new TransactionMetadata(record);
  }

  /**
   * A transactional id seen for the first time, before its producer id is allocated and before
   * anything is persisted (Kafka creates it with epoch -1, so the first bump yields epoch 0).
   */
  static created(transactionalId: string, transactionTimeoutMs: number, nowMs: number): TransactionMetadata {
    return new TransactionMetadata({
      transactionalId,
      producerId: NO_PRODUCER_ID,
      lastProducerId: NO_PRODUCER_ID,
      producerEpoch: NO_PRODUCER_EPOCH,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      transactionTimeoutMs,
      state: 'Empty',
      partitions: [],
      groupIds: [],
      txnLastUpdateTimestampMs: nowMs,
      txnStartTimestampMs: -1,
    });
  }

  /** The partitions of the transaction in flight, as a record lists them. */
  partitionList(): TopicPartitionRef[] {
    const list: TopicPartitionRef[] = [];
    for (const [topic, partitions] of this.partitions) for (const partition of partitions) list.push({ topic, partition });
    return list;
  }

  /** Every partition and group already belongs to the transaction. */
  containsAll(partitions: readonly TopicPartitionRef[], groupIds: readonly string[]): boolean {
    return (
      partitions.every(({ topic, partition }) => this.partitions.get(topic)?.has(partition) === true) &&
      groupIds.every((groupId) => this.groupIds.has(groupId))
    );
  }

  /** How many partitions and groups the transaction would hold with these added. */
  sizeWith(partitions: readonly TopicPartitionRef[], groupIds: readonly string[]): number {
    let size = this.partitionCount + this.groupIds.size;
    const counted = new Set<string>();
    for (const { topic, partition } of partitions) {
      const key = `${partition}:${topic}`;
      if (this.partitions.get(topic)?.has(partition) !== true && !counted.has(key)) {
        counted.add(key);
        size++;
      }
    }
    for (const groupId of new Set(groupIds)) if (!this.groupIds.has(groupId)) size++;
    return size;
  }

  // ---- Transitions (records to persist; nothing changes until apply) ----

  /**
   * InitProducerId on an idle id: Kafka's prepareIncrementProducerEpoch. Without an expected epoch
   * (clients before KIP-360) the epoch is bumped unconditionally; with one, a matching epoch is
   * bumped, the epoch before the last bump means a retry of a call that succeeded (the current
   * epoch is returned again), and anything else is fenced (null).
   */
  epochBump(transactionTimeoutMs: number, nowMs: number, expectedEpoch: number | null): TransactionStateRecord | null {
    let epoch: number;
    let lastEpoch: number;
    if (expectedEpoch === null || this.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === this.producerEpoch) {
      if (isEpochExhausted(this.producerEpoch)) {
        throw new Error(`invariant: producer ${this.producerId} epoch ${this.producerEpoch} is exhausted; rotate the producer id`);
      }
      epoch = this.producerEpoch + 1;
      lastEpoch = expectedEpoch === null ? NO_PRODUCER_EPOCH : this.producerEpoch;
    } else if (expectedEpoch === this.lastProducerEpoch) {
      epoch = this.producerEpoch;
      lastEpoch = this.lastProducerEpoch;
    } else {
      return null;
    }
    return this.transit('Empty', {
      producerEpoch: epoch,
      lastProducerEpoch: lastEpoch,
      transactionTimeoutMs,
      partitions: [],
      groupIds: [],
      txnStartTimestampMs: -1,
      txnLastUpdateTimestampMs: nowMs,
    });
  }

  /**
   * InitProducerId when the epoch is exhausted: a new producer id at epoch 0 (Kafka's
   * prepareProducerIdRotation). The old epoch is kept as lastProducerEpoch when the client sent
   * it (KIP-360), so a retry of this very call is recognized.
   */
  producerIdRotation(newProducerId: number, transactionTimeoutMs: number, nowMs: number, keepLastEpoch: boolean): TransactionStateRecord {
    return this.transit('Empty', {
      producerId: newProducerId,
      producerEpoch: 0,
      lastProducerEpoch: keepLastEpoch ? this.producerEpoch : NO_PRODUCER_EPOCH,
      transactionTimeoutMs,
      partitions: [],
      groupIds: [],
      txnStartTimestampMs: -1,
      txnLastUpdateTimestampMs: nowMs,
    });
  }

  /** AddPartitionsToTxn / AddOffsetsToTxn: the first one of a transaction starts its clock. */
  addToTransaction(partitions: readonly TopicPartitionRef[], groupIds: readonly string[], nowMs: number): TransactionStateRecord {
    const starting = this.state !== 'Ongoing';
    const merged = this.partitionList();
    const seen = new Set(merged.map(({ topic, partition }) => `${partition}:${topic}`));
    for (const { topic, partition } of partitions) {
      const key = `${partition}:${topic}`;
      if (!seen.has(key)) {
        seen.add(key);
        merged.push({ topic, partition });
      }
    }
    return this.transit('Ongoing', {
      partitions: merged,
      groupIds: [...new Set([...this.groupIds, ...groupIds])],
      txnStartTimestampMs: starting ? nowMs : this.txnStartTimestampMs,
      txnLastUpdateTimestampMs: nowMs,
    });
  }

  /** EndTxn: the decision, persisted before the client is answered. */
  prepareEnd(commit: boolean, nowMs: number): TransactionStateRecord {
    return this.transit(commit ? 'PrepareCommit' : 'PrepareAbort', { txnLastUpdateTimestampMs: nowMs });
  }

  /**
   * The coordinator aborts an Ongoing transaction on its own (timeout, or InitProducerId from a
   * new instance) with the epoch bumped, so the markers and every later request fence the old
   * instance (Kafka's prepareFenceProducerEpoch followed by the abort).
   */
  fencingAbort(nowMs: number): TransactionStateRecord {
    if (this.producerEpoch >= MAX_PRODUCER_EPOCH) {
      throw new Error(`invariant: producer ${this.producerId} has epoch ${this.producerEpoch}; it cannot be fenced`);
    }
    return this.transit('PrepareAbort', {
      producerEpoch: this.producerEpoch + 1,
      lastProducerEpoch: NO_PRODUCER_EPOCH,
      txnLastUpdateTimestampMs: nowMs,
    });
  }

  /** Every marker is written: the transaction is over. */
  complete(nowMs: number): TransactionStateRecord {
    if (this.state !== 'PrepareCommit' && this.state !== 'PrepareAbort') {
      throw new Error(`invariant: transactional id "${this.transactionalId}" completes from ${this.state}`);
    }
    return this.transit(this.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', {
      partitions: [],
      groupIds: [],
      txnLastUpdateTimestampMs: nowMs,
    });
  }

  /** The record as it stands, for a transition that changes only what `changes` names. */
  private transit(state: LiveTransactionState, changes: Partial<TransactionStateRecord>): TransactionStateRecord {
    assertLegalTransition(this.transactionalId, this.state, state);
    return {
      transactionalId: this.transactionalId,
      producerId: this.producerId,
      // Kafka records the id held before every transition: it differs only after a rotation.
      lastProducerId: this.producerId,
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      transactionTimeoutMs: this.transactionTimeoutMs,
      partitions: this.partitionList(),
      groupIds: [...this.groupIds],
      txnStartTimestampMs: this.txnStartTimestampMs,
      txnLastUpdateTimestampMs: this.txnLastUpdateTimestampMs,
      ...changes,
      state,
    };
  }

  /** Takes on a persisted record of this id. */
  apply(record: TransactionStateRecord): void {
    if (record.transactionalId !== this.transactionalId) {
      throw new Error(`invariant: record of "${record.transactionalId}" applied to "${this.transactionalId}"`);
    }
    assertLegalTransition(this.transactionalId, this.state, record.state);
    this.takeOn(record);
  }

  /** Every field of `record` but the id, which never changes. */
  private takeOn(record: TransactionStateRecord): void {
    this.producerId = record.producerId;
    this.lastProducerId = record.lastProducerId;
    this.producerEpoch = record.producerEpoch;
    this.lastProducerEpoch = record.lastProducerEpoch;
    this.transactionTimeoutMs = record.transactionTimeoutMs;
    this.state = record.state;
    this.txnStartTimestampMs = record.txnStartTimestampMs;
    this.txnLastUpdateTimestampMs = record.txnLastUpdateTimestampMs;
    const { partitions, groupIds } = record;
    this.partitions.clear();
    this.partitionCount = 0;
    for (const { topic, partition } of partitions) {
      let set = this.partitions.get(topic);
      if (set === undefined) this.partitions.set(topic, (set = new Set()));
      if (!set.has(partition)) {
        set.add(partition);
        this.partitionCount++;
      }
    }
    this.groupIds.clear();
    for (const groupId of groupIds) this.groupIds.add(groupId);
  }
}
