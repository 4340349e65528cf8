/**
 * The shared-memory table of per-partition offsets: written by the shard that owns a partition,
 * read by any thread without a message to that shard (fetch, long poll, ListOffsets).
 *
 * Layout: one 64-byte slot per partition (one cache line, so two shards publishing never share a
 * line), `capacity` slots in one SharedArrayBuffer:
 *
 *   int32 word 0   sequence: even when stable, odd while the owner writes; also the change counter
 *                  that long polls wait on (Atomics.waitAsync on this word)
 *   int32 word 1   waiters: how many readers are parked on the sequence word, so the owner calls
 *                  Atomics.notify only when somebody listens
 *   float64 1..5   log start offset, high watermark, log end offset, last stable offset,
 *                  storage epoch (bumped when the owner truncates or deletes segments, which tells a
 *                  LogReader its cached segment listing and indexes are stale)
 *
 * Why a seqlock over float64 rather than a BigInt64Array: offsets are JS numbers everywhere in
 * Sluice, and a BigInt64Array load allocates a bigint per field per read; float64 holds every safe
 * integer exactly. The owner is the only writer of a slot, so the seqlock needs no compare-and-swap:
 * it stores an odd sequence, writes the fields with plain stores, stores the next even sequence.
 * Atomics are sequentially consistent and order the plain accesses around them, so a reader that
 * sees the same even sequence before and after copying the fields copied a consistent snapshot.
 */
import { InvalidConfigError, SluiceError } from '../errors.js';

export const PARTITION_STATE_SLOT_BYTES = 64;
const WORDS_PER_SLOT = PARTITION_STATE_SLOT_BYTES / 4;
const DOUBLES_PER_SLOT = PARTITION_STATE_SLOT_BYTES / 8;
const SEQUENCE_WORD = 0;
const WAITERS_WORD = 1;
const LOG_START_FIELD = 1;
const HIGH_WATERMARK_FIELD = 2;
const LOG_END_FIELD = 3;
const LAST_STABLE_FIELD = 4;
const EPOCH_FIELD = 5;
export const MAX_PARTITION_STATE_SLOTS = 1 << 20;
/** Reads of an odd (being written) sequence before a reader gives up: far beyond any live writer's window. */
const MAX_READ_ATTEMPTS = 1_000_000;

