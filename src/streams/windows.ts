/**
 * Windowed aggregation, as Kafka Streams': TimeWindows (tumbling or hopping), SlidingWindows and
 * SessionWindows, each with a grace period. Event time comes from record timestamps; each
 * aggregation keeps its observed stream time (the largest timestamp it has seen), and a window
 * closes once stream time passes its end plus the grace period. A record that only falls into
 * closed windows is late: dropped, and counted in KafkaStreams.metrics().droppedRecords.
 *
 * Windowed aggregates live in a window store (a session store for sessions): its entries are kept
 * under a key that sorts by (key, window start, window end), so the windows of one key are one
 * range scan, and it is queried by key and time (ReadOnlyWindowStore, ReadOnlySessionStore); it
 * is changelogged and restored like any other store. Windows older than the retention (window size plus grace) are
 * removed as stream time moves on.
 */
import { InvalidConfigError, InvalidRecordError } from '../errors.js';
import type { Change } from './dsl-processors.js';
import type { Processor, ProcessorContext } from './processor.js';
import type { Serde } from './serdes.js';
import type { KeyValueStore, ReadOnlyKeyValueStore } from './stores.js';

export interface Window {
  readonly start: number;
  /** Exclusive for time windows; inclusive (the last record's time) for sessions and sliding windows. */
  readonly end: number;
}

/** A key and the window its aggregate belongs to (Kafka's Windowed<K>). */
export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}

function checkDuration(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidConfigError(`${name} must be an integer of ms >= ${min}, not ${String(value)}`);
  return value;
}

/** Fixed-size windows: tumbling, or hopping with advanceBy. Window [start, start + size). */
export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0);
  }

  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    checkDuration('window size', sizeMs, 1);
    return new TimeWindows(sizeMs, sizeMs, checkDuration('grace period', graceMs, 0));
  }

  /** Hopping windows: a new window every advanceMs (at most the size). */
  advanceBy(advanceMs: number): TimeWindows {
    checkDuration('advance', advanceMs, 1);
    if (advanceMs > this.sizeMs) throw new InvalidConfigError(`a window's advance (${advanceMs} ms) must not exceed its size (${this.sizeMs} ms)`);
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** Kafka's TimeWindows.windowsFor: every window containing `timestamp`. */
  windowsFor(timestamp: number): Window[] {
    const windows: Window[] = [];
    let start = Math.max(0, timestamp - this.sizeMs + this.advanceMs);
    start -= start % this.advanceMs;
    for (; start <= timestamp; start += this.advanceMs) windows.push({ start, end: start + this.sizeMs });
    return windows;
  }
}

/**
 * Windows of a fixed time difference that slide with the records (KIP-450): two records fall in a
 * common window when their timestamps are at most timeDifferenceMs apart. Windows are
 * [start, start + timeDifference], inclusive; one ends at each record, one starts just after each.
 */
export class SlidingWindows {
  private constructor(
    readonly timeDifferenceMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return SlidingWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(checkDuration('time difference', timeDifferenceMs, 1), checkDuration('grace period', graceMs, 0));
  }
}

/** Sessions: a key's records no more than inactivityGapMs apart belong to one session [first, last]. */
export class SessionWindows {
  private constructor(
    readonly inactivityGapMs: number,
    readonly graceMs: number,
  ) {}

  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(inactivityGapMs, 0);
  }

  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(checkDuration('inactivity gap', inactivityGapMs, 1), checkDuration('grace period', graceMs, 0));
  }
}

/**
 * The store's key for a windowed aggregate: the key's length (4 bytes), its bytes, the window's
 * start and end (8 bytes each, big-endian), so byte order is (key, start, end).
 */
export function windowedStoreSerde<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return {
    name: `windowed(${inner.name})`,
    serialize({ key, window }) {
      const keyBytes = inner.serialize(key);
      const out = Buffer.allocUnsafe(20 + keyBytes.length);
      out.writeUInt32BE(keyBytes.length, 0);
      keyBytes.copy(out, 4);
      out.writeBigInt64BE(BigInt(window.start), 4 + keyBytes.length);
      out.writeBigInt64BE(BigInt(window.end), 12 + keyBytes.length);
      return out;
    },
    deserialize(bytes) {
      const length = bytes.readUInt32BE(0);
      if (bytes.length !== 20 + length) throw new InvalidRecordError(`a windowed store key of a ${length}-byte key is ${20 + length} bytes, not ${bytes.length}`);
      return {
        key: inner.deserialize(bytes.subarray(4, 4 + length)),
        window: { start: Number(bytes.readBigInt64BE(4 + length)), end: Number(bytes.readBigInt64BE(12 + length)) },
      };
    },
  };
}

