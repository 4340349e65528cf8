import { afterEach, describe, expect, it } from 'vitest';
import type { TopicPartitionRef } from '../../src/broker/group-types.js';
import { ProducerIdManager, type ProducerIdBlock, type ProducerIdBlockStore } from '../../src/broker/producer-id-manager.js';
import {
  TransactionCoordinator,
  type TransactionCoordinatorOptions,
  type TransactionLogEntry,
  type TransactionStateRecord,
  type TransactionStateStore,
  type TxnMarker,
  type TxnMarkerWriter,
} from '../../src/broker/transaction-coordinator.js';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
} from '../../src/broker/transaction-log-codec.js';
import { TRANSACTION_STATES, isLegalTransition } from '../../src/broker/transaction-state.js';
import {
  ClosedError,
  ConcurrentTransactionsError,
  CorruptTransactionStateError,
  InvalidConfigError,
  InvalidGroupIdError,
  InvalidProducerIdMappingError,
  InvalidRequestError,
  InvalidTransactionTimeoutError,
  InvalidTxnStateError,
  KafkaApiError,
  ProducerFencedError,
  TransactionAbortableError,
  TransactionCoordinatorNotAvailableError,
} from '../../src/errors.js';
import { ManualClock } from '../support/clock.js';

/** Lets every in-memory promise chain run to its end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The broker's transaction log, in memory: entries go through the real codec as key/value
 * records (null value for a tombstone), and `load` decodes them back as a restarted broker would.
 */
class MemoryStateStore implements TransactionStateStore {
  readonly log: { key: Buffer; value: Buffer | null }[] = [];
  failNextAppends = 0;
  /** While true, appends wait for release(). */
  hold = false;
  private held: (() => void)[] = [];

  async append(entry: TransactionLogEntry): Promise<void> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failNextAppends > 0) {
      this.failNextAppends--;
      throw new Error('log append failed: disk full');
    }
    this.log.push({ key: encodeTransactionLogKey(entry.transactionalId), value: encodeTransactionLogValue(entry) });
  }

  load(): TransactionLogEntry[] {
    return this.log.map(({ key, value }) => decodeTransactionLogValue(decodeTransactionLogKey(key), value));
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }

  /** The persisted states of one id, in order. */
  states(transactionalId: string): string[] {
    return this.load()
      .filter((entry) => entry.transactionalId === transactionalId)
      .map((entry) => entry.state);
  }

  latest(transactionalId: string): TransactionLogEntry {
    return this.load()
      .filter((entry) => entry.transactionalId === transactionalId)
      .at(-1)!;
  }
}

interface WrittenMarker extends TxnMarker {
  topic: string;
  partition: number;
}

/** The broker's marker path, in memory: what was written where, with failures and holds on demand. */
class MemoryMarkerWriter implements TxnMarkerWriter {
  readonly markers: WrittenMarker[] = [];
  readonly groupCompletions: { groupId: string; producerId: number; commit: boolean }[] = [];
  failNextMarkerWrites = 0;
  failNextGroupCompletions = 0;
  markerCalls = 0;
  groupCalls = 0;
  hold = false;
  private held: (() => void)[] = [];

  async writeMarkers(partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void> {
    this.markerCalls++;
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failNextMarkerWrites > 0) {
      this.failNextMarkerWrites--;
      throw new Error('partition append failed');
    }
    for (const { topic, partition } of partitions) this.markers.push({ topic, partition, ...marker });
  }

  async completeGroupOffsets(groupId: string, { producerId, commit }: TxnMarker): Promise<void> {
    this.groupCalls++;
    if (this.failNextGroupCompletions > 0) {
      this.failNextGroupCompletions--;
      throw new Error('offsets append failed');
    }
    this.groupCompletions.push({ groupId, producerId, commit });
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const resolve of held) resolve();
  }
}

class MemoryBlockStore implements ProducerIdBlockStore {
  block: ProducerIdBlock | null = null;
  loadLatestBlock(): ProducerIdBlock | null {
    return this.block;
  }
  storeLatestBlock(block: ProducerIdBlock): void {
    this.block = block;
  }
}

const TIMEOUT_MS = 60_000;
const ABORT_CHECK_MS = 1_000;

/** One broker's durable state, surviving coordinator restarts. */
class Broker {
  readonly clock = new ManualClock();
  readonly store = new MemoryStateStore();
  readonly writer = new MemoryMarkerWriter();
  readonly blocks = new MemoryBlockStore();
  readonly backgroundErrors: Error[] = [];
  coordinator!: TransactionCoordinator;

