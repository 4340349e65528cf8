import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptFileError, OutOfOrderSequenceError } from '../../src/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';
import {
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  listProducerSnapshots,
  readProducerSnapshot,
  type ProducerSnapshotEntry,
} from '../../src/storage/producer-state-snapshot.js';
import { CapturingLogger, DEFAULT_BASE_TIMESTAMP_MS, makeTempDir, removeTempDir } from './helpers.js';

const T0 = DEFAULT_BASE_TIMESTAMP_MS;
let dir: string;
let dirs: string[];
let openLogs: PartitionLog[];
let logger: CapturingLogger;

beforeEach(() => {
  dir = makeTempDir();
  dirs = [dir];
  openLogs = [];
  logger = new CapturingLogger();
});

afterEach(() => {
  for (const log of openLogs) log.close();
  for (const path of dirs) removeTempDir(path);
});

function open(config: Partial<LogConfig> = {}, options: PartitionLogOptions = {}, at = dir): PartitionLog {
  const log = PartitionLog.open(at, config, { logger, nowMs: () => T0, ...options });
  openLogs.push(log);
  return log;
}

function reopen(log: PartitionLog, config: Partial<LogConfig> = {}): PartitionLog {
  log.close();
  openLogs.splice(openLogs.indexOf(log), 1);
  return open(config);
}

function crashImage(): string {
  const copy = makeTempDir();
  dirs.push(copy);
  for (const name of readdirSync(dir)) copyFileSync(join(dir, name), join(copy, name));
  return copy;
}

function produce(producerId: number, epoch: number, baseSequence: number, records = 1, transactional = false): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: records }, () => ({ value: Buffer.alloc(40, producerId), timestampMs: T0 })),
    producerId,
    producerEpoch: epoch,
    baseSequence,
    isTransactional: transactional,
  });
}

const ENTRIES: ProducerSnapshotEntry[] = [
  {
    producerId: 2 ** 45,
    producerEpoch: 32767,
    coordinatorEpoch: 12,
    currentTxnFirstOffset: 90,
    lastTimestampMs: T0 + 5,
    // The first cached batch wraps its sequence from 2^31 - 2 through 2^31 - 1 to 0.
    batches: Array.from({ length: 5 }, (_, i) => ({
      firstSequence: i === 0 ? 0x7fff_fffe : 3 * i - 2,
      lastSequence: 3 * i,
      firstOffset: 80 + 4 * i,
      lastOffset: 82 + 4 * i,
      maxTimestampMs: T0 + i,
    })),
  },
  { producerId: 0, producerEpoch: 0, coordinatorEpoch: -1, currentTxnFirstOffset: -1, lastTimestampMs: -1, batches: [] },
];

describe('snapshot format', () => {
  it('round-trips every field', () => {
    const bytes = encodeProducerSnapshot(ENTRIES);
    expect(bytes.length).toBe(10 + 2 * 31 + 5 * 28);
    expect(decodeProducerSnapshot(bytes, 'x.snapshot', 100)).toEqual(ENTRIES);
    expect(decodeProducerSnapshot(encodeProducerSnapshot([]), 'x.snapshot', 0)).toEqual([]);
  });

  it('detects any flipped byte, a cut file, and values the log could not have produced below the snapshot offset', () => {
    const bytes = encodeProducerSnapshot(ENTRIES);
    for (let position = 0; position < bytes.length; position++) {
      const damaged = Buffer.from(bytes);
      damaged[position] ^= 0x01;
      expect(() => decodeProducerSnapshot(damaged, 'x.snapshot', 100), `byte ${position}`).toThrow(CorruptFileError);
    }
    for (const length of [0, 9, 10 + 31, bytes.length - 1]) {
      expect(() => decodeProducerSnapshot(bytes.subarray(0, length), 'x.snapshot', 100)).toThrow(CorruptFileError);
    }
    expect(() => decodeProducerSnapshot(bytes, 'x.snapshot', 98)).toThrow(/past the snapshot/);
    expect(() => decodeProducerSnapshot(bytes, 'x.snapshot', 90)).toThrow(/not below the snapshot offset/);
  });
});

