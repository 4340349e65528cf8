import { existsSync, linkSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptFileError, InvalidConfigError, RecordValidationError } from '../../src/errors.js';
import { encodeControlBatch } from '../../src/protocol/control-record.js';
import { encodeRecordBatch, type RecordToEncode } from '../../src/protocol/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import type { CompressionType } from '../../src/protocol/compression.js';
import { cleanerPool, destroyCleanerPool, hasCleanerPool } from '../../src/storage/cleaner-pool.js';
import cleanLog, { KeyOffsetMap } from '../../src/storage/cleaner-tasks.js';
import { CLEANER_OFFSET_CHECKPOINT_FILE, LogCleaner, planCleaning, type CleanOutcome } from '../../src/storage/log-cleaner.js';
import { DEFAULT_LOG_CONFIG, parseKafkaLogConfigs, resolveLogConfig, type LogConfig } from '../../src/storage/log-config.js';
import { LogReader } from '../../src/storage/log-reader.js';
import { PartitionStateTable, emptySnapshot } from '../../src/shard/partition-state.js';
import { ShardPool } from '../../src/shard/shard-pool.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { readOffsetCheckpoint } from '../../src/storage/recovery.js';
import { resolveTopicConfig, toLogConfig, validateTopicConfigs } from '../../src/storage/topic-config.js';
import {
  CapturingLogger,
  DEFAULT_BASE_TIMESTAMP_MS,
  ManualClock,
  makeTempDir,
  removeTempDir,
  thrownBy,
  readLog,
  abortedTransactionsOf,
  offsetForTimestampOf,
} from './helpers.js';
import { eventually, within } from '../support/eventually.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Small segments so a few hundred records span many of them. */
const COMPACTED: Partial<LogConfig> = {
  cleanupCompact: true,
  segmentBytes: 2048,
  indexIntervalBytes: 256,
  minCleanableDirtyRatio: 0,
  deleteRetentionMs: DAY_MS,
};

interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
}

let dir: string;
let clock: ManualClock;
let logger: CapturingLogger;
const cleaner = new LogCleaner<string>({ logger: new CapturingLogger() });

beforeEach(() => {
  dir = makeTempDir();
  clock = new ManualClock();
  logger = new CapturingLogger();
});

afterEach(() => {
  removeTempDir(dir);
});

afterAll(async () => {
  await cleaner.close();
});

function open(config: Partial<LogConfig> = COMPACTED): PartitionLog {
  return PartitionLog.open(dir, config, { nowMs: clock.nowMs, logger });
}

function record(key: string | null, value: string | null, timestampMs = clock.now): RecordToEncode {
  return { key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestampMs };
}

/** One batch per call; values name their key and a version so any stale read is visible. */
function put(log: PartitionLog, records: RecordToEncode[], compression: CompressionType = 'none'): number {
  return log.append(encodeRecordBatch({ records, compression })).baseOffset;
}

/** Writes `versions` updates of each of `keys` keys, one small batch each, rolling as segments fill. */
function writeUpdates(log: PartitionLog, keys: number, versions: number): void {
  for (let version = 0; version < versions; version++) {
    for (let key = 0; key < keys; key++) put(log, [record(`k${key}`, `k${key}-v${version}`)]);
  }
}

function readAll(log: PartitionLog, fromOffset = log.logStartOffset): Seen[] {
  const seen: Seen[] = [];
  for (let offset = fromOffset; offset < log.logEndOffset; ) {
    const { bytes, nextOffset } = readLog(log, offset, 64 * 1024);
    for (const batch of decodeRecordBatches(bytes)) {
      if (batch.isControl) continue;
      for (const r of batch.records) {
        if (r.offset < fromOffset) continue;
        seen.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
      }
    }
    expect(nextOffset).toBeGreaterThan(offset);
    offset = nextOffset;
  }
  return seen;
}

async function cleanNow(log: PartitionLog, key = dir): Promise<CleanOutcome<string>> {
  const plan = cleaner.maybeClean(key, log, clock.now);
  expect(plan, 'the log is cleanable').not.toBeNull();
  await cleaner.whenIdle();
  const outcomes = cleaner.completeFinished(clock.now);
  expect(outcomes).toHaveLength(1);
  expect(outcomes[0].failure).toBeNull();
  return outcomes[0];
}

function latestPerKey(records: readonly Seen[]): Map<string, Seen> {
  const latest = new Map<string, Seen>();
  for (const r of records) latest.set(r.key!, r);
  return latest;
}

