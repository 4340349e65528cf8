/**
 * Embedded produce and consume throughput through the kafkajs-shaped clients: 100-byte records
 * to 1 partition on 1 shard, then to 4 partitions over 2 shards, each consumed back from the
 * start. Measured in the same run, as the reference for client overhead: the broker alone, fed
 * pre-built batches (BrokerApi.produce) and read with fetch + forEachRecord.
 *
 *   npm run build && node dist/bench/produce-consume.bench.js [--records 2000000] [--value-bytes 100]
 *     [--batch-kib 512] [--linger-ms 0] [--compression none|gzip|snappy|lz4|zstd] [--dir /path] [--json]
 *
 * Goals (PRODUCT.md): 5 M records/s produced, 10 M records/s consumed (every record decoded),
 * 2 shards >= 1.6 x 1 shard. Each scenario uses a fresh data directory, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Sluice } from '../src/sluice.js';
import type { Message } from '../src/client/producer.js';
import { RecordBatchBuilder } from '../src/protocol/record-batch-builder.js';
import { forEachRecord } from '../src/protocol/record-batch-reader.js';
import { COMPRESSION_CODEC_IDS, type CompressionType } from '../src/protocol/compression.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';

export interface ProduceConsumeBenchOptions {
  /** Records per scenario. Default 2,000,000. */
  records?: number;
  /** Default 100. */
  valueBytes?: number;
  /** Producer batchSize. Default 512 KiB: a throughput setting. */
  batchBytes?: number;
  lingerMs?: number;
  compression?: CompressionType;
  /** Parent directory of the data directories. Default the OS temp dir. */
  dir?: string;
}

