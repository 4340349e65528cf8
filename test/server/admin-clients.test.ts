/**
 * Config changes and record deletion from real clients against the server: kafkajs 2.2.4's admin
 * (alterConfigs, describeConfigs, deleteTopicRecords), Debian's python3-confluent-kafka (librdkafka)
 * AdminClient run as a child process (alter_configs, describe_configs), and kcat reading a
 * partition whose start was moved.
 */
import { execFile } from 'node:child_process';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { kcat, startServer, type TestServer } from './helpers.js';

/** Debian's interpreter, which python3-confluent-kafka is installed for. */
const PYTHON = '/usr/bin/python3';

let t: TestServer;
let admin: Admin;

function batch(count: number, valueBytes = 10): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, 0x61), timestampMs: Date.now() })),
  });
}

/** Runs a Python program (never a shell) with the server's address; resolves with its JSON output. */
function python(program: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', program, ...args], { timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

beforeAll(async () => {
  t = await startServer();
  const kafka = new Kafka({ clientId: 'kafkajs-admin', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await t?.close();
});

describe('kafkajs admin', () => {
  it('alterConfigs changes a topic, describeConfigs shows it, the log obeys it; an invalid value is INVALID_CONFIG', async () => {
    await admin.createTopics({ topics: [{ topic: 'js-configs', configEntries: [{ name: 'segment.ms', value: '600000' }] }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: 'js-configs', configEntries: [{ name: 'max.message.bytes', value: '1000' }, { name: 'retention.ms', value: '120000' }] }],
    });
    const described = await admin.describeConfigs({ resources: [{ type: 2, name: 'js-configs', configNames: ['max.message.bytes', 'retention.ms', 'segment.ms'] }], includeSynonyms: false });
    expect(described.resources[0].configEntries.map((e) => [e.configName, e.configValue, e.isDefault])).toEqual([
      ['max.message.bytes', '1000', false],
      ['retention.ms', '120000', false],
      ['segment.ms', '604800000', true],
    ]);
    const producer = new Kafka({ clientId: 'kafkajs-producer', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'js-configs', messages: [{ value: 'small' }] });
      await expect(producer.send({ topic: 'js-configs', messages: [{ value: 'x'.repeat(3000) }] })).rejects.toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
    } finally {
      await producer.disconnect();
    }
    await expect(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'js-configs', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
    ).rejects.toMatchObject({ type: 'INVALID_CONFIG' });
  });

  it('deleteTopicRecords moves the low watermark; beyond the high watermark is OFFSET_OUT_OF_RANGE', async () => {
    await admin.createTopics({ topics: [{ topic: 'js-delete', numPartitions: 2 }] });
    await t.broker.produce('js-delete', 0, batch(10), 1);
    // kafkajs finds partition leaders only in metadata it already has (against Kafka too).
    await admin.fetchTopicMetadata({ topics: ['js-delete'] });
    await admin.deleteTopicRecords({ topic: 'js-delete', partitions: [{ partition: 0, offset: '6' }] });
    const offsets = await admin.fetchTopicOffsets('js-delete');
    expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '6', high: '10' });
    // kafkajs's retrier wraps its DeleteTopicRecords error, which names the partition and Kafka's error.
    await expect(admin.deleteTopicRecords({ topic: 'js-delete', partitions: [{ partition: 0, offset: '11' }] })).rejects.toMatchObject({
      cause: { name: 'KafkaJSDeleteTopicRecordsError', partitions: [{ partition: 0, offset: '11', error: { type: 'OFFSET_OUT_OF_RANGE' } }] },
    });

    // librdkafka reads from the new start: the records below it are gone.
    const { stdout } = await kcat(['-C', '-b', t.bootstrap, '-t', 'js-delete', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\n']);
    expect(stdout.trim().split('\n').map(Number)).toEqual([6, 7, 8, 9]);
  });
});

describe('python3-confluent-kafka AdminClient', () => {
  const program = `
import json, sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource
admin = AdminClient({'bootstrap.servers': sys.argv[1]})
topic = sys.argv[2]

def alter(configs):
    futures = admin.alter_configs([ConfigResource('topic', topic, set_config=configs)], request_timeout=30)
    try:
        for future in futures.values():
            future.result()
        return 0
    except KafkaException as error:
        return error.args[0].code()

result = {'ok': alter({'retention.ms': '120000', 'cleanup.policy': 'compact'}), 'invalid': alter({'segment.bytes': '10'})}
# A dynamic broker config: the default of every topic that does not set its own.
for future in admin.alter_configs([ConfigResource('broker', '0', set_config={'log.segment.bytes': '2097152'})], request_timeout=30).values():
    future.result()
for future in admin.describe_configs([ConfigResource('topic', topic)], request_timeout=30).values():
    entries = future.result()
    result['configs'] = {name: [entries[name].value, entries[name].source] for name in ('retention.ms', 'cleanup.policy', 'segment.bytes')}
print(json.dumps(result))
`;

  it('alter_configs sets topic and broker configs (INVALID_CONFIG for a bad one), describe_configs reports where each comes from', async () => {
    await t.broker.createTopic('py-configs', { partitions: 1 });
    const result = await python(program, [t.bootstrap, 'py-configs']);
    expect(result).toEqual({
      ok: 0,
      invalid: 40,
      configs: {
        'retention.ms': ['120000', 1],
        'cleanup.policy': ['compact', 1],
        'segment.bytes': ['2097152', 2],
      },
    });
    expect(t.broker.topicMetadata('py-configs').configs).toEqual({ 'cleanup.policy': 'compact', 'retention.ms': '120000' });
    expect(t.broker.brokerConfigs('broker')).toEqual({ 'log.segment.bytes': '2097152' });
    await expect(t.broker.produce('py-configs', 0, encodeRecordBatch({ records: [{ key: null, value: Buffer.from('v'), timestampMs: Date.now() }] }), 1)).rejects.toThrow();
  });
});
