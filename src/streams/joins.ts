/**
 * The processors of joins, as Kafka Streams':
 *
 *   KStream-KStream (JoinWindows): each side keeps its records for the join window in a store
 *   and looks up the other side's store; a left or outer join emits a record that found no
 *   partner only once its window has closed (stream time past its window end plus grace, as
 *   Kafka does since KIP-633), so no early (left, null) result is later contradicted.
 *   KStream-KTable and KStream-GlobalKTable: a stream record looks up the table's current value.
 *   KTable-KTable: a change on either side looks up the other and forwards the joined change.
 *   Foreign-key KTable-KTable (KIP-213): the left table subscribes each row to its foreign key
 *   through a subscription topic keyed by that key; the right side answers through a response
 *   topic keyed by the left row's key; the left side joins the answer with its current row.
 */
import { InvalidConfigError } from '../errors.js';
import type { Change, ValueGetterSupplier } from './dsl-processors.js';
import type { Processor, ProcessorContext, RecordHeaders } from './processor.js';
import type { KeyValueStore } from './stores.js';
import { retention, type Windowed } from './windows.js';

export class JoinWindows {
  private constructor(
    /** How far back from a record's time the other side may be. */
    readonly beforeMs: number,
    /** How far ahead. */
    readonly afterMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    check('time difference', timeDifferenceMs);
    check('grace period', graceMs);
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs);
  }

  before(beforeMs: number): JoinWindows {
    return new JoinWindows(check('before', beforeMs), this.afterMs, this.graceMs);
  }

  after(afterMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, check('after', afterMs), this.graceMs);
  }
}

function check(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidConfigError(`a join window's ${name} must be an integer of ms >= 0, not ${String(value)}`);
  return value;
}

/** One record kept by a stream-stream join: its key, timestamp and a sequence keeping equal timestamps apart. */
type Stamp<K> = Windowed<K>;

interface PendingRecord {
  /** 'this' or 'other', from the left side's point of view. */
  readonly left: boolean;
  readonly value: unknown;
}

/** What the two sides of one stream-stream join share within a task: stream time. */
interface JoinShared {
  streamTimeMs: number;
  /** The earliest close time of a pending unmatched record; -1 when unknown. */
  nextCloseMs: number;
}

export interface StreamJoinSide {
  thisStore: string;
  otherStore: string;
  /** Left/outer joins: where records without a partner wait for their window to close. */
  pendingStore: string | null;
  isLeft: boolean;
  /** Emit this side's records that found no partner, once their window closed (left side of a left join, both of an outer join). */
  emitUnmatchedThis: boolean;
  emitUnmatchedOther: boolean;
  joiner: (leftValue: unknown, rightValue: unknown, key: unknown) => unknown;
  onDropped: (reason: string) => void;
}

/** The shared part of both sides of one join, per task. */
export function streamJoinShared(): Map<string, JoinShared> {
  return new Map();
}

