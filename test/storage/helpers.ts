/**
 * Test support for the storage tests: valid RecordBatch v2 batches built by hand (61-byte header,
 * simple uncompressed records, CRC32C), an independent scan of segment files that shares no code
 * with the log, temp directories, a manual clock and a capturing logger.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { computeBatchCrc } from '../../src/protocol/batch-header.js';
import { makeTempDir as makeSupportTempDir, removeTempDir } from '../support/temp-dir.js';
import { LogReader, type ReadBounds } from '../../src/storage/log-reader.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import type { AbortedTransaction } from '../../src/storage/txn-index.js';

export const DEFAULT_BASE_TIMESTAMP_MS = 1_700_000_000_000;

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  /** Added to the batch's base timestamp. */
  timestampDelta?: number;
}

export interface BatchSpec {
  /** The records, or how many records with `valueBytes`-byte values to generate. */
  records?: number | TestRecord[];
  valueBytes?: number;
  baseTimestamp?: number;
  /** Defaults to baseTimestamp plus the largest record timestamp delta. */
  maxTimestamp?: number;
  /** What the producer writes there; the log overwrites it. */
  baseOffset?: number;
  attributes?: number;
  /** Byte used to fill generated values, so batches differ. */
  fill?: number;
}

/** A valid, uncompressed RecordBatch v2 holding the given records. */
export function buildBatch(spec: BatchSpec = {}): Buffer {
  const records = toRecords(spec);
  const baseTimestamp = spec.baseTimestamp ?? DEFAULT_BASE_TIMESTAMP_MS;
  const maxDelta = records.reduce((max, record) => Math.max(max, record.timestampDelta ?? 0), 0);
  const encoded = records.map((record, index) => encodeRecord(record, index));
  const recordsBytes = encoded.reduce((sum, bytes) => sum + bytes.length, 0);
  const size = 61 + recordsBytes;
  const batch = Buffer.alloc(size);
  batch.writeBigInt64BE(BigInt(spec.baseOffset ?? 0), 0);
  batch.writeInt32BE(size - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch.writeInt8(2, 16);
  batch.writeInt16BE(spec.attributes ?? 0, 21);
  batch.writeInt32BE(records.length - 1, 23);
  batch.writeBigInt64BE(BigInt(baseTimestamp), 27);
  batch.writeBigInt64BE(BigInt(spec.maxTimestamp ?? baseTimestamp + maxDelta), 35);
  batch.writeBigInt64BE(-1n, 43);
  batch.writeInt16BE(-1, 51);
  batch.writeInt32BE(-1, 53);
  batch.writeInt32BE(records.length, 57);
  let position = 61;
  for (const bytes of encoded) {
    bytes.copy(batch, position);
    position += bytes.length;
  }
  batch.writeUInt32BE(computeBatchCrc(batch, 0, size), 17);
  return batch;
}

/** Recomputes a batch's CRC after a deliberate edit of a CRC-covered field. */
export function resealCrc(batch: Buffer, position = 0): void {
  const sizeBytes = batch.readInt32BE(position + 8) + 12;
  batch.writeUInt32BE(computeBatchCrc(batch, position, sizeBytes), position + 17);
}

function toRecords(spec: BatchSpec): TestRecord[] {
  if (Array.isArray(spec.records)) return spec.records;
  const count = spec.records ?? 1;
  const valueBytes = spec.valueBytes ?? 10;
  return Array.from({ length: count }, () => ({ value: Buffer.alloc(valueBytes, spec.fill ?? 0x61) }));
}

function encodeRecord(record: TestRecord, offsetDelta: number): Buffer {
  const body: number[] = [0];
  pushVarint(body, record.timestampDelta ?? 0);
  pushVarint(body, offsetDelta);
  pushBytes(body, record.key ?? null);
  pushBytes(body, record.value);
  pushVarint(body, 0);
  const prefix: number[] = [];
  pushVarint(prefix, body.length);
  return Buffer.from([...prefix, ...body]);
}

function pushBytes(out: number[], bytes: Buffer | null): void {
  if (bytes === null) {
    pushVarint(out, -1);
    return;
  }
  pushVarint(out, bytes.length);
  for (const byte of bytes) out.push(byte);
}

/** Zigzag varint, for values that fit 31 bits (all a test needs). */
function pushVarint(out: number[], value: number): void {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    out.push((zigzag & 0x7f) | 0x80);
    zigzag >>>= 7;
  }
  out.push(zigzag);
}