/** Kafka's TimeWindowedSerializer: the key's bytes, then the window start (8 bytes); the end is start + size. */
export function timeWindowedSerde<K>(inner: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
  return {
    name: `time-windowed(${inner.name})`,
    serialize({ key, window }) {
      const keyBytes = inner.serialize(key);
      const out = Buffer.allocUnsafe(keyBytes.length + 8);
      keyBytes.copy(out, 0);
      out.writeBigInt64BE(BigInt(window.start), keyBytes.length);
      return out;
    },
    deserialize(bytes) {
      const start = Number(bytes.readBigInt64BE(bytes.length - 8));
      return { key: inner.deserialize(bytes.subarray(0, bytes.length - 8)), window: { start, end: start + windowSizeMs } };
    },
  };
}

/** Kafka's SessionKeySchema: the key's bytes, then the end and the start (8 bytes each). */
export function sessionWindowedSerde<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return {
    name: `session-windowed(${inner.name})`,
    serialize({ key, window }) {
      const keyBytes = inner.serialize(key);
      const out = Buffer.allocUnsafe(keyBytes.length + 16);
      keyBytes.copy(out, 0);
      out.writeBigInt64BE(BigInt(window.end), keyBytes.length);
      out.writeBigInt64BE(BigInt(window.start), keyBytes.length + 8);
      return out;
    },
    deserialize(bytes) {
      const at = bytes.length - 16;
      return { key: inner.deserialize(bytes.subarray(0, at)), window: { end: Number(bytes.readBigInt64BE(at)), start: Number(bytes.readBigInt64BE(at + 8)) } };
    },
  };
}

export const WindowedSerdes = Object.freeze({ timeWindowed: timeWindowedSerde, sessionWindowed: sessionWindowedSerde });

/**
 * Kafka's ReadOnlyWindowStore: a window store queried by key and window start time. Entries come
 * in (key, window start) order; `timeFromMs`..`timeToMs` bound the window starts, inclusive.
 */
export interface ReadOnlyWindowStore<K, V> {
  readonly name: string;
  /** The value of `key`'s window that starts at `windowStartMs`. */
  fetch(key: K, windowStartMs: number): V | undefined;
  /** `key`'s windows starting within the bounds, each as [window start, value]. */
  fetch(key: K, timeFromMs: number, timeToMs: number): [number, V][];
  /** Every key's windows starting within the bounds. */
  fetchAll(timeFromMs: number, timeToMs: number): [Windowed<K>, V][];
  all(): [Windowed<K>, V][];
}

/** Kafka's ReadOnlySessionStore: the sessions of a key, each a window from its first to its last record. */
export interface ReadOnlySessionStore<K, V> {
  readonly name: string;
  /** Every session of `key`, in start order. */
  fetch(key: K): [Windowed<K>, V][];
  /** `key`'s sessions ending at or after `earliestSessionEndMs` and starting at or before `latestSessionStartMs`. */
  findSessions(key: K, earliestSessionEndMs: number, latestSessionStartMs: number): [Windowed<K>, V][];
  fetchSession(key: K, sessionStartMs: number, sessionEndMs: number): V | undefined;
  all(): [Windowed<K>, V][];
}

function checkTime(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new InvalidConfigError(`${name} must be an integer of ms, not ${String(value)}`);
  return value;
}

/** A window store over the key-value store of its windowed keys, whose bytes sort by (key, start, end). */
export function windowStoreView<K, V>(store: ReadOnlyKeyValueStore<Windowed<K>, V>): ReadOnlyWindowStore<K, V> {
  function fetch(key: K, windowStartMs: number): V | undefined;
  function fetch(key: K, timeFromMs: number, timeToMs: number): [number, V][];
  function fetch(key: K, fromMs: number, toMs?: number): V | undefined | [number, V][] {
    if (toMs === undefined) {
      const start = checkTime('windowStartMs', fromMs);
      return windowsBetween(store, key, start, start)[0]?.[1];
    }
    return windowsBetween(store, key, checkTime('timeFromMs', fromMs), checkTime('timeToMs', toMs)).map(([windowed, value]) => [windowed.window.start, value]);
  }
  return {
    name: store.name,
    fetch,
    fetchAll(timeFromMs, timeToMs) {
      const from = checkTime('timeFromMs', timeFromMs);
      const to = checkTime('timeToMs', timeToMs);
      return store.all().filter(([windowed]) => windowed.window.start >= from && windowed.window.start <= to);
    },
    all: () => store.all(),
  };
}

