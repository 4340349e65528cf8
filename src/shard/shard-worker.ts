/**
 * Entry point of a shard worker thread: the single writer of the partition logs assigned to it.
 *
 * The loop: park on the request ring (Atomics.wait) with a timeout set by the nearest timer (a
 * log's flushMs due time, the retention check), drain every request available, append each batch
 * set to its log straight out of the ring's shared memory, publish the new offsets to the
 * partition state table, write the completions. Completions of one drain go out together: the ring
 * notifies the broker's thread only when it is parked, so a burst costs at most one wake-up.
 *
 * acks -1 on a topic with a flush policy (flush.messages or flush.ms) waits for an fsync covering
 * its batch. The fsyncs are grouped: after a drain, one flush per partition answers every acks -1
 * append of that drain. Without a flush policy acks -1 is acks 1: a single broker has no replicas
 * to wait for, and the page cache already survives a process crash.
 *
 * The thread never returns to its event loop until shutdown; control commands arrive through the
 * same request ring (so they are ordered with the appends around them), not by postMessage.
 *
 * Threads attached to the broker (Sluice.attach) each have a ring pair of their own here: after
 * its main ring the loop drains each attached request ring and answers on that pair's completion
 * ring. It still parks on the main ring alone: attached writers wake it there (wakesReaderOf).
 * An attached ring the broker closed (its thread is gone) is drained and dropped, and an answer
 * for it is dropped rather than waited on.
 */
import { rmSync } from 'node:fs';
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ClosedError, InvalidRequestError, SluiceError, StaleTopicMetadataError } from '../errors.js';
import { fillBatchCrcs } from '../protocol/batch-header.js';
import { LogCleaner } from '../storage/log-cleaner.js';
import { SPACE_RESERVE_BYTES, freeBytes } from '../storage/space-reserve.js';
import type { LogConfig } from '../storage/log-config.js';
import { PartitionLog, type AppendOptions, type AppendResult, type StorageLogger } from '../storage/partition-log.js';
import { PartitionStateTable } from './partition-state.js';
import { RingBuffer } from './ring.js';
import {
  APPENDED_PAYLOAD_BYTES,
  APPEND_FLAG_COORDINATOR,
  APPEND_FLAG_CRC_UNSET,
  APPEND_FLAG_CRC_VERIFIED,
  APPEND_FLAG_FOLLOWER,
  APPEND_GENERATION_SHIFT,
  APPEND_TAG,
  CONTROLLED_TAG,
  CONTROL_HEADER_BYTES,
  CONTROL_TAG,
  FAILED_TAG,
  LOG_LEVEL_INFO,
  LOG_LEVEL_WARN,
  LOG_TAG,
  clip,
  jsonMessageBytes,
  kafkaCodeOf,
  readAppend,
  readJsonBody,
  readRequestId,
  serializeError,
  tryWriteJsonMessage,
  tryWriteAppended,
  type ActiveProducer,
  type AppendOutcome,
  type AppendRequest,
  type AttachRings,
  type ControlCommand,
  type OpenedPartition,
} from './shard-messages.js';

export interface ShardWorkerData {
  shardId: number;
  requests: SharedArrayBuffer;
  completions: SharedArrayBuffer;
  stateTable: SharedArrayBuffer;
  retentionCheckIntervalMs: number;
  /** Where the broker posts the rings of an attached thread (AttachRings) before its 'attach' command. */
  attachPort: MessagePort;
}

/**
 * A ring pair the shard serves: the broker's (requests and control commands), or an attached
 * thread's (appends only). Each completion goes back on the pair its request came from.
 */
interface Source {
  readonly requests: RingBuffer;
  readonly completions: RingBuffer;
  /** The broker's pair: the only one that may carry control commands, and whose closing ends the shard. */
  readonly main: boolean;
}

