/**
 * Kafka protocol server throughput over loopback, 100-byte records to a 4-partition topic:
 *
 *  - kcat (librdkafka) producing N records from a file (`-P -l`), then consuming them back
 *    (`-C -e`), each timed from process start to exit;
 *  - kafkajs producing and a kafkajs consumer group reading back (fewer records: it is slower);
 *  - the peers measured in the same run, on the same broker: the embedded producer (Sluice's
 *    kafkajs-shaped client, no protocol), and the broker alone fed pre-built batches
 *    (BrokerApi.produce) and read with BrokerApi.fetch.
 *
 * Goal (PRODUCT.md): >= 1 M records/s produced with librdkafka.
 *
 *   npm run build && node dist/bench/server.bench.js [--records 1000000] [--kafkajs-records 200000]
 *     [--compression none|gzip|snappy|lz4|zstd] [--dir /path] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { COMPRESSION_TYPES, type CompressionType } from '../src/protocol/compression.js';
import { RecordBatchBuilder } from '../src/protocol/record-batch-builder.js';
import { forEachRecord } from '../src/protocol/record-batch-reader.js';
import { KafkaServer } from '../src/server/server.js';
import { Sluice } from '../src/sluice.js';
import { BENCH_RECORD_BYTES, benchmarkPayload } from '../src/perf/native-bench.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';

export interface ServerBenchOptions {
  /** Records kcat produces and consumes. Default 1,000,000. */
  records?: number;
  /** Records kafkajs produces and consumes. Default 200,000. */
  kafkajsRecords?: number;
  /** librdkafka's compression.codec. Default none. */
  compression?: CompressionType;
  /** Parent of the data directory. Default the OS temp dir. */
  dir?: string;
}