/** A session store over the key-value store of its windowed keys. */
export function sessionStoreView<K, V>(store: ReadOnlyKeyValueStore<Windowed<K>, V>): ReadOnlySessionStore<K, V> {
  return {
    name: store.name,
    fetch: (key) => windowsOfKey(store, key),
    findSessions(key, earliestSessionEndMs, latestSessionStartMs) {
      const earliestEnd = checkTime('earliestSessionEndMs', earliestSessionEndMs);
      const latestStart = checkTime('latestSessionStartMs', latestSessionStartMs);
      return windowsBetween(store, key, 0, latestStart).filter(([windowed]) => windowed.window.end >= earliestEnd);
    },
    fetchSession: (key, sessionStartMs, sessionEndMs) =>
      store.get({ key, window: { start: checkTime('sessionStartMs', sessionStartMs), end: checkTime('sessionEndMs', sessionEndMs) } }),
    all: () => store.all(),
  };
}

/** The windows of `key` starting from `fromMs` to `toMs` (inclusive): one range of the store's bytes. */
function windowsBetween<K, A>(store: ReadOnlyKeyValueStore<Windowed<K>, A>, key: K, fromMs: number, toMs: number): [Windowed<K>, A][] {
  if (fromMs > toMs) return [];
  return store.range({ key, window: { start: Math.max(0, fromMs), end: 0 } }, { key, window: { start: toMs, end: Number.MAX_SAFE_INTEGER } });
}

