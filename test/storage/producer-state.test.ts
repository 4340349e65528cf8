import { copyFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidProducerEpochError,
  InvalidRecordError,
  InvalidRequestError,
  OutOfOrderSequenceError,
} from '../../src/errors.js';
import { kafkaErrorCode } from '../../src/protocol/api/error-codes.js';
import { encodeControlBatch } from '../../src/protocol/control-record.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/storage/partition-log.js';
import { incrementSequence } from '../../src/storage/producer-state.js';
import {
  CapturingLogger,
  DEFAULT_BASE_TIMESTAMP_MS,
  ManualClock,
  buildBatch,
  makeTempDir,
  removeTempDir,
  resealCrc,
  scanLogFiles,
} from './helpers.js';

const T0 = DEFAULT_BASE_TIMESTAMP_MS;
const INT32_MAX = 0x7fff_ffff;
let dirs: string[];
let dir: string;
let openLogs: PartitionLog[];

beforeEach(() => {
  dir = makeTempDir();
  dirs = [dir];
  openLogs = [];
});

afterEach(() => {
  for (const log of openLogs) log.close();
  for (const path of dirs) removeTempDir(path);
});

/** Batches carry timestamps near T0, and producers expire by them: the log's clock must agree. */
function open(config: Partial<LogConfig> = {}, options: PartitionLogOptions = {}, at = dir): PartitionLog {
  const log = PartitionLog.open(at, config, { logger: new CapturingLogger(), nowMs: () => T0, ...options });
  openLogs.push(log);
  return log;
}

function reopen(log: PartitionLog, config: Partial<LogConfig> = {}, options: PartitionLogOptions = {}): PartitionLog {
  log.close();
  openLogs.splice(openLogs.indexOf(log), 1);
  return open(config, options);
}

/** The files as a crash would leave them: copied while the log is still open, never closed. */
function crashImage(): string {
  const copy = makeTempDir();
  dirs.push(copy);
  for (const name of readdirSync(dir)) copyFileSync(join(dir, name), join(copy, name));
  return copy;
}

interface BatchOptions {
  records?: number;
  transactional?: boolean;
  timestampMs?: number;
}

/** A batch as an idempotent producer sends it (a new buffer each call: the log rewrites appended ones). */
function produce(producerId: number, epoch: number, baseSequence: number, options: BatchOptions = {}): Buffer {
  const records = options.records ?? 1;
  return encodeRecordBatch({
    records: Array.from({ length: records }, (_, i) => ({
      value: Buffer.from(`${producerId}/${epoch}/${incrementSequence(baseSequence, i)}`),
      timestampMs: options.timestampMs ?? T0,
    })),
    producerId,
    producerEpoch: epoch,
    baseSequence,
    isTransactional: options.transactional ?? false,
  });
}

function expectNothingAppended(log: PartitionLog, endOffset: number, batchCount: number): void {
  expect(log.logEndOffset).toBe(endOffset);
  expect(scanLogFiles(log.dir)).toHaveLength(batchCount);
}

