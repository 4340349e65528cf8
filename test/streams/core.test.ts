import { afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, Serdes, StreamsBuilder, type KafkaStreamsState } from '../../src/streams/index.js';
import { eventually } from '../support/eventually.js';
import { createTopic, openHarness, produce, readAll, waitForState, type Harness } from './support.js';

const KAFKA_WORD_COUNT_DESCRIPTION = `Topologies:
   Sub-topology: 0
    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])
      --> KSTREAM-FLATMAPVALUES-0000000001
    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])
      --> KSTREAM-KEY-SELECT-0000000002
      <-- KSTREAM-SOURCE-0000000000
    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
      --> counts-store-repartition-filter
      <-- KSTREAM-FLATMAPVALUES-0000000001
    Processor: counts-store-repartition-filter (stores: [])
      --> counts-store-repartition-sink
      <-- KSTREAM-KEY-SELECT-0000000002
    Sink: counts-store-repartition-sink (topic: counts-store-repartition)
      <-- counts-store-repartition-filter

  Sub-topology: 1
    Source: counts-store-repartition-source (topics: [counts-store-repartition])
      --> KSTREAM-AGGREGATE-0000000003
    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])
      --> KTABLE-TOSTREAM-0000000007
      <-- counts-store-repartition-source
    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
      --> KSTREAM-SINK-0000000008
      <-- KSTREAM-AGGREGATE-0000000003
    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)
      <-- KTABLE-TOSTREAM-0000000007

`;

describe('topology', () => {
  it('describes the word count as Kafka Streams does, node for node', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('streams-plaintext-input', { valueSerde: Serdes.String() })
      .flatMapValues((line) => line.toLowerCase().split(/\W+/))
      .groupBy((_key, word) => word)
      .count('counts-store')
      .toStream()
      .to('streams-wordcount-output', { keySerde: Serdes.String(), valueSerde: Serdes.Long() });
    expect(builder.build().describe().toString()).toBe(KAFKA_WORD_COUNT_DESCRIPTION);
  });

  it('names an unnamed store and its repartition topic by the shared index, as Kafka', () => {
    const builder = new StreamsBuilder();
    builder.stream('in').selectKey((key) => key).groupByKey().count();
    const text = builder.build().describe().toString();
    expect(text).toContain('Processor: KSTREAM-AGGREGATE-0000000003 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])');
    expect(text).toContain('Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)');
    expect(text).toContain('Source: KSTREAM-SOURCE-0000000006 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])');
  });

  it('refuses a second source on the same topic and a parent that is not there', () => {
    const builder = new StreamsBuilder();
    builder.stream('a');
    expect(() => builder.stream('a')).toThrow(/Topic a has already been registered by another source/);
    expect(() => builder.build().addProcessor('p', () => ({ process() {} }), 'nope')).toThrow(/Parent processor nope is not added yet/);
  });
});

