/**
 * The consumer against the real broker (shard worker threads, segment files in a temp dir):
 * manual assignment, iteration, run handlers, seek, pause / resume, offsets and resets, the long
 * poll, commits, bad input.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { Consumer, type ConsumerOptions } from '../../src/client/consumer.js';
import type { ConsumedMessage } from '../../src/client/fetcher.js';
import { Producer } from '../../src/client/producer.js';
import { json } from '../../src/client/serializers.js';
import {
  ClosedError,
  InvalidConfigError,
  InvalidOffsetError,
  NoOffsetForPartitionError,
  PartitionNotFoundError,
  TopicNotFoundError,
} from '../../src/errors.js';
import { eventually } from '../support/eventually.js';

let dataDir: string;
let broker: Broker;
let producer: Producer;
let counter = 0;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sluice-consumer-'));
  broker = await Broker.open({
    dataDir,
    shards: 2,
    autoCreateTopicsEnable: false,
    groupInitialRebalanceDelayMs: 0,
    groupMinSessionTimeoutMs: 100,
  });
  producer = new Producer(broker);
});

afterAll(async () => {
  await producer?.close();
  await broker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newTopic(partitions: number, name = `topic-${++counter}`): Promise<string> {
  await broker.createTopic(name, { partitions });
  return name;
}

/** Values "prefix-0".."prefix-(count-1)" to one partition, in batches of `perSend`. */
async function produceValues(topic: string, partition: number, count: number, prefix = 'v', perSend = 100): Promise<void> {
  for (let start = 0; start < count; start += perSend) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + perSend); i++) messages.push({ value: `${prefix}-${i}`, partition });
    await producer.send({ topic, messages });
  }
}

const groupOptions = (groupId: string, extra: ConsumerOptions = {}): ConsumerOptions => ({
  groupId,
  sessionTimeout: 2_000,
  heartbeatInterval: 100,
  maxWaitTimeInMs: 100,
  ...extra,
});

/** Takes `count` messages from an iteration. */
async function take<K, V>(consumer: Consumer<K, V>, count: number): Promise<ConsumedMessage<K, V>[]> {
  const out: ConsumedMessage<K, V>[] = [];
  if (count === 0) return out;
  for await (const message of consumer) {
    out.push(message);
    if (out.length === count) break;
  }
  return out;
}

