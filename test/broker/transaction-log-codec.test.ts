import { describe, expect, it } from 'vitest';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
} from '../../src/broker/transaction-log-codec.js';
import type { TransactionStateRecord } from '../../src/broker/transaction-state.js';
import { CorruptTransactionStateError, InvalidRecordError } from '../../src/errors.js';

function ongoing(overrides: Partial<TransactionStateRecord> = {}): TransactionStateRecord {
  return {
    transactionalId: 'orders-tx',
    producerId: 2 ** 40 + 7,
    lastProducerId: 2 ** 40 + 7,
    producerEpoch: 5,
    lastProducerEpoch: 4,
    transactionTimeoutMs: 60_000,
    state: 'Ongoing',
    partitions: [
      { topic: 'orders', partition: 0 },
      { topic: 'payments', partition: 3 },
      { topic: 'orders', partition: 2 },
    ],
    groupIds: ['billing', 'ünïcode-group'],
    txnLastUpdateTimestampMs: 1_700_000_000_123,
    txnStartTimestampMs: 1_700_000_000_000,
    ...overrides,
  };
}

/** Byte position of the state id in a version-0 value. */
const STATE_POS = 1 + 8 + 8 + 2 + 2 + 4;

function sorted(record: TransactionStateRecord): TransactionStateRecord {
  return {
    ...record,
    partitions: [...record.partitions].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
  };
}

describe('transaction log key', () => {
  it('round-trips a transactional id, UTF-8 included', () => {
    for (const id of ['t', 'orders-tx', 'ключ-транзакции', 'x'.repeat(32_767)]) {
      expect(decodeTransactionLogKey(encodeTransactionLogKey(id))).toBe(id);
    }
  });

  it('refuses ids Kafka cannot carry', () => {
    expect(() => encodeTransactionLogKey('')).toThrow(InvalidRecordError);
    expect(() => encodeTransactionLogKey('x'.repeat(32_768))).toThrow(/longer than 32767 bytes/);
  });

  it('rejects an unknown version, truncation, trailing bytes and invalid UTF-8', () => {
    const key = encodeTransactionLogKey('orders-tx');
    const newer = Buffer.from(key);
    newer[0] = 1;
    expect(() => decodeTransactionLogKey(newer)).toThrow(/version 1 is unknown/);
    expect(() => decodeTransactionLogKey(key.subarray(0, key.length - 1))).toThrow(/truncated/);
    expect(() => decodeTransactionLogKey(Buffer.concat([key, Buffer.from([0])]))).toThrow(/1 bytes follow the last field/);
    const badUtf8 = Buffer.from([0, 0, 2, 0xc3, 0x28]);
    expect(() => decodeTransactionLogKey(badUtf8)).toThrow(/not valid UTF-8/);
    expect(() => decodeTransactionLogKey(Buffer.from([0, 0, 0]))).toThrow(CorruptTransactionStateError);
  });
});

