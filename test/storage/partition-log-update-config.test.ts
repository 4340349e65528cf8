/**
 * PartitionLog.updateConfig: a running log takes new settings (Kafka's dynamic topic configs) for
 * its next append, roll and retention pass; index sizing applies to segments created afterwards;
 * an invalid config changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidConfigError, RecordTooLargeError } from '../../src/errors.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { CapturingLogger, DEFAULT_BASE_TIMESTAMP_MS, ManualClock, buildBatch, makeTempDir, removeTempDir } from './helpers.js';

let dir: string;
let log: PartitionLog;
let clock: ManualClock;

beforeEach(() => {
  dir = makeTempDir();
  clock = new ManualClock();
  log = PartitionLog.open(dir, {}, { logger: new CapturingLogger(), nowMs: clock.nowMs });
});

afterEach(() => {
  log.close();
  removeTempDir(dir);
});

describe('PartitionLog.updateConfig', () => {
  it('applies maxMessageBytes to the next append', () => {
    const batch = buildBatch({ records: 1, valueBytes: 2000 });
    log.append(batch);
    log.updateConfig({ maxMessageBytes: 1000 });
    expect(log.config.maxMessageBytes).toBe(1000);
    expect(() => log.append(batch)).toThrow(RecordTooLargeError);
    log.updateConfig({});
    log.append(batch);
    expect(log.logEndOffset).toBe(2);
  });

  it('applies segmentMs to the next roll and retentionMs to the next retention pass', () => {
    log.append(buildBatch({ records: 2 }));
    clock.now += 60_000;
    log.append(buildBatch({ records: 2, baseTimestamp: clock.now }));
    expect(log.segmentInfos()).toHaveLength(1);
    log.updateConfig({ segmentMs: 1000 });
    clock.now += 2000;
    log.append(buildBatch({ records: 2, baseTimestamp: clock.now }));
    expect(log.segmentInfos().map((segment) => segment.baseOffset)).toEqual([0, 4]);

    log.updateConfig({ segmentMs: 1000, retentionMs: 1000 });
    clock.now += 5000;
    const result = log.applyRetention(clock.now);
    expect(result.logStartOffset).toBeGreaterThanOrEqual(4);
    expect(log.segmentInfos()[0].baseOffset).toBeGreaterThanOrEqual(4);
  });

  it('sizes and spaces the indexes of segments created afterwards by the new settings', () => {
    log.updateConfig({ segmentIndexBytes: 24, indexIntervalBytes: 0 });
    for (let i = 0; i < 4; i++) log.append(buildBatch({ records: 1, baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS + i }));
    // The active segment was created before: it keeps a 4096-byte index interval (no entry yet) and roomy indexes.
    expect(log.segmentInfos().map((s) => [s.baseOffset, s.offsetIndexEntries])).toEqual([[0, 0]]);
    log.roll();
    for (let i = 0; i < 4; i++) log.append(buildBatch({ records: 1, baseTimestamp: DEFAULT_BASE_TIMESTAMP_MS + 10 + i }));
    // The new one indexes every batch and its 24-byte time index (2 entries) is full after the third: it rolls.
    expect(log.segmentInfos().map((s) => s.baseOffset)).toEqual([0, 4, 7]);
    expect(log.segmentInfos()[1].timeIndexEntries).toBe(2);
  });

  it('refuses an invalid config and keeps the old one', () => {
    expect(() => log.updateConfig({ segmentBytes: 5 })).toThrow(InvalidConfigError);
    expect(log.config.segmentBytes).toBe(1024 * 1024 * 1024);
  });
});
