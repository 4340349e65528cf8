import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { partitionForKey, Partitioner } from '../../src/client/partitioner.js';
import { murmur2, toPositive } from '../../src/protocol/murmur2.js';
import { InvalidConfigError, InvalidPartitionerResultError, InvalidPartitionsError } from '../../src/errors.js';
import { seededRandom } from '../support/prng.js';

// kafkajs's Java-compatible partitioner is the oracle: it reproduces Kafka's Java client with
// 64-bit Long arithmetic, an implementation independent of ours.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;
const { Partitioners } = require('kafkajs') as {
  Partitioners: {
    DefaultPartitioner: () => (args: {
      topic: string;
      partitionMetadata: { partitionId: number; leader: number }[];
      message: { key: Buffer | null; value: Buffer | null; partition?: number };
    }) => number;
  };
};

function randomKey(random: () => number, length: number): Buffer {
  const key = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) key[i] = Math.floor(random() * 256);
  return key;
}

describe('murmur2', () => {
  it("matches the vectors of Apache Kafka's UtilsTest.testMurmur2", () => {
    const cases: [Uint8Array, number][] = [
      [Buffer.from('21'), -973932308],
      [Buffer.from('foobar'), -790332482],
      [Buffer.from('a-little-bit-long-string'), -985981536],
      [Buffer.from('a-little-bit-longer-string'), -1486304829],
      [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
      [new Uint8Array([0x61, 0x62, 0x63]), 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(key)).toBe(hash);
  });

  it('matches kafkajs over 100,000 random keys of 0 to 64 bytes, every byte value included', () => {
    const random = seededRandom(0x5eed);
    let mismatches = 0;
    let negativeHashes = 0;
    for (let n = 0; n < 100_000; n++) {
      const key = randomKey(random, n % 65);
      const expected = kafkajsMurmur2(key);
      if (murmur2(key) !== expected) mismatches++;
      if (expected < 0) negativeHashes++;
    }
    expect(mismatches).toBe(0);
    // Both signs occur, so the signed 32-bit wrap-around is exercised.
    expect(negativeHashes).toBeGreaterThan(40_000);
  });

  it('hashes a key inside a larger buffer exactly as the key alone', () => {
    const random = seededRandom(7);
    const buffer = randomKey(random, 200);
    for (let start = 0; start < 40; start++) {
      for (const length of [0, 1, 2, 3, 4, 5, 16, 63]) {
        const end = start + length;
        expect(murmur2(buffer, start, end)).toBe(kafkajsMurmur2(Buffer.from(buffer.subarray(start, end))));
      }
    }
  });

  it('rejects a range outside the buffer', () => {
    const key = new Uint8Array(8);
    expect(() => murmur2(key, 4, 9)).toThrow(RangeError);
    expect(() => murmur2(key, -1, 4)).toThrow(RangeError);
    expect(() => murmur2(key, 5, 4)).toThrow(RangeError);
    expect(() => murmur2(key, 0.5, 4)).toThrow(RangeError);
  });

  it('toPositive clears the sign bit, as Kafka does, rather than taking the absolute value', () => {
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-0x80000000)).toBe(0);
    expect(toPositive(12345)).toBe(12345);
  });
});

describe('keyed records', () => {
  it("land on kafkajs's DefaultPartitioner partition for 100,000 keys and counts 1 to 100", () => {
    const random = seededRandom(0xca11);
    const kafkajs = Partitioners.DefaultPartitioner();
    const metadataByCount = Array.from({ length: 101 }, (_, count) =>
      Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0 })),
    );
    const partitioner = new Partitioner();
    let mismatches = 0;
    for (let n = 0; n < 100_000; n++) {
      const key = randomKey(random, n % 65);
      const partitionCount = 1 + (n % 100);
      const expected = kafkajs({
        topic: 't',
        partitionMetadata: metadataByCount[partitionCount],
        message: { key, value: null },
      });
      if (partitioner.partition('t', partitionCount, key, null) !== expected) mismatches++;
      if (partitionForKey(key, partitionCount) !== expected) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('ignore the sticky partition of keyless records', () => {
    const partitioner = new Partitioner({ random: seededRandom(1) });
    const key = Buffer.from('order-42');
    const expected = partitionForKey(key, 12);
    for (let batch = 0; batch < 50; batch++) {
      const sticky = partitioner.partition('orders', 12, null);
      expect(partitioner.partition('orders', 12, key)).toBe(expected);
      partitioner.onNewBatch('orders', 12, sticky);
    }
  });
});

