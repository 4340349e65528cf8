/**
 * kafkajs 2.2.4 against the server: the admin client (create, list, describe, grow and delete
 * topics; configs; groups and offsets), a producer with gzip, snappy, lz4 and zstd batches, and a consumer group
 * that reads everything once and, restarted, resumes from its committed offsets.
 */
import { Kafka, CompressionTypes, CompressionCodecs, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerKafkajsCodecs } from '../../src/client/kafkajs-codecs.js';
import { startServer, type TestServer } from './helpers.js';

// kafkajs ships gzip only: Sluice's LZ4, snappy and zstd codecs are plugged in, as the CLI does.
// (Independent implementations, librdkafka's, are exercised in kcat.test.ts and codecs.test.ts.)
registerKafkajsCodecs({ CompressionCodecs, CompressionTypes });

let t: TestServer;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  t = await startServer();
  kafka = new Kafka({ clientId: 'kafkajs-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await t?.close();
});

describe('kafkajs admin', () => {
  it('creates, lists, describes, grows and deletes topics', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a' }] })).toBe(false);
    expect(await admin.listTopics()).toContain('admin-a');

    const { topics } = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
    expect(topics[0].partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr])).toEqual([
      [0, 0, [0], [0]],
      [1, 0, [0], [0]],
      [2, 0, [0], [0]],
    ]);

    const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'admin-a' }], includeSynonyms: false });
    const entries = configs.resources[0].configEntries;
    expect(entries.find((e) => e.configName === 'retention.ms')).toMatchObject({ configValue: '60000', isDefault: false });
    expect(entries.find((e) => e.configName === 'cleanup.policy')).toMatchObject({ configValue: 'delete', isDefault: true });

    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 5 }] });
    expect(t.broker.topicMetadata('admin-a').partitionCount).toBe(5);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 2 }] })).rejects.toThrow();

    await admin.deleteTopics({ topics: ['admin-a'] });
    expect(await admin.listTopics()).not.toContain('admin-a');
  });

  it('refuses a replication factor above 1 and invalid configs', async () => {
    const creationError = (topics: Parameters<Admin['createTopics']>[0]['topics']) =>
      admin.createTopics({ topics }).then(
        () => null,
        (error: { errors?: { type: string }[] }) => error.errors?.[0],
      );
    expect(await creationError([{ topic: 'replicated', replicationFactor: 3 }])).toMatchObject({ type: 'INVALID_REPLICATION_FACTOR' });
    expect(await creationError([{ topic: 'bad-config', configEntries: [{ name: 'retention.ms', value: 'soon' }] }])).toMatchObject({
      type: 'INVALID_CONFIG',
    });
    expect(await admin.listTopics()).not.toContain('replicated');
  });
});

describe('kafkajs producer and consumer group', () => {
  it('produces with every codec, and a group reads every record once then resumes from committed offsets', async () => {
    const topic = 'kafkajs-orders';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent: string[] = [];
    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
      const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 13}`, value: `c${compression}-${i}` }));
      const results = await producer.send({ topic, messages, compression, acks: -1 });
      expect(results.every((r) => r.errorCode === 0)).toBe(true);
      sent.push(...messages.map((m) => m.value));
    }

    const received = await consumeAll(topic, 'orders-group', sent.length);
    expect([...received.values].sort()).toEqual([...sent].sort());
    // Per key, the order sent.
    for (const [key, values] of received.byKey) {
      const expected = sent.filter((_, i) => `k${(i % 200) % 13}` === key);
      expect(values).toEqual(expected);
    }

    const offsets = await admin.fetchOffsets({ groupId: 'orders-group', topics: [topic] });
    const committed = offsets[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(committed).toBe(sent.length);
    const groups = await admin.listGroups();
    expect(groups.groups.map((g) => g.groupId)).toContain('orders-group');

    const more = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `more-${i}` }));
    await producer.send({ topic, messages: more });
    await producer.disconnect();
    const resumed = await consumeAll(topic, 'orders-group', more.length);
    expect([...resumed.values].sort()).toEqual(more.map((m) => m.value).sort());
  });
});

/** Runs a consumer in `groupId` until it has `count` records (from the committed offsets, else the beginning). */
async function consumeAll(topic: string, groupId: string, count: number): Promise<{ values: string[]; byKey: Map<string, string[]> }> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  const byKey = new Map<string, string[]>();
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          values.push(value);
          const key = message.key!.toString();
          byKey.set(key, [...(byKey.get(key) ?? []), value]);
          if (values.length === count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return { values, byKey };
}
