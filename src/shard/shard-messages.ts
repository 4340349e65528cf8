/**
 * The messages between the broker's thread and a shard worker, carried by the two rings of
 * ring.ts (requests one way, completions the other). Fixed little-endian fields at the start of
 * each payload (8-byte aligned by the ring), so the data plane never structured-clones anything.
 *
 *   APPEND      uint32 requestId, uint32 slot, int32 acks, uint32 flags, then whole record batches;
 *               flags bits 0-3 are APPEND_FLAG_*, bits 4-31 the open generation of the slot the
 *               writer expects (0: not checked; see APPEND_GENERATION_SHIFT)
 *   CONTROL     uint32 requestId, uint32 0, then a JSON command (rare: open, close, truncate...)
 *   APPENDED    uint32 requestId, int32 0, float64 baseOffset, lastOffset, logAppendTimeMs,
 *               logStartOffset
 *   CONTROLLED  uint32 requestId, uint32 0, then the JSON result
 *   FAILED      uint32 requestId, int32 Kafka error code, then the JSON of the error
 *   LOG         uint32 0, int32 level (0 info, 1 warn), then the JSON of the message: what the
 *               shard's logs repaired or failed at, as it happens (bounded by the ring, clipped)
 *
 * APPEND carries the acks the shard must honour, and APPENDED everything a ProduceResult needs:
 * base and last offset, LogAppendTime, log start offset.
 *
 * Errors cross the thread boundary as (class name, message, own fields) and are rebuilt on the
 * other side as instances of the same class from errors.ts, so callers can still use instanceof.
 */
import * as errors from '../errors.js';
import type { LogConfig } from '../storage/log-config.js';
import type { RingBuffer } from './ring.js';

export const APPEND_TAG = 16;
export const CONTROL_TAG = 17;
export const APPENDED_TAG = 18;
export const CONTROLLED_TAG = 19;
export const FAILED_TAG = 20;
export const LOG_TAG = 21;
export const LOG_LEVEL_INFO = 0;
export const LOG_LEVEL_WARN = 1;

export const APPEND_HEADER_BYTES = 16;
/** APPEND flag: every batch's CRC32C was checked upstream; the shard skips that pass. */
export const APPEND_FLAG_CRC_VERIFIED = 1;
/** APPEND flag: the transaction coordinator writes (markers): Kafka's AppendOrigin.COORDINATOR, no sequence checks. */
export const APPEND_FLAG_COORDINATOR = 2;
/**
 * APPEND flag: the batches' CRC32C fields are not filled in; the shard computes them in place
 * before the append (the bytes are then as verified). Sluice's own producer sends this, so that
 * the CRC pass runs on the shard's thread instead of the caller's; bytes from the wire never do.
 */
export const APPEND_FLAG_CRC_UNSET = 4;
/**
 * APPEND flag: a follower stores its leader's batches as they are (PartitionLog.appendAsFollower):
 * offsets, epochs and CRCs unchanged; the other flags are ignored.
 */
export const APPEND_FLAG_FOLLOWER = 8;
/**
 * An APPEND's flags above this bit carry the generation ShardPool gave the slot's open: a thread
 * attached to the broker writes it from its metadata, and the shard refuses the append when the
 * slot was closed or reopened since (its topic deleted or recreated), so a stale snapshot never
 * appends to another partition's log. The broker's own appends carry 0 (checked at the call).
 */
export const APPEND_GENERATION_SHIFT = 4;
/** Generations run from 1 to this, then wrap to 1. */
export const MAX_APPEND_GENERATION = 2 ** (32 - APPEND_GENERATION_SHIFT) - 1;
export const CONTROL_HEADER_BYTES = 8;
export const APPENDED_PAYLOAD_BYTES = 40;
export const FAILED_HEADER_BYTES = 8;

/** Commands of the control plane, answered in order with the append requests around them. */
export type ControlCommand =
  | { op: 'open'; slot: number; generation: number; dir: string; config: LogConfig; deleteRetention: boolean; internal?: boolean }
  /**
   * A thread attached to the broker gets its own pair of rings on this shard: their
   * SharedArrayBuffers wait on the shard's attach port (an AttachRings message with this id).
   */
  | { op: 'attach'; id: number }
  | { op: 'close'; slot: number; removeDirectory: boolean }
  | { op: 'deleteRecords'; slot: number; offset: number }
  /** asFollower: Kafka's follower truncation (PartitionLog.truncateTo). */
  | { op: 'truncate'; slot: number; offset: number; asFollower?: boolean }
  /** Kafka's makeLeader for the log: the partition's leader epoch becomes `epoch` from its log end (cluster mode). */
  | { op: 'becomeLeader'; slot: number; epoch: number }
  | { op: 'applyRetention'; slot: number; nowMs: number }
  | { op: 'stats'; slot: number }
  | { op: 'describeProducers'; slot: number }
  /** A topic config change (AlterConfigs): the open log takes the new settings. */
  | { op: 'updateConfig'; slot: number; config: LogConfig; deleteRetention: boolean }
  /** Fault injection: the shard throws out of its loop and dies, as a bug would make it. */
  | { op: 'injectFault' }
  | { op: 'shutdown' };