interface OwnedPartition {
  /** Replaced when a log that went offline for writes is reopened (bringBackOnline). */
  log: PartitionLog;
  /** ShardPool's number for this open of the slot, checked against an attached thread's appends. */
  readonly generation: number;
  /** Both follow the topic's config, which updateConfig changes while the log runs. */
  deleteRetention: boolean;
  hasFlushPolicy: boolean;
  /** acks -1 appends of the current drain, answered after the partition's group fsync. */
  readonly awaitingFlush: { requestId: number; outcome: AppendOutcome; completions: RingBuffer }[];
  /** Set when timer work failed: the log stopped itself, and its due times would never pass. */
  timersStopped: boolean;
  /** While the log is offline for writes: when an append may next probe the file system. */
  probeAfterMs: number;
  /** An internal topic's log: no headroom needed to come back online (see PartitionSpec.internal). */
  readonly internal: boolean;
}

/**
 * An append to a log that is offline for writes (the file system refused one: no space, EIO)
 * probes the file system first, at most this often; between probes it fails at once with
 * KAFKA_STORAGE_ERROR. A probe on a full disk is one refused small write, so the bound only keeps
 * a producer retrying in a tight loop from turning each retry into file system calls.
 */
const STORAGE_PROBE_BACKOFF_MS = 25;
/**
 * A client topic's log that went offline for writes comes back only once the file system has this
 * much free: what a failed append gives back (its cut tail) is left to the internal topics, so
 * that consumer groups can still join and commit while producers are held off a full disk.
 */
const CLIENT_WRITE_HEADROOM_BYTES = SPACE_RESERVE_BYTES;

/** Thrown by the injectFault command: escapes the loop and kills the thread, like an unexpected bug. */
class InjectedFault extends Error {}

const data = workerData as ShardWorkerData;
const requests = RingBuffer.from(data.requests);
const completions = RingBuffer.from(data.completions);
const mainSource: Source = { requests, completions, main: true };
/** The attached threads' ring pairs; their writers ring the main request ring's bell (wakesReaderOf). */
const attached: Source[] = [];
/**
 * The shard reads an attached thread's next request only while that thread's completion ring has
 * this much free: twice the largest answer (an error report is under 4 KiB, and a frame that
 * wraps needs its padding too), or half a smaller ring. So a thread that stops reading its
 * answers (blocked, or slow) holds up only its own requests, never the shard and the other
 * threads: the shard leaves a notice on the full ring (noticeWhenFree) and its reader rings the
 * bell once it has read enough. (A ring under 8 KiB could still make an error report wait.)
 */
const ATTACHED_ANSWER_ROOM_BYTES = 8192;
const states = PartitionStateTable.from(data.stateTable);
const partitions = new Map<number, OwnedPartition>();
const flushPending = new Set<number>();
/** The four AppendOptions an APPEND's flags select, indexed by the flag bits (no object per append). */
const APPEND_OPTIONS: readonly AppendOptions[] = [
  Object.freeze({ crcVerified: false, origin: 'client' }),
  Object.freeze({ crcVerified: true, origin: 'client' }),
  Object.freeze({ crcVerified: false, origin: 'coordinator' }),
  Object.freeze({ crcVerified: true, origin: 'coordinator' }),
];
const outcome: AppendOutcome = { baseOffset: 0, lastOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 };
const request: AppendRequest = { requestId: 0, slot: 0, acks: 0, flags: 0, batchesOffset: 0, batchesLength: 0 };
let nextRetentionMs = Date.now() + data.retentionCheckIntervalMs;
let running = true;
/**
 * What the logs repair (recovery cuts, deleted segments, rebuilt indexes, discarded snapshots,
 * interrupted cleans) and what fails in the background goes to the broker's logger as it happens:
 * a LOG message on the completion ring, so it is bounded (the shard waits while the ring is full,
 * as for any completion) and ordered with the answer of the command that caused it.
 */
const storageLogger: StorageLogger = {
  info: (message) => forwardLog(LOG_LEVEL_INFO, message),
  warn: (message) => forwardLog(LOG_LEVEL_WARN, message),
};
/**
 * Compaction of this shard's cleanup.policy=compact logs, checked on the retention timer. Its scans
 * run on a piscina pool whose answers arrive through this thread's event loop, so while a clean is
 * in flight the loop wakes every CLEANER_POLL_MS to let the event loop turn (see run).
 */
