/**
 * Transactions through the real broker: the coordinator on __transaction_state, markers written
 * by the shards, the last stable offset, read_committed fetches with their aborted transactions,
 * transactional offset commits in __consumer_offsets, and recovery of each across a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import type { BrokerOptions } from '../../src/broker/config.js';
import {
  ClosedError,
  InvalidRequestError,
  InvalidTxnStateError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  TopicNotFoundError,
  TransactionAbortableError,
} from '../../src/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import { makeDataDir, quietLogger, removeDataDir } from './broker-test-helpers.js';
import { eventually } from '../support/eventually.js';

const dirs: string[] = [];
const open: Broker[] = [];

afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
  for (const dir of dirs.splice(0)) removeDataDir(dir);
});

async function openBroker(dataDir?: string, options: Partial<BrokerOptions> = {}): Promise<{ broker: Broker; dataDir: string }> {
  const dir = dataDir ?? makeDataDir();
  if (dataDir === undefined) dirs.push(dir);
  const broker = await Broker.open({ dataDir: dir, shards: 2, autoCreateTopicsEnable: false, logger: quietLogger, ...options });
  open.push(broker);
  return { broker, dataDir: dir };
}

async function closeBroker(broker: Broker): Promise<void> {
  open.splice(open.indexOf(broker), 1);
  await broker.close();
}

interface TxnProducer {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  nextSequence: Map<number, number>;
}

async function initTxn(broker: Broker, transactionalId: string, transactionTimeoutMs = 60_000): Promise<TxnProducer> {
  const { producerId, producerEpoch } = await broker.initProducerId({ transactionalId, transactionTimeoutMs });
  return { transactionalId, producerId, producerEpoch, nextSequence: new Map() };
}

/** Adds the partition to the transaction and appends one transactional batch of `values`. */
async function sendTxn(broker: Broker, producer: TxnProducer, topic: string, partition: number, values: string[]): Promise<number> {
  const { transactionalId, producerId, producerEpoch } = producer;
  await broker.addPartitionsToTxn({ transactionalId, producerId, producerEpoch, partitions: [{ topic, partition }] });
  const baseSequence = producer.nextSequence.get(partition) ?? 0;
  producer.nextSequence.set(partition, baseSequence + values.length);
  const batch = encodeRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    isTransactional: true,
    records: values.map((value) => ({ value: Buffer.from(value) })),
  });
  return (await broker.produce(topic, partition, batch, -1, { transactionalId })).baseOffset;
}

function plainBatch(values: string[]): Buffer {
  return encodeRecordBatch({ records: values.map((value) => ({ value: Buffer.from(value) })) });
}

/** The data records of a fetch, control batches left out (aborted ones are not: the consumer drops those). */
function dataValues(records: Buffer): string[] {
  return decodeRecordBatches(records)
    .filter((batch) => !batch.isControl)
    .flatMap((batch) => batch.records.map((record) => record.value!.toString()));
}

function controlBatchCount(records: Buffer): number {
  return decodeRecordBatches(records).filter((batch) => batch.isControl).length;
}

