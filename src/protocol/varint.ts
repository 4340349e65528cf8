/**
 * Kafka's variable-length integers, as the RecordBatch v2 record format uses them: zigzag-encoded
 * base-128 groups, least significant group first, high bit set on every byte but the last.
 *
 *   varint   int32, at most 5 bytes (Kafka's ByteUtils.writeVarint)
 *   varlong  int64, at most 10 bytes, here limited to JavaScript's safe integers (|v| <= 2^53 - 1)
 *
 * Decoding never reads outside [cursor.pos, cursor.end). It signals malformed input (truncated,
 * too long, or a value out of range) by returning NaN and leaving the cursor where the varint
 * starts, so the caller can throw CorruptRecordError with the position and ask
 * `describeMalformedVarint` for the reason. NaN is a number, so the hot path allocates nothing.
 */
import { INT32_MIN, INT32_MAX } from './limits.js';

export const VARINT_MAX_BYTES = 5;
export const VARLONG_MAX_BYTES = 10;

const TWO_POW_7 = 0x80;
const TWO_POW_6 = 0x40;
const TWO_POW_28 = 0x1000_0000;

/** A read position in a byte range; decoders advance `pos` past what they consumed. */
export class ByteCursor {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end: number = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
}

/** Bytes that `writeVarint(value)` takes. `value` must be an int32. */
export function sizeOfVarint(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (zigzag >= TWO_POW_7) {
    zigzag >>>= 7;
    size++;
  }
  return size;
}

/** Bytes that `writeVarlong(value)` takes. `value` must be a safe integer. */
export function sizeOfVarlong(value: number): number {
  if (value >= INT32_MIN && value <= INT32_MAX) return sizeOfVarint(value);
  // zigzag(v) = 2m + sign with m = v >= 0 ? v : -v - 1; the low byte carries the sign and 6 bits
  // of m, every further byte 7 bits.
  let magnitude = value >= 0 ? value : -value - 1;
  magnitude = Math.floor(magnitude / TWO_POW_6);
  let size = 1;
  while (magnitude > 0) {
    magnitude = Math.floor(magnitude / TWO_POW_7);
    size++;
  }
  return size;
}

/**
 * Writes `value` (an int32) at `pos` and returns the position after it. The caller guarantees
 * `sizeOfVarint(value)` bytes of room.
 */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= TWO_POW_7) {
    buf[pos++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  buf[pos++] = zigzag;
  return pos;
}

/**
 * Writes `value` (a safe integer) at `pos` and returns the position after it. The caller
 * guarantees `sizeOfVarlong(value)` bytes of room.
 */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  if (value >= INT32_MIN && value <= INT32_MAX) return writeVarint(buf, pos, value);
  // Beyond int32 the zigzag value (up to 2^54) is not exact in a double, so encode the sign bit
  // and the magnitude m separately: zigzag(v) = 2m + sign.
  const sign = value >= 0 ? 0 : 1;
  let magnitude = value >= 0 ? value : -value - 1;
  let group = ((magnitude % TWO_POW_6) << 1) | sign;
  magnitude = Math.floor(magnitude / TWO_POW_6);
  while (magnitude > 0) {
    buf[pos++] = group | 0x80;
    group = magnitude % TWO_POW_7;
    magnitude = Math.floor(magnitude / TWO_POW_7);
  }
  buf[pos++] = group;
  return pos;
}

/**
 * Reads a varint (int32) at `cursor.pos` and advances past it. Returns NaN, cursor unmoved, when
 * the bytes before `cursor.end` do not hold one: truncated, longer than 5 bytes, or wider than
 * 32 bits.
 */
export function readVarint(cursor: ByteCursor): number {
  const buf = cursor.buf;
  let pos = cursor.pos;
  const end = cursor.end;
  let zigzag = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) return NaN;
    const byte = buf[pos++];
    if (shift === 28) {
      // The fifth byte may carry only the top 4 bits of 32 and no continuation.
      if (byte > 0x0f) return NaN;
      zigzag |= byte << 28;
      break;
    }
    zigzag |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  cursor.pos = pos;
  return (zigzag >>> 1) ^ -(zigzag & 1);
}

/**
 * Reads a varlong at `cursor.pos` and advances past it. Returns NaN, cursor unmoved, when the
 * bytes before `cursor.end` do not hold one (truncated or longer than 10 bytes) or its value is
 * outside the safe-integer range.
 */
export function readVarlong(cursor: ByteCursor): number {
  const buf = cursor.buf;
  const start = cursor.pos;
  const end = cursor.end;
  // Fast path: up to 4 bytes (28 bits) fit int32 arithmetic; timestamp deltas live here.
  let zigzag = 0;
  let pos = start;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) return NaN;
    const byte = buf[pos++];
    zigzag |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor.pos = pos;
      return (zigzag >>> 1) ^ -(zigzag & 1);
    }
  }
  // Slow path: accumulate m = zigzag >>> 1 as a double (exact below 2^53; a value at or above
  // 2^53 cannot round back into the safe range, so the final check rejects it).
  const sign = zigzag & 1;
  let magnitude = (zigzag >>> 1) & 0x7ff_ffff;
  let scale = TWO_POW_28 / 2;
  for (let i = 4; ; i++) {
    if (pos >= end || i >= VARLONG_MAX_BYTES) return NaN;
    const byte = buf[pos++];
    magnitude += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= TWO_POW_7;
  }
  const value = sign === 0 ? magnitude : -magnitude - 1;
  if (!Number.isSafeInteger(value)) return NaN;
  cursor.pos = pos;
  return value;
}

/**
 * Why the varint (or varlong, `maxBytes` 10) at `pos` is malformed, for error messages. Only
 * called after a read returned NaN, so it may take its time.
 */
export function describeMalformedVarint(buf: Buffer, pos: number, end: number, maxBytes: number): string {
  const kind = maxBytes === VARINT_MAX_BYTES ? 'varint' : 'varlong';
  for (let i = 0; i < maxBytes; i++) {
    if (pos + i >= end) return `${kind} truncated after ${i} byte(s)`;
    if (buf[pos + i] < 0x80) {
      return maxBytes === VARINT_MAX_BYTES
        ? `${kind} of ${i + 1} bytes overflows 32 bits`
        : `${kind} of ${i + 1} bytes is outside the safe integer range (|v| <= 2^53 - 1)`;
    }
  }
  return `${kind} longer than ${maxBytes} bytes`;
}

/** True for an integer in the int32 range: what a varint can carry. */
export function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}
