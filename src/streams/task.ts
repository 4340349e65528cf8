/**
 * A task: one sub-topology over one partition of its source topics (Kafka's StreamTask). It owns
 * a processor instance per node and its stores, tracks stream time (the largest record
 * timestamp seen), runs punctuations, and hands what its sinks and store changelogs write to the
 * thread's RecordCollector. Processing is synchronous, record by record.
 */
import { StreamsError } from '../errors.js';
import type { OutgoingTopicMessages, StreamsMessage } from './connection.js';
import { internalSerde } from './change-serde.js';
import type { Cancellable, Processor, ProcessorContext, PunctuationType, RecordMetadata, StreamRecord } from './processor.js';
import type { Serde } from './serdes.js';
import type { CachedRecordContext } from './cache.js';
import type { KeyValueStore, TypedKeyValueStore } from './stores.js';
import type { SinkNode, SourceNode, Subtopology, Topology, TopologyNode } from './topology.js';

/** What a thread's tasks wrote since the last send, per topic. */
export class RecordCollector {
  private pending = new Map<string, OutgoingTopicMessages>();
  private count = 0;

  send(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, partition: number | undefined, headers: StreamRecord<unknown, unknown>['headers'] | undefined): void {
    let entry = this.pending.get(topic);
    if (entry === undefined) this.pending.set(topic, (entry = { topic, messages: [] }));
    entry.messages.push(partition === undefined ? { key, value, timestamp, headers } : { key, value, timestamp, partition, headers });
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  drain(): OutgoingTopicMessages[] {
    const out = [...this.pending.values()];
    this.pending = new Map();
    this.count = 0;
    return out;
  }
}

/** Bytes for a user topic written without a serde: Buffers and strings as they are, anything else as JSON. */
function plainBytes(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(JSON.stringify(value), 'utf8');
}

interface Punctuation {
  intervalMs: number;
  type: PunctuationType;
  nextMs: number;
  punctuator: (timestampMs: number) => void;
  cancelled: boolean;
  node: NodeRuntime;
}

interface NodeRuntime {
  readonly node: TopologyNode;
  readonly children: NodeRuntime[];
  processor: Processor<unknown, unknown, unknown, unknown> | null;
  process(record: StreamRecord<unknown, unknown>): void;
}

export interface TaskEnvironment {
  readonly applicationId: string;
  readonly topology: Topology;
  readonly collector: RecordCollector;
  /** Topic name as written: internal topics get the `<applicationId>-` prefix. */
  resolveTopic(topic: string): string;
  /** A commit was asked for by a processor (context.commit()). */
  requestCommit(): void;
}

export class StreamTask {
  readonly id: string;
  streamTimeMs = -1;
  private readonly nodes = new Map<string, NodeRuntime>();
  private readonly sources = new Map<string, NodeRuntime>();
  private readonly punctuations: Punctuation[] = [];
  private metadata: RecordMetadata | null = null;
  /** The source record being processed, or the punctuation running: what a cached store write without a record of its own carries. */
  currentRecord: CachedRecordContext = { timestamp: -1, headers: {} };
  /** Per source topic-partition: the next offset to read (what a commit records). */
  readonly consumedOffsets = new Map<string, number>();
  /**
   * Per source topic-partition: the first offset not yet processed. A batch the consumer fetched
   * before the task was (re)created from its committed offsets may start below it.
   */
  private readonly positions: Map<string, number>;

  constructor(
    readonly subtopology: Subtopology,
    readonly partition: number,
    private readonly env: TaskEnvironment,
    readonly stores: Map<string, KeyValueStore<unknown, unknown>>,
    private readonly globalStores: Map<string, TypedKeyValueStore<unknown, unknown>>,
    startOffsets: ReadonlyMap<string, number>,
  ) {
    this.id = `${subtopology.id}_${partition}`;
    this.positions = new Map(startOffsets);
    // Children first, so each node's runtime can point at its children's.
    for (const name of [...subtopology.nodes].reverse()) this.nodes.set(name, this.makeNode(env.topology.node(name)));
    for (const name of subtopology.nodes) {
      const runtime = this.nodes.get(name)!;
      if (runtime.node.type === 'source') for (const topic of runtime.node.topics) this.sources.set(env.resolveTopic(topic), runtime);
    }
    for (const name of subtopology.nodes) {
      const runtime = this.nodes.get(name)!;
      runtime.processor?.init?.(this.contextFor(runtime));
    }
  }

  /** Processes a batch of one source topic-partition, record by record. */
  processBatch(topic: string, messages: readonly StreamsMessage[]): void {
    const source = this.sources.get(topic);
    if (source === undefined) throw new StreamsError(`task ${this.id} has no source for topic ${topic}`);
    const node = source.node as SourceNode;
    const keySerde = node.keySerde ?? (this.env.topology.isRepartitionTopic(topicOf(node)) ? internalSerde : null);
    const valueSerde = node.valueSerde ?? (this.env.topology.isRepartitionTopic(topicOf(node)) ? internalSerde : null);
    const from = this.positions.get(topic) ?? 0;
    for (const message of messages) {
      if (message.offset < from) continue;
      this.metadata = { topic, partition: this.partition, offset: message.offset };
      const record: StreamRecord<unknown, unknown> = {
        key: deserialize(keySerde, message.key, node.name),
        value: deserialize(valueSerde, message.value, node.name),
        timestamp: message.timestamp,
        headers: message.headers,
      };
      if (message.timestamp > this.streamTimeMs) this.streamTimeMs = message.timestamp;
      this.currentRecord = record;
      source.process(record);
      this.consumedOffsets.set(topic, message.offset + 1);
      this.positions.set(topic, message.offset + 1);
      if (this.punctuations.length > 0) this.punctuate('STREAM_TIME', this.streamTimeMs);
    }
    this.metadata = null;
  }