describe('compaction', () => {
  it('keeps the latest record per key, at its original offset, and leaves the active segment alone', async () => {
    const log = open();
    writeUpdates(log, 10, 20);
    const before = readAll(log);
    const segmentsBefore = log.segmentInfos();
    const activeBase = segmentsBefore[segmentsBefore.length - 1].baseOffset;
    const outcome = await cleanNow(log);
    expect(outcome.plan.firstDirtyOffset).toBe(0);
    expect(outcome.plan.firstUncleanableOffset).toBe(activeBase);
    expect(outcome.groupsSwapped).toBeGreaterThan(0);
    expect(log.logStartOffset).toBe(0);
    expect(log.logEndOffset).toBe(200);

    const after = readAll(log);
    const cleanedPart = after.filter((r) => r.offset < activeBase);
    // Only the latest record of each key below the active segment survives there ...
    const latestBelowActive = latestPerKey(before.filter((r) => r.offset < activeBase));
    const latestOverall = latestPerKey(before);
    for (const r of cleanedPart) {
      expect(before.find((b) => b.offset === r.offset)).toEqual(r);
      expect(latestBelowActive.get(r.key!)!.offset).toBe(r.offset);
    }
    expect(new Set(cleanedPart.map((r) => r.key)).size).toBe(cleanedPart.length);
    // ... the active segment is untouched ...
    expect(after.filter((r) => r.offset >= activeBase)).toEqual(before.filter((r) => r.offset >= activeBase));
    // ... and a consumer replaying the log ends with the same state as before.
    expect(latestPerKey(after)).toEqual(latestOverall);
    expect(log.stats().sizeBytes).toBeLessThan(segmentsBefore.reduce((sum, segment) => sum + segment.sizeBytes, 0));
    expect(readOffsetCheckpoint(join(dir, CLEANER_OFFSET_CHECKPOINT_FILE))).toBe(activeBase);

    // The next clean merges the now small segments into one (Kafka's groupSegmentsBySize).
    const cleanedSegments = log.segmentInfos().length - 1;
    writeUpdates(log, 10, 1);
    log.roll();
    const second = await cleanNow(log);
    expect(second.plan.firstDirtyOffset).toBe(activeBase);
    expect(second.result!.groups[0].baseOffsets.length).toBeGreaterThan(1);
    expect(log.segmentInfos().length - 1).toBeLessThan(cleanedSegments + 1);
    expect(latestPerKey(readAll(log)).get('k3')!.value).toBe('k3-v0');
    expect(readAll(log).filter((r) => r.key === 'k3')).toHaveLength(1);
    log.close();
  });

  it('reads from any offset, including ones removed (gaps are skipped), and survives a reopen', async () => {
    const log = open();
    writeUpdates(log, 5, 30);
    log.roll();
    const before = readAll(log);
    await cleanNow(log);
    const after = readAll(log);
    expect(after.length).toBe(5);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      expect(readAll(log, offset)).toEqual(after.filter((r) => r.offset >= offset));
    }
    expect(latestPerKey(after)).toEqual(latestPerKey(before));
    log.close();
    const reopened = open();
    expect(reopened.recovery.bytesTruncated).toBe(0);
    expect(readAll(reopened)).toEqual(after);
    expect(offsetForTimestampOf(reopened, 0)).toBe(after[0].offset);
    reopened.close();
  });

  it('rewrites compressed batches with their codec, keeping offsets, timestamps and header fields', async () => {
    const log = open({ ...COMPACTED, segmentBytes: 8192 });
    for (let version = 0; version < 6; version++) {
      put(
        log,
        [0, 1, 2, 3].map((key) => record(`k${key}`, `k${key}-v${version}`, DEFAULT_BASE_TIMESTAMP_MS + version * 10 + key)),
        version % 2 === 0 ? 'gzip' : 'lz4',
      );
    }
    put(log, [record('k0', 'k0-last', DEFAULT_BASE_TIMESTAMP_MS + 100), record('k9', 'k9-only', DEFAULT_BASE_TIMESTAMP_MS + 101)], 'lz4');
    log.roll();
    await cleanNow(log);
    const { bytes } = readLog(log, 0, 1 << 20);
    const batches = decodeRecordBatches(bytes);
    const records = batches.flatMap((batch) => batch.records.map((r) => ({ offset: r.offset, ts: r.timestamp, value: r.value!.toString() })));
    expect(records).toEqual([
      { offset: 21, ts: DEFAULT_BASE_TIMESTAMP_MS + 51, value: 'k1-v5' },
      { offset: 22, ts: DEFAULT_BASE_TIMESTAMP_MS + 52, value: 'k2-v5' },
      { offset: 23, ts: DEFAULT_BASE_TIMESTAMP_MS + 53, value: 'k3-v5' },
      { offset: 24, ts: DEFAULT_BASE_TIMESTAMP_MS + 100, value: 'k0-last' },
      { offset: 25, ts: DEFAULT_BASE_TIMESTAMP_MS + 101, value: 'k9-only' },
    ]);
    const last = batches[batches.length - 1];
    expect(last.compression).toBe('lz4');
    expect(last.baseOffset).toBe(24);
    const rewritten = batches.find((batch) => batch.baseOffset === 20)!;
    expect(rewritten.compression).toBe('lz4');
    expect(rewritten.recordCount).toBe(3);
    expect(rewritten.baseOffset + rewritten.lastOffsetDelta).toBe(23);
    expect(rewritten.maxTimestamp).toBe(DEFAULT_BASE_TIMESTAMP_MS + 53);
    log.close();
  });
  for (const codec of ['snappy', 'zstd'] as const) {
    it(`accepts ${codec} batches on a compacted log and compacts them, rewriting each in ${codec}`, async () => {
      const log = open({ ...COMPACTED, segmentBytes: 8192 });
      for (let version = 0; version < 4; version++) {
        put(log, [0, 1, 2].map((key) => record(`k${key}`, `k${key}-v${version}`, DEFAULT_BASE_TIMESTAMP_MS + version * 10 + key)), codec);
      }
      put(log, [record('k0', 'k0-last', DEFAULT_BASE_TIMESTAMP_MS + 100), record('k1', 'k1-mid', DEFAULT_BASE_TIMESTAMP_MS + 101), record('k1', 'k1-last', DEFAULT_BASE_TIMESTAMP_MS + 102)], codec);
      log.roll();
      await cleanNow(log);
      const batches = decodeRecordBatches(readLog(log, 0, 1 << 20).bytes);
      const records = batches.flatMap((batch) => batch.records.map((r) => ({ offset: r.offset, value: r.value!.toString() })));
      expect(records).toEqual([
        { offset: 11, value: 'k2-v3' },
        { offset: 12, value: 'k0-last' },
        { offset: 14, value: 'k1-last' },
      ]);
      expect(batches.every((batch) => batch.compression === codec)).toBe(true);
      expect(batches.map((batch) => batch.recordCount)).toEqual([1, 2]);
      log.close();
    });
  }
});

