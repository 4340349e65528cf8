/**
 * Source offsets: per connector, the last stored offset of each source partition. Keys and values
 * are what Kafka Connect writes to its offsets topic: the key is the JSON array
 * ["connector-name", {partition}], the value the offset's JSON object (null: none).
 *
 * The standalone worker keeps them in a local file (offset.storage.file.filename), replaced
 * atomically on every flush: a JSON object from key to value. (Kafka's standalone worker writes
 * a Java-serialized map there; this file holds the same keys and values as JSON.)
 */
import { existsSync } from 'node:fs';
import { CorruptFileError } from '../errors.js';
import { readFileIfExists, replaceFile } from '../storage/durable-fs.js';
import type { SourceOffset, SourcePartition } from './api.js';
import { clientIdFor, REPLAY_MARKER_KEY, type Cluster, type OutgoingRecord } from './cluster.js';

/** JSON with object keys sorted, so equal partitions give equal keys whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, entry: unknown) =>
    entry !== null && typeof entry === 'object' && !Array.isArray(entry)
      ? Object.fromEntries(Object.entries(entry as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : entry,
  );
}

/** The offsets-topic key of a connector's source partition. */
export function offsetKey(connector: string, partition: SourcePartition): string {
  return canonicalJson([connector, partition]);
}

export interface SourceOffsetEntry {
  readonly partition: SourcePartition;
  readonly offset: SourceOffset;
}

/** Offsets in memory, as read from their store; the store subclasses persist them. */
export abstract class OffsetStore {
  protected readonly data = new Map<string, string>();

  abstract start(): Promise<void>;
  /** Makes `offsets` (by offsetKey, value JSON or null to forget) durable and visible. */
  abstract write(offsets: ReadonlyMap<string, string | null>): Promise<void>;
  abstract stop(): Promise<void>;

  /** Brings the offsets in memory up to date with the store; a file needs nothing, it is read at start. */
  async catchUp(): Promise<void> {}

  get(connector: string, partition: SourcePartition): SourceOffset | null {
    const value = this.data.get(offsetKey(connector, partition));
    return value === undefined ? null : (JSON.parse(value) as SourceOffset);
  }

  /** Every stored offset of the connector. */
  connectorOffsets(connector: string): SourceOffsetEntry[] {
    const entries: SourceOffsetEntry[] = [];
    for (const [key, value] of this.data) {
      const [name, partition] = JSON.parse(key) as [string, SourcePartition];
      if (name === connector) entries.push({ partition, offset: JSON.parse(value) as SourceOffset });
    }
    return entries;
  }

  protected apply(offsets: ReadonlyMap<string, string | null>): void {
    for (const [key, value] of offsets) {
      if (value === null) this.data.delete(key);
      else this.data.set(key, value);
    }
  }
}

export class FileOffsetStore extends OffsetStore {
  constructor(private readonly path: string) {
    super();
  }

  async start(): Promise<void> {
    const bytes = readFileIfExists(this.path);
    if (bytes === null) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new CorruptFileError(this.path, `not JSON (${(error as Error).message}); it holds a standalone worker's source offsets`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((value) => typeof value !== 'string')) {
      throw new CorruptFileError(this.path, 'expected a JSON object from offset key to offset value');
    }
    this.apply(new Map(Object.entries(parsed as Record<string, string>)));
  }

  async write(offsets: ReadonlyMap<string, string | null>): Promise<void> {
    if (offsets.size === 0 && existsSync(this.path)) return;
    this.apply(offsets);
    replaceFile(this.path, JSON.stringify(Object.fromEntries(this.data)));
  }

  async stop(): Promise<void> {}
}

/**
 * Offsets in a compacted topic (offset.storage.topic, connect-offsets by default), as Kafka
 * Connect's KafkaOffsetBackingStore keeps them: key and value as the module comment says,
 * partitioned by key. Exactly-once source tasks write their offsets to it inside the transaction
 * of their records (offsetRecords, then applyCommitted once the transaction committed).
 */
export class TopicOffsetStore extends OffsetStore {
  constructor(
    private readonly cluster: Cluster,
    readonly topic: string,
    private readonly partitions: number,
  ) {
    super();
  }

  /** Creates the topic unless it exists; reading it waits for catchUp(). */
  async start(): Promise<void> {
    await this.cluster.ensureTopic(this.topic, { partitions: this.partitions, configs: { 'cleanup.policy': 'compact' } });
  }

  /**
   * Reads the topic to its end. An exactly-once task calls it after its transactional producer
   * fenced its predecessor (whose open transaction is then aborted), so it waits for no zombie.
   */
  override async catchUp(): Promise<void> {
    await this.cluster.replay(this.topic, (record) => {
      if (record.key === null || record.key.equals(REPLAY_MARKER_KEY)) return;
      this.apply(new Map([[record.key.toString('utf8'), record.value === null ? null : record.value.toString('utf8')]]));
    });
  }

  /** The records that store `offsets`, for a producer (or a transaction) to send. */
  offsetRecords(offsets: ReadonlyMap<string, string | null>): OutgoingRecord[] {
    return [...offsets].map(([key, value]) => ({
      topic: this.topic,
      partition: null,
      key: Buffer.from(key, 'utf8'),
      value: value === null ? null : Buffer.from(value, 'utf8'),
      headers: {},
      timestamp: null,
    }));
  }

  /** Makes offsets written (and committed) elsewhere visible. */
  applyCommitted(offsets: ReadonlyMap<string, string | null>): void {
    this.apply(offsets);
  }

  async write(offsets: ReadonlyMap<string, string | null>): Promise<void> {
    if (offsets.size === 0) return;
    const producer = await this.cluster.producer({ clientId: clientIdFor('offsets') });
    try {
      await producer.send(this.offsetRecords(offsets));
    } finally {
      await producer.close();
    }
    this.apply(offsets);
  }

  async stop(): Promise<void> {}
}