describe('assign() and iteration', () => {
  it('reads assigned partitions from the given offset, offsets and timestamps as numbers', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 20);
    const consumer = new Consumer(broker);
    consumer.assign([{ topic, partition: 0, offset: 15 }]);
    const messages = await take(consumer, 5);
    expect(messages.map((m) => [m.offset, m.value!.toString()])).toEqual([15, 16, 17, 18, 19].map((o) => [o, `v-${o}`]));
    expect(typeof messages[0].timestamp).toBe('number');
    expect(consumer.assignment()).toEqual([{ topic, partitions: [0] }]);
    await consumer.disconnect();
  });

  it('seeks into the middle of a stored batch and skips the records before the offset', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 10, 'v', 10);
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest' });
    consumer.assign([{ topic, partition: 0 }]);
    consumer.seek({ topic, partition: 0, offset: 7 });
    expect((await take(consumer, 3)).map((m) => m.offset)).toEqual([7, 8, 9]);
    await consumer.disconnect();
  });

  it('starts at the earliest or the latest offset without a committed one, and fails with autoOffsetReset none', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 5);
    const earliest = new Consumer(broker, { autoOffsetReset: 'earliest' });
    earliest.assign([{ topic, partition: 0 }]);
    expect((await take(earliest, 1))[0].offset).toBe(0);
    await earliest.disconnect();

    const latest = new Consumer(broker, { autoOffsetReset: 'latest' });
    latest.assign([{ topic, partition: 0 }]);
    const next = take(latest, 1);
    // The consumer finds its position on its own time: keep writing until it sees a record.
    let received = false;
    void next.then(() => (received = true));
    let late = 0;
    await eventually(
      async () => {
        if (received) return true;
        await produceValues(topic, 0, 1, `late${late++}`);
        return false;
      },
      { what: 'a record written after the consumer started' },
    );
    const [first] = await next;
    expect(first.offset).toBeGreaterThanOrEqual(5);
    expect(first.value!.toString()).toMatch(/^late/);
    await latest.disconnect();

    const none = new Consumer(broker, { autoOffsetReset: 'none', groupId: `none-${counter}` });
    none.assign([{ topic, partition: 0 }]);
    await expect(take(none, 1)).rejects.toBeInstanceOf(NoOffsetForPartitionError);
    await none.disconnect();
  });

  it('moves past an out-of-range position by the reset policy', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 3);
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest' });
    consumer.assign([{ topic, partition: 0, offset: 1_000 }]);
    expect((await take(consumer, 1))[0].offset).toBe(0);
    await consumer.disconnect();
  });

  it('long-polls: a consumer waiting with a long maxWaitTimeInMs gets a new record as soon as it is written', async () => {
    const topic = await newTopic(2);
    // A wait of 10 minutes: only the broker's data notification can end it within the test timeout.
    const consumer = new Consumer(broker, { maxWaitTimeInMs: 600_000 });
    consumer.assign([
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 0 },
    ]);
    const first = take(consumer, 1);
    await eventually(() => broker.parkedWaits(topic, 0) === 1 && broker.parkedWaits(topic, 1) === 1, { what: 'the poll parked on both partitions' });
    await producer.send({ topic, messages: [{ value: 'wake', partition: 1 }] });
    const [message] = await first;
    expect([message.partition, message.value!.toString()]).toEqual([1, 'wake']);
    await consumer.disconnect();
  }, 20_000);
  it('long-polls poll after poll at the head of the log, and a seek, a pause or a resume still cuts a parked poll short', async () => {
    const topic = await newTopic(2);
    // Every wait below could last 10 minutes: only new data or the consumer's own wake-up ends it.
    const consumer = new Consumer(broker, { maxWaitTimeInMs: 600_000 });
    consumer.assign([
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 0 },
    ]);
    const seen: string[] = [];
    await consumer.run({ eachMessage: ({ partition, message }) => void seen.push(`${partition}:${message.value!.toString()}`) });
    // One record at a time: each poll parks on both partitions and is ended by one of them.
    for (let i = 0; i < 12; i++) {
      await producer.send({ topic, messages: [{ value: `r${i}`, partition: i % 2 }] });
      await eventually(() => seen.length === i + 1);
    }
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `${i % 2}:r${i}`));
    // A seek while parked: the poll ends and partition 0 is read again from offset 4.
    consumer.seek({ topic, partition: 0, offset: 4 });
    await eventually(() => seen.length === 14);
    expect(seen.slice(12)).toEqual(['0:r8', '0:r10']);
    // Everything paused: the poll has no partition to wait on, and resume() must end that wait too.
    consumer.pause([{ topic }]);
    await producer.send({ topic, messages: [{ value: 'while-paused', partition: 1 }] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toHaveLength(14);
    consumer.resume([{ topic }]);
    await eventually(() => seen.length === 15);
    expect(seen[14]).toBe('1:while-paused');
    await consumer.disconnect();
  }, 20_000);

  it('long-polls more than ten partitions at once without an event-listener leak warning', async () => {
    const topic = await newTopic(12);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const consumer = new Consumer(broker, { maxWaitTimeInMs: 600_000 });
      consumer.assign(Array.from({ length: 12 }, (_, partition) => ({ topic, partition, offset: 0 })));
      const seen: number[] = [];
      await consumer.run({ eachMessage: ({ partition }) => void seen.push(partition) });
      for (let partition = 0; partition < 12; partition++) {
        await producer.send({ topic, messages: [{ value: 'x', partition }] });
        await eventually(() => seen.length === partition + 1);
      }
      expect(seen).toEqual(Array.from({ length: 12 }, (_, partition) => partition));
      await consumer.disconnect();
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
  }, 20_000);

  it('waits for minBytes before handing records out', async () => {
    const topic = await newTopic(1);
    const consumer = new Consumer(broker, { minBytes: 2_000, maxWaitTimeInMs: 600_000 });
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const batchSizes: number[] = [];
    await consumer.run({ eachBatch: ({ batch }) => void batchSizes.push(batch.messages.length) });
    const send = (from: number) =>
      producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: Buffer.alloc(100, from + i) })) });
    // About 1.2 KB: below minBytes, so the consumer keeps waiting.
    await send(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(batchSizes).toEqual([]);
    await send(10);
    await eventually(() => batchSizes.length > 0);
    expect(batchSizes[0]).toBe(20);
    await consumer.disconnect();
  }, 20_000);
});

