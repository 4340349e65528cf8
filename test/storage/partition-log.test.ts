import { closeSync, existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  CorruptRecordError,
  InvalidConfigError,
  InvalidRecordError,
  InvalidRequestError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
} from '../../src/errors.js';
import { TIMESTAMP_TYPE_MASK, validateBatchAt } from '../../src/protocol/batch-header.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';
import { Segment } from '../../src/storage/segment.js';
import {
  CapturingLogger,
  DEFAULT_BASE_TIMESTAMP_MS,
  ManualClock,
  buildBatch,
  makeTempDir,
  removeTempDir,
  resealCrc,
  scanLogFiles,
  readLog,
  offsetForTimestampOf,
} from './helpers.js';

let dir: string;
let openLogs: PartitionLog[];

beforeEach(() => {
  dir = makeTempDir();
  openLogs = [];
});

afterEach(() => {
  for (const log of openLogs) log.close();
  removeTempDir(dir);
});

function open(config: Partial<LogConfig> = {}, options: PartitionLogOptions = {}): PartitionLog {
  const log = PartitionLog.open(dir, config, { logger: new CapturingLogger(), ...options });
  openLogs.push(log);
  return log;
}

function reopen(log: PartitionLog, config: Partial<LogConfig> = {}, options: PartitionLogOptions = {}): PartitionLog {
  log.close();
  return open(config, options);
}

/** Reads the whole log from its start through read(), batch run by batch run. */
function readAll(log: PartitionLog, maxBytes = 1 << 20): Buffer {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const result = readLog(log, offset, maxBytes);
    parts.push(result.bytes);
    offset = result.nextOffset;
  }
  return Buffer.concat(parts);
}

