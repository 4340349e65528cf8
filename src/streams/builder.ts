/**
 * The Streams DSL, as Kafka Streams': StreamsBuilder makes KStreams and KTables from topics, and
 * each operation adds nodes to a Topology named as Kafka names them (KSTREAM-FILTER-0000000001...),
 * so describe() reads the same as Kafka's for the same program.
 *
 * An operation that may change the key (map, flatMap, selectKey, groupBy) marks the stream as
 * needing a repartition: the grouping or join that follows writes it through a topic
 * `<applicationId>-<name>-repartition` keyed by the new key, so that each key meets its state in
 * one task.
 */
import { TopologyError } from '../errors.js';
import {
  aggregateProcessor,
  reduceProcessor,
  statelessProcessor,
  storeGetter,
  tableAggregateProcessor,
  tableSourceProcessor,
  type Change,
  type KeyValue,
  type ValueGetterSupplier,
} from './dsl-processors.js';
import type { ProcessorContext, ProcessorSupplier } from './processor.js';
import { Serdes, type Serde } from './serdes.js';
import { Topology, type StoreDefinition, type TopicNameExtractor } from './topology.js';
import { changeSerde, internalSerde } from './change-serde.js';
import {
  JoinWindows,
  responseJoiner,
  rightChangeResponder,
  streamJoinProcessor,
  streamJoinShared,
  streamTableJoinProcessor,
  subscriptionReceiver,
  subscriptionSender,
  tableTableJoinProcessor,
} from './joins.js';
import {
  SessionWindows,
  SlidingWindows,
  TimeWindows,
  sessionWindowAggregateProcessor,
  sessionWindowedSerde,
  slidingWindowAggregateProcessor,
  suppressProcessor,
  timeWindowAggregateProcessor,
  timeWindowedSerde,
  windowedStoreSerde,
  type Windowed,
} from './windows.js';

export interface Consumed<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

export interface Produced<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

export interface Grouped<K, V> {
  /** Names the repartition topic (`<applicationId>-<name>-repartition`) when one is needed. */
  name?: string;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

/** Kafka's StreamJoined: serdes of the join's stores, and a name for them. */
export interface StreamJoined<K, V, VO> {
  storeName?: string;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  otherValueSerde?: Serde<VO>;
}

export interface Repartitioned<K, V> {
  name?: string;
  numberOfPartitions?: number;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
}

export interface Materialized<K, V> {
  /** The store's name: queryable as streams.store(name), changelog `<applicationId>-<name>-changelog`. */
  storeName?: string;
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** 'persistent' (default, as Kafka's RocksDB default): LMDB under stateDir. */
  storeType?: 'persistent' | 'in-memory';
  /** Back the store with a changelog topic (default true). */
  loggingEnabled?: boolean;
  /** Put the record cache in front of an aggregation's or table's store (default true; the budget is statestoreCacheMaxBytes). */
  cachingEnabled?: boolean;
}

/** Where DSL processors count the records they drop (null keys into aggregations, late records). */
export interface DropCounter {
  dropped(reason: string): void;
}

const REPARTITION_SUFFIX = '-repartition';

/** Builds a Topology through the DSL. One builder makes one topology. */
export class StreamsBuilder {
  /** @internal */
  readonly topology = new Topology();
  private index = 0;
  /** @internal */
  get drops(): DropCounter {
    return this.topology;
  }

  stream<K = Buffer, V = Buffer>(topics: string | string[], consumed: Consumed<K, V> = {}): KStream<K, V> {
    const name = this.newName('KSTREAM-SOURCE-');
    const topicList = Array.isArray(topics) ? topics : [topics];
    this.topology.addSourceNode(name, topicList, consumed, false);
    return new KStream<K, V>(this, name, consumed.keySerde ?? null, consumed.valueSerde ?? null, false, topicList);
  }

  /** A table of the topic's latest value per key, materialized in a store (Kafka's builder.table). */
  table<K = Buffer, V = Buffer>(topic: string, consumed: Consumed<K, V> & { materialized?: Materialized<K, V> | string } = {}): KTable<K, V> {
    const materialized = materializedOf(consumed.materialized);
    const sourceName = this.newName('KSTREAM-SOURCE-');
    const storeName = materialized.storeName ?? this.newStoreName(`${topic}-`);
    const tableName = this.newName('KTABLE-SOURCE-');
    this.topology.addSourceNode(sourceName, [topic], consumed, false);
    const keySerde = materialized.keySerde ?? consumed.keySerde ?? null;
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde ?? null;
    this.topology.addProcessor(tableName, tableSourceProcessor(storeName, () => this.drops.dropped('null key')), sourceName);
    this.topology.addStateStore(this.cachedStoreDefinition(storeName, materialized, keySerde, valueSerde), tableName);
    return new KTable<K, V>(this, tableName, keySerde, valueSerde, storeName, storeGetter(storeName), [storeName], [topic]);
  }

  /**
   * A table every instance holds in full, all partitions, kept up to date as the topic changes
   * (Kafka's GlobalKTable); it is restored from the topic itself, and joins need no co-partitioning.
   */
  globalTable<K = Buffer, V = Buffer>(topic: string, consumed: Consumed<K, V> & { materialized?: Materialized<K, V> | string } = {}): GlobalKTable<K, V> {
    const materialized = materializedOf(consumed.materialized);
    const sourceName = this.newName('KSTREAM-SOURCE-');
    const storeName = materialized.storeName ?? this.newStoreName(`${topic}-`);
    const tableName = this.newName('KTABLE-SOURCE-');
    this.topology.addSourceNode(sourceName, [topic], consumed, true);
    const keySerde = materialized.keySerde ?? consumed.keySerde ?? null;
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde ?? null;
    this.topology.addProcessor(tableName, tableSourceProcessor(storeName, () => this.drops.dropped('null key')), sourceName);
    // The topic is the store's changelog: no second topic.
    this.topology.addStateStore({ ...this.storeDefinition(storeName, materialized, keySerde, valueSerde), logging: false }, tableName);
    this.topology.addGlobalStore(storeName);
    return new GlobalKTable<K, V>(storeName, topic);
  }

  /** A store for the Processor API: connect it with stream.process(supplier, name). */
  addStateStore(store: StoreSpec): this {
    this.topology.addStateStore(keyValueStore(store));
    return this;
  }

  build(): Topology {
    return this.topology;
  }

  /** @internal Kafka's newProcessorName: prefix + a 10-digit index shared by every node and store. */
  newName(prefix: string): string {
    return prefix + String(this.index++).padStart(10, '0');
  }

  /** @internal Kafka's newStoreName. */
  newStoreName(prefix: string): string {
    return `${prefix}STATE-STORE-${String(this.index++).padStart(10, '0')}`;
  }

  /** @internal */
  /** @internal The store of a key-value aggregation or table, which the record cache fronts unless its Materialized says not. */
  cachedStoreDefinition(name: string, materialized: Materialized<any, any>, keySerde: Serde<any> | null, valueSerde: Serde<any> | null): StoreDefinition {
    const caching = materialized.cachingEnabled ?? true;
    if (typeof caching !== 'boolean') throw new TopologyError(`Materialized cachingEnabled of store ${name} must be true or false, not ${String(caching)}`);
    return { ...this.storeDefinition(name, materialized, keySerde, valueSerde), caching };
  }