/** A batch as found by the independent file scan. */
export interface ScannedBatch {
  file: string;
  position: number;
  sizeBytes: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

/**
 * Every batch in every `.log` of `dir`, in offset order, read with plain readFileSync and
 * Buffer methods: an oracle independent of the log's own scanning code.
 */
export function scanLogFiles(dir: string): ScannedBatch[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort();
  const batches: ScannedBatch[] = [];
  for (const file of files) {
    const content = readFileSync(join(dir, file));
    let position = 0;
    while (position < content.length) {
      const sizeBytes = content.readInt32BE(position + 8) + 12;
      const baseOffset = Number(content.readBigInt64BE(position));
      batches.push({
        file,
        position,
        sizeBytes,
        baseOffset,
        lastOffset: baseOffset + content.readInt32BE(position + 23),
        maxTimestamp: Number(content.readBigInt64BE(position + 35)),
        bytes: content.subarray(position, position + sizeBytes),
      });
      position += sizeBytes;
    }
  }
  return batches;
}

export function makeTempDir(): string {
  return makeSupportTempDir('storage');
}

export { removeTempDir };

export class ManualClock {
  constructor(public now = DEFAULT_BASE_TIMESTAMP_MS) {}
  readonly nowMs = (): number => this.now;
}

export class CapturingLogger {
  readonly infos: string[] = [];
  readonly warnings: string[] = [];
  info(message: string): void {
    this.infos.push(message);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

/** The error `action` throws, to assert on its fields; fails the test when it throws nothing. */
export function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected an Error, the action threw ${String(error)}`);
  }
  throw new Error('expected the action to throw, it returned');
}

export interface LogReadResult {
  readonly bytes: Buffer;
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

/** The bounds a LogReader reads a log within, as the shard publishes them: the whole log is readable. */
function boundsOf(log: PartitionLog): ReadBounds {
  return { logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, readableEndOffset: log.logEndOffset, storageEpoch: 0 };
}

/** A read of `log` through LogReader, the one read path, on a fresh reader (no cached view). */
export function readLog(log: PartitionLog, offset: number, maxBytes: number): LogReadResult {
  const reader = new LogReader(log.dir);
  try {
    const bounds = boundsOf(log);
    const result = reader.read(offset, maxBytes, bounds, () => bounds);
    return { bytes: result.records, nextOffset: result.nextOffset, logStartOffset: bounds.logStartOffset, logEndOffset: bounds.logEndOffset };
  } finally {
    reader.close();
  }
}

/** The aborted transactions in [fromOffset, upToOffset) of `log`, as a read_committed fetch gets them. */
export function abortedTransactionsOf(log: PartitionLog, fromOffset: number, upToOffset: number): AbortedTransaction[] {
  const reader = new LogReader(log.dir);
  try {
    return reader.abortedTransactions(fromOffset, upToOffset, boundsOf(log));
  } finally {
    reader.close();
  }
}

/** ListOffsets by timestamp of `log`, through LogReader. */
export function offsetForTimestampOf(log: PartitionLog, timestampMs: number): number | null {
  const reader = new LogReader(log.dir);
  try {
    const bounds = boundsOf(log);
    return reader.offsetForTimestamp(timestampMs, bounds, () => bounds)?.offset ?? null;
  } finally {
    reader.close();
  }
}