describe('duplicate batches (producer retries)', () => {
  it('answers a retry of any of the last five batches with its original offsets and appends nothing', () => {
    const log = open();
    const original: [number, number][] = [];
    for (let sequence = 0; sequence < 10; sequence += 2) {
      log.append(buildBatch({ records: 1 }));
      const result = log.append(produce(1, 0, sequence, { records: 2 }));
      expect(result.duplicate).toBe(false);
      original.push([result.baseOffset, result.lastOffset]);
    }
    const end = log.logEndOffset;
    for (let i = 0; i < 5; i++) {
      const retry = log.append(produce(1, 0, 2 * i, { records: 2 }));
      expect(retry).toMatchObject({
        baseOffset: original[i][0],
        lastOffset: original[i][1],
        duplicate: true,
        batchCount: 0,
        sizeBytes: 0,
        logEndOffset: end,
        logAppendTimeMs: -1,
      });
    }
    expectNothingAppended(log, end, 10);
  });

  it('still recognises retries after close and reopen', () => {
    let log = open();
    const first = log.append(produce(5, 3, 0, { records: 3 }));
    const second = log.append(produce(5, 3, 3, { records: 3 }));
    log = reopen(log);
    expect(log.producerStateRecovery.batchesReplayed).toBe(0);
    expect(log.append(produce(5, 3, 0, { records: 3 }))).toMatchObject({ baseOffset: first.baseOffset, duplicate: true });
    expect(log.append(produce(5, 3, 3, { records: 3 }))).toMatchObject({ lastOffset: second.lastOffset, duplicate: true });
    expect(log.append(produce(5, 3, 6)).baseOffset).toBe(6);
  });

  it('after a crash that tore the last batch, recognises the batches that survived and takes the torn one anew', () => {
    const log = open();
    log.takeProducerSnapshot();
    const kept = log.append(produce(9, 0, 0, { records: 2 }));
    const torn = log.append(produce(9, 0, 2, { records: 2 }));
    const image = crashImage();
    const logFile = join(image, '00000000000000000000.log');
    truncateSync(logFile, statSync(logFile).size - 5);

    const recovered = open({}, {}, image);
    expect(recovered.recovery.bytesTruncated).toBeGreaterThan(0);
    expect(recovered.logEndOffset).toBe(torn.baseOffset);
    expect(recovered.producerStateRecovery).toMatchObject({ snapshotOffset: 0, replayedFromOffset: 0, batchesReplayed: 1 });
    expect(recovered.append(produce(9, 0, 0, { records: 2 }))).toMatchObject({ baseOffset: kept.baseOffset, duplicate: true });
    expect(recovered.append(produce(9, 0, 2, { records: 2 }))).toMatchObject({ baseOffset: torn.baseOffset, duplicate: false });
    expect(recovered.append(produce(9, 0, 2, { records: 2 }))).toMatchObject({ baseOffset: torn.baseOffset, duplicate: true });
  });

  it('answers a duplicate under LogAppendTime with the time the original was stamped with', () => {
    const clock = new ManualClock(T0 + 500);
    const log = open({ messageTimestampType: 'LogAppendTime' }, { nowMs: clock.nowMs });
    const original = log.append(produce(1, 0, 0));
    expect(original.logAppendTimeMs).toBe(T0 + 500);
    clock.now += 1000;
    expect(log.append(produce(1, 0, 0))).toMatchObject({ duplicate: true, logAppendTimeMs: T0 + 500 });
  });

  it('refuses a retry of the sixth-newest batch as out of order, as Kafka does once it left the cache', () => {
    const log = open();
    for (let sequence = 0; sequence < 6; sequence++) log.append(produce(1, 0, sequence));
    expect(log.append(produce(1, 0, 1)).duplicate).toBe(true);
    const error = catchError(() => log.append(produce(1, 0, 0)));
    expect(error).toBeInstanceOf(OutOfOrderSequenceError);
    expect(kafkaErrorCode(error)).toBe(45);
    expectNothingAppended(log, 6, 6);
  });

  it('leaves batches without a producer id alone: never duplicates, whatever their content', () => {
    const log = open();
    expect(log.append(buildBatch({ records: 2 }))).toMatchObject({ duplicate: false, lastStableOffset: 2 });
    expect(log.append(buildBatch({ records: 2 }))).toMatchObject({ baseOffset: 2, duplicate: false });
    expect(log.producerCount).toBe(0);
  });
});

