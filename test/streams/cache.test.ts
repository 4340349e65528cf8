/**
 * The record cache in front of an aggregation's store: updates of a key between two commits reach
 * the changelog and the output once, with the latest value; past the thread's budget the least
 * recently written keys are flushed early; with a budget of 0 every update goes through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { KafkaStreams, Serdes, StreamsBuilder, type Topology } from '../../src/streams/index.js';
import type { Sluice } from '../../src/sluice.js';
import { eventually } from '../support/eventually.js';
import { createTopic, openHarness, produce, readAll, type Harness } from './support.js';

const KEYS = ['a', 'b', 'c', 'd', 'e'];
const WORDS = Array.from({ length: 1_000 }, (_, i) => KEYS[i % KEYS.length]);
const long = Serdes.Long();

function countTopology(output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('words', { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .groupByKey()
    .count({ storeName: 'counts', storeType: 'in-memory' })
    .toStream()
    .to(output, { keySerde: Serdes.String(), valueSerde: Serdes.Long() });
  return builder.build();
}

/** Each key's values in the topic, in order. */
async function updates(sluice: Sluice, topic: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const record of await readAll(sluice, topic)) {
    const key = record.key!.toString();
    out.set(key, [...(out.get(key) ?? []), long.deserialize(record.value!)]);
  }
  return out;
}

const perKey = new Map(KEYS.map((key) => [key, WORDS.length / KEYS.length]));

describe('the record cache', () => {
  let harness: Harness | null = null;
  const running: KafkaStreams[] = [];
  afterEach(async () => {
    for (const streams of running.splice(0)) await streams.close();
    await harness?.close();
    harness = null;
  });

  async function start(applicationId: string, statestoreCacheMaxBytes?: number): Promise<KafkaStreams> {
    const output = `${applicationId}-out`;
    await createTopic(harness!.sluice, output, 1);
    // Commits only when it closes: what reaches the output before comes from the cache's evictions.
    const streams = new KafkaStreams(countTopology(output), {
      applicationId,
      sluice: harness!.sluice,
      stateDir: harness!.stateDir,
      commitIntervalMs: 3_600_000,
      ...(statestoreCacheMaxBytes === undefined ? {} : { statestoreCacheMaxBytes }),
    });
    running.push(streams);
    await streams.start();
    await eventually(() => streams.state === 'RUNNING' && KEYS.every((key) => streams.store<string, number>('counts').get(key) === perKey.get(key)), {
      what: `${applicationId} counted every word (read through its cache)`,
    });
    return streams;
  }

  it('writes each key once per commit by default, the least recently written early past its budget, and every update with 0', async () => {
    harness = await openHarness('streams-cache');
    const { sluice } = harness;
    await createTopic(sluice, 'words', 1);
    await produce(sluice, 'words', WORDS.map((word) => ({ key: word, value: 'x' })));

    const cached = await start('cached');
    expect(await readAll(sluice, 'cached-out')).toEqual([]);
    expect(await readAll(sluice, 'cached-counts-changelog')).toEqual([]);
    await cached.close();
    const once = new Map(KEYS.map((key) => [key, [perKey.get(key)]]));
    expect(await updates(sluice, 'cached-out')).toEqual(once);
    expect(await updates(sluice, 'cached-counts-changelog')).toEqual(once);

    // Room for about two keys (each entry: its key and value bytes plus an overhead): every write
    // of a third key flushes the least recently written, before any commit.
    const small = await start('small', 120);
    await eventually(async () => (await updates(sluice, 'small-out')).size === KEYS.length, { what: 'every key flushed before a commit' });
    await small.close();
    for (const [key, values] of await updates(sluice, 'small-out')) {
      expect(values.every((value, i) => i === 0 || value > values[i - 1])).toBe(true);
      expect(values.at(-1)).toBe(perKey.get(key));
    }

    const uncached = await start('uncached', 0);
    await uncached.close();
    expect(await updates(sluice, 'uncached-out')).toEqual(new Map(KEYS.map((key) => [key, Array.from({ length: perKey.get(key)! }, (_, i) => i + 1)])));
  });

  it('flushes, at a commit, what one cached store writes into another downstream, whatever their order in the task', async () => {
    harness = await openHarness('streams-cache-chain');
    const { sluice } = harness;
    await createTopic(sluice, 'words', 1);
    await createTopic(sluice, 'max-out', 1);
    await produce(sluice, 'words', WORDS.map((word) => ({ key: word, value: 'x' })));
    const builder = new StreamsBuilder();
    const words = builder.stream('words', { keySerde: Serdes.String(), valueSerde: Serdes.String() });
    // A processor reading the downstream store, added first: the task lists that store first.
    const reader = words.process(() => ({ process: () => undefined }));
    words
      .groupByKey()
      .count({ storeName: 'counts', storeType: 'in-memory' })
      .toStream()
      .groupByKey({ keySerde: Serdes.String(), valueSerde: Serdes.Long() })
      .reduce((a, b) => Math.max(a ?? 0, b ?? 0), { storeName: 'max', storeType: 'in-memory' })
      .toStream()
      .to('max-out', { keySerde: Serdes.String(), valueSerde: Serdes.Long() });
    const topology = builder.build().connectProcessorAndStateStores([reader.nodeName], ['max']);
    expect(topology.subtopologies()).toHaveLength(1);
    expect(topology.subtopologies()[0].stores).toEqual(['max', 'counts']);
    const streams = new KafkaStreams(topology, { applicationId: 'chain', sluice, stateDir: harness.stateDir, commitIntervalMs: 3_600_000 });
    running.push(streams);
    await streams.start();
    await eventually(() => streams.state === 'RUNNING' && KEYS.every((key) => streams.store<string, number>('counts').get(key) === perKey.get(key)), { what: 'every word counted' });
    // The counts are still in their cache: the downstream store has seen none of them.
    expect(streams.store<string, number>('max').all()).toEqual([]);
    await streams.close();
    const once = new Map(KEYS.map((key) => [key, [perKey.get(key)]]));
    expect(await updates(sluice, 'max-out')).toEqual(once);
    expect(await updates(sluice, 'chain-max-changelog')).toEqual(once);
  });

  it('refuses a budget that is not a whole number of bytes', async () => {
    harness = await openHarness('streams-cache-config');
    const make = (statestoreCacheMaxBytes: number) => new KafkaStreams(countTopology('out'), { applicationId: 'x', sluice: harness!.sluice, statestoreCacheMaxBytes });
    expect(() => make(-1)).toThrow(InvalidConfigError);
    expect(() => make(1.5)).toThrow(/statestoreCacheMaxBytes/);
  });
});
