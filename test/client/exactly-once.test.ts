/**
 * Exactly-once through the embedded clients and the real broker (shard threads, segment files):
 * idempotent retries across shard failures, transactional producers and their fencing,
 * read_committed consumers, and a consume-transform-produce pipeline over 100,000 records with
 * random aborts and a producer killed mid-transaction.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { Consumer } from '../../src/client/consumer.js';
import { CONSUMER_EVENTS } from '../../src/client/consumer-types.js';
import type { ConsumerGroupMetadata } from '../../src/client/transaction-manager.js';
import { decodeFetchedRecords, type ConsumedMessage } from '../../src/client/fetcher.js';
import { Producer, type Transaction } from '../../src/client/producer.js';
import { IllegalGenerationError, InvalidConfigError, InvalidTxnStateError, ProducerFencedError, UnknownMemberIdError } from '../../src/errors.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch-reader.js';
import { makeDataDir, quietLogger, removeDataDir } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openBroker(): Promise<Broker> {
  const dataDir = makeDataDir();
  const broker = await Broker.open({ dataDir, shards: 2, autoCreateTopicsEnable: false, logger: quietLogger });
  cleanups.push(() => removeDataDir(dataDir), () => broker.close());
  return broker;
}

/** Every stored record of a partition, control batches left out, aborted ones included. */
function storedRecords(broker: Broker, topic: string, partition: number): { offset: number; key: string; value: string }[] {
  const out: { offset: number; key: string; value: string }[] = [];
  for (let offset = 0; ; ) {
    const fetched = broker.fetch(topic, partition, offset, 1 << 20, 'read_uncommitted');
    if (fetched.records.length === 0) return out;
    for (const batch of decodeRecordBatches(fetched.records)) {
      if (batch.isControl) continue;
      for (const record of batch.records) out.push({ offset: record.offset, key: record.key?.toString() ?? '', value: record.value!.toString() });
    }
    offset = fetched.nextOffset;
  }
}

/** What a read_committed consumer receives from a partition, decoded by the consumer's own fetcher. */
function committedRecords(broker: Broker, topic: string, partition: number): ConsumedMessage[] {
  const out: ConsumedMessage[] = [];
  for (let offset = 0; ; ) {
    const fetched = broker.fetch(topic, partition, offset, 1 << 20, 'read_committed');
    if (fetched.records.length === 0) return out;
    decodeFetchedRecords(topic, partition, fetched.records, offset, null, out, fetched.abortedTransactions);
    offset = fetched.nextOffset;
  }
}

