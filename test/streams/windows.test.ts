/**
 * Windowed aggregations checked against independent computations on the same input, with
 * out-of-order and late records: tumbling counts (and their suppressed final results), sliding
 * windows and sessions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateStoreError } from '../../src/errors.js';
import { KafkaStreams, QueryableStoreTypes, Serdes, SessionWindows, SlidingWindows, StreamsBuilder, Suppressed, TimeWindows, WindowedSerdes } from '../../src/streams/index.js';
import { eventually } from '../support/eventually.js';
import { seededIntBelow } from '../support/prng.js';
import { createTopic, openHarness, produce, readAll, waitForState, type Harness, type InputRecord } from './support.js';

const KEYS = ['a', 'b', 'c', 'd', 'e'];
const PARTITIONS = 2;
const long = Serdes.Long();
const string = Serdes.String();

interface Event {
  key: string;
  timestamp: number;
  partition: number;
}

/** Mostly increasing timestamps with jitter back (out of order), and every 25th record far back (late). */
function makeEvents(count: number, seed: number): Event[] {
  const below = seededIntBelow(seed);
  const events: Event[] = [];
  let clock = 1_000_000;
  for (let i = 0; i < count; i++) {
    clock += below(400);
    const keyIndex = below(KEYS.length);
    const back = i % 25 === 24 ? 20_000 + below(5_000) : below(8_000);
    events.push({ key: KEYS[keyIndex], timestamp: Math.max(0, clock - back), partition: keyIndex % PARTITIONS });
  }
  return events;
}

const toInput = (events: Event[]): InputRecord[] => events.map(({ key, timestamp, partition }) => ({ key, value: 'x', timestamp, partition }));

