/**
 * Compression of a RecordBatch's records section, with Kafka's codec ids (attributes bits 0-2):
 * none 0, gzip 1, snappy 2, lz4 3, zstd 4.
 *
 * - gzip: node:zlib, the gzip container Kafka's GZIPOutputStream writes.
 * - lz4: the standard LZ4 *frame* format with a correct header checksum, as Kafka writes it since
 *   message format v1 (KIP-57), through lz4-napi's synchronous frame functions.
 * - snappy, zstd: not supported; both directions throw UnsupportedCompressionError.
 *
 * Everything is synchronous on purpose: the codec runs inside shard worker threads, where an
 * async hop per batch would cost more than it frees.
 *
 * Cost note: lz4-napi returns a fresh Buffer per call, allocated by the addon's own allocator
 * (mimalloc). When those pages are new to the process the kernel zeroes them on first touch,
 * which on a busy machine costs several times the decompression itself (profiled: clear_page
 * under the copy into the output); the lz4 rows of bench/codec.bench.ts show it. An addon API
 * that decompresses into a caller-owned buffer would remove it.
 *
 * Decompression is bounded: forged input must not make us allocate more than
 * `maxDecompressedBytes`. gzip enforces it inside zlib (`maxOutputLength`). For lz4 the frame's
 * block headers are walked first (no decompression) and each compressed block counted at the most
 * it can inflate to: 255 output bytes per input byte (LZ4's ceiling: a match length grows by 255
 * per extension byte), capped at the frame's block maximum size. The bound is known before a byte
 * is inflated; as encoders fill every block but the last, it exceeds the true size by less than
 * one block (64 KiB to 4 MiB), and small sections are bounded by 255 times their size.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { CorruptRecordError, InvalidConfigError, UnsupportedCompressionError } from '../errors.js';

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_CODEC_IDS: Readonly<Record<CompressionType, number>> = Object.freeze({
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
});

const COMPRESSION_TYPES_BY_ID: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/**
 * Default cap on a batch's decompressed records section: 64 MiB. Kafka's largest legitimate
 * batches are bounded by max.message.bytes (1 MiB by default) compressed; 64 MiB leaves room for
 * generous configurations and extreme ratios while keeping a forged batch from taking the heap.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** The codec name for an attributes codec id, or undefined for ids Kafka does not define (5-7). */
export function compressionTypeOfId(codecId: number): CompressionType | undefined {
  return COMPRESSION_TYPES_BY_ID[codecId];
}

/**
 * Validates a user-supplied compression setting: a known name that Sluice can encode.
 * Unknown names are a configuration mistake; snappy and zstd are known but unsupported.
 */
export function checkCompressionType(value: unknown, settingName = 'compression'): CompressionType {
  if (typeof value !== 'string' || !(COMPRESSION_TYPES_BY_ID as readonly string[]).includes(value)) {
    throw new InvalidConfigError(
      `${settingName} must be one of "none", "gzip", "lz4" (got ${JSON.stringify(value)})`,
    );
  }
  const type = value as CompressionType;
  if (type === 'snappy' || type === 'zstd') throw new UnsupportedCompressionError(type);
  return type;
}

/** Compresses a records section. `type` must not be 'none'. */
export function compressRecords(type: CompressionType, records: Buffer): Buffer {
  switch (type) {
    case 'gzip':
      return gzipSync(records);
    case 'lz4':
      return compressFrameSync(records);
    case 'snappy':
    case 'zstd':
      throw new UnsupportedCompressionError(type);
    case 'none':
      throw new RangeError('compressRecords called for an uncompressed batch');
  }
}

/**
 * Decompresses a records section written with codec `codecId`. Bad bytes, or output that would
 * exceed `maxDecompressedBytes`, throw CorruptRecordError naming `position` (where the batch
 * starts); snappy and zstd throw UnsupportedCompressionError.
 */
export function decompressRecords(
  codecId: number,
  compressed: Buffer,
  maxDecompressedBytes: number,
  position: number,
): Buffer {
  const type = compressionTypeOfId(codecId);
  switch (type) {
    case 'gzip':
      return gunzipBounded(compressed, maxDecompressedBytes, position);
    case 'lz4':
      return lz4DecompressBounded(compressed, maxDecompressedBytes, position);
    case 'snappy':
    case 'zstd':
      throw new UnsupportedCompressionError(type);
    case 'none':
    case undefined:
      throw new CorruptRecordError(position, `compression codec id ${codecId} is not a compressed codec`);
  }
}

