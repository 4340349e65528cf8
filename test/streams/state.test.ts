import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, Serdes, StreamsBuilder, type Topology } from '../../src/streams/index.js';
import { eventually } from '../support/eventually.js';
import { createTopic, latestByKey, openHarness, produce, readAll, waitForState, type Harness } from './support.js';

const long = Serdes.Long();

function wordCount(storeType: 'persistent' | 'in-memory'): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('lines', { valueSerde: Serdes.String() })
    .flatMapValues((line) => line.split(' '))
    .groupBy((_key, word) => word, { keySerde: Serdes.String() })
    .count({ storeName: 'counts', storeType })
    .toStream()
    .to('counts-out', { keySerde: Serdes.String(), valueSerde: long });
  return builder.build();
}

function countWords(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) for (const word of line.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

describe('KafkaStreams, state stores', () => {
  let harness: Harness | null = null;
  const running: KafkaStreams[] = [];
  afterEach(async () => {
    for (const streams of running.splice(0)) await streams.close();
    await harness?.close();
    harness = null;
  });

  async function start(topology: Topology, applicationId: string, extra: { commitIntervalMs?: number } = {}): Promise<KafkaStreams> {
    const streams = new KafkaStreams(topology, { applicationId, sluice: harness!.sluice, stateDir: harness!.stateDir, commitIntervalMs: 50, ...extra });
    running.push(streams);
    await streams.start();
    await waitForState(streams, 'RUNNING');
    return streams;
  }

  for (const storeType of ['persistent', 'in-memory'] as const) {
    it(`counts into a ${storeType} store with a compacted changelog, queryable, and restores it after a restart`, async () => {
      harness = await openHarness('streams-state');
      const { sluice } = harness;
      await createTopic(sluice, 'lines', 2);
      const first = Array.from({ length: 300 }, (_, i) => `w${i % 7} w${i % 11} w${i % 3}`);
      await produce(sluice, 'lines', first.map((value, i) => ({ key: `k${i}`, value })));
      let streams = await start(wordCount(storeType), 'wc');
      const expectedFirst = countWords(first);
      const sumOf = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
      await eventually(() => sumOf(new Map(streams.store<string, number>('counts').all())) === sumOf(expectedFirst), { what: 'first counts in the store' });
      expect(new Map(streams.store<string, number>('counts').all())).toEqual(expectedFirst);
      expect(streams.store<string, number>('counts').get('w0')).toBe(expectedFirst.get('w0'));
      expect(streams.store<string, number>('counts').range('w1', 'w2').map(([word]) => word)).toEqual(['w1', 'w10', 'w2']);
      const changelog = sluice.broker.topicMetadata('wc-counts-changelog');
      expect(changelog.configs['cleanup.policy']).toBe('compact');
      expect(changelog.partitionCount).toBe(2);
      await streams.close();
      running.length = 0;
      if (storeType === 'persistent') rmSync(`${harness.stateDir}/wc/1_0`, { recursive: true, force: true });

      const second = Array.from({ length: 200 }, (_, i) => `w${i % 5} x${i % 2}`);
      await produce(sluice, 'lines', second.map((value, i) => ({ key: `j${i}`, value })));
      streams = await start(wordCount(storeType), 'wc');
      const expected = countWords([...first, ...second]);
      await eventually(async () => {
        const latest = latestByKey(await readAll(sluice, 'counts-out'), (value) => long.deserialize(value));
        return sumOf(latest) === sumOf(expected);
      }, { what: 'the counts of both runs in the output' });
      expect(latestByKey(await readAll(sluice, 'counts-out'), (value) => long.deserialize(value))).toEqual(expected);
      expect(new Map(streams.store<string, number>('counts').all())).toEqual(expected);
    });
  }

  it('reduces and aggregates per key; commits the group offsets every commitIntervalMs', async () => {
    harness = await openHarness('streams-state');
    const { sluice } = harness;
    await createTopic(sluice, 'readings', 1);
    const builder = new StreamsBuilder();
    const readings = builder.stream('readings', { keySerde: Serdes.String(), valueSerde: Serdes.JSON<number>() }).groupByKey();
    readings.reduce((a, b) => Math.max(a, b), { storeName: 'max', storeType: 'in-memory' });
    readings.aggregate(() => ({ sum: 0, n: 0 }), (_key, value, agg) => ({ sum: agg.sum + value, n: agg.n + 1 }), { storeName: 'stats', valueSerde: Serdes.JSON() });
    const streams = await start(builder.build(), 'readings-app', { commitIntervalMs: 100 });
    await produce(sluice, 'readings', [3, 9, 4, 7].map((value, i) => ({ key: i % 2 === 0 ? 'a' : 'b', value: JSON.stringify(value) })));
    await eventually(() => streams.store('stats').get('b') !== undefined && (streams.store<string, { n: number }>('stats').get('b')!.n === 2), { what: 'stats of b' });
    expect(streams.store('max').get('a')).toBe(4);
    expect(streams.store('max').get('b')).toBe(9);
    expect(streams.store('stats').get('a')).toEqual({ sum: 7, n: 2 });
    await eventually(async () => {
      const [offsets] = await sluice.admin().fetchOffsets({ groupId: 'readings-app', topics: ['readings'] });
      return offsets?.partitions[0]?.offset === 4;
    }, { what: 'the group offset committed' });
  });

  it('tables: latest value per key, filter, mapValues, tombstones, re-grouped counts, and a global table', async () => {
    harness = await openHarness('streams-state');
    const { sluice } = harness;
    await createTopic(sluice, 'users', 2);
    await createTopic(sluice, 'regions', 1);
    await produce(sluice, 'regions', [
      { key: 'eu', value: 'Europe' },
      { key: 'us', value: 'America' },
    ]);
    const builder = new StreamsBuilder();
    const users = builder.table('users', { keySerde: Serdes.String(), valueSerde: Serdes.JSON<{ region: string; age: number }>(), materialized: 'users-store' });
    users
      .filter((_id, user) => user.age >= 18)
      .mapValues((user) => user.region)
      .toStream()
      .to('adult-regions', { keySerde: Serdes.String(), valueSerde: Serdes.String() });
    users.groupBy((id, user) => [user.region, id], { keySerde: Serdes.String(), valueSerde: Serdes.String() }).count('per-region');
    builder.globalTable('regions', { keySerde: Serdes.String(), valueSerde: Serdes.String(), materialized: 'regions-store' });
    await createTopic(sluice, 'adult-regions', 1);
    const streams = await start(builder.build(), 'users-app');
    expect(streams.store('regions-store').get('eu')).toBe('Europe');
    await produce(sluice, 'users', [
      { key: 'ann', value: JSON.stringify({ region: 'eu', age: 30 }) },
      { key: 'bob', value: JSON.stringify({ region: 'us', age: 12 }) },
      { key: 'cy', value: JSON.stringify({ region: 'eu', age: 40 }) },
    ]);
    await eventually(() => streams.store('per-region').get('eu') === 2, { what: 'eu counted twice' });
    await produce(sluice, 'users', [
      { key: 'cy', value: JSON.stringify({ region: 'us', age: 40 }) },
      { key: 'ann', value: null },
    ]);
    await eventually(() => streams.store('per-region').get('eu') === 0 && streams.store('per-region').get('us') === 2, { what: 'moves and deletes counted' });
    expect(streams.store('users-store').get('ann')).toBeUndefined();
    expect(streams.store<string, { region: string }>('users-store').get('cy')!.region).toBe('us');
    await produce(sluice, 'regions', [{ key: 'apac', value: 'Asia-Pacific' }]);
    await eventually(() => streams.store('regions-store').get('apac') === 'Asia-Pacific', { what: 'the global table following its topic' });
    const adults = (await readAll(sluice, 'adult-regions')).map((r) => `${r.key}=${r.value?.toString() ?? 'null'}`);
    expect(adults.sort()).toEqual(['ann=eu', 'ann=null', 'cy=eu', 'cy=us']);
  });
});
