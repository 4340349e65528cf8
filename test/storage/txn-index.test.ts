import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ABORTED_TXN_BYTES,
  TransactionIndex,
  collectAbortedTxns,
  decodeTxnIndex,
  readTxnIndexFile,
  type AbortedTransaction,
  type AbortedTxn,
} from '../../src/storage/txn-index.js';
import { makeTempDir, removeTempDir } from './helpers.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = makeTempDir();
  path = join(dir, '00000000000000000100.txnindex');
});

afterEach(() => {
  removeTempDir(dir);
});

/** Kafka's AbortedTxn layout, written independently of the module under test. */
function kafkaEntry(txn: AbortedTxn, version = 0): Buffer {
  const bytes = Buffer.alloc(34);
  bytes.writeInt16BE(version, 0);
  bytes.writeBigInt64BE(BigInt(txn.producerId), 2);
  bytes.writeBigInt64BE(BigInt(txn.firstOffset), 10);
  bytes.writeBigInt64BE(BigInt(txn.lastOffset), 18);
  bytes.writeBigInt64BE(BigInt(txn.lastStableOffset), 26);
  return bytes;
}

// Consistent with how they arose: B was ongoing when A aborted, C when B aborted.
const A: AbortedTxn = { producerId: 7, firstOffset: 100, lastOffset: 105, lastStableOffset: 103 };
const B: AbortedTxn = { producerId: 9, firstOffset: 103, lastOffset: 110, lastStableOffset: 107 };
const C: AbortedTxn = { producerId: 2 ** 40, firstOffset: 107, lastOffset: 120, lastStableOffset: 121 };

describe('TransactionIndex file', () => {
  it('creates no file until the first entry, then writes Kafka\'s 34-byte entries in marker order', () => {
    const index = TransactionIndex.empty(path, 100);
    expect(existsSync(path)).toBe(false);
    expect(index.append(A)).toBe(true);
    expect(index.append(B)).toBe(false);
    index.append(C);
    expect(ABORTED_TXN_BYTES).toBe(34);
    expect(readFileSync(path).equals(Buffer.concat([kafkaEntry(A), kafkaEntry(B), kafkaEntry(C)]))).toBe(true);
    expect(TransactionIndex.load(path, 100).allEntries).toEqual([A, B, C]);
    expect(readTxnIndexFile(path, 100)).toEqual([A, B, C]);
  });

  it('refuses an entry whose marker does not come after the last one', () => {
    const index = TransactionIndex.empty(path, 100);
    index.append(B);
    expect(() => index.append(A)).toThrow(/ascend/);
  });

  it('truncateTo drops the entries whose marker is at or past the offset, on disk too', () => {
    const index = TransactionIndex.empty(path, 100);
    for (const txn of [A, B, C]) index.append(txn);
    index.truncateTo(111);
    expect(index.allEntries).toEqual([A, B]);
    index.truncateTo(110);
    expect(index.allEntries).toEqual([A]);
    expect(statSync(path).size).toBe(34);
    expect(index.flush()).toBe(true);
    expect(index.flush()).toBe(false);
    index.append(C);
    expect(TransactionIndex.load(path, 100).allEntries).toEqual([A, C]);
  });

  it('a missing file is an empty index', () => {
    expect(TransactionIndex.load(path, 100).entryCount).toBe(0);
    expect(readTxnIndexFile(path)).toEqual([]);
  });

  it('keeps the valid prefix of a torn or damaged file and says from which marker offset entries may be missing', () => {
    writeFileSync(path, Buffer.concat([kafkaEntry(A), kafkaEntry(B), kafkaEntry(C).subarray(0, 20)]));
    const torn = TransactionIndex.load(path, 100);
    expect(torn.allEntries).toEqual([A, B]);
    expect(torn.damagedFromOffset).toBe(111);
    expect(torn.damageReason).toMatch(/torn/);
    expect(readTxnIndexFile(path, 100)).toEqual([A, B]);
    torn.truncateTo(111);
    expect(torn.damagedFromOffset).toBeNull();
    expect(statSync(path).size).toBe(68);

    writeFileSync(path, Buffer.concat([kafkaEntry(A), kafkaEntry(B, 1), kafkaEntry(C)]));
    const badVersion = TransactionIndex.load(path, 100);
    expect(badVersion.allEntries).toEqual([A]);
    expect(badVersion.damagedFromOffset).toBe(106);

    writeFileSync(path, Buffer.concat([kafkaEntry(B), kafkaEntry(A)]));
    expect(decodeTxnIndex(readFileSync(path), 100).problem).toMatch(/not above 110/);
    writeFileSync(path, kafkaEntry({ producerId: 1, firstOffset: 50, lastOffset: 60, lastStableOffset: 61 }));
    const belowBase = TransactionIndex.load(path, 100);
    expect(belowBase.entryCount).toBe(0);
    expect(belowBase.damagedFromOffset).toBe(100);
  });
});

describe('collectAbortedTxns (Kafka\'s fetch-side search)', () => {
  it('returns exactly the transactions overlapping [fetchOffset, upperBound)', () => {
    const cases: [number, number, number[]][] = [
      [0, 100, []],
      [0, 101, [7]],
      [105, 106, [7, 9]],
      [106, 120, [9, 2 ** 40]],
      [111, 130, [2 ** 40]],
      [121, 200, []],
    ];
    for (const [from, upTo, producers] of cases) {
      const out: AbortedTransaction[] = [];
      collectAbortedTxns([A, B, C], from, upTo, out);
      expect(out.map((txn) => txn.producerId), `[${from}, ${upTo})`).toEqual(producers);
    }
  });

  it('is complete once an entry\'s last stable offset reaches the upper bound, and says to go on otherwise', () => {
    expect(collectAbortedTxns([A, B, C], 0, 106, [])).toBe(true);
    expect(collectAbortedTxns([A, B, C], 0, 122, [])).toBe(false);
    expect(collectAbortedTxns([], 0, 1, [])).toBe(false);
  });
});