describe('last stable offset and read_committed fetch', () => {
  it('stops read_committed at the first open transaction, and moves it on commit', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    await broker.produce('t', 0, plainBatch(['a', 'b']), -1);
    const producer = await initTxn(broker, 'tx');
    await sendTxn(broker, producer, 't', 0, ['t1', 't2']);
    await broker.produce('t', 0, plainBatch(['c']), -1);

    const during = broker.partitionOffsets('t', 0);
    expect(during).toMatchObject({ highWatermark: 5, lastStableOffset: 2 });
    expect(dataValues(broker.fetch('t', 0, 0, 1 << 20, 'read_committed').records)).toEqual(['a', 'b']);
    expect(dataValues(broker.fetch('t', 0, 0, 1 << 20, 'read_uncommitted').records)).toEqual(['a', 'b', 't1', 't2', 'c']);
    expect(broker.fetch('t', 0, 2, 1 << 20, 'read_committed').records.length).toBe(0);

    await broker.endTxn({ ...producer, committed: true });
    // The marker is at offset 5: the LSO is past it as soon as endTxn resolves.
    expect(broker.partitionOffsets('t', 0)).toMatchObject({ highWatermark: 6, lastStableOffset: 6 });
    const fetched = broker.fetch('t', 0, 0, 1 << 20, 'read_committed');
    expect(dataValues(fetched.records)).toEqual(['a', 'b', 't1', 't2', 'c']);
    expect(controlBatchCount(fetched.records)).toBe(1);
    expect(fetched.abortedTransactions).toEqual([]);
  });

  it('lists aborted transactions overlapping the fetched range, from the .txnindex files', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('t', { partitions: 1, configs: { 'segment.bytes': String(1024 * 1024) } });
    const first = await initTxn(broker, 'first');
    const second = await initTxn(broker, 'second');
    const abortedAt = await sendTxn(broker, first, 't', 0, ['x1']);
    await sendTxn(broker, second, 't', 0, ['y1']);
    await broker.endTxn({ ...first, committed: false });
    await broker.endTxn({ ...second, committed: true });
    // Fill a few segments so the index lookup walks more than one.
    for (let i = 0; i < 6; i++) await broker.produce('t', 0, plainBatch([`p${i}`.padEnd(400_000, '.')]), -1);
    const secondAbort = await sendTxn(broker, first, 't', 0, ['x2']);
    await broker.endTxn({ ...first, committed: false });

    const all = broker.fetch('t', 0, 0, 1, 'read_committed');
    expect(all.abortedTransactions).toEqual([{ producerId: first.producerId, firstOffset: abortedAt }]);
    let offset = 0;
    const aborted: { producerId: number; firstOffset: number }[] = [];
    for (;;) {
      const result = broker.fetch('t', 0, offset, 4096, 'read_committed');
      if (result.records.length === 0) break;
      aborted.push(...result.abortedTransactions);
      offset = result.nextOffset;
    }
    expect(aborted).toEqual([
      { producerId: first.producerId, firstOffset: abortedAt },
      { producerId: first.producerId, firstOffset: secondAbort },
    ]);
    // read_uncommitted never carries the list.
    expect(broker.fetch('t', 0, 0, 1 << 20, 'read_uncommitted').abortedTransactions).toEqual([]);
  });

  it('wakes a read_committed long poll on the LSO, not on the high watermark', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const producer = await initTxn(broker, 'tx');
    let woken = false;
    const waiting = broker.waitForData('t', 0, 0, 60_000, undefined, 'read_committed').then(() => {
      woken = true;
    });
    await sendTxn(broker, producer, 't', 0, ['a']);
    // The high watermark moved, the LSO did not: a read_uncommitted poll returns, this one does not.
    await broker.waitForData('t', 0, 0, 60_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(woken).toBe(false);
    await broker.endTxn({ ...producer, committed: true });
    await waiting;
    expect(woken).toBe(true);
  });
});

describe('producer ids and fencing', () => {
  it('gives an idempotent producer a fresh id and never gives an id twice across restarts', async () => {
    const { broker, dataDir } = await openBroker();
    const a = await broker.initProducerId({ transactionTimeoutMs: 1000 });
    const b = await broker.initProducerId({ transactionalId: null, transactionTimeoutMs: 1000 });
    expect(a.producerEpoch).toBe(0);
    expect(b.producerId).not.toBe(a.producerId);
    await closeBroker(broker);
    const { broker: reopened } = await openBroker(dataDir);
    const c = await reopened.initProducerId({ transactionTimeoutMs: 1000 });
    expect(c.producerId).toBeGreaterThan(Math.max(a.producerId, b.producerId));
  });

  it('bumps the epoch for a new instance, aborts the old open transaction, and refuses the old epoch', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const old = await initTxn(broker, 'tx');
    await sendTxn(broker, old, 't', 0, ['zombie']);
    const current = await initTxn(broker, 'tx');
    expect(current.producerId).toBe(old.producerId);
    // The abort of the open transaction bumped the epoch once, this instance's InitProducerId again (Kafka's way).
    expect(current.producerEpoch).toBeGreaterThan(old.producerEpoch);
    // initProducerId resolved after the old transaction was aborted: the LSO is past its marker.
    expect(broker.partitionOffsets('t', 0)).toMatchObject({ highWatermark: 2, lastStableOffset: 2 });
    expect(broker.describeTransaction('tx')?.state).toBe('Empty');
    await expect(broker.endTxn({ ...old, committed: true })).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(
      broker.addPartitionsToTxn({ ...old, partitions: [{ topic: 't', partition: 0 }] }),
    ).rejects.toBeInstanceOf(ProducerFencedError);
    // The log refuses the old epoch's batches: the abort marker carried the bumped epoch.
    const zombieBatch = encodeRecordBatch({ producerId: old.producerId, producerEpoch: old.producerEpoch, baseSequence: 1, isTransactional: true, records: [{ value: Buffer.from('late') }] });
    await expect(broker.produce('t', 0, zombieBatch, -1, { transactionalId: 'tx' })).rejects.toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' });
    // A transactional batch names its transactional id, or the coordinator cannot verify it.
    await expect(broker.produce('t', 0, zombieBatch, -1)).rejects.toMatchObject({ code: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' });
    // The fetch returns the stored batches; the aborted one is listed for the consumer to drop.
    expect(broker.fetch('t', 0, 0, 1 << 20, 'read_committed').abortedTransactions).toEqual([{ producerId: old.producerId, firstOffset: 0 }]);
  });

  it('answers a resent idempotent batch with its original offsets and refuses a sequence gap', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const { producerId, producerEpoch } = await broker.initProducerId({ transactionTimeoutMs: 1000 });
    const batch = (baseSequence: number, values: string[]): Buffer =>
      encodeRecordBatch({ producerId, producerEpoch, baseSequence, records: values.map((value) => ({ value: Buffer.from(value) })) });
    const first = await broker.produce('t', 0, batch(0, ['a', 'b']), -1);
    const again = await broker.produce('t', 0, batch(0, ['a', 'b']), -1);
    expect(again.baseOffset).toBe(first.baseOffset);
    expect(again.lastOffset).toBe(first.lastOffset);
    expect(broker.partitionOffsets('t', 0).highWatermark).toBe(2);
    await expect(broker.produce('t', 0, batch(5, ['c']), -1)).rejects.toBeInstanceOf(OutOfOrderSequenceError);
  });

  it('checks the partitions of AddPartitionsToTxn and the state of EndTxn', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const producer = await initTxn(broker, 'tx');
    await expect(
      broker.addPartitionsToTxn({ ...producer, partitions: [{ topic: 'missing', partition: 0 }] }),
    ).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(broker.endTxn({ ...producer, committed: true })).rejects.toBeInstanceOf(InvalidTxnStateError);
    await expect(broker.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 0 })).rejects.toMatchObject({ code: 'INVALID_TRANSACTION_TIMEOUT' });
  });
});