describe('tombstones', () => {
  it('keeps a tombstone until delete.retention.ms has passed, then removes it', async () => {
    const log = open();
    writeUpdates(log, 4, 10);
    const tombstoneOffset = put(log, [record('k1', null)]);
    writeUpdates(log, 1, 1);
    log.roll();
    await cleanNow(log);
    let seen = readAll(log);
    expect(seen.find((r) => r.key === 'k1')).toEqual({ offset: tombstoneOffset, key: 'k1', value: null });
    expect(seen.filter((r) => r.key === 'k1')).toHaveLength(1);

    clock.now += DAY_MS + 1;
    writeUpdates(log, 1, 1);
    log.roll();
    await cleanNow(log);
    seen = readAll(log);
    expect(seen.filter((r) => r.key === 'k1')).toEqual([]);
    expect(seen.map((r) => r.key).sort()).toEqual(['k0', 'k2', 'k3']);
    log.close();
  });
});

describe('what may be cleaned', () => {
  it('never cleans past the min.compaction.lag.ms cut', async () => {
    const log = open({ ...COMPACTED, minCompactionLagMs: 60_000 });
    writeUpdates(log, 3, 20);
    const oldEnd = log.logEndOffset;
    clock.now += 30_000;
    for (let version = 0; version < 20; version++) put(log, [record('k0', `young-${version}`)]);
    log.roll();
    clock.now += 40_000;
    const outcome = await cleanNow(log);
    const youngBase = log.segmentInfos().find((segment) => segment.nextOffset > oldEnd)!.baseOffset;
    expect(outcome.plan.firstUncleanableOffset).toBe(youngBase);
    const seen = readAll(log);
    expect(seen.filter((r) => r.value!.startsWith('young'))).toHaveLength(20);
    expect(seen.filter((r) => r.offset < youngBase && r.key === 'k1')).toHaveLength(1);
    log.close();
  });

  it('cleans only past min.cleanable.dirty.ratio, or once max.compaction.lag.ms passed', async () => {
    const log = open({ ...COMPACTED, minCleanableDirtyRatio: 0.5 });
    writeUpdates(log, 5, 20);
    log.roll();
    await cleanNow(log);
    const cleanBytes = log.segmentInfos().slice(0, -1).reduce((sum, segment) => sum + segment.sizeBytes, 0);
    // A little more dirty data: well under half of the log.
    put(log, [record('k0', 'fresh')]);
    log.roll();
    const view = log.cleanerView();
    const plan = planCleaning(view, readOffsetCheckpoint(join(dir, CLEANER_OFFSET_CHECKPOINT_FILE)), clock.now)!;
    expect(plan.cleanBytes).toBe(cleanBytes);
    expect(plan.dirtyRatio).toBeCloseTo(plan.dirtyBytes / (plan.dirtyBytes + cleanBytes));
    expect(plan.dirtyRatio).toBeLessThan(0.5);
    expect(plan.cleanable).toBe(false);
    expect(cleaner.maybeClean(dir, log, clock.now)).toBeNull();
    // Enough dirty bytes tip it over.
    writeUpdates(log, 5, 10);
    log.roll();
    expect(planCleaning(log.cleanerView(), plan.firstDirtyOffset, clock.now)!.dirtyRatio).toBeGreaterThan(0.5);
    await cleanNow(log);
    log.close();

    const lagged = PartitionLog.open(join(dir, 'lag'), { ...COMPACTED, minCleanableDirtyRatio: 1, maxCompactionLagMs: 1000 }, { nowMs: clock.nowMs });
    writeUpdates(lagged, 2, 10);
    lagged.roll();
    expect(planCleaning(lagged.cleanerView(), null, clock.now)!.cleanable).toBe(false);
    clock.now += 1001;
    const forced = planCleaning(lagged.cleanerView(), null, clock.now)!;
    expect(forced.maxLagExceeded).toBe(true);
    expect(forced.cleanable).toBe(true);
    lagged.close();
  });

  it('bounds the offset map, cleaning up to where it filled and continuing from there', async () => {
    const bounded = new LogCleaner<string>({ offsetMapMaxEntries: 8 });
    const log = open({ ...COMPACTED, segmentBytes: 64 * 1024 });
    writeUpdates(log, 20, 3);
    log.roll();
    const before = readAll(log);
    bounded.maybeClean('bounded', log, clock.now);
    await bounded.whenIdle();
    const [first] = bounded.completeFinished(clock.now);
    expect(first.failure).toBeNull();
    expect(first.result!.keysMapped).toBe(8);
    expect(first.result!.mapEndOffset).toBe(8);
    expect(readOffsetCheckpoint(join(dir, CLEANER_OFFSET_CHECKPOINT_FILE))).toBe(8);
    // Nothing was lost: the map only covered k0..k7 of the first version.
    expect(latestPerKey(readAll(log))).toEqual(latestPerKey(before));
    for (let round = 0; round < 20 && readAll(log).length > 20; round++) {
      bounded.maybeClean('bounded', log, clock.now);
      await bounded.whenIdle();
      expect(bounded.completeFinished(clock.now).map((outcome) => outcome.failure)).toEqual([null]);
    }
    expect(readAll(log).map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, key) => `k${key}-v2`));
    log.close();
    await bounded.close();
  });

  it('KeyOffsetMap keeps exact keys, the latest offset each, and refuses past its limits', () => {
    const map = new KeyOffsetMap(3, 12);
    const key = (text: string): Buffer => Buffer.from(`xx${text}yy`);
    expect(map.put(key('a'), 2, 1, 1)).toBe(true);
    expect(map.put(key('bb'), 2, 2, 2)).toBe(true);
    expect(map.put(key('a'), 2, 1, 5)).toBe(true);
    expect(map.get(key('a'), 2, 1)).toBe(5);
    expect(map.get(key('bb'), 2, 2)).toBe(2);
    expect(map.get(key('b'), 2, 1)).toBe(-1);
    expect(map.put(key('cccccccccc'), 2, 10, 6)).toBe(false);
    expect(map.put(key('ccc'), 2, 3, 6)).toBe(true);
    expect(map.put(key('d'), 2, 1, 7)).toBe(false);
    expect(map.size).toBe(3);
    const big = new KeyOffsetMap(100_000, 1 << 20);
    for (let i = 0; i < 5000; i++) expect(big.put(Buffer.from(`key-${i}`), 0, `key-${i}`.length, i)).toBe(true);
    for (let i = 0; i < 5000; i++) expect(big.get(Buffer.from(`key-${i}`), 0, `key-${i}`.length)).toBe(i);
  });
});

