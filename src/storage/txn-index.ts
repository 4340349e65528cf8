/**
 * Kafka's transaction index: `<base offset>.txnindex` beside a segment, one entry per aborted
 * transaction whose ABORT marker landed in that segment, in marker offset order. Kafka's layout,
 * 34 bytes an entry, big-endian:
 *
 *   @0  version           int16   = 0
 *   @2  producerId        int64
 *   @10 firstOffset       int64   the transaction's first offset in this partition
 *   @18 lastOffset        int64   the offset of its ABORT marker
 *   @26 lastStableOffset  int64   the LSO once the marker was appended (see collectAbortedTxns)
 *
 * A read_committed fetch asks which aborted transactions overlap the offsets it returns, so the
 * consumer can drop their records. Aborts are rare, so the file is created on the first entry, the
 * entries also live in memory, and each append is one positional write through a short-lived
 * descriptor: no descriptor is held per segment.
 */
import { closeSync, constants, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import assert from 'node:assert/strict';
import { readInt64, writeInt64 } from '../protocol/int64.js';
import { unlinkIfExists } from './durable-fs.js';

export const TXN_INDEX_FILE_SUFFIX = '.txnindex';
export const ABORTED_TXN_BYTES = 34;
const ABORTED_TXN_VERSION = 0;

/** One aborted transaction, as the transaction index stores it. */
export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The offset of the ABORT marker. */
  readonly lastOffset: number;
  /** The last stable offset right after the marker: every transaction aborted later starts at or after it. */
  readonly lastStableOffset: number;
}

/** What a FetchResponse carries per aborted transaction. */
export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export interface DecodedTxnIndex {
  /** The entries up to the first damaged one. */
  readonly entries: AbortedTxn[];
  /** Why decoding stopped before the end of the bytes, or null when every byte was a valid entry. */
  readonly problem: string | null;
}

/**
 * Decodes index bytes up to the first entry that is torn or breaks the index's rules: version 0,
 * a producer id, offsets in order (firstOffset <= lastOffset, markers ascending and at or above
 * `minLastOffset`, the segment's base offset).
 */
export function decodeTxnIndex(bytes: Buffer, minLastOffset: number): DecodedTxnIndex {
  const entries: AbortedTxn[] = [];
  let previousLastOffset = minLastOffset - 1;
  let position = 0;
  for (; position + ABORTED_TXN_BYTES <= bytes.length; position += ABORTED_TXN_BYTES) {
    const version = bytes.readInt16BE(position);
    if (version !== ABORTED_TXN_VERSION) {
      return { entries, problem: `entry at byte ${position} has version ${version}, not ${ABORTED_TXN_VERSION}` };
    }
    let producerId: number;
    let firstOffset: number;
    let lastOffset: number;
    let lastStableOffset: number;
    try {
      producerId = readInt64(bytes, position + 2);
      firstOffset = readInt64(bytes, position + 10);
      lastOffset = readInt64(bytes, position + 18);
      lastStableOffset = readInt64(bytes, position + 26);
    } catch {
      return { entries, problem: `entry at byte ${position} holds a value outside the safe integer range` };
    }
    if (producerId < 0 || firstOffset < 0 || lastStableOffset < 0 || firstOffset > lastOffset) {
      return {
        entries,
        problem:
          `entry at byte ${position} (producerId ${producerId}, firstOffset ${firstOffset}, lastOffset ` +
          `${lastOffset}, lastStableOffset ${lastStableOffset}) is not an aborted transaction`,
      };
    }
    if (lastOffset <= previousLastOffset) {
      return {
        entries,
        problem: `entry at byte ${position} has marker offset ${lastOffset}, not above ${previousLastOffset}`,
      };
    }
    entries.push({ producerId, firstOffset, lastOffset, lastStableOffset });
    previousLastOffset = lastOffset;
  }
  if (position < bytes.length) {
    return { entries, problem: `${bytes.length - position} trailing bytes are a torn entry` };
  }
  return { entries, problem: null };
}

/**
 * Kafka's TransactionIndex.collectAbortedTxns over one segment's entries: adds to `out` every
 * aborted transaction overlapping [fetchOffset, upperBoundOffset), and returns true when no later
 * segment can hold one. That is the case once an entry's lastStableOffset reaches the upper bound:
 * every transaction aborted after it began at or after that LSO, so past the fetched range.
 */
export function collectAbortedTxns(
  entries: readonly AbortedTxn[],
  fetchOffset: number,
  upperBoundOffset: number,
  out: AbortedTransaction[],
): boolean {
  for (const entry of entries) {
    if (entry.lastOffset >= fetchOffset && entry.firstOffset < upperBoundOffset) {
      out.push({ producerId: entry.producerId, firstOffset: entry.firstOffset });
    }
    if (entry.lastStableOffset >= upperBoundOffset) return true;
  }
  return false;
}

