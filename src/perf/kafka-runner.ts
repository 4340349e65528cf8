/**
 * Runs a perf workload over the Kafka protocol with kafkajs, against any server at
 * --bootstrap-server (Sluice's `serve`, or Apache Kafka for a side-by-side figure). The modes
 * mean what they mean embedded (see embedded-runner.ts), with kafkajs's model:
 *   - kafkajs has no accumulator: each send() is one produce request holding one batch per
 *     partition, so --send-records sizes the batches;
 *   - the consumer is a group member (kafkajs has no manual assignment); consume timing starts
 *     at the first batch received, so the group join is not counted; e2e starts producing once
 *     the consumer has joined, and counts only records at or past the end offsets noted before.
 */
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import type { Admin as KafkaAdmin, Consumer as KafkaConsumer, Kafka as KafkaClient } from 'kafkajs';
import { kafkajsCompressionType, registerKafkajsCodecs } from '../client/kafkajs-codecs.js';
import { InvalidConfigError } from '../errors.js';
import type { PerfConfig } from './config.js';
import { LatencyRecorder } from './latency.js';
import { RuntimeMonitor } from './runtime-monitor.js';
import { ConsumeTarget, type Measurement, type ProgressFn } from './measurement.js';
import { readSendTime } from './send-time.js';
import { runSendLoop, type SendFn } from './send-loop.js';
import { TransactionalSender } from './transactional-sender.js';

const { Kafka, logLevel } = kafkajs;

export async function runOverKafka(config: PerfConfig, payloads: readonly Buffer[], progress: ProgressFn): Promise<Measurement> {
  registerKafkajsCodecs(kafkajs);
  const kafka = new Kafka({
    clientId: 'sluice-perf',
    brokers: [config.bootstrapServer!],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const partitions = await ensureTopic(admin, config.topic, config.partitions);
    switch (config.mode) {
      case 'produce':
        return await produce(kafka, config, partitions, payloads, progress);
      case 'consume':
        return await consume(kafka, admin, config, partitions, payloads, progress);
      case 'e2e':
        return await endToEnd(kafka, admin, config, partitions, payloads, progress);
    }
  } finally {
    await admin.disconnect();
  }
}


async function ensureTopic(admin: KafkaAdmin, topic: string, partitions: number): Promise<number> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  if (created) return partitions;
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const existing = metadata.topics[0].partitions.length;
  if (existing !== partitions) {
    throw new InvalidConfigError(`topic "${topic}" exists with ${existing} partitions; run with --partitions ${existing} or another --topic`);
  }
  return existing;
}

async function connectedSender(kafka: KafkaClient, config: PerfConfig, acks: number): Promise<{ send: SendFn; disconnect(): Promise<void> }> {
  // kafkajs's idempotent producer asks the server for a producer id (InitProducerId) and numbers
  // its batches; a transactional one also needs a transactional id and sends inside transactions.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: config.idempotent,
    ...(config.transactional ? { transactionalId: `sluice-perf-${process.pid}-${Date.now()}`, maxInFlightRequests: 1 } : {}),
  });
  await producer.connect();
  const compression = kafkajsCompressionType(kafkajs, config.compression);
  if (!config.transactional) {
    return {
      send: (messages) => producer.send({ topic: config.topic, messages, acks, compression }),
      disconnect: () => producer.disconnect(),
    };
  }
  const sender = new TransactionalSender(
    {
      transaction: async () => {
        const transaction = await producer.transaction();
        return {
          send: (record) => transaction.send({ ...record, acks, compression }),
          commit: () => transaction.commit(),
        };
      },
    },
    config.topic,
    config.transactionDurationMs!,
  );
  return {
    send: sender.send,
    disconnect: async () => {
      await sender.finish();
      await producer.disconnect();
    },
  };
}

function loopSettings(config: PerfConfig, partitions: number, payloads: readonly Buffer[]) {
  return { records: config.records, partitions, sendRecords: config.sendRecords, sendsInFlight: config.sendsInFlight, throughput: config.throughput, payloads };
}

async function produce(kafka: KafkaClient, config: PerfConfig, partitions: number, payloads: readonly Buffer[], progress: ProgressFn): Promise<Measurement> {
  const sender = await connectedSender(kafka, config, config.acks);
  const latency = new LatencyRecorder();
  try {
    const sent = await runSendLoop(sender.send, { ...loopSettings(config, partitions, payloads), stampValues: false, recorder: latency, onProgress: progress });
    return { records: sent.records, bytes: sent.bytes, seconds: (sent.endMs - sent.startMs) / 1000, latency, runtime: null, partitions };
  } finally {
    await sender.disconnect();
  }
}

