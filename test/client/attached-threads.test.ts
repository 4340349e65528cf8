/**
 * Producers on worker threads attached to a broker another thread opened (Sluice.handle /
 * Sluice.attach): real worker threads and piscina tasks appending over their own shard rings,
 * real shard threads and segment files. What they wrote is read back from the log.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sluice, type SluiceHandle } from '../../src/index.js';
import { AttachedThreadsExhaustedError, InvalidConfigError } from '../../src/errors.js';
import { decodeRecordBatches } from '../../src/protocol/record-batch.js';
import { eventually, within } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

const FIXTURE = new URL('../fixtures/attached-thread.mjs', import.meta.url);
const PISCINA_TASK = new URL('../fixtures/attached-piscina-task.mjs', import.meta.url);

let dataDir: string;
let sluice: Sluice | null = null;
const workers: Worker[] = [];

beforeEach(() => {
  dataDir = makeTempDir('attached');
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
  await sluice?.close();
  sluice = null;
  removeTempDir(dataDir);
});

async function open(options: Record<string, unknown> = {}): Promise<Sluice> {
  sluice = await Sluice.open({ dataDir, shards: 2, ...options });
  return sluice;
}

/** Starts the fixture on a worker thread with a fresh handle; resolves with its first message. */
function startWorker(handle: SluiceHandle, data: Record<string, unknown>): { worker: Worker; first: Promise<unknown> } {
  const worker = new Worker(FIXTURE, { workerData: { handle, ...data }, transferList: [handle.port] });
  workers.push(worker);
  const first = new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, first };
}

interface SendAck {
  start: number;
  end: number;
  /** [partition, baseOffset] per partition the send touched. */
  results: [number, number][];
}

interface Stored {
  partition: number;
  offset: number;
}

/** Every record of the topic: value -> where it is stored; and each partition's values in offset order. */
function readTopic(topic: string, partitions: number): { where: Map<string, Stored>; inOrder: string[][]; total: number } {
  const where = new Map<string, Stored>();
  const inOrder: string[][] = [];
  let total = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const values: string[] = [];
    let offset = 0;
    for (;;) {
      const result = sluice!.broker.fetch(topic, partition, offset, 1 << 20, 'read_uncommitted');
      if (result.records.length === 0) break;
      for (const batch of decodeRecordBatches(result.records)) {
        batch.records.forEach((record, index) => {
          const value = record.value!.toString();
          values.push(value);
          where.set(value, { partition, offset: batch.baseOffset + index });
          total++;
        });
      }
      offset = result.nextOffset;
    }
    inOrder.push(values);
  }
  return { where, inOrder, total };
}

/**
 * Every record of every thread once; each thread's records of one partition in the order it sent
 * them (its sends are awaited one at a time per lane, so with one lane the order is the send
 * order); every acknowledged baseOffset is where the send's first record of that partition lies.
 */
function checkProduced(topic: string, partitions: number, threads: number, count: number, acksByThread: SendAck[][], oneLane: boolean): void {
  const { where, inOrder, total } = readTopic(topic, partitions);
  expect(total).toBe(threads * count);
  for (let thread = 0; thread < threads; thread++) {
    for (let i = 0; i < count; i++) expect(where.has(`${thread}:${i}`), `${thread}:${i} stored`).toBe(true);
  }
  if (oneLane) {
    for (const values of inOrder) {
      const last = new Map<string, number>();
      for (const value of values) {
        const [thread, index] = value.split(':');
        expect(Number(index)).toBeGreaterThan(last.get(thread) ?? -1);
        last.set(thread, Number(index));
      }
    }
  }
  acksByThread.forEach((acks, thread) => {
    for (const ack of acks) {
      for (const [partition, baseOffset] of ack.results) {
        const first = [...Array(ack.end - ack.start).keys()]
          .map((k) => `${thread}:${ack.start + k}`)
          .find((value) => where.get(value)!.partition === partition)!;
        expect(where.get(first)).toEqual({ partition, offset: baseOffset });
      }
    }
  });
}