/** The windows of `key` in the store, in start order. */
function windowsOfKey<K, A>(store: ReadOnlyKeyValueStore<Windowed<K>, A>, key: K): [Windowed<K>, A][] {
  return windowsBetween(store, key, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Removes the entries whose time (by default the window's end) is more than `retentionMs` behind
 * stream time, at most once per `retentionMs` of stream time: a sweep of the whole store, so it
 * runs rarely rather than per record.
 */
export function retention<K, A>(
  store: () => KeyValueStore<Windowed<K>, A>,
  retentionMs: number,
  timeOf: (windowed: Windowed<K>) => number = (windowed) => windowed.window.end,
): (streamTimeMs: number) => void {
  let nextSweepMs = -1;
  return (streamTimeMs) => {
    if (nextSweepMs === -1) nextSweepMs = streamTimeMs + retentionMs;
    if (streamTimeMs < nextSweepMs) return;
    nextSweepMs = streamTimeMs + retentionMs;
    const expiryMs = streamTimeMs - retentionMs;
    for (const [windowed] of store().all()) if (timeOf(windowed) < expiryMs) store().delete(windowed);
  };
}

interface Aggregation<K, V, A> {
  storeName: string;
  initializer: () => A;
  aggregator: (key: K, value: V, aggregate: A) => A;
  onDropped: (reason: string) => void;
}

type WindowedProcessor<K, V, A> = Processor<K, V, Windowed<K>, Change<A>>;

/** Kafka's KStreamWindowAggregate over TimeWindows. */
export function timeWindowAggregateProcessor<K, V, A>(windows: TimeWindows, aggregation: Aggregation<K, V, A>): () => WindowedProcessor<K, V, A> {
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<A>>;
    let store: KeyValueStore<Windowed<K>, A>;
    let observedStreamTimeMs = -1;
    const expire = retention(() => store, windows.sizeMs + windows.graceMs);
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(aggregation.storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
          aggregation.onDropped('null key or value');
          return;
        }
        observedStreamTimeMs = Math.max(observedStreamTimeMs, record.timestamp);
        const closeTimeMs = observedStreamTimeMs - windows.graceMs;
        for (const window of windows.windowsFor(record.timestamp)) {
          if (window.end <= closeTimeMs) {
            aggregation.onDropped('late record (window closed)');
            continue;
          }
          const windowed = { key: record.key, window };
          const oldValue = store.get(windowed) ?? null;
          const newValue = aggregation.aggregator(record.key, record.value, oldValue ?? aggregation.initializer());
          store.put(windowed, newValue);
          context.forward({ key: windowed, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
        }
        expire(observedStreamTimeMs);
      },
    };
  };
}

/**
 * Kafka's KStreamSlidingWindowAggregate, from the definition: the windows a record can belong to
 * are those ending at a record of the key ([t - difference, t]) and those starting just after one
 * ([t + 1, t + 1 + difference]); each non-empty one is kept with its aggregate. A new record gets
 * its own left window (aggregated from the records it covers), a right window when records follow
 * it within the difference, and joins every existing window it falls in. The records themselves
 * are kept per key for the retention period, as the left and right windows are built from them.
 */
export function slidingWindowAggregateProcessor<K, V, A>(
  windows: SlidingWindows,
  aggregation: Aggregation<K, V, A>,
  recordsStoreName: string,
): () => WindowedProcessor<K, V, A> {
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<A>>;
    let store: KeyValueStore<Windowed<K>, A>;
    let records: KeyValueStore<Windowed<K>, V[]>;
    let observedStreamTimeMs = -1;
    const difference = windows.timeDifferenceMs;
    const expireWindows = retention(() => store, difference + windows.graceMs);
    const expireRecords = retention(() => records, difference + windows.graceMs);
    const aggregateOf = (key: K, from: number, to: number): A | null => {
      let aggregate: A | null = null;
      for (const [stamp, values] of records.range({ key, window: { start: from, end: from } }, { key, window: { start: to, end: to } })) {
        if (stamp.window.start < from || stamp.window.start > to) continue;
        for (const value of values) aggregate = aggregation.aggregator(key, value, aggregate ?? aggregation.initializer());
      }
      return aggregate;
    };
    const write = (key: K, window: Window, newValue: A, timestamp: number, headers: Record<string, Buffer | Buffer[] | null>): void => {
      const windowed = { key, window };
      const oldValue = store.get(windowed) ?? null;
      store.put(windowed, newValue);
      context.forward({ key: windowed, value: { newValue, oldValue }, timestamp, headers });
    };
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(aggregation.storeName);
        records = ctx.getStateStore(recordsStoreName);
      },
      process(record) {
        const key = record.key;
        if (key === null || key === undefined || record.value === null || record.value === undefined) {
          aggregation.onDropped('null key or value');
          return;
        }
        observedStreamTimeMs = Math.max(observedStreamTimeMs, record.timestamp);
        const t = record.timestamp;
        const closeTimeMs = observedStreamTimeMs - windows.graceMs;
        // The latest window a record can reach is its right window, ending at t + 1 + difference.
        if (t + difference < closeTimeMs) {
          aggregation.onDropped('late record (window closed)');
          return;
        }
        const stamp = { key, window: { start: t, end: t } };
        records.put(stamp, [...(records.get(stamp) ?? []), record.value]);
        // Every window whose content changes: those ending at a record in [t, t + difference]
        // (they now cover t), and those starting just after a record in [t - difference - 1, t - 1].
        const affected = new Map<number, Window>();
        const nearby = records.range({ key, window: { start: Math.max(0, t - difference - 1), end: 0 } }, { key, window: { start: t + 1 + difference, end: Number.MAX_SAFE_INTEGER } });
        for (const [other] of nearby) {
          const at = other.window.start;
          if (at >= t && at <= t + difference) affected.set(at - difference, { start: Math.max(0, at - difference), end: at });
          if (at < t && at + 1 + difference >= t) affected.set(at + 1, { start: at + 1, end: at + 1 + difference });
        }
        // The record's own right window exists once a later record falls within the difference.
        if (nearby.some(([other]) => other.window.start > t && other.window.start <= t + 1 + difference)) {
          affected.set(t + 1, { start: t + 1, end: t + 1 + difference });
        }
        for (const window of affected.values()) {
          if (window.end <= closeTimeMs) continue;
          const aggregate = aggregateOf(key, window.start, window.end);
          if (aggregate !== null) write(key, window, aggregate, t, record.headers);
        }
        expireWindows(observedStreamTimeMs);
        expireRecords(observedStreamTimeMs);
      },
    };
  };
}