  storeDefinition(name: string, materialized: Materialized<any, any>, keySerde: Serde<any> | null, valueSerde: Serde<any> | null): StoreDefinition {
    return {
      name,
      persistent: (materialized.storeType ?? 'persistent') === 'persistent',
      logging: materialized.loggingEnabled ?? true,
      keySerde: keySerde ?? DEFAULT_SERDE,
      valueSerde: valueSerde ?? DEFAULT_SERDE,
    };
  }

  /**
   * @internal Kafka's createRepartitionedSource: a filter dropping null keys, a sink to the
   * repartition topic and a source reading it back. Returns the source's name.
   */
  repartitionThrough(parentName: string, prefix: string, keySerde: Serde<any> | null, valueSerde: Serde<any> | null): string {
    const topic = prefix.endsWith(REPARTITION_SUFFIX) ? prefix : prefix + REPARTITION_SUFFIX;
    // The generated names are always drawn, to keep the index where Kafka has it.
    const sinkName = this.newName('KSTREAM-SINK-');
    const filterName = this.newName('KSTREAM-FILTER-');
    const sourceName = this.newName('KSTREAM-SOURCE-');
    const generated = /^KSTREAM.*-\d{10}$/.test(prefix);
    const names = generated ? { sinkName, filterName, sourceName } : { sinkName: `${topic}-sink`, filterName: `${topic}-filter`, sourceName: `${topic}-source` };
    this.topology.addProcessor(
      names.filterName,
      statelessProcessor((record, context) => {
        if (record.key !== null && record.key !== undefined) context.forward(record);
      }),
      parentName,
    );
    this.topology.addSink(names.sinkName, topic, { keySerde: keySerde ?? undefined, valueSerde: valueSerde ?? undefined }, names.filterName);
    this.topology.addRepartitionTopic(topic);
    this.topology.addSourceNode(names.sourceName, [topic], { keySerde: keySerde ?? undefined, valueSerde: valueSerde ?? undefined }, false);
    return names.sourceName;
  }
}

/** What a store or an internal topic uses when the program gave no serde (see internalSerde). */
const DEFAULT_SERDE: Serde<unknown> = internalSerde;

/** A key-value store for the Processor API (Kafka's Stores.keyValueStoreBuilder). */
export interface StoreSpec {
  name: string;
  keySerde?: Serde<any>;
  valueSerde?: Serde<any>;
  /** 'persistent' (default): LMDB under stateDir. */
  storeType?: 'persistent' | 'in-memory';
  /** Backed by a changelog topic (default true). */
  loggingEnabled?: boolean;
}

export function keyValueStore(spec: StoreSpec): StoreDefinition {
  if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string' || spec.name === '') throw new TopologyError('a state store needs a name');
  return {
    name: spec.name,
    persistent: (spec.storeType ?? 'persistent') === 'persistent',
    logging: spec.loggingEnabled ?? true,
    keySerde: spec.keySerde ?? DEFAULT_SERDE,
    valueSerde: spec.valueSerde ?? DEFAULT_SERDE,
  };
}

function materializedOf<K, V>(materialized: Materialized<K, V> | string | undefined): Materialized<K, V> {
  if (materialized === undefined) return {};
  if (typeof materialized === 'string') return { storeName: materialized };
  if (materialized === null || typeof materialized !== 'object') throw new TopologyError('Materialized must be a store name or { storeName, keySerde, valueSerde, storeType, loggingEnabled }');
  return materialized;
}

export type Predicate<K, V> = (key: K, value: V) => boolean;

export class KStream<K, V> {
  /** @internal */
  constructor(
    readonly builder: StreamsBuilder,
    readonly nodeName: string,
    readonly keySerde: Serde<K> | null,
    readonly valueSerde: Serde<V> | null,
    /** The key may have changed since the source: a grouping or join must repartition first. */
    readonly repartitionRequired: boolean,
    /** Topics this stream's records come from (for co-partitioning checks). */
    readonly sourceTopics: string[],
  ) {}

  filter(predicate: Predicate<K, V>): KStream<K, V> {
    return this.stateless('KSTREAM-FILTER-', (record, context) => {
      if (predicate(record.key, record.value)) context.forward(record);
    });
  }

  filterNot(predicate: Predicate<K, V>): KStream<K, V> {
    return this.stateless('KSTREAM-FILTER-', (record, context) => {
      if (!predicate(record.key, record.value)) context.forward(record);
    });
  }

  map<KR, VR>(mapper: (key: K, value: V) => KeyValue<KR, VR>): KStream<KR, VR> {
    return this.stateless<KR, VR>(
      'KSTREAM-MAP-',
      (record, context) => {
        const [key, value] = mapper(record.key, record.value);
        context.forward({ key, value, timestamp: record.timestamp, headers: record.headers });
      },
      { keyChanged: true, keySerde: null, valueSerde: null },
    );
  }

  mapValues<VR>(mapper: (value: V, key: K) => VR): KStream<K, VR> {
    return this.stateless<K, VR>(
      'KSTREAM-MAPVALUES-',
      (record, context) => context.forward({ key: record.key, value: mapper(record.value, record.key), timestamp: record.timestamp, headers: record.headers }),
      { keyChanged: false, keySerde: this.keySerde, valueSerde: null },
    );
  }

  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<KeyValue<KR, VR>>): KStream<KR, VR> {
    return this.stateless<KR, VR>(
      'KSTREAM-FLATMAP-',
      (record, context) => {
        for (const [key, value] of mapper(record.key, record.value)) context.forward({ key, value, timestamp: record.timestamp, headers: record.headers });
      },
      { keyChanged: true, keySerde: null, valueSerde: null },
    );
  }

  flatMapValues<VR>(mapper: (value: V, key: K) => Iterable<VR>): KStream<K, VR> {
    return this.stateless<K, VR>(
      'KSTREAM-FLATMAPVALUES-',
      (record, context) => {
        for (const value of mapper(record.value, record.key)) context.forward({ key: record.key, value, timestamp: record.timestamp, headers: record.headers });
      },
      { keyChanged: false, keySerde: this.keySerde, valueSerde: null },
    );
  }

  selectKey<KR>(mapper: (key: K, value: V) => KR): KStream<KR, V> {
    return this.stateless<KR, V>(
      'KSTREAM-KEY-SELECT-',
      (record, context) => context.forward({ key: mapper(record.key, record.value), value: record.value, timestamp: record.timestamp, headers: record.headers }),
      { keyChanged: true, keySerde: null, valueSerde: this.valueSerde },
    );
  }

  peek(action: (key: K, value: V) => void): KStream<K, V> {
    return this.stateless('KSTREAM-PEEK-', (record, context) => {
      action(record.key, record.value);
      context.forward(record);
    });
  }

  foreach(action: (key: K, value: V) => void): void {
    this.stateless('KSTREAM-FOREACH-', (record) => action(record.key, record.value));
  }

