/**
 * Joins checked against independent computations on the same input, and the Processor API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JoinWindows, KafkaStreams, Serdes, StreamsBuilder, Topology, keyValueStore, type Processor, type ProcessorContext } from '../../src/streams/index.js';
import type { KeyValueStore } from '../../src/streams/stores.js';
import { eventually } from '../support/eventually.js';
import { seededIntBelow } from '../support/prng.js';
import { createTopic, latestByKey, openHarness, produce, readAll, waitForState, type Harness, type InputRecord } from './support.js';

const string = Serdes.String();

describe('joins', () => {
  let harness: Harness | null = null;
  let streams: KafkaStreams | null = null;
  afterEach(async () => {
    await streams?.close();
    streams = null;
    await harness?.close();
    harness = null;
  });

  async function start(builder: StreamsBuilder | Topology, applicationId: string): Promise<KafkaStreams> {
    streams = new KafkaStreams(builder instanceof Topology ? builder : builder.build(), { applicationId, sluice: harness!.sluice, stateDir: harness!.stateDir, commitIntervalMs: 50 });
    await streams.start();
    await waitForState(streams, 'RUNNING');
    return streams;
  }

  /** Waits until the group has committed every record of the topics. */
  async function processed(applicationId: string, topics: string[]): Promise<void> {
    const { sluice } = harness!;
    await eventually(async () => {
      const committed = await sluice.admin().fetchOffsets({ groupId: applicationId, topics });
      for (const topic of topics) {
        for (let partition = 0; partition < sluice.broker.topicMetadata(topic).partitionCount; partition++) {
          const end = sluice.broker.partitionOffsets(topic, partition).highWatermark;
          const offset = committed.find((entry) => entry.topic === topic)?.partitions.find((entry) => entry.partition === partition)?.offset ?? 0;
          if (end > 0 && offset < end) return false;
        }
      }
      return true;
    }, { what: `${topics.join(', ')} processed` });
  }

  const text = async (topic: string) => (await readAll(harness!.sluice, topic)).map((record) => `${record.key?.toString() ?? 'null'}=${record.value?.toString() ?? 'null'}`).sort();

  it('KStream-KTable join and leftJoin: each click meets the profile as it is when the click is processed, whatever the timestamps', async () => {
    harness = await openHarness('streams-joins');
    const { sluice } = harness;
    await createTopic(sluice, 'clicks', 2);
    await createTopic(sluice, 'profiles', 2);
    await createTopic(sluice, 'enriched', 1);
    await createTopic(sluice, 'enriched-all', 1);
    const builder = new StreamsBuilder();
    const profiles = builder.table('profiles', { keySerde: string, valueSerde: string, materialized: 'profiles-store' });
    const clicks = builder.stream('clicks', { keySerde: string, valueSerde: string });
    clicks.join(profiles, (page, region) => `${page}@${region}`).to('enriched', { valueSerde: string });
    clicks.leftJoin(profiles, (page, region) => `${page}@${region ?? 'unknown'}`).to('enriched-all', { valueSerde: string });
    const app = await start(builder, 'enrich-app');

    const below = seededIntBelow(3);
    const profileState = new Map<string, string>();
    const expectedInner: string[] = [];
    const expectedLeft: string[] = [];
    const phase = async (profileChanges: [string, string | null][], clickCount: number, base: number) => {
      await produce(sluice, 'profiles', profileChanges.map(([key, value]) => ({ key, value })));
      for (const [key, value] of profileChanges) {
        if (value === null) profileState.delete(key);
        else profileState.set(key, value);
      }
      await eventually(() => [...profileState].every(([key, value]) => app.store('profiles-store').get(key) === value) && profileChanges.every(([key, value]) => value !== null || app.store('profiles-store').get(key) === undefined), { what: 'profiles applied' });
      const batch: InputRecord[] = [];
      for (let i = 0; i < clickCount; i++) {
        const user = `u${below(10)}`;
        // Timestamps out of order: a stream-table join does not look at them.
        batch.push({ key: user, value: `p${base + i}`, timestamp: 1_000_000 + base * 100 - below(50_000) });
        const region = profileState.get(user);
        if (region !== undefined) expectedInner.push(`${user}=p${base + i}@${region}`);
        expectedLeft.push(`${user}=p${base + i}@${region ?? 'unknown'}`);
      }
      await produce(sluice, 'clicks', batch);
      await processed('enrich-app', ['clicks']);
    };
    await phase(Array.from({ length: 8 }, (_, i) => [`u${i}`, i % 2 === 0 ? 'eu' : 'us'] as [string, string]), 150, 0);
    await phase([['u0', 'apac'], ['u8', 'eu'], ['u1', null]], 150, 1_000);
    await eventually(async () => (await readAll(sluice, 'enriched-all')).length === expectedLeft.length, { what: 'all left-join results' });
    expect(await text('enriched')).toEqual(expectedInner.sort());
    expect(await text('enriched-all')).toEqual(expectedLeft.sort());
  });

  it('refuses to start when joined topics are not co-partitioned, naming them', async () => {
    harness = await openHarness('streams-joins');
    await createTopic(harness.sluice, 'left-topic', 2);
    await createTopic(harness.sluice, 'right-topic', 3);
    const builder = new StreamsBuilder();
    builder.stream('left-topic').join(builder.table('right-topic'), (a, b) => `${a}${b}`).to('out');
    streams = new KafkaStreams(builder.build(), { applicationId: 'copart-app', sluice: harness.sluice, stateDir: harness.stateDir });
    await expect(streams.start()).rejects.toThrow('Topics not co-partitioned: [{left-topic=2, right-topic=3}]');
  });

  it('KStream-KStream join, leftJoin and outerJoin within JoinWindows; unmatched records only once their window closed', async () => {
    harness = await openHarness('streams-joins');
    const { sluice } = harness;
    await createTopic(sluice, 'orders', 2);
    await createTopic(sluice, 'payments', 2);
    for (const topic of ['paid', 'paid-left', 'paid-outer']) await createTopic(sluice, topic, 1);
    const windows = JoinWindows.ofTimeDifferenceAndGrace(5_000, 60_000);
    const builder = new StreamsBuilder();
    const orders = builder.stream('orders', { keySerde: string, valueSerde: string });
    const payments = builder.stream('payments', { keySerde: string, valueSerde: string });
    orders.join(payments, (o, p) => `${o}+${p}`, windows).to('paid', { valueSerde: string });
    orders.leftJoin(payments, (o, p) => `${o}+${p ?? '-'}`, windows).to('paid-left', { valueSerde: string });
    orders.outerJoin(payments, (o, p) => `${o ?? '-'}+${p ?? '-'}`, windows).to('paid-outer', { valueSerde: string });
    await start(builder, 'pay-app');

    const below = seededIntBelow(9);
    const orderEvents: { key: string; value: string; timestamp: number }[] = [];
    const paymentEvents: { key: string; value: string; timestamp: number }[] = [];
    for (let i = 0; i < 120; i++) {
      const key = `k${below(30)}`;
      const timestamp = 1_000_000 + i * 500 - below(4_000);
      if (below(2) === 0) orderEvents.push({ key, value: `o${i}`, timestamp });
      else paymentEvents.push({ key, value: `p${i}`, timestamp });
    }
    await produce(sluice, 'orders', orderEvents);
    await produce(sluice, 'payments', paymentEvents);
    await processed('pay-app', ['orders', 'payments']);
    // Far later records close every window so far (their own stay open); stream time is per
    // task, so each partition gets one.
    await produce(sluice, 'orders', [0, 1].map((partition) => ({ key: `tick${partition}`, value: 'tick-o', timestamp: 9_000_000, partition })));
    await produce(sluice, 'payments', [0, 1].map((partition) => ({ key: `tick${partition}`, value: 'tick-p', timestamp: 9_000_000, partition })));

    const pairs = orderEvents.flatMap((o) => paymentEvents.filter((p) => p.key === o.key && Math.abs(p.timestamp - o.timestamp) <= 5_000).map((p) => `${o.key}=${o.value}+${p.value}`));
    const lonelyOrders = orderEvents.filter((o) => !paymentEvents.some((p) => p.key === o.key && Math.abs(p.timestamp - o.timestamp) <= 5_000)).map((o) => `${o.key}=${o.value}+-`);
    const lonelyPayments = paymentEvents.filter((p) => !orderEvents.some((o) => o.key === p.key && Math.abs(p.timestamp - o.timestamp) <= 5_000)).map((p) => `${p.key}=-+${p.value}`);
    expect(pairs.length).toBeGreaterThan(10);
    expect(lonelyOrders.length).toBeGreaterThan(5);
    const inner = [...pairs, 'tick0=tick-o+tick-p', 'tick1=tick-o+tick-p'].sort();
    await eventually(async () => (await readAll(sluice, 'paid-outer')).length === inner.length + lonelyOrders.length + lonelyPayments.length, { what: 'all outer-join results' });
    await eventually(async () => (await readAll(sluice, 'paid-left')).length === inner.length + lonelyOrders.length, { what: 'all left-join results' });
    expect(await text('paid')).toEqual(inner);
    expect(await text('paid-left')).toEqual([...inner, ...lonelyOrders].sort());
    expect(await text('paid-outer')).toEqual([...inner, ...lonelyOrders, ...lonelyPayments].sort());
  });

  it('KTable-KTable joins on the key, and a foreign-key join following row and key changes', async () => {
    harness = await openHarness('streams-joins');
    const { sluice } = harness;
    for (const topic of ['stock', 'prices', 'orders-t', 'products']) await createTopic(sluice, topic, 2);
    for (const topic of ['inner-out', 'left-out', 'outer-out', 'fk-out']) await createTopic(sluice, topic, 1);
    const builder = new StreamsBuilder();
    const stock = builder.table('stock', { keySerde: string, valueSerde: string });
    const prices = builder.table('prices', { keySerde: string, valueSerde: string });
    stock.join(prices, (s, p) => `${s}@${p}`).toStream().to('inner-out', { valueSerde: string });
    stock.leftJoin(prices, (s, p) => `${s}@${p ?? '-'}`).toStream().to('left-out', { valueSerde: string });
    stock.outerJoin(prices, (s, p) => `${s ?? '-'}@${p ?? '-'}`).toStream().to('outer-out', { valueSerde: string });
    const orders = builder.table('orders-t', { keySerde: string, valueSerde: Serdes.JSON<{ product: string; qty: number }>() });
    const products = builder.table('products', { keySerde: string, valueSerde: string });
    orders.join(products, (order) => order.product, (order, name) => `${order.qty}x${name}`).toStream().to('fk-out', { valueSerde: string });
    await start(builder, 'tables-app');

    const stockState = new Map<string, string>();
    const priceState = new Map<string, string>();
    const apply = (state: Map<string, string>, changes: [string, string | null][]) => {
      for (const [key, value] of changes) value === null ? state.delete(key) : state.set(key, value);
    };
    const stockChanges: [string, string | null][] = [['a', '1'], ['b', '2'], ['c', '3'], ['a', '4'], ['d', '5'], ['b', null]];
    const priceChanges: [string, string | null][] = [['a', '10'], ['c', '30'], ['e', '50'], ['c', null], ['b', '20']];
    await produce(sluice, 'stock', stockChanges.map(([key, value]) => ({ key, value })));
    await produce(sluice, 'prices', priceChanges.map(([key, value]) => ({ key, value })));
    apply(stockState, stockChanges);
    apply(priceState, priceChanges);

    const orderState = new Map<string, { product: string; qty: number }>();
    const productState = new Map<string, string>();
    await produce(sluice, 'products', [{ key: 'p1', value: 'apple' }, { key: 'p2', value: 'pear' }, { key: 'p3', value: 'plum' }]);
    await produce(sluice, 'orders-t', [
      { key: 'o1', value: JSON.stringify({ product: 'p1', qty: 1 }) },
      { key: 'o2', value: JSON.stringify({ product: 'p2', qty: 2 }) },
      { key: 'o3', value: JSON.stringify({ product: 'p9', qty: 3 }) },
      { key: 'o4', value: JSON.stringify({ product: 'p3', qty: 4 }) },
    ]);
    await processed('tables-app', ['stock', 'prices', 'orders-t', 'products']);
    // A renamed product, an order moving to another product, a deleted order, a product that appears.
    await produce(sluice, 'products', [{ key: 'p1', value: 'green apple' }, { key: 'p9', value: 'kiwi' }]);
    await produce(sluice, 'orders-t', [{ key: 'o2', value: JSON.stringify({ product: 'p3', qty: 2 }) }, { key: 'o4', value: null }]);
    apply(productState as Map<string, string>, [['p1', 'green apple'], ['p2', 'pear'], ['p3', 'plum'], ['p9', 'kiwi']]);
    orderState.set('o1', { product: 'p1', qty: 1 }).set('o2', { product: 'p3', qty: 2 }).set('o3', { product: 'p9', qty: 3 });

    const keys = new Set([...stockState.keys(), ...priceState.keys(), 'b', 'c']);
    const expectedInner = new Map([...keys].filter((k) => stockState.has(k) && priceState.has(k)).map((k) => [k, `${stockState.get(k)}@${priceState.get(k)}`]));
    const expectedLeft = new Map([...keys].filter((k) => stockState.has(k)).map((k) => [k, `${stockState.get(k)}@${priceState.get(k) ?? '-'}`]));
    const expectedOuter = new Map([...keys].filter((k) => stockState.has(k) || priceState.has(k)).map((k) => [k, `${stockState.get(k) ?? '-'}@${priceState.get(k) ?? '-'}`]));
    const expectedFk = new Map([...orderState].map(([id, order]) => [id, `${order.qty}x${productState.get(order.product)}`]));
    const latest = async (topic: string) => latestByKey(await readAll(sluice, topic), (value) => value.toString('utf8'));
    const same = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
    await eventually(async () => same(await latest('fk-out'), expectedFk) && same(await latest('outer-out'), expectedOuter), { what: 'the joined tables' });
    expect(await latest('inner-out')).toEqual(expectedInner);
    expect(await latest('left-out')).toEqual(expectedLeft);
    expect(await latest('outer-out')).toEqual(expectedOuter);
    expect(await latest('fk-out')).toEqual(expectedFk);
  });

  it('the Processor API: forward, a state store, stream-time punctuation, on a Topology built by hand', async () => {
    harness = await openHarness('streams-joins');
    const { sluice } = harness;
    await createTopic(sluice, 'readings', 1);
    await createTopic(sluice, 'deduped', 1);
    await createTopic(sluice, 'summaries', 1);
    /** Drops readings already seen (by key and value), and every 10 s of stream time forwards how many it kept. */
    class Dedupe implements Processor<string, string, string, string> {
      private context!: ProcessorContext<string, string>;
      private seen!: KeyValueStore<string, number>;
      private kept = 0;
      init(context: ProcessorContext<string, string>): void {
        this.context = context;
        this.seen = context.getStateStore('seen');
        context.schedule(10_000, 'STREAM_TIME', (timestampMs) => {
          this.context.forward({ key: 'summary', value: `kept ${this.kept} by ${timestampMs}`, timestamp: timestampMs, headers: {} }, 'summaries');
        });
      }
      process(record: { key: string; value: string; timestamp: number; headers: Record<string, Buffer | Buffer[] | null> }): void {
        const id = `${record.key}:${record.value}`;
        if (this.seen.get(id) !== undefined) return;
        this.seen.put(id, record.timestamp);
        this.kept++;
        this.context.forward(record, 'deduped');
      }
    }
    const topology = new Topology()
      .addSource('readings-source', 'readings', { keySerde: string, valueSerde: string })
      .addProcessor('dedupe', () => new Dedupe(), 'readings-source')
      .addStateStore(keyValueStore({ name: 'seen', keySerde: string, valueSerde: Serdes.Long(), storeType: 'in-memory' }), 'dedupe')
      .addSink('deduped', 'deduped', { keySerde: string, valueSerde: string }, 'dedupe')
      .addSink('summaries', 'summaries', { keySerde: string, valueSerde: string }, 'dedupe');
    await start(topology, 'dedupe-app');
    const readings = Array.from({ length: 60 }, (_, i) => ({ key: `s${i % 3}`, value: `${i % 7}`, timestamp: 100_000 + i * 1_000 }));
    await produce(sluice, 'readings', readings);
    const unique = new Map<string, number>();
    for (const reading of readings) if (!unique.has(`${reading.key}:${reading.value}`)) unique.set(`${reading.key}:${reading.value}`, reading.timestamp);
    await eventually(async () => (await readAll(sluice, 'deduped')).length === unique.size && (await readAll(sluice, 'summaries')).length === 6, { what: 'deduplicated readings and summaries' });
    expect((await text('deduped')).length).toBe(unique.size);
    // Punctuations from the first record's time (as Kafka's), then every 10 s of stream time, each seeing what was kept by then.
    const summaries = (await readAll(sluice, 'summaries')).map((record) => record.value!.toString());
    const keptBy = (t: number) => [...unique.values()].filter((ts) => ts <= t).length;
    expect(summaries).toEqual([100_000, 110_000, 120_000, 130_000, 140_000, 150_000].map((t) => `kept ${keptBy(t)} by ${t}`));
    expect(streams!.store<string, number>('seen').approximateNumEntries()).toBe(unique.size);
  });
});