describe('append', () => {
  it('assigns dense offsets across batches and appends, rewriting baseOffset without breaking the CRC', () => {
    const log = open();
    const first = log.append(Buffer.concat([buildBatch({ records: 3 }), buildBatch({ records: 2 })]));
    expect(first).toMatchObject({ baseOffset: 0, lastOffset: 4, logEndOffset: 5, batchCount: 2, logAppendTimeMs: -1 });
    const second = log.append(buildBatch({ records: 1 }));
    expect(second).toMatchObject({ baseOffset: 5, lastOffset: 5, logEndOffset: 6, logStartOffset: 0 });

    const batches = scanLogFiles(dir);
    expect(batches.map((batch) => [batch.baseOffset, batch.lastOffset])).toEqual([
      [0, 2],
      [3, 4],
      [5, 5],
    ]);
    for (const batch of batches) expect(validateBatchAt(batch.bytes, 0)).toBe(batch.sizeBytes);
    expect(readdirSync(dir).sort()).toEqual([
      '00000000000000000000.index',
      '00000000000000000000.log',
      '00000000000000000000.timeindex',
      'leader-epoch-checkpoint',
    ]);
  });

  it('rejects an append holding a corrupt batch whole: nothing is written, offsets do not move', () => {
    const log = open();
    log.append(buildBatch({ records: 2 }));
    const sizeBefore = statSync(join(dir, '00000000000000000000.log')).size;
    const good = buildBatch({ records: 3 });
    const bad = buildBatch({ records: 3 });
    bad[bad.length - 1] ^= 0x01;
    const input = Buffer.concat([good, bad]);
    const inputCopy = Buffer.from(input);

    expect(() => log.append(input)).toThrow(CorruptRecordError);
    expect(input.equals(inputCopy)).toBe(true);
    expect(statSync(join(dir, '00000000000000000000.log')).size).toBe(sizeBefore);
    expect(log.logEndOffset).toBe(2);
    expect(log.append(good).baseOffset).toBe(2);
  });

  it('rejects torn input, batches whose offset deltas do not match their count, and empty batches', () => {
    const log = open();
    const batch = buildBatch({ records: 2 });
    expect(() => log.append(batch.subarray(0, batch.length - 1))).toThrow(CorruptRecordError);

    const wrongDelta = buildBatch({ records: 3 });
    wrongDelta.writeInt32BE(5, 23);
    resealCrc(wrongDelta);
    expect(() => log.append(wrongDelta)).toThrow(InvalidRecordError);
    expect(() => log.append(wrongDelta)).toThrow(/lastOffsetDelta 5 and record count 3/);

    const empty = buildBatch({ records: [] });
    empty.writeInt32BE(0, 23);
    resealCrc(empty);
    expect(() => log.append(empty)).toThrow(/record count 0/);
    expect(log.logEndOffset).toBe(0);
    expect(statSync(join(dir, '00000000000000000000.log')).size).toBe(0);
  });

  it('with crcVerified skips only the CRC pass: structure and counts are still checked', () => {
    const log = open();
    const badCrc = buildBatch({ records: 2 });
    badCrc.writeUInt32BE(badCrc.readUInt32BE(17) ^ 0xffff, 17);
    expect(() => log.append(Buffer.from(badCrc))).toThrow(/CRC mismatch/);
    // The caller vouches for the CRC (it computed or checked it), so the owner does not recompute it.
    expect(log.append(Buffer.from(badCrc), { crcVerified: true }).baseOffset).toBe(0);

    const torn = buildBatch({ records: 2 });
    expect(() => log.append(torn.subarray(0, torn.length - 1), { crcVerified: true })).toThrow(CorruptRecordError);
    const wrongDelta = buildBatch({ records: 3 });
    wrongDelta.writeInt32BE(5, 23);
    expect(() => log.append(wrongDelta, { crcVerified: true })).toThrow(/lastOffsetDelta 5 and record count 3/);
    expect(log.logEndOffset).toBe(2);
  });

  it('rejects arguments that are not whole batches with InvalidRequestError', () => {
    const log = open();
    expect(() => log.append(Buffer.alloc(0))).toThrow(InvalidRequestError);
    expect(() => log.append('batches' as unknown as Buffer)).toThrow(InvalidRequestError);
  });

  it('enforces maxMessageBytes per batch: at the limit is accepted, one byte over is rejected', () => {
    const atLimit = buildBatch({ records: 4, valueBytes: 50 });
    const log = open({ maxMessageBytes: atLimit.length });
    expect(log.append(atLimit).lastOffset).toBe(3);
    const over = buildBatch({ records: 4, valueBytes: 51 });
    expect(() => log.append(over)).toThrow(RecordTooLargeError);
    expect(() => log.append(over)).toThrow(/maxMessageBytes/);
    expect(log.logEndOffset).toBe(4);
  });

  it('rejects an append larger than segmentBytes, as Kafka does', () => {
    const batch = buildBatch({ records: 2, valueBytes: 100 });
    const log = open({ segmentBytes: batch.length * 2 - 1 });
    expect(() => log.append(Buffer.concat([batch, buildBatch({ records: 2, valueBytes: 100 })]))).toThrow(/segmentBytes/);
    expect(log.append(batch).baseOffset).toBe(0);
  });

  it('under LogAppendTime stamps the batch with the append time and timestamp type, keeping the CRC valid', () => {
    const clock = new ManualClock(1_800_000_000_000);
    const log = open({ messageTimestampType: 'LogAppendTime' }, { nowMs: clock.nowMs });
    const result = log.append(buildBatch({ records: 2, baseTimestamp: 5 }));
    expect(result.logAppendTimeMs).toBe(clock.now);
    const [stored] = scanLogFiles(dir);
    expect(stored.maxTimestamp).toBe(clock.now);
    expect(stored.bytes.readInt16BE(21) & TIMESTAMP_TYPE_MASK).toBe(TIMESTAMP_TYPE_MASK);
    expect(validateBatchAt(stored.bytes, 0)).toBe(stored.sizeBytes);
  });
});