  /**
   * Kafka's split(): records go to the first branch whose predicate holds, else to the default
   * branch (or nowhere). The branches are named `<split name><n>` (from 1), the default `<split name>0`.
   */
  split(options: { name?: string } = {}): BranchedKStream<K, V> {
    return new BranchedKStream(this, options.name);
  }

  /** Kafka's deprecated branch(...predicates): one stream per predicate, each record to the first that holds. */
  branch(...predicates: Predicate<K, V>[]): KStream<K, V>[] {
    if (predicates.length === 0) throw new TopologyError('branch needs at least one predicate');
    const branchName = this.builder.newName('KSTREAM-BRANCH-');
    const childNames = predicates.map(() => this.builder.newName('KSTREAM-BRANCHCHILD-'));
    this.builder.topology.addProcessor(branchName, branchProcessor(predicates, childNames), this.nodeName);
    return childNames.map((childName) => {
      this.builder.topology.addProcessor(childName, passThrough(), branchName);
      return this.derive(childName);
    });
  }

  merge(other: KStream<K, V>): KStream<K, V> {
    if (other.builder !== this.builder) throw new TopologyError('merge needs two streams of the same StreamsBuilder');
    const name = this.builder.newName('KSTREAM-MERGE-');
    this.builder.topology.addProcessor(name, passThrough(), this.nodeName, other.nodeName);
    return new KStream<K, V>(
      this.builder,
      name,
      this.keySerde ?? other.keySerde,
      this.valueSerde ?? other.valueSerde,
      this.repartitionRequired || other.repartitionRequired,
      [...this.sourceTopics, ...other.sourceTopics],
    );
  }

  /** Writes to `topic`, or to the topic `extractor` picks for each record. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = {}): void {
    const name = this.builder.newName('KSTREAM-SINK-');
    this.builder.topology.addSink(
      name,
      topic,
      { keySerde: produced.keySerde ?? this.keySerde ?? undefined, valueSerde: produced.valueSerde ?? this.valueSerde ?? undefined },
      this.nodeName,
    );
  }

  /** Kafka's deprecated through(topic): to(topic), then a stream read back from it (the topic must exist). */
  through(topic: string, produced: Produced<K, V> = {}): KStream<K, V> {
    this.to(topic, produced);
    return this.builder.stream<K, V>(topic, { keySerde: produced.keySerde ?? this.keySerde ?? undefined, valueSerde: produced.valueSerde ?? this.valueSerde ?? undefined });
  }

  /**
   * Writes through a topic the application creates, `<applicationId>-<name>-repartition`, and
   * reads it back: the records spread over its partitions by their current key.
   */
  repartition(repartitioned: Repartitioned<K, V> = {}): KStream<K, V> {
    const prefix = repartitioned.name ?? this.builder.newName('KSTREAM-REPARTITION-');
    const keySerde = repartitioned.keySerde ?? this.keySerde;
    const valueSerde = repartitioned.valueSerde ?? this.valueSerde;
    const sourceName = this.builder.repartitionThrough(this.nodeName, prefix, keySerde, valueSerde);
    if (repartitioned.numberOfPartitions !== undefined) {
      if (!Number.isSafeInteger(repartitioned.numberOfPartitions) || repartitioned.numberOfPartitions < 1) {
        throw new TopologyError(`numberOfPartitions must be a positive integer, not ${repartitioned.numberOfPartitions}`);
      }
      this.builder.topology.setRepartitionPartitions(`${prefix}${REPARTITION_SUFFIX}`, repartitioned.numberOfPartitions);
    }
    const topic = (this.builder.topology.node(sourceName) as { topics: string[] }).topics[0];
    return new KStream<K, V>(this.builder, sourceName, keySerde, valueSerde, false, [topic]);
  }

  /** The Processor API inside the DSL: `storeNames` are stores added with builder.addStateStore. */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...storeNames: string[]): KStream<KR, VR> {
    const name = this.builder.newName('KSTREAM-PROCESSOR-');
    this.builder.topology.addProcessor(name, supplier, this.nodeName);
    if (storeNames.length > 0) this.builder.topology.connectProcessorAndStateStores([name], storeNames);
    return new KStream<KR, VR>(this.builder, name, null, null, true, this.sourceTopics);
  }

