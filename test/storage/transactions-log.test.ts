import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidProducerEpochError,
  InvalidRecordError,
  InvalidTxnStateError,
  OutOfOrderSequenceError,
  TransactionCoordinatorFencedError,
} from '../../src/errors.js';
import { kafkaErrorCode } from '../../src/protocol/api/error-codes.js';
import { encodeControlBatch } from '../../src/protocol/control-record.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog, type AppendResult, type PartitionLogOptions } from '../../src/storage/partition-log.js';
import { incrementSequence } from '../../src/storage/producer-state.js';
import { readTxnIndexFile, type AbortedTxn } from '../../src/storage/txn-index.js';
import {
  CapturingLogger,
  DEFAULT_BASE_TIMESTAMP_MS,
  buildBatch,
  makeTempDir,
  removeTempDir,
  resealCrc,
  abortedTransactionsOf,
} from './helpers.js';
import { seededRandom } from '../support/prng.js';

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

function open(config: Partial<LogConfig> = {}, at = dir, options: PartitionLogOptions = {}): PartitionLog {
  const log = PartitionLog.open(at, config, { logger, nowMs: () => T0, ...options });
  openLogs.push(log);
  return log;
}

function close(log: PartitionLog): void {
  log.close();
  openLogs.splice(openLogs.indexOf(log), 1);
}

/** The files as a crash would leave them: copied while the log is open. */
function crashImage(from: string): string {
  const copy = makeTempDir();
  dirs.push(copy);
  for (const name of readdirSync(from)) copyFileSync(join(from, name), join(copy, name));
  return copy;
}

function produce(producerId: number, epoch: number, baseSequence: number, records = 1, transactional = true): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: records }, (_, i) => ({
      value: Buffer.from(`${producerId}/${epoch}/${incrementSequence(baseSequence, i)}`),
      timestampMs: T0,
    })),
    producerId,
    producerEpoch: epoch,
    baseSequence,
    isTransactional: transactional,
  });
}

function marker(producerId: number, epoch: number, type: 'commit' | 'abort', coordinatorEpoch = 0): Buffer {
  return encodeControlBatch({ producerId, producerEpoch: epoch, type, coordinatorEpoch, timestampMs: T0 });
}

function endTxn(log: PartitionLog, producerId: number, epoch: number, type: 'commit' | 'abort', coordinatorEpoch = 0): AppendResult {
  return log.append(marker(producerId, epoch, type, coordinatorEpoch), { origin: 'coordinator' });
}

/** Every entry of every `.txnindex` in `at`, in file order, read by the read-only reader. */
function txnIndexEntries(at: string): AbortedTxn[] {
  return readdirSync(at)
    .filter((name) => name.endsWith('.txnindex'))
    .sort()
    .flatMap((name) => readTxnIndexFile(join(at, name), Number(name.slice(0, 20))));
}