const cleaner = new LogCleaner<number>({ logger: storageLogger });
const CLEANER_POLL_MS = 5;

/**
 * The high watermark is the log end offset (a single broker has no replicas to wait for); the
 * last stable offset stops at the first offset of the oldest open transaction, so read_committed
 * readers never pass a record whose transaction is undecided.
 */
function publish(slot: number, log: PartitionLog, bumpEpoch: boolean): void {
  const end = log.logEndOffset;
  states.publish(slot, log.logStartOffset, end, end, log.lastStableOffset, bumpEpoch);
}

function hasFlushPolicy(config: LogConfig): boolean {
  return config.flushMessages !== null || config.flushMs !== null;
}

function owned(slot: number): OwnedPartition {
  const partition = partitions.get(slot);
  if (partition === undefined) throw new InvalidRequestError(`partition slot ${slot} is not open on shard ${data.shardId}`);
  return partition;
}

/**
 * Completion writes block while the ring is full: its reader drains it independently. An attached
 * thread's ring closed under the shard (the thread exited or crashed, and the broker released its
 * rings) drops the answer: nobody is left to read it, and the shard must not wait for one.
 */
function completeAppend(ring: RingBuffer, requestId: number, result: AppendOutcome): void {
  for (;;) {
    try {
      if (tryWriteAppended(ring, requestId, result)) return;
    } catch (error) {
      if (error instanceof ClosedError && ring !== completions) return;
      throw error;
    }
    ring.waitForSpace(APPENDED_PAYLOAD_BYTES, Infinity);
  }
}

function completeJson(ring: RingBuffer, tag: number, requestId: number, word: number, body: unknown): void {
  const payloadBytes = CONTROL_HEADER_BYTES + jsonMessageBytes(body).length;
  for (;;) {
    try {
      if (tryWriteJsonMessage(ring, tag, requestId, word, body)) return;
    } catch (error) {
      if (error instanceof ClosedError && ring !== completions) return;
      throw error;
    }
    ring.waitForSpace(payloadBytes, Infinity);
  }
}

function forwardLog(level: number, message: string): void {
  try {
    completeJson(completions, LOG_TAG, 0, level, clip(message));
  } catch (error) {
    // The broker closed the ring (it is gone): a repair must still be told, and a log line must never fail one.
    if (!(error instanceof ClosedError)) throw error;
    process.emitWarning(`shard ${data.shardId}: ${message}`, { type: 'SluiceStorageWarning' });
  }
}

function fail(ring: RingBuffer, requestId: number, error: unknown): void {
  completeJson(ring, FAILED_TAG, requestId, kafkaCodeOf(error), serializeError(error));
}

/**
 * Reopens a log that went offline for writes once a probe write succeeds (PartitionLog.reopenForWrites):
 * the new log replaces it, its timers run again, and readers drop their cached views (epoch bump),
 * since reopening cut whatever the failed write left.
 */
function bringBackOnline(slot: number, partition: OwnedPartition, nowMs: number): void {
  if (nowMs < partition.probeAfterMs) return;
  partition.probeAfterMs = nowMs + STORAGE_PROBE_BACKOFF_MS;
  if (!partition.internal && freeBytes(partition.log.dir) < CLIENT_WRITE_HEADROOM_BYTES) return;
  const cause = partition.log.offlineCause;
  const reopened = partition.log.reopenForWrites();
  if (reopened === null) return;
  cleaner.forget(slot);
  partition.log = reopened;
  partition.timersStopped = false;
  publish(slot, reopened, true);
  storageLogger.warn(`writes to ${reopened.dir} resumed: the file system takes them again (they had failed: ${cause?.errno})`);
}