function limitReason(maxDecompressedBytes: number, what: string): string {
  return (
    `${what} exceeds maxDecompressedBytes (${maxDecompressedBytes}); ` +
    `raise maxDecompressedBytes if such batches are legitimate`
  );
}

function gunzipBounded(compressed: Buffer, maxDecompressedBytes: number, position: number): Buffer {
  try {
    return gunzipSync(compressed, { maxOutputLength: maxDecompressedBytes });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CorruptRecordError(position, limitReason(maxDecompressedBytes, 'gzip records section'));
    }
    throw new CorruptRecordError(position, `gzip records section does not inflate: ${(error as Error).message}`);
  }
}

function lz4DecompressBounded(compressed: Buffer, maxDecompressedBytes: number, position: number): Buffer {
  const bound = lz4FramesDecompressedBound(compressed, position);
  if (bound > maxDecompressedBytes) {
    throw new CorruptRecordError(
      position,
      limitReason(maxDecompressedBytes, `lz4 records section (up to ${bound} bytes by its block headers)`),
    );
  }
  let records: Buffer;
  try {
    records = decompressFrameSync(compressed);
  } catch (error) {
    throw new CorruptRecordError(position, `lz4 records section does not decompress: ${(error as Error).message}`);
  }
  if (records.length > bound) {
    throw new Error(`invariant: lz4 output of ${records.length} bytes exceeds its frame bound ${bound}`);
  }
  return records;
}

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_FLG_VERSION_MASK = 0xc0;
const LZ4_FLG_VERSION_01 = 0x40;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_RESERVED = 0x02;
const LZ4_FLG_DICT_ID = 0x01;
const LZ4_BD_RESERVED = 0x8f;
const LZ4_BLOCK_UNCOMPRESSED_FLAG = 0x8000_0000;
const LZ4_MAX_EXPANSION_RATIO = 255;
const LZ4_BLOCK_MAX_BYTES_BY_ID: Readonly<Record<number, number>> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};

/**
 * Walks one or more consecutive LZ4 frames filling `data` exactly and returns an upper bound of
 * their decompressed size, without decompressing. Throws CorruptRecordError for anything that is
 * not a well-formed frame sequence (bad magic, version, reserved bits, block size, truncation).
 */
export function lz4FramesDecompressedBound(data: Buffer, position: number): number {
  const fail = (at: number, reason: string): never => {
    throw new CorruptRecordError(position, `lz4 frame at byte ${at} of the records section: ${reason}`);
  };
  let pos = 0;
  let bound = 0;
  if (data.length === 0) fail(0, 'empty, expected a frame');
  while (pos < data.length) {
    if (data.length - pos < 7) fail(pos, 'truncated frame header');
    if (data.readUInt32LE(pos) !== LZ4_FRAME_MAGIC) fail(pos, 'bad magic number');
    const flg = data[pos + 4];
    const bd = data[pos + 5];
    if ((flg & LZ4_FLG_VERSION_MASK) !== LZ4_FLG_VERSION_01) fail(pos, `unsupported frame version in FLG 0x${flg.toString(16)}`);
    if ((flg & LZ4_FLG_RESERVED) !== 0 || (bd & LZ4_BD_RESERVED) !== 0) fail(pos, 'reserved bits set');
    if ((flg & LZ4_FLG_DICT_ID) !== 0) fail(pos, 'dictionary frames are not used by Kafka');
    const blockMaxBytes = LZ4_BLOCK_MAX_BYTES_BY_ID[(bd >> 4) & 0x07];
    if (blockMaxBytes === undefined) fail(pos, `invalid block maximum size id ${(bd >> 4) & 0x07}`);
    const hasBlockChecksum = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
    pos += 6 + ((flg & LZ4_FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + 1; // descriptor, content size, HC
    for (;;) {
      if (data.length - pos < 4) fail(pos, 'truncated block header');
      const header = data.readUInt32LE(pos);
      pos += 4;
      if (header === 0) break; // EndMark
      const blockBytes = header & ~LZ4_BLOCK_UNCOMPRESSED_FLAG;
      if (blockBytes > blockMaxBytes) fail(pos - 4, `block of ${blockBytes} bytes exceeds the frame's ${blockMaxBytes}`);
      pos += blockBytes + (hasBlockChecksum ? 4 : 0);
      if (pos > data.length) fail(pos, 'truncated block');
      bound +=
        (header & LZ4_BLOCK_UNCOMPRESSED_FLAG) !== 0
          ? blockBytes
          : Math.min(blockMaxBytes, blockBytes * LZ4_MAX_EXPANSION_RATIO);
    }
    if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) pos += 4;
    if (pos > data.length) fail(pos, 'truncated content checksum');
  }
  return bound;
}
