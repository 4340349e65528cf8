/**
 * Runs a perf workload against Sluice embedded in this process: the kafkajs-shaped producer and
 * consumer of `Sluice.open`, over the data directory the caller provides.
 *
 *   produce  the send loop through the producer (idempotent, or sending in transactions, when
 *            asked); latency from send() to acknowledgement.
 *   consume  fills the topic first if it holds fewer than `records` records (not timed), then
 *            reads `records` records from the start of every partition, each one decoded and
 *            its value looked at; no latency (e2e measures delivery latency).
 *   e2e      a consumer positioned at the end of the log reads while the producer writes;
 *            latency is the consumer's hand-out time minus the send time carried in the value.
 */
import { performance } from 'node:perf_hooks';
import { Sluice } from '../sluice.js';
import { InvalidConfigError } from '../errors.js';
import { DEFAULT_BUFFER_MEMORY, DEFAULT_MAX_REQUEST_SIZE } from '../client/producer.js';
import type { Consumer } from '../client/consumer.js';
import type { PerfConfig } from './config.js';
import { LatencyRecorder } from './latency.js';
import { ConsumeTarget, type Measurement, type ProgressFn } from './measurement.js';
import { RuntimeMonitor } from './runtime-monitor.js';
import { readSendTime } from './send-time.js';
import { runSendLoop, type SendFn } from './send-loop.js';
import { TransactionalSender } from './transactional-sender.js';
import { produceOnThreads } from './producer-threads.js';

/** Room the producer needs for the record framing and batch header around the largest value. */
const RECORD_OVERHEAD_BYTES = 1024;

export async function runEmbedded(config: PerfConfig, dataDir: string, payloads: readonly Buffer[], progress: ProgressFn): Promise<Measurement> {
  const sluice = await Sluice.open(config.shards === null ? { dataDir } : { dataDir, shards: config.shards });
  try {
    const partitions = await ensureTopic(sluice, config.topic, config.partitions);
    switch (config.mode) {
      case 'produce':
        return await produce(sluice, config, partitions, payloads, progress);
      case 'consume':
        return await consume(sluice, config, partitions, payloads, progress);
      case 'e2e':
        return await endToEnd(sluice, config, partitions, payloads, progress);
    }
  } finally {
    await sluice.close();
  }
}

/** Creates the topic, or checks that an existing one has the partitions asked for. Returns the count. */
async function ensureTopic(sluice: Sluice, topic: string, partitions: number): Promise<number> {
  const created = await sluice.admin().createTopics({ topics: [{ topic, numPartitions: partitions }] });
  if (created) return partitions;
  const existing = sluice.broker.topicMetadata(topic).partitionCount;
  if (existing !== partitions) {
    throw new InvalidConfigError(`topic "${topic}" exists with ${existing} partitions; run with --partitions ${existing} or another --topic`);
  }
  return existing;
}

/** The producer under test, with the send function the loop calls and what ends the run. */
export interface RunningProducer {
  send: SendFn;
  /** Commits the open transaction (transactional runs), then disconnects. */
  close(): Promise<void>;
}

/** Where a producer comes from: the opening thread's Sluice, or an AttachedSluice on a producer thread. */
export type ProducerSource = Pick<Sluice, 'producer'>;

/**
 * `fill` makes the plain acks-1 producer that loads a topic before a consume run; otherwise the
 * producer is configured as the run asks, transactional sends included.
 */
export function openProducer(sluice: ProducerSource, config: PerfConfig, fill = false): RunningProducer {
  const batchSize = config.batchSizeBytes!;
  const largestValue = config.recordSizeBytes + RECORD_OVERHEAD_BYTES;
  const producer = sluice.producer({
    batchSize,
    lingerMs: config.lingerMs!,
    compression: config.compression,
    acks: fill ? 1 : config.acks,
    // The defaults, widened when a batch or a record would not fit in them.
    bufferMemory: Math.max(DEFAULT_BUFFER_MEMORY, 4 * batchSize),
    maxRequestSize: Math.max(DEFAULT_MAX_REQUEST_SIZE, largestValue),
    ...(fill ? {} : { idempotent: config.idempotent }),
    ...(fill || !config.transactional ? {} : { transactionalId: `sluice-perf-${process.pid}-${Date.now()}` }),
  });
  if (fill || !config.transactional) {
    return { send: (messages) => producer.send({ topic: config.topic, messages }), close: () => producer.disconnect() };
  }
  const transactions = new TransactionalSender(producer, config.topic, config.transactionDurationMs!);
  return {
    send: transactions.send,
    close: async () => {
      try {
        await transactions.finish();
      } finally {
        await producer.disconnect();
      }
    },
  };
}