  /** Runs the punctuations of `type` that are due at `nowMs`. */
  punctuate(type: PunctuationType, nowMs: number): void {
    const saved = this.metadata;
    this.metadata = null;
    for (const punctuation of this.punctuations) {
      if (punctuation.cancelled || punctuation.type !== type || nowMs < punctuation.nextMs) continue;
      punctuation.nextMs = nowMs + punctuation.intervalMs;
      this.currentRecord = { timestamp: nowMs, headers: {} };
      punctuation.punctuator(nowMs);
    }
    this.metadata = saved;
  }

  close(): void {
    for (const runtime of this.nodes.values()) runtime.processor?.close?.();
  }

  private makeNode(node: TopologyNode): NodeRuntime {
    const children = node.successors.filter((name) => this.nodes.has(name)).map((name) => this.nodes.get(name)!);
    if (node.type === 'sink') return { node, children, processor: null, process: (record) => this.sink(node, record) };
    if (node.type === 'source') {
      return {
        node,
        children,
        processor: null,
        process: (record) => {
          for (const child of children) child.process(record);
        },
      };
    }
    const processor = node.supplier() as Processor<unknown, unknown, unknown, unknown>;
    if (processor === null || typeof processor !== 'object' || typeof processor.process !== 'function') {
      throw new StreamsError(`the supplier of processor ${node.name} must return a new object with process(record); it returned ${String(processor)}`);
    }
    return { node, children, processor, process: (record) => processor.process(record) };
  }

  private contextFor(runtime: NodeRuntime): ProcessorContext<unknown, unknown> {
    const task = this;
    const stores = runtime.node.type === 'processor' ? runtime.node.stores : [];
    return {
      applicationId: this.env.applicationId,
      taskId: this.id,
      partition: this.partition,
      recordMetadata: () => task.metadata,
      currentStreamTimeMs: () => task.streamTimeMs,
      currentSystemTimeMs: () => Date.now(),
      forward(record, childName) {
        if (childName === undefined) {
          for (const child of runtime.children) child.process(record);
          return;
        }
        const child = runtime.children.find((candidate) => candidate.node.name === childName);
        if (child === undefined) throw new StreamsError(`processor ${runtime.node.name} has no child named ${childName}`);
        child.process(record);
      },
      getStateStore<S>(name: string): S {
        if (!stores.includes(name)) {
          throw new StreamsError(`processor ${runtime.node.name} has no access to state store ${name}: connect it (process(supplier, '${name}') or topology.connectProcessorAndStateStores)`);
        }
        const store = task.stores.get(name) ?? task.globalStores.get(name);
        if (store === undefined) throw new StreamsError(`state store ${name} is not open in task ${task.id}`);
        return store as S;
      },
      schedule(intervalMs, type, punctuator): Cancellable {
        if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new StreamsError(`a punctuation interval must be a positive integer of ms, not ${intervalMs}`);
        if (type !== 'STREAM_TIME' && type !== 'WALL_CLOCK_TIME') throw new StreamsError(`punctuation type is STREAM_TIME or WALL_CLOCK_TIME, not ${String(type)}`);
        const start = type === 'STREAM_TIME' ? Math.max(task.streamTimeMs, 0) : Date.now();
        const punctuation: Punctuation = { intervalMs, type, nextMs: start + intervalMs, punctuator, cancelled: false, node: runtime };
        task.punctuations.push(punctuation);
        return {
          cancel() {
            punctuation.cancelled = true;
          },
        };
      },
      commit: () => this.env.requestCommit(),
    };
  }

  private sink(node: SinkNode, record: StreamRecord<unknown, unknown>): void {
    const topic =
      typeof node.topic === 'string'
        ? this.env.resolveTopic(node.topic)
        : node.topic(record.key, record.value, { topic: this.metadata?.topic ?? null, partition: this.partition });
    const internal = typeof node.topic === 'string' && this.env.topology.isRepartitionTopic(node.topic);
    const key = serialize(node.keySerde ?? (internal ? internalSerde : null), record.key, node.name, 'key');
    const value = serialize(node.valueSerde ?? (internal ? internalSerde : null), record.value, node.name, 'value');
    this.env.collector.send(topic, key, value, record.timestamp, undefined, record.headers);
  }
}

function topicOf(node: SourceNode): string {
  return node.topics[0];
}

function deserialize(serde: Serde<unknown> | null, bytes: Buffer | null, nodeName: string): unknown {
  if (bytes === null) return null;
  if (serde === null) return bytes;
  try {
    return serde.deserialize(bytes);
  } catch (error) {
    throw new StreamsError(`source ${nodeName} could not deserialize a record with the ${serde.name} serde: ${(error as Error).message}`, { cause: error });
  }
}

function serialize(serde: Serde<unknown> | null, value: unknown, nodeName: string, what: string): Buffer | null {
  if (value === null || value === undefined) return null;
  if (serde === null) return plainBytes(value);
  try {
    return serde.serialize(value);
  } catch (error) {
    throw new StreamsError(`sink ${nodeName} could not serialize a ${what} with the ${serde.name} serde: ${(error as Error).message}; give the sink serdes (Produced) that fit`, { cause: error });
  }
}
