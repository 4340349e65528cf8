/**
 * The broker's side of the shard threads: spawns them, routes each request to the shard that
 * owns its partition, matches completions to callers, and restarts a shard that dies.
 *
 * Each shard gets a channel: a worker thread and a ShardLink over its request ring (this thread
 * writes) and completion ring (this thread reads, with Atomics.waitAsync so the event loop never
 * blocks). Control commands (open, close, truncate, shutdown...) travel the same ring as small
 * JSON messages, so they stay ordered with the appends: a shutdown is answered only after every
 * append before it.
 *
 * Attached threads (attach): another thread of the process gets a ring pair of its own on every
 * shard, so its appends reach the shard without passing through this thread and without a
 * structured clone. The pool creates the rings, posts their SharedArrayBuffers once on the shard's
 * attach port, and names them with an 'attach' command; the shard then reads that request ring
 * too, and the attached thread's writes ring the shard's main request ring's bell
 * (RingBuffer.wakesReaderOf), which is the one it parks on. At most maxAttachedThreads at once;
 * detach closes the rings, and the shard drops a closed ring once it has drained it, so a thread
 * that exits or crashes never leaves the shard waiting on it.
 *
 * Events: 'shardExit' (shardId, threadId, exitCode) whenever a shard thread ends, and
 * 'shardFailure' (shardId, error) when it ended without being asked to.
 *
 * A shard that throws or exits is reported (the 'shardFailure' event and the logger), every call
 * waiting on it is rejected with ShardFailedError (retriable; the request may or may not have been
 * applied, as after a Kafka request timeout), and a new channel is started at once: its first
 * requests reopen the shard's partitions, whose PartitionLog.open recovers them, then give every
 * attachment a new ring pair on it.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { AttachedThreadsExhaustedError, ClosedError, ShardFailedError } from '../errors.js';
import { murmur2, toPositive } from '../protocol/murmur2.js';
import { compiledSiblingUrl } from '../compiled-module-url.js';
import type { Acks } from '../broker/broker-api.js';
import type { LogConfig } from '../storage/log-config.js';
import type { AppendOrigin } from '../storage/partition-log.js';
import type { PartitionStateTable } from './partition-state.js';
import { RingBuffer } from './ring.js';
import { ShardLink } from './shard-link.js';
import {
  APPEND_FLAG_COORDINATOR,
  APPEND_FLAG_FOLLOWER,
  APPEND_FLAG_CRC_UNSET,
  APPEND_FLAG_CRC_VERIFIED,
  LOG_LEVEL_WARN,
  MAX_APPEND_GENERATION,
  type AppendOutcome,
  type AttachRings,
  type ControlCommand,
  type OpenedPartition,
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
  /** How many threads may be attached at once (attach); each holds a ring pair per shard. Default 16. */
  maxAttachedThreads?: number;
  /** Data area of an attached thread's request ring on each shard (a power of two). Default 4 MiB. */
  attachedRingBytes?: number;
}

/** What the shard does about the CRC32C of the batches of an append (ShardPool.append). */
export type AppendCrc = 'check' | 'verified' | 'unset';

const APPEND_CRC_FLAGS: Readonly<Record<AppendCrc, number>> = Object.freeze({
  check: 0,
  verified: APPEND_FLAG_CRC_VERIFIED,
  unset: APPEND_FLAG_CRC_UNSET,
});

export const DEFAULT_MAX_ATTACHED_THREADS = 16;
export const DEFAULT_ATTACHED_RING_BYTES = 4 * 1024 * 1024;

/** An attached thread's rings on one shard, as it wraps them (RingBuffer.from). */
export interface AttachedRingPair {
  readonly shardId: number;
  /** The thread writes: its appends. */
  readonly requests: SharedArrayBuffer;
  /** The thread reads: their answers. */
  readonly completions: SharedArrayBuffer;
  /** The shard's main request ring, whose bell the thread's writes ring (RingBuffer.wakesReaderOf). */
  readonly shardRequests: SharedArrayBuffer;
}

