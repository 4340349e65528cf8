import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  CorruptRecordError,
  InvalidRequestError,
  RecordTooLargeError,
  ShardFailedError,
} from '../../src/errors.js';
import { LogReader, type ReadBounds } from '../../src/storage/log-reader.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/storage/log-config.js';
import type { LogStats } from '../../src/storage/partition-log.js';
import { PartitionStateTable, emptySnapshot, type PartitionStateSnapshot } from '../../src/shard/partition-state.js';
import { ShardPool, shardForPartition, type PartitionSpec } from '../../src/shard/shard-pool.js';
import type { AppendOutcome } from '../../src/shard/shard-messages.js';
import { buildBatch, makeTempDir, removeTempDir } from '../storage/helpers.js';
import { CRC_OFFSET } from '../../src/protocol/batch-header.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch.js';

let dir: string;
let table: PartitionStateTable;
let pool: ShardPool;
const warnings: string[] = [];

function startPool(overrides: { requestRingBytes?: number; retentionCheckIntervalMs?: number } = {}): ShardPool {
  return new ShardPool({
    shards: 2,
    stateTable: table,
    requestRingBytes: overrides.requestRingBytes ?? 1 << 20,
    completionRingBytes: 1 << 16,
    retentionCheckIntervalMs: overrides.retentionCheckIntervalMs ?? 300_000,
    logger: { info: () => {}, warn: (message) => warnings.push(message) },
  });
}

interface OpenedSpec extends PartitionSpec {
  readonly shard: number;
}

async function open(partition: number, config: Partial<LogConfig> = {}, deleteRetention = true): Promise<OpenedSpec> {
  const spec = { slot: table.allocate(), dir: join(dir, `t-${partition}`), config: { ...DEFAULT_LOG_CONFIG, ...config }, deleteRetention };
  const shard = pool.shardFor('t', partition);
  await pool.openPartition(shard, spec);
  return { ...spec, shard };
}

function bounds(snapshot: PartitionStateSnapshot): ReadBounds {
  return { logStartOffset: snapshot.logStartOffset, logEndOffset: snapshot.logEndOffset, readableEndOffset: snapshot.highWatermark, storageEpoch: snapshot.storageEpoch };
}

function highWatermark(slot: number): number {
  return table.read(slot, emptySnapshot()).highWatermark;
}

beforeEach(() => {
  dir = makeTempDir();
  table = PartitionStateTable.create(64);
  warnings.length = 0;
  pool = startPool();
});

afterEach(async () => {
  await pool.close();
  removeTempDir(dir);
});

describe('shard placement', () => {
  it('is a stable function of topic and partition that spreads partitions over the shards', () => {
    for (const shards of [1, 2, 3, 4]) {
      const placed = Array.from({ length: 16 }, (_, partition) => shardForPartition('orders', partition, shards));
      expect(placed).toEqual(Array.from({ length: 16 }, (_, partition) => shardForPartition('orders', partition, shards)));
      expect(new Set(placed).size).toBe(shards);
      // Consecutive partitions go to consecutive shards.
      for (let partition = 1; partition < 16; partition++) expect(placed[partition]).toBe((placed[partition - 1] + 1) % shards);
    }
  });
});

