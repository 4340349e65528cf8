/**
 * The shared-memory table of per-partition offsets: written by the shard that owns a partition,
 * read by any thread without a message to that shard (fetch, long poll, ListOffsets).
 *
 * Layout: one 128-byte slot per partition (two cache lines, so two shards publishing never share
 * a line), `capacity` slots in one SharedArrayBuffer:
 *
 *   int32 word 0    sequence: bumped twice per publish; also the change counter that long polls
 *                   wait on (Atomics.waitAsync on this word)
 *   int32 word 1    waiters: how many readers are parked on the sequence word, so the owner calls
 *                   Atomics.notify only when somebody listens
 *   float64 1..5    copy 0 of the offsets: log start offset, high watermark, log end offset, last
 *   float64 6..10   copy 1        stable offset, storage epoch (bumped when the owner truncates or
 *                                 deletes segments, which tells a LogReader its cached segment
 *                                 listing and indexes are stale)
 *   int32 word 22   the partition's current leader epoch, -1 until the owner opened the log: a
 *                   value of its own (Atomics), not part of the offsets snapshot, since it changes
 *                   only when leadership does, never with an append
 *   int32 word 23   the generation of the slot's open (ShardPool numbers each open), 0 while the
 *                   slot is free: written by the broker's thread, which allocates slots, so that a
 *                   reader on another thread can tell the slot still holds the partition it
 *                   looked up (a deleted topic's slot is reused by the next open)
 *
 * A latch (two copies behind one sequence) rather than a plain seqlock: readers never wait for
 * the owner. A publish stores an odd sequence (readers switch to copy 1, the previous snapshot),
 * rewrites copy 0, stores the next even sequence (readers switch to copy 0, the new snapshot),
 * then brings copy 1 up to date. The owner only ever writes the copy readers are not reading at
 * the current sequence, so a reader that sees the same sequence before and after copying the
 * fields copied a consistent snapshot; when the sequence moved in between, the owner completed a
 * step meanwhile, and the reader copies again. An owner preempted mid-publish (a loaded host
 * takes its core away for a whole time slice) therefore costs readers nothing: they read the
 * previous snapshot, which is the state before a publish that has not happened yet. With a plain
 * seqlock they had to spin until the owner ran again, and could not tell a preempted owner from a
 * dead one. An owner killed mid-publish leaves the previous snapshot readable until its pool
 * repairs the slot (repair) before another thread writes it.
 *
 * Why float64 rather than a BigInt64Array: offsets are JS numbers everywhere in Sluice, and a
 * BigInt64Array load allocates a bigint per field per read; float64 holds every safe integer
 * exactly. The owner is the only writer of a slot, so the latch needs no compare-and-swap.
 * Atomics are sequentially consistent and order the plain accesses around them.
 */
import { InvalidConfigError, SluiceError } from '../errors.js';