/** A thread attached to the pool: a ring pair on every shard. */
export interface PoolAttachment {
  readonly id: number;
  /** Indexed by shard id; a restarted shard's pair is replaced (and onReplaced called). */
  readonly rings: AttachedRingPair[];
  /** The partition state table, which the thread's readers read as the broker's do. */
  readonly stateTable: SharedArrayBuffer;
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

/**
 * Occupancy of one shard's two rings of the broker's thread (attached threads have their own),
 * as ShardPool.ringUsage reads it.
 */
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

/** One incarnation of a shard: a worker and its link. A restart makes a new channel. */
interface Channel {
  readonly shardId: number;
  readonly worker: Worker;
  /** Captured at spawn: a worker reports -1 once it has exited. */
  readonly threadId: number;
  readonly link: ShardLink;
  /** This side of the worker's attach port (AttachRings messages). */
  readonly attachPort: MessagePort;
  readonly exited: Promise<number>;
  stopping: boolean;
}

interface OpenSlot {
  readonly spec: PartitionSpec;
  /** This open's number (1 to MAX_APPEND_GENERATION), kept by a restart's reopen. */
  readonly generation: number;
}

interface Attachment {
  readonly id: number;
  readonly rings: AttachedRingPair[];
  /** The ring objects this side closes on detach (it neither reads nor writes them). */
  readonly held: { requests: RingBuffer; completions: RingBuffer }[];
  readonly onReplaced: (pair: AttachedRingPair) => void;
}

interface Shard {
  readonly id: number;
  channel: Channel;
  /** Partitions open on the shard, reopened by a restart. */
  readonly partitions: Map<number, OpenSlot>;
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
  private readonly attachments = new Map<number, Attachment>();
  private nextAttachmentId = 1;
  private nextGeneration = 1;
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
    const generation = this.nextGeneration;
    this.nextGeneration = generation === MAX_APPEND_GENERATION ? 1 : generation + 1;
    shard.partitions.set(spec.slot, { spec, generation });
    this.options.stateTable.publishGeneration(spec.slot, generation);
    try {
      return await this.control<OpenedPartition>(shardId, { op: 'open', ...spec, generation });
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
    const open = shard.partitions.get(slot);
    if (open === undefined) throw new RangeError(`partition slot ${slot} is not open on shard ${shardId}`);
    shard.partitions.set(slot, { spec: { ...open.spec, config, deleteRetention }, generation: open.generation });
    await this.control(shardId, { op: 'updateConfig', slot, config, deleteRetention });
  }

  /** Raises an open partition log's leader epoch to `epoch` (kept in its leader-epoch checkpoint, so a restart keeps it). */
  async becomeLeader(shardId: number, slot: number, epoch: number): Promise<void> {
    await this.control(shardId, { op: 'becomeLeader', slot, epoch });
  }

  /** The number of the open of `slot` on the shard: an attached thread's appends carry it. */
  generationOf(shardId: number, slot: number): number {
    const open = this.shard(shardId).partitions.get(slot);
    if (open === undefined) throw new RangeError(`partition slot ${slot} is not open on shard ${shardId}`);
    return open.generation;
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
   * `crc`: 'check', the shard checks every batch's CRC; 'verified', the caller checked (or
   * computed) them, so the shard skips that pass; 'unset', the caller left them for the shard to
   * compute (Sluice's own producer, to keep the pass off its thread).
   * `origin` 'coordinator': the transaction coordinator's markers (the log skips sequence checks
   * and accepts control batches only from it).
   */
  append(shardId: number, slot: number, batches: Buffer, acks: Acks, crc: AppendCrc = 'check', origin: AppendOrigin = 'client'): Promise<AppendOutcome> {
    const flags = APPEND_CRC_FLAGS[crc] | (origin === 'coordinator' ? APPEND_FLAG_COORDINATOR : 0);
    return this.shard(shardId).channel.link.append(slot, batches, acks, flags);
  }

  /**
   * Appends a leader's batches to a follower's log unchanged (PartitionLog.appendAsFollower),
   * through the same ring as every other write of the partition, so the shard stays its one writer.
   */
  appendAsFollower(shardId: number, slot: number, batches: Buffer): Promise<AppendOutcome> {
    return this.shard(shardId).channel.link.append(slot, batches, 1, APPEND_FLAG_FOLLOWER);
  }