  async open(options: Partial<TransactionCoordinatorOptions> = {}): Promise<TransactionCoordinator> {
    this.coordinator = await TransactionCoordinator.open({
      stateStore: this.store,
      markerWriter: this.writer,
      producerIds: new ProducerIdManager({ store: this.blocks, blockSize: 100 }),
      clock: this.clock,
      abortTimedOutTransactionsIntervalMs: ABORT_CHECK_MS,
      onBackgroundError: (error) => this.backgroundErrors.push(error),
      ...options,
    });
    opened.push(this.coordinator);
    return this.coordinator;
  }

  /** A crash and restart: the old coordinator is gone, a new one loads the store. */
  async restart(options: Partial<TransactionCoordinatorOptions> = {}): Promise<TransactionCoordinator> {
    this.coordinator.close();
    return this.open(options);
  }
}

const opened: TransactionCoordinator[] = [];
afterEach(() => {
  for (const coordinator of opened.splice(0)) coordinator.close();
});

const T0 = { topic: 'orders', partition: 0 };
const T1 = { topic: 'orders', partition: 1 };
const U0 = { topic: 'payments', partition: 0 };

async function initTxn(coordinator: TransactionCoordinator, transactionalId = 'tx', transactionTimeoutMs = TIMEOUT_MS) {
  const { producerId, producerEpoch } = await coordinator.initProducerId({ transactionalId, transactionTimeoutMs });
  return { transactionalId, producerId, producerEpoch };
}

async function expectKafkaError(promise: Promise<unknown>, type: new (...args: never[]) => KafkaApiError, code: number) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  expect((error as KafkaApiError).kafkaErrorCode).toBe(code);
  return error as KafkaApiError;
}

function key(partition: TopicPartitionRef): string {
  return `${partition.topic}-${partition.partition}`;
}

