/**
 * Kafka RecordBatch v2: the types shared by the encoder and the decoder, and the one import for
 * everything the codec offers.
 *
 * A record inside a batch is laid out as Kafka's DefaultRecord:
 *
 *   length          varint   bytes of the record after this field
 *   attributes      int8     unused by Kafka, written as 0
 *   timestampDelta  varlong  timestamp - batch baseTimestamp
 *   offsetDelta     varint   offset - batch baseOffset
 *   keyLength       varint   -1 for a null key
 *   key             bytes
 *   valueLength     varint   -1 for a null value
 *   value           bytes
 *   headerCount     varint
 *   headers         headerCount x (keyLength varint, key utf-8, valueLength varint (-1 = null), value)
 */
import type { CompressionType } from './compression.js';

/** CreateTime: the producer's timestamp per record. LogAppendTime: the broker's, in maxTimestamp. */
export type TimestampType = 'create' | 'logAppend';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** The fields of a batch's 61-byte header, decoded, plus the batch's size in bytes. */
export interface RecordBatchHeader {
  baseOffset: number;
  lastOffsetDelta: number;
  partitionLeaderEpoch: number;
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  /** Bytes the batch occupies in the buffer (or log), header included. */
  sizeBytes: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  /** A slice of the batch (or of its decompressed records), not a copy. */
  key: Buffer | null;
  /** A slice of the batch (or of its decompressed records), not a copy. */
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedRecordBatch extends RecordBatchHeader {
  records: DecodedRecord[];
}

export {
  COMPRESSION_CODEC_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type CompressionType,
} from './compression.js';
export {
  RecordBatchBuilder,
  encodeRecordBatch,
  type EncodeRecordBatchOptions,
  type RecordBatchBuilderOptions,
  type RecordBatchHeaderOptions,
  type RecordToEncode,
} from './record-batch-builder.js';
export {
  RecordView,
  decodeRecordBatch,
  decodeRecordBatches,
  forEachRecord,
  type DecodeOptions,
  type RecordVisitor,
} from './record-batch-reader.js';
export {
  encodeControlBatch,
  parseControlRecord,
  type ControlBatchOptions,
  type ControlRecord,
  type EndTransactionMarkerType,
} from './control-record.js';