  /** Sends a control command; resolves with the shard's answer, in order with the appends. */
  control<T>(shardId: number, command: ControlCommand): Promise<T> {
    return this.shard(shardId).channel.link.control<T>(command);
  }

  /**
   * Gives a thread a ring pair on every shard (see the module comment). `onReplaced` is called
   * with the new pair of a shard that was restarted: the old pair is closed, and calls waiting on
   * it failed with ShardFailedError. Throws AttachedThreadsExhaustedError past maxAttachedThreads.
   */
  attach(onReplaced: (pair: AttachedRingPair) => void): PoolAttachment {
    if (this.closing !== null) throw new ClosedError('shard pool');
    const maxAttachedThreads = this.options.maxAttachedThreads ?? DEFAULT_MAX_ATTACHED_THREADS;
    if (this.attachments.size >= maxAttachedThreads) throw new AttachedThreadsExhaustedError(maxAttachedThreads);
    const attachment: Attachment = { id: this.nextAttachmentId++, rings: [], held: [], onReplaced };
    for (const shard of this.shards) this.attachTo(shard, attachment);
    this.attachments.set(attachment.id, attachment);
    return { id: attachment.id, rings: attachment.rings, stateTable: this.options.stateTable.sharedBuffer };
  }

  /**
   * Releases an attachment: its rings close, and each shard, woken, drains what was already
   * written to them and drops them. Idempotent.
   */
  detach(id: number): void {
    const attachment = this.attachments.get(id);
    if (attachment === undefined) return;
    this.attachments.delete(id);
    for (const shard of this.shards) this.closeAttachedRings(shard, attachment);
  }

  /** Threads attached now (diagnostics and tests). */
  get attachedCount(): number {
    return this.attachments.size;
  }

  /** Attached threads' completion rings a shard is waiting on for room (diagnostics and tests). */
  attachedCompletionsFull(): number {
    let full = 0;
    for (const attachment of this.attachments.values()) {
      for (const held of attachment.held) if (held.completions.writerWaitingBytes() > 0) full++;
    }
    return full;
  }

  /** Creates the attachment's pair on the shard's current channel and hands it to the shard. */
  private attachTo(shard: Shard, attachment: Attachment): void {
    const requests = RingBuffer.create(this.options.attachedRingBytes ?? DEFAULT_ATTACHED_RING_BYTES);
    const completions = RingBuffer.create(this.options.completionRingBytes);
    const channel = shard.channel;
    const rings: AttachRings = { id: attachment.id, requests: requests.sharedBuffer, completions: completions.sharedBuffer };
    // Posted before the command that names it, so the shard finds it when it reads the command.
    channel.attachPort.postMessage(rings);
    channel.link.control({ op: 'attach', id: attachment.id }).catch((error: Error) => {
      // The shard died before taking them: its restart attaches a new pair.
      if (!(error instanceof ShardFailedError)) this.options.logger.warn(`shard ${shard.id} could not attach a thread: ${error.message}`);
    });
    attachment.rings[shard.id] = { shardId: shard.id, requests: requests.sharedBuffer, completions: completions.sharedBuffer, shardRequests: channel.link.requests.sharedBuffer };
    attachment.held[shard.id] = { requests, completions };
    // A shard that is no longer restarted will never read them: closed, the thread's calls on it fail at once.
    if (shard.gaveUp !== null) this.closeAttachedRings(shard, attachment);
  }

  private closeAttachedRings(shard: Shard, attachment: Attachment): void {
    const held = attachment.held[shard.id];
    if (held === undefined) return;
    held.requests.close();
    held.completions.close();
    // The shard parks on its main request ring: wake it to see the closed ring and drop it.
    shard.channel.link.requests.wakeReader();
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
    const { requests, completions, backlogLength, ringFullWaits, ringFullWaitMs } = this.shard(shardId).channel.link;
    return {
      requestUsedBytes: requests.usedBytes(),
      requestCapacityBytes: requests.capacityBytes,
      completionUsedBytes: completions.usedBytes(),
      completionCapacityBytes: completions.capacityBytes,
      backlogMessages: backlogLength,
      ringFullWaits,
      ringFullWaitMs,
    };
  }