async function produce(sluice: Sluice, config: PerfConfig, partitions: number, payloads: readonly Buffer[], progress: ProgressFn): Promise<Measurement> {
  if (config.producerThreads !== null) return produceOnThreads(sluice, config, partitions, payloads, progress);
  const producer = openProducer(sluice, config);
  const latency = new LatencyRecorder();
  // The producer runs on this thread: its time queued for a core and its GC pauses bound the rate.
  const monitor = new RuntimeMonitor();
  let sent;
  try {
    sent = await runSendLoop(producer.send, {
      ...loopSettings(config, partitions, payloads),
      stampValues: false,
      recorder: latency,
      onProgress: progress,
    });
    // A transactional run is done once its last transaction is committed.
    await producer.close();
  } catch (error) {
    monitor.stop();
    throw error;
  }
  const endMs = performance.now();
  const runtime = monitor.stop();
  return { records: sent.records, bytes: sent.bytes, seconds: (endMs - sent.startMs) / 1000, latency, runtime, partitions };
}

async function consume(sluice: Sluice, config: PerfConfig, partitions: number, payloads: readonly Buffer[], progress: ProgressFn): Promise<Measurement> {
  let stored = 0;
  for (let p = 0; p < partitions; p++) {
    const offsets = sluice.broker.partitionOffsets(config.topic, p);
    stored += offsets.highWatermark - offsets.logStartOffset;
  }
  if (stored < config.records) {
    // Fill at full speed with acks 1; only the read below is timed.
    const producer = openProducer(sluice, config, true);
    await runSendLoop(producer.send, {
      ...loopSettings(config, partitions, payloads),
      records: config.records - stored,
      throughput: -1,
      stampValues: false,
      recorder: null,
    });
    await producer.close();
  }
  const consumer = sluice.consumer({ autoOffsetReset: 'earliest' });
  consumer.assign(
    Array.from({ length: partitions }, (_, partition) => ({
      topic: config.topic,
      partition,
      offset: sluice.broker.partitionOffsets(config.topic, partition).logStartOffset,
    })),
  );
  let records = 0;
  let bytes = 0;
  const startMs = performance.now();
  const endMs = await consumeUntil(consumer, config.records, null, (messages) => {
    for (let i = 0; i < messages.length; i++) bytes += messages[i].valueSize;
    records += messages.length;
    progress(records);
    return records;
  });
  return { records, bytes, seconds: (endMs - startMs) / 1000, latency: null, runtime: null, partitions };
}

async function endToEnd(sluice: Sluice, config: PerfConfig, partitions: number, payloads: readonly Buffer[], progress: ProgressFn): Promise<Measurement> {
  const consumer = sluice.consumer();
  consumer.assign(
    Array.from({ length: partitions }, (_, partition) => ({
      topic: config.topic,
      partition,
      offset: sluice.broker.partitionOffsets(config.topic, partition).highWatermark,
    })),
  );
  const latency = new LatencyRecorder();
  let received = 0;
  let bytes = 0;
  const abort = new AbortController();
  const consumed = consumeUntil(consumer, config.records, abort.signal, (messages) => {
    // The batch is handed out at once: every record in it arrives now.
    const nowMs = performance.now();
    for (let i = 0; i < messages.length; i++) {
      const value = messages[i].value!;
      latency.recordMs(nowMs - readSendTime(value));
      bytes += value.length;
    }
    received += messages.length;
    progress(received);
    return received;
  });
  const producer = openProducer(sluice, config);
  const stages = { sendCall: new LatencyRecorder(), acknowledged: new LatencyRecorder() };
  const monitor = new RuntimeMonitor();
  let sent;
  try {
    sent = await runSendLoop(producer.send, {
      ...loopSettings(config, partitions, payloads),
      stampValues: true,
      recorder: stages.acknowledged,
      lagRecorder: stages.sendCall,
    });
    await producer.close();
  } catch (error) {
    monitor.stop();
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
  return { records: received, bytes, seconds: (endMs - sent.startMs) / 1000, latency, runtime, partitions, stages };
}

export function loopSettings(config: PerfConfig, partitions: number, payloads: readonly Buffer[]) {
  return {
    records: config.records,
    partitions,
    sendRecords: config.sendRecords,
    sendsInFlight: config.sendsInFlight,
    throughput: config.throughput,
    payloads,
  };
}

interface CountedMessage {
  readonly valueSize: number;
  readonly value: Buffer | null;
}

/** Runs the consumer until `onMessages` reports `target` records, then stops it; resolves with the time that happened. */
async function consumeUntil(
  consumer: Consumer,
  target: number,
  signal: AbortSignal | null,
  onMessages: (messages: readonly CountedMessage[]) => number,
): Promise<number> {
  const run = new ConsumeTarget(target, signal);
  consumer.on('consumer.crash', (event: { payload: { error: unknown } }) => run.fail(event.payload.error));
  try {
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        if (!run.reached) run.progress(onMessages(batch.messages));
      },
    });
    return await run.finished();
  } finally {
    run.dispose();
    await consumer.disconnect();
  }
}