describe('transaction states', () => {
  it("allows exactly Kafka's transitions", () => {
    const legal = TRANSACTION_STATES.flatMap((from) =>
      TRANSACTION_STATES.filter((to) => isLegalTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(legal.sort()).toEqual(
      [
        'Empty->Empty',
        'CompleteCommit->Empty',
        'CompleteAbort->Empty',
        'Empty->Ongoing',
        'Ongoing->Ongoing',
        'CompleteCommit->Ongoing',
        'CompleteAbort->Ongoing',
        'Ongoing->PrepareCommit',
        'Ongoing->PrepareAbort',
        'PrepareCommit->CompleteCommit',
        'PrepareAbort->CompleteAbort',
        'Empty->Dead',
        'CompleteCommit->Dead',
        'CompleteAbort->Dead',
      ].sort(),
    );
  });
});

describe('InitProducerId', () => {
  it('gives an idempotent producer a fresh id at epoch 0 and stores nothing', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const a = await coordinator.initProducerId({ transactionalId: null, transactionTimeoutMs: 0 });
    const b = await coordinator.initProducerId({ transactionTimeoutMs: 0 });
    expect(a.producerEpoch).toBe(0);
    expect(b.producerEpoch).toBe(0);
    expect(b.producerId).not.toBe(a.producerId);
    expect(broker.store.log).toHaveLength(0);
  });

  it('registers a new transactional id at epoch 0, persisted Empty', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    expect(producer.producerEpoch).toBe(0);
    expect(broker.store.latest('tx')).toMatchObject({
      state: 'Empty',
      producerId: producer.producerId,
      producerEpoch: 0,
      transactionTimeoutMs: TIMEOUT_MS,
      txnStartTimestampMs: -1,
    });
  });

  it('bumps the epoch for a second instance, fencing the first, whose calls then change nothing', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const first = await initTxn(coordinator);
    const second = await initTxn(coordinator);
    expect(second).toEqual({ ...first, producerEpoch: 1 });
    const logLength = broker.store.log.length;

    await expectKafkaError(coordinator.addPartitionsToTxn({ ...first, partitions: [T0] }), ProducerFencedError, 90);
    await expectKafkaError(coordinator.addOffsetsToTxn({ ...first, groupId: 'g' }), ProducerFencedError, 90);
    await expectKafkaError(coordinator.endTxn({ ...first, committed: true }), ProducerFencedError, 90);
    expect(() => coordinator.validateTxnOffsetCommit({ ...first, groupId: 'g' })).toThrow(ProducerFencedError);
    expect(broker.store.log).toHaveLength(logLength);
    expect(coordinator.describeTransaction('tx')).toMatchObject({ state: 'Empty', producerEpoch: 1, partitions: [] });
  });

  it('validates the transaction timeout against transactionMaxTimeoutMs', async () => {
    const broker = new Broker();
    const coordinator = await broker.open({ transactionMaxTimeoutMs: 120_000 });
    for (const transactionTimeoutMs of [0, -5, 120_001]) {
      await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs }), InvalidTransactionTimeoutError, 50);
    }
    expect((await coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 120_000 })).producerEpoch).toBe(0);
    // The default is Kafka's 15 minutes.
    const defaults = await new Broker().open();
    await expectKafkaError(defaults.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 900_001 }), InvalidTransactionTimeoutError, 50);
    expect((await defaults.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 900_000 })).producerEpoch).toBe(0);
  });

  it('rejects malformed requests', async () => {
    const coordinator = await new Broker().open();
    await expect(coordinator.initProducerId({ transactionalId: '', transactionTimeoutMs: 1000 })).rejects.toThrow(InvalidRequestError);
    await expect(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 1.5 })).rejects.toThrow(InvalidRequestError);
    await expect(
      coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 1000, producerId: 5, producerEpoch: -1 }),
    ).rejects.toThrow(/both producerId and producerEpoch, or neither/);
  });

  it('answers CONCURRENT_TRANSACTIONS to a second InitProducerId while the first is being persisted', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    await initTxn(coordinator);
    broker.store.hold = true;
    const first = coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS });
    await settle();
    await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS }), ConcurrentTransactionsError, 51);
    broker.store.hold = false;
    broker.store.release();
    expect((await first).producerEpoch).toBe(1);
  });

  it('aborts the previous instance\'s open transaction with a bumped epoch, answering CONCURRENT_TRANSACTIONS until done', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const zombie = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...zombie, partitions: [T0, U0] });
    broker.writer.hold = true;

    await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS }), ConcurrentTransactionsError, 51);
    expect(broker.store.latest('tx')).toMatchObject({ state: 'PrepareAbort', producerEpoch: 1, lastProducerEpoch: -1 });
    // Still completing: the retry is told to wait again.
    await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS }), ConcurrentTransactionsError, 51);
    await expectKafkaError(coordinator.endTxn({ ...zombie, committed: true }), ProducerFencedError, 90);

    broker.writer.hold = false;
    broker.writer.release();
    await settle();
    // The abort markers carry the bumped epoch, so the partitions fence the zombie too.
    expect(broker.writer.markers.map((m) => [key(m), m.commit, m.producerEpoch]).sort()).toEqual([
      ['orders-0', false, 1],
      ['payments-0', false, 1],
    ]);
    const fresh = await initTxn(coordinator);
    expect(fresh).toEqual({ ...zombie, producerEpoch: 2 });
    expect(broker.store.states('tx')).toEqual(['Empty', 'Ongoing', 'PrepareAbort', 'CompleteAbort', 'Empty']);
  });

  it('rotates to a new producer id at epoch 0 once the epoch is exhausted', async () => {
    const broker = new Broker();
    seed(broker, { producerId: 77, producerEpoch: 32_765 });
    const coordinator = await broker.open();
    expect(await initTxn(coordinator)).toMatchObject({ producerId: 77, producerEpoch: 32_766 });
    const rotated = await initTxn(coordinator);
    expect(rotated.producerId).not.toBe(77);
    expect(rotated.producerEpoch).toBe(0);
    expect(broker.store.latest('tx')).toMatchObject({ producerId: rotated.producerId, lastProducerId: 77, producerEpoch: 0 });
    await expectKafkaError(coordinator.addPartitionsToTxn({ transactionalId: 'tx', producerId: 77, producerEpoch: 32_766, partitions: [T0] }), InvalidProducerIdMappingError, 49);
  });

  it('fences an open transaction at the last usable epoch, then rotates on the retry', async () => {
    const broker = new Broker();
    seed(broker, { producerId: 77, producerEpoch: 32_766 });
    const coordinator = await broker.open();
    const zombie = { transactionalId: 'tx', producerId: 77, producerEpoch: 32_766 };
    await coordinator.addPartitionsToTxn({ ...zombie, partitions: [T0] });
    await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS }), ConcurrentTransactionsError, 51);
    await settle();
    expect(broker.writer.markers).toEqual([{ ...T0, producerId: 77, producerEpoch: 32_767, commit: false, coordinatorEpoch: 0 }]);
    const rotated = await initTxn(coordinator);
    expect(rotated.producerId).not.toBe(77);
    expect(rotated.producerEpoch).toBe(0);
  });

  describe('with the producer id and epoch of KIP-360 (v3+)', () => {
    it('bumps the epoch of the current producer and recognizes a retry of that bump', async () => {
      const broker = new Broker();
      const coordinator = await broker.open();
      const producer = await initTxn(coordinator);
      const request = { transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS, producerId: producer.producerId, producerEpoch: 0 };
      expect(await coordinator.initProducerId(request)).toEqual({ producerId: producer.producerId, producerEpoch: 1 });
      // The response was lost; the same request again gets the same answer, not another bump.
      expect(await coordinator.initProducerId(request)).toEqual({ producerId: producer.producerId, producerEpoch: 1 });
      expect(broker.store.latest('tx')).toMatchObject({ producerEpoch: 1, lastProducerEpoch: 0 });
    });

    it('fences a producer whose epoch is neither current nor the previous one, or whose id is unknown', async () => {
      const broker = new Broker();
      const coordinator = await broker.open();
      const producer = await initTxn(coordinator);
      await initTxn(coordinator);
      await initTxn(coordinator); // epoch 2, previous epoch -1 (bumped without KIP-360)
      const base = { transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS };
      await expectKafkaError(coordinator.initProducerId({ ...base, producerId: producer.producerId, producerEpoch: 0 }), ProducerFencedError, 90);
      await expectKafkaError(coordinator.initProducerId({ ...base, producerId: producer.producerId + 1, producerEpoch: 2 }), ProducerFencedError, 90);
      expect(await coordinator.initProducerId({ ...base, producerId: producer.producerId, producerEpoch: 2 })).toEqual({
        producerId: producer.producerId,
        producerEpoch: 3,
      });
    });

    it('recognizes a retry of a rotation by the old id and its exhausted epoch', async () => {
      const broker = new Broker();
      seed(broker, { producerId: 77, producerEpoch: 32_766 });
      const coordinator = await broker.open();
      const request = { transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS, producerId: 77, producerEpoch: 32_766 };
      const rotated = await coordinator.initProducerId(request);
      expect(rotated.producerEpoch).toBe(0);
      expect(await coordinator.initProducerId(request)).toEqual(rotated);
    });
  });
});