describe('windowed aggregations', () => {
  let harness: Harness | null = null;
  let streams: KafkaStreams | null = null;
  afterEach(async () => {
    await streams?.close();
    streams = null;
    await harness?.close();
    harness = null;
  });

  async function run(builder: StreamsBuilder, applicationId: string, events: Event[], outputs: string[]): Promise<void> {
    harness = await openHarness('streams-windows');
    const { sluice } = harness;
    await createTopic(sluice, 'events', PARTITIONS);
    for (const topic of outputs) await createTopic(sluice, topic, 1);
    await produce(sluice, 'events', toInput(events));
    streams = new KafkaStreams(builder.build(), { applicationId, sluice, stateDir: harness.stateDir, commitIntervalMs: 50 });
    await streams.start();
    await waitForState(streams, 'RUNNING');
    // Every input record is processed once the group's committed offsets reach the ends.
    await eventually(async () => {
      const [committed] = await sluice.admin().fetchOffsets({ groupId: applicationId, topics: ['events'] });
      const total = (committed?.partitions ?? []).reduce((sum, { offset }) => sum + Math.max(0, offset), 0);
      return total === events.length;
    }, { what: 'all input processed' });
  }

  it('tumbling windows with grace: counts, late records dropped and counted, final results suppressed until the window closes', async () => {
    const sizeMs = 10_000;
    const graceMs = 5_000;
    const events = makeEvents(2_000, 7);
    const builder = new StreamsBuilder();
    const counts = builder
      .stream('events', { keySerde: string, valueSerde: string })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(sizeMs, graceMs))
      .count({ storeName: 'tumbling', storeType: 'in-memory' });
    counts.toStream().to('tumbling-updates', { valueSerde: long });
    counts.suppress(Suppressed.untilWindowCloses()).toStream().to('tumbling-final', { valueSerde: long });
    await run(builder, 'tumbling-app', events, ['tumbling-updates', 'tumbling-final']);

    // The independent computation: per partition, in order, stream time and closed windows.
    const expected = new Map<string, number>();
    const observed = new Map<number, number>();
    let late = 0;
    for (const { key, timestamp, partition } of events) {
      const streamTime = Math.max(observed.get(partition) ?? -1, timestamp);
      observed.set(partition, streamTime);
      const start = timestamp - (timestamp % sizeMs);
      if (start + sizeMs <= streamTime - graceMs) {
        late++;
        continue;
      }
      expected.set(`${key}@${start}`, (expected.get(`${key}@${start}`) ?? 0) + 1);
    }
    expect(late).toBeGreaterThan(50);
    const closed = new Map([...expected].filter(([id]) => {
      const [key, start] = id.split('@');
      const partition = KEYS.indexOf(key) % PARTITIONS;
      return Number(start) + sizeMs + graceMs <= observed.get(partition)!;
    }));

    const windowed = WindowedSerdes.timeWindowed(string, sizeMs);
    const decode = (records: Awaited<ReturnType<typeof readAll>>) =>
      records.map((record) => {
        const { key, window } = windowed.deserialize(record.key!);
        expect(window.end - window.start).toBe(sizeMs);
        return [`${key}@${window.start}`, long.deserialize(record.value!)] as const;
      });
    await eventually(async () => new Map(decode(await readAll(harness!.sluice, 'tumbling-updates'))).size === expected.size, { what: 'every window updated' });
    expect(new Map(decode(await readAll(harness!.sluice, 'tumbling-updates')))).toEqual(expected);
    expect(streams!.metrics().droppedRecords['late record (window closed)']).toBe(late);
    await eventually(async () => (await readAll(harness!.sluice, 'tumbling-final')).length === closed.size, { what: 'a final result per closed window' });
    const finals = decode(await readAll(harness!.sluice, 'tumbling-final'));
    expect(finals.length).toBe(closed.size);
    expect(new Map(finals)).toEqual(closed);

    // Interactive queries of the window store, by key and window start: what it keeps (the
    // windows within the retention, size plus grace, behind stream time) is the expected counts.
    const store = streams!.store('tumbling', QueryableStoreTypes.windowStore<string, number>());
    const stored = store.all();
    for (const [{ key, window }, count] of stored) expect([key, window.start, count]).toEqual([key, window.start, expected.get(`${key}@${window.start}`)]);
    let retained = 0;
    for (const [id, count] of expected) {
      const [key, start] = id.split('@');
      if (Number(start) + sizeMs < observed.get(KEYS.indexOf(key) % PARTITIONS)! - sizeMs - graceMs) continue;
      retained++;
      expect([id, store.fetch(key, Number(start))]).toEqual([id, count]);
    }
    expect(retained).toBeGreaterThan(KEYS.length);
    const ofA = stored.filter(([windowed]) => windowed.key === 'a').map(([windowed, count]) => [windowed.window.start, count]);
    expect(store.fetch('a', 0, Number.MAX_SAFE_INTEGER)).toEqual(ofA);
    expect(ofA.length).toBeGreaterThanOrEqual(3);
    const from = ofA[1][0];
    const to = ofA[ofA.length - 2][0];
    expect(store.fetch('a', from, to)).toEqual(ofA.slice(1, -1));
    expect(store.fetchAll(from, to)).toEqual(stored.filter(([windowed]) => windowed.window.start >= from && windowed.window.start <= to));
    expect(store.fetch('a', 1)).toBeUndefined();
    expect(() => streams!.store('tumbling', QueryableStoreTypes.sessionStore())).toThrow(InvalidStateStoreError);
  });

  it('sliding windows: every window a record ends or starts, counted over the records it covers', async () => {
    const differenceMs = 3_000;
    const events = makeEvents(600, 11).map((event) => ({ ...event, timestamp: event.timestamp - (event.timestamp % 10) }));
    const builder = new StreamsBuilder();
    builder
      .stream('events', { keySerde: string, valueSerde: string })
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(differenceMs, 60_000))
      .count({ storeName: 'sliding', storeType: 'in-memory' })
      .toStream()
      .to('sliding-updates', { valueSerde: long });
    await run(builder, 'sliding-app', events, ['sliding-updates']);

    // Independent: per key, the windows [t - d, t] of every record and [t + 1, t + 1 + d] of every
    // record followed by another within d + 1, each counting the records in it (inclusive).
    const expected = new Map<string, number>();
    for (const key of KEYS) {
      const times = events.filter((event) => event.key === key).map((event) => event.timestamp);
      const covered = (start: number, end: number) => times.filter((t) => t >= start && t <= end).length;
      for (const t of times) {
        expected.set(`${key}@${t - differenceMs}`, covered(t - differenceMs, t));
        if (times.some((u) => u > t && u <= t + 1 + differenceMs)) expected.set(`${key}@${t + 1}`, covered(t + 1, t + 1 + differenceMs));
      }
    }
    const windowed = WindowedSerdes.timeWindowed(string, differenceMs);
    const latest = async () => {
      const out = new Map<string, number>();
      for (const record of await readAll(harness!.sluice, 'sliding-updates')) {
        const { key, window } = windowed.deserialize(record.key!);
        out.set(`${key}@${window.start}`, long.deserialize(record.value!));
      }
      return out;
    };
    await eventually(async () => (await latest()).size === expected.size, { what: 'every sliding window' });
    expect(await latest()).toEqual(expected);
  });

  it('session windows: records within the gap merge, an out-of-order record bridges two sessions into one', async () => {
    const gapMs = 1_500;
    const events = makeEvents(800, 5);
    const builder = new StreamsBuilder();
    builder
      .stream('events', { keySerde: string, valueSerde: string })
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(gapMs, 60_000))
      .count({ storeName: 'sessions', storeType: 'in-memory' })
      .toStream()
      .to('session-updates', { valueSerde: long });
    await run(builder, 'session-app', events, ['session-updates']);

    // Independent: a key's sorted timestamps split wherever two neighbours are more than the gap apart.
    const expected = new Map<string, number>();
    for (const key of KEYS) {
      const times = events.filter((event) => event.key === key).map((event) => event.timestamp).sort((x, y) => x - y);
      let start = times[0];
      let count = 0;
      for (let i = 0; i < times.length; i++) {
        count++;
        if (i === times.length - 1 || times[i + 1] - times[i] > gapMs) {
          expected.set(`${key}@${start}-${times[i]}`, count);
          start = times[i + 1];
          count = 0;
        }
      }
    }
    const windowed = WindowedSerdes.sessionWindowed(string);
    const latest = async () => {
      const out = new Map<string, number>();
      for (const record of await readAll(harness!.sluice, 'session-updates')) {
        const { key, window } = windowed.deserialize(record.key!);
        const id = `${key}@${window.start}-${window.end}`;
        if (record.value === null) out.delete(id);
        else out.set(id, long.deserialize(record.value));
      }
      return out;
    };
    await eventually(async () => (await latest()).size === expected.size, { what: 'every session' });
    expect(await latest()).toEqual(expected);
    // Merges happened: sessions a record bridged were removed (forwarded as deletions).
    expect((await readAll(harness!.sluice, 'session-updates')).filter((record) => record.value === null).length).toBeGreaterThan(0);
    // The store keeps the sessions of the retention period (gap + grace): those are the expected ones.
    const stored = streams!.store<{ key: string; window: { start: number; end: number } }, number>('sessions').all();
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(expected.size);
    for (const [{ key, window }, count] of stored) expect([`${key}@${window.start}-${window.end}`, count]).toEqual([`${key}@${window.start}-${window.end}`, expected.get(`${key}@${window.start}-${window.end}`)]);
    // The same, queried as Kafka's session store: a key's sessions, and those overlapping a time range.
    const sessions = streams!.store('sessions', QueryableStoreTypes.sessionStore<string, number>());
    for (const key of KEYS) {
      const ofKey = stored.filter(([windowed]) => windowed.key === key);
      expect(sessions.fetch(key)).toEqual(ofKey);
      if (ofKey.length === 0) continue;
      const [{ window: first }] = ofKey[0];
      expect(sessions.fetchSession(key, first.start, first.end)).toBe(ofKey[0][1]);
      expect(sessions.findSessions(key, first.end, first.end)).toEqual(ofKey.filter(([windowed]) => windowed.window.start <= first.end && windowed.window.end >= first.end));
    }
    expect(() => streams!.store('sessions', QueryableStoreTypes.windowStore())).toThrow(InvalidStateStoreError);
  });
});