describe('run()', () => {
  it('eachMessage sees every record of every assigned partition in offset order per partition', async () => {
    const topic = await newTopic(3);
    for (let p = 0; p < 3; p++) await produceValues(topic, p, 300, `p${p}`);
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest' });
    consumer.assign([0, 1, 2].map((partition) => ({ topic, partition })));
    const seen = new Map<number, number[]>();
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const list = seen.get(partition) ?? [];
        list.push(message.offset);
        seen.set(partition, list);
      },
    });
    await eventually(() => [0, 1, 2].every((p) => (seen.get(p)?.length ?? 0) === 300));
    for (const list of seen.values()) expect(list).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await consumer.disconnect();
  });

  it('eachBatch gets at most maxBytesPerPartition of fetched data per partition and resolves offsets', async () => {
    const topic = await newTopic(1);
    // Stored batches of about 5 records of ~110 bytes.
    const small = new Producer(broker, { batchSize: 600 });
    for (let i = 0; i < 100; i += 5) {
      await small.send({ topic, messages: Array.from({ length: 5 }, (_, k) => ({ value: Buffer.alloc(100, i + k) })) });
    }
    await small.close();
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest', maxBytesPerPartition: 1_300, groupId: `batch-${counter}` });
    consumer.assign([{ topic, partition: 0 }]);
    const sizes: number[] = [];
    const offsets: number[] = [];
    await consumer.run({
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        expect(isStale()).toBe(false);
        sizes.push(batch.messages.length);
        for (const message of batch.messages) {
          offsets.push(message.offset);
          resolveOffset(message.offset);
        }
        expect(batch.lastOffset()).toBe(offsets[offsets.length - 1]);
      },
    });
    await eventually(() => offsets.length === 100);
    expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Two 600-byte batches fit in 1300 bytes, three do not.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    await consumer.disconnect();
  });

  it('pause() stops a partition, also in the middle of a fetched batch, and resume() picks up where it stopped', async () => {
    const topic = await newTopic(2);
    await produceValues(topic, 0, 50, 'a', 50);
    await produceValues(topic, 1, 50, 'b', 50);
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest' });
    consumer.assign([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    const seen: string[] = [];
    await consumer.run({
      eachMessage: ({ partition, message, pause }) => {
        seen.push(`${partition}:${message.offset}`);
        if (partition === 0 && message.offset === 9) pause();
      },
    });
    await eventually(() => seen.filter((s) => s.startsWith('1:')).length === 50);
    expect(seen.filter((s) => s.startsWith('0:'))).toEqual(Array.from({ length: 10 }, (_, i) => `0:${i}`));
    expect(consumer.paused()).toEqual([{ topic, partitions: [0] }]);
    consumer.resume([{ topic }]);
    await eventually(() => seen.filter((s) => s.startsWith('0:')).length === 50);
    expect(seen.filter((s) => s.startsWith('0:'))).toEqual(Array.from({ length: 50 }, (_, i) => `0:${i}`));
    await consumer.disconnect();
  });

  it('a manually assigned consumer keeps its assignment and positions across stop() and run()', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 30);
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest' });
    consumer.assign([{ topic, partition: 0 }]);
    const seen: number[] = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 9) void consumer.stop();
      },
    });
    await eventually(() => seen.length === 10);
    await consumer.stop();
    await consumer.run({ eachMessage: ({ message }) => void seen.push(message.offset) });
    await eventually(() => seen.length === 30);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await consumer.disconnect();
  });

  it('stop() called from a handler stops the consumer once the handler returns, committing what was processed', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 50);
    const groupId = `stop-inside-${counter}`;
    const consumer = new Consumer(broker, groupOptions(groupId));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const stopped = new Promise<void>((resolve) => consumer.on(consumer.events.STOP, () => resolve()));
    const seen: number[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
        if (message.offset === 19) await consumer.stop();
      },
    });
    await stopped;
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const [committed] = await broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
    expect(committed.offset).toBe(20);
    await consumer.disconnect();
  });

  it('disconnect() from outside waits for the handler and commits its message, also right after the handler signalled', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 30);
    const groupId = `outside-stop-${counter}`;
    const consumer = new Consumer(broker, groupOptions(groupId));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // The caller resumes (microtask) before the consumer sees the handler's promise settle.
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.offset === 29) resolve();
        },
      });
    });
    await consumer.disconnect();
    const [committed] = await broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
    expect(committed.offset).toBe(30);
  });

  it('partitionsConsumedConcurrently hands several partitions to handlers at once', async () => {
    const topic = await newTopic(3);
    for (let p = 0; p < 3; p++) await produceValues(topic, p, 1, `p${p}`);
    const consumer = new Consumer(broker, { autoOffsetReset: 'earliest' });
    consumer.assign([0, 1, 2].map((partition) => ({ topic, partition })));
    // Each handler waits until all three run at the same time: one at a time would never finish.
    let arrived = 0;
    let releaseAll!: () => void;
    const allArrived = new Promise<void>((resolve) => (releaseAll = resolve));
    let finished = 0;
    const partitions: number[] = [];
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachMessage: async ({ partition }) => {
        partitions.push(partition);
        if (++arrived === 3) releaseAll();
        await allArrived;
        finished++;
      },
    });
    await eventually(() => finished === 3, { what: 'three handlers running at once' });
    expect(partitions.sort()).toEqual([0, 1, 2]);
    await consumer.disconnect();
  });

  it('a handler that keeps throwing stops the consumer once its retries run out; the failed record is read again after a restart', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 10);
    const groupId = `crash-${counter}`;
    const first = new Consumer(broker, { ...groupOptions(groupId), retry: { initialRetryTime: 5, retries: 1, restartOnFailure: async () => false } });
    await first.subscribe({ topics: [topic], fromBeginning: true });
    const crashed = new Promise<{ error: Error; restart: boolean }>((resolve) =>
      first.on(first.events.CRASH, (event: { payload: { error: Error; restart: boolean } }) => resolve(event.payload)),
    );
    await first.run({
      eachMessage: ({ message }) => {
        if (message.offset === 4) throw new Error('bad record');
      },
    });
    const { error, restart } = await crashed;
    expect(restart).toBe(false);
    expect((error.cause as Error).message).toBe('bad record');
    const [committed] = await broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
    expect(committed.offset).toBe(4);
    await first.disconnect();

    const second = new Consumer(broker, groupOptions(groupId));
    await second.subscribe({ topics: [topic] });
    expect((await take(second, 1))[0].offset).toBe(4);
    await second.disconnect();
  });
});

