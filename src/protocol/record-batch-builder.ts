/**
 * Encodes records into a Kafka RecordBatch v2, for the producer's hot path.
 *
 * A builder owns one growable buffer. Each `append` writes the record's final bytes straight
 * into it, after 61 bytes reserved for the batch header, so `build()` of an uncompressed batch
 * only fills in the header and the CRC and hands out a view of that memory: no per-record
 * object, no copy. `reset()` empties the builder and keeps the memory for the next batch, so a
 * producer that reuses one builder per partition allocates nothing in the steady state (a
 * compressed build reuses a second buffer for the output the same way).
 */
import { crc32c } from '@node-rs/crc32';
import { InvalidConfigError, InvalidRecordError, RecordTooLargeError } from '../errors.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
} from './batch-header.js';
import {
  COMPRESSION_CODEC_IDS,
  checkCompressionType,
  compressRecords,
  lz4CompressFrame,
  lz4FrameBound,
  type CompressionType,
} from './compression.js';
import { writeInt64 } from './int64.js';
import type { RecordHeader, TimestampType } from './record-batch.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';
import { INT16_MAX, INT32_MAX } from './limits.js';

/** Header fields a producer (or the broker) chooses; the rest are computed from the records. */
export interface RecordBatchHeaderOptions {
  /** Offset of the first record. Producers send 0; the log assigns the real one. Default 0. */
  baseOffset?: number;
  /** Default -1 (none), what producers send. */
  partitionLeaderEpoch?: number;
  /** Default 'none'; any of Kafka's codecs. */
  compression?: CompressionType;
  /** Default 'create'. */
  timestampType?: TimestampType;
  /** The broker's append time, stored as maxTimestamp; required for timestampType 'logAppend'. */
  logAppendTimeMs?: number;
  /** Idempotent / transactional producer id; default -1 (none). */
  producerId?: number;
  /** Default -1 (none). */
  producerEpoch?: number;
  /** Sequence number of the first record; default -1 (none). */
  baseSequence?: number;
  /** Default false; true requires a producerId. */
  isTransactional?: boolean;
  /** Default false: control batches carry commit/abort markers (see control-record.ts). */
  isControl?: boolean;
}

export interface RecordBatchBuilderOptions extends RecordBatchHeaderOptions {
  /**
   * Starting size of the records buffer; it doubles when a batch needs more and keeps its size
   * across `reset()`. Default 16 KiB, Kafka's default batch.size.
   */
  initialCapacityBytes?: number;
}

const DEFAULT_INITIAL_CAPACITY_BYTES = 16 * 1024;
/** batchLength is an int32, so a batch is at most this many bytes. */
const MAX_BATCH_BYTES = INT32_MAX + LOG_OVERHEAD_BYTES;
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);
/** reset()'s default: keep every header field as it is. */
const NO_HEADER_CHANGES: RecordBatchHeaderOptions = Object.freeze({});
/** Kafka's RecordBatch.NO_TIMESTAMP. */
const NO_TIMESTAMP = -1;

interface HeaderFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  compression: CompressionType;
  timestampType: TimestampType;
  logAppendTimeMs: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
  isControl: boolean;
}

const DEFAULT_HEADER: Readonly<HeaderFields> = Object.freeze({
  baseOffset: 0,
  partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
  compression: 'none',
  timestampType: 'create',
  logAppendTimeMs: -1,
  producerId: NO_PRODUCER_ID,
  producerEpoch: NO_PRODUCER_EPOCH,
  baseSequence: NO_SEQUENCE,
  isTransactional: false,
  isControl: false,
});

export class RecordBatchBuilder {
  private header: HeaderFields;
  private buf: Buffer;
  /** Where the next record goes; records occupy [BATCH_HEADER_BYTES, end). */
  private end = BATCH_HEADER_BYTES;
  private count = 0;
  private baseTimestampMs = 0;
  private maxTimestampMs = 0;
  /** Reused output of compressed builds. */
  private compressedOut: Buffer | null = null;

  constructor(options: RecordBatchBuilderOptions = {}) {
    const { initialCapacityBytes = DEFAULT_INITIAL_CAPACITY_BYTES, ...header } = options;
    if (!Number.isSafeInteger(initialCapacityBytes) || initialCapacityBytes < BATCH_HEADER_BYTES) {
      throw new InvalidConfigError(
        `initialCapacityBytes must be an integer >= ${BATCH_HEADER_BYTES} (got ${initialCapacityBytes})`,
      );
    }
    this.header = checkHeaderOptions(DEFAULT_HEADER, header);
    this.buf = Buffer.allocUnsafe(initialCapacityBytes);
  }

  /** Records appended since the last reset. */
  get recordCount(): number {
    return this.count;
  }