  /**
   * Joins with another stream within a time window (JoinWindows), with a table (its current value
   * per key), or with a global table (through `keySelector`). Both sides of a stream or table join
   * must be co-partitioned; a side whose key changed is repartitioned first.
   */
  join<VO, VR>(other: KStream<K, VO>, joiner: (value: V, otherValue: VO) => VR, windows: JoinWindows, joined?: StreamJoined<K, V, VO>): KStream<K, VR>;
  join<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT) => VR): KStream<K, VR>;
  join<KG, VG, VR>(table: GlobalKTable<KG, VG>, keySelector: (key: K, value: V) => KG, joiner: (value: V, tableValue: VG) => VR): KStream<K, VR>;
  join(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, unknown> {
    return this.joinAny('inner', other, a, b, c);
  }

  leftJoin<VO, VR>(other: KStream<K, VO>, joiner: (value: V, otherValue: VO | null) => VR, windows: JoinWindows, joined?: StreamJoined<K, V, VO>): KStream<K, VR>;
  leftJoin<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | null) => VR): KStream<K, VR>;
  leftJoin<KG, VG, VR>(table: GlobalKTable<KG, VG>, keySelector: (key: K, value: V) => KG, joiner: (value: V, tableValue: VG | null) => VR): KStream<K, VR>;
  leftJoin(other: unknown, a: unknown, b?: unknown, c?: unknown): KStream<K, unknown> {
    return this.joinAny('left', other, a, b, c);
  }

  outerJoin<VO, VR>(other: KStream<K, VO>, joiner: (value: V | null, otherValue: VO | null) => VR, windows: JoinWindows, joined?: StreamJoined<K, V, VO>): KStream<K, VR> {
    return this.streamStreamJoin('outer', other, joiner as (l: unknown, r: unknown) => VR, windows, joined ?? {}) as KStream<K, VR>;
  }

  private joinAny(kind: 'inner' | 'left', other: unknown, a: unknown, b: unknown, c: unknown): KStream<K, unknown> {
    if (other instanceof KStream) {
      if (!(b instanceof JoinWindows)) throw new TopologyError('a stream-stream join needs JoinWindows: join(other, joiner, JoinWindows.ofTimeDifferenceAndGrace(...))');
      return this.streamStreamJoin(kind, other, a as (l: unknown, r: unknown) => unknown, b, (c ?? {}) as StreamJoined<K, V, unknown>);
    }
    if (other instanceof KTable) return this.streamTableJoin(kind, other, a as (v: V, t: unknown) => unknown);
    if (other instanceof GlobalKTable) return this.streamGlobalJoin(kind, other, a as (k: K, v: V) => unknown, b as (v: V, t: unknown) => unknown);
    throw new TopologyError('join takes a KStream (with JoinWindows), a KTable or a GlobalKTable');
  }

  /** This stream, repartitioned first when its key changed (a join needs it keyed as the other side). */
  private keyed(): KStream<K, V> {
    if (!this.repartitionRequired) return this;
    return this.repartition({ name: this.builder.newName('KSTREAM-REPARTITION-'), keySerde: this.keySerde ?? undefined, valueSerde: this.valueSerde ?? undefined });
  }

  private streamStreamJoin<VO, VR>(
    kind: 'inner' | 'left' | 'outer',
    otherStream: KStream<K, VO>,
    joiner: (value: unknown, otherValue: unknown) => VR,
    windows: JoinWindows,
    joined: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    if (otherStream.builder !== this.builder) throw new TopologyError('a join needs two streams of the same StreamsBuilder');
    const left = this.keyed();
    const right = otherStream.keyed();
    const builder = this.builder;
    const prefix = kind === 'outer' ? ['KSTREAM-OUTERTHIS-', 'KSTREAM-OUTEROTHER-'] : kind === 'left' ? ['KSTREAM-JOINTHIS-', 'KSTREAM-OUTEROTHER-'] : ['KSTREAM-JOINTHIS-', 'KSTREAM-JOINOTHER-'];
    const thisName = builder.newName(prefix[0]);
    const otherName = builder.newName(prefix[1]);
    const thisStore = joined.storeName === undefined ? `${thisName}-store` : `${joined.storeName}-this-join-store`;
    const otherStore = joined.storeName === undefined ? `${otherName}-store` : `${joined.storeName}-other-join-store`;
    const pendingStore = kind === 'inner' ? null : `${builder.newName('KSTREAM-OUTERSHARED-')}-store`;
    const keySerde = joined.keySerde ?? left.keySerde ?? right.keySerde ?? DEFAULT_SERDE;
    const shared = streamJoinShared();
    const common = { pendingStore, emitUnmatchedThis: kind !== 'inner', emitUnmatchedOther: kind === 'outer', joiner, onDropped: (reason: string) => builder.drops.dropped(reason) };
    builder.topology.addProcessor(thisName, streamJoinProcessor(windows, { ...common, thisStore, otherStore, isLeft: true }, shared), left.nodeName);
    builder.topology.addProcessor(otherName, streamJoinProcessor(windows, { ...common, thisStore: otherStore, otherStore: thisStore, isLeft: false }, shared), right.nodeName);
    const storeKeySerde = windowedStoreSerde(keySerde as Serde<unknown>);
    builder.topology.addStateStore({ ...builder.storeDefinition(thisStore, {}, storeKeySerde, joined.valueSerde ?? left.valueSerde), type: 'window' }, thisName, otherName);
    builder.topology.addStateStore({ ...builder.storeDefinition(otherStore, {}, storeKeySerde, joined.otherValueSerde ?? right.valueSerde), type: 'window' }, thisName, otherName);
    if (pendingStore !== null) builder.topology.addStateStore(builder.storeDefinition(pendingStore, {}, storeKeySerde, null), thisName, otherName);
    builder.topology.addCopartitionGroup([...left.sourceTopics, ...right.sourceTopics]);
    const mergeName = builder.newName('KSTREAM-MERGE-');
    builder.topology.addProcessor(mergeName, passThrough(), thisName, otherName);
    return new KStream<K, VR>(builder, mergeName, left.keySerde, null, false, [...left.sourceTopics, ...right.sourceTopics]);
  }

  private streamTableJoin<VT, VR>(kind: 'inner' | 'left', table: KTable<K, VT>, joiner: (value: V, tableValue: VT | null) => VR): KStream<K, VR> {
    const stream = this.keyed();
    const name = this.builder.newName(kind === 'left' ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-');
    this.builder.topology.addProcessor(
      name,
      streamTableJoinProcessor<K, V, K, VT, VR>(table.valueGetter, (key) => key, (value, tableValue) => joiner(value, tableValue), kind === 'left', (reason) => this.builder.drops.dropped(reason)),
      stream.nodeName,
    );
    this.builder.topology.connectProcessorAndStateStores([name], table.getterStores);
    this.builder.topology.addCopartitionGroup([...stream.sourceTopics, ...table.sourceTopics]);
    return new KStream<K, VR>(this.builder, name, stream.keySerde, null, false, stream.sourceTopics);
  }

  private streamGlobalJoin<KG, VG, VR>(kind: 'inner' | 'left', table: GlobalKTable<KG, VG>, keySelector: (key: K, value: V) => KG, joiner: (value: V, tableValue: VG | null) => VR): KStream<K, VR> {
    if (typeof keySelector !== 'function' || typeof joiner !== 'function') throw new TopologyError('a global table join takes (globalTable, keySelector, joiner)');
    const name = this.builder.newName(kind === 'left' ? 'KSTREAM-LEFTJOIN-' : 'KSTREAM-JOIN-');
    this.builder.topology.addProcessor(
      name,
      streamTableJoinProcessor<K, V, KG, VG, VR>(table.valueGetter(), keySelector, (value, tableValue) => joiner(value, tableValue), kind === 'left', (reason) => this.builder.drops.dropped(reason)),
      this.nodeName,
    );
    this.builder.topology.connectProcessorAndStateStores([name], [table.queryableStoreName]);
    return new KStream<K, VR>(this.builder, name, this.keySerde, null, this.repartitionRequired, this.sourceTopics);
  }

  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this, grouped.keySerde ?? this.keySerde, grouped.valueSerde ?? this.valueSerde, grouped.name ?? null, this.repartitionRequired);
  }

  groupBy<KR>(selector: (key: K, value: V) => KR, grouped: Grouped<KR, V> = {}): KGroupedStream<KR, V> {
    const selected = this.selectKey(selector);
    return new KGroupedStream<KR, V>(selected, grouped.keySerde ?? null, grouped.valueSerde ?? this.valueSerde, grouped.name ?? null, true);
  }

  /** @internal */
  derive(nodeName: string): KStream<K, V> {
    return new KStream<K, V>(this.builder, nodeName, this.keySerde, this.valueSerde, this.repartitionRequired, this.sourceTopics);
  }

  private stateless<KR = K, VR = V>(
    prefix: string,
    step: (record: { key: K; value: V; timestamp: number; headers: Record<string, Buffer | Buffer[] | null> }, context: ProcessorContext<KR, VR>) => void,
    change: { keyChanged: boolean; keySerde: Serde<KR> | null; valueSerde: Serde<VR> | null } | null = null,
  ): KStream<KR, VR> {
    const name = this.builder.newName(prefix);
    this.builder.topology.addProcessor(name, statelessProcessor(step), this.nodeName);
    if (change === null) return this.derive(name) as unknown as KStream<KR, VR>;
    return new KStream<KR, VR>(this.builder, name, change.keySerde, change.valueSerde, this.repartitionRequired || change.keyChanged, this.sourceTopics);
  }
}

function passThrough(): ProcessorSupplier<unknown, unknown, unknown, unknown> {
  return statelessProcessor((record, context) => context.forward(record));
}

function branchProcessor<K, V>(predicates: Predicate<K, V>[], childNames: string[], defaultChild: string | null = null): ProcessorSupplier<K, V, K, V> {
  return statelessProcessor<K, V, K, V>((record, context) => {
    for (let i = 0; i < predicates.length; i++) {
      if (predicates[i](record.key, record.value)) {
        context.forward(record, childNames[i]);
        return;
      }
    }
    if (defaultChild !== null) context.forward(record, defaultChild);
  });
}