describe('offsets and groups', () => {
  it('a group resumes from its committed offsets; iteration counts a message processed once the next is asked for', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 30);
    const groupId = `resume-${counter}`;
    const first = new Consumer(broker, groupOptions(groupId));
    await first.subscribe({ topics: [topic], fromBeginning: true });
    expect((await take(first, 10)).map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await first.disconnect();
    // Offsets 0-8 were processed; the loop broke while holding 9, so 9 is read again.
    const [committed] = await broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
    expect(committed.offset).toBe(9);

    const second = new Consumer(broker, groupOptions(groupId));
    await second.subscribe({ topics: [topic], fromBeginning: true });
    expect((await take(second, 21)).map((m) => m.offset)).toEqual(Array.from({ length: 21 }, (_, i) => i + 9));
    await second.disconnect();
  });

  it('auto-commits once autoCommitThreshold messages are processed, and commits by hand without a group member', async () => {
    const topic = await newTopic(1);
    await produceValues(topic, 0, 40);
    const groupId = `threshold-${counter}`;
    const consumer = new Consumer(broker, groupOptions(groupId));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let processed = 0;
    await consumer.run({ autoCommitInterval: 3_600_000, autoCommitThreshold: 40, eachMessage: () => void processed++ });
    const committedOffset = async (): Promise<number> =>
      (await broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] }))[0].offset;
    await eventually(() => processed === 40);
    await eventually(async () => (await committedOffset()) === 40, { what: 'the commit at the threshold' });
    await consumer.disconnect();

    const standalone = new Consumer(broker, { groupId: `standalone-${counter}` });
    standalone.assign([{ topic, partition: 0 }]);
    await standalone.commitOffsets([{ topic, partition: 0, offset: 17 }]);
    const [stored] = await broker.groups.fetchOffsets({ groupId: `standalone-${counter}`, partitions: [{ topic, partition: 0 }] });
    expect(stored.offset).toBe(17);
    const reader = new Consumer(broker, { groupId: `standalone-${counter}` });
    reader.assign([{ topic, partition: 0 }]);
    expect((await take(reader, 1))[0].offset).toBe(17);
    await Promise.all([standalone.disconnect(), reader.disconnect()]);
  });

  it('subscribes by regular expression and deserializes values', async () => {
    const a = await newTopic(1, `re-a-${counter}`);
    const b = await newTopic(1, `re-b-${counter}`);
    await newTopic(1, `other-${counter}`);
    const jsonProducer = new Producer<string, { from: string }>(broker, { valueSerializer: json() });
    await jsonProducer.send({ topic: a, messages: [{ value: { from: 'a' } }] });
    await jsonProducer.send({ topic: b, messages: [{ value: { from: 'b' } }] });
    await jsonProducer.send({ topic: `other-${counter}`, messages: [{ value: { from: 'other' } }] });
    await jsonProducer.close();
    const consumer = new Consumer<Buffer, { from: string }>(broker, { ...groupOptions(`regex-${counter}`), valueDeserializer: json() });
    await consumer.subscribe({ topics: [new RegExp(`^re-[ab]-${counter}$`)], fromBeginning: true });
    const values = (await take(consumer, 2)).map((m) => m.value!.from).sort();
    expect(values).toEqual(['a', 'b']);
    expect(consumer.assignment().map((entry) => entry.topic)).toEqual([a, b]);
    await consumer.disconnect();
  });
});