/** Preloads the store with an idle transactional id, as a previous run would have left it. */
function seed(broker: Broker, fields: Partial<TransactionStateRecord>): void {
  const record: TransactionStateRecord = {
    transactionalId: 'tx',
    producerId: 77,
    lastProducerId: 77,
    producerEpoch: 0,
    lastProducerEpoch: -1,
    transactionTimeoutMs: TIMEOUT_MS,
    state: 'Empty',
    partitions: [],
    groupIds: [],
    txnLastUpdateTimestampMs: broker.clock.nowMs(),
    txnStartTimestampMs: -1,
    ...fields,
  };
  broker.store.log.push({ key: encodeTransactionLogKey(record.transactionalId), value: encodeTransactionLogValue(record) });
}

describe('a transaction', () => {
  it('commits: markers to exactly the partitions touched, group offsets committed, then CompleteCommit', async () => {
    const broker = new Broker();
    const coordinator = await broker.open({ coordinatorEpoch: 3 });
    const producer = await initTxn(coordinator);
    const startMs = broker.clock.nowMs();
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0, T1] });
    await broker.clock.advanceSettling(10);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T1, U0] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'billing' });
    coordinator.validateTxnOffsetCommit({ ...producer, groupId: 'billing' });
    expect(coordinator.describeTransaction('tx')).toMatchObject({
      state: 'Ongoing',
      txnStartTimestampMs: startMs,
      groupIds: ['billing'],
    });
    expect(broker.writer.markers).toHaveLength(0);

    broker.writer.hold = true;
    await coordinator.endTxn({ ...producer, committed: true });
    // Answered once the decision is durable, before any marker is written.
    expect(broker.store.latest('tx')).toMatchObject({ state: 'PrepareCommit' });
    expect(broker.writer.markers).toHaveLength(0);
    broker.writer.hold = false;
    broker.writer.release();
    await settle();

    const marker = { producerId: producer.producerId, producerEpoch: 0, commit: true, coordinatorEpoch: 3 };
    expect([...broker.writer.markers].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([
      { ...T0, ...marker },
      { ...T1, ...marker },
      { ...U0, ...marker },
    ]);
    expect(broker.writer.groupCompletions).toEqual([{ groupId: 'billing', producerId: producer.producerId, commit: true }]);
    expect(broker.store.states('tx')).toEqual(['Empty', 'Ongoing', 'Ongoing', 'Ongoing', 'PrepareCommit', 'CompleteCommit']);
    expect(broker.store.latest('tx')).toMatchObject({ state: 'CompleteCommit', partitions: [], groupIds: [] });
  });

  it('aborts: abort markers and group offsets dropped', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [U0] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'billing' });
    await coordinator.endTxn({ ...producer, committed: false });
    await settle();
    expect(broker.writer.markers).toEqual([{ ...U0, producerId: producer.producerId, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }]);
    expect(broker.writer.groupCompletions).toEqual([{ groupId: 'billing', producerId: producer.producerId, commit: false }]);
    expect(coordinator.describeTransaction('tx')?.state).toBe('CompleteAbort');
  });

  it('starts the next transaction from a completed one with only its own partitions and a new start time', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await coordinator.endTxn({ ...producer, committed: true });
    await settle();
    await broker.clock.advanceSettling(500);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [U0] });
    expect(coordinator.describeTransaction('tx')).toMatchObject({
      state: 'Ongoing',
      partitions: [U0],
      txnStartTimestampMs: broker.clock.nowMs(),
    });
    await coordinator.endTxn({ ...producer, committed: false });
    await settle();
    expect(broker.writer.markers.map((m) => [key(m), m.commit])).toEqual([
      ['orders-0', true],
      ['payments-0', false],
    ]);
  });

  it('adds nothing and stores nothing when every partition is already in the transaction', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0, T1] });
    const logLength = broker.store.log.length;
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] });
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0, T0] });
    expect(broker.store.log).toHaveLength(logLength);
  });

  it('treats EndTxn retries as Kafka does', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: true }), InvalidTxnStateError, 48);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });

    broker.writer.hold = true;
    await coordinator.endTxn({ ...producer, committed: true });
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: true }), ConcurrentTransactionsError, 51);
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: false }), InvalidTxnStateError, 48);
    broker.writer.hold = false;
    broker.writer.release();
    await settle();

    const logLength = broker.store.log.length;
    await coordinator.endTxn({ ...producer, committed: true });
    await coordinator.endTxn({ ...producer, committed: true });
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: false }), InvalidTxnStateError, 48);
    expect(broker.store.log).toHaveLength(logLength);
    expect(broker.writer.markers).toHaveLength(1);

    // And the mirror image after an abort.
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await coordinator.endTxn({ ...producer, committed: false });
    await settle();
    await coordinator.endTxn({ ...producer, committed: false });
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: true }), InvalidTxnStateError, 48);
  });

  it('answers CONCURRENT_TRANSACTIONS to the next transaction until the markers are written', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    broker.writer.hold = true;
    await coordinator.endTxn({ ...producer, committed: true });
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] }), ConcurrentTransactionsError, 51);
    await expectKafkaError(coordinator.addOffsetsToTxn({ ...producer, groupId: 'g' }), ConcurrentTransactionsError, 51);
    await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS }), ConcurrentTransactionsError, 51);
    broker.writer.hold = false;
    broker.writer.release();
    await settle();
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] });
    expect(coordinator.describeTransaction('tx')?.state).toBe('Ongoing');
  });

  it('checks the producer behind every request', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, transactionalId: 'other', partitions: [T0] }), InvalidProducerIdMappingError, 49);
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, producerId: producer.producerId + 1, partitions: [T0] }), InvalidProducerIdMappingError, 49);
    await expectKafkaError(coordinator.endTxn({ ...producer, producerId: producer.producerId + 1, committed: true }), InvalidProducerIdMappingError, 49);
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, producerEpoch: 1, partitions: [T0] }), ProducerFencedError, 90);
    await expect(coordinator.addPartitionsToTxn({ ...producer, partitions: [] })).rejects.toThrow(InvalidRequestError);
    await expect(coordinator.addPartitionsToTxn({ ...producer, partitions: [{ topic: 'orders', partition: -1 }] })).rejects.toThrow(
      /partitions\[0\]\.partition must be an integer/,
    );
    await expect(coordinator.addOffsetsToTxn({ ...producer, groupId: '' })).rejects.toThrow(InvalidGroupIdError);
    await expect(coordinator.endTxn({ ...producer, committed: 'yes' as never })).rejects.toThrow(/committed must be a boolean/);
  });

  it('limits the partitions and groups of one transaction', async () => {
    const broker = new Broker();
    const coordinator = await broker.open({ maxTransactionPartitions: 3 });
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0, T1] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'g' });
    await expect(coordinator.addPartitionsToTxn({ ...producer, partitions: [T0, U0] })).rejects.toThrow(/would hold 4 partitions and groups.*maxTransactionPartitions \(3\)/);
    expect(coordinator.describeTransaction('tx')?.partitions).toEqual([T0, T1]);
  });
});