/** Kafka's BranchedKStream: branch(predicate, { name }), then defaultBranch() or noDefaultBranch(). */
export class BranchedKStream<K, V> {
  private readonly splitterName: string;
  private readonly predicates: Predicate<K, V>[] = [];
  private readonly childNames: string[] = [];
  private readonly branches = new Map<string, KStream<K, V>>();
  private defaultChild: string | null = null;

  constructor(
    private readonly parent: KStream<K, V>,
    name: string | undefined,
  ) {
    this.splitterName = name ?? parent.builder.newName('KSTREAM-BRANCH-');
    // The predicate list is read when records flow, so branches added later take part.
    parent.builder.topology.addProcessor(this.splitterName, () => branchProcessor(this.predicates, this.childNames, this.defaultChild)(), parent.nodeName);
  }

  branch(predicate: Predicate<K, V>, branched: { name?: string } = {}): this {
    this.addBranch(branched.name ?? String(this.predicates.length + 1));
    this.predicates.push(predicate);
    return this;
  }

  defaultBranch(branched: { name?: string } = {}): Map<string, KStream<K, V>> {
    this.defaultChild = this.addBranch(branched.name ?? '0');
    return this.branches;
  }

  noDefaultBranch(): Map<string, KStream<K, V>> {
    return this.branches;
  }

  private addBranch(suffix: string): string {
    const childName = this.splitterName + suffix;
    this.parent.builder.topology.addProcessor(childName, passThrough(), this.splitterName);
    this.childNames.push(childName);
    this.branches.set(childName, this.parent.derive(childName));
    return childName;
  }
}

export class KGroupedStream<K, V> {
  /** @internal */
  constructor(
    readonly stream: KStream<any, V>,
    readonly keySerde: Serde<K> | null,
    readonly valueSerde: Serde<V> | null,
    readonly repartitionName: string | null,
    readonly repartitionRequired: boolean,
  ) {}

  count(materialized?: Materialized<K, number> | string): KTable<K, number> {
    const options = materializedOf(materialized);
    return this.aggregateWith<number>('KSTREAM-AGGREGATE-', { ...options, valueSerde: options.valueSerde ?? Serdes.Long() }, (storeName, drops) =>
      aggregateProcessor<K, V, number>(storeName, () => 0, (_key, _value, count) => count + 1, () => drops.dropped('null key or value')),
    );
  }

  reduce(reducer: (aggregate: V, value: V) => V, materialized?: Materialized<K, V> | string): KTable<K, V> {
    const options = materializedOf(materialized);
    return this.aggregateWith<V>('KSTREAM-REDUCE-', { ...options, valueSerde: options.valueSerde ?? this.valueSerde ?? undefined }, (storeName, drops) =>
      reduceProcessor<K, V>(storeName, reducer, () => drops.dropped('null key or value')),
    );
  }

  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, aggregate: A) => A, materialized?: Materialized<K, A> | string): KTable<K, A> {
    return this.aggregateWith<A>('KSTREAM-AGGREGATE-', materializedOf(materialized), (storeName, drops) =>
      aggregateProcessor<K, V, A>(storeName, initializer, aggregator, () => drops.dropped('null key or value')),
    );
  }

  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows | SlidingWindows | SessionWindows): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof SessionWindows) return new SessionWindowedKStream(this, windows);
    if (windows instanceof TimeWindows || windows instanceof SlidingWindows) return new TimeWindowedKStream(this, windows);
    throw new TopologyError('windowedBy takes TimeWindows, SlidingWindows or SessionWindows');
  }

  /**
   * @internal The parent node of an aggregation: the stream itself, or the source reading the
   * repartition topic (named after `storeName`) when the key may have changed.
   */
  aggregationParent(storeName: string, keySerde: Serde<K> | null): { parentName: string; sourceTopics: string[] } {
    const builder = this.stream.builder;
    if (!this.repartitionRequired) return { parentName: this.stream.nodeName, sourceTopics: this.stream.sourceTopics };
    const parentName = builder.repartitionThrough(this.stream.nodeName, this.repartitionName ?? storeName, keySerde, this.valueSerde);
    return { parentName, sourceTopics: [...(builder.topology.node(parentName) as { topics: string[] }).topics] };
  }

  /** Kafka's GroupedStreamAggregateBuilder.build: the store's name first, then the processor's, then the repartition. */
  private aggregateWith<A>(prefix: string, materialized: Materialized<K, A>, makeProcessor: (storeName: string, drops: DropCounter) => ProcessorSupplier<K, V, K, Change<A>>): KTable<K, A> {
    const builder = this.stream.builder;
    const storeName = materialized.storeName ?? builder.newStoreName(prefix);
    const name = builder.newName(prefix);
    const keySerde = materialized.keySerde ?? this.keySerde;
    const { parentName, sourceTopics } = this.aggregationParent(storeName, keySerde);
    builder.topology.addProcessor(name, makeProcessor(storeName, builder.drops), parentName);
    builder.topology.addStateStore(builder.cachedStoreDefinition(storeName, materialized, keySerde, materialized.valueSerde ?? null), name);
    return new KTable<K, A>(builder, name, keySerde, materialized.valueSerde ?? null, storeName, storeGetter(storeName), [storeName], sourceTopics);
  }
}

export class KTable<K, V> {
  /** @internal */
  constructor(
    readonly builder: StreamsBuilder,
    readonly nodeName: string,
    readonly keySerde: Serde<K> | null,
    readonly valueSerde: Serde<V> | null,
    /** The store to query it by (streams.store(name)), when it is materialized. */
    readonly queryableStoreName: string | null,
    /** @internal */
    readonly valueGetter: ValueGetterSupplier<K, V>,
    /** @internal The stores the value getter reads. */
    readonly getterStores: string[],
    readonly sourceTopics: string[],
    /** @internal A windowed aggregation's grace period (what suppress(untilWindowCloses) waits for). */
    readonly windowGraceMs: number | null = null,
  ) {}

  /**
   * Kafka's suppress(Suppressed.untilWindowCloses(...)): of a windowed aggregation, only each
   * window's final result, once stream time passes the window's end plus its grace period.
   */
  suppress(suppressed: Suppressed): KTable<K, V> {
    if (suppressed?.kind !== 'untilWindowCloses') throw new TopologyError('suppress takes Suppressed.untilWindowCloses()');
    if (this.windowGraceMs === null) throw new TopologyError('suppress(untilWindowCloses) applies to a windowed aggregation (windowedBy(...).count/reduce/aggregate)');
    const name = suppressed.name ?? this.builder.newName('KTABLE-SUPPRESS-');
    const storeName = `${name}-store`;
    this.builder.topology.addProcessor(name, suppressProcessor(storeName, this.windowGraceMs) as ProcessorSupplier<any, any, any, any>, this.nodeName);
    const keySerde = (this.keySerde as { inner?: Serde<unknown> } | null)?.inner ?? DEFAULT_SERDE;
    this.builder.topology.addStateStore(
      { name: storeName, persistent: false, logging: true, keySerde: windowedStoreSerde(keySerde), valueSerde: this.valueSerde ?? DEFAULT_SERDE },
      name,
    );
    return new KTable<K, V>(this.builder, name, this.keySerde, this.valueSerde, null, this.valueGetter, this.getterStores, this.sourceTopics, this.windowGraceMs);
  }

