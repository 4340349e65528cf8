/**
 * Kafka's legacy MessageSets (message format v0 and v1, magic 0 and 1), which Produce v0-v2 carry
 * and Fetch v0-v3 clients read, converted to and from RecordBatch v2, the only format the log
 * stores. Kafka's broker does the same conversions (LogValidator when appending, RecordsUtil's
 * down-conversion when serving an old Fetch).
 *
 *   MessageSet => [offset int64, messageSize int32, Message]
 *   Message    => crc uint32      CRC32 (IEEE) of everything after it
 *                 magic int8      0 or 1
 *                 attributes int8 bits 0-2 codec, bit 3 timestamp type (magic 1 only)
 *                 timestamp int64 magic 1 only
 *                 key bytes       int32 length, -1 for null
 *                 value bytes     int32 length, -1 for null
 *
 * A compressed message (a "wrapper") carries a null key and, as its value, a compressed MessageSet
 * of uncompressed inner messages of the same magic. Inner offsets are absolute under magic 0 and
 * relative to the first inner message under magic 1 (KIP-31), the wrapper holding the last
 * offset. gzip, snappy and lz4 are legal; zstd is not (KIP-110). LZ4 under magic 0 keeps Kafka's
 * historical frame-header checksum, computed over the frame's magic number as well as its
 * descriptor (KAFKA-3160): it is written that way for magic 0 and repaired before decompression.
 *
 * Up-conversion (Kafka's LogValidator rules for a Produce v0-v2 request): all messages of a set
 * share one magic; a compressed wrapper must be the set's only message; every message's CRC is
 * checked (CORRUPT_MESSAGE), inner messages must match the wrapper's magic and be uncompressed
 * (INVALID_RECORD); a trailing partial message is dropped, as Kafka trims it. The result is one
 * v2 batch in the wrapper's codec (or uncompressed), magic 0 records with no timestamp (-1). The
 * key, timestamp and size rules of the topic are then the log's, applied to that batch as Kafka
 * applies them to the converted records.
 *
 * Down-conversion (RecordsUtil.downConvert): control batches are dropped, headers are dropped,
 * transactional and idempotent data is served like any other (old clients read uncommitted
 * only), zstd batches cannot be converted (UNSUPPORTED_COMPRESSION_TYPE). An uncompressed batch
 * becomes one message per record, leaving out records before the fetch offset; a compressed one
 * becomes one wrapper holding all its records, as Kafka does (the client skips those before its
 * offset).
 */
import { crc32 } from '@node-rs/crc32';
import { CorruptRecordError, InvalidRecordError, KafkaApiError, RecordValidationError } from '../errors.js';
import { COMPRESSION_CODEC_MASK, MAGIC_OFFSET, MAGIC_V2, TIMESTAMP_TYPE_MASK } from './batch-header.js';
import {
  COMPRESSION_CODEC_IDS,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  compressRecords, compressionTypeOfId, decompressRecords, type CompressionType } from './compression.js';
import { readInt64, writeInt64 } from './int64.js';
import { RecordBatchBuilder } from './record-batch-builder.js';
import { RecordBatchIterator, RecordView } from './record-batch-reader.js';

export const MAGIC_V0 = 0;
export const MAGIC_V1 = 1;
export type LegacyMagic = typeof MAGIC_V0 | typeof MAGIC_V1;

/** Kafka's RecordBatch.NO_TIMESTAMP: what a magic 0 message's records carry once converted. */
const NO_TIMESTAMP = -1;
/** offset int64 + messageSize int32. */
const LOG_OVERHEAD_BYTES = 12;
const SIZE_OFFSET = 8;
const CRC_OFFSET = 12;
const ATTRIBUTES_OFFSET = 17;
const TIMESTAMP_OFFSET = 18;
/** crc, magic, attributes, key and value lengths. */
const RECORD_OVERHEAD_V0 = 14;
/** v0's, plus the timestamp. */
const RECORD_OVERHEAD_V1 = 22;

