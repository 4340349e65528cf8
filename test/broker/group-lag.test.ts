/**
 * Broker.groupLag: the broker feeds every visible commit (OffsetCommit through the coordinator,
 * transactional offsets when their transaction commits) to the lag evaluator with the partition's
 * last stable offset at that moment, keeps that end in __consumer_offsets so a restart replays
 * the same history, and forgets a partition's history when its offset is deleted.
 *
 * Time: commit timestamps are real, but no assertion depends on how long anything takes. The
 * window keeps every commit (lagMinCommitIntervalMs 0), STOPPED needs an hour without commits
 * (lagStoppedAfterMs), and the STOPPED case asks for the status at an explicit time two hours on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { resolveBrokerConfig, type BrokerOptions } from '../../src/broker/config.js';
import { GroupIdNotFoundError, InvalidGroupIdError, InvalidRequestError } from '../../src/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { batchOf, makeDataDir, quietLogger, removeDataDir } from './broker-test-helpers.js';

const HOUR_MS = 3_600_000;
const dirs: string[] = [];
const open: Broker[] = [];

afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
  for (const dir of dirs.splice(0)) removeDataDir(dir);
});

async function openBroker(dataDir?: string, options: Partial<BrokerOptions> = {}): Promise<{ broker: Broker; dataDir: string }> {
  const dir = dataDir ?? makeDataDir();
  if (dataDir === undefined) dirs.push(dir);
  const broker = await Broker.open({
    dataDir: dir,
    shards: 1,
    logger: quietLogger,
    lagMinCommitIntervalMs: 0,
    lagStoppedAfterMs: HOUR_MS,
    ...options,
  });
  open.push(broker);
  return { broker, dataDir: dir };
}

async function closeBroker(broker: Broker): Promise<void> {
  open.splice(open.indexOf(broker), 1);
  await broker.close();
}

/** Opens a transaction of `transactionalId` holding `count` records on partition 0 of `topic`. */
async function beginTxn(broker: Broker, transactionalId: string, topic: string, count: number) {
  const { producerId, producerEpoch } = await broker.initProducerId({ transactionalId, transactionTimeoutMs: 60_000 });
  await broker.addPartitionsToTxn({ transactionalId, producerId, producerEpoch, partitions: [{ topic, partition: 0 }] });
  const batch = encodeRecordBatch({
    producerId,
    producerEpoch,
    baseSequence: 0,
    isTransactional: true,
    records: values(count, transactionalId).map((value) => ({ value: Buffer.from(value) })),
  });
  await broker.produce(topic, 0, batch, -1, { transactionalId });
  return { transactionalId, producerId, producerEpoch };
}