  /**
   * Joins with another table on the key (both co-partitioned), or, given a foreign-key extractor,
   * each row with the other table's row whose key the extractor picks from the value (KIP-213).
   */
  join<VO, VR>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO) => VR): KTable<K, VR>;
  join<KO, VO, VR>(other: KTable<KO, VO>, foreignKeyExtractor: (value: V) => KO, joiner: (value: V, otherValue: VO) => VR): KTable<K, VR>;
  join(other: KTable<any, any>, a: (...args: any[]) => unknown, b?: (value: V, otherValue: unknown) => unknown): KTable<K, unknown> {
    return b === undefined ? this.tableTableJoin('inner', other, a as (v: unknown, o: unknown) => unknown) : this.foreignKeyJoin(false, other, a as (v: V) => unknown, b);
  }

  leftJoin<VO, VR>(other: KTable<K, VO>, joiner: (value: V, otherValue: VO | null) => VR): KTable<K, VR>;
  leftJoin<KO, VO, VR>(other: KTable<KO, VO>, foreignKeyExtractor: (value: V) => KO, joiner: (value: V, otherValue: VO | null) => VR): KTable<K, VR>;
  leftJoin(other: KTable<any, any>, a: (...args: any[]) => unknown, b?: (value: V, otherValue: unknown) => unknown): KTable<K, unknown> {
    return b === undefined ? this.tableTableJoin('left', other, a as (v: unknown, o: unknown) => unknown) : this.foreignKeyJoin(true, other, a as (v: V) => unknown, b);
  }

  outerJoin<VO, VR>(other: KTable<K, VO>, joiner: (value: V | null, otherValue: VO | null) => VR): KTable<K, VR> {
    return this.tableTableJoin('outer', other as KTable<K, any>, joiner as (v: unknown, o: unknown) => unknown) as KTable<K, VR>;
  }

  private tableTableJoin(kind: 'inner' | 'left' | 'outer', other: KTable<K, unknown>, joiner: (value: unknown, otherValue: unknown) => unknown): KTable<K, unknown> {
    if (other.builder !== this.builder) throw new TopologyError('a join needs two tables of the same StreamsBuilder');
    const builder = this.builder;
    const prefix = kind === 'outer' ? ['KTABLE-OUTERTHIS-', 'KTABLE-OUTEROTHER-'] : kind === 'left' ? ['KTABLE-LEFTTHIS-', 'KTABLE-LEFTOTHER-'] : ['KTABLE-JOINTHIS-', 'KTABLE-JOINOTHER-'];
    const thisName = builder.newName(prefix[0]);
    const otherName = builder.newName(prefix[1]);
    const leftKeeps = kind !== 'inner';
    const rightKeeps = kind === 'outer';
    builder.topology.addProcessor(thisName, tableTableJoinProcessor(other.valueGetter, joiner, leftKeeps, rightKeeps), this.nodeName);
    builder.topology.addProcessor(otherName, tableTableJoinProcessor(this.valueGetter, (o, t) => joiner(t, o), rightKeeps, leftKeeps), other.nodeName);
    builder.topology.connectProcessorAndStateStores([thisName], other.getterStores);
    builder.topology.connectProcessorAndStateStores([otherName], this.getterStores);
    builder.topology.addCopartitionGroup([...this.sourceTopics, ...other.sourceTopics]);
    const mergeName = builder.newName('KTABLE-MERGE-');
    builder.topology.addProcessor(mergeName, passThrough(), thisName, otherName);
    const thisGetter = this.valueGetter;
    const otherGetter = other.valueGetter;
    const getter: ValueGetterSupplier<K, unknown> = (context) => {
      const getThis = thisGetter(context);
      const getOther = otherGetter(context);
      return (key) => {
        const value = getThis(key);
        const otherValue = getOther(key);
        if (value === null && otherValue === null) return null;
        if ((otherValue === null && !leftKeeps) || (value === null && !rightKeeps)) return null;
        return joiner(value, otherValue);
      };
    };
    return new KTable<K, unknown>(builder, mergeName, this.keySerde, null, null, getter, [...this.getterStores, ...other.getterStores], [...this.sourceTopics, ...other.sourceTopics]);
  }

  private foreignKeyJoin<KO>(left: boolean, other: KTable<KO, unknown>, foreignKeyOf: (value: V) => KO, joiner: (value: V, otherValue: unknown) => unknown): KTable<K, unknown> {
    if (this.keySerde === null || other.keySerde === null) {
      throw new TopologyError('a foreign-key join needs the key serdes of both tables (builder.table(topic, { keySerde })): its internal topics are partitioned by those key bytes');
    }
    const builder = this.builder;
    const keySerde = this.keySerde;
    const foreignKeySerde = other.keySerde;
    const encodeKey = (key: K): string => keySerde.serialize(key).toString('base64');
    const decodeKey = (primaryKey: string): K => keySerde.deserialize(Buffer.from(primaryKey, 'base64'));
    const encodeForeignKey = (key: KO): string => foreignKeySerde.serialize(key).toString('base64');
    const registration = builder.newName('KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-');
    const registrationTopic = `${registration}-topic`;
    const subscriptionStore = builder.newStoreName('KTABLE-FK-JOIN-SUBSCRIPTION-');
    const receiver = builder.newName('KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-');
    const responder = builder.newName('KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-');
    const response = builder.newName('KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-');
    const responseTopic = `${response}-topic`;
    const resultName = builder.newName('KTABLE-FK-JOIN-OUTPUT-');
    const resultStore = `${resultName}-store`;
    const topology = builder.topology;
    // The left side: each row (un)subscribes to its foreign key through the registration topic.
    topology.addProcessor(registration, subscriptionSender(foreignKeyOf, encodeKey), this.nodeName);
    topology.addSink(`${registration}-sink`, registrationTopic, { keySerde: foreignKeySerde, valueSerde: internalSerde }, registration);
    topology.addRepartitionTopic(registrationTopic);
    topology.addSourceNode(`${registration}-source`, [registrationTopic], { keySerde: foreignKeySerde, valueSerde: internalSerde }, false);
    // The right side: subscriptions and right-row changes answer through the response topic.
    topology.addProcessor(receiver, subscriptionReceiver(subscriptionStore, other.valueGetter, encodeForeignKey, decodeKey), `${registration}-source`);
    topology.addProcessor(responder, rightChangeResponder(subscriptionStore, encodeForeignKey, decodeKey), other.nodeName);
    topology.addStateStore({ name: subscriptionStore, persistent: true, logging: true, keySerde: Serdes.String(), valueSerde: internalSerde }, receiver, responder);
    topology.connectProcessorAndStateStores([receiver], other.getterStores);
    topology.addSink(`${response}-sink`, responseTopic, { keySerde, valueSerde: internalSerde }, receiver, responder);
    topology.addRepartitionTopic(responseTopic);
    topology.addSourceNode(`${response}-source`, [responseTopic], { keySerde, valueSerde: internalSerde }, false);
    // The left side again: each answer joined with the row's current value.
    topology.addProcessor(resultName, responseJoiner(this.valueGetter, resultStore, foreignKeyOf, encodeForeignKey, joiner, left), `${response}-source`);
    topology.addStateStore({ name: resultStore, persistent: true, logging: true, keySerde, valueSerde: internalSerde }, resultName);
    topology.connectProcessorAndStateStores([resultName], this.getterStores);
    topology.addCopartitionGroup([registrationTopic, ...other.sourceTopics]);
    topology.addCopartitionGroup([responseTopic, ...this.sourceTopics]);
    return new KTable<K, unknown>(builder, resultName, keySerde, null, resultStore, storeGetter(resultStore), [resultStore], this.sourceTopics);
  }

  filter(predicate: Predicate<K, V>): KTable<K, V> {
    const keep = (key: K, value: V | null): V | null => (value !== null && predicate(key, value) ? value : null);
    return this.derive('KTABLE-FILTER-', keep, this.valueSerde);
  }

  filterNot(predicate: Predicate<K, V>): KTable<K, V> {
    return this.filter((key, value) => !predicate(key, value));
  }

  mapValues<VR>(mapper: (value: V, key: K) => VR): KTable<K, VR> {
    return this.derive<VR>('KTABLE-MAPVALUES-', (key, value) => (value === null ? null : mapper(value, key)), null);
  }

  /** The table's changes as a stream of (key, new value); a deletion is a null value. */
  toStream(): KStream<K, V | null> {
    const name = this.builder.newName('KTABLE-TOSTREAM-');
    this.builder.topology.addProcessor(
      name,
      statelessProcessor<K, Change<V>, K, V | null>((record, context) =>
        context.forward({ key: record.key, value: record.value.newValue, timestamp: record.timestamp, headers: record.headers }),
      ),
      this.nodeName,
    );
    return new KStream<K, V | null>(this.builder, name, this.keySerde, this.valueSerde as Serde<V | null> | null, false, this.sourceTopics);
  }

  /**
   * Re-keys the table (Kafka's KTable.groupBy): each change retracts the old row's (key, value)
   * from its group and adds the new one's, through a repartition topic.
   */
  groupBy<KR, VR>(selector: (key: K, value: V) => KeyValue<KR, VR>, grouped: Grouped<KR, VR> = {}): KGroupedTable<KR, VR> {
    const name = this.builder.newName('KTABLE-SELECT-');
    this.builder.topology.addProcessor(
      name,
      statelessProcessor<K, Change<V>, KR, Change<VR>>((record, context) => {
        const { oldValue, newValue } = record.value;
        if (oldValue !== null) {
          const [key, value] = selector(record.key, oldValue);
          context.forward({ key, value: { newValue: null, oldValue: value }, timestamp: record.timestamp, headers: record.headers });
        }
        if (newValue !== null) {
          const [key, value] = selector(record.key, newValue);
          context.forward({ key, value: { newValue: value, oldValue: null }, timestamp: record.timestamp, headers: record.headers });
        }
      }),
      this.nodeName,
    );
    return new KGroupedTable<KR, VR>(this.builder, name, grouped.keySerde ?? null, grouped.valueSerde ?? null, grouped.name ?? null);
  }

  private derive<VR>(prefix: string, apply: (key: K, value: V | null) => VR | null, valueSerde: Serde<VR> | null): KTable<K, VR> {
    const name = this.builder.newName(prefix);
    this.builder.topology.addProcessor(
      name,
      statelessProcessor<K, Change<V>, K, Change<VR>>((record, context) => {
        const newValue = apply(record.key, record.value.newValue);
        const oldValue = apply(record.key, record.value.oldValue);
        if (newValue === null && oldValue === null) return;
        context.forward({ key: record.key, value: { newValue, oldValue }, timestamp: record.timestamp, headers: record.headers });
      }),
      this.nodeName,
    );
    const parentGetter = this.valueGetter;
    const getter: ValueGetterSupplier<K, VR> = (context) => {
      const get = parentGetter(context);
      return (key) => apply(key, get(key));
    };
    return new KTable<K, VR>(this.builder, name, this.keySerde, valueSerde, null, getter, this.getterStores, this.sourceTopics);
  }
}