describe('snapshots of a partition log', () => {
  it('writes one at each roll and on close, named by offset as in Kafka, and keeps the newest two', () => {
    let log = open({ segmentBytes: 400 });
    for (let sequence = 0; sequence < 12; sequence++) log.append(produce(1, 0, sequence));
    const segments = log.segmentInfos().map((segment) => segment.baseOffset);
    expect(segments.length).toBeGreaterThan(3);
    expect(listProducerSnapshots(dir)).toEqual(segments.slice(-2));
    log = reopen(log, { segmentBytes: 400 });
    expect(listProducerSnapshots(dir)).toEqual([segments[segments.length - 1], 12]);
    expect(existsSync(join(dir, '00000000000000000012.snapshot'))).toBe(true);
    const [entry] = readProducerSnapshot(dir, 12);
    expect(entry).toMatchObject({ producerId: 1, producerEpoch: 0, currentTxnFirstOffset: -1 });
    expect(entry.batches.map((batch) => batch.firstSequence)).toEqual([7, 8, 9, 10, 11]);
    expect(log.producerStateRecovery).toMatchObject({ snapshotOffset: 12, replayedFromOffset: 12, batchesReplayed: 0 });
  });

  it('falls back to an older snapshot when the newest is corrupt, with a warning, and the state is the same', () => {
    let log = open();
    log.append(produce(1, 0, 0));
    log.takeProducerSnapshot();
    log.append(produce(1, 0, 1));
    log.append(produce(2, 0, 0, 1, true));
    log.close();
    openLogs = [];
    const newest = join(dir, '00000000000000000003.snapshot');
    const bytes = readFileSync(newest);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(newest, bytes);

    log = open();
    expect(logger.warnings.some((warning) => /00000000000000000003\.snapshot.*CRC mismatch/.test(warning))).toBe(true);
    expect(log.producerStateRecovery).toMatchObject({
      snapshotOffset: 1,
      replayedFromOffset: 1,
      batchesReplayed: 2,
      snapshotsDiscarded: 1,
    });
    expect(log.append(produce(1, 0, 1))).toMatchObject({ baseOffset: 1, duplicate: true });
    expect(log.lastStableOffset).toBe(2);
    expect(listProducerSnapshots(dir)).toEqual([1, 3]);
  });

  it('replays the whole log when no snapshot is usable', () => {
    let log = open({ segmentBytes: 400 });
    for (let sequence = 0; sequence < 8; sequence++) log.append(produce(4, 1, sequence));
    log.close();
    openLogs = [];
    for (const offset of listProducerSnapshots(dir)) writeFileSync(join(dir, `${String(offset).padStart(20, '0')}.snapshot`), 'junk');
    log = open({ segmentBytes: 400 });
    expect(log.producerStateRecovery).toMatchObject({ snapshotOffset: null, replayedFromOffset: 0, batchesReplayed: 8, snapshotsDiscarded: 2 });
    expect(log.append(produce(4, 1, 7)).duplicate).toBe(true);
    expect(() => log.append(produce(4, 1, 9))).toThrow(OutOfOrderSequenceError);
  });

  it('ignores and deletes a snapshot past the log end that a crash left behind', () => {
    const log = open({ segmentBytes: 400 });
    for (let sequence = 0; sequence < 8; sequence++) log.append(produce(1, 0, sequence));
    const image = crashImage();
    const active = log.segmentInfos().at(-1)!;
    expect(log.segmentInfos().length).toBeGreaterThan(2);
    // The crash lost the newest segment and tore the one before, but the snapshot taken at the roll survived.
    for (const suffix of ['.log', '.index', '.timeindex']) {
      rmSync(join(image, `${String(active.baseOffset).padStart(20, '0')}${suffix}`), { force: true });
    }
    const previous = log.segmentInfos().at(-2)!;
    const lastLog = join(image, `${String(previous.baseOffset).padStart(20, '0')}.log`);
    writeFileSync(lastLog, readFileSync(lastLog).subarray(0, 10));
    expect(listProducerSnapshots(image)).toContain(active.baseOffset);
    const recovered = open({ segmentBytes: 400 }, {}, image);
    expect(recovered.logEndOffset).toBe(previous.baseOffset);
    expect(listProducerSnapshots(image)).toEqual([previous.baseOffset]);
    expect(recovered.producerStateRecovery.snapshotOffset).toBe(previous.baseOffset);
    expect(recovered.producerState(1)?.lastSequence).toBe(previous.baseOffset - 1);
  });

  it('deletes snapshots below the log start with the segments, and keeps producer state across retention and restart', () => {
    let log = open({ segmentBytes: 400, retentionBytes: 0 });
    for (let sequence = 0; sequence < 6; sequence++) log.append(produce(1, 0, sequence));
    log.roll();
    log.applyRetention(T0);
    expect(log.logStartOffset).toBe(6);
    expect(readdirSync(dir).filter((name) => name.endsWith('.log'))).toEqual(['00000000000000000006.log']);
    expect(listProducerSnapshots(dir)).toEqual([6]);
    log = reopen(log, { segmentBytes: 400, retentionBytes: 0 });
    expect(log.producerState(1)?.lastSequence).toBe(5);
    expect(log.append(produce(1, 0, 5))).toMatchObject({ baseOffset: 5, duplicate: true });
    expect(() => log.append(produce(1, 0, 7))).toThrow(OutOfOrderSequenceError);
    expect(log.append(produce(1, 0, 6)).baseOffset).toBe(6);

    log.deleteRecordsBefore(7);
    expect(listProducerSnapshots(dir)).toEqual([7]);
    expect(readProducerSnapshot(dir, 7)[0].batches.at(-1)).toMatchObject({ firstSequence: 6, firstOffset: 6 });
  });
});

describe('truncateTo', () => {
  it('reloads producer state from the newest snapshot at or below the cut and replays to it', () => {
    const log = open();
    for (let sequence = 0; sequence < 3; sequence++) log.append(produce(1, 0, sequence));
    log.takeProducerSnapshot();
    for (let sequence = 3; sequence < 6; sequence++) log.append(produce(1, 0, sequence));
    log.takeProducerSnapshot();
    expect(listProducerSnapshots(dir)).toEqual([3, 6]);
    log.truncateTo(4);
    expect(listProducerSnapshots(dir)).toEqual([3]);
    expect(log.producerState(1)?.lastSequence).toBe(3);
    expect(log.append(produce(1, 0, 3))).toMatchObject({ baseOffset: 3, duplicate: true });
    expect(log.append(produce(1, 0, 4))).toMatchObject({ baseOffset: 4, duplicate: false });
    log.truncateTo(0);
    expect(log.producerState(1)).toBeNull();
    expect(listProducerSnapshots(dir)).toEqual([]);
  });
});