describe('aborted transactions and the transaction index', () => {
  it('records an ABORT in the active segment\'s .txnindex in Kafka\'s layout, with the LSO at that point', () => {
    const log = open();
    log.append(produce(1, 0, 0, 2));
    log.append(produce(2, 0, 0));
    log.append(produce(1, 0, 2));
    expect(endTxn(log, 1, 0, 'abort').baseOffset).toBe(4);
    endTxn(log, 2, 0, 'commit');
    const bytes = readFileSync(join(dir, '00000000000000000000.txnindex'));
    const expected = Buffer.alloc(34);
    expected.writeInt16BE(0, 0);
    expected.writeBigInt64BE(1n, 2);
    expected.writeBigInt64BE(0n, 10);
    expected.writeBigInt64BE(4n, 18);
    expected.writeBigInt64BE(2n, 26);
    expect(bytes.equals(expected)).toBe(true);
    expect(abortedTransactionsOf(log, 0, 6)).toEqual([{ producerId: 1, firstOffset: 0 }]);
    expect(abortedTransactionsOf(log, 5, 6)).toEqual([]);
  });

  it('holds the last stable offset at the oldest ongoing transaction and moves it with the markers', () => {
    const log = open();
    expect(log.append(buildBatch()).lastStableOffset).toBe(1);
    expect(log.append(produce(1, 0, 0)).lastStableOffset).toBe(1);
    expect(log.append(produce(2, 0, 0, 3)).lastStableOffset).toBe(1);
    expect(log.append(buildBatch()).lastStableOffset).toBe(1);
    expect(log.append(produce(1, 0, 1)).lastStableOffset).toBe(1);
    expect(endTxn(log, 1, 0, 'commit').lastStableOffset).toBe(2);
    expect(log.lastStableOffset).toBe(2);
    expect(endTxn(log, 2, 0, 'abort').lastStableOffset).toBe(9);
    expect(log.lastStableOffset).toBe(log.logEndOffset);
    expect(log.append(produce(1, 0, 2)).lastStableOffset).toBe(9);
  });

  it('a marker for a producer with no ongoing transaction completes nothing', () => {
    const log = open();
    log.append(produce(1, 0, 0, 1, false));
    endTxn(log, 1, 0, 'abort');
    endTxn(log, 7, 0, 'abort');
    expect(existsSync(join(dir, '00000000000000000000.txnindex'))).toBe(false);
    expect(abortedTransactionsOf(log, 0, 3)).toEqual([]);
    expect(log.producerState(7)).toMatchObject({ producerEpoch: 0, currentTxnFirstOffset: -1 });
  });

  it('refuses a non-transactional batch while the producer\'s transaction is ongoing (INVALID_TXN_STATE)', () => {
    const log = open();
    log.append(produce(1, 0, 0));
    const error = catchError(() => log.append(produce(1, 0, 1, 1, false)));
    expect(error).toBeInstanceOf(InvalidTxnStateError);
    expect(kafkaErrorCode(error)).toBe(48);
    expect(() => log.append(Buffer.concat([produce(3, 0, 0), produce(3, 0, 1, 1, false)]))).toThrow(InvalidTxnStateError);
    expect(log.logEndOffset).toBe(1);
    log.append(produce(1, 0, 1));
    endTxn(log, 1, 0, 'commit');
    expect(log.append(produce(1, 0, 2, 1, false)).baseOffset).toBe(3);
  });

  it('fences markers from an older producer epoch or an older coordinator, and refuses other control records', () => {
    const log = open();
    log.append(produce(1, 3, 0));
    expect(() => endTxn(log, 1, 2, 'commit')).toThrow(InvalidProducerEpochError);
    endTxn(log, 1, 3, 'commit', 5);
    log.append(produce(1, 3, 1));
    const fenced = catchError(() => endTxn(log, 1, 3, 'abort', 4));
    expect(fenced).toBeInstanceOf(TransactionCoordinatorFencedError);
    expect(kafkaErrorCode(fenced)).toBe(52);
    // The marker record ends with its key (version, type), value length, 6-byte value and header count.
    const leaderChange = marker(1, 3, 'abort');
    leaderChange.writeInt16BE(2, leaderChange.length - 10);
    resealCrc(leaderChange);
    expect(() => log.append(leaderChange, { origin: 'coordinator' })).toThrow(/control record type 2/);
    const twoRecords = encodeRecordBatch({
      records: [{ value: null }, { value: null }],
      producerId: 1,
      producerEpoch: 3,
      isTransactional: true,
      isControl: true,
    });
    expect(() => log.append(twoRecords, { origin: 'coordinator' })).toThrow(InvalidRecordError);
    expect(log.logEndOffset).toBe(3);
  });

  it('an abort marker from a bumped epoch (fencing) ends the transaction and fences the old epoch\'s batches', () => {
    const log = open();
    log.append(produce(1, 0, 0, 2));
    endTxn(log, 1, 1, 'abort');
    expect(abortedTransactionsOf(log, 0, 3)).toEqual([{ producerId: 1, firstOffset: 0 }]);
    expect(() => log.append(produce(1, 0, 2))).toThrow(InvalidProducerEpochError);
    expect(() => log.append(produce(1, 1, 3))).toThrow(OutOfOrderSequenceError);
    expect(log.append(produce(1, 1, 0)).baseOffset).toBe(3);
  });

  it('finds exactly the aborted transactions overlapping any range, across segments', () => {
    const log = open({ segmentBytes: 500 });
    const expected: AbortedTxn[] = [];
    const ongoing = new Map<number, number>();
    const sequences = new Map<number, number>();
    let step = 0;
    for (let round = 0; round < 40; round++) {
      const producerId = 1 + (round % 4);
      const sequence = sequences.get(producerId) ?? 0;
      const records = 1 + (round % 3);
      const result = log.append(produce(producerId, 0, sequence, records));
      sequences.set(producerId, sequence + records);
      if (!ongoing.has(producerId)) ongoing.set(producerId, result.baseOffset);
      if (++step % 3 === 0) {
        const ender = [...ongoing.keys()][(step / 3) % ongoing.size];
        const abort = step % 2 === 0;
        const end = endTxn(log, ender, 0, abort ? 'abort' : 'commit').baseOffset;
        const first = ongoing.get(ender)!;
        ongoing.delete(ender);
        const others = [...ongoing.values()];
        if (abort) {
          expected.push({ producerId: ender, firstOffset: first, lastOffset: end, lastStableOffset: others.length ? Math.min(...others) : end + 1 });
        }
      }
    }
    expect(log.segmentInfos().length).toBeGreaterThan(4);
    expect(expected.length).toBeGreaterThan(4);
    expect(txnIndexEntries(dir)).toEqual(expected);
    const end = log.logEndOffset;
    // An empty range reads no batch, so a fetch of it lists no aborted transaction.
    for (let from = 0; from <= end; from++) {
      for (let upTo = from + 1; upTo <= end; upTo++) {
        const overlapping = expected
          .filter((txn) => txn.lastOffset >= from && txn.firstOffset < upTo)
          .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
        expect(abortedTransactionsOf(log, from, upTo), `[${from}, ${upTo})`).toEqual(overlapping);
      }
    }
    expect(abortedTransactionsOf(log, 5, 4)).toEqual([]);
  });
});

