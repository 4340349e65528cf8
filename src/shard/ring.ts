/**
 * A bounded single-producer single-consumer ring of variable-length messages in a
 * SharedArrayBuffer: the data plane between the caller's thread and a shard worker thread. One
 * ring per direction and per (writer thread, shard): append requests go one way, completions come
 * back in another ring. Nothing is structured-cloned per message; postMessage only hands over the
 * SharedArrayBuffer once (RingBuffer.from on the other side).
 *
 * Memory layout
 *
 *   [control block, RING_CONTROL_BYTES][data area, capacityBytes (a power of two)]
 *
 *   Control words (Int32), each group on its own 64-byte cache line so the writer's stores do not
 *   keep invalidating the line the reader polls, and the other way round:
 *     line 0  magic, capacity, closed flag, claim sequence, writer claim, reader claim
 *     line 1  head   bytes ever published by the writer, modulo 2^32
 *     line 2  tail   bytes ever released by the reader, modulo 2^32
 *     line 3  reader sleep flag: 1 while the reader is (about to be) parked waiting for data
 *     line 4  writer need: free bytes at which the parked writer wants waking, 0 while it is
 *             not parked
 *
 *   Data area: frames, each 8-byte aligned: [int32 payloadBytes][int32 tag][payload][pad to 8].
 *   A frame never wraps: when it does not fit before the end of the data area the writer fills
 *   the rest with a padding marker (payloadBytes = -1) and starts the frame at offset 0.
 *
 * Head and tail are free-running 32-bit counters: used bytes = (head - tail) mod 2^32, and a
 * counter's position in the data area is counter & (capacity - 1), which is why the capacity is a
 * power of two (it divides 2^32). Only the writer stores head, only the reader stores tail.
 *
 * Ordering: JavaScript's Atomics are sequentially consistent, and plain writes to the shared
 * memory made before an Atomics.store are visible to a thread whose Atomics.load sees that store.
 * So the writer fills the frame with plain writes, then publishes it by storing head.
 *
 * Sleeping without lost wake-ups, and without a notify per message: a parked party first raises
 * its flag word, then re-checks the ring, then waits on the flag word with the expected value.
 * The other party first publishes (head or tail), then reads the flag, and only when it is raised
 * clears it and notifies. Sequential consistency guarantees that either the parked party's
 * re-check sees the publication, or the publisher sees the flag; clearing the flag before
 * notifying makes a wait that has not started yet return at once ('not-equal'). The common case,
 * a busy reader and a writer with room, costs one extra atomic load per message and no notify.
 *
 * Blocking: the worker side may block (waitForData, waitForSpace, writeBlocking use Atomics.wait).
 * The main thread must never block: it uses tryWrite/reserve plus waitForSpaceAsync /
 * waitForDataAsync / writeAsync, built on Atomics.waitAsync.
 */
import { ClosedError, InvalidConfigError, RingMessageTooLargeError, SluiceError } from '../errors.js';

const WORDS_PER_CACHE_LINE = 16;
const MAGIC_WORD = 0;
const CAPACITY_WORD = 1;
const CLOSED_WORD = 2;
const CLAIM_SEQUENCE_WORD = 3;
const WRITER_CLAIM_WORD = 4;
const READER_CLAIM_WORD = 5;
const HEAD_WORD = 1 * WORDS_PER_CACHE_LINE;
const TAIL_WORD = 2 * WORDS_PER_CACHE_LINE;
const READER_SLEEP_WORD = 3 * WORDS_PER_CACHE_LINE;
const WRITER_NEED_WORD = 4 * WORDS_PER_CACHE_LINE;

/** Bytes before the data area in the SharedArrayBuffer. */
export const RING_CONTROL_BYTES = 5 * WORDS_PER_CACHE_LINE * 4;
/** Bytes of the header in front of every payload: int32 payload length, int32 tag. */
export const FRAME_HEADER_BYTES = 8;
/** Frames start at multiples of this, so payloads are 8-byte aligned for typed-array access. */
export const FRAME_ALIGN_BYTES = 8;
export const MIN_RING_CAPACITY_BYTES = 256;
export const MAX_RING_CAPACITY_BYTES = 1 << 30;

