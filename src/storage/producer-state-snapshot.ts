/**
 * Producer state snapshots: `<20-digit offset>.snapshot` in the partition directory (Kafka's name)
 * holds the state of every producer after applying the batches below that offset, so that opening
 * the log replays only the batches after it. The layout is Sluice's own, big-endian:
 *
 *   @0  version        int16   = 1
 *   @2  crc            uint32  CRC32C of every byte after this field
 *   @6  producerCount  int32
 *   then per producer:
 *       producerId             int64
 *       producerEpoch          int16
 *       coordinatorEpoch       int32   (-1 before the first transaction marker)
 *       currentTxnFirstOffset  int64   (-1 when no transaction is ongoing)
 *       lastTimestampMs        int64
 *       batchCount             int8    (0 to 5)
 *       then per cached batch, oldest first:
 *           firstSequence    int32
 *           lastSequence     int32
 *           firstOffset      int64
 *           lastOffsetDelta  int32
 *           maxTimestampMs   int64
 *
 * Unlike Kafka's snapshot, which keeps only each producer's last batch, this one keeps all five
 * cached batches, so a retry of any of them is still recognised after a restart.
 *
 * Snapshots are replaced atomically (temp file, rename) but not fsynced: a snapshot lost or torn
 * in a crash fails its CRC or is missing, and the log replays from an older one or from the log
 * start instead. Correctness never depends on a snapshot being durable, only speed does.
 */
import { crc32c } from '@node-rs/crc32';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';
import { readInt64, writeInt64 } from '../protocol/int64.js';
import { parseSegmentFileName, segmentFileName } from './segment.js';
import { replaceFile, unlinkIfExists } from './durable-fs.js';

export const PRODUCER_SNAPSHOT_FILE_SUFFIX = '.snapshot';
const SNAPSHOT_TEMP_SUFFIX = '.tmp';
const SNAPSHOT_VERSION = 1;
const HEADER_BYTES = 10;
const CRC_OFFSET = 2;
const CRC_COVERS_FROM = 6;
const PRODUCER_BYTES = 31;
const BATCH_BYTES = 28;
/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN. */
export const MAX_SNAPSHOT_BATCHES_PER_PRODUCER = 5;

/** One cached batch of a producer, as the snapshot stores it. */
export interface SnapshotBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampMs: number;
}

export interface ProducerSnapshotEntry {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  /** The first offset of the producer's ongoing transaction, or -1. */
  readonly currentTxnFirstOffset: number;
  readonly lastTimestampMs: number;
  /** Up to five, oldest first. */
  readonly batches: readonly SnapshotBatch[];
}

function producerSnapshotPath(dir: string, offset: number): string {
  return join(dir, segmentFileName(offset, PRODUCER_SNAPSHOT_FILE_SUFFIX));
}

/** The offsets of the snapshots in `dir`, ascending. */
export function listProducerSnapshots(dir: string): number[] {
  const offsets: number[] = [];
  for (const name of readdirSync(dir)) {
    const offset = parseSegmentFileName(name, PRODUCER_SNAPSHOT_FILE_SUFFIX);
    if (offset !== null) offsets.push(offset);
  }
  return offsets.sort((a, b) => a - b);
}

export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  let sizeBytes = HEADER_BYTES;
  for (const entry of entries) sizeBytes += PRODUCER_BYTES + entry.batches.length * BATCH_BYTES;
  const bytes = Buffer.allocUnsafe(sizeBytes);
  bytes.writeInt16BE(SNAPSHOT_VERSION, 0);
  bytes.writeInt32BE(entries.length, CRC_COVERS_FROM);
  let position = HEADER_BYTES;
  for (const entry of entries) {
    if (entry.batches.length > MAX_SNAPSHOT_BATCHES_PER_PRODUCER) {
      throw new RangeError(`producer ${entry.producerId} has ${entry.batches.length} cached batches, more than 5`);
    }
    writeInt64(bytes, position, entry.producerId);
    bytes.writeInt16BE(entry.producerEpoch, position + 8);
    bytes.writeInt32BE(entry.coordinatorEpoch, position + 10);
    writeInt64(bytes, position + 14, entry.currentTxnFirstOffset);
    writeInt64(bytes, position + 22, entry.lastTimestampMs);
    bytes.writeInt8(entry.batches.length, position + 30);
    position += PRODUCER_BYTES;
    for (const batch of entry.batches) {
      bytes.writeInt32BE(batch.firstSequence, position);
      bytes.writeInt32BE(batch.lastSequence, position + 4);
      writeInt64(bytes, position + 8, batch.firstOffset);
      bytes.writeInt32BE(batch.lastOffset - batch.firstOffset, position + 16);
      writeInt64(bytes, position + 20, batch.maxTimestampMs);
      position += BATCH_BYTES;
    }
  }
  bytes.writeUInt32BE(crc32c(bytes.subarray(CRC_COVERS_FROM)) >>> 0, CRC_OFFSET);
  return bytes;
}