describe('idempotent producer', () => {
  it('checks the settings idempotence needs', async () => {
    const broker = await openBroker();
    expect(() => new Producer(broker, { idempotent: true, acks: 1 })).toThrow(InvalidConfigError);
    expect(() => new Producer(broker, { idempotent: true, maxInFlightRequests: 6 })).toThrow(InvalidConfigError);
    expect(() => new Producer(broker, { transactionalId: 'x', idempotent: false })).toThrow(InvalidConfigError);
    expect(() => new Producer(broker, { transactionalId: '' })).toThrow(InvalidConfigError);
    expect(() => new Producer(broker, { retries: 3 })).toThrow(InvalidConfigError);
    await broker.createTopic('t', { partitions: 1 });
    const producer = new Producer(broker, { idempotent: true });
    cleanups.push(() => producer.disconnect());
    await expect(producer.send({ topic: 't', acks: 1, messages: [{ value: 'x' }] })).rejects.toThrow(InvalidConfigError);
  });

  it('stamps producer id, epoch and per-partition sequences on its batches', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 2 });
    const producer = new Producer(broker, { idempotent: true, batchSize: 200 });
    cleanups.push(() => producer.disconnect());
    for (let i = 0; i < 20; i++) await producer.send({ topic: 't', messages: [{ value: `v${i}`.padEnd(60, '.'), partition: i % 2 }] });
    await producer.send({ topic: 't', messages: Array.from({ length: 10 }, (_, i) => ({ value: `w${i}`.padEnd(60, '.'), partition: 0 })) });
    const batches = decodeRecordBatches(broker.fetch('t', 0, 0, 1 << 20, 'read_uncommitted').records);
    expect(new Set(batches.map((batch) => batch.producerId)).size).toBe(1);
    expect(batches[0].producerId).toBeGreaterThanOrEqual(0);
    let expected = 0;
    for (const batch of batches) {
      expect(batch.baseSequence).toBe(expected);
      expect(batch.isTransactional).toBe(false);
      expected += batch.recordCount;
    }
    expect(expected).toBe(20);
  });

  it('retries batches a dying shard did not answer, without duplicates or gaps', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 3 });
    const producer = new Producer(broker, { idempotent: true, batchSize: 4096, retries: 20, retryBackoffMs: 5 });
    cleanups.push(() => producer.disconnect());
    const perKey = 40;
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const sends: Promise<unknown>[] = [];
    let faults = Promise.resolve();
    for (let round = 0; round < perKey; round++) {
      sends.push(producer.send({ topic: 't', messages: keys.map((key) => ({ key, value: `${key}:${round}` })) }));
      // Kill the shards while batches are in flight, as a crash would, twice each.
      if (round === 10 || round === 25) {
        faults = faults.then(async () => {
          await broker.shards.terminateShard(0);
          await broker.shards.injectFault(1);
        });
      }
    }
    await Promise.all(sends);
    await faults;
    expect(broker.shards.restartCount(0) + broker.shards.restartCount(1)).toBe(4);
    expect(producer.stats().batchesRetried).toBeGreaterThan(0);
    const seen = new Map<string, number>();
    let total = 0;
    for (let partition = 0; partition < 3; partition++) {
      const records = storedRecords(broker, 't', partition);
      records.forEach((record, i) => {
        // Dense offsets: nothing written twice, nothing lost.
        expect(record.offset).toBe(i);
        const [key, round] = record.value.split(':');
        const previous = seen.get(key) ?? -1;
        expect(Number(round)).toBe(previous + 1);
        seen.set(key, Number(round));
      });
      total += records.length;
    }
    expect(total).toBe(keys.length * perKey);
  });
});

describe('transactional producer', () => {
  it('makes a transaction visible to read_committed only on commit, and never after abort', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 2 });
    const producer = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => producer.disconnect());
    const committed = await producer.transaction();
    await committed.send({ topic: 't', messages: [{ value: 'c0', partition: 0 }, { value: 'c1', partition: 1 }] });
    expect(committedRecords(broker, 't', 0)).toEqual([]);
    expect(committed.isActive()).toBe(true);
    await committed.commit();
    expect(committed.isActive()).toBe(false);
    const aborted = await producer.transaction();
    await aborted.sendBatch({ topicMessages: [{ topic: 't', messages: [{ value: 'a0', partition: 0 }, { value: 'a1', partition: 1 }] }] });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic: 't', messages: [{ value: 'c2', partition: 0 }] });
    await last.commit();

    expect(committedRecords(broker, 't', 0).map((m) => String(m.value))).toEqual(['c0', 'c2']);
    expect(committedRecords(broker, 't', 1).map((m) => String(m.value))).toEqual(['c1']);
    expect(storedRecords(broker, 't', 0).map((r) => r.value)).toEqual(['c0', 'a0', 'c2']);
  });

  it('sends only inside a transaction, one transaction at a time', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const producer = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => producer.disconnect());
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toThrow(InvalidConfigError);
    const txn = await producer.transaction();
    await expect(producer.transaction()).rejects.toThrow(InvalidTxnStateError);
    await txn.commit();
    await expect(txn.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toThrow(InvalidConfigError);
    await expect(new Producer(broker).transaction()).rejects.toThrow(InvalidConfigError);
  });

  it('fences the older of two instances: its sends, offsets, commits and aborts are refused', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 2 });
    const zombie = new Producer(broker, { transactionalId: 'tx' });
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic: 't', messages: [{ value: 'zombie-0', partition: 0 }] });

    const current = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => current.disconnect());
    const currentTxn = await current.transaction();

    // Partition 0 was in the zombie's transaction (the log refuses its old epoch); partition 1
    // was not (the coordinator refuses to add it).
    await expect(zombieTxn.send({ topic: 't', messages: [{ value: 'zombie-1', partition: 0 }] })).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(zombieTxn.send({ topic: 't', messages: [{ value: 'zombie-2', partition: 1 }] })).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(zombieTxn.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }] })).rejects.toBeInstanceOf(
      ProducerFencedError,
    );
    await expect(zombieTxn.commit()).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(zombieTxn.abort()).rejects.toBeInstanceOf(ProducerFencedError);
    await zombie.disconnect();

    await currentTxn.send({ topic: 't', messages: [{ value: 'current', partition: 0 }] });
    await currentTxn.commit();
    expect(committedRecords(broker, 't', 0).map((m) => String(m.value))).toEqual(['current']);
    expect(committedRecords(broker, 't', 1)).toEqual([]);
    expect(storedRecords(broker, 't', 1)).toEqual([]);
    const committedOffsets = await broker.groups.fetchOffsets({ groupId: 'g', partitions: [{ topic: 't', partition: 0 }] });
    expect(committedOffsets[0].offset).toBe(-1);
  });
});

