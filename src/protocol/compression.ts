/**
 * Compression of a RecordBatch's records section, with Kafka's codec ids (attributes bits 0-2):
 * none 0, gzip 1, snappy 2, lz4 3, zstd 4.
 *
 * - gzip: node:zlib, the gzip container Kafka's GZIPOutputStream writes.
 * - snappy: written as Kafka's Java producer writes it, in xerial's snappy-java stream framing
 *   (a 16-byte header, then blocks of at most 32 KiB of input, each a big-endian length and a raw
 *   snappy block), through the `snappy` package's raw block functions. Read in both forms, as
 *   snappy-java's SnappyInputStream reads them: the xerial framing (concatenated streams included)
 *   and a bare raw block, which is what librdkafka writes.
 * - lz4: the standard LZ4 *frame* format, written as Kafka's Lz4BlockOutputStream writes it since
 *   message format v1 (KIP-57): a correct header checksum, independent 64 KiB blocks, no block or
 *   content checksums, a block that does not shrink stored uncompressed. The frame is assembled
 *   here over liblz4's block functions (the `lz4` package's native binding, liblz4 in C), which
 *   compress into and decompress out of caller-owned buffers: `lz4CompressFrame` writes straight
 *   into the caller's batch buffer, `lz4DecompressFrames` into the caller's output, and
 *   `decompressRecords` into a slab shared by successive sections (see there). Read as
 *   Kafka's Lz4BlockInputStream reads: header checksum and block checksums verified, linked
 *   (dependent) blocks refused; unlike Kafka, a content checksum and a content size are verified
 *   when the frame has them (librdkafka verifies them, so a frame failing them would poison the
 *   partition for its consumers, and a client may recompute the batch CRC over bad bytes).
 * - zstd: standard zstd frames at Kafka's default level 3, through zstd-napi's compression and
 *   decompression contexts, which work in caller-owned buffers. Frames that carry no content size
 *   (Java's ZstdOutputStream and librdkafka stream theirs) are streamed into a bounded buffer.
 *
 * Everything is synchronous on purpose: the codec runs inside shard worker threads, where an
 * async hop per batch would cost more than it frees.
 *
 * Cost note: an addon that returns a fresh buffer per call pays for it in allocation and, when
 * its pages are new to the process, in the kernel zeroing them on first touch (profiled with
 * lz4-napi, the previous lz4 codec: clear_page under the copy into the output cost several times
 * the decompression itself). Hence the caller-owned buffers of the lz4 path. The snappy calls ask
 * for `copyOutputData`, which copies the addon's output into a V8 buffer: measured 3 to 6 times
 * faster than the default external buffer, whose finalizer and fresh pages dominate.
 *
 * Decompression is bounded: forged input must not make us allocate more than
 * `maxDecompressedBytes`. gzip enforces it inside zlib (`maxOutputLength`). For lz4 the frame's
 * block headers are walked first (no decompression) and each compressed block counted at the most
 * it can inflate to: 255 output bytes per input byte (LZ4's ceiling: a match length grows by 255
 * per extension byte), capped at the frame's block maximum size. The bound is known before a byte
 * is inflated; as encoders fill every block but the last, it exceeds the true size by less than
 * one block (64 KiB to 4 MiB), and small sections are bounded by 255 times their size. Every
 * snappy block states its decompressed length in its first bytes, which are summed and checked
 * before any block is inflated. zstd frames that state their content size are checked the same
 * way; the others are streamed into an output buffer that may grow to the limit and no further.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { CorruptRecordError, InvalidConfigError } from '../errors.js';

// zstd-napi's binding module assigns the native addon to module.exports, which ESM cannot import by name.
const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof ZstdBinding;

/** liblz4's block functions and XXH32 as the `lz4` package's native bindings export them. */
interface Lz4Binding {
  /** LZ4_compress_default of all of `src` into `dst[start, end)`; 0 when it does not fit. */
  compress(src: Uint8Array, dst: Uint8Array, start: number, end: number): number;
  /** LZ4_decompress_safe of `src[start, end)` into all of `dst`; negative on malformed input or overflow. */
  uncompress(src: Uint8Array, dst: Uint8Array, start: number, end: number): number;
}
interface XxhashBinding {
  /** XXH32 of all of `data`. */
  xxHash(data: Uint8Array, seed: number): number;
}
const lz4Block = createRequire(import.meta.url)('lz4/build/Release/lz4.node') as Lz4Binding;
const xxhash = createRequire(import.meta.url)('lz4/build/Release/xxhash.node') as XxhashBinding;

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_CODEC_IDS: Readonly<Record<CompressionType, number>> = Object.freeze({
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
});

