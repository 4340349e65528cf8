/**
 * The registry's storage, as Confluent keeps it: one compacted single-partition topic, _schemas,
 * is the source of truth. On start the registry reads it from the beginning to its end and
 * rebuilds its state; each change is written there first (acks=all) and applied once written.
 *
 * Two ways to reach the topic: an embedded Sluice (a data directory, or the broker `sluice serve`
 * runs) through its own producer and consumer, or a Kafka server through kafkajs.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { BrokerApi } from '../broker/broker-api.js';
import { Admin } from '../client/admin.js';
import { Consumer } from '../client/consumer.js';
import { Producer } from '../client/producer.js';

export const SCHEMAS_TOPIC = '_schemas';

/** The topic's configs: compacted, so a key's latest record is what survives, as Confluent sets it. */
const SCHEMAS_TOPIC_CONFIGS = [{ name: 'cleanup.policy', value: 'compact' }];

export interface SchemaLogRecord {
  key: Buffer;
  /** Null: a tombstone, which removes the key. */
  value: Buffer | null;
}

export interface SchemaLog {
  /** Hands every record from the start of the topic to its end (as of the call) to `apply`, in order. */
  replay(apply: (record: SchemaLogRecord) => void): Promise<void>;
  /** Resolves once the record is written with acks=all. */
  append(record: SchemaLogRecord): Promise<void>;
  close(): Promise<void>;
}

/**
 * The topic in an embedded broker (a Sluice's, or the one `sluice serve` runs), through Sluice's
 * own clients; closing the log leaves the broker open (its owner closes it).
 */
export async function embeddedSchemaLog(broker: BrokerApi, topic = SCHEMAS_TOPIC): Promise<SchemaLog> {
  const admin = new Admin(broker);
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: SCHEMAS_TOPIC_CONFIGS }] });
  const producer = new Producer(broker, { acks: -1 });
  await producer.connect();
  return {
    async replay(apply) {
      const [{ high, low }] = await admin.fetchTopicOffsets(topic);
      if (high <= low) return;
      const consumer = new Consumer(broker);
      try {
        await consumer.connect();
        consumer.assign([{ topic, partition: 0, offset: low }]);
        await new Promise<void>((resolve, reject) => {
          consumer.on(consumer.events.CRASH, (event: { payload: { error: Error } }) => reject(event.payload.error));
          consumer
            .run({
              eachMessage: async ({ message }) => {
                apply({ key: message.key ?? Buffer.alloc(0), value: message.value });
                if (message.offset + 1 >= high) resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
    },
    async append(record) {
      await producer.send({ topic, messages: [{ key: record.key, value: record.value }] });
    },
    async close() {
      await producer.disconnect();
    },
  };
}

/** The topic on a Kafka server (a `sluice serve`, or any Kafka cluster), through kafkajs. */
export async function kafkaSchemaLog(bootstrapServer: string, topic = SCHEMAS_TOPIC): Promise<SchemaLog> {
  const kafka = new Kafka({ clientId: 'sluice-schema-registry', brokers: [bootstrapServer], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: SCHEMAS_TOPIC_CONFIGS }], waitForLeaders: true });
  } catch (error) {
    await admin.disconnect();
    throw error;
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
  await producer.connect();
  return {
    async replay(apply) {
      const [{ high, low }] = await admin.fetchTopicOffsets(topic);
      const end = Number(high);
      if (end <= Number(low)) return;
      // A group of its own that commits nothing: kafkajs reads only through a group.
      const consumer = kafka.consumer({ groupId: `sluice-schema-registry-${randomUUID()}` });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
          consumer
            .run({
              autoCommit: false,
              eachMessage: async ({ message }) => {
                apply({ key: message.key ?? Buffer.alloc(0), value: message.value });
                if (Number(message.offset) + 1 >= end) resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
    },
    async append(record) {
      await producer.send({ topic, acks: -1, messages: [{ key: record.key, value: record.value }] });
    },
    async close() {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}