  /** Bytes the batch would take if built now without compression, header included. */
  get sizeBytes(): number {
    return this.end;
  }

  /**
   * Empties the builder for the next batch, keeping its memory. Header fields given replace the
   * current ones; the others stay as they were. Views returned by `build()` become invalid.
   */
  reset(header: RecordBatchHeaderOptions = NO_HEADER_CHANGES): void {
    // The producer resets a pooled builder per batch, mostly with nothing to change: that skips
    // the option checks (an object spread and an entries walk per batch).
    if (header !== NO_HEADER_CHANGES) this.header = checkHeaderOptions(this.header, header);
    this.end = BATCH_HEADER_BYTES;
    this.count = 0;
  }

  /** The codec of the batches this builder makes. */
  get compression(): CompressionType {
    return this.header.compression;
  }

  /** Bytes `append` with these arguments would add to `sizeBytes` (arguments unvalidated). */
  appendSizeBytes(
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
  ): number {
    const bodyBytes = this.bodyBytesOf(key, value, headers, timestampMs);
    return sizeOfVarint(bodyBytes) + bodyBytes;
  }

  /**
   * The record's body bytes (its length prefix excluded) as the next append would encode it: what
   * appendValidated takes, so that a caller that sizes a record before appending it (the
   * producer, against batch.size and buffer.memory) does not size it twice.
   */
  bodyBytesOf(
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
  ): number {
    const timestampDelta = this.count === 0 ? 0 : timestampMs - this.baseTimestampMs;
    return recordBodyBytes(key, value, headers ?? NO_HEADERS, timestampDelta, this.count);
  }

  /**
   * Appends one record, its offset the next in the batch. `timestampMs` is the record's
   * CreateTime in milliseconds since the epoch (>= 0), or -1, Kafka's NO_TIMESTAMP, which a
   * record converted from message format v0 carries.
   */
  append(
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
  ): void {
    if (key !== null && !Buffer.isBuffer(key)) throw new InvalidRecordError('record key must be a Buffer or null');
    if (value !== null && !Buffer.isBuffer(value)) {
      throw new InvalidRecordError('record value must be a Buffer or null');
    }
    if (!Number.isSafeInteger(timestampMs) || timestampMs < NO_TIMESTAMP) {
      throw new InvalidRecordError(
        `record timestamp must be a non-negative integer of milliseconds since the epoch, or -1 for none (got ${timestampMs})`,
      );
    }
    if (headers !== null && headers !== undefined) checkHeaders(headers);
    this.appendValidated(key, value, headers, timestampMs, this.bodyBytesOf(key, value, headers, timestampMs));
  }

  /**
   * append() for a caller that has already checked the arguments as append does (Buffers or null,
   * a timestamp of -1 or more, well-formed headers) and sized the record with bodyBytesOf just
   * before, with the same arguments and no append in between.
   */
  appendValidated(
    key: Buffer | null,
    value: Buffer | null,
    headers: readonly RecordHeader[] | null,
    timestampMs: number,
    bodyBytes: number,
  ): void {
    const recordHeaders = headers ?? NO_HEADERS;
    const offsetDelta = this.count;
    if (offsetDelta === INT32_MAX) {
      throw new InvalidRecordError(`a record batch holds at most ${INT32_MAX} records; start a new batch`);
    }
    // The first record's timestamp is the batch's base; later ones are deltas from it (negative
    // when clocks or callers go back, which Kafka allows).
    const baseTimestampMs = offsetDelta === 0 ? timestampMs : this.baseTimestampMs;
    const timestampDelta = timestampMs - baseTimestampMs;
    const recordBytes = sizeOfVarint(bodyBytes) + bodyBytes;
    this.ensureCapacity(recordBytes);
    if (offsetDelta === 0 || timestampMs > this.maxTimestampMs) this.maxTimestampMs = timestampMs;
    this.baseTimestampMs = baseTimestampMs;

    const buf = this.buf;
    let pos = writeVarint(buf, this.end, bodyBytes);
    buf[pos++] = 0; // record attributes: unused by Kafka
    pos = writeVarlong(buf, pos, timestampDelta);
    pos = writeVarint(buf, pos, offsetDelta);
    pos = writeBytes(buf, pos, key);
    pos = writeBytes(buf, pos, value);
    pos = writeVarint(buf, pos, recordHeaders.length);
    for (let i = 0; i < recordHeaders.length; i++) {
      const header = recordHeaders[i];
      const keyBytes = Buffer.byteLength(header.key, 'utf8');
      pos = writeVarint(buf, pos, keyBytes);
      pos += buf.write(header.key, pos, keyBytes, 'utf8');
      pos = writeBytes(buf, pos, header.value);
    }
    if (pos !== this.end + recordBytes) {
      throw new Error(`invariant: record took ${pos - this.end} bytes, sized as ${recordBytes}`);
    }
    this.end = pos;
    this.count = offsetDelta + 1;
  }