export class KGroupedTable<K, V> {
  /** @internal */
  constructor(
    private readonly builder: StreamsBuilder,
    private readonly selectName: string,
    private readonly keySerde: Serde<K> | null,
    private readonly valueSerde: Serde<V> | null,
    private readonly repartitionName: string | null,
  ) {}

  count(materialized?: Materialized<K, number> | string): KTable<K, number> {
    const options = materializedOf(materialized);
    return this.aggregateWith<number>('KTABLE-AGGREGATE-', { ...options, valueSerde: options.valueSerde ?? Serdes.Long() }, () => 0, (_k, _v, count) => count + 1, (_k, _v, count) => count - 1);
  }

  reduce(adder: (aggregate: V, value: V) => V, subtractor: (aggregate: V, value: V) => V, materialized?: Materialized<K, V> | string): KTable<K, V> {
    const options = materializedOf(materialized);
    // A reduce starts from nothing: the first value is the aggregate (null means none yet).
    return this.aggregateWith<V>(
      'KTABLE-REDUCE-',
      { ...options, valueSerde: options.valueSerde ?? this.valueSerde ?? undefined },
      () => null as V,
      (_key, value, aggregate) => (aggregate === null ? value : adder(aggregate, value)),
      (_key, value, aggregate) => subtractor(aggregate, value),
    );
  }

  aggregate<A>(
    initializer: () => A,
    adder: (key: K, value: V, aggregate: A) => A,
    subtractor: (key: K, value: V, aggregate: A) => A,
    materialized?: Materialized<K, A> | string,
  ): KTable<K, A> {
    return this.aggregateWith<A>('KTABLE-AGGREGATE-', materializedOf(materialized), initializer, adder, subtractor);
  }

  private aggregateWith<A>(
    prefix: string,
    materialized: Materialized<K, A>,
    initializer: () => A,
    adder: (key: K, value: V, aggregate: A) => A,
    subtractor: (key: K, value: V, aggregate: A) => A,
  ): KTable<K, A> {
    const storeName = materialized.storeName ?? this.builder.newStoreName(prefix);
    const name = this.builder.newName(prefix);
    const keySerde = materialized.keySerde ?? this.keySerde;
    const valueSerde = this.valueSerde ?? DEFAULT_SERDE;
    const sourceName = this.builder.repartitionThrough(this.selectName, this.repartitionName ?? storeName, keySerde, changeSerde(valueSerde as Serde<V>));
    this.builder.topology.addProcessor(name, tableAggregateProcessor<K, V, A>(storeName, initializer, adder, subtractor), sourceName);
    this.builder.topology.addStateStore(this.builder.cachedStoreDefinition(storeName, materialized, keySerde, materialized.valueSerde ?? null), name);
    const topics = (this.builder.topology.node(sourceName) as { topics: string[] }).topics;
    return new KTable<K, A>(this.builder, name, keySerde, materialized.valueSerde ?? null, storeName, storeGetter(storeName), [storeName], [...topics]);
  }
}