describe('TxnOffsetCommit validation', () => {
  it('accepts only an Ongoing transaction that added the group', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    const check = { ...producer, groupId: 'billing' };
    expect(() => coordinator.validateTxnOffsetCommit(check)).toThrow(TransactionAbortableError);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    expect(() => coordinator.validateTxnOffsetCommit(check)).toThrow(/call AddOffsetsToTxn/);
    await coordinator.addOffsetsToTxn(check);
    coordinator.validateTxnOffsetCommit(check);
    expect(() => coordinator.validateTxnOffsetCommit({ ...check, producerEpoch: 5 })).toThrow(ProducerFencedError);
    expect(() => coordinator.validateTxnOffsetCommit({ ...check, producerId: 12_345 })).toThrow(InvalidProducerIdMappingError);

    broker.store.hold = true;
    const ending = coordinator.endTxn({ ...producer, committed: true });
    await settle();
    // Deciding: offsets staged now could miss the markers.
    expect(() => coordinator.validateTxnOffsetCommit(check)).toThrow(ConcurrentTransactionsError);
    broker.store.hold = false;
    broker.store.release();
    await ending;
    // Decided, markers being written: Kafka's verification answers CONCURRENT_TRANSACTIONS.
    expect(() => coordinator.validateTxnOffsetCommit(check)).toThrow(ConcurrentTransactionsError);
  });
});

