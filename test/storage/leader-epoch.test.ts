/**
 * Leader epochs in the partition log: the `leader-epoch-checkpoint` file in Kafka's format, the
 * epoch stamped on every appended batch (outside the CRC), the cache cut on truncation and moved
 * with the log start, and rebuilt or validated when the log opens after a crash. Files are read
 * back with plain readFileSync, never through the log's own code.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateBatchAt } from '../../src/protocol/batch-header.js';
import {
  LEADER_EPOCH_CHECKPOINT_FILE,
  LeaderEpochCache,
  endOffsetForEpoch,
  epochForOffset,
  parseLeaderEpochCheckpoint,
} from '../../src/storage/leader-epoch-cache.js';
import { LogReader } from '../../src/storage/log-reader.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { RECOVERY_POINT_CHECKPOINT_FILE } from '../../src/storage/recovery.js';
import { CapturingLogger, buildBatch, makeTempDir, removeTempDir, scanLogFiles } from './helpers.js';

let dir: string;
let logger: CapturingLogger;

beforeEach(() => {
  dir = makeTempDir();
  logger = new CapturingLogger();
});

afterEach(() => {
  removeTempDir(dir);
});

const open = (config = {}) => PartitionLog.open(dir, config, { logger });
const checkpointText = () => readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_FILE), 'utf8');
const storedEpochs = () => scanLogFiles(dir).map((batch) => [batch.baseOffset, batch.bytes.readInt32BE(12)]);

describe('the leader-epoch-checkpoint file', () => {
  it('starts a new log at epoch 0 from offset 0, in Kafka\'s format', () => {
    const log = open();
    expect(log.leaderEpoch).toBe(0);
    expect(checkpointText()).toBe('0\n1\n0 0\n');
    log.close();
  });

  it('records each new epoch at the log end offset and keeps it across a restart', () => {
    let log = open();
    log.append(buildBatch({ records: 3 }));
    log.becomeLeader(2);
    expect(checkpointText()).toBe('0\n2\n0 0\n2 3\n');
    log.append(buildBatch({ records: 2 }));
    log.close();
    log = open();
    expect(log.leaderEpoch).toBe(2);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    expect(() => log.becomeLeader(1)).toThrow(/>= the current epoch 2/);
    log.close();
  });

  it('refuses malformed files with the reason, and parses what Kafka writes', () => {
    expect(parseLeaderEpochCheckpoint('f', '0\n2\n0 0\n4 120\n')).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 4, startOffset: 120 },
    ]);
    expect(() => parseLeaderEpochCheckpoint('f', '1\n0\n')).toThrow(/version "1" is not supported/);
    expect(() => parseLeaderEpochCheckpoint('f', '0\n2\n0 0\n')).toThrow(/count line says "2" but 1 entry lines follow/);
    expect(() => parseLeaderEpochCheckpoint('f', '0\n1\n0 0')).toThrow(/expected/);
    expect(() => parseLeaderEpochCheckpoint('f', '0\n2\n3 10\n2 20\n')).toThrow(/must increase/);
    expect(() => parseLeaderEpochCheckpoint('f', '0\n1\nx 10\n')).toThrow(/entry line 1/);
  });
});

describe('stamping', () => {
  it('stamps the current epoch on every appended batch in place, leaving the CRC valid', () => {
    const log = open();
    log.append(Buffer.concat([buildBatch({ records: 2 }), buildBatch({ records: 1 })]));
    log.becomeLeader(7);
    log.append(buildBatch({ records: 4 }));
    expect(storedEpochs()).toEqual([
      [0, 0],
      [2, 0],
      [3, 7],
    ]);
    for (const batch of scanLogFiles(dir)) expect(() => validateBatchAt(batch.bytes, 0)).not.toThrow();
    log.close();
  });
});

describe('endOffsetFor (OffsetsForLeaderEpoch)', () => {
  const entries = [
    { epoch: 1, startOffset: 10 },
    { epoch: 3, startOffset: 25 },
    { epoch: 4, startOffset: 40 },
  ];

  it('answers as Kafka\'s LeaderEpochFileCache does', () => {
    // The current epoch: the log end offset.
    expect(endOffsetForEpoch(entries, 4, 55)).toEqual({ leaderEpoch: 4, endOffset: 55 });
    // An older epoch: where the next one starts.
    expect(endOffsetForEpoch(entries, 3, 55)).toEqual({ leaderEpoch: 3, endOffset: 40 });
    // An epoch this leader never had: the highest below it, ending where the next one starts.
    expect(endOffsetForEpoch(entries, 2, 55)).toEqual({ leaderEpoch: 1, endOffset: 25 });
    // Below every known epoch (its data was deleted): the first known epoch's start offset.
    expect(endOffsetForEpoch(entries, 0, 55)).toEqual({ leaderEpoch: 0, endOffset: 10 });
    // UNDEFINED_EPOCH, and an epoch above every known one.
    expect(endOffsetForEpoch(entries, -1, 55)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    expect(endOffsetForEpoch(entries, 5, 55)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    expect(endOffsetForEpoch([], 0, 55)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    expect(epochForOffset(entries, 9)).toBeNull();
    expect(epochForOffset(entries, 30)).toBe(3);
  });

  it('answers from the log and, on another thread\'s reader, from the file', () => {
    const log = open();
    log.append(buildBatch({ records: 5 }));
    log.becomeLeader(2);
    log.append(buildBatch({ records: 5 }));
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 5 });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 10 });
    const reader = new LogReader(dir);
    expect(endOffsetForEpoch(reader.leaderEpochs(), 1, log.logEndOffset)).toEqual({ leaderEpoch: 0, endOffset: 5 });
    reader.close();
    log.close();
  });
});

describe('truncation and the log start offset', () => {
  it('truncateTo drops epochs that started in the removed range and carries the current epoch on from the new end', () => {
    const log = open();
    log.append(buildBatch({ records: 5 }));
    log.becomeLeader(1);
    log.append(buildBatch({ records: 5 }));
    log.becomeLeader(2);
    log.append(buildBatch({ records: 5 }));
    expect(log.truncateTo(7)).toBe(5);
    expect(checkpointText()).toBe('0\n2\n0 0\n2 5\n');
    expect(log.leaderEpoch).toBe(2);
    log.append(buildBatch({ records: 1 }));
    expect(storedEpochs().at(-1)).toEqual([5, 2]);
    log.close();
  });

  it('DeleteRecords and retention move the first entry up to the new log start offset', () => {
    const log = open({ segmentBytes: 1024 });
    for (let i = 0; i < 4; i++) log.append(buildBatch({ records: 5, valueBytes: 100 }));
    log.becomeLeader(1);
    for (let i = 0; i < 4; i++) log.append(buildBatch({ records: 5, valueBytes: 100 }));
    log.deleteRecordsBefore(12);
    expect(checkpointText()).toBe('0\n2\n0 12\n1 20\n');
    log.deleteRecordsBefore(25);
    expect(checkpointText()).toBe('0\n1\n1 25\n');
    log.updateConfig({ segmentBytes: 1024, retentionBytes: 0 });
    const { logStartOffset } = log.applyRetention();
    expect(logStartOffset).toBe(log.logEndOffset);
    expect(checkpointText()).toBe(`0\n1\n1 ${logStartOffset}\n`);
    expect(log.leaderEpoch).toBe(1);
    log.close();
  });
});

describe('opening after a crash', () => {
  it('removes a checkpoint write torn by a crash and keeps the file it was replacing', () => {
    let log = open();
    log.append(buildBatch({ records: 3 }));
    log.becomeLeader(4);
    log.close();
    writeFileSync(join(dir, `${LEADER_EPOCH_CHECKPOINT_FILE}.tmp`), '0\n3\n0 0\n4 3\n9');
    log = open();
    expect(existsSync(join(dir, `${LEADER_EPOCH_CHECKPOINT_FILE}.tmp`))).toBe(false);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 4, startOffset: 3 },
    ]);
    log.close();
  });

  it('rebuilds a damaged checkpoint from the batch headers, with a warning', () => {
    let log = open();
    log.append(buildBatch({ records: 3 }));
    log.becomeLeader(4);
    log.append(buildBatch({ records: 2 }));
    log.close();
    writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_FILE), '0\n2\n0 0\n');
    log = open();
    expect(logger.warnings.join('\n')).toMatch(/count line says "2".*rebuilding it from the batch headers/s);
    expect(checkpointText()).toBe('0\n2\n0 0\n4 3\n');
    expect(log.leaderEpoch).toBe(4);
    log.close();
  });

  it('adds the epochs of batches past the recovery point that a stale checkpoint lacks, and moves an epoch whose batches were lost to the recovered end', () => {
    let log = open();
    log.append(buildBatch({ records: 3 }));
    log.becomeLeader(4);
    log.append(buildBatch({ records: 2 }));
    log.close();
    // As if the crash came before the flush: recovery validates everything, and the file says
    // less than the batches (epoch 4) and more than the log (an epoch 6 past its end).
    writeFileSync(join(dir, RECOVERY_POINT_CHECKPOINT_FILE), '0\n0\n');
    writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT_FILE), '0\n2\n0 0\n6 9\n');
    log = open();
    // Epoch 6's batches are gone, but it stays the current epoch, from the recovered end on.
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 4, startOffset: 3 },
      { epoch: 6, startOffset: 5 },
    ]);
    expect(checkpointText()).toBe('0\n3\n0 0\n4 3\n6 5\n');
    expect(log.leaderEpoch).toBe(6);
    log.close();
  });

  it('opens a data directory written before epochs were kept: -1 batches, no checkpoint; epoch 0 from the log end on', () => {
    let log = open();
    log.append(buildBatch({ records: 3 }));
    log.close();
    // What an older Sluice left: batches carrying the producer's -1, and no checkpoint file.
    const [segment] = scanLogFiles(dir);
    const file = join(dir, segment.file);
    const bytes = readFileSync(file);
    bytes.writeInt32BE(-1, segment.position + 12);
    writeFileSync(file, bytes);
    unlinkSync(join(dir, LEADER_EPOCH_CHECKPOINT_FILE));
    log = open();
    expect(log.leaderEpoch).toBe(0);
    expect(checkpointText()).toBe('0\n1\n0 3\n');
    log.append(buildBatch({ records: 1 }));
    expect(storedEpochs()).toEqual([
      [0, -1],
      [3, 0],
    ]);
    log.close();
  });
});

describe('LeaderEpochCache', () => {
  it('assign removes entries that would break monotonicity, as Kafka\'s does', () => {
    const cache = new LeaderEpochCache(dir, []);
    expect(cache.assign(1, 0)).toBe(true);
    expect(cache.assign(1, 5)).toBe(false);
    expect(cache.assign(3, 10)).toBe(true);
    expect(cache.assign(2, 10)).toBe(true);
    expect(cache.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
    ]);
    expect(checkpointText()).toBe('0\n2\n1 0\n2 10\n');
  });
});
