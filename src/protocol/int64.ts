/**
 * Kafka's int64 fields (offsets, timestamps, producer ids) as JavaScript numbers.
 *
 * Sluice keeps offsets and timestamps as `number` on every API and hot path: a bigint per record
 * costs an allocation, and 2^53 offsets or milliseconds is beyond any log's life. Reading a value
 * outside the safe-integer range is an error rather than a silent rounding.
 */
const TWO_POW_32 = 0x1_0000_0000;

export function readInt64(buf: Buffer, pos: number): number {
  const high = buf.readInt32BE(pos);
  const low = buf.readUInt32BE(pos + 4);
  const value = high * TWO_POW_32 + low;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int64 at byte ${pos} (${buf.readBigInt64BE(pos)}) is outside the safe integer range`);
  }
  return value;
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int64 value ${value} is not a safe integer`);
  }
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}