describe('transactional offset commits', () => {
  it('keeps staged offsets invisible until commit, drops them on abort', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('in', { partitions: 2 });
    await broker.createTopic('out', { partitions: 1 });
    const producer = await initTxn(broker, 'tx');
    const fetchCommitted = async (): Promise<number[]> =>
      (await broker.groups.fetchOffsets({ groupId: 'g', partitions: [{ topic: 'in', partition: 0 }, { topic: 'in', partition: 1 }] })).map((o) => o.offset);

    await sendTxn(broker, producer, 'out', 0, ['r']);
    await broker.addOffsetsToTxn({ ...producer, groupId: 'g' });
    await broker.txnOffsetCommit({ ...producer, groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 7 }] });
    expect(await fetchCommitted()).toEqual([-1, -1]);
    await broker.endTxn({ ...producer, committed: false });
    expect(await fetchCommitted()).toEqual([-1, -1]);

    await sendTxn(broker, producer, 'out', 0, ['s']);
    await broker.addOffsetsToTxn({ ...producer, groupId: 'g' });
    await broker.txnOffsetCommit({ ...producer, groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 3 }, { topic: 'in', partition: 1, offset: 4 }] });
    await broker.endTxn({ ...producer, committed: true });
    expect(await fetchCommitted()).toEqual([3, 4]);
  });

  it('refuses a TxnOffsetCommit for a group not added to the transaction, or from a fenced producer', async () => {
    const { broker } = await openBroker();
    await broker.createTopic('in', { partitions: 1 });
    const producer = await initTxn(broker, 'tx');
    await broker.addPartitionsToTxn({ ...producer, partitions: [{ topic: 'in', partition: 0 }] });
    await expect(
      broker.txnOffsetCommit({ ...producer, groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 1 }] }),
    ).rejects.toBeInstanceOf(TransactionAbortableError);
    await broker.addOffsetsToTxn({ ...producer, groupId: 'g' });
    await expect(
      broker.txnOffsetCommit({ ...producer, groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: -5 }] }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    await initTxn(broker, 'tx');
    await expect(
      broker.txnOffsetCommit({ ...producer, groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 1 }] }),
    ).rejects.toBeInstanceOf(ProducerFencedError);
  });
});

