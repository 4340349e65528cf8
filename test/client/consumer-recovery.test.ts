/**
 * Consumers that heal, against the real broker (shard worker threads, segment files in temp
 * dirs) and real processes: a group left with a member by an embedding process killed without
 * close(), handlers that throw (kafkajs's retries and restarts), positions and committed offsets
 * outside the log.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { Consumer, type ConsumerRetryOptions } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { RetriesExceededError } from '../../src/errors.js';
import { runCli } from '../cli/run-cli.js';
import { CapturingLogger, eventually, kcat, startServer } from '../server/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-consumer-recovery-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openBroker(dataDir: string): Promise<Broker> {
  const broker = await Broker.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0 });
  cleanups.push(() => broker.close());
  return broker;
}

const MEMBER_SCRIPT = fileURLToPath(new URL('../fixtures/embedded-group-member.mjs', import.meta.url));

describe('members of an earlier process', () => {
  it('are gone when the broker opens again, so the next run is assigned at once instead of after their session timeout', async () => {
    const dataDir = tempDir();
    const setup = await Broker.open({ dataDir, shards: 2 });
    await setup.createTopic('orders', { partitions: 2 });
    await setup.close();

    // An embedding process joins the group and is killed without close().
    const child = spawn(process.execPath, [MEMBER_SCRIPT, dataDir, 'orders', 'ghosts'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => line === 'joined' && resolve());
      child.once('exit', (code) => reject(new Error(`the member process exited (${code}) before joining`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const broker = await openBroker(dataDir);
    // Nothing of the dead process is left to wait for.
    expect(broker.groups.describeGroup('ghosts')).toMatchObject({ state: 'Empty', members: [] });
    const producer = new Producer(broker);
    cleanups.push(() => producer.close());
    await producer.send({ topic: 'orders', messages: [{ value: 'after the crash', partition: 1 }] });
    // Kafka's default session timeout: a ghost would hold the first rebalance for 30 s.
    const consumer = new Consumer(broker, { groupId: 'ghosts', sessionTimeout: 30_000 });
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: ({ message }) => void seen.push(message.value!.toString()) });
    expect(consumer.assignment()).toEqual([{ topic: 'orders', partitions: [0, 1] }]);
    await eventually(() => seen.length === 1);
    expect(seen).toEqual(['after the crash']);
  }, 60_000);
});

/**
 * One failing-handler scenario, run by kafkajs over the wire and by the embedded consumer: the
 * handler fails at offset 2 (of 0-4) while `fails(attempt)` says so; what each consumer delivered,
 * the crashes it reported and the calls to restartOnFailure must be the same.
 */
interface Scenario {
  retry: ConsumerRetryOptions;
  /** Whether the handler throws on its n-th delivery of offset 2 (n from 1), and what. */
  failure(attempt: number): Error | null;
  /** The run is over once a crash event without restart arrived, or offset 4 was handled. */
  endsWithCrash: boolean;
  /** eachBatch, resolving each message once handled, instead of eachMessage. */
  batches?: boolean;
}

interface Outcome {
  delivered: number[];
  crashes: { restart: boolean; errorName: string }[];
  restartOnFailureCalls: number;
  committed: number;
}

const RECORDS = 5;