describe('reads through LogReader', () => {
  it('returns the whole batch holding the offset, even when it starts before it', () => {
    const log = open();
    const batches = [buildBatch({ records: 5, fill: 1 }), buildBatch({ records: 5, fill: 2 })];
    log.append(Buffer.concat(batches));
    const result = readLog(log, 7, 1);
    expect(result.bytes.equals(scanLogFiles(dir)[1].bytes)).toBe(true);
    expect(result).toMatchObject({ nextOffset: 10, logStartOffset: 0, logEndOffset: 10 });
  });

  it('returns at least one whole batch when maxBytes is smaller, otherwise only whole batches that fit', () => {
    const log = open();
    for (let i = 0; i < 5; i++) log.append(buildBatch({ records: 2, valueBytes: 40 }));
    const size = scanLogFiles(dir)[0].sizeBytes;
    expect(readLog(log, 0, 0).bytes.length).toBe(size);
    expect(readLog(log, 0, 1).nextOffset).toBe(2);
    const partial = readLog(log, 0, Math.floor(size * 2.5));
    expect(partial.bytes.length).toBe(size * 2);
    expect(partial.nextOffset).toBe(4);
    expect(readLog(log, 0, 1 << 20).bytes.length).toBe(size * 5);
  });

  it('returns empty bytes at the log end and OffsetOutOfRangeError beyond either end', () => {
    const log = open();
    log.append(buildBatch({ records: 3 }));
    expect(readLog(log, 3, 100)).toMatchObject({ nextOffset: 3, logEndOffset: 3 });
    expect(readLog(log, 3, 100).bytes.length).toBe(0);
    expect(() => readLog(log, 4, 100)).toThrow(OffsetOutOfRangeError);
    log.deleteRecordsBefore(2);
    expect(() => readLog(log, 1, 100)).toThrow(OffsetOutOfRangeError);
    expect(readLog(log, 2, 100).bytes.length).toBeGreaterThan(0);
  });

  it('reads from one segment per call and continues in the next', () => {
    const batch = buildBatch({ records: 2, valueBytes: 30 });
    const log = open({ segmentBytes: batch.length * 2 });
    for (let i = 0; i < 5; i++) log.append(buildBatch({ records: 2, valueBytes: 30 }));
    expect(log.segmentInfos().length).toBe(3);
    const first = readLog(log, 0, 1 << 20);
    expect(first.bytes.length).toBe(batch.length * 2);
    expect(first.nextOffset).toBe(4);
    expect(readLog(log, 4, 1 << 20).nextOffset).toBe(8);
  });

  it('serves byte-identical reads after close and reopen', () => {
    const config = { segmentBytes: 2000, indexIntervalBytes: 200 };
    let log = open(config);
    for (let i = 0; i < 60; i++) log.append(buildBatch({ records: 1 + (i % 3), valueBytes: 10 + i, fill: i }));
    const before = readAll(log, 700);
    const offsetsBefore = [log.logStartOffset, log.logEndOffset];
    log = reopen(log, config);
    expect([log.logStartOffset, log.logEndOffset]).toEqual(offsetsBefore);
    expect(readAll(log, 700).equals(before)).toBe(true);
    expect(log.recovery.segmentsRecovered).toBe(1);
    expect(log.append(buildBatch()).baseOffset).toBe(offsetsBefore[1]);
  });
});

