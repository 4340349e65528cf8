/**
 * The broker's side of the shard threads: spawns them, routes each request to the shard that
 * owns its partition, matches completions to callers, and restarts a shard that dies.
 *
 * Each shard gets a channel: a worker thread, a request ring (this thread writes) and a completion
 * ring (this thread reads, with Atomics.waitAsync so the event loop never blocks). Append payloads
 * are copied once, straight from the caller's buffer into the ring's shared memory; when the ring
 * is full, requests queue here in order behind a waitForSpaceAsync. Control commands (open, close,
 * truncate, shutdown...) travel the same ring as small JSON messages, so they stay ordered with
 * the appends: a shutdown is answered only after every append before it.
 *
 * Events: 'shardExit' (shardId, threadId, exitCode) whenever a shard thread ends, and
 * 'shardFailure' (shardId, error) when it ended without being asked to.
 *
 * A shard that throws or exits is reported (the 'shardFailure' event and the logger), every call
 * waiting on it is rejected with ShardFailedError (retriable; the request may or may not have been
 * applied, as after a Kafka request timeout), and a new channel is started at once: its first
 * requests reopen the shard's partitions, whose PartitionLog.open recovers them.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ClosedError, RecordTooLargeError, ShardFailedError } from '../errors.js';
import { murmur2, toPositive } from '../protocol/murmur2.js';
import { compiledSiblingUrl } from '../compiled-module-url.js';
import type { Acks } from '../broker/broker-api.js';
import type { LogConfig } from '../storage/log-config.js';
import type { AppendOrigin } from '../storage/partition-log.js';
import type { PartitionStateTable } from './partition-state.js';
import { RingBuffer } from './ring.js';
import {
  APPENDED_TAG,
  APPEND_FLAG_COORDINATOR,
  APPEND_FLAG_CRC_VERIFIED,
  APPEND_HEADER_BYTES,
  APPEND_TAG,
  CONTROLLED_TAG,
  CONTROL_HEADER_BYTES,
  CONTROL_TAG,
  FAILED_TAG,
  LOG_LEVEL_WARN,
  LOG_TAG,
  jsonMessageBytes,
  readAppended,
  readJsonBody,
  readRequestId,
  reviveError,
  tryWriteAppend,
  type AppendOutcome,
  type ControlCommand,
  type OpenedPartition,
  type SerializedError,
} from './shard-messages.js';
import type { ShardWorkerData } from './shard-worker.js';

export interface ShardPoolLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface ShardPoolOptions {
  shards: number;
  stateTable: PartitionStateTable;
  /** Data area of each request ring; the largest produce request is a little less. */
  requestRingBytes: number;
  completionRingBytes: number;
  retentionCheckIntervalMs: number;
  logger: ShardPoolLogger;
}

/** What a shard needs to (re)open a partition log. */
export interface PartitionSpec {
  readonly slot: number;
  readonly dir: string;
  readonly config: LogConfig;
  /** cleanup.policy includes delete: the shard applies retention.ms / retention.bytes. */
  readonly deleteRetention: boolean;
  /**
   * The log of an internal topic (__consumer_offsets): after the file system refused a write it
   * takes writes again as soon as a probe write succeeds, where a client topic's log waits for
   * headroom, so that group coordination goes on while producers are held off a nearly full disk.
   */
  readonly internal?: boolean;
}

interface Pending {
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
}

interface QueuedMessage {
  readonly tag: number;
  readonly requestId: number;
  readonly slot: number;
  readonly acks: number;
  /** APPEND_FLAG_* bits. */
  readonly flags: number;
  readonly body: Uint8Array;
}

/** Occupancy of one shard's two rings, as ShardPool.ringUsage reads it. */
export interface RingUsage {
  requestUsedBytes: number;
  requestCapacityBytes: number;
  completionUsedBytes: number;
  completionCapacityBytes: number;
  /** Requests queued here while the request ring was full. */
  backlogMessages: number;
  /** Since the shard's thread (re)started: waits for room in the request ring, and their total ms. */
  ringFullWaits: number;
  ringFullWaitMs: number;
}

