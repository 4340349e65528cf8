/**
 * Bounds-checked reads of Kafka protocol primitives from a Buffer.
 *
 * Every read checks the bytes it needs against `end` before touching them, and every length or
 * count read from the wire is checked against the bytes that remain before anything is sized by
 * it: a forged array count of 2^31 fails at once instead of allocating. All failures are
 * ProtocolError with the byte position, the element expected and the field being decoded
 * (`context`, set by the message codecs), never a RangeError from Buffer.
 *
 * Byte fields (`bytes`, `records`) are returned as subarrays of the decoded buffer, not copies:
 * record batches go to the log untouched. A caller that keeps one beyond the request's life
 * keeps the whole frame alive, so it copies what it keeps.
 */
import { ProtocolError } from '../../errors.js';
import { ByteCursor, readVarint, describeMalformedVarint, VARINT_MAX_BYTES } from '../varint.js';
import { readInt64 } from '../int64.js';
import { readUnsignedVarint, describeMalformedUnsignedVarint } from './unsigned-varint.js';
import { UUID_BYTES } from './uuid.js';

const EMPTY = Buffer.alloc(0);

/** Kafka limits every string, compact or not, to an int16 length (its generated code checks both). */
export const STRING_MAX_BYTES = 0x7fff;

export class Reader extends ByteCursor {
  /** The message field being decoded, named in errors ("MetadataRequest v9 topics[].name"). */
  context = '';

  constructor(buf: Buffer, pos = 0, end: number = buf.length) {
    if (!Buffer.isBuffer(buf)) throw new TypeError(`Reader needs a Buffer, got ${buf === null ? 'null' : typeof buf}`);
    if (!Number.isInteger(pos) || !Number.isInteger(end) || pos < 0 || end < pos || end > buf.length) {
      throw new RangeError(`Reader range [${pos}, ${end}) is not within the buffer's ${buf.length} bytes`);
    }
    super(buf, pos, end);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** A ProtocolError at `position` naming what was expected, in the current field's context. */
  fail(position: number, expected: string, problem: string): ProtocolError {
    return new ProtocolError(position, this.context === '' ? expected : `${expected} (${this.context})`, problem);
  }

  /**
   * Claims `size` bytes and returns where they start; throws if fewer remain. `expected` is a
   * constant: messages are only built on failure, so the hot path allocates nothing.
   */
  private take(size: number, expected: string): number {
    const pos = this.pos;
    if (size > this.end - pos) {
      throw this.fail(pos, expected, `it needs ${size} byte(s) and only ${this.end - pos} remain`);
    }
    this.pos = pos + size;
    return pos;
  }

  skip(size: number): void {
    this.take(size, 'bytes to skip');
  }

  int8(): number {
    return this.buf.readInt8(this.take(1, 'int8'));
  }

  int16(): number {
    return this.buf.readInt16BE(this.take(2, 'int16'));
  }

  int32(): number {
    return this.buf.readInt32BE(this.take(4, 'int32'));
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.take(4, 'uint32'));
  }

  /** An int64 as a number; a value outside the safe-integer range is a protocol error. */
  int64(): number {
    const pos = this.take(8, 'int64');
    const high = this.buf.readInt32BE(pos);
    // value = high * 2^32 + low is safe iff high is in [-2^21, 2^21) and the value is not -2^53.
    const unsafe =
      high >= 0x20_0000 || high < -0x20_0000 || (high === -0x20_0000 && this.buf.readUInt32BE(pos + 4) === 0);
    if (unsafe) {
      throw this.fail(
        pos,
        'int64 within the safe integer range (|v| <= 2^53 - 1)',
        `it is ${this.buf.readBigInt64BE(pos)}`,
      );
    }
    return readInt64(this.buf, pos);
  }

  float64(): number {
    return this.buf.readDoubleBE(this.take(8, 'float64'));
  }

  /** Kafka reads any non-zero byte as true. */
  bool(): boolean {
    return this.buf[this.take(1, 'boolean')] !== 0;
  }

  unsignedVarint(): number {
    const value = readUnsignedVarint(this);
    if (value < 0) {
      throw this.fail(this.pos, 'unsigned varint', describeMalformedUnsignedVarint(this.buf, this.pos, this.end));
    }
    return value;
  }

  /** A zigzag varint (int32), as the record format uses them. */
  varint(): number {
    const value = readVarint(this);
    if (Number.isNaN(value)) {
      throw this.fail(this.pos, 'varint', describeMalformedVarint(this.buf, this.pos, this.end, VARINT_MAX_BYTES));
    }
    return value;
  }