describe('storage failures', () => {
  it('changes nothing when a state cannot be stored, answers a retriable error, and succeeds on retry', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    broker.store.failNextAppends = 1;
    const error = await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] }), TransactionCoordinatorNotAvailableError, 15);
    expect(error.retriable).toBe(true);
    expect(coordinator.describeTransaction('tx')).toMatchObject({ state: 'Empty', partitions: [] });
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });

    broker.store.failNextAppends = 1;
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: true }), TransactionCoordinatorNotAvailableError, 15);
    expect(coordinator.describeTransaction('tx')?.state).toBe('Ongoing');
    expect(broker.writer.markerCalls).toBe(0);
  });

  it('answers CONCURRENT_TRANSACTIONS while another request for the id is being stored', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    broker.store.hold = true;
    const adding = coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await settle();
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] }), ConcurrentTransactionsError, 51);
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: true }), ConcurrentTransactionsError, 51);
    broker.store.hold = false;
    broker.store.release();
    await adding;
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] });
  });

  it('retries failed marker writes and completions with backoff, redoing only what failed', async () => {
    const broker = new Broker();
    const coordinator = await broker.open({ markerRetryBackoffMs: 100, markerRetryMaxBackoffMs: 150 });
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'billing' });
    broker.writer.failNextMarkerWrites = 2;
    await coordinator.endTxn({ ...producer, committed: true });
    await settle();
    expect(broker.backgroundErrors.map((e) => e.message)).toEqual([expect.stringMatching(/commit markers of "tx" could not be written: partition append failed; retrying/)]);
    // The group's offsets wait for the markers: stable offsets mean the records are decided.
    expect(broker.writer.groupCompletions).toHaveLength(0);
    expect(coordinator.describeTransaction('tx')?.state).toBe('PrepareCommit');

    await broker.clock.advanceSettling(99);
    expect(broker.writer.markerCalls).toBe(1);
    await broker.clock.advanceSettling(1); // first retry after 100 ms, fails again
    expect(broker.writer.markerCalls).toBe(2);
    broker.store.failNextAppends = 1;
    await broker.clock.advanceSettling(150); // second retry after the capped 150 ms; now the completion append fails
    expect(broker.writer.markers).toHaveLength(1);
    expect(broker.writer.groupCompletions).toHaveLength(1);
    expect(broker.backgroundErrors.at(-1)?.message).toMatch(/completion of "tx" could not be stored/);
    await broker.clock.advanceSettling(150);
    expect(coordinator.describeTransaction('tx')?.state).toBe('CompleteCommit');
    // The group's offsets were completed once; the markers written once, not re-sent after the store failure.
    expect(broker.writer.groupCalls).toBe(1);
    expect(broker.writer.markers).toHaveLength(1);
  });
});

describe('transaction timeout', () => {
  it('aborts a transaction Ongoing past its timeout, bumping the epoch to fence its producer', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator, 'tx', 5_000);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await broker.clock.advanceSettling(5_000);
    // start + timeout is not yet past.
    expect(coordinator.describeTransaction('tx')?.state).toBe('Ongoing');
    await broker.clock.advanceSettling(ABORT_CHECK_MS);
    expect(coordinator.describeTransaction('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 });
    expect(broker.writer.markers).toEqual([{ ...T0, producerId: producer.producerId, producerEpoch: 1, commit: false, coordinatorEpoch: 0 }]);
    await expectKafkaError(coordinator.endTxn({ ...producer, committed: true }), ProducerFencedError, 90);
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] }), ProducerFencedError, 90);
    // A new instance carries on from the bumped epoch.
    expect((await initTxn(coordinator)).producerEpoch).toBe(2);
  });

  it('leaves idle ids and transactions within their timeout alone', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const idle = await initTxn(coordinator, 'idle', 1_000);
    const busy = await initTxn(coordinator, 'busy', 60_000);
    await coordinator.addPartitionsToTxn({ ...busy, partitions: [T0] });
    await broker.clock.advanceSettling(30_000);
    expect(coordinator.describeTransaction('idle')).toMatchObject({ state: 'Empty', producerEpoch: idle.producerEpoch });
    expect(coordinator.describeTransaction('busy')?.state).toBe('Ongoing');
    expect(broker.writer.markers).toHaveLength(0);
  });

  it('uses the configured check interval', async () => {
    const broker = new Broker();
    const coordinator = await broker.open({ abortTimedOutTransactionsIntervalMs: 20_000 });
    const producer = await initTxn(coordinator, 'tx', 1_000);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await broker.clock.advanceSettling(19_999);
    expect(coordinator.describeTransaction('tx')?.state).toBe('Ongoing');
    await broker.clock.advanceSettling(1);
    expect(coordinator.describeTransaction('tx')?.state).toBe('CompleteAbort');
  });
});