/** Kafka's codec names, indexed by codec id. */
export const COMPRESSION_TYPES: readonly CompressionType[] = Object.freeze(['none', 'gzip', 'snappy', 'lz4', 'zstd']);

/**
 * Default cap on a batch's decompressed records section: 64 MiB. Kafka's largest legitimate
 * batches are bounded by max.message.bytes (1 MiB by default) compressed; 64 MiB leaves room for
 * generous configurations and extreme ratios while keeping a forged batch from taking the heap.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** The codec name for an attributes codec id, or undefined for ids Kafka does not define (5-7). */
export function compressionTypeOfId(codecId: number): CompressionType | undefined {
  return COMPRESSION_TYPES[codecId];
}

/** Validates a user-supplied compression setting: one of Kafka's codec names. */
export function checkCompressionType(value: unknown, settingName = 'compression'): CompressionType {
  if (typeof value !== 'string' || !(COMPRESSION_TYPES as readonly string[]).includes(value)) {
    throw new InvalidConfigError(
      `${settingName} must be one of ${COMPRESSION_TYPES.map((t) => JSON.stringify(t)).join(', ')} ` +
        `(got ${JSON.stringify(value)})`,
    );
  }
  return value as CompressionType;
}

/** Compresses a records section. `type` must not be 'none'. */
export function compressRecords(type: CompressionType, records: Buffer): Buffer {
  switch (type) {
    case 'gzip':
      return gzipSync(records);
    case 'lz4': {
      // Into a reused scratch buffer, then one exact-size copy: the bound is the input's size,
      // about twice the frame of record-like data, and the caller may keep what is returned.
      const bound = lz4FrameBound(records.length);
      if (lz4CompressScratch.length < bound) lz4CompressScratch = Buffer.allocUnsafe(Math.max(bound, lz4CompressScratch.length * 2));
      return Buffer.from(lz4CompressScratch.subarray(0, lz4CompressFrame(records, lz4CompressScratch, 0)));
    }
    case 'snappy':
      return snappyXerialCompress(records);
    case 'zstd':
      return zstdCompress(records);
    case 'none':
      throw new RangeError('compressRecords called for an uncompressed batch');
  }
}

/**
 * Decompresses a records section written with codec `codecId`. Bad bytes, or output that would
 * exceed `maxDecompressedBytes`, throw CorruptRecordError naming `position` (where the batch
 * starts).
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
      return snappyDecompressBounded(compressed, maxDecompressedBytes, position);
    case 'zstd':
      return zstdDecompressBounded(compressed, maxDecompressedBytes, position);
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
  // Inflated straight into the free end of a slab shared by successive sections, and returned as
  // a slice of it: no allocation or copy per batch while the slab has room for the bound. The
  // caller keeps slices of what is returned, so a slab is never rewritten: a full one is left to
  // the garbage collector once nothing refers to it, as Node's own Buffer pool is.
  if (lz4Slab.length - lz4SlabUsed < bound) {
    lz4Slab = Buffer.allocUnsafe(Math.max(bound, LZ4_SLAB_BYTES));
    lz4SlabUsed = 0;
  }
  const start = lz4SlabUsed;
  const bytes = lz4DecompressFrames(compressed, lz4Slab.subarray(start), position);
  lz4SlabUsed = start + bytes;
  return lz4Slab.subarray(start, start + bytes);
}

/** Slab size for decompressed lz4 sections: several typical batches (16 KiB - 256 KiB) per allocation. */
const LZ4_SLAB_BYTES = 1024 * 1024;
// Per thread (each worker loads this module anew).
let lz4Slab = Buffer.allocUnsafe(0);
let lz4SlabUsed = 0;
let lz4CompressScratch = Buffer.allocUnsafe(0);

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_FLG_VERSION_MASK = 0xc0;
const LZ4_FLG_VERSION_01 = 0x40;
const LZ4_FLG_BLOCK_INDEPENDENCE = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_RESERVED = 0x02;
const LZ4_FLG_DICT_ID = 0x01;
const LZ4_BD_RESERVED = 0x8f;
const LZ4_BLOCK_UNCOMPRESSED_FLAG = 0x8000_0000;
const LZ4_MAX_EXPANSION_RATIO = 255;
/** Kafka's block size (Lz4BlockOutputStream.BLOCKSIZE_64KB) and its BD byte (block maximum size id 4). */
const LZ4_KAFKA_BLOCK_BYTES = 64 * 1024;
const LZ4_KAFKA_BD = 4 << 4;
/** FLG as Kafka writes it: version 01, independent blocks, no checksums, no content size. */
const LZ4_KAFKA_FLG = LZ4_FLG_VERSION_01 | LZ4_FLG_BLOCK_INDEPENDENCE;
/** Magic, FLG, BD, HC. */
const LZ4_KAFKA_HEADER_BYTES = 7;
const LZ4_BLOCK_HEADER_BYTES = 4;
const LZ4_END_MARK_BYTES = 4;