function values(count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

async function commit(broker: Broker, groupId: string, topic: string, partition: number, offset: number): Promise<void> {
  const results = await broker.groups.commitOffsets({ groupId, offsets: [{ topic, partition, offset }] });
  expect(results[0].error).toBeNull();
}

function statusesOf(broker: Broker, groupId: string, nowMs?: number): [number, number, number, string, number][] {
  return broker
    .groupLag(groupId, nowMs === undefined ? {} : { nowMs })
    .partitions.map((p) => [p.partition, p.committedOffset, p.lag, p.status, p.commitsInWindow]);
}

/**
 * Partition 0 falls behind (WARNING), 1 is stuck (STALLED), 2 went back (REWIND), 3 caught up (OK).
 * Each commit is its own OffsetCommit, as a consumer sends them.
 */
async function fourPartitionHistory(broker: Broker): Promise<void> {
  await broker.createTopic('events', { partitions: 4 });
  for (let partition = 0; partition < 4; partition++) await broker.produce('events', partition, batchOf(values(10, `a${partition}`)), 1);
  await commit(broker, 'g', 'events', 0, 4); // lag 6
  await broker.produce('events', 0, batchOf(values(10, 'b0')), 1);
  await commit(broker, 'g', 'events', 0, 8); // lag 12: moving, but falling behind
  await commit(broker, 'g', 'events', 1, 5);
  await commit(broker, 'g', 'events', 1, 5); // lag 5 twice: not moving
  await commit(broker, 'g', 'events', 2, 7);
  await commit(broker, 'g', 'events', 2, 3); // backwards
  await commit(broker, 'g', 'events', 3, 10); // caught up
}

describe('Broker.groupLag', () => {
  it("judges each partition from the group's commits, and the group by its worst partition", async () => {
    const { broker } = await openBroker();
    await fourPartitionHistory(broker);
    const report = broker.groupLag('g');
    expect(report).toMatchObject({ groupId: 'g', status: 'ERROR', totalLag: 12 + 5 + 7 });
    expect(report.partitions[0]).toEqual({
      topic: 'events',
      partition: 0,
      committedOffset: 8,
      highWatermark: 20,
      lastStableOffset: 20,
      lag: 12,
      status: 'WARNING',
      commitsInWindow: 2,
      complete: 0.2,
      start: { offset: 4, lag: 6, timestampMs: expect.any(Number), observedAtMs: expect.any(Number) },
      end: { offset: 8, lag: 12, timestampMs: expect.any(Number), observedAtMs: expect.any(Number) },
    });
    expect(statusesOf(broker, 'g')).toEqual([
      [0, 8, 12, 'WARNING', 2],
      [1, 5, 5, 'STALLED', 2],
      [2, 3, 7, 'REWIND', 2],
      [3, 10, 0, 'OK', 1],
    ]);
    // Two hours without a commit: every lagging partition has STOPPED (Burrow judges STOP before REWIND).
    expect(statusesOf(broker, 'g', Date.now() + 2 * HOUR_MS).map((row) => row[3])).toEqual(['STOPPED', 'STOPPED', 'STOPPED', 'OK']);

    // Producing more does not change the window, only the current lag; catching up makes it OK.
    await commit(broker, 'g', 'events', 0, 20);
    await commit(broker, 'g', 'events', 1, 10);
    await commit(broker, 'g', 'events', 2, 10);
    expect(broker.groupLag('g')).toMatchObject({ status: 'OK', totalLag: 0 });
  });

  it('replays the same history after a restart: the end at each commit is stored with it', async () => {
    const { broker, dataDir } = await openBroker();
    await fourPartitionHistory(broker);
    const before = statusesOf(broker, 'g');
    await closeBroker(broker);
    const { broker: reopened } = await openBroker(dataDir);
    expect(statusesOf(reopened, 'g')).toEqual(before);
  });

  it('forgets the history of deleted offsets (OffsetDelete, DeleteGroups), live and after a restart', async () => {
    const { broker, dataDir } = await openBroker();
    await fourPartitionHistory(broker);
    const deleted = await broker.groups.deletePartitionOffsets({ groupId: 'g', partitions: [{ topic: 'events', partition: 2 }] });
    expect(deleted).toEqual([{ topic: 'events', partition: 2, error: null }]);
    expect(statusesOf(broker, 'g').map((row) => row[0])).toEqual([0, 1, 3]);
    // A fresh start for partition 2: one commit, lower than the forgotten ones, is no REWIND (one
    // commit with lag has not moved: Burrow's STALL).
    await commit(broker, 'g', 'events', 2, 1);
    expect(statusesOf(broker, 'g')[2]).toEqual([2, 1, 9, 'STALLED', 1]);

    await closeBroker(broker);
    const { broker: reopened } = await openBroker(dataDir);
    expect(statusesOf(reopened, 'g')[2]).toEqual([2, 1, 9, 'STALLED', 1]);
    expect(await reopened.groups.deleteGroups(['g'])).toEqual([{ groupId: 'g', error: null }]);
    expect(() => reopened.groupLag('g')).toThrow(GroupIdNotFoundError);
    await commit(reopened, 'g', 'events', 1, 5);
    expect(statusesOf(reopened, 'g')).toEqual([[1, 5, 5, 'STALLED', 1]]);
  });

  it('measures lag to the last stable offset, and records transactional offsets once their transaction commits', async () => {
    const { broker, dataDir } = await openBroker();
    await broker.createTopic('in', { partitions: 1 });
    await broker.createTopic('out', { partitions: 1 });
    await broker.produce('in', 0, batchOf(values(10, 'in')), 1);
    // An upstream transaction stays open on 'in': high watermark 15, last stable offset 10.
    const upstream = await beginTxn(broker, 'upstream', 'in', 5);
    expect(broker.partitionOffsets('in', 0)).toMatchObject({ highWatermark: 15, lastStableOffset: 10 });

    // A read_committed consumer that reached the LSO and keeps committing there is caught up:
    // measured to the high watermark it would be 5 behind and STALLED.
    await commit(broker, 'caught', 'in', 0, 10);
    await commit(broker, 'caught', 'in', 0, 10);
    expect(broker.groupLag('caught').partitions[0]).toMatchObject({ highWatermark: 15, lastStableOffset: 10, lag: 0, status: 'OK', commitsInWindow: 2 });

    // A pipeline commits its input offsets in its own transaction on 'out'.
    await commit(broker, 'eos', 'in', 0, 4);
    const pipeline = await beginTxn(broker, 'pipeline', 'out', 3);
    await broker.addOffsetsToTxn({ ...pipeline, groupId: 'eos' });
    await broker.txnOffsetCommit({ ...pipeline, groupId: 'eos', offsets: [{ topic: 'in', partition: 0, offset: 10 }] });
    // Staged, not visible: the window holds the plain commit alone.
    expect(broker.groupLag('eos').partitions[0]).toMatchObject({ committedOffset: 4, lag: 6, commitsInWindow: 1 });
    await broker.endTxn({ ...pipeline, committed: true });
    expect(broker.groupLag('eos').partitions[0]).toMatchObject({ committedOffset: 10, lag: 0, status: 'OK', commitsInWindow: 2 });

    // The upstream transaction commits: its records (and marker) become readable, so lag appears,
    // but the window saw the group caught up, so the partition is OK.
    await broker.endTxn({ ...upstream, committed: true });
    expect(broker.groupLag('eos').partitions[0]).toMatchObject({ highWatermark: 16, lastStableOffset: 16, lag: 6, status: 'OK' });

    await closeBroker(broker);
    const { broker: reopened } = await openBroker(dataDir);
    expect(reopened.groupLag('caught').partitions[0]).toMatchObject({ lag: 6, status: 'OK', commitsInWindow: 2 });
    expect(reopened.groupLag('eos').partitions[0]).toMatchObject({ committedOffset: 10, lag: 6, status: 'OK', commitsInWindow: 2 });
  });

  it('leaves out sentinel offsets and deleted topics, and validates its arguments', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('gone', { partitions: 1 });
    await broker.createTopic('kept', { partitions: 1 });
    await broker.produce('kept', 0, batchOf(values(3, 'k')), 1);
    await commit(broker, 'g', 'gone', 0, 0);
    await commit(broker, 'g', 'kept', 0, -1);
    await broker.deleteTopic('gone');
    expect(broker.groupLag('g')).toEqual({ groupId: 'g', status: 'OK', totalLag: 0, complete: 0, partitions: [] });

    expect(() => broker.groupLag('nobody')).toThrow(GroupIdNotFoundError);
    expect(() => broker.groupLag(7 as unknown as string)).toThrow(InvalidGroupIdError);
    expect(() => broker.groupLag('g', { nowMs: 1.5 })).toThrow(InvalidRequestError);
    expect(() => resolveBrokerConfig({ dataDir: 'd', lagWindowSize: 0 })).toThrow(/lagWindowSize must be an integer/);
    expect(() => resolveBrokerConfig({ dataDir: 'd', lagStoppedAfterMs: 0 })).toThrow(/lagStoppedAfterMs must be an integer/);
    expect(resolveBrokerConfig({ dataDir: 'd' })).toMatchObject({ lagWindowSize: 10, lagMinCommitIntervalMs: 1_000, lagStoppedAfterMs: null, lagEndOffsetSampleIntervalMs: 10_000 });
  });
});
