/**
 * The accumulator on its own, against its one seam (the function that hands a batch to the
 * broker): here a stand-in that keeps every batch until the test acknowledges it, so that the
 * rules that depend on when the broker answers (in-flight limit, buffer memory, order) can be
 * driven step by step. The batches it receives are decoded with the real decoder. The producer
 * tests run the same accumulator against the real broker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Acks, ProduceResult } from '../../src/broker/broker-api.js';
import { RecordAccumulator, type AccumulatorOptions } from '../../src/client/accumulator.js';
import { BufferExhaustedError, ClosedError } from '../../src/errors.js';
import { BATCH_HEADER_BYTES } from '../../src/protocol/batch-header.js';
import { decodeRecordBatch } from '../../src/protocol/record-batch.js';

interface HeldBatch {
  topic: string;
  partition: number;
  bytes: Buffer;
  acks: Acks;
  resolve(result: ProduceResult): void;
  reject(error: Error): void;
}

/** Keeps each batch (a copy: the accumulator reuses its memory once a batch settles) until acked. */
class HeldBroker {
  readonly held: HeldBatch[] = [];
  readonly sent: HeldBatch[] = [];
  private nextOffset = new Map<string, number>();

  readonly produce = (topic: string, partition: number, batch: Buffer, acks: Acks): Promise<ProduceResult> =>
    new Promise<ProduceResult>((resolve, reject) => {
      const entry = { topic, partition, bytes: Buffer.from(batch), acks, resolve, reject };
      this.held.push(entry);
      this.sent.push(entry);
    });

  /** Acknowledges the oldest held batch, assigning offsets as a log would. */
  ackNext(): HeldBatch {
    const entry = this.held.shift();
    if (entry === undefined) throw new Error('no batch is waiting for an acknowledgement');
    const key = `${entry.topic}-${entry.partition}`;
    const baseOffset = this.nextOffset.get(key) ?? 0;
    const count = decodeRecordBatch(entry.bytes).records.length;
    this.nextOffset.set(key, baseOffset + count);
    entry.resolve({
      topic: entry.topic,
      partition: entry.partition,
      baseOffset,
      lastOffset: baseOffset + count - 1,
      logAppendTimeMs: -1,
      logStartOffset: 0,
    });
    return entry;
  }

  async ackAll(): Promise<void> {
    while (this.held.length > 0) {
      this.ackNext();
      await settle();
    }
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function options(overrides: Partial<AccumulatorOptions> = {}): AccumulatorOptions {
  return { batchSize: 16_384, lingerMs: 0, bufferMemory: 1 << 20, maxBlockMs: 60_000, maxInFlightRequests: 5, ...overrides };
}

const value100 = Buffer.alloc(100, 0x61);

/** Appends a record that must fit in the buffer now. */
function append(acc: RecordAccumulator, partition: number, value: Buffer = value100, acks: Acks = -1, compression: 'none' | 'gzip' = 'none') {
  const batch = acc.tryAppend('t', partition, null, value, null, 1_700_000_000_000, acks, compression, false);
  if (batch === null) throw new Error(`no room for ${acc.neededBytes} bytes`);
  return batch;
}

/** Appends for the waiter that was just woken. */
function appendHoldingTurn(acc: RecordAccumulator, partition: number): void {
  if (acc.tryAppend('t', partition, null, value100, null, 1_700_000_000_000, -1, 'none', true) === null) {
    throw new Error(`no room for ${acc.neededBytes} bytes after the wait`);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('RecordAccumulator batching', () => {
  it('closes a batch when the next record would pass batchSize, and sends full batches at once', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options({ batchSize: 1_000 }), broker.produce);
    for (let i = 0; i < 25; i++) append(acc, 0);
    // Each record takes 109 bytes: 8 fit in 1000 bytes with the 61-byte header. The 9th, 17th
    // and 25th records each closed a full batch, sent without waiting for the linger.
    expect(broker.sent.map(({ bytes }) => bytes.length)).toEqual([1, 2, 3].map(() => BATCH_HEADER_BYTES + 8 * 109));
    await settle();
    expect(broker.sent.map(({ bytes }) => decodeRecordBatch(bytes).records.length)).toEqual([8, 8, 8, 1]);
  });

  it('gives a record larger than batchSize a batch of its own', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options({ batchSize: 500 }), broker.produce);
    append(acc, 0, Buffer.alloc(10));
    append(acc, 0, Buffer.alloc(2_000));
    append(acc, 0, Buffer.alloc(10));
    await settle();
    await broker.ackAll();
    expect(broker.sent.map(({ bytes }) => decodeRecordBatch(bytes).records.map((r) => r.value!.length))).toEqual([[10], [2_000], [10]]);
  });

  it('with lingerMs 0 sends what one tick appended as one batch, as a microtask, before the event loop turns', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options(), broker.produce);
    for (let i = 0; i < 10; i++) append(acc, 0);
    expect(broker.sent).toHaveLength(0);
    // Queued after the accumulator's check: it runs once the batch is sent, with no timer or I/O phase between.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(broker.sent).toHaveLength(1);
    expect(decodeRecordBatch(broker.sent[0].bytes).records).toHaveLength(10);
    expect(acc.lastOffsetDelta).toBe(9);
  });

  it('holds a batch for lingerMs after its first record, then sends it', async () => {
    vi.useFakeTimers();
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options({ lingerMs: 50 }), broker.produce);
    append(acc, 0);
    await vi.advanceTimersByTimeAsync(30);
    append(acc, 0);
    await vi.advanceTimersByTimeAsync(19);
    expect(broker.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(broker.sent).toHaveLength(1);
    expect(decodeRecordBatch(broker.sent[0].bytes).records).toHaveLength(2);
  });

  it('closes the open batch when acks or compression change', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options(), broker.produce);
    append(acc, 0, value100, -1);
    append(acc, 0, value100, 1);
    append(acc, 0, value100, 1, 'gzip');
    await settle();
    expect(broker.sent.map(({ acks }) => acks)).toEqual([-1, 1, 1]);
    expect(broker.sent.map(({ bytes }) => decodeRecordBatch(bytes).compression)).toEqual(['none', 'none', 'gzip']);
  });
});