/** One incarnation of a shard: a worker and its two rings. A restart makes a new channel. */
interface Channel {
  readonly shardId: number;
  readonly worker: Worker;
  /** Captured at spawn: a worker reports -1 once it has exited. */
  readonly threadId: number;
  readonly requests: RingBuffer;
  readonly completions: RingBuffer;
  readonly pending: Map<number, Pending>;
  readonly backlog: QueuedMessage[];
  readonly exited: Promise<number>;
  draining: boolean;
  stopping: boolean;
  failure: Error | null;
  /** Times the backlog waited for room in the request ring, and how long in all (ms). */
  ringFullWaits: number;
  ringFullWaitMs: number;
}

interface Shard {
  readonly id: number;
  channel: Channel;
  /** Partitions open on the shard, reopened by a restart. */
  readonly partitions: Map<number, PartitionSpec>;
  nextRequestId: number;
  /** Settles once a restarted shard has reopened its partitions. */
  ready: Promise<void>;
  restarts: number;
  /** When the recent restarts happened, to detect a crash loop. */
  readonly recentRestartsMs: number[];
  /** Set once the shard kept dying and is no longer restarted. */
  gaveUp: ShardFailedError | null;
}

/** A shard that fails this many times within CRASH_LOOP_WINDOW_MS is not restarted again. */
const MAX_RESTARTS_PER_WINDOW = 5;
const CRASH_LOOP_WINDOW_MS = 60_000;

/** The compiled worker script, beside this module (see compiled-module-url.ts). */
const WORKER_URL = compiledSiblingUrl(import.meta.url, './shard-worker.js');
const textEncoder = new TextEncoder();

/** The shard that owns a partition: stable across restarts for the same shard count. */
export function shardForPartition(topic: string, partition: number, shardCount: number): number {
  return (toPositive(murmur2(textEncoder.encode(topic))) + partition) % shardCount;
}

export class ShardPool extends EventEmitter {
  readonly shardCount: number;
  private readonly options: ShardPoolOptions;
  private readonly shards: Shard[] = [];
  private readonly appended: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
  private closing: Promise<void> | null = null;

  constructor(options: ShardPoolOptions) {
    super();
    this.options = options;
    this.shardCount = options.shards;
    for (let id = 0; id < options.shards; id++) {
      const shard: Shard = {
        id,
        channel: null as unknown as Channel,
        partitions: new Map(),
        nextRequestId: 0,
        ready: Promise.resolve(),
        restarts: 0,
        recentRestartsMs: [],
        gaveUp: null,
      };
      shard.channel = this.startChannel(shard);
      this.shards.push(shard);
    }
  }

  shardFor(topic: string, partition: number): number {
    return shardForPartition(topic, partition, this.shardCount);
  }

  /** Opens (recovering) a partition log on its shard; it is reopened there after a restart. */
  async openPartition(shardId: number, spec: PartitionSpec): Promise<OpenedPartition> {
    const shard = this.shard(shardId);
    shard.partitions.set(spec.slot, spec);
    try {
      return await this.control<OpenedPartition>(shardId, { op: 'open', ...spec });
    } catch (error) {
      if (!(error instanceof ShardFailedError)) shard.partitions.delete(spec.slot);
      throw error;
    }
  }

  /**
   * Gives an open partition log new settings (a topic config change); a restart of the shard
   * reopens it with them too.
   */
  async updatePartitionConfig(shardId: number, slot: number, config: LogConfig, deleteRetention: boolean): Promise<void> {
    const shard = this.shard(shardId);
    const spec = shard.partitions.get(slot);
    if (spec === undefined) throw new RangeError(`partition slot ${slot} is not open on shard ${shardId}`);
    shard.partitions.set(slot, { ...spec, config, deleteRetention });
    await this.control(shardId, { op: 'updateConfig', slot, config, deleteRetention });
  }

  /** Closes a partition log (and removes its directory when asked). */
  async closePartition(shardId: number, slot: number, removeDirectory: boolean): Promise<void> {
    const shard = this.shard(shardId);
    shard.partitions.delete(slot);
    await this.control(shardId, { op: 'close', slot, removeDirectory });
  }