/** The header checksum byte: the second byte of XXH32 (seed 0) over the frame descriptor. */
function lz4HeaderChecksum(descriptor: Uint8Array): number {
  return (xxhash.xxHash(descriptor, 0) >>> 8) & 0xff;
}
const LZ4_KAFKA_HC = lz4HeaderChecksum(Uint8Array.of(LZ4_KAFKA_FLG, LZ4_KAFKA_BD));

/**
 * The most bytes `lz4CompressFrame` writes for `inputBytes` of input: the header, every block
 * at most its input size plus its 4-byte header (a block that does not shrink is stored raw),
 * and the end mark.
 */
export function lz4FrameBound(inputBytes: number): number {
  return (
    LZ4_KAFKA_HEADER_BYTES +
    inputBytes +
    Math.ceil(inputBytes / LZ4_KAFKA_BLOCK_BYTES) * LZ4_BLOCK_HEADER_BYTES +
    LZ4_END_MARK_BYTES
  );
}

/**
 * Writes `input` as one LZ4 frame in Kafka's form into `out` from byte `at` and returns the bytes
 * written. `out` must hold `lz4FrameBound(input.length)` bytes from `at` and must not overlap
 * `input`.
 */
export function lz4CompressFrame(input: Buffer, out: Buffer, at: number): number {
  const needed = lz4FrameBound(input.length);
  if (out.length - at < needed) {
    throw new RangeError(`lz4CompressFrame needs ${needed} bytes of output from byte ${at}, the buffer has ${out.length - at}`);
  }
  let pos = at;
  out.writeUInt32LE(LZ4_FRAME_MAGIC, pos);
  out[pos + 4] = LZ4_KAFKA_FLG;
  out[pos + 5] = LZ4_KAFKA_BD;
  out[pos + 6] = LZ4_KAFKA_HC;
  pos += LZ4_KAFKA_HEADER_BYTES;
  for (let start = 0; start < input.length; start += LZ4_KAFKA_BLOCK_BYTES) {
    const blockBytes = Math.min(LZ4_KAFKA_BLOCK_BYTES, input.length - start);
    const block = blockBytes === input.length ? input : input.subarray(start, start + blockBytes);
    const dataAt = pos + LZ4_BLOCK_HEADER_BYTES;
    // Room for one byte less than the input: liblz4 gives up (returns 0) as soon as the block
    // would not shrink, which is when Kafka stores it raw.
    const compressedBytes = blockBytes > 1 ? lz4Block.compress(block, out, dataAt, dataAt + blockBytes - 1) : 0;
    if (compressedBytes > 0) {
      out.writeUInt32LE(compressedBytes, pos);
      pos = dataAt + compressedBytes;
    } else {
      out.writeUInt32LE((blockBytes | LZ4_BLOCK_UNCOMPRESSED_FLAG) >>> 0, pos);
      pos = dataAt + block.copy(out, dataAt);
    }
  }
  out.writeUInt32LE(0, pos); // EndMark; Kafka writes no content checksum
  return pos + LZ4_END_MARK_BYTES - at;
}