describe('recovery and timeouts', () => {
  it('completes a commit whose markers were not written when the broker closed, on reopen', async () => {
    const { broker, dataDir } = await openBroker();
    await broker.createTopic('in', { partitions: 1 });
    await broker.createTopic('out', { partitions: 2 });
    // The consumed input holds the 10 records the committed offset points past (an offset beyond
    // the log end would be held back as out of range on reopen).
    await broker.produce('in', 0, plainBatch(Array.from({ length: 10 }, (_, i) => `in-${i}`)), -1);
    const producer = await initTxn(broker, 'tx');
    await sendTxn(broker, producer, 'out', 0, ['a0', 'a1']);
    await sendTxn(broker, producer, 'out', 1, ['b0']);
    await broker.addOffsetsToTxn({ ...producer, groupId: 'g' });
    await broker.txnOffsetCommit({ ...producer, groupId: 'g', offsets: [{ topic: 'in', partition: 0, offset: 10 }] });

    broker.injectMarkerFault();
    const ending = broker.endTxn({ ...producer, committed: true });
    const outcome = ending.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    // PrepareCommit is durable once the state store has it; the markers keep failing.
    while (broker.describeTransaction('tx')?.state !== 'PrepareCommit') await new Promise((resolve) => setImmediate(resolve));
    expect(broker.partitionOffsets('out', 0).lastStableOffset).toBe(0);
    await closeBroker(broker);
    expect(await outcome).toBeInstanceOf(ClosedError);

    const { broker: reopened } = await openBroker(dataDir);
    // The coordinator completes it in the background: wait for the LSO of both partitions.
    await reopened.waitForData('out', 0, 0, 30_000, undefined, 'read_committed');
    await reopened.waitForData('out', 1, 0, 30_000, undefined, 'read_committed');
    expect(dataValues(reopened.fetch('out', 0, 0, 1 << 20, 'read_committed').records)).toEqual(['a0', 'a1']);
    expect(dataValues(reopened.fetch('out', 1, 0, 1 << 20, 'read_committed').records)).toEqual(['b0']);
    await eventually(() => reopened.describeTransaction('tx')?.state === 'CompleteCommit', { what: 'the commit completing' });
    const committed = await reopened.groups.fetchOffsets({ groupId: 'g', partitions: [{ topic: 'in', partition: 0 }] });
    expect(committed[0].offset).toBe(10);
    // The producer carries on with the same epoch after the restart.
    await sendTxn(reopened, producer, 'out', 0, ['a2']);
    await reopened.endTxn({ ...producer, committed: true });
    expect(dataValues(reopened.fetch('out', 0, 0, 1 << 20, 'read_committed').records)).toEqual(['a0', 'a1', 'a2']);
  });

  it('keeps an ongoing transaction open across a restart and lets it commit', async () => {
    const { broker, dataDir } = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const producer = await initTxn(broker, 'tx');
    await sendTxn(broker, producer, 't', 0, ['a']);
    await closeBroker(broker);
    const { broker: reopened } = await openBroker(dataDir);
    expect(reopened.describeTransaction('tx')?.state).toBe('Ongoing');
    expect(reopened.partitionOffsets('t', 0)).toMatchObject({ highWatermark: 1, lastStableOffset: 0 });
    await reopened.endTxn({ ...producer, committed: true });
    expect(dataValues(reopened.fetch('t', 0, 0, 1 << 20, 'read_committed').records)).toEqual(['a']);
  });

  it('aborts a transaction that outlives its timeout and lets the LSO move on', async () => {
    const { broker } = await openBroker(undefined, { transactionAbortTimedOutIntervalMs: 20 });
    await broker.createTopic('t', { partitions: 1 });
    const producer = await initTxn(broker, 'tx', 50);
    await sendTxn(broker, producer, 't', 0, ['abandoned']);
    await broker.produce('t', 0, plainBatch(['after']), -1);
    expect(broker.partitionOffsets('t', 0).lastStableOffset).toBe(0);
    // No commit or abort comes: the coordinator's timeout check aborts it.
    await broker.waitForData('t', 0, 0, 30_000, undefined, 'read_committed');
    const fetched = broker.fetch('t', 0, 0, 1 << 20, 'read_committed');
    expect(fetched.abortedTransactions).toEqual([{ producerId: producer.producerId, firstOffset: 0 }]);
    expect(broker.partitionOffsets('t', 0)).toMatchObject({ highWatermark: 3, lastStableOffset: 3 });
    await eventually(() => broker.describeTransaction('tx')?.state !== 'PrepareAbort', { what: 'the abort completing' });
    expect(broker.describeTransaction('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: producer.producerEpoch + 1 });
    await expect(broker.endTxn({ ...producer, committed: true })).rejects.toBeInstanceOf(ProducerFencedError);
  });
});
