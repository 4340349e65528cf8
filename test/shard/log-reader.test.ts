import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OffsetOutOfRangeError } from '../../src/errors.js';
import { LogReader, type ReadBounds } from '../../src/storage/log-reader.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { DEFAULT_BASE_TIMESTAMP_MS, buildBatch, makeTempDir, removeTempDir, scanLogFiles, type ScannedBatch } from '../storage/helpers.js';

/** The log's owner and a reader of the same directory, as on two threads, driven step by step here. */
let dir: string;
let log: PartitionLog;
let reader: LogReader;
let epoch = 0;

function bounds(readableEndOffset = log.logEndOffset): ReadBounds {
  return { logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, readableEndOffset, storageEpoch: epoch };
}

function read(offset: number, maxBytes: number, highWatermark = log.logEndOffset) {
  const at = bounds(highWatermark);
  return reader.read(offset, maxBytes, at, () => bounds(highWatermark));
}

function appendBatches(count: number, recordsPerBatch: number, fill = 1): void {
  for (let i = 0; i < count; i++) log.append(buildBatch({ records: recordsPerBatch, valueBytes: 100, fill: (fill + i) & 0xff }));
}

function batchesFrom(oracle: ScannedBatch[], offset: number): ScannedBatch[] {
  return oracle.filter((batch) => batch.lastOffset >= offset);
}

beforeEach(() => {
  dir = makeTempDir();
  log = PartitionLog.open(dir, { segmentBytes: 4096, indexIntervalBytes: 512 });
  reader = new LogReader(dir);
  epoch = 0;
});

afterEach(() => {
  reader.close();
  log.close();
  removeTempDir(dir);
});