describe('recovery', () => {
  it('completes a PrepareCommit found at start: markers written again, offsets committed, CompleteCommit', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0, U0] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'billing' });
    broker.writer.hold = true;
    await coordinator.endTxn({ ...producer, committed: true });
    // Crash before any marker lands.
    broker.writer.hold = false;
    const restarted = await broker.restart({ coordinatorEpoch: 1 });
    broker.writer.release(); // the dead coordinator's write goes on, but it is closed and persists nothing more
    await settle();
    expect(broker.writer.markers.filter((m) => m.coordinatorEpoch === 1).map((m) => [key(m), m.commit]).sort()).toEqual([
      ['orders-0', true],
      ['payments-0', true],
    ]);
    expect(broker.writer.groupCompletions.at(-1)).toEqual({ groupId: 'billing', producerId: producer.producerId, commit: true });
    expect(restarted.describeTransaction('tx')?.state).toBe('CompleteCommit');
    expect(broker.store.states('tx').slice(-2)).toEqual(['PrepareCommit', 'CompleteCommit']);
    await restarted.endTxn({ ...producer, committed: true });
  });

  it('completes a PrepareAbort found at start, fencing epoch included', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T1] });
    broker.writer.hold = true;
    await expectKafkaError(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: TIMEOUT_MS }), ConcurrentTransactionsError, 51);
    broker.writer.hold = false;
    const restarted = await broker.restart();
    await settle();
    expect(broker.writer.markers).toEqual([{ ...T1, producerId: producer.producerId, producerEpoch: 1, commit: false, coordinatorEpoch: 0 }]);
    expect(restarted.describeTransaction('tx')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 });
    expect((await initTxn(restarted)).producerEpoch).toBe(2);
  });

  it('resumes an Ongoing transaction: the producer carries on, and its timeout still holds', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator, 'tx', 10_000);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'billing' });
    const restarted = await broker.restart();
    expect(restarted.describeTransaction('tx')).toMatchObject({ state: 'Ongoing', partitions: [T0], groupIds: ['billing'] });
    restarted.validateTxnOffsetCommit({ ...producer, groupId: 'billing' });
    await restarted.addPartitionsToTxn({ ...producer, partitions: [T1] });
    await broker.clock.advanceSettling(10_000 + ABORT_CHECK_MS);
    expect(restarted.describeTransaction('tx')?.state).toBe('CompleteAbort');
    expect(broker.writer.markers.map((m) => [key(m), m.commit, m.producerEpoch]).sort()).toEqual([
      ['orders-0', false, 1],
      ['orders-1', false, 1],
    ]);
    expect(broker.writer.groupCompletions).toEqual([{ groupId: 'billing', producerId: producer.producerId, commit: false }]);
  });

  it('keeps epochs and producer ids across restarts', async () => {
    const broker = new Broker();
    let coordinator = await broker.open();
    const first = await initTxn(coordinator);
    const idempotent = await coordinator.initProducerId({ transactionTimeoutMs: 0 });
    coordinator = await broker.restart();
    expect(await initTxn(coordinator)).toEqual({ ...first, producerEpoch: 1 });
    const other = await initTxn(coordinator, 'other');
    const again = await coordinator.initProducerId({ transactionTimeoutMs: 0 });
    // A restart reserves a new block: ids handed out before are never handed out again.
    expect(new Set([first.producerId, idempotent.producerId, other.producerId, again.producerId]).size).toBe(4);
  });

  it('refuses to start from a stored entry it could not have written', async () => {
    const broker = new Broker();
    const store: TransactionStateStore = {
      append: () => {},
      load: () => [{ transactionalId: 'tx', state: 'Ongoing', producerId: 1 } as unknown as TransactionLogEntry],
    };
    await expect(broker.open({ stateStore: store })).rejects.toThrow(CorruptTransactionStateError);
    await expect(broker.open({ stateStore: { append: () => {}, load: () => Promise.reject(new Error('io')) } })).rejects.toThrow(
      TransactionCoordinatorNotAvailableError,
    );
  });
});

describe('transactional id expiration', () => {
  it('forgets an idle id after transactionalIdExpirationMs, writing a tombstone', async () => {
    const broker = new Broker();
    const options = { transactionalIdExpirationMs: 60_000, removeExpiredTransactionalIdsIntervalMs: 10_000 };
    const coordinator = await broker.open(options);
    const old = await initTxn(coordinator, 'old');
    const open = await initTxn(coordinator, 'open', 10_000);
    await coordinator.addPartitionsToTxn({ ...open, partitions: [T0] });
    await broker.clock.advanceSettling(30_000);
    const recent = await initTxn(coordinator, 'recent');
    await broker.clock.advanceSettling(30_000);
    expect(coordinator.describeTransaction('old')).toBeNull();
    expect(broker.store.latest('old')).toEqual({ transactionalId: 'old', state: 'Dead' });
    expect(coordinator.describeTransaction('recent')?.producerId).toBe(recent.producerId);
    // An Ongoing transaction is aborted by its timeout, never expired.
    expect(coordinator.describeTransaction('open')?.state).toBe('CompleteAbort');
    await expectKafkaError(coordinator.addPartitionsToTxn({ ...old, partitions: [T0] }), InvalidProducerIdMappingError, 49);

    const restarted = await broker.restart(options);
    expect(restarted.describeTransaction('old')).toBeNull();
    const reborn = await initTxn(restarted, 'old');
    expect(reborn.producerEpoch).toBe(0);
    expect(reborn.producerId).not.toBe(old.producerId);
  });
});