describe('keyless records (sticky partitioning)', () => {
  it('stay on one partition until onNewBatch, then move to a different one', () => {
    const partitioner = new Partitioner({ random: seededRandom(2) });
    const first = partitioner.partition('events', 8, null);
    for (let i = 0; i < 1000; i++) expect(partitioner.partition('events', 8, null)).toBe(first);
    const second = partitioner.onNewBatch('events', 8, first);
    expect(second).not.toBe(first);
    expect(partitioner.stickyPartition('events')).toBe(second);
    for (let i = 0; i < 1000; i++) expect(partitioner.partition('events', 8, null)).toBe(second);
  });

  it('ignore a stale onNewBatch for a partition that is no longer sticky', () => {
    const partitioner = new Partitioner({ random: seededRandom(3) });
    const sticky = partitioner.partition('events', 8, null);
    const other = (sticky + 1) % 8;
    expect(partitioner.onNewBatch('events', 8, other)).toBe(sticky);
    expect(partitioner.partition('events', 8, null)).toBe(sticky);
  });

  it('spread over every partition across many batches', () => {
    const partitioner = new Partitioner({ random: seededRandom(4) });
    const partitionCount = 10;
    const batchesPerPartition = new Array<number>(partitionCount).fill(0);
    let previous = -1;
    for (let batch = 0; batch < 10_000; batch++) {
      const partition = partitioner.partition('events', partitionCount, null);
      expect(partition).not.toBe(previous);
      batchesPerPartition[partition]++;
      partitioner.onNewBatch('events', partitionCount, partition);
      previous = partition;
    }
    // Uniform choice gives 1,000 batches each; allow generous statistical slack.
    for (const batches of batchesPerPartition) {
      expect(batches).toBeGreaterThan(850);
      expect(batches).toBeLessThan(1150);
    }
  });

  it('keep an independent sticky partition per topic', () => {
    const partitioner = new Partitioner({ random: seededRandom(5) });
    const a = partitioner.partition('a', 1000, null);
    const b = partitioner.partition('b', 1000, null);
    partitioner.onNewBatch('a', 1000, a);
    expect(partitioner.partition('b', 1000, null)).toBe(b);
    expect(partitioner.partition('a', 1000, null)).not.toBe(a);
  });

  it('choose only among the available partitions, never the previous one while another exists', () => {
    const partitioner = new Partitioner({ random: seededRandom(6) });
    const available = [2, 5, 7];
    let previous = partitioner.partition('t', 10, null);
    const seen = new Set<number>();
    for (let batch = 0; batch < 300; batch++) {
      const next = partitioner.onNewBatch('t', 10, previous, available);
      expect(available).toContain(next);
      expect(next).not.toBe(previous);
      seen.add(next);
      previous = next;
    }
    expect([...seen].sort()).toEqual(available);
    expect(partitioner.onNewBatch('t', 10, previous, [9])).toBe(9);
  });

  it('with a single partition always use it', () => {
    const partitioner = new Partitioner({ random: seededRandom(7) });
    expect(partitioner.partition('t', 1, null)).toBe(0);
    expect(partitioner.onNewBatch('t', 1, 0)).toBe(0);
    expect(partitioner.partition('t', 1, null)).toBe(0);
  });

  it('pick again when the topic now has fewer partitions than the sticky one', () => {
    const partitioner = new Partitioner({ random: () => 0.99 });
    expect(partitioner.partition('t', 100, null)).toBe(99);
    expect(partitioner.partition('t', 4, null)).toBe(3);
  });

  it('work with the default random source', () => {
    const partitioner = new Partitioner();
    const first = partitioner.partition('t', 3, null);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(3);
    expect(partitioner.onNewBatch('t', 3, first)).not.toBe(first);
  });
});

describe('custom partitioner', () => {
  it('receives topic, partition count, key and value, and decides every record', () => {
    const seen: unknown[] = [];
    const partitioner = new Partitioner({
      partitioner: (args) => {
        seen.push(args);
        return args.value === null ? 0 : args.value.length % args.partitionCount;
      },
    });
    const key = Buffer.from('k');
    const value = Buffer.from('hello');
    expect(partitioner.partition('t', 3, key, value)).toBe(2);
    expect(partitioner.partition('t', 3, null, null)).toBe(0);
    expect(seen).toEqual([
      { topic: 't', partitionCount: 3, key, value },
      { topic: 't', partitionCount: 3, key: null, value: null },
    ]);
  });

  it('is rejected with a clear error when it returns something other than a partition', () => {
    for (const bad of [-1, 3, 1.5, Number.NaN, '1', undefined]) {
      const partitioner = new Partitioner({ partitioner: () => bad as number });
      expect(() => partitioner.partition('t', 3, null)).toThrow(InvalidPartitionerResultError);
    }
    const partitioner = new Partitioner({ partitioner: () => 3 });
    expect(() => partitioner.partition('orders', 3, null)).toThrow(
      'the custom partitioner returned 3 for topic "orders"; it must return an integer partition from 0 to 2',
    );
  });

  it('must be a function', () => {
    expect(() => new Partitioner({ partitioner: 'murmur2' as never })).toThrow(InvalidConfigError);
  });
});

describe('input validation', () => {
  it('rejects partition counts that are not positive integers', () => {
    const partitioner = new Partitioner();
    for (const count of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => partitioner.partition('t', count, null)).toThrow(InvalidPartitionsError);
      expect(() => partitionForKey(Buffer.from('k'), count)).toThrow(InvalidPartitionsError);
    }
  });

  it('rejects keys that are not bytes', () => {
    const partitioner = new Partitioner();
    expect(() => partitioner.partition('t', 3, 'key' as never)).toThrow(TypeError);
  });

  it('rejects an onNewBatch partition or available partition outside the topic', () => {
    const partitioner = new Partitioner();
    expect(() => partitioner.onNewBatch('t', 3, 3)).toThrow(InvalidPartitionsError);
    expect(() => partitioner.onNewBatch('t', 3, 0, [0, 4])).toThrow(InvalidPartitionsError);
  });

  it('rejects a random source that leaves [0, 1)', () => {
    const partitioner = new Partitioner({ random: () => 1 });
    expect(() => partitioner.partition('t', 3, null)).toThrow(InvalidConfigError);
  });
});