/**
 * Decodes a snapshot taken at `snapshotOffset`, checking its CRC and that every value is one the
 * log could have produced below that offset. Throws CorruptFileError naming `path` otherwise.
 */
export function decodeProducerSnapshot(bytes: Buffer, path: string, snapshotOffset: number): ProducerSnapshotEntry[] {
  const fail = (reason: string): never => {
    throw new CorruptFileError(path, reason);
  };
  if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes are too few for a producer snapshot header`);
  const version = bytes.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) fail(`producer snapshot version ${version} is not supported (only ${SNAPSHOT_VERSION})`);
  const stored = bytes.readUInt32BE(CRC_OFFSET);
  const computed = crc32c(bytes.subarray(CRC_COVERS_FROM)) >>> 0;
  if (stored !== computed) fail(`CRC mismatch: stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`);
  const count = bytes.readInt32BE(CRC_COVERS_FROM);
  if (count < 0 || count > (bytes.length - HEADER_BYTES) / PRODUCER_BYTES) fail(`producer count ${count} does not fit the file`);
  const entries: ProducerSnapshotEntry[] = [];
  const seen = new Set<number>();
  let position = HEADER_BYTES;
  try {
    for (let i = 0; i < count; i++) {
      if (position + PRODUCER_BYTES > bytes.length) fail(`producer ${i} is cut off at byte ${position}`);
      const producerId = readInt64(bytes, position);
      const producerEpoch = bytes.readInt16BE(position + 8);
      const coordinatorEpoch = bytes.readInt32BE(position + 10);
      const currentTxnFirstOffset = readInt64(bytes, position + 14);
      const lastTimestampMs = readInt64(bytes, position + 22);
      const batchCount = bytes.readInt8(position + 30);
      const where = `producer ${producerId} at byte ${position}`;
      if (producerId < 0 || seen.has(producerId)) fail(`${where}: producer ids are >= 0 and appear once`);
      if (producerEpoch < 0) fail(`${where}: epoch ${producerEpoch} is negative`);
      if (currentTxnFirstOffset < -1 || currentTxnFirstOffset >= snapshotOffset) {
        fail(`${where}: transaction first offset ${currentTxnFirstOffset} is not below the snapshot offset ${snapshotOffset}`);
      }
      if (batchCount < 0 || batchCount > MAX_SNAPSHOT_BATCHES_PER_PRODUCER) fail(`${where}: ${batchCount} cached batches`);
      position += PRODUCER_BYTES;
      if (position + batchCount * BATCH_BYTES > bytes.length) fail(`${where}: its batches are cut off`);
      const batches: SnapshotBatch[] = [];
      let previousLastOffset = -1;
      for (let b = 0; b < batchCount; b++) {
        const firstSequence = bytes.readInt32BE(position);
        const lastSequence = bytes.readInt32BE(position + 4);
        const firstOffset = readInt64(bytes, position + 8);
        const lastOffsetDelta = bytes.readInt32BE(position + 16);
        const maxTimestampMs = readInt64(bytes, position + 20);
        const lastOffset = firstOffset + lastOffsetDelta;
        if (firstOffset <= previousLastOffset || lastOffsetDelta < 0 || lastOffset >= snapshotOffset) {
          fail(`${where}: cached batch ${b} at offsets ${firstOffset}..${lastOffset} is out of order or past the snapshot`);
        }
        if (firstSequence < -1 || lastSequence < -1) fail(`${where}: cached batch ${b} has sequence ${firstSequence}..${lastSequence}`);
        batches.push({ firstSequence, lastSequence, firstOffset, lastOffset, maxTimestampMs });
        previousLastOffset = lastOffset;
        position += BATCH_BYTES;
      }
      seen.add(producerId);
      entries.push({ producerId, producerEpoch, coordinatorEpoch, currentTxnFirstOffset, lastTimestampMs, batches });
    }
  } catch (error) {
    if (error instanceof RangeError) fail(`a value is outside the safe integer range: ${error.message}`);
    throw error;
  }
  if (position !== bytes.length) fail(`${bytes.length - position} bytes follow the last producer`);
  return entries;
}

export function readProducerSnapshot(dir: string, offset: number): ProducerSnapshotEntry[] {
  const path = producerSnapshotPath(dir, offset);
  return decodeProducerSnapshot(readFileSync(path), path, offset);
}

/** Writes the snapshot for `offset`, replacing any there, atomically (see the module comment). */
export function writeProducerSnapshot(dir: string, offset: number, entries: readonly ProducerSnapshotEntry[]): void {
  const path = producerSnapshotPath(dir, offset);
  replaceFile(path, encodeProducerSnapshot(entries), { tempPath: path + SNAPSHOT_TEMP_SUFFIX, sync: false });
}

function sameFileBytes(path: string, bytes: Buffer): boolean {
  try {
    return readFileSync(path).equals(bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export function deleteProducerSnapshot(dir: string, offset: number): void {
  unlinkIfExists(producerSnapshotPath(dir, offset));
}

/** Producer snapshots kept: the newest two, so a truncation below the newest can still start from one. */
const MAX_PRODUCER_SNAPSHOTS = 2;

/** A snapshot read back intact: its offset and its producers. */
export interface LoadedSnapshot {
  readonly offset: number;
  readonly entries: ProducerSnapshotEntry[];
}

/**
 * The snapshot files of one partition directory, as its log keeps them (Kafka's
 * ProducerStateManager snapshot handling): the offsets present, written and pruned to the newest
 * MAX_PRODUCER_SNAPSHOTS, read back newest first past corrupt ones, dropped where no replay could
 * start from them.
 */
export class ProducerSnapshots {
  /** The offsets of the snapshots in the directory, ascending. */
  private offsets: number[];

  constructor(
    private readonly dir: string,
    private readonly warn: (message: string) => void,
  ) {
    this.offsets = listProducerSnapshots(dir);
  }

  get count(): number {
    return this.offsets.length;
  }

  /** Writes the snapshot at `offset` (replacing one there) and deletes the oldest beyond the kept number. */
  write(offset: number, entries: readonly ProducerSnapshotEntry[]): void {
    // The same state at the same offset (a close after an open that changed nothing) leaves the file as it is.
    if (!this.offsets.includes(offset) || !sameFileBytes(producerSnapshotPath(this.dir, offset), encodeProducerSnapshot(entries))) {
      writeProducerSnapshot(this.dir, offset, entries);
    }
    if (!this.offsets.includes(offset)) {
      this.offsets.push(offset);
      this.offsets.sort((a, b) => a - b);
    }
    while (this.offsets.length > MAX_PRODUCER_SNAPSHOTS) deleteProducerSnapshot(this.dir, this.offsets.shift()!);
  }

  /**
   * The newest snapshot at or below `limitOffset` that reads back intact, or null. Corrupt ones
   * are deleted with a warning (and counted in `discarded`): replay then starts from an older point.
   */
  newestAtOrBelow(limitOffset: number, discarded: { count: number }): LoadedSnapshot | null {
    for (let i = this.offsets.length - 1; i >= 0; i--) {
      const offset = this.offsets[i];
      if (offset > limitOffset) continue;
      try {
        return { offset, entries: readProducerSnapshot(this.dir, offset) };
      } catch (error) {
        if (!(error instanceof CorruptFileError)) throw error;
        this.warn(`${error.message}; ignoring that producer snapshot and replaying from an older point`);
        deleteProducerSnapshot(this.dir, offset);
        this.offsets.splice(i, 1);
        discarded.count++;
      }
    }
    return null;
  }

  /** Deletes the snapshots no replay can start from: below `minOffset` (the log start) or past `maxOffset` (the log end). */
  dropOutside(minOffset: number, maxOffset: number): void {
    const usable = this.offsets.filter((offset) => offset >= minOffset && offset <= maxOffset);
    for (const offset of this.offsets) if (!usable.includes(offset)) deleteProducerSnapshot(this.dir, offset);
    this.offsets = usable;
  }
}
