/**
 * One writer thread's connection to one shard: the request ring it writes, the completion ring it
 * reads, the calls waiting for an answer, and the requests queued while the request ring is full.
 * The broker's thread holds one per shard (ShardPool); each thread attached to the broker holds
 * its own (the attached producer), so every ring keeps a single writer and a single reader.
 *
 * Append payloads are copied once, straight from the caller's buffer into the ring's shared
 * memory; when the ring is full, requests queue here in order behind a waitForSpaceAsync, which is
 * what bounds them: the caller's own limits (the producer's bufferMemory) bound the queue.
 * Completions are read with Atomics.waitAsync, so the thread's event loop never blocks.
 */
import { ClosedError, RecordTooLargeError, ShardFailedError } from '../errors.js';
import type { RingBuffer } from './ring.js';
import {
  APPENDED_TAG,
  APPEND_HEADER_BYTES,
  APPEND_TAG,
  CONTROLLED_TAG,
  CONTROL_HEADER_BYTES,
  CONTROL_TAG,
  FAILED_TAG,
  LOG_TAG,
  jsonMessageBytes,
  readAppended,
  readJsonBody,
  readRequestId,
  reviveError,
  tryWriteAppend,
  type AppendOutcome,
  type ControlCommand,
  type SerializedError,
} from './shard-messages.js';

interface Pending {
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
}

interface QueuedMessage {
  readonly tag: number;
  readonly requestId: number;
  readonly slot: number;
  readonly acks: number;
  /** APPEND_FLAG_* bits and the expected open generation (see shard-messages.ts). */
  readonly flags: number;
  readonly body: Uint8Array;
}

/** Where a shard's LOG messages go (level 0 info, 1 warn); only the broker's link receives them. */
export type ShardLogSink = (level: number, message: string) => void;

export class ShardLink {
  readonly shardId: number;
  readonly requests: RingBuffer;
  readonly completions: RingBuffer;
  /** Set once the link failed (its thread died, a ring closed): later calls are refused with it. */
  failure: Error | null = null;
  /** Times the backlog waited for room in the request ring, and how long in all (ms). */
  ringFullWaits = 0;
  ringFullWaitMs = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly backlog: QueuedMessage[] = [];
  private draining = false;
  private nextRequestId = 0;
  private readonly appended: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
  private readonly onLog: ShardLogSink | null;
  /** Settles when the completion ring has closed and everything in it was delivered. */
  readonly pumped: Promise<void>;

  constructor(shardId: number, requests: RingBuffer, completions: RingBuffer, onLog: ShardLogSink | null) {
    this.shardId = shardId;
    this.requests = requests;
    this.completions = completions;
    this.onLog = onLog;
    this.pumped = this.pumpCompletions();
  }

  /** Calls waiting for the shard's answer (diagnostics and tests). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Requests queued here while the request ring is full. */
  get backlogLength(): number {
    return this.backlog.length;
  }

  /** Appends whole batches to the partition in `slot`; `flags` as APPEND's flags word. */
  append(slot: number, batches: Uint8Array, acks: number, flags: number): Promise<AppendOutcome> {
    const payloadBytes = APPEND_HEADER_BYTES + batches.length;
    if (payloadBytes > this.requests.maxPayloadBytes) {
      return Promise.reject(
        new RecordTooLargeError(batches.length, this.requests.maxPayloadBytes - APPEND_HEADER_BYTES, 'shardRingBytes (one produce request)'),
      );
    }
    return this.call<AppendOutcome>(APPEND_TAG, slot, acks, flags, batches);
  }

  /** Sends a control command; resolves with the shard's answer, in order with the appends. */
  control<T>(command: ControlCommand): Promise<T> {
    const body = jsonMessageBytes(command);
    if (CONTROL_HEADER_BYTES + body.length > this.requests.maxPayloadBytes) {
      return Promise.reject(new RecordTooLargeError(body.length, this.requests.maxPayloadBytes, 'shardRingBytes (control command)'));
    }
    return this.call<T>(CONTROL_TAG, 0, 0, 0, body);
  }

  /** Delivers the completions already in the ring (a dead thread's last answers still count). */
  deliverCompletions(): void {
    const ring = this.completions;
    while (ring.tryRead()) this.complete(ring);
    ring.release();
  }

