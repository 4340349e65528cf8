/**
 * The processor graph, as Kafka Streams' Topology: source nodes read topics, processor nodes
 * transform, sink nodes write topics, and state stores are connected to the processors using
 * them. The DSL (StreamsBuilder) builds one of these; the Processor API can too (addSource,
 * addProcessor, addSink, addStateStore).
 *
 * Sub-topologies are the connected parts of the graph, processors sharing a store counting as
 * connected; a repartition topic (written by one sub-topology, read by another) is what splits
 * them. Each sub-topology runs as one task per partition of its source topics.
 * describe() prints the text Kafka Streams' TopologyDescription prints, node for node.
 */
import { TopologyError } from '../errors.js';
import type { ProcessorSupplier } from './processor.js';
import type { Serde } from './serdes.js';

/** Picks the topic of each record a sink writes (Kafka's TopicNameExtractor). */
export type TopicNameExtractor<K = unknown, V = unknown> = (key: K, value: V, context: { topic: string | null; partition: number }) => string;

export interface StoreDefinition {
  readonly name: string;
  /** On disk under stateDir (LMDB) rather than in memory; either way restored from its changelog. */
  readonly persistent: boolean;
  /** Backed by the compacted changelog topic `<applicationId>-<name>-changelog`. */
  readonly logging: boolean;
  readonly keySerde: Serde<any>;
  readonly valueSerde: Serde<any>;
  /**
   * Kafka's store types: a window store (windowed aggregations and stream-stream joins) or a
   * session store (session-windowed aggregations) holds its entries under windowed keys
   * (windowedStoreSerde) and is queried by key and time; absent, a key-value store.
   */
  readonly type?: 'window' | 'session';
  /** Updates go through the thread's record cache (statestore.cache.max.bytes; see cache.ts): the DSL's key-value aggregations and tables. */
  readonly caching?: boolean;
}

interface BaseNode {
  readonly name: string;
  readonly successors: string[];
  readonly predecessors: string[];
}

export interface SourceNode extends BaseNode {
  readonly type: 'source';
  readonly topics: string[];
  readonly keySerde: Serde<any> | null;
  readonly valueSerde: Serde<any> | null;
  /** Reading a global store's topic: every instance reads all partitions, no tasks. */
  readonly global: boolean;
}

export interface ProcessorNode extends BaseNode {
  readonly type: 'processor';
  readonly supplier: ProcessorSupplier<any, any, any, any>;
  readonly stores: string[];
}

export interface SinkNode extends BaseNode {
  readonly type: 'sink';
  readonly topic: string | TopicNameExtractor<any, any>;
  readonly keySerde: Serde<any> | null;
  readonly valueSerde: Serde<any> | null;
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

export interface Subtopology {
  readonly id: number;
  /** Node names in the order they were added (parents before children). */
  readonly nodes: string[];
  readonly sourceTopics: string[];
  readonly sinkTopics: string[];
  readonly stores: string[];
  /** A global store's sub-topology: runs on every instance over all partitions, no tasks. */
  readonly global: boolean;
}

export class Topology {
  private readonly nodeMap = new Map<string, TopologyNode>();
  private readonly storeMap = new Map<string, StoreDefinition>();
  private readonly topicToSource = new Map<string, string>();
  /** Topics this application owns, named without the `<applicationId>-` prefix they get at run time. */
  private readonly repartitionTopics = new Set<string>();
  private readonly repartitionPartitionCounts = new Map<string, number>();
  private readonly copartitionGroups: string[][] = [];
  private readonly globalStores = new Set<string>();
  private cachedSubtopologies: Subtopology[] | null = null;
  /** Records the DSL's processors dropped, by reason (KafkaStreams.metrics() reports them). */
  readonly droppedRecords = new Map<string, number>();

  /** @internal */
  dropped(reason: string): void {
    this.droppedRecords.set(reason, (this.droppedRecords.get(reason) ?? 0) + 1);
  }

  addSource(
    name: string,
    topics: string | string[],
    options: { keySerde?: Serde<any>; valueSerde?: Serde<any> } = {},
  ): this {
    return this.addSourceNode(name, Array.isArray(topics) ? topics : [topics], options, false);
  }

  addProcessor(name: string, supplier: ProcessorSupplier<any, any, any, any>, ...parentNames: string[]): this {
    if (typeof supplier !== 'function') throw new TopologyError(`processor ${name} needs a supplier function: () => processor`);
    if (parentNames.length === 0) throw new TopologyError(`processor ${name} must have at least one parent`);
    this.addNode({ type: 'processor', name, supplier, stores: [], successors: [], predecessors: [] }, parentNames);
    return this;
  }