describe('truncation, retention and recovery', () => {
  it('truncateTo drops the entries of markers it removes and reopens their transactions', () => {
    const log = open();
    log.append(produce(1, 0, 0, 2));
    log.append(produce(2, 0, 0));
    endTxn(log, 1, 0, 'abort');
    endTxn(log, 2, 0, 'abort');
    expect(abortedTransactionsOf(log, 0, 5)).toHaveLength(2);
    log.truncateTo(4);
    expect(abortedTransactionsOf(log, 0, 4)).toEqual([{ producerId: 1, firstOffset: 0 }]);
    expect(log.lastStableOffset).toBe(2);
    expect(log.producerState(2)?.currentTxnFirstOffset).toBe(2);
    log.truncateTo(2);
    expect(statSync(join(dir, '00000000000000000000.txnindex')).size).toBe(0);
    expect(log.lastStableOffset).toBe(0);
    expect(log.producerState(2)).toBeNull();
    log.truncateTo(0);
    expect(log.lastStableOffset).toBe(0);
    expect(log.producerState(1)).toBeNull();
  });

  it('retention deletes a segment\'s .txnindex with it', () => {
    const log = open({ segmentBytes: 400, retentionBytes: 0 });
    log.append(produce(1, 0, 0, 2));
    endTxn(log, 1, 0, 'abort');
    log.roll();
    log.append(buildBatch());
    expect(existsSync(join(dir, '00000000000000000000.txnindex'))).toBe(true);
    log.applyRetention(T0);
    expect(log.logStartOffset).toBe(4);
    expect(existsSync(join(dir, '00000000000000000000.txnindex'))).toBe(false);
    expect(abortedTransactionsOf(log, 4, 4)).toEqual([]);
  });

  it('rebuilds the .txnindex entries a crash lost or tore, and drops those past the recovered end', () => {
    const log = open({ segmentBytes: 600 });
    for (let i = 0; i < 6; i++) {
      log.append(produce(1, 0, 2 * i, 2));
      endTxn(log, 1, 0, i % 2 === 0 ? 'abort' : 'commit');
    }
    const expected = txnIndexEntries(dir);
    expect(expected.map((txn) => txn.lastOffset)).toEqual([2, 8, 14]);
    const indexFiles = readdirSync(dir).filter((name) => name.endsWith('.txnindex')).sort();
    expect(indexFiles).toHaveLength(2);

    // Entries written after the newest snapshot were not fsynced yet: a crash can lose them.
    const lost = crashImage(dir);
    unlinkSync(join(lost, indexFiles[1]));
    const recoveredLost = open({ segmentBytes: 600 }, lost);
    expect(txnIndexEntries(lost)).toEqual(expected);
    expect(abortedTransactionsOf(recoveredLost, 0, recoveredLost.logEndOffset)).toHaveLength(3);

    // Damage below the snapshot is seen (a torn entry) and replayed from further back.
    const torn = crashImage(dir);
    truncateSync(join(torn, indexFiles[0]), statSync(join(torn, indexFiles[0])).size - 3);
    const recoveredTorn = open({ segmentBytes: 600 }, torn);
    expect(logger.warnings.some((warning) => warning.includes(indexFiles[0]) && /torn/.test(warning))).toBe(true);
    expect(recoveredTorn.producerStateRecovery).toMatchObject({ snapshotOffset: null, replayedFromOffset: 0, txnIndexRebuiltFrom: 3 });
    expect(txnIndexEntries(torn)).toEqual(expected);

    const cut = crashImage(dir);
    const lastLog = readdirSync(cut).filter((name) => name.endsWith('.log')).sort().at(-1)!;
    truncateSync(join(cut, lastLog), statSync(join(cut, lastLog)).size - 10);
    const recoveredCut = open({ segmentBytes: 600 }, cut);
    expect(recoveredCut.logEndOffset).toBe(17);
    expect(txnIndexEntries(cut)).toEqual(expected);
    expect(recoveredCut.lastStableOffset).toBe(15);
  });
});