/** Fetch v0-v1 clients read magic 0, v2-v3 magic 1 (KafkaApis.handleFetchRequest); v4+ read v2 batches. */
export function fetchMagic(fetchVersion: number): LegacyMagic | null {
  if (fetchVersion <= 1) return MAGIC_V0;
  return fetchVersion <= 3 ? MAGIC_V1 : null;
}

/** True when a produced records section starts with a magic 0 or 1 message. */
export function isLegacyMessageSet(records: Buffer): boolean {
  return records.length > MAGIC_OFFSET && records[MAGIC_OFFSET] < MAGIC_V2;
}

function recordOverhead(magic: number): number {
  return magic === MAGIC_V0 ? RECORD_OVERHEAD_V0 : RECORD_OVERHEAD_V1;
}

/** One message, parsed in place: key and value are slices of the input. */
interface LegacyMessage {
  /** Where the message's offset field starts, and where the next one does. */
  start: number;
  end: number;
  magic: number;
  attributes: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * The whole message at `pos` of `set`, checked (size, magic, CRC, lengths), or null when the set
 * ends before it does. `where` names the set in errors; `position` is the set's first byte.
 */
function readMessage(set: Buffer, pos: number, where: string, position: number): LegacyMessage | null {
  if (set.length - pos < LOG_OVERHEAD_BYTES) return null;
  const size = set.readInt32BE(pos + SIZE_OFFSET);
  if (size < RECORD_OVERHEAD_V0) {
    throw new CorruptRecordError(position + pos, `${where}: message size ${size} is below the smallest message (${RECORD_OVERHEAD_V0} bytes)`);
  }
  const end = pos + LOG_OVERHEAD_BYTES + size;
  if (end > set.length) return null;
  const magic = set[pos + MAGIC_OFFSET];
  if (magic === MAGIC_V2) {
    // A record batch after legacy messages: Kafka refuses the mix as a set of two formats.
    throw new InvalidRecordError(`${where}: a magic 2 record batch follows magic 0/1 messages; a message set has one format`);
  }
  if (magic !== MAGIC_V0 && magic !== MAGIC_V1) {
    throw new CorruptRecordError(position + pos, `${where}: message magic ${magic} is not a legacy format (0 or 1)`);
  }
  if (size < recordOverhead(magic)) {
    throw new CorruptRecordError(position + pos, `${where}: message size ${size} is below a magic ${magic} message's ${recordOverhead(magic)} bytes`);
  }
  const storedCrc = set.readUInt32BE(pos + CRC_OFFSET);
  const crc = crc32(set.subarray(pos + MAGIC_OFFSET, end));
  if (crc !== storedCrc) {
    throw new CorruptRecordError(position + pos, `${where}: message CRC ${storedCrc} does not match its bytes (CRC32 ${crc})`);
  }
  let cursor = pos + (magic === MAGIC_V0 ? TIMESTAMP_OFFSET : TIMESTAMP_OFFSET + 8);
  let timestamp = NO_TIMESTAMP;
  if (magic === MAGIC_V1) {
    try {
      timestamp = readInt64(set, pos + TIMESTAMP_OFFSET);
    } catch {
      throw new RecordValidationError('INVALID_TIMESTAMP', `${where}: a message timestamp is beyond what the log holds`, [
        { batchIndex: 0, message: `timestamp ${set.readBigInt64BE(pos + TIMESTAMP_OFFSET)} is outside ±(2^53 - 1) ms` },
      ]);
    }
  }
  const readBytes = (what: string): Buffer | null => {
    const length = set.readInt32BE(cursor);
    cursor += 4;
    if (length < 0) {
      if (length !== -1) throw new CorruptRecordError(position + pos, `${where}: message ${what} length ${length} is negative`);
      return null;
    }
    // The value's length field must still fit after the key; the value must end the message.
    const room = end - cursor - (what === 'key' ? 4 : 0);
    if (length > room) throw new CorruptRecordError(position + pos, `${where}: message ${what} of ${length} bytes overruns the message`);
    const bytes = set.subarray(cursor, cursor + length);
    cursor += length;
    return bytes;
  };
  const key = readBytes('key');
  const value = readBytes('value');
  if (cursor !== end) {
    throw new CorruptRecordError(position + pos, `${where}: ${end - cursor} bytes follow the message's value inside its size`);
  }
  return { start: pos, end, magic, attributes: set[pos + ATTRIBUTES_OFFSET], timestamp, key, value };
}

/**
 * The messages of a Produce v0-v2 records section as one RecordBatch v2, offsets from 0, ready
 * for the log's validation. Throws CorruptRecordError (CORRUPT_MESSAGE), InvalidRecordError
 * (INVALID_RECORD) or RecordValidationError, as Kafka refuses such a set.
 */
export function upConvertMessageSet(set: Buffer, maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  const messages: LegacyMessage[] = [];
  for (let pos = 0; ; ) {
    const message = readMessage(set, pos, 'produced message set', 0);
    if (message === null) break;
    messages.push(message);
    pos = message.end;
  }
  if (messages.length === 0) {
    throw new InvalidRecordError(`the produced message set (${set.length} bytes) holds no whole message`);
  }
  const magic = messages[0].magic;
  for (const message of messages) {
    if (message.magic !== magic) {
      throw new InvalidRecordError(`message magic ${message.magic} is not the same as the first message's magic ${magic}; a message set has one format`);
    }
  }
  const codecId = messages.length === 1 ? messages[0].attributes & COMPRESSION_CODEC_MASK : compressedCodecOf(messages);
  const logAppendTime = magic === MAGIC_V1 && (messages[0].attributes & TIMESTAMP_TYPE_MASK) !== 0;
  let records = messages;
  let compression: CompressionType = 'none';
  if (codecId !== COMPRESSION_CODEC_IDS.none) {
    compression = legacyCodec(codecId, 'a produced wrapper message');
    records = innerMessages(messages[0], compression, maxDecompressedBytes);
  }
  const builder = new RecordBatchBuilder({
    compression,
    // Kafka refuses a producer's LogAppendTime only where the topic's rules say so (LogValidator's
    // validateTimestamp), which the log applies to the converted batch: the type travels with it.
    timestampType: logAppendTime ? 'logAppend' : 'create',
    logAppendTimeMs: logAppendTime ? Math.max(0, messages[0].timestamp) : -1,
    initialCapacityBytes: Math.max(64, set.length + records.length * 8),
  });
  const timestampErrors: { batchIndex: number; message: string }[] = [];
  for (let index = 0; index < records.length; index++) {
    const record = records[index];
    if (record.timestamp < NO_TIMESTAMP) {
      timestampErrors.push({ batchIndex: index, message: `timestamp ${record.timestamp} is negative and not -1 (no timestamp)` });
      continue;
    }
    if (timestampErrors.length === 0) builder.append(record.key, record.value, null, record.timestamp);
  }
  if (timestampErrors.length > 0) {
    throw new RecordValidationError('INVALID_TIMESTAMP', 'one or more messages have an invalid timestamp', timestampErrors);
  }
  return Buffer.from(builder.build());
}

/** Codec of a set of several messages: only uncompressed ones may share a set. */
function compressedCodecOf(messages: LegacyMessage[]): number {
  for (const message of messages) {
    if ((message.attributes & COMPRESSION_CODEC_MASK) !== COMPRESSION_CODEC_IDS.none) {
      throw new InvalidRecordError('a compressed wrapper message must be the only message of its set (compressed outer record has more than one batch)');
    }
  }
  return COMPRESSION_CODEC_IDS.none;
}

function legacyCodec(codecId: number, what: string): CompressionType {
  const type = compressionTypeOfId(codecId);
  if (type === undefined || type === 'none' || type === 'zstd') {
    throw new InvalidRecordError(`${what} uses compression codec id ${codecId}; message formats 0 and 1 allow gzip (1), snappy (2) and lz4 (3)`);
  }
  return type;
}

/** A wrapper's inner messages, decompressed and checked as Kafka checks deep entries. */
function innerMessages(wrapper: LegacyMessage, compression: CompressionType, maxDecompressedBytes: number): LegacyMessage[] {
  if (wrapper.value === null) throw new InvalidRecordError('a compressed wrapper message has a null value; it must hold the compressed messages');
  const compressed = compression === 'lz4' && wrapper.magic === MAGIC_V0 ? withProperLz4HeaderChecksum(wrapper.value) : wrapper.value;
  const inner = decompressRecords(COMPRESSION_CODEC_IDS[compression], compressed, maxDecompressedBytes, wrapper.start);
  const messages: LegacyMessage[] = [];
  const errors: { batchIndex: number; message: string }[] = [];
  for (let pos = 0; pos < inner.length; ) {
    const message = readMessage(inner, pos, 'inner message of a compressed wrapper', wrapper.start);
    if (message === null) throw new CorruptRecordError(wrapper.start, `the wrapper's inner message set ends inside a message (byte ${pos})`);
    if (message.magic !== wrapper.magic) {
      errors.push({ batchIndex: messages.length, message: `inner message magic ${message.magic} does not match its wrapper's magic ${wrapper.magic}` });
    } else if ((message.attributes & COMPRESSION_CODEC_MASK) !== COMPRESSION_CODEC_IDS.none) {
      errors.push({ batchIndex: messages.length, message: 'a compressed wrapper\'s inner message may not itself be compressed' });
    }
    messages.push(message);
    pos = message.end;
  }
  if (errors.length > 0) throw new RecordValidationError('INVALID_RECORD', 'one or more inner messages are invalid', errors);
  if (messages.length === 0) throw new InvalidRecordError('a compressed wrapper message holds no inner message');
  return messages;
}

export interface DownConverted {
  /** Legacy messages, back to back. */
  readonly records: Buffer;
  /** True when data was left out to stay within the byte limit (the client fetches it next). */
  readonly truncated: boolean;
}

/**
 * A Fetch v0-v3 answer for one partition: the v2 batches `read(offset)` returns (whole batches,
 * as the log hands them out), down-converted to `magic`. Bounded by `limitBytes`, except that the
 * first converted message or wrapper is always whole (a consumer must be able to progress). When
 * a read converts to nothing (only control batches, or records before the fetch offset), the log
 * is read again after it, so a transaction marker never stalls an old consumer.
 */
export function downConvertFetched(
  first: Buffer,
  read: (offset: number) => Buffer,
  magic: LegacyMagic,
  fetchOffset: number,
  limitBytes: number,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): DownConverted {
  const out = new LegacyWriter(magic);
  let batches = first;
  for (;;) {
    const nextOffset = convertBatches(batches, out, fetchOffset, limitBytes, maxDecompressedBytes);
    if (out.bytes > 0 || nextOffset === null) return { records: out.finish(), truncated: out.truncated };
    batches = read(nextOffset);
  }
}

/** Converts what fits; returns the offset after the last batch when nothing was written and batches were read, else null. */
function convertBatches(batches: Buffer, out: LegacyWriter, fetchOffset: number, limitBytes: number, maxDecompressedBytes: number): number | null {
  const iterator = new RecordBatchIterator(batches, { maxDecompressedBytes });
  const view = new RecordView();
  let nextOffset: number | null = null;
  for (let header = iterator.nextBatch(view); header !== null; header = iterator.nextBatch(view)) {
    nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    if (header.isControl) continue;
    if (header.compression === 'zstd') {
      throw new KafkaApiError('UNSUPPORTED_COMPRESSION_TYPE', 76, 'zstd batches cannot be down-converted for Fetch v0-v3 clients; fetch with v10 or later');
    }
    const logAppendTime = header.timestampType === 'logAppend';
    if (header.compression === 'none') {
      for (let i = 0; i < header.recordCount; i++) {
        iterator.nextRecord(view);
        if (view.offset < fetchOffset) continue;
        if (!out.fits(view, limitBytes)) return null;
        out.message(view.offset, logAppendTime, view.timestamp, view.key(), view.value(), 0, out.body);
      }
    } else {
      if (!out.wrapper(iterator, view, header.recordCount, header.compression, logAppendTime, header.maxTimestamp, limitBytes)) return null;
    }
  }
  return out.bytes > 0 ? null : nextOffset;
}

/** Writes legacy messages into a growing buffer. */
class LegacyWriter {
  readonly body: Growable = new Growable();
  private readonly inner: Growable = new Growable();
  truncated = false;