describe('LogReader', () => {
  it('reads nothing from an empty log and refuses offsets outside it', () => {
    expect(read(0, 1000)).toEqual({ records: Buffer.alloc(0), nextOffset: 0 });
    expect(() => read(1, 1000)).toThrow(OffsetOutOfRangeError);
  });

  it('returns the whole batch holding each offset, at least one even past maxBytes', () => {
    appendBatches(60, 4);
    const oracle = scanLogFiles(dir);
    expect(new Set(oracle.map((batch) => batch.file)).size).toBeGreaterThan(3);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      const expected = batchesFrom(oracle, offset)[0];
      const result = read(offset, 1);
      expect(result.records.equals(expected.bytes)).toBe(true);
      expect(result.nextOffset).toBe(expected.lastOffset + 1);
    }
  });

  it('returns as many whole batches of one segment as fit in maxBytes, exactly the stored bytes', () => {
    appendBatches(60, 4);
    const oracle = scanLogFiles(dir);
    for (const maxBytes of [500, 1000, 2000, 4096, 100_000]) {
      for (let offset = 0; offset < log.logEndOffset; offset += 7) {
        const result = read(offset, maxBytes);
        const candidates = batchesFrom(oracle, offset);
        const file = candidates[0].file;
        let size = 0;
        const expected: ScannedBatch[] = [];
        for (const batch of candidates) {
          if (batch.file !== file || (expected.length > 0 && size + batch.sizeBytes > maxBytes)) break;
          expected.push(batch);
          size += batch.sizeBytes;
        }
        expect(result.records.equals(Buffer.concat(expected.map((batch) => batch.bytes)))).toBe(true);
        expect(result.nextOffset).toBe(expected[expected.length - 1].lastOffset + 1);
      }
    }
  });

  it('answers from the header window when it holds the whole answer, from the file otherwise, and never hands out the window itself', () => {
    // Segments far larger than the 16 KiB header window, batches of about 1 KiB.
    log.close();
    reader.close();
    removeTempDir(dir);
    dir = makeTempDir();
    log = PartitionLog.open(dir, { segmentBytes: 1 << 20, indexIntervalBytes: 4096 });
    reader = new LogReader(dir);
    appendBatches(100, 10);
    const oracle = scanLogFiles(dir);
    const expectedFrom = (offset: number, maxBytes: number): Buffer => {
      const taken: Buffer[] = [];
      let size = 0;
      for (const batch of batchesFrom(oracle, offset)) {
        if (taken.length > 0 && size + batch.sizeBytes > maxBytes) break;
        taken.push(batch.bytes);
        size += batch.sizeBytes;
      }
      return Buffer.concat(taken);
    };
    // One batch (inside the window), a few, and 64 KiB (past it, read from the file).
    const small = read(0, 1);
    expect(small.records.equals(expectedFrom(0, 1))).toBe(true);
    expect(read(35, 5000).records.equals(expectedFrom(35, 5000))).toBe(true);
    const large = read(10, 64 * 1024);
    expect(large.records.length).toBeGreaterThan(16 * 1024);
    expect(large.records.equals(expectedFrom(10, 64 * 1024))).toBe(true);
    // Reads elsewhere in the file reload the window: an earlier answer stays what it was.
    read(900, 1);
    read(500, 3000);
    expect(small.records.equals(expectedFrom(0, 1))).toBe(true);
  });

  it('never returns a batch at or past the high watermark', () => {
    appendBatches(10, 4);
    // 40 records; the high watermark at 18 falls inside the batch holding 16..19.
    expect(read(16, 100_000, 18)).toEqual({ records: Buffer.alloc(0), nextOffset: 16 });
    const result = read(0, 100_000, 18);
    expect(result.nextOffset).toBe(16);
    expect(scanLogFiles(dir).filter((batch) => batch.lastOffset < 16).reduce((sum, batch) => sum + batch.sizeBytes, 0)).toBe(result.records.length);
    // Between the readable end and the log end: nothing yet, not an error (as Kafka answers).
    expect(read(18, 100_000, 18)).toEqual({ records: Buffer.alloc(0), nextOffset: 18 });
    expect(read(30, 100_000, 18)).toEqual({ records: Buffer.alloc(0), nextOffset: 30 });
    expect(read(40, 100_000, 18).records.length).toBe(0);
    expect(() => read(41, 100_000, 18)).toThrow(OffsetOutOfRangeError);
  });

  it('sees segments and index entries the writer added after its first read', () => {
    appendBatches(3, 4);
    expect(read(0, 100_000).nextOffset).toBe(12);
    appendBatches(80, 4, 9);
    const oracle = scanLogFiles(dir);
    const last = oracle[oracle.length - 1];
    const result = read(last.baseOffset, 1);
    expect(result.records.equals(last.bytes)).toBe(true);
    let offset = 0;
    const collected: Buffer[] = [];
    while (offset < log.logEndOffset) {
      const step = read(offset, 1500);
      collected.push(step.records);
      offset = step.nextOffset;
    }
    expect(Buffer.concat(collected).equals(Buffer.concat(oracle.map((batch) => batch.bytes)))).toBe(true);
  });

  it('serves a readable end that stays put from the size it last saw, and the new batches once it moves', () => {
    appendBatches(2, 4);
    const first = read(0, 100_000, 8);
    expect(first.nextOffset).toBe(8);
    // The writer appends to the same segment, the readable end has not moved yet.
    appendBatches(3, 4, 7);
    const oracle = scanLogFiles(dir);
    expect(new Set(oracle.map((batch) => batch.file)).size).toBe(1);
    expect(read(0, 100_000, 8)).toEqual(first);
    expect(read(8, 100_000, 8)).toEqual({ records: Buffer.alloc(0), nextOffset: 8 });
    // Now it has: the reader looks at the file again and returns the batches below it.
    const moved = read(8, 100_000, 20);
    expect(moved.records.equals(Buffer.concat(batchesFrom(oracle, 8).map((batch) => batch.bytes)))).toBe(true);
    expect(moved.nextOffset).toBe(20);
    expect(read(0, 100_000, 20).records.equals(Buffer.concat(oracle.map((batch) => batch.bytes)))).toBe(true);
  });

  it('refuses offsets below a log start moved by deleteRecords, and reads the rest', () => {
    appendBatches(60, 4);
    expect(read(0, 1).nextOffset).toBe(4);
    log.deleteRecordsBefore(150);
    epoch++;
    expect(() => read(0, 1)).toThrow(OffsetOutOfRangeError);
    expect(() => read(149, 1)).toThrow(OffsetOutOfRangeError);
    const oracle = scanLogFiles(dir);
    expect(read(150, 1).records.equals(batchesFrom(oracle, 150)[0].bytes)).toBe(true);
  });

  it('reads the new data after a truncation, even when the read began before it was published', () => {
    appendBatches(60, 4);
    expect(read(200, 100_000).records.length).toBeGreaterThan(0);
    const staleBounds = bounds();
    log.truncateTo(100);
    appendBatches(30, 4, 200);
    epoch++;
    const oracle = scanLogFiles(dir);
    // The read starts with the old epoch (its cached view is stale) and learns of the truncation
    // from the bounds it re-reads afterwards: it must retry on a fresh view.
    // Offset 200 sits in a segment that was deleted and created again under the same name: the
    // cached descriptor still reads the old file.
    const result = reader.read(200, 1, staleBounds, () => bounds());
    expect(result.records.equals(batchesFrom(oracle, 200)[0].bytes)).toBe(true);
    expect(read(100, 1).records.equals(batchesFrom(oracle, 100)[0].bytes)).toBe(true);
  });

  it('answers MAX_TIMESTAMP from the time indexes and the headers after their last entry, as a full scan would', () => {
    expect(reader.maxTimestampBatch(bounds(), () => bounds())).toBeNull();
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    // Timestamps that rise and fall, with the largest reached twice in one segment and once more
    // in a later one: the answer is its first batch, in the earliest segment holding it.
    const spread = [5, 90, 40, 300, 120, 300, 60, 7, 250, 300, 11, 299, 2, 180];
    for (let i = 0; i < 70; i++) {
      if (i === 35) log.becomeLeader(4);
      log.append(buildBatch({ records: 2, valueBytes: 100, baseTimestamp: t0 + spread[i % spread.length] + (i === 50 ? 1000 : 0) - (i > 50 ? 2000 : 0) }));
    }
    const oracle = scanLogFiles(dir);
    expect(new Set(oracle.map((batch) => batch.file)).size).toBeGreaterThan(3);
    const expected = (readableEnd: number, logStart = 0) => {
      const candidates = oracle.filter((batch) => batch.lastOffset < readableEnd && batch.lastOffset >= logStart);
      const max = Math.max(...candidates.map((batch) => batch.maxTimestamp));
      const first = candidates.find((batch) => batch.maxTimestamp === max)!;
      return { offset: Math.max(first.baseOffset, logStart), maxTimestampMs: max, leaderEpoch: first.bytes.readInt32BE(12) };
    };
    expect(reader.maxTimestampBatch(bounds(), () => bounds())).toEqual(expected(log.logEndOffset));
    expect(reader.maxTimestampBatch(bounds(), () => bounds())).toMatchObject({ offset: 100, leaderEpoch: 4 });
    // Below the batch carrying it, the largest before it wins; every readable end agrees with the scan.
    for (const readableEnd of [2, 7, 8, 21, 40, 99, 100, 101]) {
      expect(reader.maxTimestampBatch(bounds(readableEnd), () => bounds(readableEnd)), `readable end ${readableEnd}`).toEqual(expected(readableEnd));
    }
    // The log start offset cuts the first segment: the scan starts there.
    log.deleteRecordsBefore(9);
    epoch++;
    expect(reader.maxTimestampBatch(bounds(99), () => bounds(99))).toEqual(expected(99, 9));
  });

  it('answers ListOffsets by timestamp through the time index, across segments, below the readable end', () => {
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    for (let i = 0; i < 80; i++) log.append(buildBatch({ records: 2, valueBytes: 100, baseTimestamp: t0 + i * 10 }));
    expect(new Set(scanLogFiles(dir).map((batch) => batch.file)).size).toBeGreaterThan(3);
    const lookup = (timestampMs: number, readableEnd = log.logEndOffset): number | null =>
      reader.offsetForTimestamp(timestampMs, bounds(readableEnd), () => bounds(readableEnd))?.offset ?? null;
    // The oracle: the first stored batch whose max timestamp reaches the target.
    const oracle = scanLogFiles(dir);
    for (const target of [0, t0, t0 + 1, t0 + 10, t0 + 395, t0 + 400, t0 + 790, t0 + 791, t0 + 10_000]) {
      const first = oracle.find((batch) => batch.maxTimestamp >= target);
      expect(lookup(target)).toBe(first === undefined ? null : first.baseOffset);
    }
    // Batches at or past the readable end are never the answer.
    expect(lookup(t0 + 400, 80)).toBeNull();
    expect(lookup(t0 + 390, 80)).toBe(78);
    // Below a moved log start the answer is raised to it, or taken from the batches after it.
    log.deleteRecordsBefore(101);
    epoch++;
    expect(lookup(t0)).toBe(101);
    expect(lookup(t0 + 510)).toBe(102);
    expect(() => lookup(-1)).toThrow(/timestamp in ms >= 0/);
  });

  it('finds timestamps in segment files whose time index is torn or damaged, by scanning their headers', () => {
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    for (let i = 0; i < 80; i++) log.append(buildBatch({ records: 2, valueBytes: 100, baseTimestamp: t0 + i * 10 }));
    const timeIndexes = readdirSync(dir).filter((name) => name.endsWith('.timeindex')).sort();
    writeFileSync(join(dir, timeIndexes[0]), Buffer.alloc(5));
    writeFileSync(join(dir, timeIndexes[1]), Buffer.alloc(24, 0xff));
    const oracle = scanLogFiles(dir);
    for (const target of [t0 + 5, t0 + 150, t0 + 300]) {
      expect(reader.offsetForTimestamp(target, bounds(), () => bounds())?.offset).toBe(oracle.find((batch) => batch.maxTimestamp >= target)!.baseOffset);
    }
  });
});