describe('lifecycle', () => {
  it('clears every timer on close and refuses calls after it', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    broker.writer.failNextMarkerWrites = 1;
    await coordinator.endTxn({ ...producer, committed: true });
    await settle();
    expect(broker.clock.pendingTimers).toBe(3); // abort check, expiration check, marker retry
    coordinator.close();
    coordinator.close();
    expect(broker.clock.pendingTimers).toBe(0);
    await expect(coordinator.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 1000 })).rejects.toThrow(ClosedError);
    expect(() => coordinator.describeTransaction('tx')).toThrow(ClosedError);
  });

  it('validates its options', async () => {
    const broker = new Broker();
    await expect(broker.open({ transactionMaxTimeoutMs: 0 })).rejects.toThrow(InvalidConfigError);
    await expect(broker.open({ markerRetryBackoffMs: 500, markerRetryMaxBackoffMs: 100 })).rejects.toThrow(/markerRetryMaxBackoffMs/);
    await expect(TransactionCoordinator.open({} as TransactionCoordinatorOptions)).rejects.toThrow(/needs options with a stateStore/);
  });
});

describe('verification (KIP-890) and listing', () => {
  it('verifies partitions and groups against the ongoing transaction, fencing other epochs', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const producer = await initTxn(coordinator);
    const verify = (epoch = producer.producerEpoch) => coordinator.verifyInTransaction('tx', producer.producerId, epoch, [T0, T1], ['g']);
    // Idle: nothing belongs to a transaction.
    expect(verify()).toEqual({ partitions: [T0, T1], groupIds: ['g'] });
    await coordinator.addPartitionsToTxn({ ...producer, partitions: [T0] });
    expect(verify()).toEqual({ partitions: [T1], groupIds: ['g'] });
    await coordinator.addOffsetsToTxn({ ...producer, groupId: 'g' });
    expect(verify()).toEqual({ partitions: [T1], groupIds: [] });
    expect(() => verify(producer.producerEpoch + 1)).toThrow(ProducerFencedError);
    expect(() => coordinator.verifyInTransaction('tx', producer.producerId + 1, producer.producerEpoch, [T0])).toThrow(InvalidProducerIdMappingError);
    expect(() => coordinator.verifyInTransaction('other', producer.producerId, producer.producerEpoch, [T0])).toThrow(InvalidProducerIdMappingError);
    broker.writer.hold = true;
    await coordinator.endTxn({ ...producer, committed: true });
    expect(() => verify()).toThrow(ConcurrentTransactionsError);
    broker.writer.hold = false;
    broker.writer.release();
  });

  it('lists transactional ids by state, producer id and running time, naming unknown states', async () => {
    const broker = new Broker();
    const coordinator = await broker.open();
    const open = await initTxn(coordinator, 'open');
    const idle = await initTxn(coordinator, 'idle');
    await coordinator.addPartitionsToTxn({ ...open, partitions: [T0] });
    const ids = (filters: Parameters<TransactionCoordinator['listTransactions']>[0]) =>
      coordinator
        .listTransactions(filters)
        .transactions.map((txn) => `${txn.transactionalId}:${txn.state}`)
        .sort();
    expect(ids({})).toEqual(['idle:Empty', 'open:Ongoing']);
    expect(ids({ states: ['Ongoing'] })).toEqual(['open:Ongoing']);
    expect(ids({ producerIds: [idle.producerId] })).toEqual(['idle:Empty']);
    expect(coordinator.listTransactions({ states: ['Ongoing', 'Bogus'] })).toMatchObject({ unknownStates: ['Bogus'] });
    expect(ids({ states: ['Dead'] })).toEqual([]);
    // Running longer than the filter: the open one started at the clock's now, the idle one never (-1).
    expect(ids({ durationMs: 5_000 })).toEqual(['idle:Empty']);
    await broker.clock.advance(5_001);
    expect(ids({ durationMs: 5_000 })).toEqual(['idle:Empty', 'open:Ongoing']);
    expect(() => coordinator.listTransactions({ durationMs: 1.5 })).toThrow(InvalidRequestError);
  });
});