  constructor(private readonly magic: LegacyMagic) {}

  get bytes(): number {
    return this.body.length;
  }

  /** Whether an uncompressed message for `view` stays within the limit (the first one always does). */
  fits(view: RecordView, limitBytes: number): boolean {
    const size = LOG_OVERHEAD_BYTES + recordOverhead(this.magic) + Math.max(0, view.keyLength) + Math.max(0, view.valueLength);
    if (this.body.length > 0 && this.body.length + size > limitBytes) {
      this.truncated = true;
      return false;
    }
    return true;
  }

  /** One message: `attributes` carries a wrapper's codec; the timestamp type bit is added here. */
  message(offset: number, logAppendTime: boolean, timestamp: number, key: Buffer | null, value: Buffer | null, codecId: number, into: Growable): void {
    const magic = this.magic;
    const size = recordOverhead(magic) + (key?.length ?? 0) + (value?.length ?? 0);
    const start = into.reserve(LOG_OVERHEAD_BYTES + size);
    const buf = into.buf;
    writeInt64(buf, start, offset);
    buf.writeInt32BE(size, start + SIZE_OFFSET);
    buf[start + MAGIC_OFFSET] = magic;
    buf[start + ATTRIBUTES_OFFSET] = codecId | (magic === MAGIC_V1 && logAppendTime ? TIMESTAMP_TYPE_MASK : 0);
    let pos = start + TIMESTAMP_OFFSET;
    if (magic === MAGIC_V1) {
      writeInt64(buf, pos, timestamp);
      pos += 8;
    }
    pos = writeBytes(buf, pos, key);
    pos = writeBytes(buf, pos, value);
    buf.writeUInt32BE(crc32(buf.subarray(start + MAGIC_OFFSET, pos)), start + CRC_OFFSET);
  }