describe('offsets sent with the consumer group metadata (KIP-447)', () => {
  it('are refused from a stale generation (ILLEGAL_GENERATION) or a member not in the group (UNKNOWN_MEMBER_ID), and the transaction can then only abort', async () => {
    const dataDir = makeDataDir();
    const broker = await Broker.open({ dataDir, shards: 2, autoCreateTopicsEnable: false, logger: quietLogger, groupInitialRebalanceDelayMs: 0 });
    cleanups.push(() => removeDataDir(dataDir), () => broker.close());
    await broker.createTopic('in', { partitions: 2 });
    const joins: ConsumerGroupMetadata[] = [];
    const member = (record: boolean): Consumer => {
      const consumer = new Consumer(broker, { groupId: 'g', heartbeatInterval: 50 });
      if (record) consumer.on(CONSUMER_EVENTS.GROUP_JOIN, (event: { payload: ConsumerGroupMetadata }) => joins.push({ generationId: event.payload.generationId, memberId: event.payload.memberId }));
      cleanups.push(() => consumer.disconnect());
      return consumer;
    };
    const first = member(true);
    await first.subscribe({ topics: ['in'] });
    await first.run({ eachMessage: async () => undefined });
    await eventually(() => joins.length === 1, { what: 'the first member joined' });
    const second = member(false);
    await second.subscribe({ topics: ['in'] });
    await second.run({ eachMessage: async () => undefined });
    await eventually(() => joins.length === 2, { what: 'the first member rejoined for the second' });
    const [stale, current] = joins;
    expect(current.generationId).toBeGreaterThan(stale.generationId);

    const producer = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => producer.disconnect());
    const offsets = { consumerGroupId: 'g', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: 5 }] }] };
    const zombie = await producer.transaction();
    const refused = await zombie.sendOffsets({ ...offsets, consumerGroupMetadata: stale }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IllegalGenerationError);
    expect((refused as IllegalGenerationError).kafkaErrorCode).toBe(22);
    await expect(zombie.commit()).rejects.toBeInstanceOf(InvalidTxnStateError);
    await zombie.abort();
    const stranger = await producer.transaction();
    const unknown = await stranger.sendOffsets({ ...offsets, consumerGroupMetadata: { generationId: current.generationId, memberId: 'not-a-member' } }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(UnknownMemberIdError);
    expect((unknown as UnknownMemberIdError).kafkaErrorCode).toBe(25);
    await stranger.abort();
    expect((await broker.groups.fetchOffsets({ groupId: 'g', partitions: [{ topic: 'in', partition: 0 }] }))[0].offset).toBe(-1);

    const owner = await producer.transaction();
    await owner.sendOffsets({ ...offsets, consumerGroupMetadata: current });
    await owner.commit();
    expect((await broker.groups.fetchOffsets({ groupId: 'g', partitions: [{ topic: 'in', partition: 0 }] }))[0].offset).toBe(5);
  });
});