export function streamJoinProcessor(windows: JoinWindows, side: StreamJoinSide, shared: Map<string, JoinShared>): () => Processor<unknown, unknown, unknown, unknown> {
  // A left record at t meets right records in [t - before, t + after]; a right one at t, left ones in [t - after, t + before].
  const lookBackMs = side.isLeft ? windows.beforeMs : windows.afterMs;
  const lookAheadMs = side.isLeft ? windows.afterMs : windows.beforeMs;
  /** A record's window end: the last time a partner may carry. */
  const windowEnd = (left: boolean, timestamp: number): number => timestamp + (left ? windows.afterMs : windows.beforeMs);
  return () => {
    let context: ProcessorContext<unknown, unknown>;
    let own: KeyValueStore<Stamp<unknown>, unknown>;
    let other: KeyValueStore<Stamp<unknown>, unknown>;
    let pending: KeyValueStore<Stamp<unknown>, PendingRecord> | null = null;
    let state: JoinShared;
    let sequence = 0;
    // A kept record's time is its stamp's start (the end is its sequence).
    const expire = retention(() => own, windows.beforeMs + windows.afterMs + windows.graceMs, (stamp) => stamp.window.start);
    const emitClosed = (headers: RecordHeaders): void => {
      if (pending === null || (state.nextCloseMs !== -1 && state.nextCloseMs >= state.streamTimeMs)) return;
      state.nextCloseMs = -1;
      for (const [stamp, record] of pending.all()) {
        const closesAt = windowEnd(record.left, stamp.window.start) + windows.graceMs;
        if (closesAt >= state.streamTimeMs) {
          if (state.nextCloseMs === -1 || closesAt < state.nextCloseMs) state.nextCloseMs = closesAt;
          continue;
        }
        pending.delete(stamp);
        const value = record.left ? side.joiner(record.value, null, stamp.key) : side.joiner(null, record.value, stamp.key);
        context.forward({ key: stamp.key, value, timestamp: stamp.window.start, headers });
      }
    };
    return {
      init(ctx) {
        context = ctx;
        own = ctx.getStateStore(side.thisStore);
        other = ctx.getStateStore(side.otherStore);
        if (side.pendingStore !== null) pending = ctx.getStateStore(side.pendingStore);
        let found = shared.get(ctx.taskId);
        if (found === undefined) shared.set(ctx.taskId, (found = { streamTimeMs: -1, nextCloseMs: -1 }));
        state = found;
      },
      process(record) {
        const key = record.key;
        if (key === null || key === undefined || record.value === null || record.value === undefined) {
          side.onDropped('null key or value');
          return;
        }
        const t = record.timestamp;
        state.streamTimeMs = Math.max(state.streamTimeMs, t);
        if (windowEnd(side.isLeft, t) + windows.graceMs < state.streamTimeMs) {
          side.onDropped('late record (join window closed)');
          return;
        }
        const seq = context.recordMetadata()?.offset ?? sequence++;
        const stamp = { key, window: { start: t, end: seq } };
        own.put(stamp, record.value);
        let matched = false;
        for (const [otherStamp, otherValue] of other.range({ key, window: { start: Math.max(0, t - lookBackMs), end: 0 } }, { key, window: { start: t + lookAheadMs, end: Number.MAX_SAFE_INTEGER } })) {
          matched = true;
          pending?.delete(otherStamp);
          const value = side.isLeft ? side.joiner(record.value, otherValue, key) : side.joiner(otherValue, record.value, key);
          context.forward({ key, value, timestamp: Math.max(t, otherStamp.window.start), headers: record.headers });
        }
        if (!matched && pending !== null && (side.isLeft ? side.emitUnmatchedThis : side.emitUnmatchedOther)) {
          pending.put(stamp, { left: side.isLeft, value: record.value });
          const closesAt = windowEnd(side.isLeft, t) + windows.graceMs;
          if (state.nextCloseMs !== -1 && closesAt < state.nextCloseMs) state.nextCloseMs = closesAt;
        }
        emitClosed(record.headers);
        expire(state.streamTimeMs);
      },
      close() {
        shared.delete(context.taskId);
      },
    };
  };
}