  /**
   * A compressed batch's records as one wrapper (Kafka's convertRecordBatch): inner offsets
   * absolute under magic 0, relative to the first record under magic 1; the wrapper holds the last
   * offset and, under magic 1, the log append time or the largest record timestamp.
   */
  wrapper(
    iterator: RecordBatchIterator,
    view: RecordView,
    count: number,
    compression: CompressionType,
    logAppendTime: boolean,
    maxTimestamp: number,
    limitBytes: number,
  ): boolean {
    const inner = this.inner;
    inner.length = 0;
    let firstOffset = 0;
    let lastOffset = 0;
    let largestTimestamp = NO_TIMESTAMP;
    for (let i = 0; i < count; i++) {
      iterator.nextRecord(view);
      if (i === 0) firstOffset = view.offset;
      lastOffset = view.offset;
      if (view.timestamp > largestTimestamp) largestTimestamp = view.timestamp;
      const offset = this.magic === MAGIC_V0 ? view.offset : view.offset - firstOffset;
      this.message(offset, logAppendTime, view.timestamp, view.key(), view.value(), COMPRESSION_CODEC_IDS.none, inner);
    }
    let compressed = compressRecords(compression, inner.buf.subarray(0, inner.length));
    if (compression === 'lz4' && this.magic === MAGIC_V0) compressed = withBrokenLz4HeaderChecksum(compressed);
    const size = LOG_OVERHEAD_BYTES + recordOverhead(this.magic) + compressed.length;
    if (this.body.length > 0 && this.body.length + size > limitBytes) {
      this.truncated = true;
      return false;
    }
    this.message(lastOffset, logAppendTime, logAppendTime ? maxTimestamp : largestTimestamp, null, compressed, COMPRESSION_CODEC_IDS[compression], this.body);
    return true;
  }