describe('roll', () => {
  it('rolls when the active segment would exceed segmentBytes, naming files by 20-digit base offset', () => {
    const size = buildBatch({ records: 3, valueBytes: 20 }).length;
    const log = open({ segmentBytes: size * 3 });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 3, valueBytes: 20 }));
    const segments = log.segmentInfos();
    expect(segments.map((segment) => segment.baseOffset)).toEqual([0, 9, 18, 27]);
    expect(segments.map((segment) => segment.sizeBytes)).toEqual([size * 3, size * 3, size * 3, size]);
    expect(existsSync(join(dir, '00000000000000000027.log'))).toBe(true);
    expect(existsSync(join(dir, '00000000000000000027.timeindex'))).toBe(true);
  });

  it('rolls by time measured from the first batch timestamp to the incoming one (Kafka rule)', () => {
    const log = open({ segmentMs: 1000 });
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    log.append(buildBatch({ baseTimestamp: t0 }));
    log.append(buildBatch({ baseTimestamp: t0 + 1000 }));
    expect(log.segmentInfos().length).toBe(1);
    log.append(buildBatch({ baseTimestamp: t0 + 1001 }));
    expect(log.segmentInfos().map((segment) => segment.baseOffset)).toEqual([0, 2]);
  });

  it('rolls by the clock since the segment was created when batches carry no timestamp', () => {
    const clock = new ManualClock();
    const log = open({ segmentMs: 1000 }, { nowMs: clock.nowMs });
    log.append(buildBatch({ baseTimestamp: -1, maxTimestamp: -1 }));
    clock.now += 1000;
    log.append(buildBatch({ baseTimestamp: -1, maxTimestamp: -1 }));
    expect(log.segmentInfos().length).toBe(1);
    clock.now += 1;
    log.append(buildBatch({ baseTimestamp: -1, maxTimestamp: -1 }));
    expect(log.segmentInfos().map((segment) => segment.baseOffset)).toEqual([0, 2]);
  });

  it('rolls when an index is full (segmentIndexBytes)', () => {
    // 24 bytes hold 3 offset entries and 2 time entries; an interval of 0 indexes every batch after the first.
    const log = open({ segmentIndexBytes: 24, indexIntervalBytes: 0 });
    for (let i = 0; i < 8; i++) log.append(buildBatch({ baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS + i }));
    const segments = log.segmentInfos();
    expect(segments.map((segment) => segment.baseOffset)).toEqual([0, 3, 6]);
    expect(segments[0].timeIndexEntries).toBe(2);
  });

  it('rolls before relative offsets would overflow the indexes\' int32', () => {
    // Appends are decoded record by record, so 2^31 offsets cannot be reached with real batches in
    // a test; the rule is the active segment's, asked as the log asks it before each append.
    const segment = Segment.create(dir, 0, { indexIntervalBytes: 4096, maxOffsetIndexEntries: 10, maxTimeIndexEntries: 10, logger: new CapturingLogger() }, 0);
    const week = 7 * 24 * 3600 * 1000;
    expect(segment.shouldRoll(100, -1, 2 ** 31 - 1, 0, 2 ** 30, week)).toBe(false);
    expect(segment.shouldRoll(100, -1, 2 ** 31, 0, 2 ** 30, week)).toBe(true);
    segment.close();
  });

  it('roll() starts a segment at the log end offset, and is a no-op on an empty active segment', () => {
    const log = open();
    log.roll();
    expect(log.segmentInfos().length).toBe(1);
    log.append(buildBatch({ records: 4 }));
    log.roll();
    log.roll();
    expect(log.segmentInfos().map((segment) => segment.baseOffset)).toEqual([0, 4]);
    expect(log.append(buildBatch()).baseOffset).toBe(4);
  });
});

describe('offsetForTimestamp', () => {
  it('finds the first batch whose max timestamp reaches the target, across segments', () => {
    const log = open({ segmentBytes: 400, indexIntervalBytes: 0 });
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    for (let i = 0; i < 20; i++) log.append(buildBatch({ records: 2, baseTimestamp: t0 + i * 10 }));
    expect(log.segmentInfos().length).toBeGreaterThan(2);
    expect(offsetForTimestampOf(log, 0)).toBe(0);
    expect(offsetForTimestampOf(log, t0)).toBe(0);
    expect(offsetForTimestampOf(log, t0 + 1)).toBe(2);
    expect(offsetForTimestampOf(log, t0 + 100)).toBe(20);
    expect(offsetForTimestampOf(log, t0 + 190)).toBe(38);
    expect(offsetForTimestampOf(log, t0 + 191)).toBeNull();
  });

  it('uses the max timestamp of each batch when producer timestamps go backwards', () => {
    const log = open({ indexIntervalBytes: 0 });
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    for (const delta of [100, 50, 300, 200, 400]) log.append(buildBatch({ baseTimestamp: t0 + delta }));
    expect(offsetForTimestampOf(log, t0 + 60)).toBe(0);
    expect(offsetForTimestampOf(log, t0 + 150)).toBe(2);
    expect(offsetForTimestampOf(log, t0 + 301)).toBe(4);
  });

  it('never answers below the log start offset', () => {
    const log = open();
    log.append(buildBatch({ records: 10 }));
    log.deleteRecordsBefore(4);
    expect(offsetForTimestampOf(log, 0)).toBe(4);
  });

  it('rejects negative targets with a typed error', () => {
    const log = open();
    expect(() => offsetForTimestampOf(log, -2)).toThrow(/timestamp in ms >= 0/);
  });
});