export const PARTITION_STATE_SLOT_BYTES = 128;
const WORDS_PER_SLOT = PARTITION_STATE_SLOT_BYTES / 4;
const DOUBLES_PER_SLOT = PARTITION_STATE_SLOT_BYTES / 8;
const SEQUENCE_WORD = 0;
const WAITERS_WORD = 1;
/** Float64 index of copy 0 in a slot (after the two int32 words); copy 1 follows it. */
const FIRST_COPY_FIELD = 1;
const FIELDS_PER_COPY = 5;
const LOG_START_FIELD = 0;
const HIGH_WATERMARK_FIELD = 1;
const LOG_END_FIELD = 2;
const LAST_STABLE_FIELD = 3;
const EPOCH_FIELD = 4;
/** After the two copies: 8 bytes of words + 2 × 5 float64 = 88 bytes = word 22. */
const LEADER_EPOCH_WORD = 22;
const GENERATION_WORD = 23;
/** Kafka's NO_PARTITION_LEADER_EPOCH: the slot's partition is not open yet. */
const NO_LEADER_EPOCH = -1;
export const MAX_PARTITION_STATE_SLOTS = 1 << 20;

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
    this.publishLeaderEpoch(slot, NO_LEADER_EPOCH);
    this.publishGeneration(slot, 0);
    return slot;
  }

  /** Returns a slot once its partition is closed; readers still waiting on it are woken. */
  release(slot: number): void {
    this.checkSlot(slot);
    this.publish(slot, 0, 0, 0, 0);
    this.publishLeaderEpoch(slot, NO_LEADER_EPOCH);
    this.publishGeneration(slot, 0);
    this.freeSlots.push(slot);
  }

  /**
   * Publishes a partition's offsets (the owner only). The high watermark and the last stable
   * offset equal the log end offset on a single broker without transactions; the parameters keep
   * them apart for the stages that lower them.
   */
  publish(slot: number, logStartOffset: number, highWatermark: number, logEndOffset: number, lastStableOffset: number, bumpEpoch = false): void {
    const word = slot * WORDS_PER_SLOT;
    const copy0 = slot * DOUBLES_PER_SLOT + FIRST_COPY_FIELD;
    const sequence = Atomics.load(this.words, word + SEQUENCE_WORD);
    invariant((sequence & 1) === 0, 'a slot has one writer, so it is stable when that writer starts');
    invariant(logStartOffset <= highWatermark && highWatermark <= logEndOffset && lastStableOffset <= highWatermark, 'logStart <= LSO <= HW <= LEO');
    const storageEpoch = this.doubles[copy0 + EPOCH_FIELD] + (bumpEpoch ? 1 : 0);
    // Odd: readers take copy 1 (the previous snapshot) while copy 0 is rewritten.
    Atomics.store(this.words, word + SEQUENCE_WORD, (sequence + 1) | 0);
    this.writeCopy(copy0, logStartOffset, highWatermark, logEndOffset, lastStableOffset, storageEpoch);
    // Even: readers take copy 0, the new snapshot; copy 1 is theirs again at the next odd sequence.
    Atomics.store(this.words, word + SEQUENCE_WORD, (sequence + 2) | 0);
    if (Atomics.load(this.words, word + WAITERS_WORD) !== 0) Atomics.notify(this.words, word + SEQUENCE_WORD);
    this.writeCopy(copy0 + FIELDS_PER_COPY, logStartOffset, highWatermark, logEndOffset, lastStableOffset, storageEpoch);
  }

  /** Publishes the partition's current leader epoch (the owner only, when leadership changes). */
  publishLeaderEpoch(slot: number, leaderEpoch: number): void {
    Atomics.store(this.words, slot * WORDS_PER_SLOT + LEADER_EPOCH_WORD, leaderEpoch);
  }

  /** Records the generation of the slot's open (see the header); 0 frees it. */
  publishGeneration(slot: number, generation: number): void {
    Atomics.store(this.words, slot * WORDS_PER_SLOT + GENERATION_WORD, generation);
  }

  /** The generation of the slot's open, 0 while the slot is free. */
  generation(slot: number): number {
    return Atomics.load(this.words, slot * WORDS_PER_SLOT + GENERATION_WORD);
  }

  /** The partition's current leader epoch, or -1 while its owner has not opened it. */
  leaderEpoch(slot: number): number {
    return Atomics.load(this.words, slot * WORDS_PER_SLOT + LEADER_EPOCH_WORD);
  }

  /**
   * A consistent snapshot of the slot into `out` (reused: no allocation). Never waits for the
   * owner, whatever it is doing (see the header).
   */
  read(slot: number, out: PartitionStateSnapshot): PartitionStateSnapshot {
    const word = slot * WORDS_PER_SLOT;
    const copy0 = slot * DOUBLES_PER_SLOT + FIRST_COPY_FIELD;
    for (;;) {
      const sequence = Atomics.load(this.words, word + SEQUENCE_WORD);
      const copy = copy0 + (sequence & 1) * FIELDS_PER_COPY;
      out.logStartOffset = this.doubles[copy + LOG_START_FIELD];
      out.highWatermark = this.doubles[copy + HIGH_WATERMARK_FIELD];
      out.logEndOffset = this.doubles[copy + LOG_END_FIELD];
      out.lastStableOffset = this.doubles[copy + LAST_STABLE_FIELD];
      out.storageEpoch = this.doubles[copy + EPOCH_FIELD];
      if (Atomics.load(this.words, word + SEQUENCE_WORD) === sequence) {
        out.sequence = sequence;
        return out;
      }
      // The owner stored a new sequence during the copy, so it is running: a retry is bounded by
      // its progress, never by a stalled thread.
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

  /** Readers parked in waitForChange on the slot now (diagnostics, and tests that need a poll parked). */
  waiters(slot: number): number {
    this.checkSlot(slot);
    return Atomics.load(this.words, slot * WORDS_PER_SLOT + WAITERS_WORD);
  }

  /**
   * Makes both copies hold the last published snapshot and the sequence even, after the owner
   * died anywhere in publish (readers kept reading that snapshot meanwhile). Only for the pool,
   * while no thread owns the slot, before another thread publishes to it.
   */
  repair(slot: number): void {
    this.checkSlot(slot);
    const word = slot * WORDS_PER_SLOT + SEQUENCE_WORD;
    const copy0 = slot * DOUBLES_PER_SLOT + FIRST_COPY_FIELD;
    const sequence = Atomics.load(this.words, word);
    if ((sequence & 1) !== 0) {
      // Died rewriting copy 0: copy 1 holds the snapshot readers see.
      this.doubles.copyWithin(copy0, copy0 + FIELDS_PER_COPY, copy0 + 2 * FIELDS_PER_COPY);
      Atomics.store(this.words, word, (sequence + 1) | 0);
      Atomics.notify(this.words, word);
    } else {
      // Maybe died bringing copy 1 up to date: copy 0 holds the snapshot readers see.
      this.doubles.copyWithin(copy0 + FIELDS_PER_COPY, copy0, copy0 + FIELDS_PER_COPY);
    }
  }

  private writeCopy(copy: number, logStartOffset: number, highWatermark: number, logEndOffset: number, lastStableOffset: number, storageEpoch: number): void {
    this.doubles[copy + LOG_START_FIELD] = logStartOffset;
    this.doubles[copy + HIGH_WATERMARK_FIELD] = highWatermark;
    this.doubles[copy + LOG_END_FIELD] = logEndOffset;
    this.doubles[copy + LAST_STABLE_FIELD] = lastStableOffset;
    this.doubles[copy + EPOCH_FIELD] = storageEpoch;
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
