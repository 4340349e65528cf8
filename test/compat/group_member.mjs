// One member of a consumer group, run as its own process by the compatibility suite so that it can
// be killed with SIGKILL: joins GROUP subscribed to TOPIC from the earliest offset and runs until
// killed, printing each record it reads as "topic\tpartition\toffset\tkey\tvalue\n" once its offset
// is committed.
// argv: kafkajs|platformatic|confluent BOOTSTRAP GROUP TOPIC SESSION_TIMEOUT_MS HEARTBEAT_INTERVAL_MS
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [client, bootstrap, groupId, topic, sessionTimeoutArg, heartbeatIntervalArg] = process.argv.slice(2);
const sessionTimeout = Number(sessionTimeoutArg);
const heartbeatInterval = Number(heartbeatIntervalArg);

function report(topicName, partition, offset, key, value) {
  process.stdout.write(`${topicName}\t${partition}\t${offset}\t${key}\t${value}\n`);
}

async function kafkajs() {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({ clientId: 'compat-member', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, sessionTimeout, heartbeatInterval, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic: name, partition, message }) => {
      await consumer.commitOffsets([{ topic: name, partition, offset: String(Number(message.offset) + 1) }]);
      report(name, partition, message.offset, String(message.key), String(message.value));
    },
  });
}

async function platformatic() {
  const { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, stringDeserializers } = await import('@platformatic/kafka');
  const consumer = new Consumer({
    bootstrapBrokers: [bootstrap],
    clientId: 'compat-member',
    groupId,
    sessionTimeout,
    heartbeatInterval,
    maxWaitTime: 250,
    deserializers: stringDeserializers,
  });
  // From the committed offsets (its EARLIEST mode would start every assigned partition over).
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
  });
  for await (const message of stream) {
    await message.commit();
    report(message.topic, message.partition, message.offset, message.key, message.value);
  }
}

async function confluent() {
  const { KafkaJS } = require('@confluentinc/kafka-javascript');
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [bootstrap], clientId: 'compat-member', logLevel: KafkaJS.logLevel.NOTHING } });
  const consumer = kafka.consumer({
    kafkaJS: { groupId, fromBeginning: true, autoCommit: false, sessionTimeout, heartbeatInterval },
    'fetch.wait.max.ms': 250,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachMessage: async ({ topic: name, partition, message }) => {
      await consumer.commitOffsets([{ topic: name, partition, offset: String(Number(message.offset) + 1) }]);
      report(name, partition, message.offset, String(message.key), String(message.value));
    },
  });
}

const clients = { kafkajs, platformatic, confluent };
if (!(client in clients)) throw new Error(`unknown client ${client}: give one of ${Object.keys(clients).join(', ')}`);
await clients[client]();