  /** Calls waiting for an answer from the shard (diagnostics and tests). */
  pendingCount(shardId: number): number {
    return this.shard(shardId).channel.link.pendingCount;
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
    // First, so that no shard can be waiting on an attached thread's full completion ring when its
    // shutdown arrives: the shards drop those rings, and the attached calls fail.
    for (const id of [...this.attachments.keys()]) this.detach(id);
    const errors: unknown[] = [];
    await Promise.all(
      this.shards.map(async (shard) => {
        await shard.ready.catch(() => undefined);
        const channel = shard.channel;
        channel.stopping = true;
        if (shard.gaveUp !== null) return;
        try {
          await channel.link.control({ op: 'shutdown' });
        } catch (error) {
          errors.push(error);
          await channel.worker.terminate();
        }
        await channel.exited;
        channel.link.requests.close();
        channel.link.completions.close();
        channel.attachPort.close();
      }),
    );
    if (errors.length > 0) {
      this.options.logger.warn(`shard shutdown reported: ${errors.map((error) => (error as Error).message).join('; ')}`);
    }
  }

  private shard(shardId: number): Shard {
    if (this.closing !== null) throw new ClosedError('shard pool');
    const shard = this.shards[shardId];
    if (shard === undefined) throw new RangeError(`shard ${shardId} does not exist; there are ${this.shardCount}`);
    if (shard.gaveUp !== null) throw shard.gaveUp;
    return shard;
  }

  private startChannel(shard: Shard): Channel {
    const requests = RingBuffer.create(this.options.requestRingBytes);
    const completions = RingBuffer.create(this.options.completionRingBytes);
    const { port1: attachPort, port2: shardAttachPort } = new MessageChannel();
    // The port only carries rings to the shard; it must not keep the process alive.
    attachPort.unref();
    const workerData: ShardWorkerData = {
      shardId: shard.id,
      requests: requests.sharedBuffer,
      completions: completions.sharedBuffer,
      stateTable: this.options.stateTable.sharedBuffer,
      retentionCheckIntervalMs: this.options.retentionCheckIntervalMs,
      attachPort: shardAttachPort,
    };
    const worker = new Worker(WORKER_URL, { workerData, transferList: [shardAttachPort] });
    let exitCode!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (exitCode = resolve));
    const logger = this.options.logger;
    const link = new ShardLink(shard.id, requests, completions, (level, text) => {
      const message = `shard ${shard.id}: ${text}`;
      if (level === LOG_LEVEL_WARN) logger.warn(message);
      else logger.info(message);
    });
    const channel: Channel = { shardId: shard.id, worker, threadId: worker.threadId, link, attachPort, exited, stopping: false };
    worker.on('error', (error) => {
      link.failure ??= error;
    });
    worker.on('exit', (code) => {
      exitCode(code);
      this.onExit(shard, channel, code);
    });
    return channel;
  }

  private onExit(shard: Shard, channel: Channel, code: number): void {
    this.emit('shardExit', shard.id, channel.threadId, code);
    const link = channel.link;
    const reason = link.failure?.message ?? `its thread exited with code ${code}`;
    const expected = channel.stopping && link.failure === null;
    // Answers the thread wrote before it died still count: deliver them before failing the rest.
    link.deliverCompletions();
    link.completions.close();
    link.fail(new ShardFailedError(shard.id, reason));
    channel.attachPort.close();
    // Attached threads' calls on this shard fail as the broker's do (their completion rings close).
    for (const attachment of this.attachments.values()) this.closeAttachedRings(shard, attachment);
    if (expected || this.closing !== null || shard.channel !== channel) return;
    this.emit('shardFailure', shard.id, link.failure ?? new ShardFailedError(shard.id, reason));
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
    const reopened = [...shard.partitions.values()].map(({ spec, generation }) =>
      shard.channel.link.control({ op: 'open', ...spec, generation }).then(
        () => undefined,
        (error: Error) => this.options.logger.warn(`shard ${shard.id} could not reopen ${spec.dir}: ${error.message}`),
      ),
    );
    shard.ready = Promise.all(reopened).then(() => undefined);
    // Queued behind the reopens, so an attached thread's first append finds its partition open.
    for (const attachment of this.attachments.values()) {
      this.attachTo(shard, attachment);
      attachment.onReplaced(attachment.rings[shard.id]);
    }
  }
}