/**
 * Kafka's KStreamSessionWindowAggregate: a record merges with every session of its key that
 * lies within the inactivity gap of it; the merged sessions are removed (forwarded as deletions)
 * and the merged one stored.
 */
export function sessionWindowAggregateProcessor<K, V, A>(
  windows: SessionWindows,
  aggregation: Aggregation<K, V, A> & { merger: (key: K, left: A, right: A) => A },
): () => WindowedProcessor<K, V, A> {
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<A>>;
    let store: KeyValueStore<Windowed<K>, A>;
    let observedStreamTimeMs = -1;
    const expire = retention(() => store, windows.inactivityGapMs + windows.graceMs);
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(aggregation.storeName);
      },
      process(record) {
        const key = record.key;
        if (key === null || key === undefined || record.value === null || record.value === undefined) {
          aggregation.onDropped('null key or value');
          return;
        }
        observedStreamTimeMs = Math.max(observedStreamTimeMs, record.timestamp);
        const closeTimeMs = observedStreamTimeMs - windows.graceMs;
        const t = record.timestamp;
        let start = t;
        let end = t;
        let aggregate = aggregation.initializer();
        const merged: [Windowed<K>, A][] = [];
        for (const [windowed, value] of windowsOfKey(store, key)) {
          if (windowed.window.end < t - windows.inactivityGapMs || windowed.window.start > t + windows.inactivityGapMs) continue;
          merged.push([windowed, value]);
          start = Math.min(start, windowed.window.start);
          end = Math.max(end, windowed.window.end);
          aggregate = aggregation.merger(key, aggregate, value);
        }
        if (end < closeTimeMs) {
          aggregation.onDropped('late record (window closed)');
          return;
        }
        aggregate = aggregation.aggregator(key, record.value, aggregate);
        for (const [windowed, value] of merged) {
          if (windowed.window.start === start && windowed.window.end === end) continue;
          store.delete(windowed);
          context.forward({ key: windowed, value: { newValue: null, oldValue: value }, timestamp: record.timestamp, headers: record.headers });
        }
        const windowed = { key, window: { start, end } };
        const oldValue = store.get(windowed) ?? null;
        store.put(windowed, aggregate);
        context.forward({ key: windowed, value: { newValue: aggregate, oldValue }, timestamp: end, headers: record.headers });
        expire(observedStreamTimeMs);
      },
    };
  };
}

/**
 * Kafka's suppress(untilWindowCloses): holds each window's latest result in a changelogged buffer
 * and forwards it once, when stream time reaches the window's end plus the grace period.
 */
export function suppressProcessor<K, V>(bufferStoreName: string, graceMs: number): () => Processor<Windowed<K>, Change<V>, Windowed<K>, Change<V>> {
  return () => {
    let context: ProcessorContext<Windowed<K>, Change<V>>;
    let buffer: KeyValueStore<Windowed<K>, V | null>;
    let observedStreamTimeMs = -1;
    /** The earliest time a buffered window closes; -1 when unknown (after a restore). */
    let nextCloseMs = -1;
    return {
      init(ctx) {
        context = ctx;
        buffer = ctx.getStateStore(bufferStoreName);
      },
      process(record) {
        observedStreamTimeMs = Math.max(observedStreamTimeMs, record.timestamp);
        const closesAt = record.key.window.end + graceMs;
        if (closesAt > observedStreamTimeMs) {
          buffer.put(record.key, record.value.newValue);
          if (nextCloseMs === -1 || closesAt < nextCloseMs) nextCloseMs = closesAt;
        }
        if (nextCloseMs !== -1 && nextCloseMs > observedStreamTimeMs) return;
        nextCloseMs = -1;
        for (const [windowed, value] of buffer.all()) {
          const windowClosesAt = windowed.window.end + graceMs;
          if (windowClosesAt > observedStreamTimeMs) {
            if (nextCloseMs === -1 || windowClosesAt < nextCloseMs) nextCloseMs = windowClosesAt;
            continue;
          }
          buffer.delete(windowed);
          // A session merged away (null) is not a final result: nothing to emit for it.
          if (value !== null) context.forward({ key: windowed, value: { newValue: value, oldValue: null }, timestamp: windowed.window.end, headers: {} });
        }
      },
    };
  };
}