describe('handlers that throw, as kafkajs', () => {
  const scenarios: Record<string, Scenario> = {
    'a failure that a retry overcomes: the message is delivered again, nothing crashes': {
      retry: { initialRetryTime: 10, retries: 5 },
      failure: (attempt) => (attempt <= 2 ? new Error('transient') : null),
      endsWithCrash: false,
    },
    'retries exhausted and restartOnFailure declining: one crash without restart': {
      retry: { initialRetryTime: 10, retries: 2 },
      failure: () => new Error('poison'),
      endsWithCrash: true,
    },
    'retries exhausted, then a restart that gets past the failure': {
      retry: { initialRetryTime: 10, retries: 2 },
      failure: (attempt) => (attempt <= 4 ? new Error('slow to heal') : null),
      endsWithCrash: false,
    },
    'a programming error: not retried, no restart': {
      retry: { initialRetryTime: 10, retries: 5 },
      failure: () => new TypeError('handler bug'),
      endsWithCrash: true,
    },
    'eachBatch: a retry delivers the batch again from its first message not resolved': {
      retry: { initialRetryTime: 10, retries: 5 },
      failure: (attempt) => (attempt <= 2 ? new Error('transient') : null),
      endsWithCrash: false,
      batches: true,
    },
  };

  it.each(Object.entries(scenarios))('%s', async (_, scenario) => {
    const t = await startServer();
    cleanups.push(() => t.close());
    const producer = new Producer(t.broker);
    cleanups.push(() => producer.close());

    const runs: Outcome[] = [];
    for (const client of ['kafkajs', 'embedded'] as const) {
      const topic = `failing-${client}`;
      await t.broker.createTopic(topic, { partitions: 1 });
      await producer.send({ topic, messages: Array.from({ length: RECORDS }, (_, i) => ({ value: `m${i}` })) });
      const outcome: Outcome = { delivered: [], crashes: [], restartOnFailureCalls: 0, committed: -1 };
      let attempts = 0;
      const handler = async ({ message }: { message: { offset: string | number } }): Promise<void> => {
        const offset = Number(message.offset);
        outcome.delivered.push(offset);
        if (offset === 2) {
          const error = scenario.failure(++attempts);
          if (error !== null) throw error;
        }
      };
      // Each client resolves its own offsets (kafkajs's strings, Sluice's numbers), handed back as they came.
      type Resolve = (offset: never) => void;
      const eachBatch = async ({ batch, resolveOffset }: { batch: { messages: { offset: string | number }[] }; resolveOffset: Resolve }) => {
        for (const message of batch.messages) {
          await handler({ message });
          resolveOffset(message.offset as never);
        }
      };
      const run = scenario.batches === true ? { eachBatch } : { eachMessage: handler };
      const retry = {
        ...scenario.retry,
        restartOnFailure: async () => {
          outcome.restartOnFailureCalls++;
          return !scenario.endsWithCrash;
        },
      };
      const groupId = `group-${client}`;
      const onCrash = (event: { payload: { error: Error; restart: boolean } }): void =>
        void outcome.crashes.push({ restart: event.payload.restart, errorName: event.payload.error.name });
      let stop: () => Promise<void>;
      if (client === 'kafkajs') {
        const kafka = new Kafka({ clientId: 'retry-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING });
        const consumer = kafka.consumer({ groupId, retry, maxWaitTimeInMs: 100 });
        consumer.on(consumer.events.CRASH, onCrash);
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run(run);
        stop = () => consumer.disconnect();
      } else {
        const consumer = new Consumer(t.broker, { groupId, retry, maxWaitTimeInMs: 100 });
        consumer.on(consumer.events.CRASH, onCrash);
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run(run);
        stop = () => consumer.disconnect();
      }
      await eventually(() =>
        scenario.endsWithCrash ? outcome.crashes.some((crash) => !crash.restart) : outcome.delivered.includes(RECORDS - 1),
      );
      await stop();
      const [committed] = await t.broker.groups.fetchOffsets({ groupId, partitions: [{ topic, partition: 0 }] });
      outcome.committed = committed.offset;
      runs.push(outcome);
    }
    const [kafkajs, embedded] = runs;
    expect(embedded.delivered).toEqual(kafkajs.delivered);
    expect(embedded.crashes.map((crash) => crash.restart)).toEqual(kafkajs.crashes.map((crash) => crash.restart));
    expect(embedded.restartOnFailureCalls).toBe(kafkajs.restartOnFailureCalls);
    expect(embedded.committed).toBe(kafkajs.committed);
    // The same error kinds, under Sluice's names.
    const names: Record<string, string> = {
      KafkaJSNumberOfRetriesExceeded: RetriesExceededError.name,
      KafkaJSNonRetriableError: 'TypeError',
    };
    expect(embedded.crashes.map((crash) => crash.errorName)).toEqual(kafkajs.crashes.map((crash) => names[crash.errorName]));
  }, 60_000);
});

describe('a consumer waiting to restart', () => {
  it('refuses a second run() and is ended by disconnect(), which does not wait out the restart delay', async () => {
    const broker = await openBroker(tempDir());
    await broker.createTopic('waits', { partitions: 1 });
    const producer = new Producer(broker);
    cleanups.push(() => producer.close());
    await producer.send({ topic: 'waits', messages: [{ value: 'poison' }] });
    // A restart 10 minutes away: only disconnect() can end the wait within the test's time.
    const consumer = new Consumer(broker, { groupId: 'waits', retry: { retries: 0, initialRetryTime: 600_000, factor: 0 } });
    const events: string[] = [];
    consumer.on(consumer.events.CRASH, (event: { payload: { restart: boolean } }) => void events.push(`crash restart=${event.payload.restart}`));
    consumer.on(consumer.events.STOP, () => void events.push('stop'));
    await consumer.subscribe({ topics: ['waits'], fromBeginning: true });
    await consumer.run({
      eachMessage: () => {
        throw new Error('poison');
      },
    });
    await eventually(() => events.length === 1);
    expect(events).toEqual(['crash restart=true']);
    // Crashed: it left the group, and it is still the same run.
    expect(broker.groups.describeGroup('waits').members).toEqual([]);
    await expect(consumer.run({ eachMessage: () => undefined })).rejects.toThrow(/already consuming/);
    await consumer.disconnect();
    expect(events).toEqual(['crash restart=true', 'stop']);
  }, 20_000);
});

describe('the README example', () => {
  it('closes cleanly on SIGINT: exit status 130, the data directory unlocked and its group left', async () => {
    const dataDir = tempDir();
    const script = fileURLToPath(new URL('../../dist/examples/quickstart.js', import.meta.url));
    const child = spawn(process.execPath, [script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      // The broker is open: interrupt it while it works.
      if (line.startsWith('data directory')) child.kill('SIGINT');
    });
    expect(await exited).toBe(130);
    expect(output.some((line) => line.startsWith('interrupted'))).toBe(true);
    // close() ran: the lock is gone (no stale-lock takeover) and no member stayed behind.
    const warnings: string[] = [];
    const broker = await Broker.open({ dataDir, shards: 2, logger: { info: () => undefined, warn: (message) => void warnings.push(message) } });
    cleanups.push(() => broker.close());
    expect(warnings.filter((message) => /lock/.test(message))).toEqual([]);
    expect(broker.groups.describeGroup('quickstart').members).toEqual([]);
  }, 60_000);
});

/** Values `${prefix}0`.. in sends of ten records (one batch each). */
async function produceValues(producer: Producer, topic: string, count: number, prefix: string): Promise<void> {
  for (let start = 0; start < count; start += 10) {
    const messages = Array.from({ length: Math.min(10, count - start) }, (_, i) => ({ value: `${prefix}${start + i}`, partition: 0 }));
    await producer.send({ topic, messages });
  }
}

/** Starts a group consumer of 'truncated'; returns what it gets, as it gets it. */
async function startReader(broker: Broker, groupId: string, fromBeginning: boolean): Promise<{ offset: number; value: string }[]> {
  const consumer = new Consumer(broker, { groupId, maxWaitTimeInMs: 100 });
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topics: ['truncated'], fromBeginning });
  const got: { offset: number; value: string }[] = [];
  await consumer.run({ eachMessage: ({ message }) => void got.push({ offset: message.offset, value: message.value!.toString() }) });
  return got;
}

