/**
 * The processors behind the DSL's operations (Kafka's KStreamFilter, KStreamMap, KStreamAggregate,
 * KTableSource...). Each is a small Processor over the Processor API; stateful ones reach their
 * store through the context, so they run the same against an in-memory or a persistent store.
 *
 * Tables forward Change objects (new and old value, as Kafka's Change<V>): a KTable operation
 * downstream needs the old value to retract what it had derived from it.
 */
import type { Processor, ProcessorContext, StreamRecord } from './processor.js';
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
 * Kafka's KStreamAggregate / KStreamReduce: records with a null key or value are dropped (Kafka
 * skips and counts them); the aggregate is stored, then forwarded as a Change.
 */
export function aggregateProcessor<K, V, A>(
  storeName: string,
  initializer: () => A,
  aggregator: (key: K, value: V, aggregate: A) => A,
  onDropped: () => void,
): () => Processor<K, V, K, Change<A>> {
  return () => {
    let context: ProcessorContext<K, Change<A>>;
    let store: KeyValueStore<K, A>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<K, A>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
          onDropped();
          return;
        }
        const oldValue = store.get(record.key) ?? null;
        const newValue = aggregator(record.key, record.value, oldValue ?? initializer());
        store.put(record.key, newValue);
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

/** Kafka's KStreamReduce: the first value of a key is its aggregate; later ones fold into it. */
export function reduceProcessor<K, V>(storeName: string, reducer: (aggregate: V, value: V) => V, onDropped: () => void): () => Processor<K, V, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>;
    let store: KeyValueStore<K, V>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<K, V>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
          onDropped();
          return;
        }
        const oldValue = store.get(record.key) ?? null;
        const newValue = oldValue === null ? record.value : reducer(oldValue, record.value);
        store.put(record.key, newValue);
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

/** Kafka's KTableSource: the latest value of each key (a null value deletes it), forwarded as a Change. */
export function tableSourceProcessor<K, V>(storeName: string, onDropped: () => void): () => Processor<K, V, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>;
    let store: KeyValueStore<K, V>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<K, V>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined) {
          onDropped();
          return;
        }
        const oldValue = store.get(record.key) ?? null;
        const newValue = record.value ?? null;
        if (newValue === null) store.delete(record.key);
        else store.put(record.key, newValue);
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}

/**
 * Kafka's KTableAggregate over a re-grouped table: the subtractor takes back what an old value
 * contributed, then the adder folds in the new one.
 */
export function tableAggregateProcessor<K, V, A>(
  storeName: string,
  initializer: () => A,
  adder: (key: K, value: V, aggregate: A) => A,
  subtractor: (key: K, value: V, aggregate: A) => A,
): () => Processor<K, Change<V>, K, Change<A>> {
  return () => {
    let context: ProcessorContext<K, Change<A>>;
    let store: KeyValueStore<K, A>;
    return {
      init(ctx) {
        context = ctx;
        store = ctx.getStateStore<KeyValueStore<K, A>>(storeName);
      },
      process(record) {
        if (record.key === null || record.key === undefined) return;
        const oldValue = store.get(record.key) ?? null;
        let aggregate = oldValue ?? initializer();
        if (record.value.oldValue !== null) aggregate = subtractor(record.key, record.value.oldValue, aggregate);
        if (record.value.newValue !== null) aggregate = adder(record.key, record.value.newValue, aggregate);
        store.put(record.key, aggregate);
        context.forward({ key: record.key, value: { newValue: aggregate, oldValue }, timestamp: record.timestamp, headers: record.headers });
      },
    };
  };
}