function append(source: Source, requestId: number, slot: number, acks: number, flags: number, batchesOffset: number, batchesLength: number): void {
  const generation = flags >>> APPEND_GENERATION_SHIFT;
  const partition = generation === 0 ? owned(slot) : ownedAt(slot, generation);
  if (partition.log.offlineCause !== null) bringBackOnline(slot, partition, Date.now());
  // A Buffer over the ring's shared memory: the log validates and writes it without a copy.
  const ring = source.requests;
  const batches = Buffer.from(ring.bytes.buffer, ring.bytes.byteOffset + batchesOffset, batchesLength);
  let result: AppendResult;
  if ((flags & APPEND_FLAG_FOLLOWER) !== 0) {
    result = partition.log.appendAsFollower(batches);
    // The batches may carry a newer epoch: KIP-320 checks read it from the state table.
    states.publishLeaderEpoch(slot, partition.log.leaderEpoch);
  } else {
    let crcVerified = flags & APPEND_FLAG_CRC_VERIFIED;
    if ((flags & APPEND_FLAG_CRC_UNSET) !== 0) {
      fillBatchCrcs(batches);
      crcVerified = APPEND_FLAG_CRC_VERIFIED;
    }
    result = partition.log.append(batches, APPEND_OPTIONS[crcVerified | (flags & APPEND_FLAG_COORDINATOR)]);
  }
  publish(slot, partition.log, false);
  outcome.baseOffset = result.baseOffset;
  outcome.lastOffset = result.lastOffset;
  outcome.logAppendTimeMs = result.logAppendTimeMs;
  outcome.logStartOffset = result.logStartOffset;
  if (acks === -1 && partition.hasFlushPolicy && partition.log.flushedOffset <= result.lastOffset) {
    partition.awaitingFlush.push({ requestId, outcome: { ...outcome }, completions: source.completions });
    flushPending.add(slot);
  } else {
    completeAppend(source.completions, requestId, outcome);
  }
}

/** The partition an attached thread's append names, if the slot still holds the open it saw. */
function ownedAt(slot: number, generation: number): OwnedPartition {
  const partition = partitions.get(slot);
  if (partition === undefined || partition.generation !== generation) throw new StaleTopicMetadataError(data.shardId, slot);
  return partition;
}

/** Takes the rings the broker posted on the attach port for attachment `id`. */
function attach(id: number): void {
  const received = receiveMessageOnPort(data.attachPort);
  const rings = received?.message as AttachRings | undefined;
  if (rings === undefined || rings.id !== id) {
    throw new SluiceError('SHARD_PROTOCOL', `shard ${data.shardId} found no rings for attachment ${id} on its attach port`);
  }
  attached.push({ requests: RingBuffer.from(rings.requests), completions: RingBuffer.from(rings.completions), main: false });
}

/** Bytes of answer room an attached source needs before the shard reads one more of its requests. */
function answerRoomBytes(source: Source): number {
  return Math.min(ATTACHED_ANSWER_ROOM_BYTES, source.completions.capacityBytes / 2);
}

/** Whether an attached source has a request the shard can take now, or was closed by the broker. */
function attachedReady(source: Source): boolean {
  if (source.requests.closed && source.completions.closed) return true;
  return source.requests.hasUnread() && source.completions.hasFree(answerRoomBytes(source));
}

/** The loop's wait ends while any attached source is ready (checked after its sleep flag is raised). */
function anyAttachedReady(): boolean {
  for (let index = 0; index < attached.length; index++) if (attachedReady(attached[index])) return true;
  return false;
}