describe('random interleavings against a model of what Kafka stores', () => {
  interface SentBatch {
    epoch: number;
    firstSequence: number;
    records: number;
    firstOffset: number;
    lastOffset: number;
  }

  interface ModelProducer {
    readonly transactional: boolean;
    /** The epoch the producer writes with next. */
    epoch: number;
    nextSequence: number;
    /** The epoch the log last saw from it, -1 before its first batch. */
    logEpoch: number;
    /** Everything it appended, newest last; the log remembers the last five of logEpoch. */
    sent: SentBatch[];
    txnFirstOffset: number;
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: offsets, duplicates, errors, LSO and aborted transactions match the model through reopens and crashes`, () => {
      const next = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
      const config = { segmentBytes: 700 };
      let at = dir;
      let log = open(config, at);
      let endOffset = 0;
      const aborted: AbortedTxn[] = [];
      const producers = new Map<number, ModelProducer>();
      for (let id = 0; id < 5; id++) {
        producers.set(100 + id, {
          transactional: id % 2 === 0,
          epoch: 0,
          // One producer starts near the top of the sequence space to cross the wrap.
          nextSequence: id === 1 ? 0x7fff_fffa : 0,
          logEpoch: -1,
          sent: [],
          txnFirstOffset: -1,
        });
      }
      const ongoing = (): ModelProducer[] => [...producers.values()].filter((p) => p.txnFirstOffset >= 0);
      const expectedLso = (): number => {
        const firsts = ongoing().map((p) => p.txnFirstOffset);
        return firsts.length === 0 ? endOffset : Math.min(...firsts);
      };

      for (let step = 0; step < 250; step++) {
        const roll = next();
        const [producerId, producer] = pick([...producers.entries()]);
        if (roll < 0.4) {
          const records = 1 + Math.floor(next() * 3);
          const result = log.append(produce(producerId, producer.epoch, producer.nextSequence, records, producer.transactional));
          expect(result).toMatchObject({ baseOffset: endOffset, duplicate: false });
          if (producer.logEpoch !== producer.epoch) producer.sent = [];
          producer.logEpoch = producer.epoch;
          producer.sent.push({ epoch: producer.epoch, firstSequence: producer.nextSequence, records, firstOffset: endOffset, lastOffset: endOffset + records - 1 });
          if (producer.transactional && producer.txnFirstOffset < 0) producer.txnFirstOffset = endOffset;
          producer.nextSequence = incrementSequence(producer.nextSequence, records);
          endOffset += records;
        } else if (roll < 0.55 && producer.sent.length > 0) {
          const index = Math.floor(next() * producer.sent.length);
          const batch = producer.sent[index];
          const retry = (): AppendResult =>
            log.append(produce(producerId, batch.epoch, batch.firstSequence, batch.records, producer.transactional));
          if (batch.epoch < producer.logEpoch) {
            expect(retry).toThrow(InvalidProducerEpochError);
          } else if (index >= producer.sent.length - 5) {
            expect(retry()).toMatchObject({ baseOffset: batch.firstOffset, lastOffset: batch.lastOffset, duplicate: true });
          } else {
            expect(retry).toThrow(OutOfOrderSequenceError);
          }
        } else if (roll < 0.62 && producer.logEpoch >= 0) {
          const gap = incrementSequence(producer.nextSequence, 1 + Math.floor(next() * 3));
          expect(() => log.append(produce(producerId, producer.epoch, gap, 1, producer.transactional))).toThrow(
            producer.epoch === producer.logEpoch ? OutOfOrderSequenceError : /new epoch starts at 0/,
          );
        } else if (roll < 0.82 && producer.transactional) {
          const type = next() < 0.5 ? 'abort' : 'commit';
          const result = endTxn(log, producerId, producer.epoch, type);
          expect(result.baseOffset).toBe(endOffset);
          if (producer.logEpoch !== producer.epoch) producer.sent = [];
          producer.logEpoch = producer.epoch;
          if (producer.txnFirstOffset >= 0) {
            const first = producer.txnFirstOffset;
            producer.txnFirstOffset = -1;
            const others = ongoing().map((p) => p.txnFirstOffset);
            if (type === 'abort') {
              aborted.push({
                producerId,
                firstOffset: first,
                lastOffset: endOffset,
                lastStableOffset: others.length === 0 ? endOffset + 1 : Math.min(...others),
              });
            }
          }
          endOffset += 1;
        } else if (roll < 0.86) {
          producer.epoch += 1;
          producer.nextSequence = 0;
        } else if (roll < 0.9) {
          log.append(buildBatch({ records: 2 }));
          endOffset += 2;
        } else if (roll < 0.95) {
          close(log);
          log = open(config, at);
        } else {
          const image = crashImage(at);
          close(log);
          at = image;
          log = open(config, at);
        }

        expect(log.logEndOffset).toBe(endOffset);
        expect(log.lastStableOffset).toBe(expectedLso());
        const from = Math.floor(next() * (endOffset + 1));
        const upTo = from + Math.floor(next() * (endOffset - from + 1));
        // An empty range reads no batch, so a fetch of it lists no aborted transaction.
        expect(abortedTransactionsOf(log, from, upTo), `step ${step}: [${from}, ${upTo})`).toEqual(
          aborted
            .filter((txn) => from < upTo && txn.lastOffset >= from && txn.firstOffset < upTo)
            .map(({ producerId: id, firstOffset }) => ({ producerId: id, firstOffset })),
        );
      }
      expect(txnIndexEntries(at)).toEqual(aborted);
      for (const [producerId, producer] of producers) {
        if (producer.logEpoch < 0) continue;
        const last = producer.sent.at(-1);
        expect(log.producerState(producerId)).toMatchObject({
          producerEpoch: producer.logEpoch,
          currentTxnFirstOffset: producer.txnFirstOffset,
          lastSequence: last === undefined ? -1 : incrementSequence(last.firstSequence, last.records - 1),
        });
      }
      expect(log.segmentInfos().length).toBeGreaterThan(3);
    });
  }
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
