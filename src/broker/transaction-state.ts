/**
 * What the transaction coordinator knows about one transactional id, as Kafka's
 * TransactionState / TransactionMetadata define it: the states, the transitions allowed between
 * them, and the record persisted for every state change (the value of Kafka's
 * __transaction_state log, keyed by transactional id).
 *
 *   Empty, CompleteCommit, CompleteAbort -> Ongoing   AddPartitionsToTxn / AddOffsetsToTxn
 *   Ongoing -> Ongoing                                more partitions or groups
 *   Ongoing -> PrepareCommit | PrepareAbort           EndTxn; PrepareAbort with the epoch bumped
 *                                                     when the coordinator aborts on its own
 *   PrepareCommit -> CompleteCommit                   every marker written
 *   PrepareAbort -> CompleteAbort                     every marker written
 *   Empty, CompleteCommit, CompleteAbort -> Empty     InitProducerId (epoch bump or new producer id)
 *   Empty, CompleteCommit, CompleteAbort -> Dead      transactional id expired
 *
 * Empty, CompleteCommit and CompleteAbort are the idle states: the next transaction starts from
 * any of them, and an idle id unused for transactional.id.expiration.ms becomes Dead (a
 * tombstone). Kafka's PrepareEpochFence is not a state here: it only ever lives in memory while
 * the fencing PrepareAbort is written, which `pendingState` covers (see transaction-metadata.ts).
 */
import type { TopicPartitionRef } from './group-types.js';
import { INT16_MAX, INT32_MAX } from '../protocol/limits.js';

export const TRANSACTION_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
] as const;

export type TransactionState = (typeof TRANSACTION_STATES)[number];

/** States a persisted record (other than a tombstone) can hold. */
export type LiveTransactionState = Exclude<TransactionState, 'Dead'>;

/** Kafka's TransactionState ids, as persisted in the transaction log value. */
export const TRANSACTION_STATE_IDS: Readonly<Record<TransactionState, number>> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
};

/** Kafka's TransactionMetadata.validPreviousStates, without the in-memory-only PrepareEpochFence. */
const VALID_PREVIOUS_STATES: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
};

export function isLegalTransition(from: TransactionState, to: TransactionState): boolean {
  return VALID_PREVIOUS_STATES[to].includes(from);
}

/** An illegal transition is a coordinator bug: it must never reach storage. */
export function assertLegalTransition(transactionalId: string, from: TransactionState, to: TransactionState): void {
  if (!isLegalTransition(from, to)) {
    throw new Error(`invariant: transactional id "${transactionalId}" cannot move from ${from} to ${to}`);
  }
}

export function isIdleState(state: TransactionState): boolean {
  return state === 'Empty' || state === 'CompleteCommit' || state === 'CompleteAbort';
}

/** A transaction whose partitions are in play: Ongoing, or decided and waiting for its markers. */
export function hasTransactionInFlight(state: TransactionState): boolean {
  return state === 'Ongoing' || state === 'PrepareCommit' || state === 'PrepareAbort';
}

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
/** Kafka's producer epoch is an int16. */
export const MAX_PRODUCER_EPOCH = 0x7fff;

/**
 * Kafka's TransactionMetadata.isEpochExhausted: the coordinator keeps the last epoch for fencing
 * an Ongoing transaction, so from Short.MaxValue - 1 on, InitProducerId rotates to a new producer id.
 */
export function isEpochExhausted(producerEpoch: number): boolean {
  return producerEpoch >= MAX_PRODUCER_EPOCH - 1;
}

/** The persisted state of a transactional id after one state change. */
export interface TransactionStateRecord {
  transactionalId: string;
  producerId: number;
  /** The producer id before this change: differs from producerId right after an epoch-exhaustion rotation. */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch before the last InitProducerId bump, so a retried InitProducerId (KIP-360) is recognized; -1 for none. */
  lastProducerEpoch: number;
  transactionTimeoutMs: number;
  state: LiveTransactionState;
  /** Partitions the transaction wrote to (Ongoing, PrepareCommit, PrepareAbort); empty otherwise. */
  partitions: TopicPartitionRef[];
  /** Consumer groups whose offsets the transaction commits (AddOffsetsToTxn); empty when idle. */
  groupIds: string[];
  txnLastUpdateTimestampMs: number;
  /** When the current (or last) transaction began; -1 until one has. */
  txnStartTimestampMs: number;
}

/** The transactional id was removed (expired): Kafka writes a tombstone for its key. */
export interface TransactionTombstone {
  transactionalId: string;
  state: 'Dead';
}