describe('fencing in every order', () => {
  type Zombie = Transaction;
  const actions: Record<string, (txn: Zombie) => Promise<unknown>> = {
    'a send to a partition new to the transaction (AddPartitionsToTxn)': (txn) => txn.send({ topic: 't', messages: [{ value: 'zombie', partition: 1 }] }),
    'sendOffsets (AddOffsetsToTxn)': (txn) =>
      txn.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }] }),
  };
  const midTransactionActions: Record<string, (txn: Zombie) => Promise<unknown>> = {
    ...actions,
    'a send to a partition already in the transaction (Produce)': (txn) => txn.send({ topic: 't', messages: [{ value: 'zombie', partition: 0 }] }),
    'commit (EndTxn)': (txn) => txn.commit(),
    'abort (EndTxn)': (txn) => txn.abort(),
  };

  async function takeOver(broker: Broker): Promise<Producer> {
    const current = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => current.disconnect());
    // Only InitProducerId: the new instance does nothing else before the zombie acts.
    const txn = await current.transaction();
    await txn.abort();
    return current;
  }

  async function expectOnlyCurrentVisible(broker: Broker, current: Producer, before: string[]): Promise<void> {
    const txn = await current.transaction();
    await txn.send({ topic: 't', messages: [{ value: 'current', partition: 0 }] });
    await txn.commit();
    expect(committedRecords(broker, 't', 0).map((m) => String(m.value))).toEqual([...before, 'current']);
    expect(committedRecords(broker, 't', 1)).toEqual([]);
    const offsets = await broker.groups.fetchOffsets({ groupId: 'g', partitions: [{ topic: 't', partition: 0 }] });
    expect(offsets[0].offset).toBe(-1);
  }

  for (const [name, action] of Object.entries(actions)) {
    it(`refuses an idle zombie's ${name}`, async () => {
      const broker = await openBroker();
      await broker.createTopic('t', { partitions: 2 });
      const zombie = new Producer(broker, { transactionalId: 'tx' });
      cleanups.push(() => zombie.disconnect());
      const first = await zombie.transaction();
      await first.send({ topic: 't', messages: [{ value: 'before', partition: 0 }] });
      await first.commit();
      const epoch = broker.describeTransaction('tx')!.producerEpoch;

      const current = await takeOver(broker);
      expect(broker.describeTransaction('tx')!.producerEpoch).toBe(epoch + 1);
      const late = await zombie.transaction();
      await expect(action(late)).rejects.toBeInstanceOf(ProducerFencedError);
      await expectOnlyCurrentVisible(broker, current, ['before']);
    });
  }

  for (const [name, action] of Object.entries(midTransactionActions)) {
    it(`refuses a mid-transaction zombie's ${name}`, async () => {
      const broker = await openBroker();
      await broker.createTopic('t', { partitions: 2 });
      const zombie = new Producer(broker, { transactionalId: 'tx' });
      cleanups.push(() => zombie.disconnect());
      const open = await zombie.transaction();
      await open.send({ topic: 't', messages: [{ value: 'open', partition: 0 }] });
      const epoch = broker.describeTransaction('tx')!.producerEpoch;

      const current = await takeOver(broker);
      // The open transaction was aborted with the epoch bumped, then InitProducerId bumped it again.
      expect(broker.describeTransaction('tx')!.producerEpoch).toBe(epoch + 2);
      await expect(action(open)).rejects.toBeInstanceOf(ProducerFencedError);
      await expectOnlyCurrentVisible(broker, current, []);
    });
  }
});