/** A parked writer is woken once this fraction of the ring is free (or its frame fits, if larger). */
const WRITER_WAKE_FRACTION = 1 / 4;
/** 'SLRG': tells RingBuffer.from that a SharedArrayBuffer holds a ring of this layout. */
const RING_MAGIC = 0x534c5247;
/** payloadBytes value of a padding frame: the rest of the data area up to its end is skipped. */
const PAD_MARKER = -1;

/**
 * Outcome of a wait. 'ok': progress is possible now (data to read, or room to write; for a writer
 * whose frame must wrap, the next reserve may first publish padding and ask to wait once more).
 * 'closed': the ring was closed (a reader gets it only once everything written has been read).
 * 'timed-out': the timeout passed first.
 */
export type RingWaitResult = 'ok' | 'closed' | 'timed-out';

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };
type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => WaitAsyncResult;
/** Atomics.waitAsync (Node >= 16); the ES2023 typings do not declare it yet. */
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class RingBuffer {
  /** The shared memory; pass it to the other thread (postMessage or workerData) and wrap it with from(). */
  readonly sharedBuffer: SharedArrayBuffer;
  readonly capacityBytes: number;
  /** Largest payload one message can carry: the capacity less one frame header. */
  readonly maxPayloadBytes: number;
  /** The data area as bytes: payloads live at [messageOffset, messageOffset + messageLength). */
  readonly bytes: Uint8Array;
  /** The data area as a DataView, to encode or decode fields of a payload in place. */
  readonly view: DataView;

  private readonly control: Int32Array;
  /** The data area as int32 words, for frame headers (always 8-byte aligned). */
  private readonly words: Int32Array;
  private readonly mask: number;

  // Writer state, valid once this instance holds the writer claim.
  private writerClaimed = false;
  /** Bytes written so far (head, including a reservation's padding not yet published), mod 2^32. */
  private writeCursor = 0;
  /** Last tail seen; the real tail is ahead or equal, so room computed from it is a lower bound. */
  private cachedTail = 0;
  /** Data-area offset of the reserved frame's header, -1 when nothing is reserved. */
  private reservedFrameOffset = -1;
  private reservedPayloadBytes = 0;
  /** Room the parked writer's frame needs (it asks the reader for more, see parkWriter). */
  private parkedRoomNeeded = 0;
  private spaceWaitPending = false;
  /** Writes queued by writeAsync behind a full ring; later writes wait their turn to keep order. */
  private queuedAsyncWrites = 0;
  private asyncWriteChain: Promise<void> = Promise.resolve();

  // Reader state, valid once this instance holds the reader claim.
  private readerClaimed = false;
  /** Bytes read so far (tryRead moves it), mod 2^32. */
  private readCursor = 0;
  /** Bytes released so far (the tail this instance last stored). */
  private releasedCursor = 0;
  /** Last head seen; the real head is ahead or equal. */
  private cachedHead = 0;
  private dataWaitPending = false;

  private currentTag = 0;
  private currentOffset = 0;
  private currentLength = 0;
  /** Control words of a ring whose parked reader this writer also wakes (see wakesReaderOf). */
  private doorbell: Int32Array | null = null;

  private constructor(sharedBuffer: SharedArrayBuffer, capacityBytes: number) {
    this.sharedBuffer = sharedBuffer;
    this.capacityBytes = capacityBytes;
    this.maxPayloadBytes = capacityBytes - FRAME_HEADER_BYTES;
    this.mask = capacityBytes - 1;
    this.control = new Int32Array(sharedBuffer, 0, RING_CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(sharedBuffer, RING_CONTROL_BYTES, capacityBytes);
    this.view = new DataView(sharedBuffer, RING_CONTROL_BYTES, capacityBytes);
    this.words = new Int32Array(sharedBuffer, RING_CONTROL_BYTES, capacityBytes / 4);
  }

  /** A new, empty ring whose data area holds `capacityBytes` (a power of two). */
  static create(capacityBytes: number): RingBuffer {
    if (
      !Number.isInteger(capacityBytes) ||
      capacityBytes < MIN_RING_CAPACITY_BYTES ||
      capacityBytes > MAX_RING_CAPACITY_BYTES ||
      (capacityBytes & (capacityBytes - 1)) !== 0
    ) {
      throw new InvalidConfigError(
        `ring capacityBytes must be a power of two from ${MIN_RING_CAPACITY_BYTES} to ${MAX_RING_CAPACITY_BYTES}, ` +
          `got ${capacityBytes}`,
      );
    }
    const sharedBuffer = new SharedArrayBuffer(RING_CONTROL_BYTES + capacityBytes);
    const control = new Int32Array(sharedBuffer, 0, RING_CONTROL_BYTES / 4);
    control[CAPACITY_WORD] = capacityBytes;
    // Published last: from() on another thread trusts the layout once it sees the magic.
    Atomics.store(control, MAGIC_WORD, RING_MAGIC);
    return new RingBuffer(sharedBuffer, capacityBytes);
  }

  /** Wraps a ring created by create() (typically on another thread). */
  static from(sharedBuffer: SharedArrayBuffer): RingBuffer {
    if (!(sharedBuffer instanceof SharedArrayBuffer)) {
      throw new InvalidConfigError('RingBuffer.from needs the SharedArrayBuffer of a ring made by RingBuffer.create');
    }
    if (sharedBuffer.byteLength < RING_CONTROL_BYTES + MIN_RING_CAPACITY_BYTES) {
      throw new InvalidConfigError(`SharedArrayBuffer of ${sharedBuffer.byteLength} bytes is too small to be a ring`);
    }
    const control = new Int32Array(sharedBuffer, 0, RING_CONTROL_BYTES / 4);
    if (Atomics.load(control, MAGIC_WORD) !== RING_MAGIC) {
      throw new InvalidConfigError('SharedArrayBuffer does not hold a ring: create it with RingBuffer.create');
    }
    const capacityBytes = control[CAPACITY_WORD];
    if (
      (capacityBytes & (capacityBytes - 1)) !== 0 ||
      capacityBytes < MIN_RING_CAPACITY_BYTES ||
      sharedBuffer.byteLength !== RING_CONTROL_BYTES + capacityBytes
    ) {
      throw new InvalidConfigError(
        `ring header says ${capacityBytes} bytes of data but the SharedArrayBuffer has ${sharedBuffer.byteLength} bytes`,
      );
    }
    return new RingBuffer(sharedBuffer, capacityBytes);
  }

  /** Bytes a message with this payload occupies in the ring. */
  static frameBytes(payloadBytes: number): number {
    return (FRAME_HEADER_BYTES + payloadBytes + FRAME_ALIGN_BYTES - 1) & ~(FRAME_ALIGN_BYTES - 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Writer side

  /**
   * Reserves room for a message of `payloadBytes` and returns the offset in `bytes`/`view` where
   * the caller encodes the payload, or -1 when the ring has no room now (then wait with
   * waitForSpaceAsync / waitForSpace and try again). Publish it with commit(). A reservation that
   * is not committed is abandoned by the next reserve. Throws RingMessageTooLargeError for a
   * payload that can never fit, ClosedError once the ring is closed.
   */
  reserve(payloadBytes: number): number {
    if (!this.writerClaimed) this.claimWriter();
    const frameBytes = this.checkedFrameBytes(payloadBytes);
    // A plain read is enough here and keeps an atomic operation off the per-message path: a close
    // on this thread is seen at once, and one racing on the other thread makes no write wrong
    // (the waits, which must not miss it, read the flag atomically).
    if (this.control[CLOSED_WORD] !== 0) throw new ClosedError('ring buffer');
    this.reservedFrameOffset = -1;
    let position = this.writeCursor & this.mask;
    const bytesToEnd = this.capacityBytes - position;
    if (frameBytes > bytesToEnd) {
      if (bytesToEnd + frameBytes <= this.capacityBytes) {
        // Padding and frame are published together by commit().
        if (!this.hasRoom(bytesToEnd + frameBytes)) return -1;
        this.writePadding(position, bytesToEnd);
      } else {
        // Padding plus frame exceed the ring: the frame only fits at offset 0 of an empty ring.
        // Publish the padding alone so the reader consumes it and frees the whole ring.
        if (!this.hasRoom(bytesToEnd)) return -1;
        this.writePadding(position, bytesToEnd);
        this.publish();
        if (!this.hasRoom(frameBytes)) return -1;
      }
      position = 0;
    } else if (!this.hasRoom(frameBytes)) {
      return -1;
    }
    this.reservedFrameOffset = position;
    this.reservedPayloadBytes = payloadBytes;
    return position + FRAME_HEADER_BYTES;
  }

  /**
   * Publishes the reserved message with its tag (an int32 the reader gets as messageTag). The
   * payload may be shorter than reserved: `payloadBytes` says how much was written.
   */
  commit(tag: number, payloadBytes: number = this.reservedPayloadBytes): void {
    const frameOffset = this.reservedFrameOffset;
    if (frameOffset < 0) throw misuse('commit() needs a successful reserve() first');
    if (!(Number.isInteger(payloadBytes) && payloadBytes >= 0 && payloadBytes <= this.reservedPayloadBytes)) {
      throw new RangeError(`committed payloadBytes ${payloadBytes} must be from 0 to the ${this.reservedPayloadBytes} reserved`);
    }
    if ((tag | 0) !== tag) throw new RangeError(`message tag ${tag} is not an int32`);
    const word = frameOffset >> 2;
    this.words[word] = payloadBytes;
    this.words[word + 1] = tag;
    this.writeCursor = (this.writeCursor + RingBuffer.frameBytes(payloadBytes)) | 0;
    this.reservedFrameOffset = -1;
    this.publish();
  }

  /** Copies `payload` into the ring as one message; false when the ring has no room now. */
  tryWrite(tag: number, payload: Uint8Array): boolean {
    if (!(payload instanceof Uint8Array)) throw new TypeError('ring payload must be a Uint8Array (or Buffer)');
    const offset = this.reserve(payload.length);
    if (offset < 0) return false;
    this.bytes.set(payload, offset);
    this.commit(tag, payload.length);
    return true;
  }

  /**
   * Writes one message from a thread that must not block (the main thread): resolves once the
   * message is in the ring, waiting asynchronously while the ring is full. Messages keep the order
   * of the writeAsync calls. Rejects with ClosedError if the ring is closed first.
   */
  writeAsync(tag: number, payload: Uint8Array): Promise<void> {
    try {
      if (this.queuedAsyncWrites === 0 && this.tryWrite(tag, payload)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    this.queuedAsyncWrites++;
    const write = this.asyncWriteChain.then(() => this.writeWhenRoom(tag, payload));
    // The chain continues whether this write succeeds or not; the caller gets its own outcome.
    this.asyncWriteChain = write.then(
      () => { this.queuedAsyncWrites--; },
      () => { this.queuedAsyncWrites--; },
    );
    return write;
  }

  /**
   * Writes one message from a thread that may block (a worker): waits with Atomics.wait while the
   * ring is full. Returns false if `timeoutMs` passes first; throws ClosedError if the ring closes.
   */
  writeBlocking(tag: number, payload: Uint8Array, timeoutMs = Infinity): boolean {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.tryWrite(tag, payload)) return true;
      const remainingMs = deadline === Infinity ? Infinity : Math.max(0, deadline - Date.now());
      const result = this.waitForSpace(payload.length, remainingMs);
      if (result === 'closed') throw new ClosedError('ring buffer');
      if (result === 'timed-out') return false;
    }
  }

  /**
   * Blocks the calling thread (use only off the main thread) until a message of `payloadBytes`
   * can make progress, the ring closes, or `timeoutMs` passes.
   */
  waitForSpace(payloadBytes: number, timeoutMs: number): RingWaitResult {
    const wakeAt = this.parkWriter(payloadBytes, timeoutMs);
    if (typeof wakeAt === 'string') return wakeAt;
    Atomics.wait(this.control, WRITER_NEED_WORD, wakeAt, timeoutMs);
    return this.unparkWriter();
  }

  /**
   * Resolves when a message of `payloadBytes` can make progress, the ring closes, or `timeoutMs`
   * passes, without blocking the thread. One pending wait per ring.
   */
  async waitForSpaceAsync(payloadBytes: number, timeoutMs = Infinity): Promise<RingWaitResult> {
    if (this.spaceWaitPending) {
      throw misuse('waitForSpaceAsync() is already pending on this ring; a ring has one writer: use writeAsync() to queue writes');
    }
    const wakeAt = this.parkWriter(payloadBytes, timeoutMs);
    if (typeof wakeAt === 'string') return wakeAt;
    this.spaceWaitPending = true;
    try {
      const waiting = waitAsyncOrThrow(this.control, WRITER_NEED_WORD, wakeAt, timeoutMs);
      if (waiting.async) await waiting.value;
    } finally {
      this.spaceWaitPending = false;
    }
    return this.unparkWriter();
  }

  /**
   * Writer side, without waiting: true when at least `freeBytes` of the ring are free (then any
   * message whose frame is at most half of that fits, padding included); otherwise leaves a notice
   * (the writer need word, as a parked writer would) and returns false. The reader's release
   * that frees that much clears it and rings the bell of the ring its instance was told to wake
   * (wakesReaderOf): how a thread parked on another ring learns that this one has room again. A
   * closed ring answers true: there is nothing to wait for.
   */
  noticeWhenFree(freeBytes: number): boolean {
    if (!this.hasFree(freeBytes)) {
      Atomics.store(this.control, WRITER_NEED_WORD, freeBytes);
      // Re-check after raising the flag: a release before it would not have seen it.
      if (!this.hasFree(freeBytes)) return false;
      Atomics.store(this.control, WRITER_NEED_WORD, 0);
    }
    return true;
  }

  /** Writer side: whether at least `freeBytes` of the ring are free now (closed rings answer true). */
  hasFree(freeBytes: number): boolean {
    if (!this.writerClaimed) this.claimWriter();
    if (!(Number.isInteger(freeBytes) && freeBytes > 0 && freeBytes <= this.capacityBytes)) {
      throw new RangeError(`freeBytes must be an integer from 1 to the capacity ${this.capacityBytes}, got ${freeBytes}`);
    }
    return this.closed || this.hasRoom(freeBytes);
  }

  /** Bytes a parked writer waits for, 0 when no writer is parked (diagnostics and tests). */
  writerWaitingBytes(): number {
    return Atomics.load(this.control, WRITER_NEED_WORD);
  }

  // ---------------------------------------------------------------------------------------------
  // Reader side

  /**
   * Takes the next message, if any: sets messageTag, messageOffset and messageLength and returns
   * true. The payload stays valid in `bytes` (zero copy) until release(); several messages may be
   * read before one release(), which frees them all.
   */
  tryRead(): boolean {
    if (!this.readerClaimed) this.claimReader();
    for (;;) {
      if (this.readCursor === this.cachedHead) {
        this.cachedHead = Atomics.load(this.control, HEAD_WORD);
        if (this.readCursor === this.cachedHead) return false;
        this.checkReadable();
      }
      const position = this.readCursor & this.mask;
      const word = position >> 2;
      const payloadBytes = this.words[word];
      if (payloadBytes === PAD_MARKER) {
        const nothingHeld = this.releasedCursor === this.readCursor;
        this.readCursor = (this.readCursor + this.capacityBytes - position) | 0;
        this.checkReadable();
        // Padding is nobody's payload: give it back now unless messages before it are still held.
        if (nothingHeld) this.release();
        continue;
      }
      const frameBytes = RingBuffer.frameBytes(payloadBytes);
      invariant(
        payloadBytes >= 0 &&
          payloadBytes <= this.maxPayloadBytes &&
          position + frameBytes <= this.capacityBytes &&
          frameBytes <= ((this.cachedHead - this.readCursor) >>> 0),
        'a frame lies inside the published part of the data area',
      );
      this.currentTag = this.words[word + 1];
      this.currentOffset = position + FRAME_HEADER_BYTES;
      this.currentLength = payloadBytes;
      this.readCursor = (this.readCursor + frameBytes) | 0;
      return true;
    }
  }

  /** Tag of the message returned by the last successful tryRead. */
  get messageTag(): number {
    return this.currentTag;
  }

  /** Offset of that message's payload in `bytes` / `view`. */
  get messageOffset(): number {
    return this.currentOffset;
  }

  /** Length in bytes of that message's payload. */
  get messageLength(): number {
    return this.currentLength;
  }

  /** A view of the last message's payload (allocates a view; hot paths use bytes + messageOffset). */
  messagePayload(): Uint8Array {
    return this.bytes.subarray(this.currentOffset, this.currentOffset + this.currentLength);
  }

  /** Frees every message read so far, and wakes a parked writer once it has the room it needs. */
  release(): void {
    if (this.readCursor === this.releasedCursor) return;
    this.releasedCursor = this.readCursor;
    Atomics.store(this.control, TAIL_WORD, this.readCursor);
    const need = Atomics.load(this.control, WRITER_NEED_WORD);
    if (need !== 0) {
      const used = (Atomics.load(this.control, HEAD_WORD) - this.readCursor) >>> 0;
      invariant(used <= this.capacityBytes, 'release leaves at most capacityBytes in use');
      if (
        this.capacityBytes - used >= need &&
        Atomics.compareExchange(this.control, WRITER_NEED_WORD, need, 0) === need
      ) {
        Atomics.notify(this.control, WRITER_NEED_WORD);
        // A writer that left a notice (noticeWhenFree) sleeps on the bell's ring, not here.
        if (this.doorbell !== null) wakeParkedReader(this.doorbell);
      }
    }
  }

  /**
   * Blocks the calling thread (use only off the main thread) until there is something to read,
   * the ring is closed and drained, or `timeoutMs` passes (a finite timeout lets a worker run its
   * timers). Release what you hold first: a writer may be waiting for that room.
   * `alsoReady`: whether work elsewhere is ready (more rings this thread reads, whose writers ring
   * this one's bell: wakesReaderOf), checked after the sleep flag is raised, so that a bell rung
   * after that check wakes the wait; the wait ends at once while it holds.
   */
  waitForData(timeoutMs: number, alsoReady: () => boolean = NOTHING_ELSE): RingWaitResult {
    const parked = this.parkReader(timeoutMs, alsoReady);
    if (parked !== null) return parked;
    Atomics.wait(this.control, READER_SLEEP_WORD, 1, timeoutMs);
    return this.unparkReader(alsoReady);
  }

  /** Like waitForData without blocking the thread (for the main thread). One pending wait per ring. */
  async waitForDataAsync(timeoutMs = Infinity): Promise<RingWaitResult> {
    if (this.dataWaitPending) throw misuse('waitForDataAsync() is already pending on this ring; a ring has one reader');
    const parked = this.parkReader(timeoutMs);
    if (parked !== null) return parked;
    this.dataWaitPending = true;
    try {
      const waiting = waitAsyncOrThrow(this.control, READER_SLEEP_WORD, 1, timeoutMs);
      if (waiting.async) await waiting.value;
    } finally {
      this.dataWaitPending = false;
    }
    return this.unparkReader();
  }

  /**
   * Makes every publish on this ring also wake the reader parked on `other`: a reader that drains
   * several rings parks on one of them (waitForData's `alsoReady`), and the writers of the
   * others ring that one's bell; so does this ring's reader when it clears a notice left by
   * noticeWhenFree. Costs one more atomic load per publish.
   */
  wakesReaderOf(other: RingBuffer): void {
    this.doorbell = other.control;
  }

  /** Wakes this ring's parked reader, if any, from any thread: after closing a ring it also watches. */
  wakeReader(): void {
    wakeParkedReader(this.control);
  }

  /** Whether a message is waiting to be read (claims the reader side, as tryRead). */
  hasUnread(): boolean {
    if (!this.readerClaimed) this.claimReader();
    return this.readCursor !== this.cachedHead || this.hasData();
  }

  /** True while the reader is parked waiting for data (diagnostics and tests). */
  isReaderWaiting(): boolean {
    return Atomics.load(this.control, READER_SLEEP_WORD) !== 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Both sides

  /**
   * Closes the ring for both sides and wakes whoever is parked. Writes fail from now on; the
   * reader still gets every message already published, then 'closed'. Idempotent.
   */
  close(): void {
    Atomics.store(this.control, CLOSED_WORD, 1);
    if (Atomics.exchange(this.control, READER_SLEEP_WORD, 0) !== 0) Atomics.notify(this.control, READER_SLEEP_WORD);
    if (Atomics.exchange(this.control, WRITER_NEED_WORD, 0) !== 0) Atomics.notify(this.control, WRITER_NEED_WORD);
  }

  get closed(): boolean {
    return Atomics.load(this.control, CLOSED_WORD) !== 0;
  }

  /** Bytes published and not yet released, padding and frame headers included. */
  usedBytes(): number {
    return (Atomics.load(this.control, HEAD_WORD) - Atomics.load(this.control, TAIL_WORD)) >>> 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /**
   * The single-producer contract, checked: the first writing instance claims the ring; another
   * instance (in any thread) that tries to write is refused instead of corrupting head.
   */
  private claimWriter(): void {
    this.claim(WRITER_CLAIM_WORD, 'writer');
    this.writeCursor = Atomics.load(this.control, HEAD_WORD);
    this.cachedTail = Atomics.load(this.control, TAIL_WORD);
    this.writerClaimed = true;
  }

  private claimReader(): void {
    this.claim(READER_CLAIM_WORD, 'reader');
    this.readCursor = Atomics.load(this.control, TAIL_WORD);
    this.releasedCursor = this.readCursor;
    this.cachedHead = Atomics.load(this.control, HEAD_WORD);
    this.readerClaimed = true;
  }

  private claim(word: number, role: string): void {
    const token = Atomics.add(this.control, CLAIM_SEQUENCE_WORD, 1) + 1;
    if (Atomics.compareExchange(this.control, word, 0, token) !== 0) {
      throw misuse(
        `this ring already has a ${role} (another RingBuffer instance, maybe in another thread); rings are ` +
          `single-producer single-consumer: create one ring per ${role}`,
      );
    }
  }

  private checkedFrameBytes(payloadBytes: number): number {
    if (!Number.isInteger(payloadBytes) || payloadBytes < 0) {
      throw new RangeError(`payloadBytes must be a non-negative integer, got ${payloadBytes}`);
    }
    if (payloadBytes > this.maxPayloadBytes) {
      throw new RingMessageTooLargeError(payloadBytes, this.maxPayloadBytes, this.capacityBytes);
    }
    return RingBuffer.frameBytes(payloadBytes);
  }

  /** Whether `bytes` more fit, looking at the shared tail only when the cached one says no. */
  private hasRoom(bytes: number): boolean {
    if (this.capacityBytes - ((this.writeCursor - this.cachedTail) >>> 0) >= bytes) return true;
    this.cachedTail = Atomics.load(this.control, TAIL_WORD);
    const used = (this.writeCursor - this.cachedTail) >>> 0;
    invariant(used <= this.capacityBytes && (used & (FRAME_ALIGN_BYTES - 1)) === 0, 'writer sees 0 <= used <= capacity, aligned');
    return this.capacityBytes - used >= bytes;
  }

  private writePadding(position: number, bytesToEnd: number): void {
    invariant(bytesToEnd >= FRAME_HEADER_BYTES && (position & (FRAME_ALIGN_BYTES - 1)) === 0, 'padding is an aligned frame');
    const word = position >> 2;
    this.words[word] = PAD_MARKER;
    this.words[word + 1] = 0;
    this.writeCursor = (this.writeCursor + bytesToEnd) | 0;
  }

  private publish(): void {
    const used = (this.writeCursor - this.cachedTail) >>> 0;
    invariant(
      used <= this.capacityBytes && (this.writeCursor & (FRAME_ALIGN_BYTES - 1)) === 0,
      'writer publishes 0 <= used <= capacity at an aligned head',
    );
    Atomics.store(this.control, HEAD_WORD, this.writeCursor);
    wakeParkedReader(this.control);
    if (this.doorbell !== null) wakeParkedReader(this.doorbell);
  }

  /** Checks the reader's view: 0 <= readable <= capacity and an aligned read position. */
  private checkReadable(): void {
    const readable = (this.cachedHead - this.readCursor) >>> 0;
    invariant(
      readable <= this.capacityBytes &&
        (readable & (FRAME_ALIGN_BYTES - 1)) === 0 &&
        (this.readCursor & (FRAME_ALIGN_BYTES - 1)) === 0,
      'reader sees 0 <= readable <= capacity, aligned',
    );
  }

  /**
   * Room the next frame needs: the frame alone; or the padding to the end plus the frame when
   * both fit in the ring; or, when they do not, the padding alone (reserve publishes it first).
   */
  private roomNeeded(frameBytes: number): number {
    const bytesToEnd = this.capacityBytes - (this.writeCursor & this.mask);
    if (frameBytes <= bytesToEnd) return frameBytes;
    if (bytesToEnd + frameBytes <= this.capacityBytes) return bytesToEnd + frameBytes;
    return bytesToEnd;
  }

  /**
   * Raises the writer's need flag and returns the room to wait for, or returns the outcome at once
   * if there is no need to park. A parked writer asks for at least WRITER_WAKE_FRACTION of the
   * ring, not just its own frame: woken for one freed frame at a time, a writer facing a busy
   * reader would park and wake once per message; with the margin it writes a run of messages per
   * wake, while the reader still has the rest of the ring to work on.
   */
  private parkWriter(payloadBytes: number, timeoutMs: number): number | RingWaitResult {
    if (!this.writerClaimed) this.claimWriter();
    checkTimeout(timeoutMs);
    const need = this.roomNeeded(this.checkedFrameBytes(payloadBytes));
    if (this.closed) return 'closed';
    if (this.hasRoom(need)) return 'ok';
    const wakeAt = Math.max(need, this.capacityBytes * WRITER_WAKE_FRACTION);
    Atomics.store(this.control, WRITER_NEED_WORD, wakeAt);
    // Re-check after raising the flag: a release (or close) before it would not have woken us.
    if (this.hasRoom(need) || this.closed) {
      Atomics.store(this.control, WRITER_NEED_WORD, 0);
      return this.closed ? 'closed' : 'ok';
    }
    this.parkedRoomNeeded = need;
    return wakeAt;
  }

  private unparkWriter(): RingWaitResult {
    Atomics.store(this.control, WRITER_NEED_WORD, 0);
    if (this.closed) return 'closed';
    // Woken, there is room for at least wakeAt; timed out, there may still be enough for the frame.
    return this.hasRoom(this.parkedRoomNeeded) ? 'ok' : 'timed-out';
  }

  private parkReader(timeoutMs: number, alsoReady: () => boolean = NOTHING_ELSE): RingWaitResult | null {
    if (!this.readerClaimed) this.claimReader();
    checkTimeout(timeoutMs);
    if (this.hasData() || alsoReady()) return 'ok';
    if (this.closed) return 'closed';
    Atomics.store(this.control, READER_SLEEP_WORD, 1);
    // Re-check after raising the flag: a publish (or close) before it would not have woken us.
    if (this.hasData() || alsoReady() || this.closed) {
      Atomics.store(this.control, READER_SLEEP_WORD, 0);
      return this.hasData() || alsoReady() ? 'ok' : 'closed';
    }
    return null;
  }

  private unparkReader(alsoReady: () => boolean = NOTHING_ELSE): RingWaitResult {
    Atomics.store(this.control, READER_SLEEP_WORD, 0);
    if (this.hasData() || alsoReady()) return 'ok';
    return this.closed ? 'closed' : 'timed-out';
  }

  private hasData(): boolean {
    this.cachedHead = Atomics.load(this.control, HEAD_WORD);
    this.checkReadable();
    return this.cachedHead !== this.readCursor;
  }

  private async writeWhenRoom(tag: number, payload: Uint8Array): Promise<void> {
    for (;;) {
      if (this.tryWrite(tag, payload)) return;
      if ((await this.waitForSpaceAsync(payload.length)) === 'closed') throw new ClosedError('ring buffer');
    }
  }
}

const NOTHING_ELSE = (): boolean => false;

/** Clears a parked reader's sleep flag and wakes it; one atomic load when nobody is parked. */
function wakeParkedReader(control: Int32Array): void {
  if (Atomics.load(control, READER_SLEEP_WORD) !== 0 && Atomics.compareExchange(control, READER_SLEEP_WORD, 1, 0) === 1) {
    Atomics.notify(control, READER_SLEEP_WORD);
  }
}

function checkTimeout(timeoutMs: number): void {
  if (!(timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0 (Infinity to wait without limit), got ${timeoutMs}`);
}

function waitAsyncOrThrow(array: Int32Array, index: number, value: number, timeoutMs: number): WaitAsyncResult {
  if (waitAsync === undefined) throw new Error('Atomics.waitAsync is missing: Sluice needs Node.js 20 or later');
  return waitAsync(array, index, value, timeoutMs);
}

function misuse(message: string): SluiceError {
  return new SluiceError('RING_MISUSE', message);
}

/** Invariant check: a failure is a bug (or foreign writes to the shared memory), never an input error. */
function invariant(holds: boolean, what: string): void {
  if (!holds) throw new Error(`ring buffer invariant violated: ${what}`);
}