describe('consumer input checks', () => {
  it('rejects bad input with typed errors and the broker keeps serving', async () => {
    const topic = await newTopic(2);
    const consumer = new Consumer(broker, { groupId: `bad-${counter}` });
    expect(() => consumer.assign([{ topic: 'no-such-topic', partition: 0 }])).toThrow(TopicNotFoundError);
    expect(() => consumer.assign([{ topic, partition: 2 }])).toThrow(PartitionNotFoundError);
    expect(() => consumer.assign([{ topic, partition: 0, offset: -1 }])).toThrow(InvalidOffsetError);
    expect(() => consumer.seek({ topic, partition: 0, offset: -2 })).toThrow(InvalidOffsetError);
    expect(() => consumer.seek({ topic, partition: 0, offset: 1.5 })).toThrow(InvalidOffsetError);
    await expect(consumer.commitOffsets([{ topic, partition: 0, offset: -1 }])).rejects.toBeInstanceOf(InvalidOffsetError);
    await expect(consumer.commitOffsets([{ topic, partition: 5, offset: 1 }])).rejects.toBeInstanceOf(PartitionNotFoundError);
    await expect(consumer.run({ eachMessage: () => undefined })).rejects.toBeInstanceOf(InvalidConfigError);
    consumer.assign([{ topic, partition: 0 }]);
    await expect(consumer.subscribe({ topics: [topic] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(consumer.run({} as never)).rejects.toBeInstanceOf(InvalidConfigError);
    await consumer.run({ eachMessage: () => undefined });
    await expect(consumer.run({ eachMessage: () => undefined })).rejects.toBeInstanceOf(InvalidConfigError);
    await consumer.disconnect();
    await expect(consumer.subscribe({ topics: [topic] })).rejects.toBeInstanceOf(ClosedError);
    expect(() => consumer.seek({ topic, partition: 0, offset: 0 })).toThrow(ClosedError);
    await expect(consumer.run({ eachMessage: () => undefined })).rejects.toBeInstanceOf(ClosedError);
    await expect(consumer.commitOffsets([])).rejects.toBeInstanceOf(ClosedError);

    const groupless = new Consumer(broker);
    await expect(groupless.subscribe({ topics: [topic] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(groupless.commitOffsets([{ topic, partition: 0, offset: 0 }])).rejects.toBeInstanceOf(InvalidConfigError);

    const invalidOptions: ConsumerOptions[] = [
      { groupId: '' },
      { autoOffsetReset: 'smallest' as never },
      { maxBytes: 0 },
      { sessionTimeout: 1_000, heartbeatInterval: 1_000 },
      { assignors: ['sticky-ish'] },
      { isolationLevel: 'committed' as never },
      { valueDeserializer: {} as never },
      { groupID: 'misspelt' } as never,
    ];
    for (const options of invalidOptions) expect(() => new Consumer(broker, options)).toThrow(InvalidConfigError);

    // The broker still serves.
    await producer.send({ topic, messages: [{ value: 'still here', partition: 1 }] });
    const reader = new Consumer(broker, { autoOffsetReset: 'earliest' });
    reader.assign([{ topic, partition: 1 }]);
    expect((await take(reader, 1))[0].value!.toString()).toBe('still here');
    await reader.disconnect();
  });
});