  addSink(
    name: string,
    topic: string | TopicNameExtractor<any, any>,
    options: { keySerde?: Serde<any>; valueSerde?: Serde<any> },
    ...parentNames: string[]
  ): this {
    if (typeof topic !== 'function' && (typeof topic !== 'string' || topic === '')) {
      throw new TopologyError(`sink ${name} needs a topic name or a function choosing one`);
    }
    if (parentNames.length === 0) throw new TopologyError(`sink ${name} must have at least one parent`);
    this.addNode({ type: 'sink', name, topic, keySerde: options.keySerde ?? null, valueSerde: options.valueSerde ?? null, successors: [], predecessors: [] }, parentNames);
    return this;
  }

  /** A store, connected to the processors named (more can connect later); see keyValueStore() for its definition. */
  addStateStore(store: StoreDefinition, ...processorNames: string[]): this {
    const existing = this.storeMap.get(store.name);
    if (existing !== undefined && existing !== store) throw new TopologyError(`a state store named ${store.name} was already added`);
    this.storeMap.set(store.name, store);
    this.connectProcessorAndStateStores(processorNames, [store.name]);
    return this;
  }

  connectProcessorAndStateStores(processorNames: string[], storeNames: string[]): this {
    for (const storeName of storeNames) {
      if (!this.storeMap.has(storeName)) throw new TopologyError(`state store ${storeName} is not added yet`);
    }
    for (const processorName of processorNames) {
      const node = this.nodeMap.get(processorName);
      if (node === undefined || node.type !== 'processor') throw new TopologyError(`processor ${processorName} is not added yet`);
      for (const storeName of storeNames) if (!node.stores.includes(storeName)) node.stores.push(storeName);
    }
    this.cachedSubtopologies = null;
    return this;
  }

  /** describe()'s text: the sub-topologies, their nodes, topics and stores, as Kafka Streams prints them. */
  describe(): TopologyDescription {
    return new TopologyDescription(this);
  }

  // ---- Used by the DSL and the runtime ----

  /** @internal */
  addSourceNode(name: string, topics: string[], options: { keySerde?: Serde<any>; valueSerde?: Serde<any> }, global: boolean): this {
    if (topics.length === 0 || topics.some((topic) => typeof topic !== 'string' || topic === '')) {
      throw new TopologyError(`source ${name} needs at least one topic name`);
    }
    for (const topic of topics) {
      const other = this.topicToSource.get(topic);
      if (other !== undefined) throw new TopologyError(`Topic ${topic} has already been registered by another source (${other}).`);
    }
    this.addNode(
      { type: 'source', name, topics: [...topics], keySerde: options.keySerde ?? null, valueSerde: options.valueSerde ?? null, global, successors: [], predecessors: [] },
      [],
    );
    for (const topic of topics) this.topicToSource.set(topic, name);
    return this;
  }

  /** @internal A topic both written and read by this application, prefixed with the applicationId at run time. */
  addRepartitionTopic(topic: string): void {
    this.repartitionTopics.add(topic);
  }

  /** @internal repartition(): the topic's partition count, instead of its writers' source topics' count. */
  setRepartitionPartitions(topic: string, count: number): void {
    this.repartitionPartitionCounts.set(topic, count);
  }

  repartitionPartitions(topic: string): number | undefined {
    return this.repartitionPartitionCounts.get(topic);
  }

  /** @internal Topics whose same-numbered partitions must meet in one task (joins). */
  addCopartitionGroup(topics: string[]): void {
    this.copartitionGroups.push([...new Set(topics)]);
  }

  /** @internal */
  addGlobalStore(storeName: string): void {
    this.globalStores.add(storeName);
  }

  node(name: string): TopologyNode {
    const node = this.nodeMap.get(name);
    if (node === undefined) throw new TopologyError(`no node named ${name}`);
    return node;
  }

  nodes(): IterableIterator<TopologyNode> {
    return this.nodeMap.values();
  }

  store(name: string): StoreDefinition | undefined {
    return this.storeMap.get(name);
  }

  stores(): IterableIterator<StoreDefinition> {
    return this.storeMap.values();
  }

  isRepartitionTopic(topic: string): boolean {
    return this.repartitionTopics.has(topic);
  }

  isGlobalStore(name: string): boolean {
    return this.globalStores.has(name);
  }

  copartitioned(): readonly string[][] {
    return this.copartitionGroups;
  }

  sourceNodeOf(topic: string): SourceNode | undefined {
    const name = this.topicToSource.get(topic);
    return name === undefined ? undefined : (this.nodeMap.get(name) as SourceNode);
  }

  /** The sub-topologies, numbered as Kafka numbers them: by the first node added to each. */
  subtopologies(): Subtopology[] {
    this.cachedSubtopologies ??= this.groupNodes();
    return this.cachedSubtopologies;
  }

