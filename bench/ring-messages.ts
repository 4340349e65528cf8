/**
 * Two small message layouts over the ring's reserve/commit, for the ring's own tests and
 * benchmark: an append request (a request id, a partition, then record batch bytes) and a
 * completion (a request id, an error code, a base offset). They exercise the ring the way a shard
 * uses it without the shard's full layouts (src/shard/shard-messages.ts). Fields are little-endian
 * at fixed offsets from the payload start, which the frame keeps 8-byte aligned.
 *
 * Compiled with the benchmarks, so a test's worker thread can load it from dist/ as well.
 */
import { SluiceError } from '../src/errors.js';
import type { RingBuffer } from '../src/shard/ring.js';

/** Tag of an append request: main thread -> worker. */
export const APPEND_REQUEST_TAG = 1;
/** Tag of a completion: worker -> main thread. */
export const COMPLETION_TAG = 2;

/** Append request payload: uint32 requestId, uint32 partition, then the record batch bytes. */
export const APPEND_REQUEST_HEADER_BYTES = 8;
/** Completion payload: uint32 requestId, int32 errorCode, float64 baseOffset (exact for safe integers). */
export const COMPLETION_PAYLOAD_BYTES = 16;

export interface AppendRequest {
  requestId: number;
  /** Partition id, as the writer numbers them. */
  partition: number;
  /** Offset of the record batch bytes in ring.bytes (valid until the ring's release()). */
  batchesOffset: number;
  batchesLength: number;
}

export interface Completion {
  requestId: number;
  /** 0 on success, else a Kafka error code. */
  errorCode: number;
  /** Offset assigned to the first record, -1 when there is none (an error). */
  baseOffset: number;
}

/**
 * Reserves an append request whose record batches the caller encodes straight into the ring at
 * the returned offset (in ring.bytes), then publishes with ring.commit(APPEND_REQUEST_TAG).
 * Returns -1 when the ring has no room now.
 */
export function reserveAppendRequest(ring: RingBuffer, requestId: number, partition: number, batchesLength: number): number {
  checkUint32(requestId, 'requestId');
  checkUint32(partition, 'partition');
  const offset = ring.reserve(APPEND_REQUEST_HEADER_BYTES + batchesLength);
  if (offset < 0) return -1;
  ring.view.setUint32(offset, requestId, true);
  ring.view.setUint32(offset + 4, partition, true);
  return offset + APPEND_REQUEST_HEADER_BYTES;
}

/** Copies `batches` into the ring as one append request; false when the ring has no room now. */
export function tryWriteAppendRequest(ring: RingBuffer, requestId: number, partition: number, batches: Uint8Array): boolean {
  const offset = reserveAppendRequest(ring, requestId, partition, batches.length);
  if (offset < 0) return false;
  ring.bytes.set(batches, offset);
  ring.commit(APPEND_REQUEST_TAG);
  return true;
}

/** Decodes the append request just returned by ring.tryRead() into `out` (reused, no allocation). */
export function readAppendRequest(ring: RingBuffer, out: AppendRequest): AppendRequest {
  if (ring.messageTag !== APPEND_REQUEST_TAG || ring.messageLength < APPEND_REQUEST_HEADER_BYTES) {
    throw misuse(`message (tag ${ring.messageTag}, ${ring.messageLength} bytes) is not an append request`);
  }
  const offset = ring.messageOffset;
  out.requestId = ring.view.getUint32(offset, true);
  out.partition = ring.view.getUint32(offset + 4, true);
  out.batchesOffset = offset + APPEND_REQUEST_HEADER_BYTES;
  out.batchesLength = ring.messageLength - APPEND_REQUEST_HEADER_BYTES;
  return out;
}

/** Writes a completion; false when the ring has no room now. */
export function tryWriteCompletion(ring: RingBuffer, requestId: number, errorCode: number, baseOffset: number): boolean {
  checkUint32(requestId, 'requestId');
  if ((errorCode | 0) !== errorCode) throw new RangeError(`errorCode ${errorCode} is not an int32`);
  if (!(Number.isSafeInteger(baseOffset) && baseOffset >= -1)) {
    throw new RangeError(`baseOffset ${baseOffset} must be -1 or a non-negative safe integer`);
  }
  const offset = ring.reserve(COMPLETION_PAYLOAD_BYTES);
  if (offset < 0) return false;
  ring.view.setUint32(offset, requestId, true);
  ring.view.setInt32(offset + 4, errorCode, true);
  ring.view.setFloat64(offset + 8, baseOffset, true);
  ring.commit(COMPLETION_TAG);
  return true;
}

/** Decodes the completion just returned by ring.tryRead() into `out` (reused, no allocation). */
export function readCompletion(ring: RingBuffer, out: Completion): Completion {
  if (ring.messageTag !== COMPLETION_TAG || ring.messageLength !== COMPLETION_PAYLOAD_BYTES) {
    throw misuse(`message (tag ${ring.messageTag}, ${ring.messageLength} bytes) is not a completion`);
  }
  const offset = ring.messageOffset;
  out.requestId = ring.view.getUint32(offset, true);
  out.errorCode = ring.view.getInt32(offset + 4, true);
  out.baseOffset = ring.view.getFloat64(offset + 8, true);
  return out;
}

function checkUint32(value: number, name: string): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff)) {
    throw new RangeError(`${name} ${value} is not a uint32`);
  }
}

function misuse(message: string): SluiceError {
  return new SluiceError('RING_MISUSE', message);
}
