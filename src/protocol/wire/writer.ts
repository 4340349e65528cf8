/**
 * Encodes Kafka protocol primitives into a growable buffer that is reused across messages.
 *
 * Large byte fields (record batches in Fetch responses) are not copied: the writer keeps a
 * reference and `chunks()` hands back [own bytes, record bytes, own bytes, ...] for a vectored
 * socket write, so segment bytes reach the socket without passing through this buffer. Byte
 * fields smaller than `zeroCopyMinBytes` are copied, since a copy is cheaper than a chunk.
 *
 * Lifetime: the buffers returned by `chunks()` and `toBuffer()` are views of the writer's memory,
 * valid until `reset()`. A caller that reuses the writer before the socket has flushed them
 * must copy first.
 *
 * Values are checked before they are written (an int32 field given 2^31 or undefined throws),
 * with `context` naming the field, so a bug in the caller cannot put silent garbage on the wire.
 */
import { writeInt64 } from '../int64.js';
import { isInt32, sizeOfVarint, writeVarint } from '../varint.js';
import { sizeOfUnsignedVarint, writeUnsignedVarint, UINT32_MAX } from './unsigned-varint.js';
import { isUuid, UUID_BYTES } from './uuid.js';
import { STRING_MAX_BYTES } from './reader.js';
import { INT32_MAX } from '../limits.js';

export interface WriterOptions {
  /** Initial size of the own buffer; it doubles as needed and is kept across reset(). */
  initialBytes?: number;
  /** Byte fields at least this large are referenced, not copied. Infinity copies everything. */
  zeroCopyMinBytes?: number;
}

export const DEFAULT_WRITER_INITIAL_BYTES = 16 * 1024;
export const DEFAULT_ZERO_COPY_MIN_BYTES = 16 * 1024;

export class Writer {
  /** The message field being encoded, named in errors. Set by the message codecs. */
  context = '';
  readonly zeroCopyMinBytes: number;
  private buf: Buffer;
  private pos = 0;
  // Referenced byte fields: the data, and where in the own buffer it sits between bytes.
  private readonly externalData: Buffer[] = [];
  private readonly externalAt: number[] = [];
  private externalBytes = 0;

  constructor(options: WriterOptions = {}) {
    const initialBytes = options.initialBytes ?? DEFAULT_WRITER_INITIAL_BYTES;
    const zeroCopyMinBytes = options.zeroCopyMinBytes ?? DEFAULT_ZERO_COPY_MIN_BYTES;
    if (!Number.isInteger(initialBytes) || initialBytes < 16) {
      throw new RangeError(`initialBytes must be an integer >= 16, got ${initialBytes}`);
    }
    if (!(zeroCopyMinBytes === Infinity || (Number.isInteger(zeroCopyMinBytes) && zeroCopyMinBytes >= 1))) {
      throw new RangeError(`zeroCopyMinBytes must be a positive integer or Infinity, got ${zeroCopyMinBytes}`);
    }
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.zeroCopyMinBytes = zeroCopyMinBytes;
  }

  /** Bytes written so far, own and referenced. */
  get length(): number {
    return this.pos + this.externalBytes;
  }

  /** Starts a new message, keeping the buffer. Invalidates views handed out before. */
  reset(): this {
    this.pos = 0;
    this.externalData.length = 0;
    this.externalAt.length = 0;
    this.externalBytes = 0;
    this.context = '';
    return this;
  }