interface Rate {
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

export interface ServerBenchReport {
  environment: BenchEnvironment & { kcat: string };
  config: Required<Omit<ServerBenchOptions, 'dir'>> & { partitions: number; valueBytes: number };
  results: {
    kcatProduce: Rate;
    kcatConsume: Rate;
    kafkajsProduce: Rate;
    kafkajsConsume: Rate;
    embeddedProducer: Rate;
    brokerProduce: Rate;
    brokerFetch: Rate;
  };
}

const PARTITIONS = 4;
/** About 880 KB per batch: under the default max.message.bytes (1 MiB). */
const EMBEDDED_BATCH_RECORDS = 8_000;

function rate(records: number, startNs: bigint): Rate {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  return { records, seconds, recordsPerSec: records / seconds, mbPerSec: (records * BENCH_RECORD_BYTES) / seconds / 1e6 };
}

/** Runs kcat; resolves with the number of lines it printed. Arguments only, never a shell. */
export function runKcat(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

export function kcatVersion(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('kcat', ['-V'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', () => resolve('not installed'));
    child.on('close', () => {
      const match = /Version (\S+) .*librdkafka (\S+)/.exec(out);
      resolve(match === null ? 'unknown' : `${match[1]} (librdkafka ${match[2]})`);
    });
  });
}

/** Writes `records` 100-byte values of `payload` as lines, the file kcat -P -l sends one record per line of. */
export function writeKcatLines(file: string, payload: Buffer, records: number): void {
  if (payload.includes(10)) throw new Error('benchmark payload holds a newline: kcat would split records');
  const lines = Buffer.allocUnsafe(records * (BENCH_RECORD_BYTES + 1));
  for (let i = 0; i < records; i++) {
    payload.copy(lines, i * (BENCH_RECORD_BYTES + 1), i * BENCH_RECORD_BYTES, (i + 1) * BENCH_RECORD_BYTES);
    lines[i * (BENCH_RECORD_BYTES + 1) + BENCH_RECORD_BYTES] = 10;
  }
  writeFileSync(file, lines);
}

export async function runServerBench(options: ServerBenchOptions = {}): Promise<ServerBenchReport> {
  const environment = benchEnvironment();
  const records = options.records ?? 1_000_000;
  const kafkajsRecords = options.kafkajsRecords ?? 200_000;
  const compression = options.compression ?? 'none';
  const root = mkdtempSync(join(options.dir ?? os.tmpdir(), 'sluice-server-bench-'));
  const sluice = await Sluice.open({ dataDir: join(root, 'data'), groupInitialRebalanceDelayMs: 0 });
  const broker = sluice.broker;
  const server = new KafkaServer(broker, { port: 0, logger: { info: () => {}, warn: (message) => console.error(message) } });
  try {
    const { port } = await server.listen();
    const bootstrap = `127.0.0.1:${port}`;
    const payload = benchmarkPayload(records);

    // kcat: produce from a file of lines, then consume everything back.
    const file = join(root, 'records.txt');
    writeKcatLines(file, payload, records);
    await broker.createTopic('kcat-bench', { partitions: PARTITIONS });
    const kcatProduceStart = process.hrtime.bigint();
    await runKcat([
      '-b', bootstrap, '-P', '-t', 'kcat-bench', '-l', file,
      '-X', `compression.codec=${compression}`,
      '-X', 'linger.ms=5',
      '-X', 'batch.num.messages=10000',
      '-X', 'queue.buffering.max.messages=1000000',
    ]);
    const kcatProduce = rate(records, kcatProduceStart);
    let stored = 0;
    for (let p = 0; p < PARTITIONS; p++) stored += broker.partitionOffsets('kcat-bench', p).highWatermark;
    if (stored !== records) throw new Error(`kcat produced ${stored} records, expected ${records}`);
    const kcatConsumeStart = process.hrtime.bigint();
    const consumed = await runKcat(['-b', bootstrap, '-C', '-t', 'kcat-bench', '-e', '-q', '-f', '%o\n', '-X', 'fetch.max.bytes=52428800']);
    const kcatConsume = rate(consumed, kcatConsumeStart);
    if (consumed !== records) throw new Error(`kcat consumed ${consumed} records, expected ${records}`);

    // kafkajs: sends of 10,000 messages, acks 1, then a consumer group reading everything.
    await broker.createTopic('kafkajs-bench', { partitions: PARTITIONS });
    const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ value: payload.subarray(i * BENCH_RECORD_BYTES, (i + 1) * BENCH_RECORD_BYTES) }));
    const kafkajsProduceStart = process.hrtime.bigint();
    for (let sent = 0; sent < kafkajsRecords; sent += messages.length) {
      await producer.send({ topic: 'kafkajs-bench', acks: 1, messages: messages.slice(0, Math.min(messages.length, kafkajsRecords - sent)) });
    }
    const kafkajsProduce = rate(kafkajsRecords, kafkajsProduceStart);
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'bench', maxBytes: 50 << 20, maxBytesPerPartition: 10 << 20 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'kafkajs-bench', fromBeginning: true });
    const kafkajsConsumeStart = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            seen += batch.messages.length;
            if (seen >= kafkajsRecords) resolve();
          },
        })
        .catch(reject);
    });
    const kafkajsConsume = rate(kafkajsRecords, kafkajsConsumeStart);
    await consumer.disconnect();

    // The embedded producer, same records, no protocol.
    await broker.createTopic('embedded-producer-bench', { partitions: PARTITIONS });
    const embedded = sluice.producer({ batchSize: 512 * 1024, bufferMemory: 64 * 1024 * 1024 });
    const embeddedProducerStart = process.hrtime.bigint();
    const sends: Promise<unknown>[] = [];
    for (let sent = 0; sent < records; sent += messages.length) {
      // The same 10,000 messages again and again, as the kafkajs run sends them.
      const count = Math.min(messages.length, records - sent);
      sends.push(embedded.send({ topic: 'embedded-producer-bench', messages: count === messages.length ? messages : messages.slice(0, count) }));
      // A few sends in flight, as an application would keep.
      if (sends.length >= 8) await sends.shift();
    }
    await Promise.all(sends);
    await embedded.flush();
    const embeddedProducer = rate(records, embeddedProducerStart);
    await embedded.disconnect();

    // The broker alone, same records, pre-built batches.
    await broker.createTopic('embedded-bench', { partitions: PARTITIONS });
    const builder = new RecordBatchBuilder();
    const batches: Buffer[] = [];
    for (let i = 0; i < records; i += EMBEDDED_BATCH_RECORDS) {
      builder.reset();
      for (let r = i; r < Math.min(records, i + EMBEDDED_BATCH_RECORDS); r++) {
        builder.append(null, payload.subarray(r * BENCH_RECORD_BYTES, (r + 1) * BENCH_RECORD_BYTES), null, 1_700_000_000_000);
      }
      batches.push(Buffer.from(builder.build()));
    }
    const brokerProduceStart = process.hrtime.bigint();
    await Promise.all(batches.map((batch, i) => broker.produce('embedded-bench', i % PARTITIONS, batch, 1)));
    const brokerProduce = rate(records, brokerProduceStart);
    const brokerFetchStart = process.hrtime.bigint();
    let read = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      for (let offset = 0; ; ) {
        const result = broker.fetch('embedded-bench', p, offset, 8 << 20, 'read_uncommitted');
        if (result.records.length === 0) break;
        forEachRecord(result.records, () => {
          read++;
        });
        offset = result.nextOffset;
      }
    }
    const brokerFetch = rate(read, brokerFetchStart);

    return {
      environment: { ...environment, kcat: await kcatVersion() },
      config: { records, kafkajsRecords, compression, partitions: PARTITIONS, valueBytes: BENCH_RECORD_BYTES },
      results: { kcatProduce, kcatConsume, kafkajsProduce, kafkajsConsume, embeddedProducer, brokerProduce, brokerFetch },
    };
  } finally {
    await server.close();
    await sluice.close();
    rmSync(root, { recursive: true, force: true });
  }
}