export interface Rate {
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

export interface ScenarioResult {
  name: string;
  shards: number;
  partitions: number;
  produce: Rate;
  consume: Rate;
  brokerOnlyProduce: Rate;
  brokerOnlyConsume: Rate;
}

export interface ProduceConsumeReport {
  environment: BenchEnvironment & { dataDir: string };
  config: Required<Omit<ProduceConsumeBenchOptions, 'dir'>> & { sendSize: number; sendsInFlight: number };
  results: ScenarioResult[];
  /** 2-shard / 1-shard records per second. */
  scaling: { produce: number; consume: number };
  goals: { produceRecordsPerSec: number; consumeRecordsPerSec: number; twoShardScaling: number };
}

/** Records per send() call and sends kept outstanding: large sends, as a throughput client makes. */
const SEND_SIZE = 10_000;
const SENDS_IN_FLIGHT = 8;

function rate(records: number, bytes: number, startNs: bigint): Rate {
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  return { seconds, recordsPerSec: records / seconds, mbPerSec: bytes / seconds / 1e6 };
}

async function runScenario(
  name: string,
  shards: number,
  partitions: number,
  options: Required<Omit<ProduceConsumeBenchOptions, 'dir'>>,
  parentDir: string,
): Promise<ScenarioResult> {
  const dataDir = mkdtempSync(join(parentDir, 'sluice-produce-consume-bench-'));
  const sluice = await Sluice.open({ dataDir, shards });
  try {
    const { records, valueBytes } = options;
    const payloadBytes = records * valueBytes;
    await sluice.admin().createTopics({ topics: [{ topic: 'bench', numPartitions: partitions }, { topic: 'bench-raw', numPartitions: partitions }] });

    // Through the producer: keyless records, explicit partitions in turn so every partition gets its share.
    const value = Buffer.alloc(valueBytes, 0x61);
    const sendArrays: Message[][] = Array.from({ length: partitions }, (_, partition) =>
      Array.from({ length: SEND_SIZE }, () => ({ value, partition })),
    );
    const producer = sluice.producer({ batchSize: options.batchBytes, lingerMs: options.lingerMs, compression: options.compression, bufferMemory: 64 * 1024 * 1024 });
    let sendsLeft = Math.ceil(records / SEND_SIZE);
    let nextSend = 0;
    const produceStart = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: SENDS_IN_FLIGHT }, async () => {
        while (sendsLeft > 0) {
          sendsLeft--;
          await producer.send({ topic: 'bench', messages: sendArrays[nextSend++ % partitions] });
        }
      }),
    );
    await producer.flush();
    const produce = rate(records, payloadBytes, produceStart);
    const produced = Math.ceil(records / SEND_SIZE) * SEND_SIZE;

    // Through the consumer: every record decoded into a message and its value looked at.
    // Kafka's default fetch sizes (1 MiB per partition): larger fetches keep more messages alive
    // at once and cost more in garbage collection than they save in fetches.
    const consumer = sluice.consumer();
    consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic: 'bench', partition, offset: 0 })));
    let consumed = 0;
    let checksum = 0;
    const consumeStart = process.hrtime.bigint();
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: ({ batch }) => {
          const messages = batch.messages;
          for (let i = 0; i < messages.length; i++) checksum += messages[i].valueSize;
          consumed += messages.length;
          if (consumed >= produced) resolve();
        },
      });
    });
    await done;
    const consume = rate(consumed, consumed * valueBytes, consumeStart);
    await consumer.disconnect();
    if (checksum !== consumed * valueBytes) throw new Error(`consumed values sum to ${checksum} bytes, expected ${consumed * valueBytes}`);

    // The broker alone: the same records as pre-built 512 KiB batches, then fetch + forEachRecord.
    const broker = sluice.broker;
    const builder = new RecordBatchBuilder({ initialCapacityBytes: options.batchBytes, compression: options.compression });
    const nowMs = Date.now();
    while (builder.sizeBytes + valueBytes + 16 <= options.batchBytes) builder.append(null, value, null, nowMs);
    const perBatch = builder.recordCount;
    const batch = Buffer.from(builder.build());
    const batchCount = Math.ceil(records / perBatch);
    const rawStart = process.hrtime.bigint();
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < batchCount; i++) {
      inFlight.push(broker.produce('bench-raw', i % partitions, batch, -1));
      if (inFlight.length >= SENDS_IN_FLIGHT * partitions) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const brokerOnlyProduce = rate(batchCount * perBatch, batchCount * perBatch * valueBytes, rawStart);
    let rawRecords = 0;
    const rawReadStart = process.hrtime.bigint();
    for (let partition = 0; partition < partitions; partition++) {
      let offset = 0;
      for (;;) {
        const fetched = broker.fetch('bench-raw', partition, offset, 1024 * 1024, 'read_uncommitted');
        if (fetched.records.length === 0) break;
        forEachRecord(fetched.records, (record) => {
          rawRecords++;
          checksum += record.valueLength;
        });
        offset = fetched.nextOffset;
      }
    }
    const brokerOnlyConsume = rate(rawRecords, rawRecords * valueBytes, rawReadStart);
    await producer.disconnect();
    return { name, shards, partitions, produce, consume, brokerOnlyProduce, brokerOnlyConsume };
  } finally {
    await sluice.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runProduceConsumeBench(options: ProduceConsumeBenchOptions = {}): Promise<ProduceConsumeReport> {
  const environment = benchEnvironment();
  const config = {
    records: options.records ?? 2_000_000,
    valueBytes: options.valueBytes ?? 100,
    batchBytes: options.batchBytes ?? 512 * 1024,
    lingerMs: options.lingerMs ?? 0,
    compression: options.compression ?? 'none',
  };
  const parentDir = options.dir ?? os.tmpdir();
  const oneShard = await runScenario('1 partition, 1 shard', 1, 1, config, parentDir);
  const twoShards = await runScenario('4 partitions, 2 shards', 2, 4, config, parentDir);
  return {
    environment: { ...environment, dataDir: parentDir },
    config: { ...config, sendSize: SEND_SIZE, sendsInFlight: SENDS_IN_FLIGHT },
    results: [oneShard, twoShards],
    scaling: {
      produce: twoShards.produce.recordsPerSec / oneShard.produce.recordsPerSec,
      consume: twoShards.consume.recordsPerSec / oneShard.consume.recordsPerSec,
    },
    goals: { produceRecordsPerSec: 5e6, consumeRecordsPerSec: 10e6, twoShardScaling: 1.6 },
  };
}

function printReport(report: ProduceConsumeReport): void {
  const { environment: env, config, results, scaling, goals } = report;
  const m = (r: Rate): string => `${(r.recordsPerSec / 1e6).toFixed(2)} M rec/s ${r.mbPerSec.toFixed(0).padStart(5)} MB/s`;
  console.log(`environment: ${describeEnvironment(env)}, data in ${env.dataDir}`);
  console.log(
    `config: ${config.records} records of ${config.valueBytes} B, batchSize ${config.batchBytes} B, lingerMs ${config.lingerMs}, ` +
      `compression ${config.compression}, ${config.sendSize} records per send, ${config.sendsInFlight} sends in flight, acks -1`,
  );
  for (const r of results) {
    console.log(`${r.name}`);
    console.log(`  produce  client ${m(r.produce)}   broker alone ${m(r.brokerOnlyProduce)}`);
    console.log(`  consume  client ${m(r.consume)}   broker alone ${m(r.brokerOnlyConsume)}`);
  }
  console.log(
    `2 shards / 1 shard: produce ${scaling.produce.toFixed(2)}x, consume ${scaling.consume.toFixed(2)}x ` +
      `(goals: produce ${goals.produceRecordsPerSec / 1e6} M/s, consume ${goals.consumeRecordsPerSec / 1e6} M/s, scaling ${goals.twoShardScaling}x)`,
  );
}

const USAGE =
  'node dist/bench/produce-consume.bench.js [--records N] [--value-bytes N] [--batch-kib N] [--linger-ms N] ' +
  '[--compression none|gzip|snappy|lz4|zstd] [--dir DIR] [--json]';

function parseArgs(argv: string[]): { options: ProduceConsumeBenchOptions; json: boolean } {
  const flags = parseBenchArgs(
    argv,
    {
      records: { type: 'positive-integer' },
      'value-bytes': { type: 'positive-integer' },
      'batch-kib': { type: 'positive-integer' },
      'linger-ms': { type: 'non-negative-integer' },
      compression: { type: 'string', choices: Object.keys(COMPRESSION_CODEC_IDS) },
      dir: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const batchKiB = flags['batch-kib'];
  const options: ProduceConsumeBenchOptions = {
    records: flags.records,
    valueBytes: flags['value-bytes'],
    batchBytes: batchKiB === undefined ? undefined : batchKiB * 1024,
    lingerMs: flags['linger-ms'],
    compression: flags.compression as CompressionType | undefined,
    dir: flags.dir,
  };
  return { options, json: flags.json };
}

if (isMainModule(import.meta.url)) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const report = await runProduceConsumeBench(options);
  if (json) console.log(JSON.stringify(report, null, 2));
  else printReport(report);
}