  uuid(): string {
    const pos = this.take(UUID_BYTES, 'uuid (16 bytes)');
    return this.buf.toString('base64url', pos, pos + UUID_BYTES);
  }

  // Strings: int16 length (-1 = null) or, in flexible versions, unsigned varint length + 1 (0 = null).

  string(): string {
    const start = this.pos;
    const length = this.int16();
    if (length < 0) throw this.fail(start, 'string', `its length is ${length}${length === -1 ? ' (null)' : ''}`);
    return this.utf8(length, 'string');
  }

  nullableString(): string | null {
    const start = this.pos;
    const length = this.int16();
    if (length === -1) return null;
    if (length < 0) throw this.fail(start, 'nullable string', `its length is ${length}`);
    return this.utf8(length, 'nullable string');
  }

  compactString(): string {
    const start = this.pos;
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) throw this.fail(start, 'compact string', 'it is null');
    return this.compactUtf8(start, lengthPlusOne - 1, 'compact string');
  }

  compactNullableString(): string | null {
    const start = this.pos;
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.compactUtf8(start, lengthPlusOne - 1, 'compact nullable string');
  }

  private compactUtf8(start: number, length: number, expected: string): string {
    if (length > STRING_MAX_BYTES) {
      throw this.fail(start, expected, `its length ${length} exceeds the ${STRING_MAX_BYTES}-byte limit of Kafka strings`);
    }
    return this.utf8(length, expected);
  }

  private utf8(length: number, expected: string): string {
    const pos = this.take(length, expected);
    return this.buf.toString('utf8', pos, pos + length);
  }

  // Bytes: int32 length (-1 = null) or unsigned varint length + 1 (0 = null). Returned as slices.

  bytes(): Buffer {
    const start = this.pos;
    const length = this.int32();
    if (length < 0) throw this.fail(start, 'bytes', `its length is ${length}${length === -1 ? ' (null)' : ''}`);
    return this.slice(length, 'bytes');
  }

  nullableBytes(): Buffer | null {
    const start = this.pos;
    const length = this.int32();
    if (length === -1) return null;
    if (length < 0) throw this.fail(start, 'nullable bytes', `its length is ${length}`);
    return this.slice(length, 'nullable bytes');
  }

  compactBytes(): Buffer {
    const start = this.pos;
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) throw this.fail(start, 'compact bytes', 'it is null');
    return this.slice(lengthPlusOne - 1, 'compact bytes');
  }

  compactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.unsignedVarint();
    if (lengthPlusOne === 0) return null;
    return this.slice(lengthPlusOne - 1, 'compact nullable bytes');
  }

  private slice(length: number, expected: string): Buffer {
    if (length === 0) return EMPTY;
    const pos = this.take(length, expected);
    return this.buf.subarray(pos, pos + length);
  }

  // Arrays: int32 count (-1 = null) or unsigned varint count + 1 (0 = null). The count is checked
  // against the remaining bytes, given the smallest encoding of one element, before it is used.

  /** Element count of an array, or -1 for null. Each element takes at least `minElementBytes`. */
  arrayLength(minElementBytes: number): number {
    const start = this.pos;
    const count = this.int32();
    if (count < -1) throw this.fail(start, 'array length', `it is ${count}`);
    if (count > 0) this.checkCount(start, count, minElementBytes, 'array');
    return count;
  }

  /** Element count of a compact array, or -1 for null. */
  compactArrayLength(minElementBytes: number): number {
    const start = this.pos;
    const count = this.unsignedVarint() - 1;
    if (count > 0) this.checkCount(start, count, minElementBytes, 'compact array');
    return count;
  }

  /** Number of tagged fields that follow; each takes at least 2 bytes (tag and size). */
  taggedFieldCount(): number {
    const start = this.pos;
    const count = this.unsignedVarint();
    if (count > 0) this.checkCount(start, count, 2, 'tagged fields');
    return count;
  }

  /** Skips a whole tagged-field section, as a reader that knows none of the tags does. */
  skipTaggedFields(): void {
    const count = this.taggedFieldCount();
    for (let i = 0; i < count; i++) {
      this.unsignedVarint();
      this.skip(this.unsignedVarint());
    }
  }

  private checkCount(start: number, count: number, minElementBytes: number, what: string): void {
    if (count * minElementBytes > this.end - this.pos) {
      throw this.fail(
        start,
        `${what} length`,
        `${count} element(s) of at least ${minElementBytes} byte(s) cannot fit in the ${this.end - this.pos} byte(s) that remain`,
      );
    }
  }
}