  /**
   * Completes the batch: writes the header, compresses the records if asked, computes the CRC.
   * Returns a view of the builder's memory, valid until the next `reset()` (write or copy it
   * before reusing the builder). Throws if no record was appended: Kafka batches are not empty.
   * `fillCrc` false leaves the CRC field 0, for a broker in this process that computes it on its
   * own thread (fillBatchCrcs, ProduceOptions.crcUnset).
   */
  build(fillCrc = true): Buffer {
    if (this.count === 0) {
      throw new InvalidRecordError('cannot build a record batch without records; append at least one first');
    }
    const compression = this.header.compression;
    if (compression === 'none') {
      this.writeHeader(this.buf, this.end, fillCrc);
      return this.buf.subarray(0, this.end);
    }
    const records = this.buf.subarray(BATCH_HEADER_BYTES, this.end);
    if (compression === 'lz4') {
      // The frame is written straight into the reused output buffer: no allocation, no copy.
      const out = this.ensureCompressedOut(BATCH_HEADER_BYTES + lz4FrameBound(records.length));
      const sizeBytes = BATCH_HEADER_BYTES + lz4CompressFrame(records, out, BATCH_HEADER_BYTES);
      checkBatchSize(sizeBytes);
      this.writeHeader(out, sizeBytes, fillCrc);
      return out.subarray(0, sizeBytes);
    }
    const compressed = compressRecords(compression, records);
    const sizeBytes = BATCH_HEADER_BYTES + compressed.length;
    checkBatchSize(sizeBytes);
    const out = this.ensureCompressedOut(sizeBytes);
    out.set(compressed, BATCH_HEADER_BYTES);
    this.writeHeader(out, sizeBytes, fillCrc);
    return out.subarray(0, sizeBytes);
  }

  private ensureCompressedOut(bytes: number): Buffer {
    let out = this.compressedOut;
    if (out === null || out.length < bytes) {
      out = Buffer.allocUnsafe(Math.max(bytes, this.buf.length));
      this.compressedOut = out;
    }
    return out;
  }

  private writeHeader(out: Buffer, sizeBytes: number, fillCrc: boolean): void {
    const h = this.header;
    writeInt64(out, BASE_OFFSET_OFFSET, h.baseOffset);
    out.writeInt32BE(sizeBytes - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
    out.writeInt32BE(h.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
    out.writeInt8(MAGIC_V2, MAGIC_OFFSET);
    const attributes =
      COMPRESSION_CODEC_IDS[h.compression] |
      (h.timestampType === 'logAppend' ? TIMESTAMP_TYPE_MASK : 0) |
      (h.isTransactional ? TRANSACTIONAL_FLAG_MASK : 0) |
      (h.isControl ? CONTROL_FLAG_MASK : 0);
    out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
    out.writeInt32BE(this.count - 1, LAST_OFFSET_DELTA_OFFSET);
    writeInt64(out, BASE_TIMESTAMP_OFFSET, this.baseTimestampMs);
    writeInt64(out, MAX_TIMESTAMP_OFFSET, h.timestampType === 'logAppend' ? h.logAppendTimeMs : this.maxTimestampMs);
    writeInt64(out, PRODUCER_ID_OFFSET, h.producerId);
    out.writeInt16BE(h.producerEpoch, PRODUCER_EPOCH_OFFSET);
    out.writeInt32BE(h.baseSequence, BASE_SEQUENCE_OFFSET);
    out.writeInt32BE(this.count, RECORD_COUNT_OFFSET);
    out.writeUInt32BE(fillCrc ? crc32c(out.subarray(ATTRIBUTES_OFFSET, sizeBytes)) >>> 0 : 0, CRC_OFFSET);
  }

  private ensureCapacity(recordBytes: number): void {
    const needed = this.end + recordBytes;
    if (needed <= this.buf.length) return;
    checkBatchSize(needed);
    const grown = Buffer.allocUnsafe(Math.min(Math.max(needed, this.buf.length * 2), MAX_BATCH_BYTES));
    this.buf.copy(grown, 0, 0, this.end);
    this.buf = grown;
  }
}

function checkBatchSize(sizeBytes: number): void {
  if (sizeBytes > MAX_BATCH_BYTES) {
    throw new RecordTooLargeError(sizeBytes, MAX_BATCH_BYTES, 'the RecordBatch format limit (int32 batchLength)');
  }
}

function recordBodyBytes(
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly RecordHeader[],
  timestampDelta: number,
  offsetDelta: number,
): number {
  let bytes =
    1 + // attributes
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    (key === null ? 1 : sizeOfVarint(key.length) + key.length) +
    (value === null ? 1 : sizeOfVarint(value.length) + value.length) +
    sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    const keyBytes = Buffer.byteLength(header.key, 'utf8');
    const headerValue = header.value;
    bytes += sizeOfVarint(keyBytes) + keyBytes + (headerValue === null ? 1 : sizeOfVarint(headerValue.length) + headerValue.length);
  }
  return bytes;
}

/** Writes a varint length (-1 for null) and the bytes; returns the position after them. */
function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

function checkHeaders(headers: readonly RecordHeader[]): void {
  if (!Array.isArray(headers)) throw new InvalidRecordError('record headers must be an array of { key, value } or null');
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i] as RecordHeader | null | undefined;
    if (header === null || typeof header !== 'object' || typeof header.key !== 'string') {
      throw new InvalidRecordError(`record header ${i} must be { key: string, value: Buffer | null }`);
    }
    if (header.value !== null && !Buffer.isBuffer(header.value)) {
      throw new InvalidRecordError(`record header "${header.key}" value must be a Buffer or null`);
    }
  }
}

