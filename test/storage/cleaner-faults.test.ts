/**
 * The log cleaner when the file system refuses its writes, on real file systems and real cleaner
 * threads: a tmpfs this test mounts and fills (ENOSPC), and an ext4 file system on a loop device
 * turned read-only by an error (EROFS; test/support/ext4-loop.ts). Whether the clean fails while
 * its thread writes the `.cleaned` files or while the owner swaps them in, the partition stays
 * readable with every record it had, no `.cleaned` or `.swap` file is left to be taken for a
 * segment, the cleaner leaves the log alone for its failure backoff, and the next clean once the
 * file system takes writes again compacts it with the latest record of every key kept.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import { CLEANER_OFFSET_CHECKPOINT_FILE, LogCleaner, type CleanOutcome } from '../../src/storage/log-cleaner.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { mountExt4Loop } from '../support/ext4-loop.js';
import { fillUp, mountTmpfs } from '../support/tmpfs.js';
import { CapturingLogger, ManualClock, makeTempDir, readLog, removeTempDir } from './helpers.js';

const root = makeTempDir();
const tmpfs = mountTmpfs(join(root, 'tmpfs'), '8m');
const ext4 = mountExt4Loop(join(root, 'ext4.img'), join(root, 'ext4'), 32 * 1024 * 1024);
if (tmpfs.notMountable !== null) console.log(`cleaner ENOSPC tests skipped: ${tmpfs.notMountable}`);
if (ext4.notMountable !== null) console.log(`cleaner EROFS tests skipped: ${ext4.notMountable}`);

const FAILURE_BACKOFF_MS = 1_000;
const COMPACTED: Partial<LogConfig> = { cleanupCompact: true, segmentBytes: 16 * 1024, indexIntervalBytes: 1024, minCleanableDirtyRatio: 0 };
const KEYS = 400;
const VERSIONS = 5;
const VALUE_PADDING = 'v'.repeat(200);

const clock = new ManualClock();
const logger = new CapturingLogger();
const cleaner = new LogCleaner<string>({ logger, failureBackoffMs: FAILURE_BACKOFF_MS });

afterEach(() => {
  if (tmpfs.notMountable === null) for (const name of readdirSync(tmpfs.mountPoint)) rmSync(join(tmpfs.mountPoint, name), { recursive: true, force: true });
});

afterAll(async () => {
  await cleaner.close();
  tmpfs.unmount();
  ext4.unmount();
  removeTempDir(root);
});

interface Seen {
  offset: number;
  key: string;
  value: string;
}

function writeUpdates(log: PartitionLog): void {
  for (let version = 0; version < VERSIONS; version++) {
    for (let key = 0; key < KEYS; key++) {
      const record = { key: Buffer.from(`k${key}`), value: Buffer.from(`k${key}-v${version}-${VALUE_PADDING}`), timestampMs: clock.now };
      log.append(encodeRecordBatch({ records: [record], compression: 'none' }));
    }
  }
}

function readAll(log: PartitionLog): Seen[] {
  const seen: Seen[] = [];
  for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
    const { bytes, nextOffset } = readLog(log, offset, 64 * 1024);
    for (const batch of decodeRecordBatches(bytes)) {
      for (const r of batch.records) seen.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
    }
    expect(nextOffset).toBeGreaterThan(offset);
    offset = nextOffset;
  }
  return seen;
}

function latestPerKey(records: readonly Seen[]): Map<string, Seen> {
  const latest = new Map<string, Seen>();
  for (const r of records) latest.set(r.key, r);
  return latest;
}

/**
 * A clean compacted `before` into `after`: fewer records, each one of `before` at its offset, and
 * the latest of every key kept (the active segment, which no clean touches, may keep older ones).
 */
function expectCompacted(before: readonly Seen[], after: readonly Seen[]): void {
  expect(after.length).toBeLessThan(before.length);
  const byOffset = new Map(before.map((r) => [r.offset, r]));
  for (const r of after) expect(r).toEqual(byOffset.get(r.offset));
  expect(latestPerKey(after)).toEqual(latestPerKey(before));
}

/** The cleaner's leftovers that must not outlive a failed clean. */
function cleanerLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.cleaned') || name.endsWith('.swap'));
}

/** Starts a clean, waits for its thread and collects its outcome (the swap runs here). */
async function cleanOnce(dir: string, log: PartitionLog, beforeSwap: () => void = () => {}): Promise<CleanOutcome<string>> {
  expect(cleaner.maybeClean(dir, log, clock.now), 'the log is cleanable').not.toBeNull();
  await cleaner.whenIdle();
  beforeSwap();
  const outcomes = cleaner.completeFinished(clock.now);
  expect(outcomes).toHaveLength(1);
  return outcomes[0];
}