describe('transaction log value', () => {
  it('round-trips a record in every state a record holds', () => {
    const records: TransactionStateRecord[] = [
      ongoing(),
      ongoing({ state: 'PrepareCommit' }),
      ongoing({ state: 'PrepareAbort', producerEpoch: 32_767, lastProducerEpoch: -1 }),
      ongoing({ state: 'Ongoing', partitions: [], groupIds: ['only-offsets'] }),
      ongoing({ state: 'Empty', partitions: [], groupIds: [], txnStartTimestampMs: -1, lastProducerId: 12 }),
      ongoing({ state: 'CompleteCommit', partitions: [], groupIds: [] }),
      ongoing({ state: 'CompleteAbort', partitions: [], groupIds: [], producerId: 0, lastProducerId: -1 }),
    ];
    for (const record of records) {
      const value = encodeTransactionLogValue(record)!;
      const decoded = decodeTransactionLogValue(record.transactionalId, value);
      expect(sorted(decoded as TransactionStateRecord)).toEqual(sorted(record));
    }
  });

  it('groups partitions by topic on disk', () => {
    const spread = encodeTransactionLogValue(ongoing())!;
    const oneTopic = encodeTransactionLogValue(
      ongoing({ partitions: [0, 1, 2].map((partition) => ({ topic: 'orders', partition })) }),
    )!;
    // Both hold three partitions; naming the topic once instead of twice saves "payments" + its length.
    expect(spread.length - oneTopic.length).toBe(2 + 'payments'.length + 4);
  });

  it('writes a tombstone (null value) for a Dead entry and reads one back', () => {
    expect(encodeTransactionLogValue({ transactionalId: 'gone', state: 'Dead' })).toBeNull();
    expect(decodeTransactionLogValue('gone', null)).toEqual({ transactionalId: 'gone', state: 'Dead' });
  });

  it('refuses to encode a record the coordinator could not have written', () => {
    const bad: Partial<TransactionStateRecord>[] = [
      { producerId: -1 },
      { producerEpoch: 32_768 },
      { lastProducerEpoch: -2 },
      { transactionTimeoutMs: 0 },
      { partitions: [], groupIds: [] }, // Ongoing with nothing in it
      { state: 'CompleteCommit' }, // complete but still holding partitions
      { txnStartTimestampMs: -1 }, // Ongoing without a start
      { partitions: [{ topic: 'a', partition: 1 }, { topic: 'a', partition: 1 }] },
      { groupIds: ['g', 'g'] },
      { partitions: [{ topic: '', partition: 0 }] },
      { partitions: [{ topic: 'a', partition: -1 }] },
    ];
    for (const overrides of bad) {
      expect(() => encodeTransactionLogValue(ongoing(overrides)), JSON.stringify(overrides)).toThrow(InvalidRecordError);
    }
  });

  it('rejects a value cut short at every byte', () => {
    const value = encodeTransactionLogValue(ongoing())!;
    for (let length = 0; length < value.length; length++) {
      expect(() => decodeTransactionLogValue('orders-tx', value.subarray(0, length)), `length ${length}`).toThrow(
        CorruptTransactionStateError,
      );
    }
  });

  it('rejects trailing bytes, an unknown version and impossible fields, naming the field and byte', () => {
    const value = encodeTransactionLogValue(ongoing())!;
    expect(() => decodeTransactionLogValue('orders-tx', Buffer.concat([value, Buffer.alloc(3)]))).toThrow(
      `at byte ${value.length}: 3 bytes follow the last field`,
    );

    const newer = Buffer.from(value);
    newer[0] = 9;
    expect(() => decodeTransactionLogValue('orders-tx', newer)).toThrow(/at byte 0: version 9 is unknown/);

    const deadState = Buffer.from(value);
    deadState[STATE_POS] = 6; // Dead lives only as a tombstone
    expect(() => decodeTransactionLogValue('orders-tx', deadState)).toThrow(`at byte ${STATE_POS}: state id 6`);

    const negativeId = Buffer.from(value);
    negativeId.writeInt32BE(-1, 1);
    negativeId.writeInt32BE(-5, 5);
    expect(() => decodeTransactionLogValue('orders-tx', negativeId)).toThrow(/producerId -5 is not a producer id/);

    const hugeId = Buffer.from(value);
    hugeId.writeInt32BE(0x7fff_ffff, 1);
    expect(() => decodeTransactionLogValue('orders-tx', hugeId)).toThrow(/at byte 1: producerId is outside the safe integer range/);

    const badEpoch = Buffer.from(value);
    badEpoch.writeInt16BE(-3, 17);
    expect(() => decodeTransactionLogValue('orders-tx', badEpoch)).toThrow(/producerEpoch -3 is outside/);

    const completeWithPartitions = Buffer.from(value);
    completeWithPartitions[STATE_POS] = 4;
    expect(() => decodeTransactionLogValue('orders-tx', completeWithPartitions)).toThrow(
      /state CompleteCommit cannot hold partitions or groups/,
    );
  });

  it('rejects counts that cannot fit and a topic listed twice', () => {
    const record = ongoing({ partitions: [{ topic: 't', partition: 0 }], groupIds: [] });
    const value = encodeTransactionLogValue(record)!;
    const topicCountPos = STATE_POS + 1 + 8 + 8;
    const hugeCount = Buffer.from(value);
    hugeCount.writeInt32BE(1_000_000, topicCountPos);
    expect(() => decodeTransactionLogValue('orders-tx', hugeCount)).toThrow(/topicCount 1000000 cannot fit/);
    const negativeCount = Buffer.from(value);
    negativeCount.writeInt32BE(-1, topicCountPos);
    expect(() => decodeTransactionLogValue('orders-tx', negativeCount)).toThrow(/topicCount -1 cannot fit/);

    // The same topic written twice with the same partition: a duplicate the encoder never makes.
    const topicEntry = value.subarray(topicCountPos + 4, value.length - 4);
    const twice = Buffer.concat([value.subarray(0, topicCountPos), Buffer.from([0, 0, 0, 2]), topicEntry, topicEntry, Buffer.alloc(4)]);
    expect(() => decodeTransactionLogValue('orders-tx', twice)).toThrow(/partition t-0 appears twice/);
  });
});