/**
 * Decompresses one or more consecutive LZ4 frames filling `data` into `out` from byte 0 and
 * returns the bytes written. `out` must hold `lz4FramesDecompressedBound(data)` bytes. Malformed
 * frames, a wrong header or block checksum, and linked blocks (which Kafka refuses too) throw
 * CorruptRecordError naming `position`.
 */
export function lz4DecompressFrames(data: Buffer, out: Buffer, position: number): number {
  const bound = lz4FramesDecompressedBound(data, position);
  if (out.length < bound) {
    throw new RangeError(`lz4DecompressFrames needs ${bound} bytes of output, the buffer has ${out.length}`);
  }
  const fail = (at: number, reason: string): never => {
    throw new CorruptRecordError(position, `lz4 frame at byte ${at} of the records section: ${reason}`);
  };
  // The structure (magic, version, reserved bits, block sizes, lengths) was checked by the bound's walk.
  let pos = 0;
  let written = 0;
  while (pos < data.length) {
    const frameAt = pos;
    const flg = data[pos + 4];
    const blockMaxBytes = LZ4_BLOCK_MAX_BYTES_BY_ID[(data[pos + 5] >> 4) & 0x07];
    if ((flg & LZ4_FLG_BLOCK_INDEPENDENCE) === 0) {
      fail(frameAt, 'linked (dependent) blocks are not supported, as in Kafka; write independent blocks');
    }
    const descriptorBytes = 2 + ((flg & LZ4_FLG_CONTENT_SIZE) !== 0 ? 8 : 0);
    const hcAt = pos + 4 + descriptorBytes;
    if (data[hcAt] !== lz4HeaderChecksum(data.subarray(pos + 4, hcAt))) {
      fail(frameAt, 'header checksum mismatch (old Kafka clients computed it wrongly: KIP-57)');
    }
    const hasBlockChecksum = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
    const frameOutputStart = written;
    pos = hcAt + 1;
    for (;;) {
      const header = data.readUInt32LE(pos);
      pos += LZ4_BLOCK_HEADER_BYTES;
      if (header === 0) break;
      const blockBytes = header & ~LZ4_BLOCK_UNCOMPRESSED_FLAG;
      const blockEnd = pos + blockBytes;
      if (hasBlockChecksum && data.readUInt32LE(blockEnd) !== xxhash.xxHash(data.subarray(pos, blockEnd), 0) >>> 0) {
        fail(pos - LZ4_BLOCK_HEADER_BYTES, 'block checksum mismatch');
      }
      if ((header & LZ4_BLOCK_UNCOMPRESSED_FLAG) !== 0) {
        written += data.copy(out, written, pos, blockEnd);
      } else {
        const room = Math.min(blockMaxBytes, out.length - written);
        const inflated = lz4Block.uncompress(data, out.subarray(written, written + room), pos, blockEnd);
        if (inflated < 0) fail(pos - LZ4_BLOCK_HEADER_BYTES, 'block does not decompress (malformed or larger than the frame\'s block size)');
        written += inflated;
      }
      pos = blockEnd + (hasBlockChecksum ? 4 : 0);
    }
    if ((flg & LZ4_FLG_CONTENT_SIZE) !== 0 && data.readBigUInt64LE(frameAt + 6) !== BigInt(written - frameOutputStart)) {
      fail(frameAt, `declares ${data.readBigUInt64LE(frameAt + 6)} content bytes, its blocks hold ${written - frameOutputStart}`);
    }
    if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) {
      // Kafka's reader skips it, but other readers (librdkafka, lz4 itself) verify it: a frame
      // whose content no longer matches it would be stored and then fail those consumers.
      if (data.readUInt32LE(pos) !== xxhash.xxHash(out.subarray(frameOutputStart, written), 0) >>> 0) fail(frameAt, 'content checksum mismatch');
      pos += 4;
    }
  }
  return written;
}
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

/** snappy calls copy the addon's output into a V8 buffer: faster than an external buffer (see the cost note). */
const SNAPPY_OPTIONS = Object.freeze({ copyOutputData: true });
/** snappy-java's stream header: magic (0x82 "SNAPPY" 0), int32 version, int32 minimum compatible version. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** SnappyOutputStream's default block size, which Kafka's producer uses. */
const XERIAL_BLOCK_INPUT_BYTES = 32 * 1024;

