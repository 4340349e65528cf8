/**
 * A fleet of kafkajs consumers of one group started at once against `sluice serve`: every record
 * is read well within the session timeout, with the broker's default initial rebalance delay.
 * (Members arriving during the join phase, MEMBER_ID_REQUIRED handshakes and SyncGroups of a
 * generation that a late member already replaced must not leave the group idle until a session
 * expires.)
 *
 * The members must subscribe to the same topics: kafkajs's assigners hand out only the leader's
 * subscribed topics, round robin over every member, and each member drops what it did not
 * subscribe to. Consumers of different topics that share a group id (one made of a timestamp, say,
 * by readers started in the same millisecond) therefore read nothing, on Kafka as here. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { CliProcess, killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { within } from '../support/eventually.js';

const CONSUMERS = 8;
const PARTITIONS = 8;
const RECORDS = 200;
const SESSION_TIMEOUT_MS = 30_000;
/** Well below the session timeout: a stall that waits for a session to expire fails the test. */
const DEADLINE_MS = 15_000;

let dataDir: string;
let server: CliProcess;
let bootstrap: string;

beforeAll(async () => {
  dataDir = tempDir();
  // The default initial rebalance delay (3 s), as a user runs it.
  server = new CliProcess(['serve', '--data-dir', dataDir, '--port', '0', '--shards', '1']);
  await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
  const match = /^listening on (127\.0\.0\.1:\d+)\n$/.exec(server.stdout);
  if (match === null) throw new Error(`unexpected first line from sluice serve: ${server.stdout}`);
  bootstrap = match[1];
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  killRunning();
  removeDir(dataDir);
});

it(`${CONSUMERS} kafkajs consumers of one group started at once read every record within ${DEADLINE_MS} ms`, async () => {
  const kafka = new Kafka({ clientId: 'fleet', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const topic = 'fleet';
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();

  const seen = new Set<string>();
  let allSeen!: () => void;
  const everyRecord = new Promise<void>((resolve) => (allSeen = resolve));
  const consumers: Consumer[] = Array.from({ length: CONSUMERS }, () =>
    kafka.consumer({ groupId: 'fleet-group', sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 1_000, maxWaitTimeInMs: 500 }),
  );
  try {
    const startedMs = Date.now();
    await Promise.all(
      consumers.map(async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            seen.add(String(message.value));
            if (seen.size === RECORDS) allSeen();
          },
        });
      }),
    );
    await within(everyRecord, { timeoutMs: DEADLINE_MS - (Date.now() - startedMs), what: `all ${RECORDS} records (${seen.size} read)` });
    expect(seen.size).toBe(RECORDS);
  } finally {
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
  }
});
