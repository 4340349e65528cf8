import { describe, expect, it } from 'vitest';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

const hex = (w: Writer): string => w.toBuffer().toString('hex');

describe('Writer primitives', () => {
  it('writes big-endian integers, booleans and floats', () => {
    const w = new Writer();
    w.int8(-1).int16(-32768).int32(2147483647).uint32(4294967295).int64(-2).bool(true).bool(false);
    w.float64(Math.PI);
    expect(hex(w)).toBe('ff8000' + '7fffffff' + 'ffffffff' + 'fffffffffffffffe' + '0100' + '400921fb54442d18');
  });

  it('writes unsigned varints of 1 to 5 bytes and zigzag varints', () => {
    const w = new Writer();
    w.unsignedVarint(0).unsignedVarint(127).unsignedVarint(128).unsignedVarint(0xffffffff);
    w.varint(-1).varint(1).varint(-2147483648);
    expect(hex(w)).toBe('007f8001ffffffff0f' + '0102ffffffff0f');
  });

  it('writes strings with int16 or compact lengths, and nulls', () => {
    const w = new Writer();
    w.string('abc').nullableString(null).compactString('né').compactNullableString(null).compactNullableString('');
    expect(hex(w)).toBe('0003616263' + 'ffff' + '046ec3a9' + '00' + '01');
  });

  it('writes bytes with int32 or compact lengths, and nulls', () => {
    const w = new Writer();
    w.bytes(Buffer.from([1, 2])).nullableBytes(null).compactBytes(Buffer.from([3])).compactNullableBytes(null);
    expect(hex(w)).toBe('000000020102' + 'ffffffff' + '0203' + '00');
  });

  it('writes arrays and compact arrays with their element writer', () => {
    const w = new Writer();
    w.array([1, 2], (x, n) => x.int16(n)).array(null, (x, n: number) => x.int16(n));
    w.compactArray([7], (x, n) => x.int8(n)).compactArray(null, (x, n: number) => x.int8(n));
    expect(hex(w)).toBe('0000000200010002' + 'ffffffff' + '0207' + '00');
  });

  it('writes a uuid from its Kafka string form and reads it back', () => {
    const w = new Writer().uuid('--8AAAAAAAAAAAAAAAAAAQ');
    expect(hex(w)).toBe('fbef0000000000000000000000000001');
    expect(new Reader(w.toBuffer()).uuid()).toBe('--8AAAAAAAAAAAAAAAAAAQ');
  });

  it('rejects values the wire type cannot carry, naming the field', () => {
    const w = new Writer();
    w.context = 'ProduceResponse v7.responses[].partitionResponses[].index';
    expect(() => w.int32(2 ** 31)).toThrow(/partitionResponses\[\]\.index: 2147483648 is not an int32/);
    expect(() => w.int32(undefined as unknown as number)).toThrow(RangeError);
    expect(() => w.int32(1.5)).toThrow(RangeError);
    expect(() => w.int16(40000)).toThrow(RangeError);
    expect(() => w.int8(128)).toThrow(RangeError);
    expect(() => w.uint32(-1)).toThrow(RangeError);
    expect(() => w.int64(2 ** 53)).toThrow(RangeError);
    expect(() => w.unsignedVarint(2 ** 32)).toThrow(RangeError);
    expect(() => w.bool(1 as unknown as boolean)).toThrow(RangeError);
    expect(() => w.string(null as unknown as string)).toThrow(/null is not a string/);
    expect(() => w.string('x'.repeat(0x8000))).toThrow(/at most 32767 bytes/);
    expect(() => w.uuid('not-a-uuid')).toThrow(RangeError);
    // The last character of a 22-character uuid carries 2 bits: 'B' would not round-trip.
    expect(() => w.uuid('AAAAAAAAAAAAAAAAAAAAAB')).toThrow(RangeError);
    expect(() => w.bytes('ab' as unknown as Buffer)).toThrow(/not a Buffer/);
    expect(w.length).toBe(0);
  });

  it('grows past its initial size and keeps what it wrote', () => {
    const w = new Writer({ initialBytes: 16 });
    for (let i = 0; i < 1000; i++) w.int32(i);
    const r = new Reader(w.toBuffer());
    for (let i = 0; i < 1000; i++) expect(r.int32()).toBe(i);
  });

  it('is reusable after reset()', () => {
    const w = new Writer();
    w.string('first message');
    w.reset().int8(5);
    expect(hex(w)).toBe('05');
  });

  it('validates its options', () => {
    expect(() => new Writer({ initialBytes: 0 })).toThrow(RangeError);
    expect(() => new Writer({ zeroCopyMinBytes: 0 })).toThrow(RangeError);
  });
});

describe('Writer zero-copy byte fields', () => {
  it('references large byte fields instead of copying them, and keeps the byte order', () => {
    const w = new Writer({ zeroCopyMinBytes: 8 });
    const big = Buffer.alloc(32, 0xaa);
    w.int16(1).bytes(big).int16(2).nullableBytes(Buffer.from([1, 2, 3])).compactBytes(big).int8(3);
    const chunks = w.chunks();
    // The large fields are the caller's own buffers, by reference.
    expect(chunks.filter((chunk) => chunk === big)).toHaveLength(2);
    expect(w.length).toBe(chunks.reduce((sum, chunk) => sum + chunk.length, 0));

    const copying = new Writer({ zeroCopyMinBytes: Infinity });
    copying.int16(1).bytes(big).int16(2).nullableBytes(Buffer.from([1, 2, 3])).compactBytes(big).int8(3);
    expect(copying.chunks()).toHaveLength(1);
    expect(w.toBuffer().equals(copying.toBuffer())).toBe(true);
  });

  it('patches a reserved int32 (a frame size) even after referenced bytes', () => {
    const w = new Writer({ zeroCopyMinBytes: 4 });
    w.raw(Buffer.alloc(10, 1));
    const at = w.reserveInt32();
    w.raw(Buffer.alloc(20, 2)).int8(9);
    w.patchInt32(at, w.length - at - 4);
    const whole = w.toBuffer();
    expect(whole.readInt32BE(10)).toBe(21);
    expect(whole.length).toBe(35);
    expect(() => w.patchInt32(33, 0)).toThrow(RangeError);
  });
});

describe('Writer tagged fields', () => {
  it('prefixes a small value with its size', () => {
    const w = new Writer();
    w.unsignedVarint(1).taggedField(3, (x) => x.int32(7));
    expect(hex(w)).toBe('01' + '03' + '04' + '00000007');
  });

  it('widens the size prefix of a value of 128 bytes or more', () => {
    const w = new Writer({ initialBytes: 16 });
    const value = Buffer.alloc(300, 0x5a);
    w.taggedField(0, (x) => x.raw(value)).int8(-1);
    const r = new Reader(w.toBuffer());
    expect(r.unsignedVarint()).toBe(0);
    expect(r.unsignedVarint()).toBe(300);
    r.skip(300);
    expect(r.int8()).toBe(-1);
    expect(w.toBuffer().subarray(3, 303).equals(value)).toBe(true);
  });

  it('refuses referenced bytes inside a tagged field, whose size must be known', () => {
    const w = new Writer({ zeroCopyMinBytes: 4 });
    expect(() => w.taggedField(0, (x) => x.raw(Buffer.alloc(8)))).toThrow(RangeError);
  });

  it('writes an empty tagged-field section as one zero byte', () => {
    expect(hex(new Writer().emptyTaggedFields())).toBe('00');
  });
});