/** The records section in xerial framing, blocks of 32 KiB of input, as Kafka's Java producer writes it. */
function snappyXerialCompress(records: Buffer): Buffer {
  const blockCount = Math.ceil(records.length / XERIAL_BLOCK_INPUT_BYTES);
  const blocks = new Array<Buffer>(blockCount);
  let bytes = XERIAL_HEADER_BYTES;
  for (let i = 0; i < blockCount; i++) {
    const start = i * XERIAL_BLOCK_INPUT_BYTES;
    const block = snappyCompressSync(records.subarray(start, start + XERIAL_BLOCK_INPUT_BYTES), SNAPPY_OPTIONS);
    blocks[i] = block;
    bytes += 4 + block.length;
  }
  const out = Buffer.allocUnsafe(bytes);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  let at = XERIAL_HEADER_BYTES;
  for (const block of blocks) {
    out.writeInt32BE(block.length, at);
    at += 4;
    at += block.copy(out, at);
  }
  return out;
}

/** snappy-java's test: at least a header's worth of bytes starting with the magic, else one raw block. */
function isXerialFramed(data: Buffer, at: number): boolean {
  return data.length - at >= XERIAL_HEADER_BYTES && data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, at, at + XERIAL_MAGIC.length) === 0;
}

/**
 * Decompresses a snappy records section, xerial-framed or one raw block. Every block's stated
 * length is read and the total checked against the limit before any block is inflated.
 */
function snappyDecompressBounded(data: Buffer, maxDecompressedBytes: number, position: number): Buffer {
  const fail = (at: number, reason: string): never => {
    throw new CorruptRecordError(position, `snappy records section, byte ${at}: ${reason}`);
  };
  if (data.length === 0) fail(0, 'empty, expected a raw block or a xerial stream');
  if (!isXerialFramed(data, 0)) {
    const bytes = snappyBlockLength(data, 0, fail);
    if (bytes > maxDecompressedBytes) {
      throw new CorruptRecordError(position, limitReason(maxDecompressedBytes, `snappy block (${bytes} bytes by its header)`));
    }
    return snappyInflate(data, bytes, 0, fail);
  }
  // Walk the framing first: block positions and the total they state.
  const blockStarts: number[] = [];
  const blockEnds: number[] = [];
  let total = 0;
  let pos = 0;
  while (pos < data.length) {
    if (isXerialFramed(data, pos)) {
      // A header at the start, or where another stream was appended (snappy-java reads both).
      const version = data.readInt32BE(pos + 8);
      if (version < XERIAL_MIN_COMPATIBLE_VERSION) fail(pos, `xerial stream version ${version} is older than ${XERIAL_MIN_COMPATIBLE_VERSION}`);
      pos += XERIAL_HEADER_BYTES;
      continue;
    }
    if (data.length - pos < 4) fail(pos, 'truncated block length');
    const blockBytes = data.readInt32BE(pos);
    if (blockBytes <= 0) fail(pos, `invalid block length ${blockBytes}`);
    const start = pos + 4;
    const end = start + blockBytes;
    if (end > data.length) fail(pos, `block of ${blockBytes} bytes runs past the end of the section`);
    total += snappyBlockLength(data.subarray(start, end), start, fail);
    if (total > maxDecompressedBytes) {
      throw new CorruptRecordError(position, limitReason(maxDecompressedBytes, `snappy stream (at least ${total} bytes by its block headers)`));
    }
    blockStarts.push(start);
    blockEnds.push(end);
    pos = end;
  }
  if (blockStarts.length === 1) {
    return snappyInflate(data.subarray(blockStarts[0], blockEnds[0]), total, blockStarts[0], fail);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < blockStarts.length; i++) {
    const block = data.subarray(blockStarts[i], blockEnds[i]);
    at += snappyInflate(block, snappyBlockLength(block, blockStarts[i], fail), blockStarts[i], fail).copy(out, at);
  }
  return out;
}

/** A raw snappy block's decompressed length: the little-endian base-128 varint that starts it (at most 2^32 - 1). */
function snappyBlockLength(block: Buffer, at: number, fail: (at: number, reason: string) => never): number {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) fail(at, 'truncated block length');
    const byte = block[i];
    length += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (length > 0xffff_ffff) fail(at, 'block length exceeds 2^32 - 1');
      return length;
    }
  }
  return fail(at, 'block length varint is longer than 5 bytes');
}