function checkHeaderOptions(base: Readonly<HeaderFields>, options: RecordBatchHeaderOptions): HeaderFields {
  if (options === null || typeof options !== 'object') {
    throw new InvalidConfigError('record batch header options must be an object');
  }
  const fields: HeaderFields = { ...base };
  for (const [name, given] of Object.entries(options)) {
    if (given === undefined) continue;
    if (!(name in DEFAULT_HEADER)) {
      throw new InvalidConfigError(
        `unknown record batch option "${name}"; known: initialCapacityBytes, ${Object.keys(DEFAULT_HEADER).join(', ')}`,
      );
    }
    (fields as unknown as Record<string, unknown>)[name] = given;
  }
  const integer = (name: keyof HeaderFields, min: number, max: number): void => {
    const v = fields[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidConfigError(`${name} must be an integer in [${min}, ${max}] (got ${String(v)})`);
    }
  };
  integer('baseOffset', 0, Number.MAX_SAFE_INTEGER);
  integer('partitionLeaderEpoch', NO_PARTITION_LEADER_EPOCH, INT32_MAX);
  integer('producerId', NO_PRODUCER_ID, Number.MAX_SAFE_INTEGER);
  integer('producerEpoch', NO_PRODUCER_EPOCH, INT16_MAX);
  integer('baseSequence', NO_SEQUENCE, INT32_MAX);
  fields.compression = checkCompressionType(fields.compression);
  if (fields.timestampType !== 'create' && fields.timestampType !== 'logAppend') {
    throw new InvalidConfigError(`timestampType must be "create" or "logAppend" (got ${JSON.stringify(fields.timestampType)})`);
  }
  if (fields.timestampType === 'logAppend') {
    integer('logAppendTimeMs', 0, Number.MAX_SAFE_INTEGER);
  }
  if (typeof fields.isTransactional !== 'boolean' || typeof fields.isControl !== 'boolean') {
    throw new InvalidConfigError('isTransactional and isControl must be booleans');
  }
  if (fields.isTransactional && fields.producerId === NO_PRODUCER_ID) {
    throw new InvalidConfigError('a transactional batch needs a producerId (>= 0); set producerId and producerEpoch');
  }
  return fields;
}

export interface RecordToEncode {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: readonly RecordHeader[] | null;
  /** CreateTime in ms; default: the time encodeRecordBatch was called. */
  timestampMs?: number;
}

export interface EncodeRecordBatchOptions extends RecordBatchHeaderOptions {
  records: readonly RecordToEncode[];
}

/**
 * Encodes `records` as one batch in a buffer of its own. A convenience over RecordBatchBuilder
 * for code off the hot path (tests, tools, control batches).
 */
export function encodeRecordBatch(options: EncodeRecordBatchOptions): Buffer {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.records)) {
    throw new InvalidRecordError('encodeRecordBatch needs { records: [...] }');
  }
  const { records, ...header } = options;
  const nowMs = Date.now();
  let estimateBytes = BATCH_HEADER_BYTES;
  for (const record of records) {
    // An upper bound per record: lengths and deltas take at most 5 + 10 + 5 varint bytes.
    estimateBytes += 32 + (record.key?.length ?? 0) + (record.value?.length ?? 0) + 16 * (record.headers?.length ?? 0);
  }
  const builder = new RecordBatchBuilder({ ...header, initialCapacityBytes: estimateBytes });
  for (const record of records) {
    builder.append(record.key ?? null, record.value, record.headers ?? null, record.timestampMs ?? nowMs);
  }
  // The builder's buffers are sized by an estimate; hand out a buffer of exactly the batch.
  return Buffer.from(builder.build());
}