/** What the broker posts on a shard's attach port before the 'attach' command that names it. */
export interface AttachRings {
  id: number;
  /** The attached thread writes, the shard reads. */
  requests: SharedArrayBuffer;
  /** The shard writes, the attached thread reads. */
  completions: SharedArrayBuffer;
}

/** A producer a partition's log remembers (Kafka's DescribeProducers ProducerState). */
export interface ActiveProducer {
  producerId: number;
  producerEpoch: number;
  /** The last sequence of its newest batch, or -1. */
  lastSequence: number;
  lastTimestampMs: number;
  /** The coordinator epoch of its last marker, or -1. */
  coordinatorEpoch: number;
  /** The first offset of its open transaction, or -1. */
  currentTxnStartOffset: number;
}

export interface OpenedPartition {
  logStartOffset: number;
  logEndOffset: number;
  /** Bytes recovery cut from torn segment tails (0 after a clean shutdown). */
  truncatedBytes: number;
  /** Segments deleted because an earlier one was cut. */
  segmentsDeleted: number;
  /** Segments whose index files were rewritten to match their log. */
  indexesRebuilt: number;
  /** Leftovers of interrupted work removed (checkpoint writes, segment deletions, log cleans). */
  filesRemoved: number;
  /** Producer-state snapshots that failed their checks and were deleted. */
  snapshotsDiscarded: number;
}

export interface AppendOutcome {
  baseOffset: number;
  lastOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
}

export interface SerializedError {
  name: string;
  message: string;
  code: string;
  retriable: boolean;
  fields: Record<string, unknown>;
}

const KAFKA_CODES: Readonly<Record<string, number>> = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  CLOSED: 56,
  CORRUPT_FILE: 56,
};

/** Kafka's error code for an error (UNKNOWN_SERVER_ERROR, -1, when there is no closer one). */
export function kafkaCodeOf(error: unknown): number {
  if (error instanceof errors.KafkaApiError) return error.kafkaErrorCode;
  if (error instanceof errors.SluiceError) return KAFKA_CODES[error.code] ?? -1;
  return -1;
}

/** Longest error or log text carried back, so that a report always fits the completion ring (>= 4 KiB). */
const MAX_ERROR_TEXT_CHARS = 1024;

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: clip(String(error)), code: 'UNKNOWN_SERVER_ERROR', retriable: false, fields: {} };
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'code' || key === 'retriable' || key === 'name') continue;
    if (value === null || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
    else if (typeof value === 'string') fields[key] = clip(value);
  }
  const sluice = error instanceof errors.SluiceError;
  return {
    name: error.name,
    message: clip(error.message),
    code: sluice ? error.code : ((error as NodeJS.ErrnoException).code ?? 'UNKNOWN_SERVER_ERROR'),
    retriable: sluice ? error.retriable : false,
    fields,
  };
}

export function clip(text: string): string {
  return text.length <= MAX_ERROR_TEXT_CHARS ? text : `${text.slice(0, MAX_ERROR_TEXT_CHARS)}...`;
}

/**
 * The error as an instance of its original class when errors.ts has it, else a SluiceError.
 * `origin` names where it was thrown (`shard 2`), in place of the stack it lost crossing threads.
 */
export function reviveError(serialized: SerializedError, origin: string): Error {
  const candidate = (errors as Record<string, unknown>)[serialized.name];
  const isSluiceClass = typeof candidate === 'function' && candidate.prototype instanceof errors.SluiceError;
  const prototype = isSluiceClass ? (candidate as { prototype: object }).prototype : errors.SluiceError.prototype;
  const error = Object.create(prototype) as errors.SluiceError;
  Object.defineProperties(error, {
    message: { value: serialized.message, writable: true, configurable: true },
    name: { value: isSluiceClass ? serialized.name : 'SluiceError', writable: true, configurable: true },
    code: { value: serialized.code, enumerable: true, configurable: true },
    retriable: { value: serialized.retriable, enumerable: true, configurable: true },
    stack: { value: `${serialized.name}: ${serialized.message}\n    at ${origin}`, writable: true, configurable: true },
  });
  for (const [key, value] of Object.entries(serialized.fields)) {
    Object.defineProperty(error, key, { value, enumerable: true, configurable: true });
  }
  return error;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes a message with an 8-byte header (uint32 requestId, int32 word) and a JSON body; false if full. */
export function tryWriteJsonMessage(ring: RingBuffer, tag: number, requestId: number, word: number, body: unknown): boolean {
  const json = encoder.encode(JSON.stringify(body));
  const offset = ring.reserve(CONTROL_HEADER_BYTES + json.length);
  if (offset < 0) return false;
  ring.view.setUint32(offset, requestId, true);
  ring.view.setInt32(offset + 4, word, true);
  ring.bytes.set(json, offset + CONTROL_HEADER_BYTES);
  ring.commit(tag);
  return true;
}

/** Bytes a JSON message needs in the ring, to check it fits before queueing it. */
export function jsonMessageBytes(body: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(body));
}

