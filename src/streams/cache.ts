/**
 * Kafka Streams' record cache (statestore.cache.max.bytes): the DSL's key-value aggregations and
 * tables write their updates into a cache in front of the store; a key updated many times between
 * two commits reaches the store, the changelog and the downstream processors once, with its latest
 * value. The cache is flushed at every commit (before the output and the offsets are committed),
 * and when a thread's cache grows past its share of the budget the least recently used entries of
 * the store being written are flushed early, as Kafka's ThreadCache evicts. A budget of 0 turns it
 * off: every update is forwarded, as Kafka's tests configure it to see each one.
 *
 * What a flush forwards is a Change whose old value is the store's value before the flush, the
 * value last forwarded, so tables downstream (a re-grouped count's subtractor) stay exact.
 */
import type { RecordHeaders } from './processor.js';
import type { Serde } from './serdes.js';
import type { KeyValue, KeyValueStore, TypedKeyValueStore } from './stores.js';

/** One stream thread's cache budget, shared by the caches of its tasks' stores. */
export class ThreadCache {
  sizeBytes = 0;
  constructor(readonly maxBytes: number) {}
}

/** The record a cached update came from: its timestamp and headers go with the flushed Change. */
export interface CachedRecordContext {
  readonly timestamp: number;
  readonly headers: RecordHeaders;
}

export type CacheFlushListener<K, V> = (key: K, newValue: V | null, oldValue: V | null, record: CachedRecordContext) => void;

interface CacheEntry<K, V> {
  readonly key: K;
  readonly keyBytes: Buffer;
  readonly value: V | null;
  readonly sizeBytes: number;
  readonly record: CachedRecordContext;
}

/** Counted per entry on top of its key and value bytes, as Kafka's LRUCacheEntry adds its own fields. */
const ENTRY_OVERHEAD_BYTES = 48;

export class CachingKeyValueStore<K, V> implements KeyValueStore<K, V> {
  /** Least recently written first (a Map keeps insertion order; a write moves the key to the end). */
  private readonly entries = new Map<string, CacheEntry<K, V>>();
  private listener: CacheFlushListener<K, V> | null = null;

  constructor(
    readonly inner: TypedKeyValueStore<K, V>,
    private readonly cache: ThreadCache,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    /** The record being processed, for writes that do not name one (put from a Processor API processor). */
    private readonly currentRecord: () => CachedRecordContext,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  /** Where flushed updates go downstream: the processor that writes the store forwards them. */
  setFlushListener(listener: CacheFlushListener<K, V>): void {
    this.listener = listener;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(this.keySerde.serialize(key).toString('latin1'));
    if (entry !== undefined) return entry.value ?? undefined;
    return this.inner.get(key);
  }

  put(key: K, value: V | null): void {
    this.putRecord(key, value, this.currentRecord());
  }

  /** Caches the update of `key` from `record`; past the thread's budget, flushes this store's oldest entries. */
  putRecord(key: K, value: V | null, record: CachedRecordContext): void {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyBytes.toString('latin1');
    const valueBytes = value === null || value === undefined ? 0 : this.valueSerde.serialize(value).length;
    this.remove(id);
    const entry: CacheEntry<K, V> = { key, keyBytes, value: value ?? null, sizeBytes: keyBytes.length + valueBytes + ENTRY_OVERHEAD_BYTES, record };
    this.entries.set(id, entry);
    this.cache.sizeBytes += entry.sizeBytes;
    while (this.cache.sizeBytes > this.cache.maxBytes && this.entries.size > 0) {
      const [eldest, oldest] = this.entries.entries().next().value!;
      this.remove(eldest);
      this.write(oldest);
    }
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const existing = this.get(key);
    if (existing === undefined) this.put(key, value);
    return existing;
  }

  delete(key: K): V | undefined {
    const existing = this.get(key);
    if (existing !== undefined) this.put(key, null);
    return existing;
  }

  range(from: K | null, to: K | null): KeyValue<K, V>[] {
    const fromBytes = from === null ? null : this.keySerde.serialize(from);
    const toBytes = to === null ? null : this.keySerde.serialize(to);
    const cached = [...this.entries.values()].filter(
      ({ keyBytes }) => (fromBytes === null || Buffer.compare(keyBytes, fromBytes) >= 0) && (toBytes === null || Buffer.compare(keyBytes, toBytes) <= 0),
    );
    return this.overlay(this.inner.range(from, to), cached);
  }

  all(): KeyValue<K, V>[] {
    return this.overlay(this.inner.all(), [...this.entries.values()]);
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.entries.size;
  }

  /** Cached updates not yet written to the store. */
  get size(): number {
    return this.entries.size;
  }

  /** Writes every cached update to the store (and its changelog) and forwards it, oldest first. */
  flush(): void {
    for (const [id, entry] of [...this.entries]) {
      this.remove(id);
      this.write(entry);
    }
  }

  /** Forgets the cached updates (a task dropped with its uncommitted work). */
  discard(): void {
    for (const id of [...this.entries.keys()]) this.remove(id);
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.cache.sizeBytes -= entry.sizeBytes;
  }

  private write({ key, value, record }: CacheEntry<K, V>): void {
    const oldValue = this.inner.get(key) ?? null;
    if (value === null && oldValue === null) return;
    this.inner.put(key, value);
    this.listener?.(key, value, oldValue, record);
  }

  /** The store's entries with the cached updates laid over them, in key byte order. */
  private overlay(stored: KeyValue<K, V>[], cached: CacheEntry<K, V>[]): KeyValue<K, V>[] {
    const merged = new Map<string, { keyBytes: Buffer; entry: KeyValue<K, V> | null }>();
    for (const entry of stored) {
      const keyBytes = this.keySerde.serialize(entry[0]);
      merged.set(keyBytes.toString('latin1'), { keyBytes, entry });
    }
    for (const { key, keyBytes, value } of cached) merged.set(keyBytes.toString('latin1'), { keyBytes, entry: value === null ? null : [key, value] });
    return [...merged.values()]
      .filter((item): item is { keyBytes: Buffer; entry: KeyValue<K, V> } => item.entry !== null)
      .sort((a, b) => Buffer.compare(a.keyBytes, b.keyBytes))
      .map(({ entry }) => entry);
  }
}