function snappyInflate(block: Buffer, expectedBytes: number, at: number, fail: (at: number, reason: string) => never): Buffer {
  let out: Buffer;
  try {
    out = snappyUncompressSync(block, SNAPPY_OPTIONS) as Buffer;
  } catch (error) {
    return fail(at, `block does not decompress: ${(error as Error).message}`);
  }
  if (out.length !== expectedBytes) fail(at, `block inflated to ${out.length} bytes, its header says ${expectedBytes}`);
  return out;
}

/** Kafka's default zstd level (ZstdCompression's, the library default). */
const ZSTD_LEVEL = 3;
/** First output buffer for a zstd frame without a content size, before it grows (doubling) toward the limit. */
const ZSTD_STREAM_FIRST_OUTPUT_BYTES = 64 * 1024;
// One context of each kind per thread (each worker loads this module anew), reused by every call.
let zstdCompressContext: ZstdBinding.CCtx | undefined;
let zstdDecompressContext: ZstdBinding.DCtx | undefined;

function zstdCompress(records: Buffer): Buffer {
  zstdCompressContext ??= new zstd.CCtx();
  const out = Buffer.allocUnsafe(zstd.compressBound(records.length));
  return out.subarray(0, zstdCompressContext.compress(out, records, ZSTD_LEVEL));
}

/**
 * Decompresses a zstd records section (one or more frames). When every frame states its content
 * size the total is checked against the limit and inflated in one call into a buffer of exactly
 * that size; otherwise the frames are streamed into a buffer that may grow to the limit plus one
 * byte, the byte that proves the limit exceeded.
 */
function zstdDecompressBounded(data: Buffer, maxDecompressedBytes: number, position: number): Buffer {
  const fail = (reason: string): never => {
    throw new CorruptRecordError(position, `zstd records section: ${reason}`);
  };
  const overLimit = (what: string): never => {
    throw new CorruptRecordError(position, limitReason(maxDecompressedBytes, what));
  };
  if (data.length === 0) fail('empty, expected a frame');
  zstdDecompressContext ??= new zstd.DCtx();
  const dctx = zstdDecompressContext;
  let declared: number | null = 0;
  try {
    for (let pos = 0; pos < data.length && declared !== null; ) {
      const frame = data.subarray(pos);
      const frameBytes = zstd.getFrameContentSize(frame);
      declared = frameBytes === null ? null : declared + frameBytes;
      pos += zstd.findFrameCompressedSize(frame);
    }
  } catch (error) {
    fail(`not a sequence of frames: ${(error as Error).message}`);
  }
  if (declared !== null) {
    if (declared > maxDecompressedBytes) overLimit(`zstd records section (${declared} bytes by its frame headers)`);
    const out = Buffer.allocUnsafe(declared);
    let written = 0;
    try {
      written = dctx.decompress(out, data);
    } catch (error) {
      fail(`does not decompress: ${(error as Error).message}`);
    }
    if (written !== declared) fail(`inflated to ${written} bytes, its frame headers say ${declared}`);
    return out;
  }
  const capacityMax = maxDecompressedBytes + 1;
  let out = Buffer.allocUnsafe(Math.min(capacityMax, Math.max(ZSTD_STREAM_FIRST_OUTPUT_BYTES, data.length * 4)));
  let written = 0;
  let consumed = 0;
  dctx.reset(zstd.ResetDirective.sessionOnly);
  for (;;) {
    let result: [number, number, number] = [0, 0, 0];
    try {
      result = dctx.decompressStream(out.subarray(written), data.subarray(consumed));
    } catch (error) {
      dctx.reset(zstd.ResetDirective.sessionOnly);
      fail(`does not decompress: ${(error as Error).message}`);
    }
    const [toFlush, produced, used] = result;
    written += produced;
    consumed += used;
    if (written > maxDecompressedBytes) overLimit('zstd records section');
    if (consumed === data.length && toFlush === 0) return out.subarray(0, written);
    if (written === out.length) {
      const grown = Buffer.allocUnsafe(Math.min(capacityMax, out.length * 2));
      out.copy(grown, 0, 0, written);
      out = grown;
    } else if (produced === 0 && used === 0) {
      dctx.reset(zstd.ResetDirective.sessionOnly);
      fail('truncated frame');
    }
  }
}