describe('KafkaStreams, stateless operations', () => {
  let harness: Harness | null = null;
  let streams: KafkaStreams | null = null;
  afterEach(async () => {
    await streams?.close();
    streams = null;
    await harness?.close();
    harness = null;
  });

  it('filters, maps, splits, merges and routes records to topics chosen per record', async () => {
    harness = await openHarness('streams-core');
    const { sluice } = harness;
    await createTopic(sluice, 'orders', 3);
    await createTopic(sluice, 'big', 1);
    await createTopic(sluice, 'small', 1);
    await createTopic(sluice, 'by-region-eu', 1);
    await createTopic(sluice, 'by-region-us', 1);
    const builder = new StreamsBuilder();
    const orders = builder.stream('orders', { keySerde: Serdes.String(), valueSerde: Serdes.JSON<{ amount: number; region: string }>() });
    const peeked: string[] = [];
    const valid = orders.filterNot((_key, order) => order.amount < 0).peek((key) => peeked.push(key));
    const branches = valid
      .split({ name: 'size-' })
      .branch((_key, order) => order.amount >= 100, { name: 'big' })
      .defaultBranch({ name: 'small' });
    branches.get('size-big')!.mapValues((order) => `${order.region}:${order.amount}`).to('big');
    branches.get('size-small')!.map((key, order) => [key.toUpperCase(), order.amount]).to('small');
    branches
      .get('size-big')!
      .merge(branches.get('size-small')!)
      .flatMap((key, order) => [[key, order.region] as [string, string]])
      .to((_key, region) => `by-region-${region}`, { valueSerde: Serdes.String() });
    const states: KafkaStreamsState[] = [];
    streams = new KafkaStreams(builder.build(), { applicationId: 'orders-app', sluice, stateDir: harness.stateDir, commitIntervalMs: 50 });
    streams.setStateListener((state) => states.push(state));
    await streams.start();
    await waitForState(streams, 'RUNNING');
    const input = [
      { key: 'a', value: JSON.stringify({ amount: 150, region: 'eu' }) },
      { key: 'b', value: JSON.stringify({ amount: 20, region: 'us' }) },
      { key: 'c', value: JSON.stringify({ amount: -5, region: 'eu' }) },
      { key: 'd', value: JSON.stringify({ amount: 100, region: 'us' }) },
    ];
    await produce(sluice, 'orders', input);
    // Each output topic gets its records by its own send: wait for all six, not for one topic's.
    const outputs = ['big', 'small', 'by-region-eu', 'by-region-us'];
    await eventually(async () => (await Promise.all(outputs.map((topic) => readAll(sluice, topic)))).reduce((sum, records) => sum + records.length, 0) === 6, {
      what: 'two big, one small and three routed records',
    });
    const text = async (topic: string) => (await readAll(sluice, topic)).map((r) => `${r.key?.toString()}=${r.value?.toString()}`).sort();
    expect(await text('big')).toEqual(['a=eu:150', 'd=us:100']);
    expect(await text('small')).toEqual(['B=20']);
    expect(await text('by-region-eu')).toEqual(['a=eu']);
    expect(await text('by-region-us')).toEqual(['b=us', 'd=us']);
    expect(peeked.sort()).toEqual(['a', 'b', 'd']);
    await streams.close();
    expect(states).toEqual(['REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING']);
  });

  it('repartitions by the new key into <applicationId>-<name>-repartition', async () => {
    harness = await openHarness('streams-core');
    const { sluice } = harness;
    await createTopic(sluice, 'clicks', 1);
    await createTopic(sluice, 'by-user', 4);
    const builder = new StreamsBuilder();
    builder
      .stream('clicks', { valueSerde: Serdes.String() })
      .selectKey((_key, value) => value.split(':')[0])
      .repartition({ name: 'by-user', numberOfPartitions: 4, keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .to('by-user');
    streams = new KafkaStreams(builder.build(), { applicationId: 'clicks-app', sluice, stateDir: harness.stateDir, commitIntervalMs: 50 });
    await streams.start();
    const users = Array.from({ length: 40 }, (_, i) => `user${i % 8}`);
    await produce(sluice, 'clicks', users.map((user, i) => ({ key: null, value: `${user}:${i}` })));
    await eventually(async () => (await readAll(sluice, 'by-user')).length === 40, { what: '40 repartitioned records' });
    expect(sluice.broker.topicMetadata('clicks-app-by-user-repartition').partitionCount).toBe(4);
    // Each user's records landed in one partition of the repartition topic, in their order.
    const placement = new Map<string, Set<number>>();
    for (const record of await readAll(sluice, 'clicks-app-by-user-repartition')) {
      const user = record.key!.subarray(1).toString('utf8').replaceAll('"', '');
      placement.set(user, (placement.get(user) ?? new Set()).add(record.partition));
    }
    expect(placement.size).toBe(8);
    for (const partitions of placement.values()) expect(partitions.size).toBe(1);
  });

  it('fails to start, naming the topics, when a source topic does not exist', async () => {
    harness = await openHarness('streams-core');
    const builder = new StreamsBuilder();
    builder.stream('nowhere').to('out');
    streams = new KafkaStreams(builder.build(), { applicationId: 'missing-app', sluice: harness.sluice, stateDir: harness.stateDir });
    await expect(streams.start()).rejects.toThrow(/source topics nowhere do not exist/);
    expect(streams.state).toBe('ERROR');
  });
});
