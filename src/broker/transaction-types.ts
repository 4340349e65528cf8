/**
 * The transaction coordinator's contracts: what the broker implements for it (state store,
 * marker writer, producer ids), the requests and results of its APIs, and its options. Kept
 * apart from the state machine so the broker and the server read them without the logic.
 */
import type { CoordinatorClock } from './coordinator-clock.js';
import type { TopicPartitionRef } from './group-types.js';
import type { TransactionLogEntry, TransactionState } from './transaction-state.js';

// ---- Interfaces the broker implements ----

export interface TransactionStateStore {
  /**
   * Durably appends one entry (a state record, or a tombstone when the id expired); the change
   * is acknowledged only after this resolves. The coordinator never has two appends for one
   * transactional id in flight, so per id the entries land in the order the states were taken.
   */
  append(entry: TransactionLogEntry): Promise<void> | void;
  /** Every entry appended (or the latest per transactional id), in append order. */
  load(): Promise<readonly TransactionLogEntry[]> | readonly TransactionLogEntry[];
}

export interface TxnMarker {
  producerId: number;
  /** The epoch the transaction ends with: bumped when the coordinator aborts it to fence its producer. */
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

export interface TxnMarkerWriter {
  /**
   * Appends a commit or abort control batch for the producer to each partition and resolves once
   * they are durable. May be called again for the same transaction after a failure or a restart
   * (a second marker for a producer with nothing open is harmless, as in Kafka). A partition
   * that no longer exists must be skipped, not failed: only failures a retry can cure reject.
   */
  writeMarkers(partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void>;
  /**
   * Makes the offsets the producer staged for the group with TxnOffsetCommit visible (commit) or
   * drops them (abort), durably. Must be idempotent: with nothing staged it does nothing. In a
   * cluster this is the marker sent to the group coordinator's partition, hence the whole marker.
   */
  completeGroupOffsets(groupId: string, marker: TxnMarker): Promise<void>;
}

/** Where producer ids come from: a ProducerIdManager. */
export interface ProducerIdSource {
  nextId(): Promise<number>;
}

// ---- Requests and results ----

export interface InitProducerIdRequest {
  /** null (or absent) for an idempotent producer without transactions. */
  transactionalId?: string | null;
  transactionTimeoutMs: number;
  /** InitProducerId v3+ (KIP-360): the id and epoch the producer has, to bump rather than replace; -1 for none. */
  producerId?: number;
  producerEpoch?: number;
}

export interface InitProducerIdResult {
  producerId: number;
  producerEpoch: number;
}

export interface AddPartitionsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  partitions: TopicPartitionRef[];
}

export interface AddOffsetsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
}

export interface EndTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** true to commit, false to abort. */
  committed: boolean;
}

export interface TxnOffsetCommitCheck {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
}

/** Kafka's DescribeTransactions view of one transactional id. */
export interface TransactionDescription {
  transactionalId: string;
  state: TransactionState;
  producerId: number;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /** -1 when no transaction has begun since the last InitProducerId. */
  txnStartTimestampMs: number;
  partitions: TopicPartitionRef[];
  groupIds: string[];
}

/** ListTransactions' filters; each empty or absent one selects everything. */
export interface TransactionListFilters {
  states?: readonly string[];
  producerIds?: readonly number[];
  /** Only transactions begun more than this many ms ago; -1 (default) for any. */
  durationMs?: number;
}

export interface TransactionListing {
  /** State names of the filter that are no transaction state. */
  unknownStates: string[];
  transactions: { transactionalId: string; producerId: number; state: TransactionState }[];
}

// ---- Configuration ----

export interface TransactionCoordinatorOptions {
  stateStore: TransactionStateStore;
  markerWriter: TxnMarkerWriter;
  producerIds: ProducerIdSource;
  clock?: CoordinatorClock;
  /** Kafka's transaction.max.timeout.ms: the largest transactionTimeoutMs a producer may ask for. */
  transactionMaxTimeoutMs?: number;
  /** Kafka's transaction.abort.timed.out.transaction.cleanup.interval.ms. */
  abortTimedOutTransactionsIntervalMs?: number;
  /** Kafka's transactional.id.expiration.ms: how long an idle transactional id is remembered. */
  transactionalIdExpirationMs?: number;
  /** Kafka's transaction.remove.expired.transaction.cleanup.interval.ms. */
  removeExpiredTransactionalIdsIntervalMs?: number;
  /** First wait before retrying a failed marker write or completion append; doubles up to markerRetryMaxBackoffMs. */
  markerRetryBackoffMs?: number;
  markerRetryMaxBackoffMs?: number;
  /** Written into every marker; raise it each time the broker opens so markers of a previous run are told apart. */
  coordinatorEpoch?: number;
  /** Partitions plus groups one transaction may hold (Kafka sets none; a bound keeps one record and one marker round finite). */
  maxTransactionPartitions?: number;
  /** Told about failures of background work (marker writes, completion appends, timeout aborts), which is retried. */
  onBackgroundError?: (error: Error) => void;
}