  /** The message as chunks for a vectored write: views, valid until reset(). */
  chunks(): Buffer[] {
    const out: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < this.externalData.length; i++) {
      const at = this.externalAt[i];
      if (at > from) out.push(this.buf.subarray(from, at));
      out.push(this.externalData[i]);
      from = at;
    }
    if (this.pos > from) out.push(this.buf.subarray(from, this.pos));
    return out;
  }

  /** The message as one buffer: a view when nothing was referenced, else a concatenated copy. */
  toBuffer(): Buffer {
    if (this.externalData.length === 0) return this.buf.subarray(0, this.pos);
    return Buffer.concat(this.chunks(), this.length);
  }

  private ensure(size: number): void {
    const needed = this.pos + size;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  private invalid(value: unknown, what: string): RangeError {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    return new RangeError(`cannot encode ${this.context === '' ? 'value' : this.context}: ${shown} is not ${what}`);
  }

  int8(value: number): this {
    if ((value << 24) >> 24 !== value) throw this.invalid(value, 'an int8');
    this.ensure(1);
    this.buf[this.pos++] = value & 0xff;
    return this;
  }

  int16(value: number): this {
    if ((value << 16) >> 16 !== value) throw this.invalid(value, 'an int16');
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(value, this.pos);
    return this;
  }

  int32(value: number): this {
    if ((value | 0) !== value) throw this.invalid(value, 'an int32');
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(value, this.pos);
    return this;
  }

  uint32(value: number): this {
    if (value >>> 0 !== value) throw this.invalid(value, 'a uint32');
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(value, this.pos);
    return this;
  }

  /** An int64 from a safe integer (offsets and timestamps are numbers throughout Sluice). */
  int64(value: number): this {
    if (!Number.isSafeInteger(value)) throw this.invalid(value, 'a safe integer int64');
    this.ensure(8);
    writeInt64(this.buf, this.pos, value);
    this.pos += 8;
    return this;
  }

  float64(value: number): this {
    if (typeof value !== 'number') throw this.invalid(value, 'a float64');
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(value, this.pos);
    return this;
  }

  bool(value: boolean): this {
    if (typeof value !== 'boolean') throw this.invalid(value, 'a boolean');
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  unsignedVarint(value: number): this {
    if (!(Number.isInteger(value) && value >= 0 && value <= UINT32_MAX)) throw this.invalid(value, 'a uint32');
    this.ensure(5);
    this.pos = writeUnsignedVarint(this.buf, this.pos, value);
    return this;
  }

  /** A zigzag varint (int32), as the record format uses them. */
  varint(value: number): this {
    if (!isInt32(value)) throw this.invalid(value, 'an int32');
    this.ensure(sizeOfVarint(value));
    this.pos = writeVarint(this.buf, this.pos, value);
    return this;
  }

  uuid(value: string): this {
    if (!isUuid(value)) throw this.invalid(value, 'a uuid (22 characters of URL-safe base64)');
    this.ensure(UUID_BYTES);
    this.pos += this.buf.write(value, this.pos, UUID_BYTES, 'base64url');
    return this;
  }

  // Strings: int16 length (-1 = null) or, in flexible versions, unsigned varint length + 1 (0 = null).

  string(value: string): this {
    return this.stringWithLength(value, false);
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    return this.stringWithLength(value, false);
  }

  compactString(value: string): this {
    return this.stringWithLength(value, true);
  }

  compactNullableString(value: string | null): this {
    if (value === null) return this.unsignedVarint(0);
    return this.stringWithLength(value, true);
  }

  private stringWithLength(value: string, compact: boolean): this {
    if (typeof value !== 'string') throw this.invalid(value, 'a string');
    const length = Buffer.byteLength(value, 'utf8');
    if (length > STRING_MAX_BYTES) {
      throw this.invalid(`${value.slice(0, 40)}...`, `a string of at most ${STRING_MAX_BYTES} bytes (it has ${length})`);
    }
    if (compact) this.unsignedVarint(length + 1);
    else this.int16(length);
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, length, 'utf8');
    return this;
  }

  // Bytes: int32 length (-1 = null) or unsigned varint length + 1 (0 = null). Large ones are referenced.

  bytes(value: Buffer): this {
    return this.bytesWithLength(value, false);
  }

  nullableBytes(value: Buffer | null): this {
    if (value === null) return this.int32(-1);
    return this.bytesWithLength(value, false);
  }

  compactBytes(value: Buffer): this {
    return this.bytesWithLength(value, true);
  }

  compactNullableBytes(value: Buffer | null): this {
    if (value === null) return this.unsignedVarint(0);
    return this.bytesWithLength(value, true);
  }

  private bytesWithLength(value: Buffer, compact: boolean): this {
    if (!Buffer.isBuffer(value)) throw this.invalid(value, 'a Buffer');
    if (value.length > INT32_MAX - 1) throw this.invalid(`<${value.length} bytes>`, 'at most 2^31 - 2 bytes');
    if (compact) this.unsignedVarint(value.length + 1);
    else this.int32(value.length);
    return this.raw(value);
  }

  /** Appends bytes as they are: copied if small, referenced if at least zeroCopyMinBytes. */
  raw(value: Buffer): this {
    if (value.length >= this.zeroCopyMinBytes) {
      this.externalData.push(value);
      this.externalAt.push(this.pos);
      this.externalBytes += value.length;
      return this;
    }
    this.ensure(value.length);
    this.pos += value.copy(this.buf, this.pos);
    return this;
  }

  // Arrays: int32 count (-1 = null) or unsigned varint count + 1 (0 = null), then the elements.

  arrayLength(count: number | null): this {
    return this.int32(count === null ? -1 : count);
  }

  compactArrayLength(count: number | null): this {
    return this.unsignedVarint(count === null ? 0 : count + 1);
  }

  array<T>(items: readonly T[] | null, writeItem: (writer: this, item: T) => void): this {
    this.arrayLength(items === null ? null : items.length);
    if (items !== null) for (const item of items) writeItem(this, item);
    return this;
  }

  compactArray<T>(items: readonly T[] | null, writeItem: (writer: this, item: T) => void): this {
    this.compactArrayLength(items === null ? null : items.length);
    if (items !== null) for (const item of items) writeItem(this, item);
    return this;
  }

  // Tagged fields (flexible versions): a count, then per field its tag, its size and its bytes.

  /** The tagged-field section of a struct that sets none. */
  emptyTaggedFields(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0;
    return this;
  }

  /**
   * One tagged field: writes the tag, then `writeValue`'s bytes prefixed by their size. The caller
   * writes the section's count first and the fields in ascending tag order.
   */
  taggedField(tag: number, writeValue: (writer: this) => void): this {
    this.unsignedVarint(tag);
    // Reserve one size byte (values under 128 bytes, the common case) and widen afterwards.
    this.ensure(1);
    const sizeAt = this.pos++;
    const externals = this.externalData.length;
    writeValue(this);
    if (this.externalData.length !== externals) {
      throw new RangeError(`tagged field ${tag} (${this.context}) may not reference external bytes`);
    }
    const size = this.pos - sizeAt - 1;
    const sizeBytes = sizeOfUnsignedVarint(size);
    if (sizeBytes > 1) {
      this.ensure(sizeBytes - 1);
      this.buf.copyWithin(sizeAt + sizeBytes, sizeAt + 1, this.pos);
      this.pos += sizeBytes - 1;
    }
    writeUnsignedVarint(this.buf, sizeAt, size);
    return this;
  }

  // Size prefixes (frames): reserve an int32, write the body, then patch in its size.

  /** Writes a placeholder int32 and returns its position (in `length` terms) for `patchInt32`. */
  reserveInt32(): number {
    const at = this.length;
    this.int32(0);
    return at;
  }

  /** Overwrites the int32 written at `position` (a value `reserveInt32` returned). */
  patchInt32(position: number, value: number): this {
    // Map the position to the own buffer by subtracting the referenced bytes placed before it.
    let own = position;
    for (let i = 0; i < this.externalData.length; i++) {
      if (this.externalAt[i] > own) break;
      own -= this.externalData[i].length;
    }
    if (!(Number.isInteger(own) && own >= 0 && own + 4 <= this.pos)) {
      throw new RangeError(`patch position ${position} is not an int32 this writer wrote`);
    }
    if ((value | 0) !== value) throw this.invalid(value, 'an int32');
    this.buf.writeInt32BE(value, own);
    return this;
  }
}