describe('truncateTo', () => {
  it('removes the batch holding the offset and everything after, deleting later segments', () => {
    const config = { segmentBytes: 500, indexIntervalBytes: 50 };
    let log = open(config);
    for (let i = 0; i < 30; i++) log.append(buildBatch({ records: 3, valueBytes: 15, fill: i }));
    const before = scanLogFiles(dir);
    const cutBatch = before.find((batch) => batch.baseOffset <= 40 && batch.lastOffset >= 40)!;
    expect(log.truncateTo(40)).toBe(cutBatch.baseOffset);
    expect(log.logEndOffset).toBe(cutBatch.baseOffset);
    const after = scanLogFiles(dir);
    expect(after).toEqual(before.filter((batch) => batch.lastOffset < cutBatch.baseOffset));
    expect(readdirSync(dir).filter((name) => name.endsWith('.log')).length).toBe(log.segmentInfos().length);
    expect(() => readLog(log, 40, 100)).toThrow(OffsetOutOfRangeError);

    expect(log.append(buildBatch({ records: 2, fill: 99 })).baseOffset).toBe(cutBatch.baseOffset);
    const expected = readAll(log);
    log = reopen(log, config);
    expect(log.logEndOffset).toBe(cutBatch.baseOffset + 2);
    expect(readAll(log).equals(expected)).toBe(true);
  });

  it('keeps the indexes consistent with the cut log', () => {
    let log = open({ indexIntervalBytes: 64 });
    for (let i = 0; i < 50; i++) log.append(buildBatch({ records: 2, baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS + i }));
    log.truncateTo(61);
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 1, baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS + 200 + i }));
    for (const batch of scanLogFiles(dir)) {
      expect(readLog(log, batch.lastOffset, 1).bytes.equals(batch.bytes)).toBe(true);
    }
    expect(offsetForTimestampOf(log, DEFAULT_BASE_TIMESTAMP_MS + 30)).toBe(60);
    expect(offsetForTimestampOf(log, DEFAULT_BASE_TIMESTAMP_MS + 31)).toBe(60);
    log = reopen(log, { indexIntervalBytes: 64 });
    expect(log.recovery.indexesRebuilt).toBe(0);
    expect(log.logEndOffset).toBe(70);
  });

  it('is a no-op at or beyond the log end, and restarts the log empty below the first segment', () => {
    const clock = new ManualClock();
    const log = open({ segmentBytes: 200, retentionMs: 1000 }, { nowMs: clock.nowMs });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 2, valueBytes: 30, baseTimestamp: clock.now }));
    expect(log.truncateTo(20)).toBe(20);
    expect(log.truncateTo(99)).toBe(20);
    log.applyRetention(clock.now + 2000);
    expect(log.logStartOffset).toBe(20);
    expect(log.truncateTo(5)).toBe(5);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([5, 5]);
    expect(log.append(buildBatch()).baseOffset).toBe(5);
  });
});

describe('deleteRecordsBefore', () => {
  it('advances the log start offset, deletes segments wholly below it, and survives a reopen', () => {
    const config = { segmentBytes: 300 };
    let log = open(config);
    for (let i = 0; i < 12; i++) log.append(buildBatch({ records: 2, valueBytes: 20 }));
    const segmentsBefore = log.segmentInfos();
    const target = segmentsBefore[2].baseOffset + 1;
    expect(log.deleteRecordsBefore(target)).toBe(target);
    expect(log.segmentInfos()[0].baseOffset).toBe(segmentsBefore[2].baseOffset);
    expect(existsSync(segmentsBefore[0].filePath)).toBe(false);
    expect(() => readLog(log, target - 1, 10)).toThrow(OffsetOutOfRangeError);
    const atStart = readLog(log, target, 1);
    expect(atStart.bytes.readBigInt64BE(0)).toBe(BigInt(target - 1));

    log = reopen(log, config);
    expect(log.logStartOffset).toBe(target);
    expect(() => readLog(log, target - 1, 10)).toThrow(OffsetOutOfRangeError);
    expect(readFileSync(join(dir, 'log-start-offset.checkpoint'), 'utf8')).toBe(`0\n${target}\n`);
  });

  it('is a no-op at or below the log start and refuses offsets beyond the log end', () => {
    const log = open();
    log.append(buildBatch({ records: 5 }));
    log.deleteRecordsBefore(3);
    expect(log.deleteRecordsBefore(1)).toBe(3);
    expect(() => log.deleteRecordsBefore(6)).toThrow(OffsetOutOfRangeError);
    expect(log.deleteRecordsBefore(5)).toBe(5);
    expect(readLog(log, 5, 10).bytes.length).toBe(0);
  });
});

