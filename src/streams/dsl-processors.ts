/**
 * The processors behind the DSL's operations (Kafka's KStreamFilter, KStreamMap, KStreamAggregate,
 * KTableSource...). Each is a small Processor over the Processor API; stateful ones reach their
 * store through the context, so they run the same against an in-memory or a persistent store.
 *
 * Tables forward Change objects (new and old value, as Kafka's Change<V>): a KTable operation
 * downstream needs the old value to retract what it had derived from it.
 */
import type { Processor, ProcessorContext, StreamRecord } from './processor.js';
import { CachingKeyValueStore } from './cache.js';
import type { KeyValueStore } from './stores.js';

export interface Change<V> {
  readonly newValue: V | null;
  readonly oldValue: V | null;
}

export type KeyValue<K, V> = [K, V];

/** A stateless record-by-record processor from one function of (record, context). */
export function statelessProcessor<KIn, VIn, KOut, VOut>(
  step: (record: StreamRecord<KIn, VIn>, context: ProcessorContext<KOut, VOut>) => void,
): () => Processor<KIn, VIn, KOut, VOut> {
  return () => {
    let context: ProcessorContext<KOut, VOut>;
    return {
      init(ctx) {
        context = ctx;
      },
      process(record) {
        step(record, context);
      },
    };
  };
}

/**
 * Reads the current value of a table's key: from its store, or (for a table derived without a
 * store, as filter or mapValues) through its parent's getter with the same function applied.
 */
export type ValueGetterSupplier<K, V> = (context: ProcessorContext<any, any>) => (key: K) => V | null;

export function storeGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return (context) => {
    const store = context.getStateStore<KeyValueStore<K, V>>(storeName);
    return (key) => store.get(key) ?? null;
  };
}

/**
 * What the stateful DSL processors below share: per record with a key (and, when `needsValue`, a
 * value; the others are dropped and counted by `onDropped`), the key's stored value is read, the
 * next one computed from it, stored (null deletes the key) and forwarded as a Change. Through the
 * record cache (cache.ts), the Change is forwarded when the cache flushes the key instead.
 */
function storeUpdatingProcessor<K, VIn, A>(
  storeName: string,
  needsValue: boolean,
  onDropped: () => void,
  next: (key: K, value: VIn, oldValue: A | null) => A | null,
): () => Processor<K, VIn, K, Change<A>> {
  return () => {
    let context: ProcessorContext<K, Change<A>>;
    let store: KeyValueStore<K, A>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<K, A>>(storeName);
        if (store instanceof CachingKeyValueStore) {
          store.setFlushListener((key, newValue, oldValue, { timestamp, headers }) => context.forward({ key, value: { newValue, oldValue }, timestamp, headers }));
        }
      },
      process(record) {
        if (record.key === null || record.key === undefined || (needsValue && (record.value === null || record.value === undefined))) {
          onDropped();
          return;
        }
        const oldValue = store.get(record.key) ?? null;
        const newValue = next(record.key, record.value, oldValue);
        if (store instanceof CachingKeyValueStore) {
          store.putRecord(record.key, newValue, record);
          return;
        }
        if (newValue === null) store.delete(record.key);
        else store.put(record.key, newValue);
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

/**
 * Kafka's KStreamAggregate / KStreamReduce: records with a null key or value are dropped (Kafka
 * skips and counts them); the aggregate is stored, then forwarded as a Change.
 */
export function aggregateProcessor<K, V, A>(
  storeName: string,
  initializer: () => A,
  aggregator: (key: K, value: V, aggregate: A) => A,
  onDropped: () => void,
): () => Processor<K, V, K, Change<A>> {
  return storeUpdatingProcessor<K, V, A>(storeName, true, onDropped, (key, value, oldValue) => aggregator(key, value, oldValue ?? initializer()));
}

/** Kafka's KStreamReduce: the first value of a key is its aggregate; later ones fold into it. */
export function reduceProcessor<K, V>(storeName: string, reducer: (aggregate: V, value: V) => V, onDropped: () => void): () => Processor<K, V, K, Change<V>> {
  return storeUpdatingProcessor<K, V, V>(storeName, true, onDropped, (_key, value, oldValue) => (oldValue === null ? value : reducer(oldValue, value)));
}

/** Kafka's KTableSource: the latest value of each key (a null value deletes it), forwarded as a Change. */
export function tableSourceProcessor<K, V>(storeName: string, onDropped: () => void): () => Processor<K, V, K, Change<V>> {
  return storeUpdatingProcessor<K, V, V>(storeName, false, onDropped, (_key, value) => value ?? null);
}

/**
 * Kafka's KTableAggregate over a re-grouped table: the subtractor takes back what an old value
 * contributed, then the adder folds in the new one. A null key is dropped uncounted.
 */
export function tableAggregateProcessor<K, V, A>(
  storeName: string,
  initializer: () => A,
  adder: (key: K, value: V, aggregate: A) => A,
  subtractor: (key: K, value: V, aggregate: A) => A,
): () => Processor<K, Change<V>, K, Change<A>> {
  return storeUpdatingProcessor<K, Change<V>, A>(storeName, false, () => undefined, (key, change, oldValue) => {
    let aggregate = oldValue ?? initializer();
    if (change.oldValue !== null) aggregate = subtractor(key, change.oldValue, aggregate);
    if (change.newValue !== null) aggregate = adder(key, change.newValue, aggregate);
    return aggregate;
  });
}