/**
 * The entries of a `.txnindex` file, read-only, for a reader on another thread than the log's
 * owner. A missing file has none. A partial last entry (the owner may be writing it) and anything
 * after a damaged entry are left out, so the answer is always a valid prefix.
 */
export function readTxnIndexFile(path: string, segmentBaseOffset = 0): AbortedTxn[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return decodeTxnIndex(bytes, segmentBaseOffset).entries;
}

/** A segment's transaction index, owned by the partition log's thread. */
export class TransactionIndex {
  readonly path: string;
  private readonly baseOffset: number;
  private entries: AbortedTxn[];
  /** The file was written since the last fsync. */
  private dirty = false;
  /** The first marker offset whose entry may be missing or wrong in the file, or null. */
  private damagedFrom: number | null;
  private damage: string | null;
  private readonly scratch = Buffer.allocUnsafe(ABORTED_TXN_BYTES);

  private constructor(path: string, baseOffset: number, entries: AbortedTxn[], damagedFrom: number | null, damage: string | null) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.entries = entries;
    this.damagedFrom = damagedFrom;
    this.damage = damage;
  }

  /** The index of a new segment: no entries, and no file until the first one. */
  static empty(path: string, baseOffset: number): TransactionIndex {
    unlinkIfExists(path);
    return new TransactionIndex(path, baseOffset, [], null, null);
  }

  /**
   * Loads an existing segment's index. A torn or damaged file keeps its valid prefix and reports
   * through `damagedFromOffset` where entries may be missing, for the log to rebuild them.
   */
  static load(path: string, baseOffset: number): TransactionIndex {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new TransactionIndex(path, baseOffset, [], null, null);
      throw error;
    }
    const { entries, problem } = decodeTxnIndex(bytes, baseOffset);
    const damagedFrom = problem === null ? null : entries.length === 0 ? baseOffset : entries[entries.length - 1].lastOffset + 1;
    return new TransactionIndex(path, baseOffset, entries, damagedFrom, problem);
  }

  /** Why the file was found damaged, for the log's warning; null when it is whole. */
  get damageReason(): string | null {
    return this.damage;
  }

  get damagedFromOffset(): number | null {
    return this.damagedFrom;
  }

  get entryCount(): number {
    return this.entries.length;
  }

  get allEntries(): readonly AbortedTxn[] {
    return this.entries;
  }

  /** Adds an entry after the last one. Returns whether that created the file. */
  append(txn: AbortedTxn): boolean {
    const last = this.entries.length === 0 ? this.baseOffset - 1 : this.entries[this.entries.length - 1].lastOffset;
    assert.ok(txn.lastOffset > last, `aborted transaction markers ascend: ${txn.lastOffset} after ${last}`);
    assert.ok(this.damagedFrom === null, 'a damaged transaction index is truncated before it is appended to');
    const buffer = this.scratch;
    buffer.writeInt16BE(ABORTED_TXN_VERSION, 0);
    writeInt64(buffer, 2, txn.producerId);
    writeInt64(buffer, 10, txn.firstOffset);
    writeInt64(buffer, 18, txn.lastOffset);
    writeInt64(buffer, 26, txn.lastStableOffset);
    const created = this.entries.length === 0;
    const fd = openSync(this.path, constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      let done = 0;
      const position = this.entries.length * ABORTED_TXN_BYTES;
      while (done < ABORTED_TXN_BYTES) done += writeSync(fd, buffer, done, ABORTED_TXN_BYTES - done, position + done);
    } finally {
      closeSync(fd);
    }
    this.entries.push(txn);
    this.dirty = true;
    return created;
  }

  /** Kafka's truncateTo: drops the entries whose marker is at or after `offset`, and any damaged tail. */
  truncateTo(offset: number): void {
    let keep = this.entries.length;
    while (keep > 0 && this.entries[keep - 1].lastOffset >= offset) keep--;
    if (keep === this.entries.length && this.damagedFrom === null) return;
    this.entries = this.entries.slice(0, keep);
    this.damagedFrom = null;
    this.damage = null;
    try {
      truncateSync(this.path, keep * ABORTED_TXN_BYTES);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.dirty = true;
  }

  /** See collectAbortedTxns. */
  collect(fetchOffset: number, upperBoundOffset: number, out: AbortedTransaction[]): boolean {
    return collectAbortedTxns(this.entries, fetchOffset, upperBoundOffset, out);
  }

  /** fsyncs the file if it was written since the last flush. Returns whether it did. */
  flush(): boolean {
    if (!this.dirty) return false;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.dirty = false;
      return false;
    }
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.dirty = false;
    return true;
  }

  delete(): void {
    unlinkIfExists(this.path);
    this.entries = [];
    this.dirty = false;
  }
}