describe('applyRetention', () => {
  it('deletes segments whose newest record is older than retentionMs and moves the log start', () => {
    const config = { segmentBytes: 300, retentionMs: 10_000 };
    const log = open(config);
    const t0 = DEFAULT_BASE_TIMESTAMP_MS;
    for (let i = 0; i < 12; i++) log.append(buildBatch({ records: 2, valueBytes: 20, baseTimestamp: t0 + i * 1000 }));
    const segments = log.segmentInfos();
    expect(segments.length).toBeGreaterThan(3);
    // Segment 0 holds timestamps up to t0 + 3000 (3 batches of 2 records fit in 300 bytes).
    const newestInFirst = t0 + (scanLogFiles(dir).filter((b) => b.file.startsWith('00000000000000000000')).length - 1) * 1000;
    expect(log.applyRetention(newestInFirst + 10_000).deletedSegments).toEqual([]);
    const result = log.applyRetention(newestInFirst + 10_001);
    expect(result.deletedSegments).toEqual([
      { baseOffset: 0, nextOffset: segments[1].baseOffset, sizeBytes: segments[0].sizeBytes, reason: 'retentionMs' },
    ]);
    expect(result.logStartOffset).toBe(segments[1].baseOffset);
    expect(() => readLog(log, 0, 10)).toThrow(OffsetOutOfRangeError);
  });

  it('deletes even the active segment once everything is expired, by rolling a new empty one first', () => {
    const log = open({ retentionMs: 1000 });
    log.append(buildBatch({ records: 5, baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS }));
    const result = log.applyRetention(DEFAULT_BASE_TIMESTAMP_MS + 1001);
    expect(result.deletedSegments.map((segment) => segment.baseOffset)).toEqual([0]);
    expect(log.segmentInfos().map((segment) => segment.baseOffset)).toEqual([5]);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([5, 5]);
    expect(log.applyRetention(DEFAULT_BASE_TIMESTAMP_MS + 100_000).deletedSegments).toEqual([]);
    expect(log.append(buildBatch()).baseOffset).toBe(5);
  });

  it('deletes the oldest segments while the log is larger than retentionBytes', () => {
    const size = buildBatch({ records: 2, valueBytes: 20 }).length;
    const log = open({ segmentBytes: size * 2, retentionBytes: size * 5, retentionMs: -1 });
    for (let i = 0; i < 9; i++) log.append(buildBatch({ records: 2, valueBytes: 20 }));
    // Segments of 2, 2, 2, 2, 1 batches; 9 batches exceed 5 by 4: the two oldest segments go.
    const result = log.applyRetention();
    expect(result.deletedSegments.map((segment) => [segment.baseOffset, segment.reason])).toEqual([
      [0, 'retentionBytes'],
      [4, 'retentionBytes'],
    ]);
    expect(log.stats().sizeBytes).toBe(size * 5);
    expect(log.logStartOffset).toBe(8);
  });

  it('keeps everything when retention is infinite (-1)', () => {
    const log = open({ segmentBytes: 200, retentionMs: -1, retentionBytes: -1 });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 2, valueBytes: 30, baseTimestamp: 0 }));
    expect(log.applyRetention(Number.MAX_SAFE_INTEGER).deletedSegments).toEqual([]);
  });
});

