/**
 * Where the transaction coordinator's state lives on the embedded broker.
 *
 * - Transaction state: records in the internal topic `__transaction_state` (one partition,
 *   cleanup.policy=compact), keyed by transactional id, in the layout of
 *   transaction-log-codec.ts, as Kafka keeps them. Replayed when the broker opens; the latest
 *   record per key is the state.
 * - The latest producer id block and the coordinator epoch: one small JSON file in the metadata
 *   directory, replaced atomically (temp file, fsync, rename, directory fsync). Kafka keeps the
 *   block in ZooKeeper or the KRaft log; a file is the single-broker equivalent, and it is read
 *   once per open and written once per `blockSize` producer ids. The coordinator epoch is raised
 *   on every open, so the markers of a run are told apart from those of the previous one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptRecordError, CorruptTransactionStateError } from '../errors.js';
import { encodeRecordBatch } from '../protocol/record-batch-builder.js';
import { forEachRecord } from '../protocol/record-batch-reader.js';
import { replaceFile } from '../storage/durable-fs.js';
import type { InternalLogAppender } from './offset-store.js';
import type { ProducerIdBlock, ProducerIdBlockStore } from './producer-id-manager.js';
import type { TransactionLogEntry, TransactionStateStore } from './transaction-coordinator.js';
import { decodeTransactionLogKey, decodeTransactionLogValue, encodeTransactionLogKey, encodeTransactionLogValue } from './transaction-log-codec.js';
import { INT32_MAX } from '../protocol/limits.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
export const TRANSACTION_META_FILE_NAME = 'transactions.json';
const META_FILE_VERSION = 1;

/** Appends every record of `batches` (whole batches of __transaction_state) to `out` as log entries. */
export function replayTransactionLog(batches: Buffer, out: TransactionLogEntry[]): void {
  forEachRecord(batches, (record) => {
    const key = record.key();
    if (key === null) throw new CorruptRecordError(record.offset, `${TRANSACTION_STATE_TOPIC} record without a key`);
    out.push(decodeTransactionLogValue(decodeTransactionLogKey(key), record.value()));
  });
}

/** The coordinator's TransactionStateStore over __transaction_state. */
export class DurableTransactionStateStore implements TransactionStateStore {
  private readonly loaded: readonly TransactionLogEntry[];
  private readonly append_: InternalLogAppender;
  private readonly onStored: (entry: TransactionLogEntry) => void;

  /**
   * `loaded`: the entries replayed from the topic at open. `onStored` is told of every entry once
   * it is durable (the broker wakes callers waiting for a transaction to complete).
   */
  constructor(loaded: readonly TransactionLogEntry[], append: InternalLogAppender, onStored: (entry: TransactionLogEntry) => void) {
    this.loaded = loaded;
    this.append_ = append;
    this.onStored = onStored;
  }

  async append(entry: TransactionLogEntry): Promise<void> {
    const record = { key: encodeTransactionLogKey(entry.transactionalId), value: encodeTransactionLogValue(entry) };
    await this.append_(encodeRecordBatch({ records: [record] }));
    this.onStored(entry);
  }

  load(): readonly TransactionLogEntry[] {
    return this.loaded;
  }
}

interface MetaFileContent {
  version: number;
  coordinatorEpoch: number;
  latestProducerIdBlock: ProducerIdBlock | null;
}

/** The producer id block store and the coordinator epoch, in `<metaDir>/transactions.json`. */
export class TransactionMetaFile implements ProducerIdBlockStore {
  readonly path: string;
  private content: MetaFileContent;

  private constructor(filePath: string, content: MetaFileContent) {
    this.path = filePath;
    this.content = content;
  }

  /**
   * Reads the file (absent: a first open) and durably raises the coordinator epoch, unless
   * `bumpEpoch` is false: an inspection, which changes nothing, reads the epoch as it is.
   */
  static openAndBumpEpoch(metaDir: string, bumpEpoch = true): TransactionMetaFile {
    const filePath = path.join(metaDir, TRANSACTION_META_FILE_NAME);
    let content: MetaFileContent = { version: META_FILE_VERSION, coordinatorEpoch: -1, latestProducerIdBlock: null };
    let text: string | null = null;
    try {
      text = fs.readFileSync(filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== null) content = parseMetaFile(filePath, text);
    const file = new TransactionMetaFile(filePath, content);
    if (bumpEpoch) file.write({ ...content, coordinatorEpoch: content.coordinatorEpoch + 1 });
    return file;
  }

  get coordinatorEpoch(): number {
    return this.content.coordinatorEpoch;
  }

  loadLatestBlock(): ProducerIdBlock | null {
    return this.content.latestProducerIdBlock;
  }

  storeLatestBlock(block: ProducerIdBlock): void {
    this.write({ ...this.content, latestProducerIdBlock: { firstProducerId: block.firstProducerId, size: block.size } });
  }

  /** Temp file, fsync, rename over the old file, fsync the directory; the content changes only after. */
  private write(content: MetaFileContent): void {
    const dir = path.dirname(this.path);
    fs.mkdirSync(dir, { recursive: true });
    replaceFile(this.path, JSON.stringify(content) + '\n', { tempPath: `${this.path}.${process.pid}.tmp`, mode: 0o644 });
    this.content = content;
  }
}

function parseMetaFile(filePath: string, text: string): MetaFileContent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CorruptTransactionStateError(filePath, `not JSON (${(error as Error).message})`);
  }
  const content = parsed as MetaFileContent;
  if (content === null || typeof content !== 'object' || content.version !== META_FILE_VERSION) {
    throw new CorruptTransactionStateError(filePath, `not a version ${META_FILE_VERSION} transaction metadata file`);
  }
  if (!Number.isInteger(content.coordinatorEpoch) || content.coordinatorEpoch < 0 || content.coordinatorEpoch >= INT32_MAX) {
    throw new CorruptTransactionStateError(filePath, `coordinatorEpoch ${String(content.coordinatorEpoch)} is not an integer from 0`);
  }
  // The block itself is checked by ProducerIdManager when it reads it.
  if (content.latestProducerIdBlock !== null && typeof content.latestProducerIdBlock !== 'object') {
    throw new CorruptTransactionStateError(filePath, 'latestProducerIdBlock is neither null nor a block');
  }
  return { version: content.version, coordinatorEpoch: content.coordinatorEpoch, latestProducerIdBlock: content.latestProducerIdBlock };
}
