/**
 * The walk over batch headers that every scan of a segment file shares (recovery, index lookups,
 * producer-state replay, the reader's fetches): no records decoded, no CRC checked, only what
 * keeps the walk itself sound.
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAGIC_V2,
  readBaseOffset,
  readLastOffsetDelta,
  readMaxTimestamp,
  readPartitionLeaderEpoch,
} from '../protocol/batch-header.js';
import type { FileWindow } from './durable-fs.js';
import { NO_TIMESTAMP } from './time-index.js';
import { INT32_MAX } from '../protocol/limits.js';

/**
 * Walks batch headers through a FileWindow without CRC checks, checking what makes the walk itself
 * sound: each header fits, has magic 2, a sane length, offsets that ascend and fit the segment.
 * On the first violation `next()` returns false and `problem` says why. Segments (the owner's
 * thread) and LogReader (readers' threads) walk the same files with it.
 */
export class BatchHeaderCursor {
  position = -1;
  sizeBytes = 0;
  baseOffset = 0;
  lastOffset = 0;
  maxTimestampMs = NO_TIMESTAMP;
  /** The epoch of the leader that appended the batch; -1 for batches written before epochs were kept. */
  partitionLeaderEpoch = -1;
  problem: string | null = null;
  private nextPosition: number;
  private minBaseOffset: number;

  constructor(
    private readonly window: FileWindow,
    private readonly fd: number,
    fromPosition: number,
    private readonly endPosition: number,
    private readonly segmentBaseOffset: number,
    private readonly upperBoundOffset: number | null,
  ) {
    this.nextPosition = fromPosition;
    this.minBaseOffset = segmentBaseOffset;
  }

  next(): boolean {
    const position = this.nextPosition;
    if (position >= this.endPosition || this.problem !== null) return false;
    const remaining = this.endPosition - position;
    if (remaining < BATCH_HEADER_BYTES) {
      this.problem = `${remaining} bytes at byte ${position} are too few for a batch header`;
      return false;
    }
    const at = this.window.load(this.fd, position, BATCH_HEADER_BYTES, this.endPosition);
    const buffer = this.window.buffer;
    const sizeBytes = buffer.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
    if (sizeBytes < BATCH_HEADER_BYTES || sizeBytes > remaining) {
      this.problem = `the batch at byte ${position} claims ${sizeBytes} bytes, ${remaining} remain`;
      return false;
    }
    if (buffer.readInt8(at + MAGIC_OFFSET) !== MAGIC_V2) {
      this.problem = `the batch at byte ${position} has magic ${buffer.readInt8(at + MAGIC_OFFSET)}, not 2`;
      return false;
    }
    const reason = checkOffsetsAndTimestamp(buffer, at, this.minBaseOffset, this.segmentBaseOffset, this.upperBoundOffset);
    if (reason !== null) {
      this.problem = `the batch at byte ${position}: ${reason}`;
      return false;
    }
    this.position = position;
    this.sizeBytes = sizeBytes;
    this.baseOffset = readBaseOffset(buffer, at);
    this.lastOffset = this.baseOffset + readLastOffsetDelta(buffer, at);
    this.maxTimestampMs = readMaxTimestamp(buffer, at);
    this.partitionLeaderEpoch = readPartitionLeaderEpoch(buffer, at);
    this.minBaseOffset = this.lastOffset + 1;
    this.nextPosition = position + sizeBytes;
    return true;
  }
}

/**
 * The header checks the CRC cannot make: baseOffset is outside the CRC (the log rewrites it), so a
 * damaged one is caught only by offsets failing to ascend or leaving the segment's range.
 */
export function checkOffsetsAndTimestamp(
  buffer: Buffer,
  at: number,
  minBaseOffset: number,
  segmentBaseOffset: number,
  upperBoundOffset: number | null,
): string | null {
  let baseOffset: number;
  try {
    baseOffset = readBaseOffset(buffer, at);
    readMaxTimestamp(buffer, at);
  } catch {
    return 'base offset or max timestamp outside the safe integer range';
  }
  const lastOffsetDelta = readLastOffsetDelta(buffer, at);
  if (lastOffsetDelta < 0) return `negative lastOffsetDelta ${lastOffsetDelta}`;
  if (baseOffset < minBaseOffset) {
    return `base offset ${baseOffset} is below ${minBaseOffset}: offsets must ascend`;
  }
  const lastOffset = baseOffset + lastOffsetDelta;
  if (lastOffset - segmentBaseOffset > INT32_MAX) {
    return `last offset ${lastOffset} is too far above the segment base ${segmentBaseOffset} for an int32 index`;
  }
  if (upperBoundOffset !== null && lastOffset >= upperBoundOffset) {
    return `last offset ${lastOffset} reaches the next segment's base offset ${upperBoundOffset}`;
  }
  return null;
}
