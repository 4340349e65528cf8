import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { MessageCodec } from '../../../src/protocol/wire/codec.js';
import { Reader } from '../../../src/protocol/wire/reader.js';
import { array, bool, int32, int64, parseVersions, string, struct, uuid } from '../../../src/protocol/wire/schema.js';
import { ZERO_UUID } from '../../../src/protocol/wire/uuid.js';
import { Writer } from '../../../src/protocol/wire/writer.js';

// A made-up message exercising every rule: version ranges, nullable ranges, defaults, nested
// arrays, tagged scalars and tagged structs. Valid 0-2, flexible from 2.
const schema = {
  id: int32(),
  name: string({ versions: '1+', nullable: '2+' }),
  items: array({ key: string(), value: int64({ default: -1 }) }),
  numbers: array(int32(), { versions: '2+', nullable: '2+' }),
  topicId: uuid({ versions: '2+', optional: true }),
  flag: bool({ versions: '0-1', default: true }),
  note: string({ versions: '2+', tag: 0, nullable: '2+', default: null }),
  leader: struct({ leaderId: int32({ default: -1 }), epoch: int32({ default: -1 }) }, { versions: '2+', tag: 1 }),
};
const message = new MessageCodec('TestMessage', schema, parseVersions('0-2'), parseVersions('2+'));

function encode(version: number, value: Parameters<typeof message.write>[2]): Buffer {
  const w = new Writer();
  message.write(w, version, value);
  return Buffer.from(w.toBuffer());
}

function decode(version: number, bytes: Buffer) {
  const r = new Reader(bytes);
  const value = message.read(r, version);
  expect(r.remaining).toBe(0);
  return value;
}

describe('parseVersions', () => {
  it('reads the spec notation', () => {
    expect(parseVersions('3+')).toEqual({ min: 3, max: Infinity });
    expect(parseVersions('0-7')).toEqual({ min: 0, max: 7 });
    expect(parseVersions('5')).toEqual({ min: 5, max: 5 });
    expect(parseVersions('none')).toEqual({ min: 1, max: 0 });
    expect(() => parseVersions('7-3')).toThrow(RangeError);
    expect(() => parseVersions('v3')).toThrow(RangeError);
  });
});

describe('MessageCodec versions', () => {
  it('v0: writes only the v0 fields, non-compact; decoding fills the rest with defaults', () => {
    const bytes = encode(0, { id: 1, name: 'ignored at v0', items: [{ key: 'k', value: 5 }], flag: false });
    // id | items: int32 count 1, key "k", value 5 | flag false
    expect(bytes.toString('hex')).toBe('00000001' + '00000001' + '00016b' + '0000000000000005' + '00');
    expect(decode(0, bytes)).toEqual({
      id: 1,
      name: '',
      items: [{ key: 'k', value: 5 }],
      numbers: [],
      topicId: ZERO_UUID,
      flag: false,
      note: null,
      leader: { leaderId: -1, epoch: -1 },
    });
  });

  it('v2: compact strings and arrays, a tagged-field section closing every struct', () => {
    const bytes = encode(2, { id: 1, name: null, items: [{ key: 'k' }], numbers: null });
    // id | name null | items: count+1, key len+1 "k", value default -1, element tags | numbers null
    // | topicId zero | top-level tags: none (note and leader are at their defaults)
    expect(bytes.toString('hex')).toBe(
      '00000001' + '00' + '02' + '026b' + 'ffffffffffffffff' + '00' + '00' + '00'.repeat(16) + '00',
    );
    expect(decode(2, bytes).name).toBeNull();
  });

  it('writes tagged fields that differ from their defaults, in tag order, and reads them back', () => {
    const value = { id: 9, name: 'n', items: [], numbers: [3], leader: { leaderId: 2, epoch: 7 }, note: 'hi' };
    const bytes = encode(2, value);
    const tail = bytes.subarray(bytes.length - 17).toString('hex');
    // 2 tagged fields | tag 0, size 3, compact "hi" | tag 1, size 8, leaderId 2 epoch 7 (+ struct's tags)
    expect(tail).toBe('02' + '00' + '03' + '036869' + '01' + '09' + '00000002' + '00000007' + '00');
    expect(decode(2, bytes)).toMatchObject({ note: 'hi', leader: { leaderId: 2, epoch: 7 }, numbers: [3] });
  });

  it('skips unknown tags, as a reader of an older spec must', () => {
    const bytes = encode(2, { id: 1, name: 'n', items: [], numbers: [] });
    // Replace the empty top-level tag section with one holding unknown tag 9 (3 bytes).
    const withUnknown = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from('01' + '09' + '03' + 'aabbcc', 'hex')]);
    expect(decode(2, withUnknown).note).toBeNull();
  });

  it('rejects a known tag whose value does not fill its declared size', () => {
    const bytes = encode(2, { id: 1, name: 'n', items: [], numbers: [], note: 'hi' });
    // ... | 1 tagged field | tag 0 | size 3 | compact "hi". Make the size 4 and append a byte, so
    // the frame still holds 4 bytes but the string inside ends after 3.
    const at = bytes.length - 4;
    expect(bytes.subarray(at - 2).toString('hex')).toBe('0100' + '03' + '036869');
    const longer = Buffer.concat([bytes, Buffer.from([0])]);
    longer[at] = 4;
    expect(() => decode(2, longer)).toThrow(/end of tagged field 0/);
  });

  it('rejects null where the version does not allow it, decoding and encoding', () => {
    // v1 string "name" is not nullable: int16 -1 is malformed.
    const bytes = Buffer.from('00000001' + 'ffff' + '00000000' + '01', 'hex');
    expect(() => decode(1, bytes)).toThrow(ProtocolError);
    expect(() => encode(1, { id: 1, name: null, items: [] })).toThrow(/TestMessage v1.name: null is not a string/);
    expect(() => encode(1, { id: 1, name: 'a', items: [], numbers: null })).not.toThrow();
  });

  it('refuses to encode a missing required field, and fills in a missing optional one', () => {
    expect(() => encode(1, { id: 1, items: [] })).toThrow(/TestMessage v1.name: the field is required and missing/);
    expect(() => encode(0, { id: 1, items: [{} as { key: string }] })).toThrow(/items\[\].key/);
    expect(decode(2, encode(2, { id: 1, name: 'a', items: [], numbers: [] })).topicId).toBe(ZERO_UUID);
  });

  it('names the field in decoding errors', () => {
    const bytes = encode(1, { id: 1, name: 'a', items: [{ key: 'k', value: 1 }] });
    // Drop the flag and the value's last byte: the element count still fits, the int64 does not.
    expect(() => decode(1, bytes.subarray(0, bytes.length - 2))).toThrow(/int64 \(TestMessage v1.items\[\].value\)/);
  });

  it('rejects versions outside the valid range', () => {
    expect(() => message.codec(3)).toThrow(RangeError);
  });
});