describe('appends to a compacted log', () => {
  it('refuses records without a key, as Kafka does, and accepts them elsewhere', () => {
    const log = open();
    put(log, [record('k', 'v')]);
    const keyless = encodeRecordBatch({ records: [record('k', 'v'), record(null, 'no key')] });
    const refusal = thrownBy(() => log.append(keyless));
    expect(refusal).toBeInstanceOf(RecordValidationError);
    expect(refusal).toMatchObject({ code: 'INVALID_RECORD', kafkaErrorCode: 87 });
    expect((refusal as RecordValidationError).recordErrors).toEqual([
      { batchIndex: 1, message: expect.stringMatching(/without a key.*cleanup\.policy=compact/) },
    ]);
    expect(log.logEndOffset).toBe(1);
    log.close();
    const plain = PartitionLog.open(join(dir, 'plain'), {}, { nowMs: clock.nowMs });
    expect(plain.append(encodeRecordBatch({ records: [record(null, 'no key')] })).lastOffset).toBe(0);
    plain.close();
  });

  it('__consumer_offsets and other compact topics pass the policy to their logs', () => {
    expect(toLogConfig(resolveTopicConfig(validateTopicConfigs({ 'cleanup.policy': 'compact' }))).cleanupCompact).toBe(true);
    expect(toLogConfig(resolveTopicConfig(validateTopicConfigs({ 'cleanup.policy': 'compact,delete' }))).cleanupCompact).toBe(true);
    expect(toLogConfig(resolveTopicConfig(validateTopicConfigs({}))).cleanupCompact).toBe(false);
    const config = toLogConfig(resolveTopicConfig(validateTopicConfigs({ 'delete.retention.ms': '5', 'min.cleanable.dirty.ratio': '0.25' })));
    expect(config.deleteRetentionMs).toBe(5);
    expect(config.minCleanableDirtyRatio).toBe(0.25);
  });
});