/** One entry of the transaction log, in the order written; later entries for an id supersede earlier ones. */
export type TransactionLogEntry = TransactionStateRecord | TransactionTombstone;

/** Kafka writes strings with an int16 byte length. */
export const MAX_ID_BYTES = INT16_MAX;

/**
 * Why `record` cannot be a persisted transaction state, or null when it can. One rule set for
 * the coordinator (before it writes), the codec (before it encodes and after it decodes) and
 * recovery (what the store loaded).
 */
export function transactionRecordProblem(record: TransactionLogEntry): string | null {
  if (record === null || typeof record !== 'object') return 'the record is not an object';
  const idProblem = stringProblem(record.transactionalId, 'transactionalId');
  if (idProblem !== null) return idProblem;
  if (record.state === 'Dead') return null;
  if (!TRANSACTION_STATES.includes(record.state)) return `state ${JSON.stringify(record.state)} is not a transaction state`;
  if (!Number.isSafeInteger(record.producerId) || record.producerId < 0) {
    return `producerId ${record.producerId} is not a producer id (an integer >= 0)`;
  }
  if (!Number.isSafeInteger(record.lastProducerId) || record.lastProducerId < NO_PRODUCER_ID) {
    return `lastProducerId ${record.lastProducerId} is not a producer id or -1`;
  }
  if (!Number.isInteger(record.producerEpoch) || record.producerEpoch < 0 || record.producerEpoch > MAX_PRODUCER_EPOCH) {
    return `producerEpoch ${record.producerEpoch} is outside [0, ${MAX_PRODUCER_EPOCH}]`;
  }
  if (
    !Number.isInteger(record.lastProducerEpoch) ||
    record.lastProducerEpoch < NO_PRODUCER_EPOCH ||
    record.lastProducerEpoch > MAX_PRODUCER_EPOCH
  ) {
    return `lastProducerEpoch ${record.lastProducerEpoch} is outside [-1, ${MAX_PRODUCER_EPOCH}]`;
  }
  if (!Number.isInteger(record.transactionTimeoutMs) || record.transactionTimeoutMs <= 0 || record.transactionTimeoutMs > INT32_MAX) {
    return `transactionTimeoutMs ${record.transactionTimeoutMs} is outside [1, ${INT32_MAX}]`;
  }
  if (!Number.isSafeInteger(record.txnLastUpdateTimestampMs) || record.txnLastUpdateTimestampMs < 0) {
    return `txnLastUpdateTimestampMs ${record.txnLastUpdateTimestampMs} is not a timestamp`;
  }
  if (!Number.isSafeInteger(record.txnStartTimestampMs) || record.txnStartTimestampMs < -1) {
    return `txnStartTimestampMs ${record.txnStartTimestampMs} is neither a timestamp nor -1`;
  }
  if (!Array.isArray(record.partitions)) return 'partitions is not an array';
  if (!Array.isArray(record.groupIds)) return 'groupIds is not an array';
  const seen = new Set<string>();
  for (const entry of record.partitions) {
    const topicProblem = stringProblem(entry?.topic, 'a partition topic');
    if (topicProblem !== null) return topicProblem;
    if (!Number.isInteger(entry.partition) || entry.partition < 0 || entry.partition > INT32_MAX) {
      return `partition ${entry.partition} of topic "${entry.topic}" is not an int32 >= 0`;
    }
    const key = `${entry.partition}:${entry.topic}`;
    if (seen.has(key)) return `partition ${entry.topic}-${entry.partition} appears twice`;
    seen.add(key);
  }
  const groups = new Set<string>();
  for (const groupId of record.groupIds) {
    const groupProblem = stringProblem(groupId, 'a group id');
    if (groupProblem !== null) return groupProblem;
    if (groups.has(groupId)) return `group "${groupId}" appears twice`;
    groups.add(groupId);
  }
  if (hasTransactionInFlight(record.state)) {
    if (record.partitions.length + record.groupIds.length === 0) {
      return `state ${record.state} needs at least one partition or group`;
    }
    if (record.txnStartTimestampMs < 0) return `state ${record.state} needs a txnStartTimestampMs`;
  } else if (record.partitions.length + record.groupIds.length !== 0) {
    return `state ${record.state} cannot hold partitions or groups`;
  }
  return null;
}

function stringProblem(value: unknown, field: string): string | null {
  if (typeof value !== 'string' || value === '') return `${field} is not a non-empty string`;
  if (Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES) return `${field} is longer than ${MAX_ID_BYTES} bytes`;
  return null;
}