async function endOffsets(admin: KafkaAdmin, topic: string, partitions: number): Promise<{ start: number[]; end: number[] }> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const start = new Array<number>(partitions).fill(0);
  const end = new Array<number>(partitions).fill(0);
  for (const entry of offsets) {
    start[entry.partition] = Number(entry.low);
    end[entry.partition] = Number(entry.high);
  }
  return { start, end };
}

async function consume(
  kafka: KafkaClient,
  admin: KafkaAdmin,
  config: PerfConfig,
  partitions: number,
  payloads: readonly Buffer[],
  progress: ProgressFn,
): Promise<Measurement> {
  const before = await endOffsets(admin, config.topic, partitions);
  let stored = 0;
  for (let p = 0; p < partitions; p++) stored += before.end[p] - before.start[p];
  if (stored < config.records) {
    const sender = await connectedSender(kafka, config, 1);
    try {
      await runSendLoop(sender.send, { ...loopSettings(config, partitions, payloads), records: config.records - stored, throughput: -1, stampValues: false, recorder: null });
    } finally {
      await sender.disconnect();
    }
  }
  let records = 0;
  let bytes = 0;
  let startMs = -1;
  const consumer = kafka.consumer({ groupId: uniqueGroupId() });
  const endMs = await consumeUntil(consumer, config.topic, config.records, null, (messages) => {
    if (startMs < 0) startMs = performance.now();
    for (const message of messages) bytes += message.value === null ? 0 : message.value.length;
    records += messages.length;
    progress(records);
    return records;
  });
  return { records, bytes, seconds: (endMs - startMs) / 1000, latency: null, runtime: null, partitions };
}

async function endToEnd(
  kafka: KafkaClient,
  admin: KafkaAdmin,
  config: PerfConfig,
  partitions: number,
  payloads: readonly Buffer[],
  progress: ProgressFn,
): Promise<Measurement> {
  const { end: firstNew } = await endOffsets(admin, config.topic, partitions);
  const latency = new LatencyRecorder();
  let received = 0;
  let bytes = 0;
  const consumer = kafka.consumer({ groupId: uniqueGroupId(), maxWaitTimeInMs: 100 });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  const abort = new AbortController();
  const consumed = consumeUntil(consumer, config.topic, config.records, abort.signal, (messages, partition) => {
    const nowMs = performance.now();
    const from = firstNew[partition];
    for (const message of messages) {
      if (Number(message.offset) < from || message.value === null) continue;
      latency.recordMs(nowMs - readSendTime(message.value));
      bytes += message.value.length;
      received++;
    }
    progress(received);
    return received;
  });
  let startMs: number;
  let monitor: RuntimeMonitor | null = null;
  try {
    await Promise.race([joined, consumed]);
    const sender = await connectedSender(kafka, config, config.acks);
    monitor = new RuntimeMonitor();
    try {
      const sent = await runSendLoop(sender.send, { ...loopSettings(config, partitions, payloads), stampValues: true, recorder: null });
      startMs = sent.startMs;
    } finally {
      await sender.disconnect();
    }
  } catch (error) {
    monitor?.stop();
    abort.abort();
    await consumed.catch(() => {});
    throw error;
  }
  let endMs: number;
  try {
    endMs = await consumed;
  } catch (error) {
    monitor.stop();
    throw error;
  }
  const runtime = monitor.stop();
  return { records: received, bytes, seconds: (endMs - startMs) / 1000, latency, runtime, partitions };
}

function uniqueGroupId(): string {
  return `sluice-perf-${process.pid}-${Date.now()}`;
}

interface KafkaMessageView {
  offset: string;
  value: Buffer | null;
}

/** As embedded-runner's: runs until `onMessages` reports `target` records; resolves with the time that happened. */
async function consumeUntil(
  consumer: KafkaConsumer,
  topic: string,
  target: number,
  signal: AbortSignal | null,
  onMessages: (messages: readonly KafkaMessageView[], partition: number) => number,
): Promise<number> {
  const run = new ConsumeTarget(target, signal);
  consumer.on(consumer.events.CRASH, (event) => run.fail(event.payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (!run.reached) run.progress(onMessages(batch.messages, batch.partition));
      },
    });
    return await run.finished();
  } finally {
    run.dispose();
    await consumer.disconnect();
  }
}