describe('transactions', () => {
  const producerId = 7;
  const txn = (log: PartitionLog, key: string, value: string, sequence: number): void => {
    log.append(
      encodeRecordBatch({ records: [record(key, value)], producerId, producerEpoch: 0, baseSequence: sequence, isTransactional: true }),
    );
  };
  const marker = (log: PartitionLog, type: 'commit' | 'abort'): number =>
    log.append(encodeControlBatch({ producerId, producerEpoch: 0, type, coordinatorEpoch: 0, timestampMs: clock.now }), { origin: 'coordinator' })
      .baseOffset;

  it('removes aborted records, keeps committed ones and the markers they still need, keeps the producer replayable', async () => {
    const producerIdExpirationMs = 7 * DAY_MS;
    const log = PartitionLog.open(dir, COMPACTED, { nowMs: clock.nowMs, logger, producerIdExpirationMs });
    txn(log, 'a', 'aborted-1', 0);
    txn(log, 'b', 'aborted-2', 1);
    const abortAt = marker(log, 'abort');
    txn(log, 'a', 'committed', 2);
    const commitAt = marker(log, 'commit');
    writeUpdates(log, 3, 5);
    log.roll();
    expect(abortedTransactionsOf(log, 0, log.logEndOffset)).toEqual([{ producerId, firstOffset: 0 }]);
    await cleanNow(log);
    let seen = readAll(log);
    expect(seen.filter((r) => r.value!.startsWith('aborted'))).toEqual([]);
    expect(seen.find((r) => r.key === 'a')!.value).toBe('committed');
    let markers = controlOffsets(log);
    expect(markers).toContain(commitAt);
    // The abort marker is younger than delete.retention.ms: kept, with its index entry.
    expect(markers).toContain(abortAt);
    expect(abortedTransactionsOf(log, 0, log.logEndOffset)).toEqual([{ producerId, firstOffset: 0 }]);

    clock.now += DAY_MS + 1;
    writeUpdates(log, 1, 1);
    log.roll();
    await cleanNow(log);
    markers = controlOffsets(log);
    expect(markers).not.toContain(abortAt);
    expect(markers).toContain(commitAt);
    expect(abortedTransactionsOf(log, 0, log.logEndOffset)).toEqual([]);
    seen = readAll(log);
    expect(seen.find((r) => r.key === 'a')!.value).toBe('committed');
    log.close();
    // Every snapshot gone: the replay from the log start must still find the producer's last batch.
    for (const name of readdirSync(dir)) if (name.endsWith('.snapshot')) unlinkSync(join(dir, name));
    const reopened = PartitionLog.open(dir, COMPACTED, { nowMs: clock.nowMs, logger, producerIdExpirationMs });
    expect(reopened.producerStateRecovery.snapshotOffset).toBeNull();
    expect(reopened.producerState(producerId)).toMatchObject({ producerEpoch: 0, lastSequence: 2 });
    reopened.close();
  });
});

function controlOffsets(log: PartitionLog): number[] {
  const offsets: number[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const { bytes, nextOffset } = readLog(log, offset, 64 * 1024);
    for (const batch of decodeRecordBatches(bytes)) if (batch.isControl) offsets.push(batch.baseOffset);
    offset = nextOffset;
  }
  return offsets;
}