describe('ShardPool', () => {
  it('appends many batches across 4 partitions on 2 shards with dense offsets per partition', async () => {
    const specs = await Promise.all([0, 1, 2, 3].map((partition) => open(partition)));
    expect(new Set(specs.map((spec) => spec.shard)).size).toBe(2);
    const perPartition = 500;
    const appends: Promise<AppendOutcome>[][] = specs.map(() => []);
    for (let i = 0; i < perPartition; i++) {
      for (const [p, spec] of specs.entries()) appends[p].push(pool.append(spec.shard, spec.slot, buildBatch({ records: 3, valueBytes: 20 }), 1));
    }
    for (const [p, spec] of specs.entries()) {
      const outcomes = await Promise.all(appends[p]);
      expect(outcomes.map((outcome) => outcome.baseOffset)).toEqual(Array.from({ length: perPartition }, (_, i) => i * 3));
      expect(outcomes.every((outcome) => outcome.lastOffset === outcome.baseOffset + 2)).toBe(true);
      expect(highWatermark(spec.slot)).toBe(perPartition * 3);
    }
  });

  it('queues requests in order behind a full request ring', async () => {
    await pool.close();
    pool = startPool({ requestRingBytes: 1 << 14 });
    const spec = await open(0);
    const appends = Array.from({ length: 200 }, () => pool.append(spec.shard, spec.slot, buildBatch({ records: 2, valueBytes: 1500 }), 1));
    const outcomes = await Promise.all(appends);
    expect(outcomes.map((outcome) => outcome.baseOffset)).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
    await expect(pool.append(spec.shard, spec.slot, buildBatch({ records: 1, valueBytes: 1 << 14 }), 1)).rejects.toThrow(RecordTooLargeError);
  });

  it("reports the log's errors as the same typed errors and keeps serving", async () => {
    const spec = await open(0, { maxMessageBytes: 1000 });
    const corrupt = buildBatch({ records: 2 });
    corrupt[corrupt.length - 1] ^= 0xff;
    await expect(pool.append(spec.shard, spec.slot, corrupt, 1)).rejects.toThrow(CorruptRecordError);
    await expect(pool.append(spec.shard, spec.slot, buildBatch({ records: 1, valueBytes: 2000 }), 1)).rejects.toThrow(RecordTooLargeError);
    await expect(pool.append(spec.shard, 63, buildBatch(), 1)).rejects.toThrow(InvalidRequestError);
    const outcome = await pool.append(spec.shard, spec.slot, buildBatch({ records: 2 }), 1);
    expect(outcome.baseOffset).toBe(0);
  });

  it("computes the CRCs of batches sent with them unset ('unset'), which 'check' refuses", async () => {
    const spec = await open(0);
    // Two batches in one append, their CRC fields zeroed as the producer sends them.
    const first = buildBatch({ records: 2, valueBytes: 30 });
    const second = buildBatch({ records: 3, valueBytes: 40 });
    const expected = Buffer.concat([first, second]);
    const unset = Buffer.from(expected);
    unset.writeUInt32BE(0, CRC_OFFSET);
    unset.writeUInt32BE(0, first.length + CRC_OFFSET);
    await expect(pool.append(spec.shard, spec.slot, Buffer.from(unset), 1, 'check')).rejects.toThrow(CorruptRecordError);
    expect((await pool.append(spec.shard, spec.slot, unset, 1, 'unset')).lastOffset).toBe(4);
    const reader = new LogReader(spec.dir);
    const snapshot = table.read(spec.slot, emptySnapshot());
    const stored = reader.read(0, 1 << 20, bounds(snapshot), () => bounds(snapshot)).records;
    reader.close();
    // The stored batches carry the CRCs a builder computes (base offsets 0 and 2, as built apart).
    expect(stored.readUInt32BE(CRC_OFFSET)).toBe(expected.readUInt32BE(CRC_OFFSET));
    expect(stored.readUInt32BE(first.length + CRC_OFFSET)).toBe(expected.readUInt32BE(first.length + CRC_OFFSET));
    expect(decodeRecordBatches(stored).map((batch) => batch.records.length)).toEqual([2, 3]);
  });

  it('acks -1 waits for an fsync when the topic has a flush policy, and equals acks 1 without one', async () => {
    const flushed = await open(0, { flushMs: 3_600_000 });
    await pool.append(flushed.shard, flushed.slot, buildBatch({ records: 2 }), 1);
    const afterAcks1 = await pool.control<LogStats>(flushed.shard, { op: 'stats', slot: flushed.slot });
    expect(afterAcks1.flushedOffset).toBe(0);
    await pool.append(flushed.shard, flushed.slot, buildBatch({ records: 2 }), -1);
    const afterAcksAll = await pool.control<LogStats>(flushed.shard, { op: 'stats', slot: flushed.slot });
    expect(afterAcksAll.flushedOffset).toBe(4);

    const unflushed = await open(1);
    await pool.append(unflushed.shard, unflushed.slot, buildBatch({ records: 2 }), -1);
    expect((await pool.control<LogStats>(unflushed.shard, { op: 'stats', slot: unflushed.slot })).flushedOffset).toBe(0);
    // acks 0 still settles.
    expect((await pool.append(unflushed.shard, unflushed.slot, buildBatch({ records: 1 }), 0)).baseOffset).toBe(2);
  });

  it('applies retention on its timer and publishes the new log start', async () => {
    await pool.close();
    pool = startPool({ retentionCheckIntervalMs: 20 });
    // Old record timestamps (2023) against a 1-second retention: every closed segment is expired.
    const spec = await open(0, { retentionMs: 1000, segmentBytes: 2048 });
    for (let i = 0; i < 20; i++) await pool.append(spec.shard, spec.slot, buildBatch({ records: 2, valueBytes: 200 }), 1);
    const snapshot = table.read(spec.slot, emptySnapshot());
    while (snapshot.logStartOffset === 0) {
      await table.waitForChange(spec.slot, snapshot.sequence, 10_000);
      table.read(spec.slot, snapshot);
    }
    expect(snapshot.logStartOffset).toBeGreaterThan(0);
    expect(snapshot.highWatermark).toBe(40);
  });

  it('restarts a shard that throws: later callers get ShardFailedError, acknowledged records survive', async () => {
    const spec = await open(0);
    const other = await open(1);
    expect(other.shard).not.toBe(spec.shard);
    const failures: [number, Error][] = [];
    pool.on('shardFailure', (shard: number, error: Error) => failures.push([shard, error]));
    const before = Array.from({ length: 200 }, () => pool.append(spec.shard, spec.slot, buildBatch({ records: 2, valueBytes: 50 }), 1));
    const fault = pool.injectFault(spec.shard);
    const after = Array.from({ length: 100 }, () => pool.append(spec.shard, spec.slot, buildBatch({ records: 2, valueBytes: 50 }), 1));
    const afterSettled = Promise.allSettled(after);
    expect((await Promise.all(before)).map((outcome) => outcome.baseOffset)).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
    await fault;
    for (const outcome of await afterSettled) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(ShardFailedError);
      expect((outcome as PromiseRejectedResult).reason.retriable).toBe(true);
    }
    expect(failures.map(([shard]) => shard)).toEqual([spec.shard]);
    expect(failures[0][1].message).toMatch(/fault injected/);
    expect(pool.restartCount(spec.shard)).toBe(1);
    expect(warnings.some((message) => message.includes('restarting'))).toBe(true);
    // Recovered by the restarted shard: every acknowledged record, and appends continue densely.
    expect(highWatermark(spec.slot)).toBe(400);
    const reader = new LogReader(spec.dir);
    const snapshot = table.read(spec.slot, emptySnapshot());
    expect(reader.read(398, 1, bounds(snapshot), () => bounds(snapshot)).nextOffset).toBe(400);
    reader.close();
    expect((await pool.append(spec.shard, spec.slot, buildBatch({ records: 1 }), 1)).baseOffset).toBe(400);
    expect((await pool.append(other.shard, other.slot, buildBatch({ records: 1 }), 1)).baseOffset).toBe(0);
  });

  it('restarts a shard whose thread is killed mid-stream, and no caller is left hanging', async () => {
    const spec = await open(0);
    const acknowledged: AppendOutcome[] = [];
    const outcomes = Array.from({ length: 400 }, () =>
      pool.append(spec.shard, spec.slot, buildBatch({ records: 1, valueBytes: 16 * 1024 }), 1).then((outcome) => {
        acknowledged.push(outcome);
        return outcome;
      }),
    );
    const settling = Promise.allSettled(outcomes);
    await outcomes[0];
    await pool.terminateShard(spec.shard);
    for (const outcome of await settling) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ShardFailedError);
    }
    expect(pool.restartCount(spec.shard)).toBe(1);
    const end = highWatermark(spec.slot);
    expect(end).toBeGreaterThan(Math.max(...acknowledged.map((outcome) => outcome.lastOffset)));
    const reader = new LogReader(spec.dir);
    const snapshot = table.read(spec.slot, emptySnapshot());
    for (const outcome of acknowledged) expect(reader.read(outcome.baseOffset, 1, bounds(snapshot), () => bounds(snapshot)).nextOffset).toBe(outcome.lastOffset + 1);
    reader.close();
    expect((await pool.append(spec.shard, spec.slot, buildBatch({ records: 1 }), 1)).baseOffset).toBe(end);
  });

  it('stops restarting a shard caught in a crash loop and fails its calls for good', async () => {
    const spec = await open(0);
    for (let i = 0; i < 5; i++) await pool.injectFault(spec.shard);
    expect(pool.restartCount(spec.shard)).toBe(5);
    const gaveUp = await pool.injectFault(spec.shard).then(
      () => null,
      (error: unknown) => error,
    );
    expect(gaveUp).toBeInstanceOf(ShardFailedError);
    expect((gaveUp as ShardFailedError).retriable).toBe(false);
    expect(() => pool.append(spec.shard, spec.slot, buildBatch(), 1)).toThrow(/not restarted again/);
    expect(warnings.some((message) => message.includes('not restarted again'))).toBe(true);
    // The other shard still serves, and close() still completes.
    const other = await open(1);
    expect((await pool.append(other.shard, other.slot, buildBatch({ records: 1 }), 1)).baseOffset).toBe(0);
  });

  it('close() answers every request already sent, then every shard thread exits', async () => {
    const specs = await Promise.all([0, 1].map((partition) => open(partition)));
    const threads = pool.threadIds();
    const exited: number[] = [];
    pool.on('shardExit', (_shard: number, threadId: number) => exited.push(threadId));
    const appends = specs.flatMap((spec) => Array.from({ length: 300 }, () => pool.append(spec.shard, spec.slot, buildBatch({ records: 1 }), 1)));
    const closing = pool.close();
    const outcomes = await Promise.all(appends);
    expect(outcomes.length).toBe(600);
    await closing;
    expect(exited.sort()).toEqual([...threads].sort());
    expect(() => pool.append(specs[0].shard, specs[0].slot, buildBatch(), 1)).toThrow(ClosedError);
    // Closed cleanly: reopening finds every record and nothing to repair.
    pool = startPool();
    const reopened = await pool.openPartition(specs[0].shard, specs[0]);
    expect(reopened).toEqual({
      logStartOffset: 0,
      logEndOffset: 300,
      truncatedBytes: 0,
      segmentsDeleted: 0,
      indexesRebuilt: 0,
      filesRemoved: 0,
      snapshotsDiscarded: 0,
    });
  });
});