/** Sends `value` until the reader got something: a reader reset to the end gets only records sent after its reset. */
async function sendUntilReceived(producer: Producer, got: readonly unknown[], value: string): Promise<void> {
  await eventually(async () => {
    await producer.send({ topic: 'truncated', messages: [{ value, partition: 0 }] });
    return got.length > 0;
  });
}

describe('committed offsets and positions outside the log', () => {
  it('a committed offset that recovery left beyond the log end resets by the reset policy, even once new records pass it, and is flagged', async () => {
    const dataDir = tempDir();
    let broker = await Broker.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0 });
    await broker.createTopic('truncated', { partitions: 1 });
    let producer = new Producer(broker);
    await produceValues(producer, 'truncated', 100, 'old-');
    // Every group read everything: each committed offset 100.
    for (const groupId of ['earliest', 'latest', 'kafkajs', 'kcat']) {
      await broker.groups.commitOffsets({ groupId, generationId: -1, memberId: '', offsets: [{ topic: 'truncated', partition: 0, offset: 100 }] });
    }
    await producer.close();
    await broker.close();

    // A torn tail: recovery cuts the log back to some offset below 100.
    const partitionDir = join(dataDir, 'truncated-0');
    const segment = join(partitionDir, readdirSync(partitionDir).find((name) => name.endsWith('.log'))!);
    truncateSync(segment, Math.floor(statSync(segment).size / 2));
    const logger = new CapturingLogger();
    broker = await Broker.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0, logger });
    const logEndAfterRecovery = broker.partitionOffsets('truncated', 0).highWatermark;
    expect(logEndAfterRecovery).toBeLessThan(100);
    expect(logger.warns).toContainEqual(expect.stringMatching(/group "earliest" committed offset 100 of truncated-0, beyond the log end \d+ left by recovery/));
    // New records pass offset 100 before any consumer of the groups comes back, and the broker restarts.
    producer = new Producer(broker);
    await produceValues(producer, 'truncated', 60, 'new-');
    await producer.close();
    await broker.close();
    expect(logEndAfterRecovery + 60).toBeGreaterThan(100);

    // groups describe flags every such group, in JSON and in text.
    const described = await runCli(['groups', 'describe', 'earliest', '--json', '--data-dir', dataDir]);
    expect(described.code).toBe(0);
    const report = JSON.parse(described.stdout) as { status: string; partitions: { committedOffset: number; status: string; outOfRange: boolean }[] };
    expect(report.status).toBe('ERROR');
    expect(report.partitions).toEqual([expect.objectContaining({ committedOffset: 100, status: 'OUT_OF_RANGE', outOfRange: true })]);
    const text = await runCli(['groups', 'describe', 'earliest', '--data-dir', dataDir]);
    expect(text.stdout).toMatch(/\btruncated\s+0\s+100\s+\d+\s+\d+\s+OUT_OF_RANGE\b/);
    expect(text.stderr).toMatch(/warning: the committed offset 100 of truncated-0 is out of range/);

    const t = await startServer({ dataDir });
    cleanups.push(() => t.close());
    broker = t.broker;
    expect(broker.groupLag('latest').partitions[0].status).toBe('OUT_OF_RANGE');

    // earliest: from the log start; latest: only what comes now. Never from offset 100.
    const earliest = await startReader(broker, 'earliest', true);
    const latest = await startReader(broker, 'latest', false);
    const kafka = new Kafka({ clientId: 'truncation-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING });
    const kafkajsConsumer = kafka.consumer({ groupId: 'kafkajs', maxWaitTimeInMs: 100 });
    cleanups.push(() => kafkajsConsumer.disconnect());
    await kafkajsConsumer.connect();
    await kafkajsConsumer.subscribe({ topics: ['truncated'], fromBeginning: true });
    const kafkajsGot: string[] = [];
    await kafkajsConsumer.run({ eachMessage: async ({ message }) => void kafkajsGot.push(message.offset) });
    const kcatRun = kcat(['-b', t.bootstrap, '-G', 'kcat', '-X', 'auto.offset.reset=earliest', '-c', '1', '-f', '%o\\n', 'truncated'], { timeoutMs: 30_000 });

    await eventually(() => earliest.length > 0 && kafkajsGot.length > 0);
    expect(earliest[0]).toEqual({ offset: 0, value: 'old-0' });
    expect(kafkajsGot[0]).toBe('0');
    expect((await kcatRun).stdout.trim()).toBe('0');
    // The latest reader starts at the end: the first record it gets is one written after its reset,
    // none of the "new-" records (which, from offset 100, it would have read).
    const after = new Producer(broker);
    cleanups.push(() => after.close());
    await sendUntilReceived(after, latest, 'now');
    expect(latest[0].value).toBe('now');
    expect(latest[0].offset).toBeGreaterThanOrEqual(logEndAfterRecovery + 60);
    // Their commits replace the held-back offset: the flag goes.
    await eventually(() => broker.groupLag('earliest').partitions[0].status !== 'OUT_OF_RANGE');
  }, 90_000);

  it('a seek outside the log resets by the policy: beyond the end with latest, below the start with earliest', async () => {
    const broker = await openBroker(tempDir());
    await broker.createTopic('truncated', { partitions: 1 });
    const producer = new Producer(broker);
    cleanups.push(() => producer.close());
    await produceValues(producer, 'truncated', 20, 'v');
    await broker.deleteRecords('truncated', 0, 5);

    const earliest = new Consumer(broker, { autoOffsetReset: 'earliest', maxWaitTimeInMs: 100 });
    cleanups.push(() => earliest.disconnect());
    earliest.assign([{ topic: 'truncated', partition: 0, offset: 10 }]);
    const fromStart: number[] = [];
    await earliest.run({ eachMessage: ({ message }) => void fromStart.push(message.offset) });
    await eventually(() => fromStart.length === 10);
    earliest.seek({ topic: 'truncated', partition: 0, offset: 2 });
    await eventually(() => fromStart.length === 25);
    expect(fromStart.slice(10)).toEqual(Array.from({ length: 15 }, (_, i) => 5 + i));

    const latest = new Consumer(broker, { autoOffsetReset: 'latest', maxWaitTimeInMs: 100 });
    cleanups.push(() => latest.disconnect());
    latest.assign([{ topic: 'truncated', partition: 0, offset: 0 }]);
    latest.seek({ topic: 'truncated', partition: 0, offset: 1_000 });
    const fromEnd: { offset: number; value: string }[] = [];
    await latest.run({ eachMessage: ({ message }) => void fromEnd.push({ offset: message.offset, value: message.value!.toString() }) });
    // Reset to the end (20): what it gets are records written since, long before offset 1000.
    await sendUntilReceived(producer, fromEnd, 'next');
    expect(fromEnd[0].value).toBe('next');
    expect(fromEnd[0].offset).toBeGreaterThanOrEqual(20);
  }, 30_000);
});