  /** Rejects every call waiting on the link, stops writing to it and closes its request ring. */
  fail(error: Error): void {
    this.failure ??= error;
    this.requests.close();
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.backlog.length = 0;
    const failure = error instanceof ShardFailedError ? error : new ShardFailedError(this.shardId, error.message);
    for (const entry of pending) entry.reject(failure);
  }

  private call<T>(tag: number, slot: number, acks: number, flags: number, body: Uint8Array): Promise<T> {
    const requestId = this.nextRequestId;
    this.nextRequestId = (requestId + 1) >>> 0;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(requestId, { resolve: resolve as (value: never) => void, reject });
    });
    this.send({ tag, requestId, slot, acks, flags, body });
    return promise;
  }

  /** Writes the request now, or queues it behind earlier ones while the ring is full. */
  private send(message: QueuedMessage): void {
    try {
      if (this.failure !== null) throw this.failure;
      if (this.backlog.length === 0 && writeMessage(this.requests, message)) return;
      this.backlog.push(message);
      if (!this.draining) void this.drainBacklog();
    } catch (error) {
      const pending = this.pending.get(message.requestId);
      this.pending.delete(message.requestId);
      pending?.reject(error instanceof ShardFailedError ? error : new ShardFailedError(this.shardId, (error as Error).message));
    }
  }

  /** Writes queued requests in order as the shard frees room in its ring. */
  private async drainBacklog(): Promise<void> {
    this.draining = true;
    try {
      while (this.backlog.length > 0 && this.failure === null) {
        const message = this.backlog[0];
        if (writeMessage(this.requests, message)) {
          this.backlog.shift();
          continue;
        }
        const headerBytes = message.tag === APPEND_TAG ? APPEND_HEADER_BYTES : CONTROL_HEADER_BYTES;
        const waitStartMs = performance.now();
        const waited = await this.requests.waitForSpaceAsync(headerBytes + message.body.length);
        this.ringFullWaits++;
        this.ringFullWaitMs += performance.now() - waitStartMs;
        if (waited === 'closed') throw new ClosedError('shard request ring');
      }
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.draining = false;
    }
  }

  /** Reads completions until the ring closes, without ever blocking the event loop. */
  private async pumpCompletions(): Promise<void> {
    const ring = this.completions;
    for (;;) {
      this.deliverCompletions();
      if ((await ring.waitForDataAsync()) === 'closed') {
        this.deliverCompletions();
        // Nothing can answer what is still waiting: the shard will never write here again.
        this.fail(new ShardFailedError(this.shardId, 'its completion ring was closed'));
        return;
      }
    }
  }

  private complete(ring: RingBuffer): void {
    if (ring.messageTag === LOG_TAG) {
      this.onLog?.(ring.view.getInt32(ring.messageOffset + 4, true), readJsonBody<string>(ring));
      return;
    }
    const requestId = readRequestId(ring);
    const pending = this.pending.get(requestId);
    if (pending === undefined) return;
    this.pending.delete(requestId);
    const tag = ring.messageTag;
    if (tag === APPENDED_TAG) {
      const outcome = readAppended(ring, this.appended);
      (pending.resolve as (value: AppendOutcome) => void)({ ...outcome });
    } else if (tag === CONTROLLED_TAG) {
      (pending.resolve as (value: unknown) => void)(readJsonBody(ring));
    } else if (tag === FAILED_TAG) {
      pending.reject(reviveError(readJsonBody<SerializedError>(ring), `shard ${this.shardId}`));
    } else {
      pending.reject(new ShardFailedError(this.shardId, `unknown completion tag ${tag}`));
    }
  }
}

/** Copies one request into the ring; false when it has no room now. */
function writeMessage(ring: RingBuffer, message: QueuedMessage): boolean {
  if (message.tag === APPEND_TAG) return tryWriteAppend(ring, message.requestId, message.slot, message.acks, message.flags, message.body);
  const offset = ring.reserve(CONTROL_HEADER_BYTES + message.body.length);
  if (offset < 0) return false;
  ring.view.setUint32(offset, message.requestId, true);
  ring.view.setUint32(offset + 4, 0, true);
  ring.bytes.set(message.body, offset + CONTROL_HEADER_BYTES);
  ring.commit(message.tag);
  return true;
}
