/**
 * State stores. A task's store keeps bytes (serialized keys and values, ordered by key bytes, as
 * Kafka's stores), in memory or on disk through LMDB; the typed KeyValueStore in front of it
 * serializes through the store's serdes and writes each change to the store's changelog, from
 * which a restarted or moved task restores it.
 *
 * The persistent store buffers writes in memory and writes them to LMDB in one transaction when
 * the task commits (Kafka's store flush), with a checkpoint file saying up to which changelog
 * offset the disk holds: a restart restores only what came after it. Under exactly_once_v2 the
 * checkpoint is kept only across a clean close: after a crash the disk may hold uncommitted
 * writes, so the store is wiped and restored from the (read_committed) changelog.
 */
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Serde } from './serdes.js';

export type KeyValue<K, V> = [K, V];

export interface ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  get(key: K): V | undefined;
  /** Entries with from <= key <= to by serialized key bytes (either bound may be null: open). */
  range(from: K | null, to: K | null): KeyValue<K, V>[];
  all(): KeyValue<K, V>[];
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  put(key: K, value: V | null): void;
  putIfAbsent(key: K, value: V): V | undefined;
  delete(key: K): V | undefined;
}

/** Where a store's changes go: the changelog writer of its task. */
export type ChangeLogger = (key: Buffer, value: Buffer | null) => void;

export interface BytesStore {
  get(key: Buffer): Buffer | undefined;
  /** null deletes. */
  put(key: Buffer, value: Buffer | null): void;
  /** Sorted by key bytes, inclusive bounds (null: open). */
  entries(from: Buffer | null, to: Buffer | null): KeyValue<Buffer, Buffer>[];
  size(): number;
  /** Makes buffered writes durable and records that the store holds the changelog up to `changelogOffset` (exclusive). */
  flush(changelogOffset: number | null): void;
  /** The changelog offset (exclusive) the store already holds, for a restore to start from; 0 when none. */
  restoredOffset(): number;
  close(): Promise<void> | void;
}

const keyString = (key: Buffer): string => key.toString('latin1');

export class InMemoryBytesStore implements BytesStore {
  private readonly map = new Map<string, KeyValue<Buffer, Buffer>>();

  get(key: Buffer): Buffer | undefined {
    return this.map.get(keyString(key))?.[1];
  }

  put(key: Buffer, value: Buffer | null): void {
    const id = keyString(key);
    if (value === null) {
      this.map.delete(id);
      return;
    }
    const entry = this.map.get(id);
    // The key bytes may be a slice of a fetched buffer: keep a copy, once per key.
    if (entry === undefined) this.map.set(id, [Buffer.from(key), value]);
    else entry[1] = value;
  }

  entries(from: Buffer | null, to: Buffer | null): KeyValue<Buffer, Buffer>[] {
    const out: KeyValue<Buffer, Buffer>[] = [];
    for (const entry of this.map.values()) {
      if (from !== null && Buffer.compare(entry[0], from) < 0) continue;
      if (to !== null && Buffer.compare(entry[0], to) > 0) continue;
      out.push(entry);
    }
    return out.sort((a, b) => Buffer.compare(a[0], b[0]));
  }

  size(): number {
    return this.map.size;
  }

  flush(): void {}

  /** Memory does not survive a restart: always from the start of the changelog. */
  restoredOffset(): number {
    return 0;
  }

  close(): void {
    this.map.clear();
  }
}

type LmdbDatabase = import('lmdb').RootDatabase<Buffer, Buffer>;

const CHECKPOINT_FILE = '.checkpoint';

export class LmdbBytesStore implements BytesStore {
  /** Writes since the last flush: a Buffer, or null for a delete. */
  private readonly dirty = new Map<string, KeyValue<Buffer, Buffer | null>>();
  private checkpoint: number;

  private constructor(
    private readonly db: LmdbDatabase,
    private readonly directory: string,
    checkpoint: number,
  ) {
    this.checkpoint = checkpoint;
  }

