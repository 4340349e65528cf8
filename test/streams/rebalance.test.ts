/**
 * Two instances of one application share its tasks through the group; when one leaves, the other
 * takes its tasks over with their state, restored from the changelogs. And a processing failure
 * stops the application in ERROR with its open transaction aborted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, Serdes, StreamsBuilder, type KafkaStreamsState, type Topology } from '../../src/streams/index.js';
import { eventually } from '../support/eventually.js';
import { createTopic, openHarness, produce, readAll, waitForState, type Harness } from './support.js';

function countTopology(): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream('words', { keySerde: Serdes.String(), valueSerde: Serdes.String() })
    .groupByKey()
    .count({ storeName: 'counts' });
  return builder.build();
}

describe('KafkaStreams, instances and failures', () => {
  let harness: Harness | null = null;
  const running: KafkaStreams[] = [];
  afterEach(async () => {
    for (const streams of running.splice(0)) await streams.close();
    await harness?.close();
    harness = null;
  });

  it('two instances split the tasks; when one leaves, the other takes them over with their state', async () => {
    harness = await openHarness('streams-rebalance');
    const { sluice } = harness;
    await createTopic(sluice, 'words', 4);
    const words = Array.from({ length: 400 }, (_, i) => `word${i % 37}`);
    const expected = new Map<string, number>();
    for (const word of words) expected.set(word, (expected.get(word) ?? 0) + 1);
    await produce(sluice, 'words', words.map((word) => ({ key: word, value: 'x' })));
    const make = (name: string) => {
      const streams = new KafkaStreams(countTopology(), { applicationId: 'shared-app', sluice, stateDir: `${harness!.stateDir}/${name}`, commitIntervalMs: 50 });
      running.push(streams);
      return streams;
    };
    const first = make('first');
    const second = make('second');
    await first.start();
    await second.start();
    const local = (streams: KafkaStreams) => new Map(streams.store<string, number>('counts').all());
    const total = (streams: KafkaStreams) => [...local(streams).values()].reduce((a, b) => a + b, 0);
    await eventually(() => first.state === 'RUNNING' && second.state === 'RUNNING' && total(first) + total(second) === words.length, { what: 'both instances counting' });
    expect(local(first).size).toBeGreaterThan(0);
    expect(local(second).size).toBeGreaterThan(0);
    expect(new Map([...local(first), ...local(second)])).toEqual(expected);
    await eventually(async () => {
      const [committed] = await sluice.admin().fetchOffsets({ groupId: 'shared-app', topics: ['words'] });
      return committed.partitions.reduce((sum, { offset }) => sum + Math.max(0, offset), 0) === words.length;
    }, { what: 'the input committed' });

    const states: KafkaStreamsState[] = [];
    first.setStateListener((state) => states.push(state));
    await second.close();
    await eventually(() => first.state === 'RUNNING' && total(first) === words.length, { what: 'the first instance holding every count' });
    expect(local(first)).toEqual(expected);
    expect(states).toContain('REBALANCING');
  });

  it('exactly_once_v2: an instance leaving mid-run leaves every count exact, every update written once', { timeout: 120_000 }, async () => {
    harness = await openHarness('streams-rebalance');
    const { sluice } = harness;
    await createTopic(sluice, 'words', 4);
    await createTopic(sluice, 'word-counts', 4);
    const words = Array.from({ length: 20_000 }, (_, i) => `word${(i * 7919) % 101}`);
    const expected = new Map<string, number>();
    for (const word of words) expected.set(word, (expected.get(word) ?? 0) + 1);
    await produce(sluice, 'words', words.map((word) => ({ key: word, value: 'x' })));
    const topology = (): Topology => {
      const builder = new StreamsBuilder();
      builder
        .stream('words', { keySerde: Serdes.String(), valueSerde: Serdes.String() })
        .groupByKey()
        .count({ storeName: 'counts' })
        .toStream()
        .to('word-counts', { valueSerde: Serdes.Long() });
      return builder.build();
    };
    const make = (name: string) => {
      // Every update of a count checked: no record cache, as Kafka's own tests run.
      const streams = new KafkaStreams(topology(), { applicationId: 'eos-shared', sluice, stateDir: `${harness!.stateDir}/${name}`, processingGuarantee: 'exactly_once_v2', statestoreCacheMaxBytes: 0 });
      running.push(streams);
      return streams;
    };
    const first = make('first');
    const second = make('second');
    await first.start();
    await second.start();
    const total = (streams: KafkaStreams) => (streams.state === 'RUNNING' ? streams.store<string, number>('counts').all().reduce((sum, [, count]) => sum + count, 0) : 0);
    await eventually(() => total(second) > 0, { what: 'the second instance counting' });
    await second.close();
    await eventually(() => total(first) === words.length, { what: 'the first instance holding every count' });
    expect(new Map(first.store<string, number>('counts').all())).toEqual(expected);
    await first.close();
    const long = Serdes.Long();
    const updates = new Map<string, number[]>();
    for (const record of await readAll(sluice, 'word-counts')) {
      const word = record.key!.toString();
      updates.set(word, [...(updates.get(word) ?? []), long.deserialize(record.value!)]);
    }
    for (const [word, count] of expected) expect([word, updates.get(word)]).toEqual([word, Array.from({ length: count }, (_, i) => i + 1)]);
  });

  it('a processor that throws moves the application to ERROR and aborts its open transaction', async () => {
    harness = await openHarness('streams-rebalance');
    const { sluice } = harness;
    await createTopic(sluice, 'in', 1);
    await createTopic(sluice, 'out', 1);
    const builder = new StreamsBuilder();
    builder
      .stream('in', { valueSerde: Serdes.String() })
      .mapValues((value) => {
        if (value === 'poison') throw new Error('cannot digest poison');
        return value.toUpperCase();
      })
      .to('out');
    const streams = new KafkaStreams(builder.build(), { applicationId: 'poison-app', sluice, stateDir: harness.stateDir, processingGuarantee: 'exactly_once_v2', commitIntervalMs: 60_000 });
    running.push(streams);
    let failure: Error | null = null;
    streams.setUncaughtExceptionHandler((error) => {
      failure = error;
    });
    await streams.start();
    await waitForState(streams, 'RUNNING');
    await produce(sluice, 'in', [{ key: null, value: 'good' }]);
    await produce(sluice, 'in', [{ key: null, value: 'poison' }]);
    await waitForState(streams, 'ERROR');
    expect(String(failure)).toContain('cannot digest poison');
    // 'GOOD' was written inside the transaction the failure aborted: a read_committed reader never sees it.
    expect(await readAll(sluice, 'out')).toEqual([]);
    const [committed] = await sluice.admin().fetchOffsets({ groupId: 'poison-app', topics: ['in'] });
    expect(committed?.partitions[0]?.offset ?? -1).toBeLessThanOrEqual(0);
  });
});