  /**
   * Appends whole batches to the partition in `slot`. The bytes are copied into the ring at once
   * (or queued while it is full); the log rewrites their base offsets in the ring, not in `batches`.
   * `crcVerified`: the caller checked (or computed) every CRC, so the shard skips that pass.
   * `origin` 'coordinator': the transaction coordinator's markers (the log skips sequence checks
   * and accepts control batches only from it).
   */
  append(shardId: number, slot: number, batches: Buffer, acks: Acks, crcVerified = false, origin: AppendOrigin = 'client'): Promise<AppendOutcome> {
    const shard = this.shard(shardId);
    const channel = shard.channel;
    const payloadBytes = APPEND_HEADER_BYTES + batches.length;
    if (payloadBytes > channel.requests.maxPayloadBytes) {
      return Promise.reject(new RecordTooLargeError(batches.length, channel.requests.maxPayloadBytes - APPEND_HEADER_BYTES, 'shardRingBytes (one produce request)'));
    }
    const requestId = this.nextRequestId(shard);
    const promise = new Promise<AppendOutcome>((resolve, reject) => {
      channel.pending.set(requestId, { resolve: resolve as (value: never) => void, reject });
    });
    const flags = (crcVerified ? APPEND_FLAG_CRC_VERIFIED : 0) | (origin === 'coordinator' ? APPEND_FLAG_COORDINATOR : 0);
    this.send(channel, { tag: APPEND_TAG, requestId, slot, acks, flags, body: batches });
    return promise;
  }

  /** Sends a control command; resolves with the shard's answer, in order with the appends. */
  control<T>(shardId: number, command: ControlCommand): Promise<T> {
    const shard = this.shard(shardId);
    const channel = shard.channel;
    const body = jsonMessageBytes(command);
    if (CONTROL_HEADER_BYTES + body.length > channel.requests.maxPayloadBytes) {
      return Promise.reject(new RecordTooLargeError(body.length, channel.requests.maxPayloadBytes, 'shardRingBytes (control command)'));
    }
    const requestId = this.nextRequestId(shard);
    const promise = new Promise<T>((resolve, reject) => {
      channel.pending.set(requestId, { resolve: resolve as (value: never) => void, reject });
    });
    this.send(channel, { tag: CONTROL_TAG, requestId, slot: 0, acks: 0, flags: 0, body });
    return promise;
  }

  /** Settles once the shard is serving again (at once unless it is being restarted). */
  ready(shardId: number): Promise<void> {
    return this.shard(shardId).ready;
  }

  /** How many times the shard was restarted after a failure. */
  restartCount(shardId: number): number {
    return this.shard(shardId).restarts;
  }

  /** Bytes held now in the shard's request ring (appends and commands not yet taken) and completion ring, and its waits for room. */
  ringUsage(shardId: number): RingUsage {
    const { requests, completions, backlog, ringFullWaits, ringFullWaitMs } = this.shard(shardId).channel;
    return {
      requestUsedBytes: requests.usedBytes(),
      requestCapacityBytes: requests.capacityBytes,
      completionUsedBytes: completions.usedBytes(),
      completionCapacityBytes: completions.capacityBytes,
      backlogMessages: backlog.length,
      ringFullWaits,
      ringFullWaitMs,
    };
  }

  /** Thread ids of the live shard workers (diagnostics, and tests that check none outlives close). */
  threadIds(): number[] {
    return this.shards.map((shard) => shard.channel.threadId);
  }

  /**
   * Fault injection: the shard throws out of its loop when it reaches this command, as a bug
   * would make it, so the requests sent before it are answered and those after it fail with
   * ShardFailedError. Resolves once the restarted shard has reopened its partitions.
   */
  async injectFault(shardId: number): Promise<void> {
    const shard = this.shard(shardId);
    const channel = shard.channel;
    await this.control(shardId, { op: 'injectFault' }).catch((error: unknown) => {
      if (!(error instanceof ShardFailedError)) throw error;
    });
    await this.replaced(shard, channel);
  }

  /**
   * Fault injection: kills the shard's thread as a crash would, then waits until the restarted
   * shard has reopened its partitions. For tests and chaos drills.
   */
  async terminateShard(shardId: number): Promise<void> {
    const shard = this.shard(shardId);
    const channel = shard.channel;
    await channel.worker.terminate();
    await this.replaced(shard, channel);
  }

  /** Waits until `channel`'s thread has exited and its replacement has reopened the partitions. */
  private async replaced(shard: Shard, channel: Channel): Promise<void> {
    await channel.exited;
    if (shard.gaveUp !== null) throw shard.gaveUp;
    // The exit handler ran before `exited` settled, so the replacement has started already.
    assert.ok(shard.channel !== channel || this.closing !== null, 'an exited shard is replaced unless the pool is closing');
    await shard.ready;
  }