describe('crash during a clean', () => {
  /** Runs the clean task in this thread and stops before any swap step, as a crash would. */
  function cleanedFilesFor(log: PartitionLog): { groups: number[][] } {
    const view = log.cleanerView();
    const plan = planCleaning(view, null, clock.now)!;
    const result = cleanLog({
      dir,
      segments: view.segments.slice(0, -1).map(({ baseOffset, nextOffset, sizeBytes }) => ({ baseOffset, nextOffset, sizeBytes })),
      firstDirtyOffset: plan.firstDirtyOffset,
      firstUncleanableOffset: plan.firstUncleanableOffset,
      abortedTxns: [],
      producers: [],
      nowMs: clock.now,
      deleteRetentionMs: DAY_MS,
      offsetMapMaxEntries: 1000,
      offsetMapMaxKeyBytes: 1 << 16,
      // Larger than the log's segments, so that groups merge several of them.
      segmentBytes: 8192,
      indexIntervalBytes: 256,
      maxOffsetIndexEntries: 1000,
      maxTimeIndexEntries: 1000,
    });
    return { groups: result.groups.map((group) => [...group.baseOffsets]) };
  }

  function name(base: number, suffix: string): string {
    return join(dir, String(base).padStart(20, '0') + suffix);
  }

  function prepare(): { before: Seen[]; groups: number[][] } {
    const log = open();
    writeUpdates(log, 6, 15);
    log.roll();
    const before = readAll(log);
    const { groups } = cleanedFilesFor(log);
    expect(groups.some((group) => group.length > 1)).toBe(true);
    log.close();
    return { before, groups };
  }

  function expectCompacted(log: PartitionLog, before: Seen[]): void {
    const after = readAll(log);
    expect(latestPerKey(after)).toEqual(latestPerKey(before));
    expect(after.length).toBe(6);
  }

  it('drops .cleaned files that never committed: the old segments stay', () => {
    const { before } = prepare();
    expect(readdirSync(dir).some((file) => file.endsWith('.cleaned'))).toBe(true);
    const log = open();
    expect(readdirSync(dir).some((file) => file.endsWith('.cleaned'))).toBe(false);
    expect(readAll(log)).toEqual(before);
    log.close();
  });

  it('completes a committed swap (.swap files, old segments present) on reopen', () => {
    const { before, groups } = prepare();
    for (const group of groups) {
      for (const suffix of ['.txnindex', '.index', '.timeindex', '.log']) renameSync(name(group[0], `${suffix}.cleaned`), name(group[0], `${suffix}.swap`));
    }
    const log = open();
    expect(readdirSync(dir).filter((file) => file.endsWith('.swap') || file.endsWith('.cleaned'))).toEqual([]);
    for (const group of groups) for (const later of group.slice(1)) expect(existsSync(name(later, '.log'))).toBe(false);
    expectCompacted(log, before);
    expect(logger.warnings.some((message) => message.includes('completed a log clean swap'))).toBe(true);
    log.close();
  });

  it('completes a swap interrupted after the first segment was replaced but before the others were deleted', () => {
    const { before, groups } = prepare();
    const [group] = groups.filter((candidate) => candidate.length > 1);
    for (const suffix of ['.txnindex', '.index', '.timeindex', '.log']) renameSync(name(group[0], `${suffix}.cleaned`), name(group[0], `${suffix}.swap`));
    for (const suffix of ['.index', '.timeindex']) renameSync(name(group[0], `${suffix}.swap`), name(group[0], suffix));
    unlinkSync(name(group[0], '.txnindex.swap'));
    linkSync(name(group[0], '.log.swap'), name(group[0], '.log.cleaned'));
    renameSync(name(group[0], '.log.cleaned'), name(group[0], '.log'));
    const log = open();
    for (const later of group.slice(1)) expect(existsSync(name(later, '.log'))).toBe(false);
    // The other groups never committed: they keep their old records, which is consistent too.
    const after = readAll(log);
    expect(latestPerKey(after)).toEqual(latestPerKey(before));
    const offsets = after.map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(offsets.length);
    for (const r of after) expect(before.find((b) => b.offset === r.offset)).toEqual(r);
    log.close();
  });

  it('drops index .swap files whose .log.swap never appeared (the commit point was not reached)', () => {
    const { before, groups } = prepare();
    renameSync(name(groups[0][0], '.index.cleaned'), name(groups[0][0], '.index.swap'));
    const log = open();
    expect(readdirSync(dir).filter((file) => file.endsWith('.swap'))).toEqual([]);
    expect(readAll(log)).toEqual(before);
    log.close();
  });
});

describe('readers on other threads', () => {
  it('see consistent data while segments are swapped under them', async () => {
    const log = open();
    writeUpdates(log, 8, 10);
    log.roll();
    // [logStartOffset, logEndOffset, storageEpoch, stop flag]
    const bounds = new Float64Array(new SharedArrayBuffer(32));
    bounds[1] = log.logEndOffset;
    // [reads, whole scans] done by the reader
    const progress = new Int32Array(new SharedArrayBuffer(8));
    const readerUrl = pathToFileURL(join(process.cwd(), 'dist/src/storage/log-reader.js')).href;
    const decoderUrl = pathToFileURL(join(process.cwd(), 'dist/src/protocol/record-batch-reader.js')).href;
    const worker = new Worker(
      `
      const { workerData, parentPort } = require('node:worker_threads');
      (async () => {
        const { LogReader } = await import(workerData.readerUrl);
        const { decodeRecordBatches } = await import(workerData.decoderUrl);
        const { bounds, progress } = workerData;
        const reader = new LogReader(workerData.dir);
        const current = () => ({ logStartOffset: bounds[0], logEndOffset: bounds[1], readableEndOffset: bounds[1], storageEpoch: bounds[2] });
        let problem = null;
        while (bounds[3] === 0 && problem === null) {
          let offset = 0;
          while (offset < bounds[1] && problem === null) {
            try {
              const { records, nextOffset } = reader.read(offset, 700, current(), current);
              for (const batch of decodeRecordBatches(records)) {
                for (const r of batch.records) {
                  const [key, version] = r.value.toString().split('-');
                  if (r.key.toString() !== key || !version.startsWith('v')) problem = 'record ' + r.offset + ' is ' + r.value;
                  if (r.offset < offset) problem = 'offset ' + r.offset + ' before ' + offset;
                }
              }
              if (nextOffset <= offset) problem = 'no progress at ' + offset;
              offset = nextOffset;
            } catch (error) {
              problem = String(error && error.stack || error);
            }
            Atomics.add(progress, 0, 1);
          }
          Atomics.add(progress, 1, 1);
        }
        reader.close();
        parentPort.postMessage({ problem });
      })();
      `,
      { eval: true, workerData: { dir, bounds, progress, readerUrl, decoderUrl } },
    );
    const finished = new Promise<{ problem: string | null }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    // Every swap happens while the reader is reading: each round waits for reads since the last,
    // however slowly the machine runs the reader's thread.
    for (let round = 0; round < 8; round++) {
      const readsBefore = Atomics.load(progress, 0);
      await eventually(() => Atomics.load(progress, 0) > readsBefore, { what: `a read before swap ${round}` });
      writeUpdates(log, 8, 4);
      log.roll();
      bounds[1] = log.logEndOffset;
      await cleanNow(log);
      bounds[2] += 1;
    }
    // And at least one whole scan over the final, cleaned log.
    const scansBefore = Atomics.load(progress, 1);
    await eventually(() => Atomics.load(progress, 1) >= scansBefore + 2, { what: 'a whole scan after the last swap' });
    bounds[3] = 1;
    const { problem } = await within(finished, { what: 'the reader thread' });
    expect(problem).toBeNull();
    log.close();
  });
});

