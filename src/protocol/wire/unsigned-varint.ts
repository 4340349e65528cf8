/**
 * Kafka's UNSIGNED varint (ByteUtils.writeUnsignedVarint): base-128 groups, least significant
 * first, high bit set on every byte but the last, no zigzag. The flexible protocol versions
 * (KIP-482) use it for compact string/bytes/array lengths and for tagged fields. The zigzag
 * varints of the record format live in ../varint.ts.
 *
 * Values are uint32, so at most 5 bytes; the fifth byte may carry only the top 4 bits.
 */
import type { ByteCursor } from '../varint.js';

export const UNSIGNED_VARINT_MAX_BYTES = 5;
export const UINT32_MAX = 0xffff_ffff;

/** Bytes that `writeUnsignedVarint(value)` takes. `value` must be a uint32. */
export function sizeOfUnsignedVarint(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  return 5;
}

/**
 * Writes `value` (a uint32) at `pos` and returns the position after it. The caller guarantees
 * `sizeOfUnsignedVarint(value)` bytes of room.
 */
export function writeUnsignedVarint(buf: Buffer, pos: number, value: number): number {
  // `>>> 7` keeps the arithmetic in uint32, so values >= 2^31 encode correctly.
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

/**
 * Reads an unsigned varint at `cursor.pos`, never at or past `cursor.end`, and advances past it.
 * Returns -1, cursor unmoved, when the bytes do not hold one (truncated, longer than 5 bytes,
 * wider than 32 bits), so the caller can throw a typed error naming the position; -1 is a
 * number, so the hot path allocates nothing.
 */
export function readUnsignedVarint(cursor: ByteCursor): number {
  const buf = cursor.buf;
  const pos = cursor.pos;
  const end = cursor.end;
  let value = 0;
  for (let i = 0; i < UNSIGNED_VARINT_MAX_BYTES; i++) {
    if (pos + i >= end) return -1;
    const byte = buf[pos + i];
    if (i === UNSIGNED_VARINT_MAX_BYTES - 1) {
      if (byte > 0x0f) return -1;
      cursor.pos = pos + UNSIGNED_VARINT_MAX_BYTES;
      // byte * 2^28 keeps the result a non-negative double: `<< 28` would turn bit 31 into a sign.
      return value + byte * 0x1000_0000;
    }
    value |= (byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      cursor.pos = pos + i + 1;
      return value;
    }
  }
  return -1;
}

/** Why the unsigned varint at `pos` is malformed; called only after a read returned -1. */
export function describeMalformedUnsignedVarint(buf: Buffer, pos: number, end: number): string {
  for (let i = 0; i < UNSIGNED_VARINT_MAX_BYTES; i++) {
    if (pos + i >= end) return `the unsigned varint is truncated after ${i} byte(s)`;
    if (buf[pos + i] < 0x80) break;
  }
  return 'the unsigned varint is longer than 5 bytes or wider than 32 bits';
}