  /**
   * Drains every request already sent (each shard answers its shutdown after them), closes every
   * log and waits for every thread to exit. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeShards();
    return this.closing;
  }

  private async closeShards(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(
      this.shards.map(async (shard) => {
        await shard.ready.catch(() => undefined);
        const channel = shard.channel;
        channel.stopping = true;
        if (shard.gaveUp !== null) return;
        try {
          await this.controlOn(shard, channel, { op: 'shutdown' });
        } catch (error) {
          errors.push(error);
          await channel.worker.terminate();
        }
        await channel.exited;
        channel.requests.close();
        channel.completions.close();
      }),
    );
    if (errors.length > 0) {
      this.options.logger.warn(`shard shutdown reported: ${errors.map((error) => (error as Error).message).join('; ')}`);
    }
  }

  private controlOn<T>(shard: Shard, channel: Channel, command: ControlCommand): Promise<T> {
    const requestId = this.nextRequestId(shard);
    const promise = new Promise<T>((resolve, reject) => {
      channel.pending.set(requestId, { resolve: resolve as (value: never) => void, reject });
    });
    this.send(channel, { tag: CONTROL_TAG, requestId, slot: 0, acks: 0, flags: 0, body: jsonMessageBytes(command) });
    return promise;
  }

  private shard(shardId: number): Shard {
    if (this.closing !== null) throw new ClosedError('shard pool');
    const shard = this.shards[shardId];
    if (shard === undefined) throw new RangeError(`shard ${shardId} does not exist; there are ${this.shardCount}`);
    if (shard.gaveUp !== null) throw shard.gaveUp;
    return shard;
  }

  private nextRequestId(shard: Shard): number {
    const id = shard.nextRequestId;
    shard.nextRequestId = (id + 1) >>> 0;
    return id;
  }

  /** Writes the request now, or queues it behind earlier ones while the ring is full. */
  private send(channel: Channel, message: QueuedMessage): void {
    try {
      if (channel.failure !== null) throw channel.failure;
      if (channel.backlog.length === 0 && writeMessage(channel.requests, message)) return;
      this.enqueue(channel, message);
    } catch (error) {
      const pending = channel.pending.get(message.requestId);
      channel.pending.delete(message.requestId);
      pending?.reject(error instanceof ShardFailedError ? error : new ShardFailedError(channel.shardId, (error as Error).message));
    }
  }

  private enqueue(channel: Channel, message: QueuedMessage): void {
    channel.backlog.push(message);
    if (!channel.draining) void this.drainBacklog(channel);
  }

  /** Writes queued requests in order as the shard frees room in its ring. */
  private async drainBacklog(channel: Channel): Promise<void> {
    channel.draining = true;
    try {
      while (channel.backlog.length > 0 && channel.failure === null) {
        const message = channel.backlog[0];
        if (writeMessage(channel.requests, message)) {
          channel.backlog.shift();
          continue;
        }
        const headerBytes = message.tag === APPEND_TAG ? APPEND_HEADER_BYTES : CONTROL_HEADER_BYTES;
        const waitStartMs = performance.now();
        const waited = await channel.requests.waitForSpaceAsync(headerBytes + message.body.length);
        channel.ringFullWaits++;
        channel.ringFullWaitMs += performance.now() - waitStartMs;
        if (waited === 'closed') return;
      }
    } catch (error) {
      this.failChannel(channel, error as Error);
    } finally {
      channel.draining = false;
    }
  }