function control(command: ControlCommand): unknown {
  switch (command.op) {
    case 'open': {
      if (partitions.has(command.slot)) throw new InvalidRequestError(`partition slot ${command.slot} is already open`);
      const log = PartitionLog.open(command.dir, command.config, { logger: storageLogger });
      const config = log.config;
      partitions.set(command.slot, {
        log,
        generation: command.generation,
        deleteRetention: command.deleteRetention,
        hasFlushPolicy: hasFlushPolicy(config),
        awaitingFlush: [],
        timersStopped: false,
        probeAfterMs: 0,
        internal: command.internal === true,
      });
      publish(command.slot, log, true);
      states.publishLeaderEpoch(command.slot, log.leaderEpoch);
      const opened: OpenedPartition = {
        logStartOffset: log.logStartOffset,
        logEndOffset: log.logEndOffset,
        truncatedBytes: log.recovery.bytesTruncated,
        segmentsDeleted: log.recovery.segmentsDeleted,
        indexesRebuilt: log.recovery.indexesRebuilt,
        filesRemoved: log.recovery.filesRemoved.length,
        snapshotsDiscarded: log.producerStateRecovery.snapshotsDiscarded,
      };
      return opened;
    }
    case 'close': {
      const partition = partitions.get(command.slot);
      if (partition !== undefined) {
        partitions.delete(command.slot);
        cleaner.forget(command.slot);
        partition.log.close();
      }
      if (command.removeDirectory && partition !== undefined) rmSync(partition.log.dir, { recursive: true, force: true });
      return null;
    }
    case 'deleteRecords': {
      const { log } = owned(command.slot);
      const logStartOffset = log.deleteRecordsBefore(command.offset);
      publish(command.slot, log, true);
      return logStartOffset;
    }
    case 'truncate': {
      const { log } = owned(command.slot);
      const logEndOffset = log.truncateTo(command.offset, command.asFollower === true);
      publish(command.slot, log, true);
      states.publishLeaderEpoch(command.slot, log.leaderEpoch);
      return logEndOffset;
    }
    case 'becomeLeader': {
      const { log } = owned(command.slot);
      log.becomeLeader(command.epoch);
      states.publishLeaderEpoch(command.slot, log.leaderEpoch);
      return null;
    }
    case 'applyRetention': {
      const { log } = owned(command.slot);
      const result = log.applyRetention(command.nowMs);
      publish(command.slot, log, result.deletedSegments.length > 0);
      return result.logStartOffset;
    }
    case 'stats':
      return owned(command.slot).log.stats();
    case 'describeProducers':
      return owned(command.slot)
        .log.activeProducers()
        .map(
          (state): ActiveProducer => ({
            producerId: state.producerId,
            producerEpoch: state.producerEpoch,
            lastSequence: state.lastSequence,
            lastTimestampMs: state.lastTimestampMs,
            coordinatorEpoch: state.coordinatorEpoch,
            currentTxnStartOffset: state.currentTxnFirstOffset,
          }),
        );
    case 'updateConfig': {
      const partition = owned(command.slot);
      const config = partition.log.updateConfig(command.config);
      partition.deleteRetention = command.deleteRetention;
      partition.hasFlushPolicy = hasFlushPolicy(config);
      // A lower retention or a new roll setting is applied at the next timer turn, not a full interval later.
      nextRetentionMs = Date.now();
      return null;
    }
    case 'attach':
      attach(command.id);
      return null;
    case 'injectFault':
      throw new InjectedFault(`fault injected into shard ${data.shardId}`);
    case 'shutdown':
      running = false;
      closeAll();
      return null;
  }
}

function closeAll(): void {
  let firstError: unknown = null;
  for (const partition of partitions.values()) {
    try {
      partition.log.close();
    } catch (error) {
      firstError ??= error;
    }
  }
  partitions.clear();
  // Ends the cleaner threads too: the thread exits once they have.
  void cleaner.close();
  if (firstError !== null) throw firstError;
}

/**
 * Handles every request in the source's ring; returns when it is empty, or, for an attached
 * thread, when its completion ring lacks room for another answer (leaving a notice on it).
 */
function drain(source: Source): void {
  const ring = source.requests;
  const roomBytes = source.main ? 0 : answerRoomBytes(source);
  while ((source.main || source.completions.noticeWhenFree(roomBytes)) && ring.tryRead()) {
    const tag = ring.messageTag;
    const requestId = readRequestId(ring);
    try {
      if (tag === APPEND_TAG) {
        readAppend(ring, request);
        append(source, requestId, request.slot, request.acks, request.flags, request.batchesOffset, request.batchesLength);
      } else if (tag === CONTROL_TAG && source.main) {
        const command = readJsonBody<ControlCommand>(ring);
        if (command.op === 'injectFault') throw new InjectedFault(`fault injected into shard ${data.shardId}`);
        const result = control(command);
        completeJson(completions, CONTROLLED_TAG, requestId, 0, result);
      } else {
        throw new SluiceError('SHARD_PROTOCOL', `shard ${data.shardId} got a message with tag ${tag} it does not take on this ring`);
      }
    } catch (error) {
      if (error instanceof InjectedFault) throw error;
      fail(source.completions, requestId, error);
    }
    // The batch bytes were written (or rejected): give the room back to a waiting writer now.
    ring.release();
    if (!running) return;
  }
}