/** The JSON body of the message just read from `ring`. */
export function readJsonBody<T>(ring: RingBuffer): T {
  const start = ring.messageOffset + CONTROL_HEADER_BYTES;
  const end = ring.messageOffset + ring.messageLength;
  // TextDecoder refuses views of shared memory: copy the (small, rare) body out first.
  return JSON.parse(decoder.decode(ring.bytes.slice(start, end))) as T;
}

/** An APPEND as the shard reads it: the header's fields, and where its batches lie in ring.bytes. */
export interface AppendRequest {
  requestId: number;
  slot: number;
  acks: number;
  /** APPEND_FLAG_* bits. */
  flags: number;
  /** Offset of the batch bytes in ring.bytes: valid, in place, until the ring's release(). */
  batchesOffset: number;
  batchesLength: number;
}

/**
 * Reserves an APPEND of `batchesLength` batch bytes and writes its header; returns the offset in
 * ring.bytes where the caller puts the batches before ring.commit(APPEND_TAG), or -1 when the
 * ring has no room now.
 */
export function reserveAppend(ring: RingBuffer, requestId: number, slot: number, acks: number, flags: number, batchesLength: number): number {
  const offset = ring.reserve(APPEND_HEADER_BYTES + batchesLength);
  if (offset < 0) return -1;
  ring.view.setUint32(offset, requestId, true);
  ring.view.setUint32(offset + 4, slot, true);
  ring.view.setInt32(offset + 8, acks, true);
  ring.view.setUint32(offset + 12, flags, true);
  return offset + APPEND_HEADER_BYTES;
}

/** Copies `batches` into the ring as one APPEND; false when the ring has no room now. */
export function tryWriteAppend(ring: RingBuffer, requestId: number, slot: number, acks: number, flags: number, batches: Uint8Array): boolean {
  const batchesOffset = reserveAppend(ring, requestId, slot, acks, flags, batches.length);
  if (batchesOffset < 0) return false;
  ring.bytes.set(batches, batchesOffset);
  ring.commit(APPEND_TAG);
  return true;
}

/** Decodes the APPEND just returned by ring.tryRead() into `out` (reused: no allocation). */
export function readAppend(ring: RingBuffer, out: AppendRequest): AppendRequest {
  const offset = ring.messageOffset;
  out.requestId = ring.view.getUint32(offset, true);
  out.slot = ring.view.getUint32(offset + 4, true);
  out.acks = ring.view.getInt32(offset + 8, true);
  out.flags = ring.view.getUint32(offset + 12, true);
  out.batchesOffset = offset + APPEND_HEADER_BYTES;
  out.batchesLength = ring.messageLength - APPEND_HEADER_BYTES;
  return out;
}

export function readRequestId(ring: RingBuffer): number {
  return ring.view.getUint32(ring.messageOffset, true);
}

function writeAppended(ring: RingBuffer, offset: number, requestId: number, outcome: AppendOutcome): void {
  ring.view.setUint32(offset, requestId, true);
  ring.view.setInt32(offset + 4, 0, true);
  ring.view.setFloat64(offset + 8, outcome.baseOffset, true);
  ring.view.setFloat64(offset + 16, outcome.lastOffset, true);
  ring.view.setFloat64(offset + 24, outcome.logAppendTimeMs, true);
  ring.view.setFloat64(offset + 32, outcome.logStartOffset, true);
}

/** Writes an APPENDED; false when the ring has no room now. */
export function tryWriteAppended(ring: RingBuffer, requestId: number, outcome: AppendOutcome): boolean {
  const offset = ring.reserve(APPENDED_PAYLOAD_BYTES);
  if (offset < 0) return false;
  writeAppended(ring, offset, requestId, outcome);
  ring.commit(APPENDED_TAG);
  return true;
}

export function readAppended(ring: RingBuffer, out: AppendOutcome): AppendOutcome {
  const offset = ring.messageOffset;
  out.baseOffset = ring.view.getFloat64(offset + 8, true);
  out.lastOffset = ring.view.getFloat64(offset + 16, true);
  out.logAppendTimeMs = ring.view.getFloat64(offset + 24, true);
  out.logStartOffset = ring.view.getFloat64(offset + 32, true);
  return out;
}