describe('sequence and epoch checks', () => {
  it('refuses a gap with OutOfOrderSequence and appends nothing; the next batch in sequence is accepted', () => {
    const log = open();
    log.append(produce(1, 0, 0, { records: 3 }));
    for (const sequence of [4, 2, 100]) {
      expect(() => log.append(produce(1, 0, sequence))).toThrow(OutOfOrderSequenceError);
    }
    expectNothingAppended(log, 3, 1);
    expect(log.append(produce(1, 0, 3)).baseOffset).toBe(3);
    expect(log.producerState(1)).toMatchObject({ producerEpoch: 0, lastSequence: 3 });
  });

  it('fences an older epoch with INVALID_PRODUCER_EPOCH, also for retries of its batches', () => {
    const log = open();
    log.append(produce(1, 4, 0));
    log.append(produce(1, 5, 0));
    for (const batch of [produce(1, 4, 0), produce(1, 4, 1), produce(1, 3, 0)]) {
      const error = catchError(() => log.append(batch));
      expect(error).toBeInstanceOf(InvalidProducerEpochError);
      expect(kafkaErrorCode(error)).toBe(47);
    }
    expectNothingAppended(log, 2, 2);
  });

  it('starts a new epoch at sequence 0 only, which clears the cached batches of the old one', () => {
    const log = open();
    log.append(produce(1, 0, 0));
    log.append(produce(1, 0, 1));
    expect(() => log.append(produce(1, 1, 2))).toThrow(/new epoch starts at 0/);
    const bumped = log.append(produce(1, 1, 0));
    expect(bumped).toMatchObject({ baseOffset: 2, duplicate: false });
    expect(log.producerState(1)?.batches).toHaveLength(1);
    expect(log.append(produce(1, 1, 0))).toMatchObject({ baseOffset: 2, duplicate: true });
    expect(log.append(produce(1, 1, 1)).baseOffset).toBe(3);
  });

  it('wraps sequence numbers from 2^31 - 1 to 0', () => {
    const log = open();
    log.append(produce(1, 0, INT32_MAX - 3, { records: 2 }));
    const wrapping = log.append(produce(1, 0, INT32_MAX - 1, { records: 3 }));
    expect(log.producerState(1)?.lastSequence).toBe(0);
    expect(log.append(produce(1, 0, INT32_MAX - 1, { records: 3 }))).toMatchObject({
      baseOffset: wrapping.baseOffset,
      duplicate: true,
    });
    expect(() => log.append(produce(1, 0, 0))).toThrow(OutOfOrderSequenceError);
    expect(log.append(produce(1, 0, 1)).baseOffset).toBe(5);
    log.append(produce(2, 0, INT32_MAX));
    expect(log.append(produce(2, 0, 0)).baseOffset).toBe(7);
  });

  it('accepts a producer it has no state for at any sequence (Kafka 2.5+), and holds it to that sequence after', () => {
    const log = open();
    expect(log.append(produce(77, 2, 1234)).duplicate).toBe(false);
    expect(() => log.append(produce(77, 2, 1236))).toThrow(OutOfOrderSequenceError);
    log.append(produce(77, 2, 1235));
  });

  it('checks the batches of one append in order, each against the state the earlier ones leave', () => {
    const log = open();
    const both = log.append(Buffer.concat([produce(1, 0, 0, { records: 2 }), produce(1, 0, 2)]));
    expect(both).toMatchObject({ baseOffset: 0, lastOffset: 2, batchCount: 2 });
    expect(() => log.append(Buffer.concat([produce(1, 0, 3), produce(1, 0, 5)]))).toThrow(OutOfOrderSequenceError);
    expect(() => log.append(Buffer.concat([produce(1, 0, 3), produce(1, 0, 3)]))).toThrow(OutOfOrderSequenceError);
    expectNothingAppended(log, 3, 2);
  });

  it('answers an append made only of retries with the span of their original offsets, and refuses one that mixes them with new batches', () => {
    const log = open();
    log.append(Buffer.concat([produce(1, 0, 0, { records: 2 }), produce(1, 0, 2)]));
    expect(log.append(Buffer.concat([produce(1, 0, 0, { records: 2 }), produce(1, 0, 2)]))).toMatchObject({
      baseOffset: 0,
      lastOffset: 2,
      duplicate: true,
    });
    const mixed = catchError(() => log.append(Buffer.concat([produce(1, 0, 2), produce(1, 0, 3)])));
    expect(mixed).toBeInstanceOf(InvalidRequestError);
    expect((mixed as Error).message).toMatch(/append the new batches on their own/);
    expect(() => log.append(Buffer.concat([buildBatch(), produce(1, 0, 2)]))).toThrow(InvalidRequestError);
    expect(() => log.append(Buffer.concat([produce(1, 0, 2), produce(1, 0, 0, { records: 2 })]))).toThrow(/original order/);
    expectNothingAppended(log, 3, 2);
    expect(log.append(produce(1, 0, 3)).baseOffset).toBe(3);
  });
});

describe('what a client may append', () => {
  it('refuses control batches from clients (Kafka: INVALID_RECORD) and takes them from the coordinator', () => {
    const log = open();
    log.append(produce(1, 0, 0, { transactional: true }));
    const marker = (): Buffer =>
      encodeControlBatch({ producerId: 1, producerEpoch: 0, type: 'commit', coordinatorEpoch: 0, timestampMs: T0 });
    const error = catchError(() => log.append(marker()));
    expect(error).toBeInstanceOf(InvalidRecordError);
    expect(kafkaErrorCode(error)).toBe(87);
    expect(() => log.append(marker(), { origin: 'client' })).toThrow(/clients may not write control batches/);
    expect(log.append(marker(), { origin: 'coordinator' }).baseOffset).toBe(1);
    expect(() => log.append(produce(1, 0, 1), { origin: 'nobody' as 'client' })).toThrow(InvalidRequestError);
  });

  it('refuses idempotent batches without a sequence, and transactional ones without a producer id', () => {
    const log = open();
    expect(() => log.append(produce(1, 0, -1))).toThrow(/invalid sequence number -1/);
    const transactional = produce(1, 0, 0, { transactional: true });
    transactional.writeBigInt64BE(-1n, 43);
    resealCrc(transactional);
    expect(() => log.append(transactional)).toThrow(/has no producer id/);
    expectNothingAppended(log, 0, 0);
  });

  it('lets the coordinator append producer batches without sequence checks or duplicate detection', () => {
    const log = open();
    log.append(produce(3, 0, -1), { origin: 'coordinator' });
    log.append(produce(3, 0, -1), { origin: 'coordinator' });
    expect(log.logEndOffset).toBe(2);
    expect(log.append(produce(3, 0, 5), { origin: 'coordinator' }).baseOffset).toBe(2);
    expect(log.append(produce(3, 0, 5), { origin: 'coordinator' })).toMatchObject({ baseOffset: 3, duplicate: false });
    expect(() => log.append(produce(3, 0, 7), { origin: 'client' })).toThrow(OutOfOrderSequenceError);
  });
});