describe('RecordAccumulator in-flight limit', () => {
  it('keeps at most maxInFlightRequests batches per partition at the broker, in order, and keeps filling meanwhile', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options({ maxInFlightRequests: 1 }), broker.produce);
    append(acc, 0, Buffer.from('a'));
    await settle();
    expect(broker.held).toHaveLength(1);
    // The slot is taken: later records gather in one batch however many ticks pass.
    append(acc, 0, Buffer.from('b'));
    await settle();
    append(acc, 0, Buffer.from('c'));
    await settle();
    // Another partition has its own slots.
    append(acc, 1, Buffer.from('x'));
    await settle();
    expect(broker.held.map(({ partition }) => partition)).toEqual([0, 1]);
    broker.ackNext();
    await settle();
    expect(broker.held.map(({ partition }) => partition)).toEqual([1, 0]);
    await broker.ackAll();
    const partition0 = broker.sent.filter(({ partition }) => partition === 0);
    expect(partition0.map(({ bytes }) => decodeRecordBatch(bytes).records.map((r) => r.value!.toString()))).toEqual([['a'], ['b', 'c']]);
  });
});

describe('RecordAccumulator buffer memory', () => {
  it('counts appended bytes until the broker settles their batch', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options(), broker.produce);
    append(acc, 0);
    const pending = acc.stats().pendingBytes;
    // The value, 9 bytes of record framing, the batch header.
    expect(pending).toBe(BATCH_HEADER_BYTES + 109);
    await settle();
    expect(acc.stats().pendingBytes).toBe(pending);
    await broker.ackAll();
    expect(acc.stats()).toMatchObject({ pendingBytes: 0, maxPendingBytes: pending, batchesSent: 1, recordsSent: 1 });
  });

  it('makes a sender wait for room, first come first served, and sends lingering batches to free it', async () => {
    const broker = new HeldBroker();
    const bufferMemory = 1_000;
    const acc = new RecordAccumulator(options({ bufferMemory, lingerMs: 60_000, batchSize: 1_000 }), broker.produce);
    for (let i = 0; i < 8; i++) append(acc, 0);
    // A ninth record needs a batch of its own (header included), which the buffer cannot hold.
    expect(acc.tryAppend('t', 0, null, value100, null, 1_700_000_000_000, -1, 'none', false)).toBeNull();
    const size = acc.neededBytes;
    expect(size).toBe(BATCH_HEADER_BYTES + 109);
    const order: string[] = [];
    const first = acc.waitForRoom(size).then(() => {
      order.push('first');
      appendHoldingTurn(acc, 0);
    });
    const second = acc.waitForRoom(size).then(() => {
      order.push('second');
      appendHoldingTurn(acc, 0);
    });
    // Waiting made the lingering batch due: it went to the broker without waiting out its 60 s.
    await settle();
    expect(broker.held).toHaveLength(1);
    expect(order).toEqual([]);
    broker.ackNext();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(acc.stats().maxPendingBytes).toBeLessThanOrEqual(bufferMemory);
    const closing = acc.close();
    await settle();
    await broker.ackAll();
    await closing;
  });

  it('fails a sender with BufferExhaustedError after maxBlockMs', async () => {
    vi.useFakeTimers();
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options({ bufferMemory: 500, batchSize: 500, maxBlockMs: 100 }), broker.produce);
    for (let i = 0; i < 3; i++) append(acc, 0);
    const waiting = acc.waitForRoom(400);
    const outcome = waiting.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(BufferExhaustedError);
    expect((error as BufferExhaustedError).message).toContain('maxBlockMs');
  });

  it('flush() sends lingering batches and waits for them; close() refuses further appends', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options({ lingerMs: 60_000 }), broker.produce);
    append(acc, 0);
    let flushed = false;
    const flushing = acc.flush().then(() => {
      flushed = true;
    });
    await settle();
    expect(broker.held).toHaveLength(1);
    expect(flushed).toBe(false);
    broker.ackNext();
    await flushing;
    const closing = acc.close();
    await expect(acc.waitForRoom(10)).rejects.toBeInstanceOf(ClosedError);
    expect(() => append(acc, 0)).toThrow(ClosedError);
    await closing;
  });

  it('rejects the senders of a batch the broker refuses, and frees its memory', async () => {
    const broker = new HeldBroker();
    const acc = new RecordAccumulator(options(), broker.produce);
    const batch = append(acc, 0);
    await settle();
    broker.held.shift()!.reject(new Error('disk full'));
    await expect(batch.result).rejects.toThrow('disk full');
    expect(acc.stats().pendingBytes).toBe(0);
  });
});
