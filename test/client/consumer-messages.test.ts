/**
 * Decoding fetched batches into consumer messages: records before the fetch offset and control
 * batches are skipped, fields are read lazily from the fetched bytes.
 */
import { describe, expect, it } from 'vitest';
import { ConsumedMessage, decodeFetchedRecords } from '../../src/client/fetcher.js';
import { json } from '../../src/client/serializers.js';
import { CorruptRecordError } from '../../src/errors.js';
import { CRC_OFFSET } from '../../src/protocol/batch-header.js';
import { encodeControlBatch, encodeRecordBatch } from '../../src/protocol/record-batch.js';

function batch(baseOffset: number, values: string[], options: { key?: string; compression?: 'none' | 'lz4' | 'gzip' } = {}): Buffer {
  return encodeRecordBatch({
    baseOffset,
    compression: options.compression ?? 'none',
    records: values.map((value, i) => ({
      key: options.key === undefined ? null : Buffer.from(options.key),
      value: Buffer.from(value),
      timestampMs: 1_700_000_000_000 + i,
    })),
  });
}

function decode(records: Buffer, fromOffset: number): ConsumedMessage[] {
  const out: ConsumedMessage[] = [];
  decodeFetchedRecords('t', 3, records, fromOffset, null, out);
  return out;
}

describe('decodeFetchedRecords', () => {
  it('skips records below the fetch offset (a fetch starts at a batch boundary) and control batches', () => {
    const control = encodeControlBatch({ producerId: 7, producerEpoch: 0, type: 'commit', coordinatorEpoch: 0, timestampMs: 1, baseOffset: 5 });
    const records = Buffer.concat([batch(0, ['a', 'b', 'c', 'd', 'e']), control, batch(6, ['f', 'g'], { compression: 'lz4' })]);
    const messages = decode(records, 2);
    expect(messages.map((m) => [m.offset, m.value!.toString()])).toEqual([
      [2, 'c'],
      [3, 'd'],
      [4, 'e'],
      [6, 'f'],
      [7, 'g'],
    ]);
    expect(messages.every((m) => m.topic === 't' && m.partition === 3)).toBe(true);
    // lz4 is codec 3 in the batch attributes.
    expect(messages[3].attributes & 0x07).toBe(3);
  });

  it('ignores a partial batch at the end, as a size-capped fetch returns, and reports the bytes used', () => {
    const whole = batch(0, ['a']);
    const next = batch(1, ['b', 'c']);
    const out: ConsumedMessage[] = [];
    const used = decodeFetchedRecords('t', 0, Buffer.concat([whole, next.subarray(0, next.length - 3)]), 0, null, out);
    expect(used).toBe(whole.length);
    expect(out.map((m) => m.offset)).toEqual([0]);
  });

  it('gives kafkajs-shaped fields: key, value, headers (repeated names as arrays), numeric offset and timestamp', () => {
    const records = encodeRecordBatch({
      baseOffset: 10,
      records: [
        {
          key: Buffer.from('k'),
          value: null,
          timestampMs: 1_600_000_000_123,
          headers: [
            { key: 'a', value: Buffer.from('1') },
            { key: 'b', value: null },
            { key: 'a', value: Buffer.from('2') },
          ],
        },
      ],
    });
    const [message] = decode(records, 0);
    expect(message.offset).toBe(10);
    expect(message.timestamp).toBe(1_600_000_000_123);
    expect(message.key).toEqual(Buffer.from('k'));
    expect(message.value).toBeNull();
    expect(message.valueSize).toBe(0);
    expect(message.headers).toEqual({ a: [Buffer.from('1'), Buffer.from('2')], b: null });
  });

  it('slices keys and values out of the fetched bytes instead of copying them', () => {
    const records = batch(0, ['hello'], { key: 'key' });
    const [message] = decode(records, 0);
    const value = message.value!;
    expect(value.buffer).toBe(records.buffer);
    records[records.indexOf('hello')] = 'j'.charCodeAt(0);
    expect(message.value!.toString()).toBe('jello');
    expect(value.toString()).toBe('jello');
  });

  it('applies deserializers when the fields are read', () => {
    const records = encodeRecordBatch({ records: [{ key: Buffer.from('"k"'), value: Buffer.from('{"n":1}') }] });
    const out: ConsumedMessage<string, { n: number }>[] = [];
    decodeFetchedRecords('t', 0, records, 0, { key: json<string>(), value: json<{ n: number }>() }, out);
    expect(out[0].key).toBe('k');
    expect(out[0].value).toEqual({ n: 1 });
  });

  it('reports damaged batches as CorruptRecordError', () => {
    const records = batch(0, ['a', 'b']);
    records[CRC_OFFSET] ^= 0xff;
    expect(() => decode(records, 0)).toThrow(CorruptRecordError);
  });
});