function formatReport(report: ServerBenchReport): string {
  const { environment: env, config, results } = report;
  const row = (name: string, r: Rate) =>
    `  ${name.padEnd(34)} ${(r.recordsPerSec / 1e6).toFixed(2).padStart(6)} M records/s  ${r.mbPerSec.toFixed(0).padStart(5)} MB/s  (${r.records} in ${r.seconds.toFixed(2)} s)`;
  return [
    'Kafka protocol server over loopback',
    `environment: ${describeEnvironment(env)}, kcat ${env.kcat}`,
    `  ${config.partitions} partitions, ${config.valueBytes}-byte values, kcat compression ${config.compression}`,
    row('kcat produce (-P -l file)', results.kcatProduce),
    row('kcat consume (-C -e)', results.kcatConsume),
    row('kafkajs produce (acks 1)', results.kafkajsProduce),
    row('kafkajs consume (group, eachBatch)', results.kafkajsConsume),
    row('peer: embedded producer.send', results.embeddedProducer),
    row('peer: broker.produce, built batches', results.brokerProduce),
    row('peer: broker.fetch + decode', results.brokerFetch),
    `  goal: kcat produce >= 1 M records/s: ${results.kcatProduce.recordsPerSec >= 1e6 ? 'met' : 'not met'}`,
  ].join('\n');
}

const USAGE = 'node dist/bench/server.bench.js [--records N] [--kafkajs-records N] [--compression none|gzip|snappy|lz4|zstd] [--dir DIR] [--json]';

function parseArgs(argv: string[]): { options: ServerBenchOptions; json: boolean } {
  const flags = parseBenchArgs(
    argv,
    {
      records: { type: 'positive-integer' },
      'kafkajs-records': { type: 'positive-integer' },
      compression: { type: 'string', choices: COMPRESSION_TYPES },
      dir: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const options: ServerBenchOptions = {
    records: flags.records,
    kafkajsRecords: flags['kafkajs-records'],
    compression: flags.compression as ServerBenchOptions['compression'],
    dir: flags.dir,
  };
  return { options, json: flags.json };
}

if (isMainModule(import.meta.url)) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const report = await runServerBench(options);
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
}