/** After a failed clean: everything still readable, nothing half-swapped, and the backoff honoured. */
function expectUntouched(dir: string, log: PartitionLog, before: readonly Seen[], segmentsBefore: unknown): void {
  expect(readAll(log)).toEqual(before);
  expect(log.segmentInfos()).toEqual(segmentsBefore);
  expect(cleanerLeftovers(dir)).toEqual([]);
  expect(cleaner.maybeClean(dir, log, clock.now + FAILURE_BACKOFF_MS - 1), 'no clean within the failure backoff').toBeNull();
}

describe.skipIf(tmpfs.notMountable !== null)('the log cleaner on a full file system (ENOSPC)', () => {
  it('fails each clean that runs out of space part-way, with the log unchanged, and compacts once space returns', async () => {
    const dir = join(tmpfs.mountPoint, 'c-0');
    const log = PartitionLog.open(dir, COMPACTED, { nowMs: clock.nowMs, logger });
    writeUpdates(log);
    const before = readAll(log);
    const segmentsBefore = log.segmentInfos();
    const gap = join(tmpfs.mountPoint, 'gap');
    const filler = join(tmpfs.mountPoint, 'filler');
    // Free space grows by one 16 KiB step per attempt, so the clean runs out at a later file each time.
    let failures = 0;
    let outcome: CleanOutcome<string>;
    for (let freeBytes = 0; ; freeBytes += 16 * 1024) {
      writeFileSync(gap, Buffer.alloc(freeBytes));
      fillUp(filler);
      rmSync(gap);
      outcome = await cleanOnce(dir, log);
      rmSync(filler);
      if (outcome.failure === null) break;
      failures++;
      expect(outcome.failure).toContain('ENOSPC');
      expect(outcome.groupsSwapped).toBe(0);
      expectUntouched(dir, log, before, segmentsBefore);
      clock.now += FAILURE_BACKOFF_MS;
    }
    console.log(`cleaner on a full tmpfs: ${failures} cleans failed with ENOSPC at growing free space, then one succeeded`);
    expect(failures).toBeGreaterThan(3);
    expect(outcome.groupsSwapped).toBeGreaterThan(0);
    expectCompacted(before, readAll(log));
    expect(cleanerLeftovers(dir)).toEqual([]);
    log.close();
  });
});

describe.skipIf(ext4.notMountable !== null)('the log cleaner on a file system turned read-only (EROFS)', () => {
  it('fails a clean whose thread or swap meets EROFS, keeps the log readable, and compacts once the file system is back', async () => {
    const dir = join(ext4.mountPoint, 'c-0');
    let log = PartitionLog.open(dir, COMPACTED, { nowMs: clock.nowMs, logger });
    writeUpdates(log);
    log.flush();
    const before = readAll(log);
    const segmentsBefore = log.segmentInfos();

    // The error comes after the clean's thread wrote its files, before the owner swaps them in:
    // the commit's first rename fails, and the read-only file system keeps the `.cleaned` files.
    const atSwap = await cleanOnce(dir, log, () => ext4.forceReadOnly());
    expect(atSwap.failure).toContain('EROFS');
    expect(atSwap.groupsSwapped).toBe(0);
    expect(readAll(log)).toEqual(before);
    expect(log.segmentInfos()).toEqual(segmentsBefore);
    expect(cleanerLeftovers(dir).every((name) => name.endsWith('.cleaned'))).toBe(true);
    expect(cleaner.maybeClean(dir, log, clock.now + FAILURE_BACKOFF_MS - 1), 'no clean within the failure backoff').toBeNull();

    // The next clean's thread cannot write at all.
    clock.now += FAILURE_BACKOFF_MS;
    const inThread = await cleanOnce(dir, log);
    expect(inThread.failure).toContain('EROFS');
    expect(inThread.groupsSwapped).toBe(0);
    expect(readAll(log)).toEqual(before);

    cleaner.forget(dir);
    log.close();
    ext4.checkAndMountAgain();
    // Opening removes the `.cleaned` files the failed swap left (its commit never happened).
    log = PartitionLog.open(dir, COMPACTED, { nowMs: clock.nowMs, logger });
    expect(cleanerLeftovers(dir)).toEqual([]);
    expect(readAll(log)).toEqual(before);
    clock.now += FAILURE_BACKOFF_MS;
    const outcome = await cleanOnce(dir, log);
    expect(outcome.failure).toBeNull();
    expectCompacted(before, readAll(log));
    log.close();
  });
});