describe('consumers on attached worker threads', () => {
  it('two threads read the partitions assigned to them while another thread and the opening thread produce: every record once, in offset order, long polls woken by new data', async () => {
    const broker = await open();
    const topic = 'consumed';
    await broker.admin().createTopics({ topics: [{ topic, numPartitions: 4 }] });
    // Started before any record exists: their long polls are parked when the producers begin.
    const consumers = [[0, 1], [2, 3]].map((partitions) => startWorker(broker.handle(), { mode: 'consume', topic, partitions, consumer: { maxWaitTimeInMs: 60_000 } }));
    for (const consumer of consumers) expect(await within(consumer.first)).toBe('consuming');
    const producer = startWorker(broker.handle(), { mode: 'produce', topic, thread: 1, count: 2_000, perSend: 10 });
    const mainProducer = broker.producer();
    for (let start = 0; start < 1_000; start += 10) {
      await mainProducer.send({ topic, messages: [...Array(10).keys()].map((k) => ({ key: `k${(start + k) % 16}`, value: `0:${start + k}` })) });
    }
    expect(((await within(producer.first)) as { error?: unknown }).error).toBeUndefined();
    const { inOrder } = readTopic(topic, 4);
    const answers = consumers.map(
      (consumer) => new Promise<{ seen?: [number, number, string][]; error?: unknown }>((resolve) => consumer.worker.once('message', resolve)),
    );
    consumers.forEach((consumer, index) => {
      const partitions = index === 0 ? [0, 1] : [2, 3];
      consumer.worker.postMessage({ target: partitions.reduce((sum, partition) => sum + inOrder[partition].length, 0) });
    });
    const results = await within(Promise.all(answers), { what: 'both consumers to read every record' });
    const seenByPartition: string[][] = [[], [], [], []];
    const offsetsByPartition: number[][] = [[], [], [], []];
    for (const result of results) {
      expect(result.error).toBeUndefined();
      for (const [partition, offset, value] of result.seen!) {
        seenByPartition[partition].push(value);
        offsetsByPartition[partition].push(offset);
      }
    }
    for (let partition = 0; partition < 4; partition++) {
      expect(offsetsByPartition[partition]).toEqual([...inOrder[partition].keys()]);
      expect(seenByPartition[partition]).toEqual(inOrder[partition]);
    }
    expect(inOrder.flat()).toHaveLength(3_000);
  });

  it('refuses a read through a deleted topic’s placement once its slot holds another partition, then finds the topic gone', async () => {
    const broker = await open();
    const admin = broker.admin();
    await admin.createTopics({ topics: [{ topic: 'old', numPartitions: 1 }] });
    await broker.producer().send({ topic: 'old', messages: [{ value: 'a' }, { value: 'b' }] });
    const { worker, first } = startWorker(broker.handle(), { mode: 'fetch', topic: 'old' });
    expect(((await within(first)) as { bytes: number }).bytes).toBeGreaterThan(0);
    await admin.deleteTopics({ topics: ['old'] });
    // The new topic's partition takes the freed slot, at a new generation.
    await admin.createTopics({ topics: [{ topic: 'new', numPartitions: 1 }] });
    await broker.producer().send({ topic: 'new', messages: [{ value: 'c' }] });
    const next = (): Promise<unknown> => {
      const answer = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage('again');
      return within(answer);
    };
    expect(await next()).toMatchObject({ error: { name: 'StaleTopicMetadataError', code: 'UNKNOWN_TOPIC_OR_PARTITION' } });
    expect(await next()).toMatchObject({ error: { name: 'TopicNotFoundError' } });
  });

  it('refuses a consumer group on an attached thread, naming where groups run', async () => {
    const broker = await open();
    await broker.admin().createTopics({ topics: [{ topic: 't', numPartitions: 1 }] });
    const { first } = startWorker(broker.handle(), { mode: 'consume', topic: 't', partitions: [0], consumer: { groupId: 'g' } });
    const answer = (await within(first)) as { error?: { name: string; message: string } };
    expect(answer.error?.name).toBe('InvalidConfigError');
    expect(answer.error?.message).toMatch(/consumer groups run on the thread that opened the broker/);
  });
});

