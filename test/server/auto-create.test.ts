/**
 * Topic auto-creation as Kafka does it, seen by real clients: a Metadata request that allows it
 * creates an unknown topic when the broker's auto-creation is on; Produce never creates one (it
 * answers UNKNOWN_TOPIC_OR_PARTITION). And the broker's cap on partitions, refused with
 * POLICY_VIOLATION before anything is written, on every path that creates partitions.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreatePartitions } from '../../src/protocol/api/create-partitions.js';
import { CreateTopics } from '../../src/protocol/api/create-topics.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { TestClient, kcat, startServer, type TestServer } from './helpers.js';

const record = () => encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v'), timestampMs: 1_700_000_000_000 }] });

function produceTo(client: TestClient, topic: string) {
  return client.send(Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: record() }] }],
  });
}

function kafkajs(t: TestServer): Kafka {
  return new Kafka({ clientId: 'auto-create-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
}

function topicExists(t: TestServer, topic: string): boolean {
  return t.broker.listTopics().some((metadata) => metadata.name === topic);
}

describe('auto-creation on (the default)', () => {
  let t: TestServer;
  let client: TestClient;

  beforeAll(async () => {
    t = await startServer({ broker: { numPartitions: 2 } });
    client = await TestClient.connect(t.port);
  });

  afterAll(async () => {
    client.close();
    await t.close();
  });

  it('Produce to an unknown topic answers UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    const response = await produceTo(client, 'by-produce');
    expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(topicExists(t, 'by-produce')).toBe(false);
  });

  it('kafkajs creates the topic through Metadata when allowAutoTopicCreation is on, and not when it is off', async () => {
    const producer = kafkajs(t).producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'kafkajs-auto', messages: [{ value: 'v' }] });
    expect(t.broker.topicMetadata('kafkajs-auto').partitionCount).toBe(2);
    await producer.disconnect();

    const strict = kafkajs(t).producer({ allowAutoTopicCreation: false });
    await strict.connect();
    await expect(strict.send({ topic: 'kafkajs-strict', messages: [{ value: 'v' }] })).rejects.toThrow(/does not host this topic-partition/);
    expect(topicExists(t, 'kafkajs-strict')).toBe(false);
    await strict.disconnect();
  });

  it('kcat (librdkafka) produces to a new topic, created by its Metadata request', async () => {
    await kcat(['-b', t.bootstrap, '-P', '-t', 'kcat-auto'], { input: 'a\nb\n' });
    const { stdout } = await kcat(['-b', t.bootstrap, '-C', '-t', 'kcat-auto', '-e', '-q', '-f', '%s\n']);
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['a', 'b']);
  });
});

describe('auto-creation off', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startServer({ broker: { autoCreateTopicsEnable: false } });
  });

  afterAll(async () => {
    await t.close();
  });

  it('kcat and kafkajs are told the topic is unknown, and nothing is created', async () => {
    await expect(
      kcat(['-b', t.bootstrap, '-P', '-t', 'kcat-off', '-X', 'topic.metadata.propagation.max.ms=200', '-X', 'message.timeout.ms=5000'], {
        input: 'a\n',
      }),
    ).rejects.toThrow(/Unknown topic or partition/);
    const producer = kafkajs(t).producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await expect(producer.send({ topic: 'kafkajs-off', messages: [{ value: 'v' }] })).rejects.toThrow();
    await producer.disconnect();
    expect(topicExists(t, 'kcat-off') || topicExists(t, 'kafkajs-off')).toBe(false);
  });
});

describe('the broker partition cap (maxPartitions)', () => {
  let t: TestServer;
  let client: TestClient;
  let room: number;

  beforeAll(async () => {
    t = await startServer({ broker: { maxPartitions: 16, numPartitions: 3 } });
    client = await TestClient.connect(t.port);
    // The broker's internal topics hold some of the cap.
    room = 16 - t.broker.listTopics().reduce((sum, metadata) => sum + metadata.partitionCount, 0);
  });

  afterAll(async () => {
    client.close();
    await t.close();
  });

  const newTopic = (name: string, numPartitions: number) => ({ name, numPartitions, replicationFactor: -1, assignments: [], configs: [] });

  it('refuses CreateTopics, CreatePartitions and Metadata auto-creation past the cap with POLICY_VIOLATION, writing nothing', async () => {
    const created = await client.send(CreateTopics, 7, { topics: [newTopic('fits', room - 2)], timeoutMs: 1000, validateOnly: false });
    expect(created.topics[0].errorCode).toBe(0);

    const refused = await client.send(CreateTopics, 7, { topics: [newTopic('too-many', 3)], timeoutMs: 1000, validateOnly: false });
    expect(refused.topics[0]).toMatchObject({ errorCode: ErrorCode.POLICY_VIOLATION });
    expect(refused.topics[0].errorMessage).toMatch(/would open 17 partitions, past the broker's maxPartitions \(16\)/);
    expect(topicExists(t, 'too-many')).toBe(false);

    const grown = await client.send(CreatePartitions, 3, { topics: [{ name: 'fits', count: room + 1, assignments: null }], timeoutMs: 1000, validateOnly: false });
    expect(grown.results[0].errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(t.broker.topicMetadata('fits').partitionCount).toBe(room - 2);

    // num.partitions is 3 and two slots are left: auto-creation is refused the same way.
    const metadata = await client.send(Metadata, 9, { topics: [{ name: 'auto-too-many' }], allowAutoTopicCreation: true });
    expect(metadata.topics[0].errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(topicExists(t, 'auto-too-many')).toBe(false);

    // What fits is still created.
    const last = await client.send(CreateTopics, 7, { topics: [newTopic('last', 2)], timeoutMs: 1000, validateOnly: false });
    expect(last.topics[0].errorCode).toBe(0);
  });
});