describe('flush', () => {
  it('fsyncs nothing by default', () => {
    const log = open();
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 3 }));
    expect(log.stats()).toMatchObject({ flushCount: 0, flushedOffset: 0, unflushedRecords: 30 });
  });

  it('flushMessages fsyncs once that many records are unflushed, one flush covering every batch since the last', () => {
    const log = open({ flushMessages: 10 });
    log.append(buildBatch({ records: 4 }));
    log.append(buildBatch({ records: 4 }));
    expect(log.stats()).toMatchObject({ flushCount: 0, flushedOffset: 0 });
    log.append(buildBatch({ records: 4 }));
    expect(log.stats()).toMatchObject({ flushCount: 1, flushedOffset: 12, unflushedRecords: 0 });
    log.append(Buffer.concat([buildBatch({ records: 5 }), buildBatch({ records: 5 })]));
    expect(log.stats()).toMatchObject({ flushCount: 2, flushedOffset: 22 });
  });

  it('flushMs flushes when the oldest unflushed append reaches that age, via maybeFlush or the next append', () => {
    const clock = new ManualClock();
    const log = open({ flushMs: 100 }, { nowMs: clock.nowMs });
    expect(log.flushDueAtMs()).toBeNull();
    log.append(buildBatch({ records: 2 }));
    const appendedAt = clock.now;
    expect(log.flushDueAtMs()).toBe(appendedAt + 100);
    clock.now += 60;
    log.append(buildBatch({ records: 2 }));
    expect(log.maybeFlush(appendedAt + 99)).toBe(false);
    expect(log.maybeFlush(appendedAt + 100)).toBe(true);
    expect(log.stats()).toMatchObject({ flushCount: 1, flushedOffset: 4 });
    expect(log.flushDueAtMs()).toBeNull();
    log.append(buildBatch({ records: 1 }));
    clock.now += 100;
    log.append(buildBatch({ records: 1 }));
    expect(log.stats()).toMatchObject({ flushCount: 2, flushedOffset: 6 });
  });

  it('checkpoints the recovery point when a flush passes into a later segment, and the log end on close', () => {
    const log = open({ segmentBytes: 200 });
    for (let i = 0; i < 6; i++) log.append(buildBatch({ records: 2, valueBytes: 30 }));
    expect(existsSync(join(dir, 'recovery-point.checkpoint'))).toBe(false);
    log.flush();
    expect(readFileSync(join(dir, 'recovery-point.checkpoint'), 'utf8')).toBe('0\n12\n');
    log.append(buildBatch({ records: 1 }));
    log.close();
    expect(readFileSync(join(dir, 'recovery-point.checkpoint'), 'utf8')).toBe('0\n13\n');
  });
});

describe('lifecycle and configuration', () => {
  it('throws ClosedError after close; close is idempotent', () => {
    const log = open();
    log.append(buildBatch());
    log.close();
    log.close();
    expect(() => log.append(buildBatch())).toThrow(ClosedError);
    expect(() => log.roll()).toThrow(ClosedError);
    expect(() => log.flush()).toThrow(ClosedError);
    expect(() => log.truncateTo(0)).toThrow(ClosedError);
  });

  it('stops after an I/O error, refusing further calls until reopened, and the reopened log recovers', () => {
    let log = open();
    log.append(buildBatch({ records: 2 }));
    // Take the segment's descriptor away underneath the log: the next write fails with EBADF.
    closeSync(descriptorOf(join(dir, '00000000000000000000.log')));
    expect(() => log.append(buildBatch())).toThrow(/EBADF/);
    expect(() => log.roll()).toThrow(ClosedError);
    expect(() => log.roll()).toThrow(/stopped after an I\/O error/);
    log = open();
    expect(log.logEndOffset).toBe(2);
    expect(log.append(buildBatch()).baseOffset).toBe(2);
  });

  it('validates its configuration with InvalidConfigError naming the setting', () => {
    expect(() => open({ segmentBytes: 10 })).toThrow(InvalidConfigError);
    expect(() => open({ segmentBytes: 10 })).toThrow(/segmentBytes \(segment\.bytes\)/);
    expect(() => open({ flushMessages: 0 })).toThrow(/flushMessages/);
    expect(() => open({ retentionMs: -2 })).toThrow(/-1/);
    expect(() => open({ messageTimestampType: 'Never' as 'CreateTime' })).toThrow(/LogAppendTime/);
    expect(() => open({ segmentByte: 1 } as unknown as Partial<LogConfig>)).toThrow(/unknown log config "segmentByte"/);
  });
});

/** The descriptor this process holds open on `path` (Linux: found through /proc/self/fd). */
function descriptorOf(path: string): number {
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(join('/proc/self/fd', name)) === path) return Number(name);
    } catch {
      // A descriptor closed while listing.
    }
  }
  throw new Error(`no open descriptor on ${path}`);
}