/** A table held in full on every instance (builder.globalTable); join a KStream to it with a key mapper. */
export class GlobalKTable<K, V> {
  constructor(
    readonly queryableStoreName: string,
    readonly topic: string,
  ) {}

  /** @internal */
  valueGetter(): ValueGetterSupplier<K, V> {
    return storeGetter<K, V>(this.queryableStoreName);
  }
}

/** Kafka's Suppressed: untilWindowCloses is the one kind (the buffer is unbounded, kept in a changelogged store). */
export interface Suppressed {
  readonly kind: 'untilWindowCloses';
  readonly name?: string;
}

export const Suppressed = Object.freeze({
  untilWindowCloses: (options: { name?: string } = {}): Suppressed => ({ kind: 'untilWindowCloses', ...options }),
});

/** A windowed key's serde that also tells suppress which key serde it wraps. */
function withInner<K>(serde: Serde<Windowed<K>>, inner: Serde<K>): Serde<Windowed<K>> {
  return Object.assign(Object.create(serde) as Serde<Windowed<K>>, serde, { inner });
}

/** Kafka's TimeWindowedKStream (TimeWindows or SlidingWindows): aggregations per key and window. */
export class TimeWindowedKStream<K, V> {
  /** @internal */
  constructor(
    private readonly grouped: KGroupedStream<K, V>,
    private readonly windows: TimeWindows | SlidingWindows,
  ) {}

  count(materialized?: Materialized<K, number> | string): KTable<Windowed<K>, number> {
    const options = materializedOf(materialized);
    return this.aggregateWith<number>({ ...options, valueSerde: options.valueSerde ?? Serdes.Long() }, () => 0, (_key, _value, count) => count + 1);
  }

  reduce(reducer: (aggregate: V, value: V) => V, materialized?: Materialized<K, V> | string): KTable<Windowed<K>, V> {
    const options = materializedOf(materialized);
    return this.aggregateWith<V>({ ...options, valueSerde: options.valueSerde ?? this.grouped.valueSerde ?? undefined }, () => null as V, (_key, value, aggregate) =>
      aggregate === null ? value : reducer(aggregate, value),
    );
  }

  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, aggregate: A) => A, materialized?: Materialized<K, A> | string): KTable<Windowed<K>, A> {
    return this.aggregateWith<A>(materializedOf(materialized), initializer, aggregator);
  }

  private aggregateWith<A>(materialized: Materialized<K, A>, initializer: () => A, aggregator: (key: K, value: V, aggregate: A) => A): KTable<Windowed<K>, A> {
    const builder = this.grouped.stream.builder;
    const storeName = materialized.storeName ?? builder.newStoreName('KSTREAM-AGGREGATE-');
    const name = builder.newName('KSTREAM-AGGREGATE-');
    const keySerde = (materialized.keySerde ?? this.grouped.keySerde ?? DEFAULT_SERDE) as Serde<K>;
    const { parentName, sourceTopics } = this.grouped.aggregationParent(storeName, keySerde);
    const aggregation = { storeName, initializer, aggregator, onDropped: (reason: string) => builder.drops.dropped(reason) };
    const windows = this.windows;
    const storeKeySerde = windowedStoreSerde(keySerde);
    let supplier: ProcessorSupplier<any, any, any, any>;
    const stores = [storeName];
    if (windows instanceof TimeWindows) {
      supplier = timeWindowAggregateProcessor(windows, aggregation);
    } else {
      const recordsStore = `${storeName}-records`;
      supplier = slidingWindowAggregateProcessor(windows, aggregation, recordsStore);
      stores.push(recordsStore);
    }
    builder.topology.addProcessor(name, supplier, parentName);
    const definition = { ...builder.storeDefinition(storeName, materialized, storeKeySerde, materialized.valueSerde ?? null), type: 'window' as const };
    builder.topology.addStateStore(definition, name);
    if (stores.length > 1) {
      builder.topology.addStateStore({ ...definition, name: stores[1], valueSerde: DEFAULT_SERDE }, name);
    }
    const sizeMs = windows instanceof TimeWindows ? windows.sizeMs : windows.timeDifferenceMs;
    const outputKeySerde = withInner(timeWindowedSerde(keySerde, sizeMs), keySerde);
    return new KTable<Windowed<K>, A>(builder, name, outputKeySerde, materialized.valueSerde ?? null, storeName, storeGetter(storeName), [storeName], sourceTopics, windows.graceMs);
  }
}

/** Kafka's SessionWindowedKStream: aggregations per key and session, merging sessions a record bridges. */
export class SessionWindowedKStream<K, V> {
  /** @internal */
  constructor(
    private readonly grouped: KGroupedStream<K, V>,
    private readonly windows: SessionWindows,
  ) {}

  count(materialized?: Materialized<K, number> | string): KTable<Windowed<K>, number> {
    const options = materializedOf(materialized);
    return this.aggregate<number>(() => 0, (_key, _value, count) => count + 1, (_key, a, b) => a + b, { ...options, valueSerde: options.valueSerde ?? Serdes.Long() });
  }

  reduce(reducer: (aggregate: V, value: V) => V, materialized?: Materialized<K, V> | string): KTable<Windowed<K>, V> {
    const options = materializedOf(materialized);
    const fold = (a: V | null, b: V | null): V => (a === null ? (b as V) : b === null ? a : reducer(a, b));
    return this.aggregate<V>(() => null as V, (_key, value, aggregate) => fold(aggregate, value), (_key, a, b) => fold(a, b), {
      ...options,
      valueSerde: options.valueSerde ?? this.grouped.valueSerde ?? undefined,
    });
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    merger: (key: K, left: A, right: A) => A,
    materialized?: Materialized<K, A> | string,
  ): KTable<Windowed<K>, A> {
    const options = materializedOf(materialized);
    const builder = this.grouped.stream.builder;
    const storeName = options.storeName ?? builder.newStoreName('KSTREAM-AGGREGATE-');
    const name = builder.newName('KSTREAM-AGGREGATE-');
    const keySerde = (options.keySerde ?? this.grouped.keySerde ?? DEFAULT_SERDE) as Serde<K>;
    const { parentName, sourceTopics } = this.grouped.aggregationParent(storeName, keySerde);
    builder.topology.addProcessor(
      name,
      sessionWindowAggregateProcessor(this.windows, { storeName, initializer, aggregator, merger, onDropped: (reason) => builder.drops.dropped(reason) }),
      parentName,
    );
    builder.topology.addStateStore({ ...builder.storeDefinition(storeName, options, windowedStoreSerde(keySerde), options.valueSerde ?? null), type: 'session' }, name);
    const outputKeySerde = withInner(sessionWindowedSerde(keySerde), keySerde);
    return new KTable<Windowed<K>, A>(builder, name, outputKeySerde, options.valueSerde ?? null, storeName, storeGetter(storeName), [storeName], sourceTopics, this.windows.graceMs);
  }
}
