/**
 * A partition's fetch and long poll on the calling thread: offsets from the shared partition
 * state table, bytes from the log's files through a LogReader, never a message to the owning
 * shard. Broker.fetch and Broker.waitForData read this way, and so does a consumer on a thread
 * attached to the broker (AttachedBroker), with its own LogReader.
 */
import { InvalidRequestError } from '../errors.js';
import type { PartitionStateSnapshot, PartitionStateTable } from '../shard/partition-state.js';
import { emptySnapshot } from '../shard/partition-state.js';
import type { LogReader, ReadBounds } from '../storage/log-reader.js';
import { requireOffset } from '../validate.js';
import type { FetchPartitionResult, IsolationLevel } from './broker-api.js';

const NO_ABORTED_TRANSACTIONS: readonly { producerId: number; firstOffset: number }[] = Object.freeze([]);

function checkIsolationLevel(isolationLevel: IsolationLevel): void {
  if (isolationLevel !== 'read_uncommitted' && isolationLevel !== 'read_committed') {
    throw new InvalidRequestError(`isolationLevel must be 'read_uncommitted' or 'read_committed', got ${String(isolationLevel)}`);
  }
}

/** What a reader may read of the slot's partition now: read_committed stops at the last stable offset. */
export function readBoundsOf(table: PartitionStateTable, slot: number, isolationLevel: IsolationLevel, snapshot: PartitionStateSnapshot): ReadBounds {
  const now = table.read(slot, snapshot);
  return {
    logStartOffset: now.logStartOffset,
    logEndOffset: now.logEndOffset,
    readableEndOffset: isolationLevel === 'read_committed' ? now.lastStableOffset : now.highWatermark,
    storageEpoch: now.storageEpoch,
  };
}

/** Reads whole batches of the slot's partition from `offset`, at most `maxBytes` (see BrokerApi.fetch). */
export function fetchFromLog(
  table: PartitionStateTable,
  slot: number,
  reader: LogReader,
  topic: string,
  partition: number,
  offset: number,
  maxBytes: number,
  isolationLevel: IsolationLevel,
  snapshot: PartitionStateSnapshot,
): FetchPartitionResult {
  requireOffset('fetch offset', offset);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new InvalidRequestError(`fetch maxBytes must be an integer >= 0, got ${String(maxBytes)}`);
  }
  checkIsolationLevel(isolationLevel);
  const state = table.read(slot, snapshot);
  const logStartOffset = state.logStartOffset;
  const highWatermark = state.highWatermark;
  const lastStableOffset = state.lastStableOffset;
  // read_committed stops at the last stable offset (equal to the high watermark until transactions).
  const readableEnd = isolationLevel === 'read_committed' ? lastStableOffset : highWatermark;
  const bounds: ReadBounds = { logStartOffset, logEndOffset: state.logEndOffset, readableEndOffset: readableEnd, storageEpoch: state.storageEpoch };
  const result = reader.read(offset, maxBytes, bounds, () => readBoundsOf(table, slot, isolationLevel, snapshot));
  const abortedTransactions =
    isolationLevel === 'read_committed' && result.records.length > 0 ? reader.abortedTransactions(offset, result.nextOffset, bounds) : NO_ABORTED_TRANSACTIONS;
  return {
    topic,
    partition,
    records: result.records,
    nextOffset: result.nextOffset,
    highWatermark,
    lastStableOffset,
    logStartOffset,
    abortedTransactions,
  };
}

/**
 * Resolves once the slot's partition has readable records past `offset`, after `maxWaitMs`, when
 * `signal` aborts, or as soon as `stop()` says the wait no longer applies (the broker closing, the
 * partition deleted). See BrokerApi.waitForData.
 */
export async function waitForLogData(
  table: PartitionStateTable,
  slot: number,
  offset: number,
  maxWaitMs: number,
  signal: AbortSignal | undefined,
  isolationLevel: IsolationLevel,
  stop: () => boolean,
): Promise<void> {
  requireOffset('waitForData offset', offset);
  if (!(typeof maxWaitMs === 'number' && maxWaitMs >= 0 && (Number.isInteger(maxWaitMs) || maxWaitMs === Infinity))) {
    throw new InvalidRequestError(`maxWaitMs must be an integer >= 0 (or Infinity), got ${String(maxWaitMs)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidRequestError('signal must be an AbortSignal');
  checkIsolationLevel(isolationLevel);
  const committed = isolationLevel === 'read_committed';
  const deadlineMs = Date.now() + maxWaitMs;
  const state = emptySnapshot();
  for (;;) {
    table.read(slot, state);
    if ((committed ? state.lastStableOffset : state.highWatermark) > offset || signal?.aborted || stop()) return;
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) return;
    await table.waitForChange(slot, state.sequence, remainingMs, signal);
  }
}