  private addNode(node: TopologyNode, parentNames: string[]): void {
    if (typeof node.name !== 'string' || node.name === '') throw new TopologyError('every node needs a non-empty name');
    if (this.nodeMap.has(node.name)) throw new TopologyError(`Processor ${node.name} is already added.`);
    for (const parentName of parentNames) {
      const parent = this.nodeMap.get(parentName);
      if (parent === undefined) throw new TopologyError(`Parent processor ${parentName} is not added yet for ${node.name}.`);
      if (parent.type === 'sink') throw new TopologyError(`Sink ${parentName} cannot be used as a parent (of ${node.name}).`);
      parent.successors.push(node.name);
      node.predecessors.push(parentName);
    }
    this.nodeMap.set(node.name, node);
    this.cachedSubtopologies = null;
  }

  private groupNodes(): Subtopology[] {
    // Union-find over nodes: a node joins its parents, and processors sharing a store join each other.
    const root = new Map<string, string>();
    const find = (name: string): string => {
      let current = name;
      while (root.get(current) !== current) current = root.get(current)!;
      root.set(name, current);
      return current;
    };
    const union = (a: string, b: string): void => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) root.set(rb, ra);
    };
    for (const name of this.nodeMap.keys()) root.set(name, name);
    const storeUsers = new Map<string, string>();
    for (const node of this.nodeMap.values()) {
      for (const parent of node.predecessors) union(parent, node.name);
      if (node.type !== 'processor') continue;
      for (const store of node.stores) {
        const other = storeUsers.get(store);
        if (other === undefined) storeUsers.set(store, node.name);
        else union(other, node.name);
      }
    }
    const groups = new Map<string, string[]>();
    for (const name of this.nodeMap.keys()) {
      const key = find(name);
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = []));
      group.push(name);
    }
    return [...groups.values()].map((nodes, id) => {
      const sourceTopics: string[] = [];
      const sinkTopics: string[] = [];
      const stores = new Set<string>();
      let global = false;
      for (const name of nodes) {
        const node = this.nodeMap.get(name)!;
        if (node.type === 'source') {
          sourceTopics.push(...node.topics);
          global ||= node.global;
        } else if (node.type === 'sink') {
          if (typeof node.topic === 'string') sinkTopics.push(node.topic);
        } else {
          for (const store of node.stores) stores.add(store);
        }
      }
      return { id, nodes, sourceTopics, sinkTopics, stores: [...stores], global };
    });
  }
}

/** Kafka Streams' TopologyDescription, whose toString() is the text users know. */
export class TopologyDescription {
  private readonly text: string;

  constructor(topology: Topology) {
    this.text = describeTopology(topology);
  }

  toString(): string {
    return this.text;
  }
}

function describeTopology(topology: Topology): string {
  // Kafka orders a node's neighbours, and the nodes of a sub-topology, by the size of the
  // sub-tree below them (largest first), then by name.
  const sizes = new Map<string, number>();
  const sizeOf = (name: string): number => {
    let size = sizes.get(name);
    if (size === undefined) {
      size = 1;
      for (const child of topology.node(name).successors) size += sizeOf(child);
      sizes.set(name, size);
    }
    return size;
  };
  const order = (a: string, b: string): number => sizeOf(b) - sizeOf(a) || (a < b ? -1 : a > b ? 1 : 0);
  const names = (list: readonly string[]): string => (list.length === 0 ? 'none' : [...list].sort(order).join(', '));
  const describeNode = (name: string): string => {
    const node = topology.node(name);
    switch (node.type) {
      case 'source':
        return `Source: ${name} (topics: [${node.topics.join(', ')}])\n      --> ${names(node.successors)}`;
      case 'processor':
        return `Processor: ${name} (stores: [${node.stores.join(', ')}])\n      --> ${names(node.successors)}\n      <-- ${names(node.predecessors)}`;
      case 'sink': {
        const target = typeof node.topic === 'string' ? `topic: ${node.topic}` : `extractor class: ${node.topic.name || 'anonymous'}`;
        return `Sink: ${name} (${target})\n      <-- ${names(node.predecessors)}`;
      }
    }
  };
  let text = 'Topologies:\n ';
  for (const subtopology of topology.subtopologies()) {
    text += '  ';
    if (subtopology.global) {
      text += `Sub-topology: ${subtopology.id} for global store (will not generate tasks)\n`;
      for (const name of subtopology.nodes) text += `    ${describeNode(name)}\n`;
      continue;
    }
    text += `Sub-topology: ${subtopology.id}\n`;
    for (const name of [...subtopology.nodes].sort(order)) text += `    ${describeNode(name)}\n`;
    text += '\n';
  }
  return text;
}