describe('a reader that keeps sizes and indexes between reads', () => {
  /** Every record `reader` returns from `from` to the end, one read of `maxBytes` at a time. */
  function readThrough(reader: LogReader, log: PartitionLog, epoch: number, maxBytes: number, from = log.logStartOffset): Seen[] {
    const bounds = { logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, readableEndOffset: log.logEndOffset, storageEpoch: epoch };
    const seen: Seen[] = [];
    for (let offset = from; offset < log.logEndOffset; ) {
      const { records, nextOffset } = reader.read(offset, maxBytes, bounds, () => bounds);
      for (const batch of decodeRecordBatches(records)) {
        for (const r of batch.records) {
          if (r.offset >= offset) seen.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
        }
      }
      expect(nextOffset).toBeGreaterThan(offset);
      offset = nextOffset;
    }
    return seen;
  }

  it('reads the cleaned files after a swap, never through the sizes and indexes it kept for the files they replaced', async () => {
    const log = open();
    writeUpdates(log, 8, 12);
    log.roll();
    const reader = new LogReader(dir);
    // Small reads and one large one: every segment's size and index are now kept, under the
    // readable end that stays the same across the clean (compaction moves no offset).
    expect(readThrough(reader, log, 0, 300)).toEqual(readAll(log));
    expect(readThrough(reader, log, 0, 1 << 20)).toEqual(readAll(log));
    const outcome = await cleanNow(log);
    expect(outcome.groupsSwapped).toBeGreaterThan(0);
    const cleaned = readAll(log);
    expect(cleaned.length).toBeLessThan(8 * 12);
    // The owner publishes the clean with a new storage epoch: the same readable end, other files.
    expect(readThrough(reader, log, 1, 300)).toEqual(cleaned);
    expect(readThrough(reader, log, 1, 1 << 20)).toEqual(cleaned);
    // From inside the first cleaned segment, where the old index's positions would land elsewhere.
    const middle = cleaned[Math.floor(cleaned.length / 3)].offset;
    expect(readThrough(reader, log, 1, 1, middle)).toEqual(cleaned.filter((r) => r.offset >= middle));
    reader.close();
    log.close();
  });
});