/** KStream-KTable (and GlobalKTable) join: each stream record meets the table's current value. */
export function streamTableJoinProcessor<K, V, KT, VT, VR>(
  getter: ValueGetterSupplier<KT, VT>,
  keyMapper: (key: K, value: V) => KT,
  joiner: (value: V, tableValue: VT | null, key: K) => VR,
  left: boolean,
  onDropped: (reason: string) => void,
): () => Processor<K, V, K, VR> {
  return () => {
    let context: ProcessorContext<K, VR>;
    let get: (key: KT) => VT | null;
    return {
      init(ctx) {
        context = ctx;
        get = getter(ctx);
      },
      process(record) {
        if (record.value === null || record.value === undefined) {
          onDropped('null key or value');
          return;
        }
        const tableKey = keyMapper(record.key, record.value);
        if (tableKey === null || tableKey === undefined) {
          if (left) context.forward({ ...record, value: joiner(record.value, null, record.key) });
          else onDropped('null key or value');
          return;
        }
        const tableValue = get(tableKey);
        if (tableValue === null && !left) return;
        context.forward({ key: record.key, value: joiner(record.value, tableValue, record.key), timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

export type TableJoinKind = 'inner' | 'left' | 'outer';

/**
 * One side of a KTable-KTable join: a change here looks up the other side's current value and
 * forwards the joined change (new from the new value, old from the old one).
 */
export function tableTableJoinProcessor<K>(
  otherGetter: ValueGetterSupplier<K, unknown>,
  joiner: (thisValue: unknown, otherValue: unknown) => unknown,
  keepWhenOtherMissing: boolean,
  keepWhenThisMissing: boolean,
): () => Processor<K, Change<unknown>, K, Change<unknown>> {
  const join = (thisValue: unknown, otherValue: unknown): unknown => {
    if (thisValue === null && otherValue === null) return null;
    if (otherValue === null && !keepWhenOtherMissing) return null;
    if (thisValue === null && !keepWhenThisMissing) return null;
    return joiner(thisValue, otherValue);
  };
  return () => {
    let context: ProcessorContext<K, Change<unknown>>;
    let get: (key: K) => unknown;
    return {
      init(ctx) {
        context = ctx;
        get = otherGetter(ctx);
      },
      process(record) {
        const otherValue = get(record.key) ?? null;
        const newValue = join(record.value.newValue, otherValue);
        const oldValue = join(record.value.oldValue, otherValue);
        if (newValue === null && oldValue === null) return;
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

/** A subscription from a left row to its foreign key: the row's key (as bytes, base64) and whether it subscribes or leaves. */
export interface Subscription {
  readonly primaryKey: string;
  readonly subscribe: boolean;
}

/** The right side's answer: the foreign key it is for and the right value (null: none). */
export interface SubscriptionResponse {
  readonly foreignKey: string;
  readonly value: unknown;
}

/** Left side, on a row change: (un)subscribes the row to its old and new foreign keys. */
export function subscriptionSender<K, V, KO>(
  foreignKeyOf: (value: V) => KO,
  encodeKey: (key: K) => string,
): () => Processor<K, Change<V>, KO, Subscription> {
  return () => {
    let context: ProcessorContext<KO, Subscription>;
    return {
      init(ctx) {
        context = ctx;
      },
      process(record) {
        const oldForeignKey = record.value.oldValue === null ? null : foreignKeyOf(record.value.oldValue);
        const newForeignKey = record.value.newValue === null ? null : foreignKeyOf(record.value.newValue);
        const primaryKey = encodeKey(record.key);
        if (oldForeignKey !== null && oldForeignKey !== undefined && oldForeignKey !== newForeignKey) {
          // The row left this key (moved, lost its foreign key, or was deleted): its answer removes the old result.
          context.forward({ key: oldForeignKey, value: { primaryKey, subscribe: false }, timestamp: record.timestamp, headers: record.headers });
        }
        if (newForeignKey !== null && newForeignKey !== undefined) {
          context.forward({ key: newForeignKey, value: { primaryKey, subscribe: true }, timestamp: record.timestamp, headers: record.headers });
        }
      },
    };
  };
}

/**
 * Right side, on a subscription: records it in the subscription store (keyed by foreign key and
 * primary key) and answers with the right value for that foreign key.
 */
export function subscriptionReceiver<K, KO>(
  subscriptionStore: string,
  rightGetter: ValueGetterSupplier<KO, unknown>,
  encodeForeignKey: (key: KO) => string,
  decodeKey: (primaryKey: string) => K,
): () => Processor<KO, Subscription, K, SubscriptionResponse> {
  return () => {
    let context: ProcessorContext<K, SubscriptionResponse>;
    let store: KeyValueStore<string, boolean>;
    let get: (key: KO) => unknown;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(subscriptionStore);
        get = rightGetter(ctx);
      },
      process(record) {
        const foreignKey = encodeForeignKey(record.key);
        const id = `${foreignKey}\u0000${record.value.primaryKey}`;
        if (record.value.subscribe) store.put(id, true);
        else store.delete(id);
        const value = record.value.subscribe ? (get(record.key) ?? null) : null;
        context.forward({ key: decodeKey(record.value.primaryKey), value: { foreignKey, value }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

/** Right side, on a right row change: answers every left row subscribed to that key. */
export function rightChangeResponder<K, KO>(
  subscriptionStore: string,
  encodeForeignKey: (key: KO) => string,
  decodeKey: (primaryKey: string) => K,
): () => Processor<KO, Change<unknown>, K, SubscriptionResponse> {
  return () => {
    let context: ProcessorContext<K, SubscriptionResponse>;
    let store: KeyValueStore<string, boolean>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore(subscriptionStore);
      },
      process(record) {
        const foreignKey = encodeForeignKey(record.key);
        // Subscription ids sort by foreign key first: one range holds this key's subscribers.
        for (const [id] of store.range(`${foreignKey}\u0000`, `${foreignKey}\u0001`)) {
          const primaryKey = id.slice(foreignKey.length + 1);
          context.forward({ key: decodeKey(primaryKey), value: { foreignKey, value: record.value.newValue }, timestamp: record.timestamp, headers: record.headers });
        }
      },
    };
  };
}

/**
 * Left side, on a response: joins it with the row's current value if the row still points at
 * that foreign key (a stale answer for a key the row has left is dropped), keeping the results in
 * a store so each change carries its old result.
 */
export function responseJoiner<K, V, KO, VR>(
  leftGetter: ValueGetterSupplier<K, V>,
  resultStore: string,
  foreignKeyOf: (value: V) => KO,
  encodeForeignKey: (key: KO) => string,
  joiner: (value: V, other: unknown) => VR,
  left: boolean,
): () => Processor<K, SubscriptionResponse, K, Change<VR>> {
  return () => {
    let context: ProcessorContext<K, Change<VR>>;
    let get: (key: K) => V | null;
    let results: KeyValueStore<K, VR>;
    return {
      init(ctx) {
        context = ctx;
        get = leftGetter(ctx);
        results = ctx.getStateStore(resultStore);
      },
      process(record) {
        const row = get(record.key);
        let newValue: VR | null = null;
        if (row !== null) {
          const foreignKey = foreignKeyOf(row);
          const current = foreignKey === null || foreignKey === undefined ? null : encodeForeignKey(foreignKey);
          // An answer for a key the row no longer points at is stale: the current key's answer decides.
          if (current !== null && current !== record.value.foreignKey) return;
          const other = current === null ? null : record.value.value;
          if (other !== null || left) newValue = joiner(row, other);
        }
        const oldValue = results.get(record.key) ?? null;
        if (newValue === null && oldValue === null) return;
        results.put(record.key, newValue);
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}