/** One consistent reading of a slot. */
export interface PartitionStateSnapshot {
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
  lastStableOffset: number;
  /** Changes when the owner truncated the log or deleted segments. */
  storageEpoch: number;
  /** The sequence the snapshot was read at; pass it to waitForChange. */
  sequence: number;
}

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => WaitAsyncResult;
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class PartitionStateTable {
  readonly sharedBuffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly words: Int32Array;
  private readonly doubles: Float64Array;
  /** Slot allocation, kept by the one thread that owns the table (the broker's). */
  private readonly freeSlots: number[] = [];
  private nextUnusedSlot = 0;

  private constructor(sharedBuffer: SharedArrayBuffer) {
    this.sharedBuffer = sharedBuffer;
    this.capacity = sharedBuffer.byteLength / PARTITION_STATE_SLOT_BYTES;
    this.words = new Int32Array(sharedBuffer);
    this.doubles = new Float64Array(sharedBuffer);
  }

  /** A table for up to `capacity` partitions open at once. */
  static create(capacity: number): PartitionStateTable {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_PARTITION_STATE_SLOTS) {
      throw new InvalidConfigError(`maxPartitions must be an integer from 1 to ${MAX_PARTITION_STATE_SLOTS}, got ${capacity}`);
    }
    return new PartitionStateTable(new SharedArrayBuffer(capacity * PARTITION_STATE_SLOT_BYTES));
  }

  /** Wraps a table made by create() (in a shard worker). */
  static from(sharedBuffer: SharedArrayBuffer): PartitionStateTable {
    if (!(sharedBuffer instanceof SharedArrayBuffer) || sharedBuffer.byteLength % PARTITION_STATE_SLOT_BYTES !== 0 || sharedBuffer.byteLength === 0) {
      throw new InvalidConfigError('PartitionStateTable.from needs the SharedArrayBuffer of a table made by create()');
    }
    return new PartitionStateTable(sharedBuffer);
  }

  /** Reserves a slot for a partition being opened; throws when maxPartitions are open already. */
  allocate(): number {
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.nextUnusedSlot < this.capacity ? this.nextUnusedSlot++ : -1;
    if (slot < 0) {
      throw new SluiceError(
        'TOO_MANY_PARTITIONS',
        `all ${this.capacity} partition slots are in use; raise the broker's maxPartitions or delete topics`,
      );
    }
    // A reused slot must not show the previous partition's offsets to a reader of the new one.
    this.publish(slot, 0, 0, 0, 0);
    return slot;
  }

  /** Returns a slot once its partition is closed; readers still waiting on it are woken. */
  release(slot: number): void {
    this.checkSlot(slot);
    this.publish(slot, 0, 0, 0, 0);
    this.freeSlots.push(slot);
  }

  /**
   * Publishes a partition's offsets (the owner only). The high watermark and the last stable
   * offset equal the log end offset on a single broker without transactions; the parameters keep
   * them apart for the stages that lower them.
   */
  publish(slot: number, logStartOffset: number, highWatermark: number, logEndOffset: number, lastStableOffset: number, bumpEpoch = false): void {
    const word = slot * WORDS_PER_SLOT;
    const field = slot * DOUBLES_PER_SLOT;
    const sequence = Atomics.load(this.words, word + SEQUENCE_WORD);
    invariant((sequence & 1) === 0, 'a slot has one writer, so it is stable when that writer starts');
    invariant(logStartOffset <= highWatermark && highWatermark <= logEndOffset && lastStableOffset <= highWatermark, 'logStart <= LSO <= HW <= LEO');
    Atomics.store(this.words, word + SEQUENCE_WORD, (sequence + 1) | 0);
    this.doubles[field + LOG_START_FIELD] = logStartOffset;
    this.doubles[field + HIGH_WATERMARK_FIELD] = highWatermark;
    this.doubles[field + LOG_END_FIELD] = logEndOffset;
    this.doubles[field + LAST_STABLE_FIELD] = lastStableOffset;
    if (bumpEpoch) this.doubles[field + EPOCH_FIELD] += 1;
    Atomics.store(this.words, word + SEQUENCE_WORD, (sequence + 2) | 0);
    if (Atomics.load(this.words, word + WAITERS_WORD) !== 0) Atomics.notify(this.words, word + SEQUENCE_WORD);
  }

  /** A consistent snapshot of the slot into `out` (reused: no allocation). */
  read(slot: number, out: PartitionStateSnapshot): PartitionStateSnapshot {
    const word = slot * WORDS_PER_SLOT;
    const field = slot * DOUBLES_PER_SLOT;
    for (let attempt = 0; ; attempt++) {
      const before = Atomics.load(this.words, word + SEQUENCE_WORD);
      // Odd: the owner is between its two stores, a handful of instructions; read again. An owner
      // killed right there leaves it odd until its pool repairs the slot: give up rather than spin.
      if ((before & 1) !== 0) {
        if (attempt >= MAX_READ_ATTEMPTS) {
          throw new SluiceError('PARTITION_STATE_BUSY', `partition state slot ${slot} is being rewritten by a failed shard; retry`, true);
        }
        continue;
      }
      out.logStartOffset = this.doubles[field + LOG_START_FIELD];
      out.highWatermark = this.doubles[field + HIGH_WATERMARK_FIELD];
      out.logEndOffset = this.doubles[field + LOG_END_FIELD];
      out.lastStableOffset = this.doubles[field + LAST_STABLE_FIELD];
      out.storageEpoch = this.doubles[field + EPOCH_FIELD];
      if (Atomics.load(this.words, word + SEQUENCE_WORD) === before) {
        out.sequence = before;
        return out;
      }
    }
  }

  /**
   * Resolves once the slot's sequence differs from `sequence` (the owner published), after
   * `timeoutMs`, or when `signal` aborts. Never blocks the thread: Atomics.waitAsync.
   */
  async waitForChange(slot: number, sequence: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const word = slot * WORDS_PER_SLOT;
    if (waitAsync === undefined) throw new Error('Atomics.waitAsync is missing: Sluice needs Node.js 20 or later');
    if (signal?.aborted) return;
    Atomics.add(this.words, word + WAITERS_WORD, 1);
    // An abort wakes every waiter of the slot; each re-checks its own condition, so that is harmless.
    const onAbort = (): void => void Atomics.notify(this.words, word + SEQUENCE_WORD);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const waiting = waitAsync(this.words, word + SEQUENCE_WORD, sequence, timeoutMs);
      if (waiting.async) await waiting.value;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      Atomics.sub(this.words, word + WAITERS_WORD, 1);
    }
  }

  /**
   * Makes the slot stable again after its owner died between the two sequence stores. Only for
   * the pool, while no thread owns the slot.
   */
  repair(slot: number): void {
    this.checkSlot(slot);
    const word = slot * WORDS_PER_SLOT + SEQUENCE_WORD;
    const sequence = Atomics.load(this.words, word);
    if ((sequence & 1) !== 0) Atomics.store(this.words, word, (sequence + 1) | 0);
  }

  private checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.capacity) {
      throw new RangeError(`partition state slot ${slot} is outside the table of ${this.capacity}`);
    }
  }
}

export function emptySnapshot(): PartitionStateSnapshot {
  return { logStartOffset: 0, highWatermark: 0, logEndOffset: 0, lastStableOffset: 0, storageEpoch: 0, sequence: 0 };
}

function invariant(holds: boolean, what: string): void {
  if (!holds) throw new Error(`partition state invariant violated: ${what}`);
}