  private startChannel(shard: Shard): Channel {
    const requests = RingBuffer.create(this.options.requestRingBytes);
    const completions = RingBuffer.create(this.options.completionRingBytes);
    const workerData: ShardWorkerData = {
      shardId: shard.id,
      requests: requests.sharedBuffer,
      completions: completions.sharedBuffer,
      stateTable: this.options.stateTable.sharedBuffer,
      retentionCheckIntervalMs: this.options.retentionCheckIntervalMs,
    };
    const worker = new Worker(WORKER_URL, { workerData });
    let exitCode!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exitCode = resolve));
    const channel: Channel = {
      shardId: shard.id,
      worker,
      threadId: worker.threadId,
      requests,
      completions,
      pending: new Map(),
      backlog: [],
      exited,
      draining: false,
      stopping: false,
      failure: null,
      ringFullWaits: 0,
      ringFullWaitMs: 0,
    };
    worker.on('error', (error) => {
      channel.failure ??= error;
    });
    worker.on('exit', (code) => {
      exitCode(code);
      this.onExit(shard, channel, code);
    });
    void this.pumpCompletions(channel);
    return channel;
  }

  /** Reads completions until the ring closes, without ever blocking the event loop. */
  private async pumpCompletions(channel: Channel): Promise<void> {
    const ring = channel.completions;
    for (;;) {
      while (ring.tryRead()) this.complete(channel, ring);
      ring.release();
      if ((await ring.waitForDataAsync()) === 'closed') {
        while (ring.tryRead()) this.complete(channel, ring);
        ring.release();
        return;
      }
    }
  }

  private complete(channel: Channel, ring: RingBuffer): void {
    if (ring.messageTag === LOG_TAG) {
      const level = ring.view.getInt32(ring.messageOffset + 4, true);
      const message = `shard ${channel.shardId}: ${readJsonBody<string>(ring)}`;
      if (level === LOG_LEVEL_WARN) this.options.logger.warn(message);
      else this.options.logger.info(message);
      return;
    }
    const requestId = readRequestId(ring);
    const pending = channel.pending.get(requestId);
    if (pending === undefined) return;
    channel.pending.delete(requestId);
    const tag = ring.messageTag;
    if (tag === APPENDED_TAG) {
      const outcome = readAppended(ring, this.appended);
      (pending.resolve as (value: AppendOutcome) => void)({ ...outcome });
    } else if (tag === CONTROLLED_TAG) {
      (pending.resolve as (value: unknown) => void)(readJsonBody(ring));
    } else if (tag === FAILED_TAG) {
      pending.reject(reviveError(readJsonBody<SerializedError>(ring), channel.shardId));
    } else {
      pending.reject(new ShardFailedError(channel.shardId, `unknown completion tag ${tag}`));
    }
  }

  private onExit(shard: Shard, channel: Channel, code: number): void {
    this.emit('shardExit', shard.id, channel.threadId, code);
    const reason = channel.failure?.message ?? `its thread exited with code ${code}`;
    const expected = channel.stopping && channel.failure === null;
    // Answers the thread wrote before it died still count: deliver them before failing the rest.
    const completions = channel.completions;
    while (completions.tryRead()) this.complete(channel, completions);
    completions.release();
    completions.close();
    this.failChannel(channel, new ShardFailedError(shard.id, reason));
    if (expected || this.closing !== null || shard.channel !== channel) return;
    this.emit('shardFailure', shard.id, channel.failure ?? new ShardFailedError(shard.id, reason));
    // The dead thread may have stopped inside a publish: no thread owns its slots now, so make them
    // whole before a restarted shard (or the broker, releasing them) writes them again.
    for (const slot of shard.partitions.keys()) this.options.stateTable.repair(slot);
    const nowMs = Date.now();
    const recent = shard.recentRestartsMs;
    while (recent.length > 0 && recent[0] <= nowMs - CRASH_LOOP_WINDOW_MS) recent.shift();
    if (recent.length >= MAX_RESTARTS_PER_WINDOW) {
      // A shard that dies as soon as it starts (a missing build, a log it cannot open without
      // crashing) would otherwise restart forever: stop, and fail its calls with the cause.
      shard.gaveUp = new ShardFailedError(
        shard.id,
        `${reason}; it failed ${recent.length + 1} times within ${CRASH_LOOP_WINDOW_MS / 1000} s and is not restarted again: fix the cause and reopen the broker`,
        false,
      );
      this.options.logger.warn(shard.gaveUp.message);
      return;
    }
    recent.push(nowMs);
    this.options.logger.warn(`shard ${shard.id} failed (${reason}); restarting it and recovering its ${shard.partitions.size} partition(s)`);
    shard.restarts++;
    shard.channel = this.startChannel(shard);
    const reopened = [...shard.partitions.values()].map((spec) =>
      this.controlOn(shard, shard.channel, { op: 'open', ...spec }).then(
        () => undefined,
        (error: Error) => this.options.logger.warn(`shard ${shard.id} could not reopen ${spec.dir}: ${error.message}`),
      ),
    );
    shard.ready = Promise.all(reopened).then(() => undefined);
  }

  /** Rejects every call waiting on the channel and stops writing to it. */
  private failChannel(channel: Channel, error: Error): void {
    channel.failure ??= error;
    channel.requests.close();
    const pending = [...channel.pending.values()];
    channel.pending.clear();
    channel.backlog.length = 0;
    const failure = error instanceof ShardFailedError ? error : new ShardFailedError(channel.shardId, error.message);
    for (const entry of pending) entry.reject(failure);
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