  finish(): Buffer {
    return this.body.buf.subarray(0, this.body.length);
  }
}

/** A byte buffer that doubles as it fills. */
class Growable {
  buf: Buffer = Buffer.allocUnsafe(0);
  length = 0;

  /** Makes room for `bytes` more; returns where they go. */
  reserve(bytes: number): number {
    const start = this.length;
    if (start + bytes > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(start + bytes, this.buf.length * 2, 1024));
      this.buf.copy(grown, 0, 0, start);
      this.buf = grown;
    }
    this.length = start + bytes;
    return start;
  }
}

function writeBytes(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf.writeInt32BE(-1, pos);
    return pos + 4;
  }
  buf.writeInt32BE(bytes.length, pos);
  bytes.copy(buf, pos + 4);
  return pos + 4 + bytes.length;
}

// LZ4 frame descriptor: magic (4 bytes), FLG, BD, optional content size (8) and dictionary id (4), HC.
const LZ4_DESCRIPTOR_OFFSET = 4;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_DICT_ID = 0x01;

/** Where a frame's header checksum byte is, or -1 for a header too short to hold one. */
function lz4HeaderChecksumOffset(frame: Buffer): number {
  if (frame.length < 7) return -1;
  const flg = frame[LZ4_DESCRIPTOR_OFFSET];
  const offset = LZ4_DESCRIPTOR_OFFSET + 2 + ((flg & LZ4_FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + ((flg & LZ4_FLG_DICT_ID) !== 0 ? 4 : 0);
  return offset < frame.length ? offset : -1;
}

/** The descriptor checksum the LZ4 frame format defines: the second byte of XXH32 over FLG..end of descriptor. */
function lz4HeaderChecksum(frame: Buffer, from: number, to: number): number {
  return (xxh32(frame.subarray(from, to)) >>> 8) & 0xff;
}

/**
 * A magic 0 lz4 value with the standard header checksum, for the decompressor: Kafka before 0.10
 * (and librdkafka for magic 0) compute it over the frame's magic number too. A frame whose
 * checksum is already the standard one is left alone, as librdkafka reads both.
 */
function withProperLz4HeaderChecksum(frame: Buffer): Buffer {
  const at = lz4HeaderChecksumOffset(frame);
  if (at < 0) return frame;
  const proper = lz4HeaderChecksum(frame, LZ4_DESCRIPTOR_OFFSET, at);
  if (frame[at] === proper || frame[at] !== lz4HeaderChecksum(frame, 0, at)) return frame;
  const fixed = Buffer.from(frame);
  fixed[at] = proper;
  return fixed;
}

/** The magic 0 form of a standard lz4 frame (KAFKA-3160): the checksum Kafka's 0.8/0.9 readers expect. */
function withBrokenLz4HeaderChecksum(frame: Buffer): Buffer {
  const at = lz4HeaderChecksumOffset(frame);
  if (at >= 0) frame[at] = lz4HeaderChecksum(frame, 0, at);
  return frame;
}

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** XXH32 with seed 0, for the few bytes of an LZ4 frame descriptor (no native binding exposes it). */
export function xxh32(input: Buffer): number {
  const length = input.length;
  let pos = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (PRIME32_1 + PRIME32_2) >>> 0;
    let v2 = PRIME32_2;
    let v3 = 0;
    let v4 = (0 - PRIME32_1) >>> 0;
    const round = (acc: number, lane: number): number => Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) >>> 0, 13), PRIME32_1) >>> 0;
    for (; pos + 16 <= length; pos += 16) {
      v1 = round(v1, input.readUInt32LE(pos));
      v2 = round(v2, input.readUInt32LE(pos + 4));
      v3 = round(v3, input.readUInt32LE(pos + 8));
      v4 = round(v4, input.readUInt32LE(pos + 12));
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) >>> 0;
  } else {
    h = PRIME32_5;
  }
  h = (h + length) >>> 0;
  for (; pos + 4 <= length; pos += 4) {
    h = Math.imul(rotl32((h + Math.imul(input.readUInt32LE(pos), PRIME32_3)) >>> 0, 17), PRIME32_4) >>> 0;
  }
  for (; pos < length; pos++) {
    h = Math.imul(rotl32((h + Math.imul(input[pos], PRIME32_5)) >>> 0, 11), PRIME32_1) >>> 0;
  }
  h = Math.imul(h ^ (h >>> 15), PRIME32_2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), PRIME32_3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
