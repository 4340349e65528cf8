/**
 * The fixed 61-byte header of a Kafka RecordBatch (magic v2), as Kafka lays it out:
 *
 *   @0  baseOffset            int64    (not covered by the CRC: the log rewrites it on append)
 *   @8  batchLength           int32    bytes after this field (so the batch is batchLength + 12)
 *   @12 partitionLeaderEpoch  int32    (not covered by the CRC)
 *   @16 magic                 int8     = 2
 *   @17 crc                   uint32   CRC32C of the bytes from attributes to the end of the batch
 *   @21 attributes            int16    bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
 *   @23 lastOffsetDelta       int32
 *   @27 baseTimestamp         int64
 *   @35 maxTimestamp          int64
 *   @43 producerId            int64
 *   @51 producerEpoch         int16
 *   @53 baseSequence          int32
 *   @57 recordCount           int32
 *   @61 records...
 *
 * These functions read and validate headers in place, so the log and the server can handle
 * batches without decoding a single record.
 */
import { crc32c } from '@node-rs/crc32';
import { CorruptRecordError } from '../errors.js';
import { readInt64, writeInt64 } from './int64.js';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

/** baseOffset + batchLength: the bytes that precede what batchLength counts. */
export const LOG_OVERHEAD_BYTES = 12;
export const BATCH_HEADER_BYTES = RECORDS_OFFSET;
/** The smallest legal batchLength: the header after the length field, with no records. */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
export const MAGIC_V2 = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

/** Total size in bytes of the batch starting at `pos`, read from its length field (unvalidated). */
export function batchSizeAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
}

/**
 * Computes and stores the CRC32C of every whole batch in `buf`, for batches built with their CRC
 * left to the broker (RecordBatchBuilder.build(false)). Stops at the first length that does not
 * frame a whole batch: validation, which runs next, reports it.
 */
export function fillBatchCrcs(buf: Buffer): void {
  for (let pos = 0; pos + BATCH_HEADER_BYTES <= buf.length; ) {
    const sizeBytes = batchSizeAt(buf, pos);
    if (sizeBytes < BATCH_HEADER_BYTES || pos + sizeBytes > buf.length) return;
    buf.writeUInt32BE(computeBatchCrc(buf, pos, sizeBytes), pos + CRC_OFFSET);
    pos += sizeBytes;
  }
}

/** The CRC32C Kafka stores in a batch: from attributes to the end. */
export function computeBatchCrc(buf: Buffer, pos: number, sizeBytes: number): number {
  return crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + sizeBytes)) >>> 0;
}

/**
 * Checks that a whole, well-formed batch starts at `pos` and ends at or before `end`:
 * the length fits, the magic is 2, the CRC matches, the counts are sane. Returns its size.
 * Never reads outside [pos, end); throws CorruptRecordError naming `positionBase + pos`.
 *
 * `checkCrc = false` is for bytes whose CRC was already checked at the trust boundary (the
 * server's connection thread, or the embedded producer that computed it), so the single-writer
 * shard thread does not pay for a second pass over every byte; the structure is still checked.
 */
export function validateBatchAt(
  buf: Buffer,
  pos: number,
  end: number = buf.length,
  positionBase = 0,
  checkCrc = true,
): number {
  const where = positionBase + pos;
  const available = end - pos;
  if (available < LOG_OVERHEAD_BYTES) {
    throw new CorruptRecordError(where, `truncated: ${available} bytes, fewer than the 12-byte log overhead`);
  }
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN) {
    throw new CorruptRecordError(where, `batchLength ${batchLength} is below the minimum ${BATCH_LENGTH_MIN}`);
  }
  const size = batchLength + LOG_OVERHEAD_BYTES;
  if (size > available) {
    throw new CorruptRecordError(where, `truncated: batch needs ${size} bytes, only ${available} present`);
  }
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    throw new CorruptRecordError(where, `magic ${magic} is not supported; only RecordBatch v2 is`);
  }
  const stored = buf.readUInt32BE(pos + CRC_OFFSET);
  const computed = checkCrc ? computeBatchCrc(buf, pos, size) : stored;
  if (stored !== computed) {
    throw new CorruptRecordError(
      where,
      `CRC mismatch: stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`,
    );
  }
  const recordCount = buf.readInt32BE(pos + RECORD_COUNT_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  if (recordCount < 0) {
    throw new CorruptRecordError(where, `negative record count ${recordCount}`);
  }
  if (lastOffsetDelta < 0) {
    throw new CorruptRecordError(where, `negative lastOffsetDelta ${lastOffsetDelta}`);
  }
  // Each record takes at least 7 bytes uncompressed; compressed data can expand, but a count
  // far beyond what any codec could expand to is forged. Guard only the uncompressed case.
  const codec = buf.readInt16BE(pos + ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK;
  if (codec === 0 && recordCount > size - BATCH_HEADER_BYTES) {
    throw new CorruptRecordError(where, `record count ${recordCount} cannot fit in ${size - BATCH_HEADER_BYTES} bytes`);
  }
  return size;
}

export function readBaseOffset(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + BASE_OFFSET_OFFSET);
}

export function writeBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, baseOffset);
}

export function readPartitionLeaderEpoch(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/** The leader stamps its epoch on each batch it appends; the field lies outside the CRC. */
export function writePartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

export function readLastOffsetDelta(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
}

export function readMaxTimestamp(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + MAX_TIMESTAMP_OFFSET);
}

export function readAttributes(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
}

export function readRecordCount(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + RECORD_COUNT_OFFSET);
}

export function readProducerId(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + PRODUCER_ID_OFFSET);
}

export function readProducerEpoch(buf: Buffer, pos: number): number {
  return buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET);
}

export function readBaseSequence(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET);
}

export function isControlBatch(attributes: number): boolean {
  return (attributes & CONTROL_FLAG_MASK) !== 0;
}

export function isTransactionalBatch(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
}