describe('read_committed consumer', () => {
  it('never hands out aborted records or control records, in either isolation level', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const plain = new Producer(broker);
    const producer = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => plain.disconnect(), () => producer.disconnect());
    const other = new Producer(broker, { transactionalId: 'other' });
    cleanups.push(() => other.disconnect());
    // Interleave an aborted transaction with a committed one of another producer and plain records.
    const aborted = await producer.transaction();
    const kept = await other.transaction();
    await aborted.send({ topic: 't', messages: [{ value: 'aborted-1' }] });
    await kept.send({ topic: 't', messages: [{ value: 'kept-1' }] });
    await plain.send({ topic: 't', messages: [{ value: 'plain' }] });
    await aborted.send({ topic: 't', messages: [{ value: 'aborted-2' }] });
    await kept.send({ topic: 't', messages: [{ value: 'kept-2' }] });
    await aborted.abort();
    await kept.commit();
    const again = await producer.transaction();
    await again.send({ topic: 't', messages: [{ value: 'committed' }] });
    await again.commit();

    const read = async (isolationLevel: 'read_committed' | 0): Promise<string[]> => {
      const consumer = new Consumer(broker, { isolationLevel, autoOffsetReset: 'earliest', maxWaitTimeInMs: 50 });
      cleanups.push(() => consumer.disconnect());
      consumer.assign([{ topic: 't', partition: 0 }]);
      const end = broker.partitionOffsets('t', 0).highWatermark;
      const values: string[] = [];
      await new Promise<void>((resolve, reject) => {
        consumer.on('consumer.crash', (event: { payload: { error: Error } }) => reject(event.payload.error));
        void consumer.run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) values.push(String(message.value));
            // The last offset of the log is the commit marker of `again`.
            if (batch.lastOffset() >= end - 2) resolve();
          },
        });
      });
      await consumer.disconnect();
      return values;
    };
    expect(await read('read_committed')).toEqual(['kept-1', 'plain', 'kept-2', 'committed']);
    expect(await read(0)).toEqual(['aborted-1', 'kept-1', 'plain', 'aborted-2', 'kept-2', 'committed']);
  });
});

describe('read_committed lag', () => {
  it('is measured to the last stable offset, not the high watermark', async () => {
    const broker = await openBroker();
    await broker.createTopic('t', { partitions: 1 });
    const plain = new Producer(broker);
    const producer = new Producer(broker, { transactionalId: 'tx' });
    cleanups.push(() => plain.disconnect(), () => producer.disconnect());
    await plain.send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const open = await producer.transaction();
    await open.send({ topic: 't', messages: [{ value: 'undecided-1' }, { value: 'undecided-2' }] });
    const consumer = new Consumer(broker, { isolationLevel: 'read_committed', autoOffsetReset: 'earliest' });
    cleanups.push(() => consumer.disconnect());
    consumer.assign([{ topic: 't', partition: 0 }]);
    const seen = await new Promise<{ values: string[]; highWatermark: number; lag: number }>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => resolve({ values: batch.messages.map((m) => String(m.value)), highWatermark: batch.highWatermark, lag: batch.offsetLag() }),
      });
    });
    expect(seen).toEqual({ values: ['a', 'b', 'c'], highWatermark: 5, lag: 0 });
  });
});

