/**
 * 100,000 records in batches of mixed sizes across many segments, checked against an independent
 * linear scan of the segment files: every lookup the indexes serve, and the index files' bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionLog } from '../../src/storage/partition-log.js';
import {
  CapturingLogger,
  DEFAULT_BASE_TIMESTAMP_MS,
  buildBatch,
  makeTempDir,
  removeTempDir,
  scanLogFiles,
  type ScannedBatch,
  readLog,
  offsetForTimestampOf,
} from './helpers.js';
import { seededIntBelow } from '../support/prng.js';

const RECORD_COUNT = 100_000;
const CONFIG = { segmentBytes: 256 * 1024, indexIntervalBytes: 4096, retentionMs: -1 };

let dir: string;
let log: PartitionLog;
let oracle: ScannedBatch[];

beforeAll(() => {
  dir = makeTempDir();
  log = PartitionLog.open(dir, CONFIG, { logger: new CapturingLogger() });
  const next = seededIntBelow(42);
  let records = 0;
  while (records < RECORD_COUNT) {
    const pending: Buffer[] = [];
    for (let i = 1 + next(3); i > 0 && records < RECORD_COUNT; i--) {
      const count = Math.min(1 + next(next(10) === 0 ? 400 : 40), RECORD_COUNT - records);
      // Timestamps mostly rise, with producer clocks sometimes behind.
      const baseTimestamp = DEFAULT_BASE_TIMESTAMP_MS + records - next(2000);
      pending.push(buildBatch({ records: count, valueBytes: next(65), fill: records & 0xff, baseTimestamp }));
      records += count;
    }
    log.append(Buffer.concat(pending));
  }
  oracle = scanLogFiles(dir);
});

afterAll(() => {
  log.close();
  removeTempDir(dir);
});

/** The oracle batch holding `offset`, by binary search over the scan. */
function oracleIndexOf(offset: number): number {
  let low = 0;
  let high = oracle.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (oracle[middle].lastOffset < offset) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** What a read of `maxBytes` from the batch at oracle index `first` must return. */
function expectedRead(first: number, maxBytes: number): { bytes: Buffer; nextOffset: number } {
  const limit = Math.max(maxBytes, oracle[first].sizeBytes);
  let end = first;
  let size = 0;
  while (end < oracle.length && oracle[end].file === oracle[first].file && size + oracle[end].sizeBytes <= limit) {
    size += oracle[end].sizeBytes;
    end++;
  }
  return {
    bytes: Buffer.concat(oracle.slice(first, end).map((batch) => batch.bytes)),
    nextOffset: oracle[end - 1].lastOffset + 1,
  };
}

describe('index lookups over 100,000 records', () => {
  it('holds exactly the records appended, densely numbered, in many segments', () => {
    expect(log.logEndOffset).toBe(RECORD_COUNT);
    expect(log.segmentInfos().length).toBeGreaterThan(10);
    expect(oracle[0].baseOffset).toBe(0);
    for (let i = 1; i < oracle.length; i++) expect(oracle[i].baseOffset).toBe(oracle[i - 1].lastOffset + 1);
    expect(oracle.at(-1)!.lastOffset).toBe(RECORD_COUNT - 1);
  });

  it('LogReader returns the batch holding each of 3000 random offsets, as the linear scan finds it', () => {
    const next = seededIntBelow(7);
    for (let i = 0; i < 3000; i++) {
      const offset = next(RECORD_COUNT);
      const maxBytes = next(4) === 0 ? 0 : next(20_000);
      const first = oracleIndexOf(offset);
      const expected = expectedRead(first, maxBytes);
      const read = readLog(log, offset, maxBytes);
      expect(read.nextOffset).toBe(expected.nextOffset);
      expect(read.bytes.equals(expected.bytes)).toBe(true);
    }
  });

  it('reads every batch boundary exactly: first and last offset of each batch', () => {
    for (let i = 0; i < oracle.length; i += 3) {
      expect(readLog(log, oracle[i].baseOffset, 1).bytes.equals(oracle[i].bytes)).toBe(true);
      expect(readLog(log, oracle[i].lastOffset, 1).bytes.equals(oracle[i].bytes)).toBe(true);
    }
  });

  it('offsetForTimestamp matches a brute-force scan for 2000 random targets', () => {
    const next = seededIntBelow(99);
    const maxTimestamp = Math.max(...oracle.map((batch) => batch.maxTimestamp));
    for (let i = 0; i < 2000; i++) {
      const target = DEFAULT_BASE_TIMESTAMP_MS - 3000 + next(RECORD_COUNT + 6000);
      const expected = oracle.find((batch) => batch.maxTimestamp >= target)?.baseOffset ?? null;
      expect(offsetForTimestampOf(log, target)).toBe(expected);
    }
    expect(offsetForTimestampOf(log, maxTimestamp + 1)).toBeNull();
  });

  it('writes index files in Kafka layout with exactly the entries Kafka\'s per-batch rule gives', () => {
    const files = [...new Set(oracle.map((batch) => batch.file))];
    const lastFile = files.at(-1)!;
    let totalEntries = 0;
    for (const file of files) {
      const baseOffset = Number(file.slice(0, 20));
      const batches = oracle.filter((batch) => batch.file === file);
      const expectedOffsets: number[] = [];
      const expectedTimes: number[] = [];
      let bytesSinceLastEntry = 0;
      let maxTimestamp = -1;
      let offsetOfMaxTimestamp = baseOffset;
      const timeEntry = (): void => {
        if (maxTimestamp > (expectedTimes.length === 0 ? -1 : expectedTimes[expectedTimes.length - 2])) {
          expectedTimes.push(maxTimestamp, offsetOfMaxTimestamp - baseOffset);
        }
      };
      for (const batch of batches) {
        if (batch.maxTimestamp > maxTimestamp) {
          maxTimestamp = batch.maxTimestamp;
          offsetOfMaxTimestamp = batch.lastOffset;
        }
        if (bytesSinceLastEntry > CONFIG.indexIntervalBytes) {
          expectedOffsets.push(batch.lastOffset - baseOffset, batch.position);
          timeEntry();
          bytesSinceLastEntry = 0;
        }
        bytesSinceLastEntry += batch.sizeBytes;
      }
      // An inactive segment records its largest timestamp when it is rolled.
      if (file !== lastFile) timeEntry();

      const index = readFileSync(join(dir, file.replace('.log', '.index')));
      const actualOffsets: number[] = [];
      for (let at = 0; at < index.length; at += 8) actualOffsets.push(index.readInt32BE(at), index.readInt32BE(at + 4));
      expect(actualOffsets).toEqual(expectedOffsets);

      const timeIndex = readFileSync(join(dir, file.replace('.log', '.timeindex')));
      const actualTimes: number[] = [];
      for (let at = 0; at < timeIndex.length; at += 12) {
        actualTimes.push(Number(timeIndex.readBigInt64BE(at)), timeIndex.readInt32BE(at + 8));
      }
      expect(actualTimes).toEqual(expectedTimes);
      totalEntries += index.length / 8;
    }
    // Sparse: about one entry per indexIntervalBytes of log.
    const logBytes = oracle.reduce((sum, batch) => sum + batch.sizeBytes, 0);
    expect(totalEntries).toBeGreaterThan(logBytes / CONFIG.indexIntervalBytes / 2);
    expect(totalEntries).toBeLessThan(logBytes / CONFIG.indexIntervalBytes);
  });

  it('serves the same answers after a reopen', () => {
    log.close();
    log = PartitionLog.open(dir, CONFIG, { logger: new CapturingLogger() });
    expect(log.recovery.indexesRebuilt).toBe(0);
    const next = seededIntBelow(3);
    for (let i = 0; i < 500; i++) {
      const offset = next(RECORD_COUNT);
      const expected = expectedRead(oracleIndexOf(offset), 1);
      expect(readLog(log, offset, 1).bytes.equals(expected.bytes)).toBe(true);
    }
    expect(readLog(log, RECORD_COUNT - 1, 1 << 20).bytes.equals(oracle.at(-1)!.bytes)).toBe(true);
  });
});
