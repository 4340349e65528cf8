import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  ByteCursor,
  VARINT_MAX_BYTES,
  VARLONG_MAX_BYTES,
  describeMalformedVarint,
  isInt32,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../src/protocol/varint.js';
import { seededRandom } from '../support/prng.js';

// kafkajs's Encoder/Decoder are the oracle: an implementation of Kafka's varints we did not write
// (its varlongs go through a 64-bit Long type rather than doubles).
const require = createRequire(import.meta.url);
interface KafkajsEncoder {
  writeVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: number): KafkajsEncoder;
  buffer: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => {
  readVarInt(): number;
  readVarLong(): { toString(): string };
};

const INT32_EDGES = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 1 << 20, -(1 << 20), 2 ** 27, 2 ** 31 - 1, -(2 ** 31)];
const SAFE_EDGES = [
  ...INT32_EDGES,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 35 - 1,
  -(2 ** 35),
  1_700_000_000_000, // a timestamp in ms
  -1_700_000_000_000,
  2 ** 48 + 12345,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER - 1,
  Number.MIN_SAFE_INTEGER + 1,
];

function randomInt32(random: () => number): number {
  const bits = 1 + Math.floor(random() * 32);
  return (Math.floor(random() * 2 ** bits) - 2 ** (bits - 1)) | 0;
}

function randomSafe(random: () => number): number {
  const bits = 1 + Math.floor(random() * 53);
  const magnitude = Math.floor(random() * 2 ** bits);
  return random() < 0.5 ? magnitude : 0 - magnitude; // 0 - m: never -0
}

describe('varint (zigzag int32)', () => {
  const random = seededRandom(0x5eed_0001);
  const values = [...INT32_EDGES, ...Array.from({ length: 2000 }, () => randomInt32(random))];

  it('encodes exactly as kafkajs, with sizeOfVarint matching the bytes written', () => {
    const buf = Buffer.alloc(16);
    for (const value of values) {
      const end = writeVarint(buf, 0, value);
      const expected = new Encoder().writeVarInt(value).buffer;
      expect(buf.subarray(0, end), `value ${value}`).toEqual(expected);
      expect(sizeOfVarint(value)).toBe(end);
    }
  });

  it('decodes what kafkajs encodes, advancing the cursor past it', () => {
    for (const value of values) {
      const encoded = Buffer.concat([new Encoder().writeVarInt(value).buffer, Buffer.from([0xaa])]);
      const cursor = new ByteCursor(encoded);
      expect(readVarint(cursor)).toBe(value);
      expect(cursor.pos).toBe(encoded.length - 1);
    }
  });

  it('accepts non-minimal encodings, as Kafka does', () => {
    const cursor = new ByteCursor(Buffer.from([0x82, 0x80, 0x00]));
    expect(readVarint(cursor)).toBe(1);
    expect(cursor.pos).toBe(3);
  });

  it('reports truncation without reading past the end and without moving the cursor', () => {
    // 300 needs two bytes; give the decoder a range that stops after the first.
    const buf = Buffer.from([0xd8, 0x04, 0x00]);
    const cursor = new ByteCursor(buf, 0, 1);
    expect(readVarint(cursor)).toBeNaN();
    expect(cursor.pos).toBe(0);
    expect(describeMalformedVarint(buf, 0, 1, VARINT_MAX_BYTES)).toBe('varint truncated after 1 byte(s)');
    expect(readVarint(new ByteCursor(buf, 0, 0))).toBeNaN();
  });

  it('rejects more than 5 bytes and a fifth byte wider than 32 bits', () => {
    const tooLong = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x8f, 0x00]);
    expect(readVarint(new ByteCursor(tooLong))).toBeNaN();
    expect(describeMalformedVarint(tooLong, 0, tooLong.length, VARINT_MAX_BYTES)).toBe('varint longer than 5 bytes');
    const overflow = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10]);
    expect(readVarint(new ByteCursor(overflow))).toBeNaN();
    expect(describeMalformedVarint(overflow, 0, overflow.length, VARINT_MAX_BYTES)).toBe(
      'varint of 5 bytes overflows 32 bits',
    );
    // The widest legal one: zigzag 0xffffffff is int32 min.
    expect(readVarint(new ByteCursor(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])))).toBe(-(2 ** 31));
  });

  it('isInt32 tells what a varint can carry', () => {
    expect(isInt32(2 ** 31 - 1)).toBe(true);
    expect(isInt32(-(2 ** 31))).toBe(true);
    expect(isInt32(2 ** 31)).toBe(false);
    expect(isInt32(1.5)).toBe(false);
    expect(isInt32(Number.NaN)).toBe(false);
  });
});

describe('varlong (zigzag int64 as a safe integer)', () => {
  const random = seededRandom(0x5eed_0002);
  const values = [...SAFE_EDGES, ...Array.from({ length: 3000 }, () => randomSafe(random))];

  it('encodes exactly as kafkajs, with sizeOfVarlong matching the bytes written', () => {
    const buf = Buffer.alloc(16);
    for (const value of values) {
      const end = writeVarlong(buf, 0, value);
      const expected = new Encoder().writeVarLong(value).buffer;
      expect(buf.subarray(0, end), `value ${value}`).toEqual(expected);
      expect(sizeOfVarlong(value)).toBe(end);
    }
  });

  it('decodes what kafkajs encodes, and kafkajs decodes what we encode', () => {
    const buf = Buffer.alloc(16);
    for (const value of values) {
      const encoded = new Encoder().writeVarLong(value).buffer;
      const cursor = new ByteCursor(encoded);
      expect(readVarlong(cursor), `value ${value}`).toBe(value);
      expect(cursor.pos).toBe(encoded.length);
      const end = writeVarlong(buf, 0, value);
      expect(new Decoder(buf.subarray(0, end)).readVarLong().toString()).toBe(String(value));
    }
  });

  it('rejects values outside the safe integer range instead of rounding them', () => {
    for (const big of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      const zigzag = big >= 0n ? big << 1n : ((-big) << 1n) - 1n;
      const bytes: number[] = [];
      let rest = zigzag;
      while (rest >= 0x80n) {
        bytes.push(Number(rest & 0x7fn) | 0x80);
        rest >>= 7n;
      }
      bytes.push(Number(rest));
      const buf = Buffer.from(bytes);
      const cursor = new ByteCursor(buf);
      expect(readVarlong(cursor), `value ${big}`).toBeNaN();
      expect(cursor.pos).toBe(0);
      expect(describeMalformedVarint(buf, 0, buf.length, VARLONG_MAX_BYTES)).toMatch(/outside the safe integer range/);
    }
  });

  it('rejects more than 10 bytes and truncation at every length', () => {
    const eleven = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    expect(readVarlong(new ByteCursor(eleven))).toBeNaN();
    expect(describeMalformedVarint(eleven, 0, eleven.length, VARLONG_MAX_BYTES)).toBe('varlong longer than 10 bytes');
    const full = Buffer.alloc(10);
    const end = writeVarlong(full, 0, Number.MIN_SAFE_INTEGER);
    for (let cut = 0; cut < end; cut++) {
      const cursor = new ByteCursor(full, 0, cut);
      expect(readVarlong(cursor), `cut at ${cut}`).toBeNaN();
      expect(cursor.pos).toBe(0);
    }
  });
});
