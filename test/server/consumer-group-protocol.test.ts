/**
 * The KIP-848 consumer group protocol against its reference client: librdkafka (2.15, through
 * @confluentinc/kafka-javascript built from source) with `group.protocol=consumer`, talking to
 * `sluice serve` as a user runs it. Two consumers of one group share the partitions and read
 * every record once; when one leaves, the other takes its partitions and goes on from the offsets
 * the first committed (OffsetCommit v9 with its member epoch).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';

const require = createRequire(import.meta.url);
const { KafkaJS, ConsumerGroupStates, ConsumerGroupTypes } = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');

const TOPIC = 'orders';
const GROUP = 'kip848';
const PARTITIONS = 4;

let dataDir: string;
let server: CliProcess;
let kafka: InstanceType<typeof KafkaJS.Kafka>;

beforeAll(async () => {
  dataDir = tempDir();
  // A short heartbeat interval: members learn of a new target assignment at their next heartbeat.
  server = new CliProcess(['serve', '--data-dir', dataDir, '--port', '0', '--shards', '1', '--group-consumer-heartbeat-interval-ms', '250']);
  await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
  const match = /^listening on (127\.0\.0\.1:\d+)\n$/.exec(server.stdout);
  if (match === null) throw new Error(`unexpected first line from sluice serve: ${server.stdout}`);
  kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [match[1]], clientId: 'kip848', logLevel: KafkaJS.logLevel.NOTHING } });
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  killRunning();
  removeDir(dataDir);
});

interface Consumed {
  consumer: string;
  partition: number;
  value: string;
}

describe('group.protocol=consumer (librdkafka)', () => {
  it('two consumers share the partitions, each record is read once, and the one left takes over the partitions of the one that leaves', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer({ 'linger.ms': 0 });
    await producer.connect();
    const consumed: Consumed[] = [];
    const consumers: ReturnType<typeof kafka.consumer>[] = [];
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
      const start = async (name: string) => {
        const consumer = kafka.consumer({ kafkaJS: { groupId: GROUP, fromBeginning: true }, 'group.protocol': 'consumer' });
        consumers.push(consumer);
        await consumer.connect();
        await consumer.subscribe({ topic: TOPIC });
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            consumed.push({ consumer: name, partition, value: String(message.value) });
          },
        });
        return consumer;
      };
      const first = await start('first');
      await start('second');

      // ConsumerGroupDescribe, as the admin client asks it: both members reconciled, two partitions each.
      const assignmentSizes = async (): Promise<number[]> => {
        const [group] = (await admin.describeGroups([GROUP])).groups;
        if (group.state !== ConsumerGroupStates.STABLE) return [];
        return group.members.map((member) => (member.assignment as { topicPartitions: unknown[] }).topicPartitions.length).sort();
      };
      await eventually(async () => JSON.stringify(await assignmentSizes()) === '[2,2]', { what: 'a stable group of two members with two partitions each' });
      const [described] = (await admin.describeGroups([GROUP])).groups;
      expect(described).toMatchObject({ protocolType: 'consumer', partitionAssignor: 'uniform', type: ConsumerGroupTypes.CONSUMER });
      const listed = (await admin.listGroups()).groups.find((group) => group.groupId === GROUP);
      expect(listed).toMatchObject({ protocolType: 'consumer', type: ConsumerGroupTypes.CONSUMER });

      const batch = (prefix: string) => Array.from({ length: 40 }, (_, i) => ({ value: `${prefix}${i}`, partition: i % PARTITIONS }));
      await producer.send({ topic: TOPIC, messages: batch('a') });
      await eventually(() => consumed.length >= 40, { what: 'the first 40 records consumed' });
      const byConsumer = (name: string) => new Set(consumed.filter((c) => c.consumer === name).map((c) => c.partition));
      expect(byConsumer('first').size).toBe(2);
      expect(byConsumer('second').size).toBe(2);
      expect([...byConsumer('first')].some((p) => byConsumer('second').has(p))).toBe(false);

      // The first leaves (epoch -1) after committing what it read; the second gets all four partitions.
      await first.disconnect();
      consumers.splice(consumers.indexOf(first), 1);
      await eventually(async () => JSON.stringify(await assignmentSizes()) === '[4]', { what: 'the remaining member holding all four partitions' });
      await producer.send({ topic: TOPIC, messages: batch('b') });
      await eventually(() => consumed.length >= 80, { what: 'the next 40 records consumed' });
      // Each record exactly once: the second started the first's partitions at its committed offsets.
      const values = consumed.map((c) => c.value).sort();
      expect(values).toEqual([...batch('a'), ...batch('b')].map((m) => m.value).sort());
      expect(new Set(consumed.filter((c) => c.value.startsWith('b')).map((c) => c.consumer))).toEqual(new Set(['second']));
    } finally {
      await Promise.all(consumers.map((consumer) => consumer.disconnect()));
      await producer.disconnect();
      await admin.disconnect();
    }
    // The second's commits, also made with its member epoch, are the group's offsets.
    const admin2 = kafka.admin();
    await admin2.connect();
    try {
      const [offsets] = await admin2.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      expect(offsets.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
        [0, '20'],
        [1, '20'],
        [2, '20'],
        [3, '20'],
      ]);
    } finally {
      await admin2.disconnect();
    }
  }, 120_000);
});