/** A seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('consume-transform-produce pipeline', () => {
  it('writes each of 100,000 input records exactly once, in key order, through aborts and a killed producer', async () => {
    const broker = await openBroker();
    const partitions = 4;
    const keyCount = 200;
    const total = 100_000;
    await broker.createTopic('input', { partitions });
    await broker.createTopic('output', { partitions: 3 });
    // Input: keyed records numbered per key, so the output's order per key can be checked.
    // Many small input batches (each handed out is one transaction of the pipeline), so that every
    // instance below has partitions left to commit: 16 KiB, not the default 256 KiB.
    const loader = new Producer(broker, { lingerMs: 5, batchSize: 16_384 });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; i += 1000) {
      const messages = [];
      for (let j = i; j < i + 1000; j++) messages.push({ key: `k${j % keyCount}`, value: String(Math.floor(j / keyCount)) });
      sends.push(loader.send({ topic: 'input', messages }));
    }
    await Promise.all(sends);
    await loader.disconnect();
    const inputEnds = Array.from({ length: partitions }, (_, p) => broker.partitionOffsets('input', p).highWatermark);

    const rng = random(20_240_601);
    const stats = { commits: 0, aborts: 0, kills: 0 };
    let zombie: { producer: Producer; txn: Awaited<ReturnType<Producer['transaction']>> } | null = null;

    /** One instance of the pipeline: runs until every input partition is committed, or until it is killed. */
    const runInstance = async (killAfterCommits: number | null): Promise<'done' | 'killed'> => {
      const producer = new Producer(broker, { transactionalId: 'pipeline', lingerMs: 0 });
      const consumer = new Consumer(broker, { groupId: 'pipeline', isolationLevel: 'read_committed', autoOffsetReset: 'earliest', maxBytesPerPartition: 16 * 1024, maxWaitTimeInMs: 20 });
      // The new instance's InitProducerId fences the previous one and aborts its open transaction.
      await producer.connect();
      const committedUpTo = new Array<number>(partitions).fill(-1);
      consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: 'input', partition })));
      let commitsHere = 0;
      const outcome = await new Promise<'done' | 'killed'>((resolve, reject) => {
        consumer.on('consumer.crash', (event: { payload: { error: Error } }) => reject(event.payload.error));
        void consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset }) => {
            if (batch.messages.length === 0) return;
            const txn = await producer.transaction();
            await txn.send({
              topic: 'output',
              messages: batch.messages.map((message) => ({ key: message.key, value: `${String(message.key)}:${String(message.value)}` })),
            });
            const next = batch.lastOffset() + 1;
            await txn.sendOffsets({ consumerGroupId: 'pipeline', topics: [{ topic: 'input', partitions: [{ partition: batch.partition, offset: String(next) }] }] });
            if (killAfterCommits !== null && commitsHere >= killAfterCommits) {
              // Killed mid-transaction: nothing committed, nothing resolved, the instance is abandoned.
              stats.kills++;
              zombie = { producer, txn };
              consumer.pause([{ topic: 'input' }]);
              resolve('killed');
              return;
            }
            if (rng() < 0.1) {
              stats.aborts++;
              await txn.abort();
              // Unresolved: the consumer hands the same records out again.
              return;
            }
            await txn.commit();
            stats.commits++;
            commitsHere++;
            resolveOffset(batch.lastOffset());
            committedUpTo[batch.partition] = next;
            if (committedUpTo.every((offset, p) => offset >= inputEnds[p] || inputEnds[p] === 0)) resolve('done');
          },
        });
      });
      await consumer.disconnect();
      if (outcome === 'done') await producer.disconnect();
      return outcome;
    };

    expect(await runInstance(5)).toBe('killed');
    expect(await runInstance(40)).toBe('killed');
    expect(await runInstance(null)).toBe('done');
    expect(stats.kills).toBe(2);
    expect(stats.aborts).toBeGreaterThan(0);

    // The last killed instance is a zombie now: fenced, it can change nothing.
    const { producer: fenced, txn } = zombie!;
    await expect(txn.commit()).rejects.toBeInstanceOf(ProducerFencedError);
    await fenced.disconnect();

    const committedByKey = new Map<string, number[]>();
    let committedCount = 0;
    let storedCount = 0;
    for (let partition = 0; partition < 3; partition++) {
      for (const message of committedRecords(broker, 'output', partition)) {
        const [key, sequence] = String(message.value).split(':');
        let list = committedByKey.get(key);
        if (list === undefined) committedByKey.set(key, (list = []));
        list.push(Number(sequence));
        committedCount++;
      }
      storedCount += storedRecords(broker, 'output', partition).length;
    }
    expect(committedCount).toBe(total);
    expect(committedByKey.size).toBe(keyCount);
    for (const sequences of committedByKey.values()) {
      expect(sequences).toEqual(Array.from({ length: total / keyCount }, (_, i) => i));
    }
    // read_uncommitted sees the aborted and killed transactions' records too.
    expect(storedCount).toBeGreaterThan(total);
    const offsets = await broker.groups.fetchOffsets({ groupId: 'pipeline', partitions: inputEnds.map((_, partition) => ({ topic: 'input', partition })) });
    expect(offsets.map((o) => o.offset)).toEqual(inputEnds);
  }, 60_000);
});