describe('producer id expiration (producer.id.expiration.ms)', () => {
  it('forgets a producer idle for producerIdExpirationMs after its last batch, then accepts it at any sequence', () => {
    const clock = new ManualClock(T0);
    const log = open({}, { nowMs: clock.nowMs, producerIdExpirationMs: 60_000 });
    log.append(produce(1, 0, 0, { timestampMs: T0 }));
    log.append(produce(2, 0, 0, { timestampMs: T0 + 30_000 }));
    expect(log.removeExpiredProducers(T0 + 59_999)).toBe(0);
    expect(log.removeExpiredProducers(T0 + 60_000)).toBe(1);
    expect(log.producerState(1)).toBeNull();
    expect(log.append(produce(1, 0, 500, { timestampMs: T0 + 80_000 })).duplicate).toBe(false);
    clock.now = T0 + 90_000;
    log.applyRetention();
    expect(log.producerState(2)).toBeNull();
    expect(log.producerState(1)).not.toBeNull();
  });

  it('never expires a producer with an ongoing transaction', () => {
    const log = open({}, { producerIdExpirationMs: 1000 });
    log.append(produce(1, 0, 0, { transactional: true, timestampMs: T0 }));
    expect(log.removeExpiredProducers(T0 + 10_000_000)).toBe(0);
    log.append(encodeControlBatch({ producerId: 1, producerEpoch: 0, type: 'abort', coordinatorEpoch: 0, timestampMs: T0 + 5 }), {
      origin: 'coordinator',
    });
    expect(log.removeExpiredProducers(T0 + 1005)).toBe(1);
  });

  it('leaves out producers already expired when it loads a snapshot on open', () => {
    const clock = new ManualClock(T0);
    let log = open({}, { nowMs: clock.nowMs, producerIdExpirationMs: 60_000 });
    log.append(produce(1, 0, 0, { timestampMs: T0 }));
    log.append(produce(2, 0, 0, { timestampMs: T0 + 50_000 }));
    clock.now = T0 + 70_000;
    log = reopen(log, {}, { nowMs: clock.nowMs, producerIdExpirationMs: 60_000 });
    expect(log.producerState(1)).toBeNull();
    expect(log.producerState(2)).toMatchObject({ lastSequence: 0 });
  });

  it('validates the setting', () => {
    expect(() => PartitionLog.open(dir, {}, { producerIdExpirationMs: 0 })).toThrow(/producerIdExpirationMs/);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('active producers (DescribeProducers)', () => {
  it('lists every producer the log remembers, with its open transaction, and keeps them across a reopen', () => {
    let log = open();
    log.append(produce(1, 0, 0, { records: 3 }));
    log.append(produce(2, 4, 0, { transactional: true }));
    log.append(produce(2, 4, 1, { transactional: true }));
    log.append(encodeControlBatch({ producerId: 3, producerEpoch: 1, type: 'abort', coordinatorEpoch: 6, timestampMs: T0 }), { origin: 'coordinator' });
    const view = (entries: ReturnType<PartitionLog['activeProducers']>) =>
      entries
        .map(({ producerId, producerEpoch, lastSequence, coordinatorEpoch, currentTxnFirstOffset }) => ({
          producerId,
          producerEpoch,
          lastSequence,
          coordinatorEpoch,
          currentTxnFirstOffset,
        }))
        .sort((a, b) => a.producerId - b.producerId);
    const expected = [
      { producerId: 1, producerEpoch: 0, lastSequence: 2, coordinatorEpoch: -1, currentTxnFirstOffset: -1 },
      { producerId: 2, producerEpoch: 4, lastSequence: 1, coordinatorEpoch: -1, currentTxnFirstOffset: 3 },
      // A marker alone (its transaction's batches went elsewhere) makes the producer known, with the coordinator's epoch.
      { producerId: 3, producerEpoch: 1, lastSequence: -1, coordinatorEpoch: 6, currentTxnFirstOffset: -1 },
    ];
    expect(view(log.activeProducers())).toEqual(expected);
    log = reopen(log);
    expect(view(log.activeProducers())).toEqual(expected);
  });
});
