import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { Reader } from '../../../src/protocol/wire/reader.js';

function reader(hex: string): Reader {
  return new Reader(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}

/** Runs `read` and returns the ProtocolError it must throw. */
function protocolError(read: () => unknown): ProtocolError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but the read succeeded');
}

describe('Reader fixed-width integers', () => {
  it('reads big-endian signed and unsigned values and advances', () => {
    const r = reader('ff 8000 7fffffff ffffffff fffffffffffffffe 0000000000000001 001fffffffffffff');
    expect(r.int8()).toBe(-1);
    expect(r.int16()).toBe(-32768);
    expect(r.int32()).toBe(2147483647);
    expect(r.uint32()).toBe(4294967295);
    expect(r.int64()).toBe(-2);
    expect(r.int64()).toBe(1);
    expect(r.int64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(r.remaining).toBe(0);
  });

  it('reads -(2^53 - 1), the smallest safe int64', () => {
    expect(reader('ffe0000000000001').int64()).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it('rejects int64 values outside the safe-integer range instead of rounding them', () => {
    for (const hex of ['0020000000000000', 'ffe0000000000000', '7fffffffffffffff', '8000000000000000']) {
      const error = protocolError(() => reader(hex).int64());
      expect(error.position).toBe(0);
      expect(error.message).toContain('safe integer');
    }
  });

  it('reads float64 and booleans (any non-zero byte is true, as in Kafka)', () => {
    const r = reader('400921fb54442d18 00 01 7f');
    expect(r.float64()).toBe(Math.PI);
    expect([r.bool(), r.bool(), r.bool()]).toEqual([false, true, true]);
  });

  it('throws ProtocolError with the position and the expected type when bytes run out', () => {
    for (const [read, expected] of [
      [(r: Reader) => r.int8(), 'int8'],
      [(r: Reader) => r.int16(), 'int16'],
      [(r: Reader) => r.int32(), 'int32'],
      [(r: Reader) => r.uint32(), 'uint32'],
      [(r: Reader) => r.int64(), 'int64'],
      [(r: Reader) => r.float64(), 'float64'],
      [(r: Reader) => r.bool(), 'boolean'],
      [(r: Reader) => r.uuid(), 'uuid'],
    ] as const) {
      const r = reader('01');
      r.skip(1);
      const error = protocolError(() => read(r));
      expect(error.position).toBe(1);
      expect(error.expected).toContain(expected);
      expect(error.code).toBe('INVALID_REQUEST');
    }
  });

  it('never reads past `end`, even when the buffer goes on', () => {
    const r = new Reader(Buffer.from('0000000100000002', 'hex'), 0, 6);
    expect(r.int32()).toBe(1);
    expect(() => r.int32()).toThrow(ProtocolError);
  });

  it('names the field being decoded in errors', () => {
    const r = reader('00');
    r.context = 'FetchRequest v4.maxWaitMs';
    expect(() => r.int32()).toThrow(/int32 \(FetchRequest v4.maxWaitMs\)/);
  });

  it('rejects a range outside the buffer at construction', () => {
    expect(() => new Reader(Buffer.alloc(4), 2, 5)).toThrow(RangeError);
    expect(() => new Reader(Buffer.alloc(4), 3, 2)).toThrow(RangeError);
    expect(() => new Reader('00' as unknown as Buffer)).toThrow(TypeError);
  });
});

describe('Reader varints', () => {
  it('reads unsigned varints of 1 to 5 bytes, up to 2^32 - 1', () => {
    const r = reader('00 7f 8001 ffff03 ffffff7f 8080808001 ffffffff0f');
    expect([r.unsignedVarint(), r.unsignedVarint(), r.unsignedVarint(), r.unsignedVarint()]).toEqual([
      0, 127, 128, 65535,
    ]);
    expect(r.unsignedVarint()).toBe(0x0fffffff);
    expect(r.unsignedVarint()).toBe(2 ** 28);
    expect(r.unsignedVarint()).toBe(0xffffffff);
  });

  it('rejects unsigned varints that are truncated, too long or wider than 32 bits', () => {
    expect(protocolError(() => reader('8080').unsignedVarint()).message).toContain('truncated after 2');
    expect(protocolError(() => reader('ffffffff1f').unsignedVarint()).message).toContain('wider than 32 bits');
    expect(protocolError(() => reader('808080808001').unsignedVarint()).message).toContain('longer than 5 bytes');
  });

  it('reads zigzag varints through the record-format codec', () => {
    const r = reader('00 01 02 ffffffff0f');
    expect([r.varint(), r.varint(), r.varint(), r.varint()]).toEqual([0, -1, 1, -2147483648]);
    expect(() => reader('ff').varint()).toThrow(ProtocolError);
  });
});

describe('Reader strings', () => {
  it('reads int16-length strings, nullable strings and UTF-8', () => {
    const r = reader(`0003 616263  ffff  0000  0004 ${Buffer.from('né!').toString('hex')}`);
    expect(r.string()).toBe('abc');
    expect(r.nullableString()).toBeNull();
    expect(r.nullableString()).toBe('');
    expect(r.string()).toBe('né!');
  });

  it('reads compact strings: unsigned varint length + 1, 0 meaning null', () => {
    const r = reader('04 616263  00  01');
    expect(r.compactString()).toBe('abc');
    expect(r.compactNullableString()).toBeNull();
    expect(r.compactNullableString()).toBe('');
  });

  it('rejects null where the string is not nullable, and lengths below -1', () => {
    expect(protocolError(() => reader('ffff').string()).message).toContain('(null)');
    expect(protocolError(() => reader('00').compactString()).message).toContain('null');
    expect(protocolError(() => reader('fffe').nullableString()).message).toContain('-2');
  });

  it('rejects a string whose length runs past the end', () => {
    const error = protocolError(() => reader('0005 6162').string());
    expect(error.position).toBe(2);
    expect(error.message).toContain('5 byte(s)');
  });

  it('rejects compact strings longer than Kafka allows (32767 bytes)', () => {
    const r = new Reader(Buffer.concat([Buffer.from('818002', 'hex'), Buffer.alloc(0x8000, 0x61)]));
    expect(protocolError(() => r.compactString()).message).toContain('32767');
  });
});

describe('Reader bytes', () => {
  it('returns slices that share memory with the frame, not copies', () => {
    const frame = Buffer.from('000000030a0b0c', 'hex');
    const bytes = new Reader(frame).bytes();
    expect([...bytes]).toEqual([10, 11, 12]);
    frame[4] = 99;
    expect(bytes[0]).toBe(99);
  });

  it('reads nullable and compact bytes', () => {
    const r = reader('ffffffff 00000000 03 0102 00 01');
    expect(r.nullableBytes()).toBeNull();
    expect(r.bytes().length).toBe(0);
    expect([...r.compactBytes()]).toEqual([1, 2]);
    expect(r.compactNullableBytes()).toBeNull();
    expect(r.compactNullableBytes()?.length).toBe(0);
  });

  it('rejects null non-nullable bytes, negative lengths and lengths past the end', () => {
    expect(() => reader('ffffffff').bytes()).toThrow(ProtocolError);
    expect(() => reader('fffffffe').nullableBytes()).toThrow(ProtocolError);
    expect(() => reader('00').compactBytes()).toThrow(ProtocolError);
    expect(protocolError(() => reader('7fffffff 00').bytes()).message).toContain('it needs 2147483647 byte(s) and only 1 remain');
  });
});

describe('Reader array lengths', () => {
  it('returns counts, and -1 for null', () => {
    expect(reader('00000002 0000').arrayLength(1)).toBe(2);
    expect(reader('ffffffff').arrayLength(1)).toBe(-1);
    expect(reader('03 0000').compactArrayLength(1)).toBe(2);
    expect(reader('00').compactArrayLength(1)).toBe(-1);
  });

  it('rejects a forged count the remaining bytes cannot hold, before anything is allocated', () => {
    // 2^31 - 1 int32 elements would need 8 GiB; the frame has 8 bytes left.
    const error = protocolError(() => reader('7fffffff 0000000000000000').arrayLength(4));
    expect(error.position).toBe(0);
    expect(error.message).toContain('2147483647 element(s)');
    expect(() => reader('ffffffff0f').compactArrayLength(1)).toThrow(ProtocolError);
    // Two 4-byte elements need 8 bytes: 7 is one short.
    expect(() => reader('00000002 00000000000000').arrayLength(4)).toThrow(ProtocolError);
  });

  it('rejects counts below -1', () => {
    expect(() => reader('fffffffe').arrayLength(1)).toThrow(ProtocolError);
  });
});

describe('Reader uuids and tagged fields', () => {
  it('reads a uuid as Kafka prints it (URL-safe base64, no padding)', () => {
    const r = reader('fb ef 00 00 00 00 00 00 00 00 00 00 00 00 00 01');
    expect(r.uuid()).toBe('--8AAAAAAAAAAAAAAAAAAQ');
  });

  it('skips a whole tagged-field section', () => {
    const r = reader('02 00 02 abcd 05 01 ff 07');
    r.skipTaggedFields();
    expect(r.int8()).toBe(7);
  });

  it('rejects a tagged-field count the remaining bytes cannot hold, and sizes past the end', () => {
    expect(() => reader('05 0000').skipTaggedFields()).toThrow(ProtocolError);
    expect(() => reader('01 00 09 00').skipTaggedFields()).toThrow(ProtocolError);
  });
});