describe('a reader whose index does not belong to the log file', () => {
  it('retries, then scans the segment without the index: never skips records, never fails', async () => {
    const log = open();
    // Batches of one size, unique keys between updates of one key: cleaning keeps the former and
    // moves them to lower positions, so the old index's positions fall on later batches' starts.
    for (let i = 0; i < 60; i++) {
      put(log, [record(`u${String(i).padStart(4, '0')}`, `v${String(i).padStart(4, '0')}`)]);
      put(log, [record('hot__', `v${String(i).padStart(4, '0')}`)]);
    }
    log.roll();
    const firstIndex = join(dir, '00000000000000000000.index');
    const staleIndex = readFileSync(firstIndex);
    await cleanNow(log);
    const surviving = readAll(log).map((r) => r.offset);
    const end = log.logEndOffset;
    log.close();
    // The pre-clean index over the cleaned log: its positions lie past the batches they name, as
    // a reader sees while the owner is held between renaming the index and the log of a swap.
    writeFileSync(firstIndex, staleIndex);
    const reader = new LogReader(dir);
    const bounds = { logStartOffset: 0, logEndOffset: end, readableEndOffset: end, storageEpoch: 0 };
    for (let offset = 0; offset < end; offset++) {
      const expected = surviving.find((candidate) => candidate >= offset);
      const records = reader.read(offset, 1, bounds, () => bounds).records;
      const offsets = decodeRecordBatches(records).flatMap((batch) => batch.records.map((r) => r.offset));
      expect(offsets.find((candidate) => candidate >= offset)).toBe(expected);
    }
    reader.close();
  });

  it('still reports a log file whose batch chain is broken below the readable end', () => {
    const log = open();
    writeUpdates(log, 8, 4);
    const end = log.logEndOffset;
    log.roll();
    log.close();
    const firstLog = join(dir, '00000000000000000000.log');
    const bytes = readFileSync(firstLog);
    writeFileSync(firstLog, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const secondBaseOffset = Number(readdirSync(dir).filter((name) => name.endsWith('.log')).sort()[1].slice(0, 20));
    const reader = new LogReader(dir);
    const bounds = { logStartOffset: 0, logEndOffset: end, readableEndOffset: end, storageEpoch: 0 };
    // The first segment's last batch lies past the cut.
    expect(() => reader.read(secondBaseOffset - 1, 1, bounds, () => bounds)).toThrow(CorruptFileError);
    reader.close();
  });
});

describe('the cleaner pool', () => {
  it('runs on a bounded pool whose threads all end when it is destroyed', async () => {
    const log = open();
    writeUpdates(log, 3, 10);
    log.roll();
    await cleanNow(log);
    const pool = cleanerPool();
    expect(pool.maxThreads).toBe(1);
    const threads = [...pool.threads];
    expect(threads.length).toBe(1);
    const exited = threads.map((thread) => new Promise((resolve) => thread.once('exit', resolve)));
    await destroyCleanerPool();
    expect(hasCleanerPool()).toBe(false);
    await Promise.all(exited);
    for (const thread of threads) expect(thread.threadId).toBe(-1);
    log.close();
  });
});

describe('configuration', () => {
  it('validates the compaction settings of a log config and translates their Kafka names', () => {
    expect(() => resolveLogConfig({ minCleanableDirtyRatio: 1.5 })).toThrow(/minCleanableDirtyRatio \(min\.cleanable\.dirty\.ratio\) must be a number from 0 to 1/);
    expect(() => resolveLogConfig({ cleanupCompact: 'yes' as unknown as boolean })).toThrow(InvalidConfigError);
    expect(() => resolveLogConfig({ minCompactionLagMs: 10, maxCompactionLagMs: 5 })).toThrow(/greater than maxCompactionLagMs/);
    expect(() => resolveLogConfig({ deleteRetentionMs: -1 })).toThrow(/deleteRetentionMs/);
    expect(parseKafkaLogConfigs({ 'cleanup.policy': 'delete, compact', 'min.cleanable.dirty.ratio': '0.2', 'max.compaction.lag.ms': '9223372036854775807' }).logConfig).toEqual({
      cleanupCompact: true,
      minCleanableDirtyRatio: 0.2,
      maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
    });
    expect(() => resolveLogConfig(parseKafkaLogConfigs({ 'min.cleanable.dirty.ratio': 'half' }).logConfig)).toThrow(InvalidConfigError);
    expect(() => new LogCleaner({ offsetMapMaxEntries: 0 })).toThrow(/offsetMapMaxEntries must be an integer >= 1/);
    expect(() => cleanerPool({ maxThreads: 0 })).toThrow(/maxThreads must be an integer from 1/);
  });
});

describe('in a shard worker', () => {
  it('compacts a cleanup.policy=compact partition from the shard loop while it keeps serving appends', async () => {
    const table = PartitionStateTable.create(4);
    const pool = new ShardPool({
      shards: 1,
      stateTable: table,
      requestRingBytes: 1 << 20,
      completionRingBytes: 1 << 16,
      retentionCheckIntervalMs: 20,
      logger: { info: () => {}, warn: () => {} },
    });
    try {
      const slot = table.allocate();
      const partitionDir = join(dir, 'compacted-0');
      await pool.openPartition(0, { slot, dir: partitionDir, config: { ...DEFAULT_LOG_CONFIG, ...COMPACTED }, deleteRetention: false });
      const appendUpdates = async (versions: number): Promise<void> => {
        for (let version = 0; version < versions; version++) {
          for (let key = 0; key < 6; key++) {
            await pool.append(0, slot, encodeRecordBatch({ records: [record(`k${key}`, `k${key}-v${version}`)] }), 1);
          }
        }
      };
      await appendUpdates(30);
      const startEpoch = table.read(slot, emptySnapshot()).storageEpoch;
      // The swap bumps the storage epoch; appends keep being answered while the clean runs.
      await eventually(
        async () => {
          if (table.read(slot, emptySnapshot()).storageEpoch !== startEpoch) return true;
          await pool.append(0, slot, encodeRecordBatch({ records: [record('k0', 'k0-v99')] }), 1);
          return false;
        },
        { what: 'the shard cleaning the log while answering appends' },
      );
      const snapshot = table.read(slot, emptySnapshot());
      const reader = new LogReader(partitionDir);
      const bounds = { logStartOffset: snapshot.logStartOffset, logEndOffset: snapshot.logEndOffset, readableEndOffset: snapshot.highWatermark, storageEpoch: snapshot.storageEpoch };
      const seen: Seen[] = [];
      for (let offset = 0; offset < bounds.logEndOffset; ) {
        const { records, nextOffset } = reader.read(offset, 1 << 20, bounds, () => bounds);
        for (const batch of decodeRecordBatches(records)) for (const r of batch.records) seen.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
        offset = nextOffset;
      }
      reader.close();
      expect(seen.length).toBeLessThan(snapshot.logEndOffset);
      expect(latestPerKey(seen).get('k5')!.value).toBe('k5-v29');
      const cleanedUpTo = readOffsetCheckpoint(join(partitionDir, CLEANER_OFFSET_CHECKPOINT_FILE))!;
      expect(cleanedUpTo).toBeGreaterThan(0);
      const cleaned = seen.filter((r) => r.offset < cleanedUpTo);
      expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
    } finally {
      await pool.close();
    }
  });
});