  /**
   * Opens the store in `directory`. `keepCheckpointOnlyWhenClean` (exactly_once_v2): the
   * checkpoint is consumed on open, so a crash before the next clean close leaves none.
   */
  static async open(directory: string, keepCheckpointOnlyWhenClean: boolean): Promise<LmdbBytesStore> {
    const checkpointPath = path.join(directory, CHECKPOINT_FILE);
    let checkpoint: number | null = null;
    if (existsSync(checkpointPath)) {
      checkpoint = Number(JSON.parse(readFileSync(checkpointPath, 'utf8')).changelogOffset);
      if (keepCheckpointOnlyWhenClean) unlinkSync(checkpointPath);
    }
    // No checkpoint: what the disk holds is of unknown age; start over from the changelog.
    if (checkpoint === null) rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    const { open } = await import('lmdb');
    const db = open<Buffer, Buffer>({ path: path.join(directory, 'data.mdb'), keyEncoding: 'binary', encoding: 'binary', noSubdir: true, compression: false });
    return new LmdbBytesStore(db, directory, checkpoint ?? 0);
  }

  get(key: Buffer): Buffer | undefined {
    const pending = this.dirty.get(keyString(key));
    if (pending !== undefined) return pending[1] ?? undefined;
    return this.db.getBinary(key) ?? undefined;
  }

  put(key: Buffer, value: Buffer | null): void {
    this.dirty.set(keyString(key), [Buffer.from(key), value]);
  }

  entries(from: Buffer | null, to: Buffer | null): KeyValue<Buffer, Buffer>[] {
    this.writeDirty();
    const out: KeyValue<Buffer, Buffer>[] = [];
    const options: { start?: Buffer; end?: Buffer } = {};
    if (from !== null) options.start = from;
    for (const { key, value } of this.db.getRange(options)) {
      if (to !== null && Buffer.compare(key, to) > 0) break;
      out.push([Buffer.from(key), Buffer.from(value)]);
    }
    return out;
  }

  size(): number {
    this.writeDirty();
    return (this.db.getStats() as { entryCount: number }).entryCount;
  }

  flush(changelogOffset: number | null): void {
    this.writeDirty();
    if (changelogOffset !== null) this.checkpoint = changelogOffset;
  }

  restoredOffset(): number {
    return this.checkpoint;
  }

  /** Writes the checkpoint file; called on commit (at_least_once) and on a clean close. */
  writeCheckpoint(): void {
    writeFileSync(path.join(this.directory, CHECKPOINT_FILE), JSON.stringify({ changelogOffset: this.checkpoint }));
  }

  async close(): Promise<void> {
    this.writeDirty();
    await this.db.close();
  }

  /**
   * Closes without writing the buffered changes, and without a checkpoint: the disk may hold
   * changes of an aborted transaction, so the next open starts over from the changelog.
   */
  async discard(): Promise<void> {
    this.dirty.clear();
    rmSync(path.join(this.directory, CHECKPOINT_FILE), { force: true });
    await this.db.close();
  }

  private writeDirty(): void {
    if (this.dirty.size === 0) return;
    this.db.transactionSync(() => {
      for (const [key, value] of this.dirty.values()) {
        if (value === null) this.db.removeSync(key);
        else this.db.putSync(key, value);
      }
    });
    this.dirty.clear();
  }
}

/** The typed face of a task's store: serdes around the bytes, and every change to the changelog. */
export class TypedKeyValueStore<K, V> implements KeyValueStore<K, V> {
  constructor(
    readonly name: string,
    readonly bytes: BytesStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly logger: ChangeLogger | null,
  ) {}

  get(key: K): V | undefined {
    const value = this.bytes.get(this.keySerde.serialize(key));
    return value === undefined ? undefined : this.valueSerde.deserialize(value);
  }

  put(key: K, value: V | null): void {
    const keyBytes = this.keySerde.serialize(key);
    const valueBytes = value === null || value === undefined ? null : this.valueSerde.serialize(value);
    this.bytes.put(keyBytes, valueBytes);
    this.logger?.(keyBytes, valueBytes);
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
    return this.decode(this.bytes.entries(from === null ? null : this.keySerde.serialize(from), to === null ? null : this.keySerde.serialize(to)));
  }

  all(): KeyValue<K, V>[] {
    return this.decode(this.bytes.entries(null, null));
  }

  approximateNumEntries(): number {
    return this.bytes.size();
  }

  private decode(entries: KeyValue<Buffer, Buffer>[]): KeyValue<K, V>[] {
    return entries.map(([key, value]) => [this.keySerde.deserialize(key), this.valueSerde.deserialize(value)]);
  }
}