/**
 * Serves every attached thread's ring once. A ring the broker closed (its thread is gone) is
 * drained of what was published before the close, then dropped.
 */
function drainAttached(): void {
  for (let index = 0; index < attached.length && running; index++) {
    const source = attached[index];
    drain(source);
    // Closed by the broker (its thread is gone): the answer ring is closed too, so the drain
    // above took everything published before the close; drop the pair.
    if (source.requests.closed && source.completions.closed) {
      drain(source);
      attached.splice(index--, 1);
    }
  }
}

/** One fsync per partition answers every acks -1 append of the drain (group commit). */
function flushAwaiting(): void {
  for (const slot of flushPending) {
    const partition = partitions.get(slot);
    if (partition === undefined) continue;
    const waiting = partition.awaitingFlush.splice(0);
    try {
      partition.log.flush();
      for (const entry of waiting) completeAppend(entry.completions, entry.requestId, entry.outcome);
    } catch (error) {
      for (const entry of waiting) fail(entry.completions, entry.requestId, error);
    }
  }
  flushPending.clear();
}

/** Runs the due timers and returns how long the loop may sleep before the next one. */
function runTimers(nowMs: number): number {
  let nextDueMs = nextRetentionMs;
  for (const [slot, partition] of partitions) {
    // A log offline for writes has no timer work; its next append, or the retention tick, brings it back.
    if (partition.log.offlineCause !== null && nowMs >= nextRetentionMs) {
      try {
        bringBackOnline(slot, partition, nowMs);
      } catch (error) {
        storageLogger.warn(`reopening ${partition.log.dir} for writes failed: ${(error as Error).message}`);
      }
    }
    if (partition.timersStopped || partition.log.offlineCause !== null) continue;
    try {
      partition.log.maybeFlush(nowMs);
      if (nowMs >= nextRetentionMs && partition.deleteRetention) {
        const result = partition.log.applyRetention(nowMs);
        if (result.deletedSegments.length > 0) publish(slot, partition.log, true);
      }
      if (nowMs >= nextRetentionMs) cleaner.maybeClean(slot, partition.log, nowMs);
    } catch (error) {
      // The log stopped itself (fail-stop); its next request reports the cause to the caller.
      partition.timersStopped = true;
      storageLogger.warn(`timer work on ${partition.log.dir} failed: ${(error as Error).message}`);
      continue;
    }
    const flushDueMs = partition.log.flushDueAtMs();
    if (flushDueMs !== null && flushDueMs < nextDueMs) nextDueMs = flushDueMs;
  }
  if (nowMs >= nextRetentionMs) {
    nextRetentionMs = nowMs + data.retentionCheckIntervalMs;
    nextDueMs = Math.min(nextDueMs, nextRetentionMs);
  }
  return Math.max(0, nextDueMs - nowMs);
}

/** Swaps in finished cleans; readers of a cleaned log drop their cached views (epoch bump). */
function completeCleans(): void {
  for (const outcome of cleaner.completeFinished()) {
    if (outcome.groupsSwapped > 0 && partitions.get(outcome.key)?.log === outcome.log) publish(outcome.key, outcome.log, true);
  }
}

function run(): void {
  while (running) {
    drain(mainSource);
    if (attached.length > 0 && running) drainAttached();
    flushAwaiting();
    if (!running) break;
    completeCleans();
    const sleepMs = runTimers(Date.now());
    if (cleaner.inFlight > 0) {
      // A clean answers through the event loop: wait a little for requests, then let it turn.
      if (requests.waitForData(Math.min(sleepMs, CLEANER_POLL_MS), anyAttachedReady) === 'closed') break;
      setImmediate(run);
      return;
    }
    if (requests.waitForData(sleepMs, anyAttachedReady) === 'closed') break;
  }
  closeAll();
}

run();
