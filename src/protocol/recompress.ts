/**
 * Kafka's broker-side recompression, as its LogValidator does it: a topic whose compression.type
 * names a codec stores every data batch in that codec, whatever codec the producer chose;
 * "producer" (the default) keeps the producer's batches byte for byte, and so does a codec that
 * matches the batch's own (Kafka's in-place path).
 *
 * A recompressed batch keeps every header field (base offset, leader epoch, timestamps and their
 * type, producer id, epoch and base sequence, transactional flag) and every record byte: only the
 * codec bits of its attributes, its records section, its length and its CRC change. Kafka's
 * rebuild gives the same result for a valid v2 batch, whose records already carry the offset and
 * timestamp deltas it would write. Control batches (transaction markers) are never recompressed:
 * Kafka keeps uncompressed ones as they are, and only the broker writes them.
 */
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  COMPRESSION_CODEC_MASK,
  CRC_OFFSET,
  LOG_OVERHEAD_BYTES,
  batchSizeAt,
  computeBatchCrc,
  isControlBatch,
  readAttributes,
} from './batch-header.js';
import {
  COMPRESSION_CODEC_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compressRecords,
  compressionTypeOfId,
  decompressRecords,
  type CompressionType,
} from './compression.js';

/** A topic's compression.type (Kafka's BrokerCompressionType): a topic says "uncompressed" where a producer says "none". */
export type BrokerCompressionType = 'producer' | 'uncompressed' | Exclude<CompressionType, 'none'>;

export const BROKER_COMPRESSION_TYPES: readonly BrokerCompressionType[] = Object.freeze([
  'producer',
  'uncompressed',
  'gzip',
  'snappy',
  'lz4',
  'zstd',
]);

/** Kafka's BrokerCompressionType.targetCompression: the codec id a batch written with `producerCodecId` is stored in. */
export function targetCodecId(setting: BrokerCompressionType, producerCodecId: number): number {
  if (setting === 'producer') return producerCodecId;
  return setting === 'uncompressed' ? COMPRESSION_CODEC_IDS.none : COMPRESSION_CODEC_IDS[setting];
}

/**
 * The batches in `batches[0, byteLength)` as a topic with compression.type `setting` stores them.
 * Returns `batches` itself, untouched, when no batch needs a new codec (always so for "producer"),
 * so the common path costs a walk over the batch headers and no copy; otherwise a new buffer
 * holding every batch, the recompressed ones rebuilt and re-CRCed. The batches must have been
 * validated (lengths, CRCs); a records section that does not decompress throws CorruptRecordError
 * at its batch's position.
 */
export function recompressBatches(
  batches: Buffer,
  byteLength: number,
  setting: BrokerCompressionType,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Buffer {
  if (setting === 'producer') return batches;
  let rebuilt: Buffer[] | null = null;
  for (let position = 0; position < byteLength; ) {
    const sizeBytes = batchSizeAt(batches, position);
    const attributes = readAttributes(batches, position);
    const sourceCodecId = attributes & COMPRESSION_CODEC_MASK;
    const targetId = targetCodecId(setting, sourceCodecId);
    const batch = batches.subarray(position, position + sizeBytes);
    if (sourceCodecId === targetId || isControlBatch(attributes)) {
      rebuilt?.push(batch);
    } else {
      if (rebuilt === null) rebuilt = position === 0 ? [] : [batches.subarray(0, position)];
      rebuilt.push(recompressBatch(batch, targetId, maxDecompressedBytes, position));
    }
    position += sizeBytes;
  }
  return rebuilt === null ? batches : Buffer.concat(rebuilt);
}

/** One validated batch with its records section in codec `targetCodecId`, header fields kept. */
export function recompressBatch(
  batch: Buffer,
  targetCodecId: number,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  position = 0,
): Buffer {
  const targetCodec = compressionTypeOfId(targetCodecId);
  if (targetCodec === undefined) throw new RangeError(`compression codec id ${targetCodecId} is not defined by Kafka`);
  const attributes = readAttributes(batch, 0);
  const sourceCodecId = attributes & COMPRESSION_CODEC_MASK;
  const stored = batch.subarray(BATCH_HEADER_BYTES);
  const records =
    sourceCodecId === COMPRESSION_CODEC_IDS.none ? stored : decompressRecords(sourceCodecId, stored, maxDecompressedBytes, position);
  const section = targetCodec === 'none' ? records : compressRecords(targetCodec, records);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + section.length);
  batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
  section.copy(out, BATCH_HEADER_BYTES);
  out.writeInt16BE((attributes & ~COMPRESSION_CODEC_MASK) | targetCodecId, ATTRIBUTES_OFFSET);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), CRC_OFFSET);
  return out;
}