describe('producers on attached worker threads', () => {
  it('two threads and the opening thread produce at once: every record once, in order per partition, acks where the records are', async () => {
    const broker = await open();
    const topic = 'shared';
    await broker.admin().createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const count = 3_000;
    const started = [1, 2].map((thread) =>
      startWorker(broker.handle(), { mode: 'produce', topic, thread, count, perSend: 5, inFlight: 1, producer: { lingerMs: 1 } }),
    );
    // The opening thread produces too, as thread 0, while the workers do.
    const producer = broker.producer({ lingerMs: 1 });
    const mainAcks: SendAck[] = [];
    for (let start = 0; start < count; start += 5) {
      const messages = [...Array(5).keys()].map((k) => ({ key: `k${(start + k) % 16}`, value: `0:${start + k}` }));
      const results = await producer.send({ topic, messages });
      mainAcks.push({ start, end: start + 5, results: results.map((result) => [result.partition, result.baseOffset]) });
    }
    const answers = (await within(Promise.all(started.map((started) => started.first)), { what: 'both workers to finish' })) as { acks?: SendAck[]; error?: unknown }[];
    for (const answer of answers) expect(answer.error).toBeUndefined();
    checkProduced(topic, 4, 3, count, [mainAcks, answers[0].acks!, answers[1].acks!], true);
    await eventually(() => broker.broker.shards.attachedCount === 0, { what: 'both closed threads to be detached' });
  });

  it('many sends in flight per thread, with acks 1 and lz4: every record once, acks where the records are', async () => {
    const broker = await open();
    const topic = 'in-flight';
    await broker.admin().createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const count = 5_000;
    const started = [0, 1].map((thread) =>
      startWorker(broker.handle(), { mode: 'produce', topic, thread, count, perSend: 10, inFlight: 32, producer: { acks: 1, compression: 'lz4' } }),
    );
    const answers = (await within(Promise.all(started.map((started) => started.first)), { what: 'both workers to finish' })) as { acks?: SendAck[]; error?: unknown }[];
    for (const answer of answers) expect(answer.error).toBeUndefined();
    checkProduced(topic, 3, 2, count, [answers[0].acks!, answers[1].acks!], false);
  });

  it('an idempotent producer on an attached thread gets its producer id from the opening thread and writes each record once', async () => {
    const broker = await open();
    const topic = 'idempotent';
    const { first } = startWorker(broker.handle(), { mode: 'produce', topic, thread: 0, count: 500, perSend: 10, producer: { idempotent: true } });
    const answer = (await within(first, { what: 'the worker to finish' })) as { acks?: SendAck[]; error?: unknown };
    expect(answer.error).toBeUndefined();
    // The topic was created on the worker's first send (autoCreate through the control plane).
    checkProduced(topic, 1, 1, 500, [answer.acks!], true);
    const producers = await broker.broker.describeProducers(topic, 0);
    expect(producers).toHaveLength(1);
    expect(producers[0].producerId).toBeGreaterThanOrEqual(0);
  });

  it('refuses a transactional producer on an attached thread, naming where it runs', async () => {
    const broker = await open();
    const { first } = startWorker(broker.handle(), { mode: 'produce', topic: 't', count: 1, producer: { transactionalId: 'tx' } });
    const answer = (await within(first)) as { error?: { name: string; message: string } };
    expect(answer.error?.name).toBe('InvalidConfigError');
    expect(answer.error?.message).toMatch(/transactional producers run on the thread that opened the broker/);
  });

  it('bounds attached threads by maxAttachedThreads with a typed error, and frees a slot when a thread ends without closing', async () => {
    const broker = await open({ maxAttachedThreads: 1 });
    const holder = startWorker(broker.handle(), { mode: 'attach' });
    expect(await within(holder.first)).toEqual({ attached: true });
    const refused = startWorker(broker.handle(), { mode: 'attach' });
    const answer = (await within(refused.first)) as { error?: { name: string; code: string } };
    expect(answer.error).toMatchObject({ name: AttachedThreadsExhaustedError.name, code: 'ATTACHED_THREADS_EXHAUSTED' });
    await holder.worker.terminate();
    await eventually(() => broker.broker.shards.attachedCount === 0, { what: 'the ended thread to be detached' });
    const next = startWorker(broker.handle(), { mode: 'attach' });
    expect(await within(next.first)).toEqual({ attached: true });
  });

  it('a thread that stops reading its answers holds up only its own requests; once it is terminated the shard appends what it had written', async () => {
    // A small completion ring fills after about eighty answers the stalled thread never reads.
    const broker = await open({ shards: 1, shardCompletionRingBytes: 4096 });
    const topic = 'stall';
    await broker.admin().createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const stalled = startWorker(broker.handle(), { mode: 'stall', topic, count: 400 });
    expect(await within(stalled.first)).toBe('stalled');
    await eventually(() => broker.broker.shards.attachedCompletionsFull() === 1, { what: 'the stalled thread’s answer ring to fill' });
    // The shard goes on serving the opening thread: the stalled thread's requests wait in its own ring.
    const producer = broker.producer();
    const [during] = await within(producer.send({ topic, messages: [{ value: 'during' }] }), { what: 'an append while the thread is stalled' });
    expect(during.baseOffset).toBeLessThan(400);
    await stalled.worker.terminate();
    await eventually(() => broker.broker.shards.attachedCount === 0, { what: 'the terminated thread to be detached' });
    await within(producer.send({ topic, messages: [{ value: 'after' }] }), { what: 'an append after the stalled thread ended' });
    // Everything the stalled thread wrote to its ring is appended before the shard drops it.
    await eventually(() => broker.broker.partitionOffsets(topic, 0).highWatermark === 402, { what: 'the 400 records of the stalled thread, and 2 of the opening thread' });
  });

  it('after a shard restart the attached thread gets new rings and its later sends succeed', async () => {
    const broker = await open();
    const topic = 'restart';
    await broker.admin().createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const { worker, first } = startWorker(broker.handle(), { mode: 'restart', topic, thread: 0, count: 200, perSend: 4, producer: { idempotent: true } });
    expect(await within(first)).toBe('first');
    await broker.broker.shards.terminateShard(0);
    await broker.broker.shards.terminateShard(1);
    const done = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('again');
    const answer = (await within(done, { what: 'the sends after the restarts' })) as { acks?: SendAck[]; error?: unknown };
    expect(answer.error).toBeUndefined();
    checkProduced(topic, 4, 1, 400, [answer.acks!], true);
  });

  it('refuses an append planned on a deleted topic’s placement (the slot’s open generation changed), then produces to the recreated topic', async () => {
    const broker = await open();
    const topic = 'recreated';
    const admin = broker.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const { worker, first } = startWorker(broker.handle(), { mode: 'restart', topic, thread: 0, count: 50 });
    expect(await within(first)).toBe('first');
    await admin.deleteTopics({ topics: [topic] });
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const done = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('again');
    const answer = (await within(done)) as { acks?: SendAck[]; error?: unknown };
    expect(answer.error).toBeUndefined();
    // Only the second range is in the recreated topic: none of it went to a log of the deleted one.
    const { where, total } = readTopic(topic, 2);
    expect(total).toBe(50);
    for (let i = 50; i < 100; i++) expect(where.has(`0:${i}`)).toBe(true);
  });

  it('piscina tasks attach, produce and detach: every record once', async () => {
    const broker = await open();
    const topic = 'piscina';
    await broker.admin().createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const pool = new Piscina({ filename: PISCINA_TASK.href, minThreads: 2, maxThreads: 2 });
    try {
      const tasks = [0, 1, 2, 3].map((task) => {
        const handle = broker.handle();
        return pool.run({ handle, topic, task, count: 1_000 }, { transferList: [handle.port] }) as Promise<SendAck[]>;
      });
      const acks = await within(Promise.all(tasks), { what: 'the piscina tasks' });
      checkProduced(topic, 4, 4, 1_000, acks, true);
      await eventually(() => broker.broker.shards.attachedCount === 0, { what: 'every task to detach' });
    } finally {
      await pool.destroy();
    }
  });

  it('refuses attach on the main thread and a value that is not a handle', async () => {
    const broker = await open();
    const handle = broker.handle();
    await expect(Sluice.attach(handle)).rejects.toThrow(InvalidConfigError);
    handle.port.close();
  });
});
