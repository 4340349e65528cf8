/**
 * Transactional produce throughput against plain produce, in the same run: the same records
 * (100-byte values, 4 partitions over 2 shards) sent by a plain producer, an idempotent one, and
 * a transactional one committing every 100 and every 10,000 records. Each transaction costs
 * AddPartitionsToTxn (one __transaction_state append per partition), EndTxn (PrepareCommit
 * appended, a COMMIT marker per partition, CompleteCommit appended), and it waits for its last
 * batch before committing, which empties the producer's pipeline: small transactions pay that
 * round trip per 100 records.
 *
 *   npm run build && node dist/bench/transactions.bench.js [--records 1000000] [--value-bytes 100] [--dir /path] [--json]
 *
 * Each scenario uses a fresh data directory, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Sluice } from '../src/sluice.js';
import type { Message, Producer } from '../src/client/producer.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs } from './support.js';

export interface TransactionsBenchOptions {
  /** Records per scenario. Default 1,000,000. */
  records?: number;
  /** Default 100. */
  valueBytes?: number;
  /** Parent directory of the data directories. Default the OS temp dir. */
  dir?: string;
}

export interface ScenarioRate {
  name: string;
  /** Records per transaction; 0 for the plain and idempotent producers. */
  transactionRecords: number;
  seconds: number;
  recordsPerSec: number;
  /** recordsPerSec / the plain producer's. */
  ratioToPlain: number;
}

const PARTITIONS = 4;
const SHARDS = 2;
/** Records per send call: a kafkajs-style batch of messages. */
const SEND_RECORDS = 100;
/** Producer batch.size: a throughput setting, as in produce-consume.bench. */
const BATCH_BYTES = 256 * 1024;

export async function runTransactionsBench(options: TransactionsBenchOptions = {}): Promise<ScenarioRate[]> {
  const records = options.records ?? 1_000_000;
  const valueBytes = options.valueBytes ?? 100;
  const messages: Message[] = Array.from({ length: SEND_RECORDS }, (_, i) => ({ key: `key-${i}`, value: Buffer.alloc(valueBytes, i) }));
  const scenarios: { name: string; transactionRecords: number; producerOptions: object }[] = [
    { name: 'plain', transactionRecords: 0, producerOptions: {} },
    { name: 'idempotent', transactionRecords: 0, producerOptions: { idempotent: true } },
    { name: 'transactions of 10,000', transactionRecords: 10_000, producerOptions: { transactionalId: 'bench' } },
    { name: 'transactions of 100', transactionRecords: 100, producerOptions: { transactionalId: 'bench' } },
  ];
  const results: ScenarioRate[] = [];
  // A first, unmeasured run warms the JIT up, so the plain reference is not the one that pays for it.
  for (const scenario of [{ ...scenarios[0], name: 'warm-up' }, ...scenarios]) {
    const dataDir = mkdtempSync(join(options.dir ?? os.tmpdir(), 'sluice-txn-bench-'));
    const sluice = await Sluice.open({ dataDir, shards: SHARDS });
    try {
      await sluice.admin().createTopics({ topics: [{ topic: 'bench', numPartitions: PARTITIONS }] });
      const producer = sluice.producer({ batchSize: BATCH_BYTES, ...scenario.producerOptions });
      await producer.connect();
      const seconds = await produceAll(producer, records, messages, scenario.transactionRecords);
      await producer.disconnect();
      const recordsPerSec = records / seconds;
      if (scenario.name === 'warm-up') continue;
      results.push({ name: scenario.name, transactionRecords: scenario.transactionRecords, seconds, recordsPerSec, ratioToPlain: recordsPerSec / (results[0]?.recordsPerSec ?? recordsPerSec) });
    } finally {
      await sluice.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}

/** Sends `records` records; with transactionRecords, in transactions of that many, each committed. */
async function produceAll(producer: Producer, records: number, messages: Message[], transactionRecords: number): Promise<number> {
  const start = performance.now();
  if (transactionRecords === 0) {
    const inFlight: Promise<unknown>[] = [];
    for (let sent = 0; sent < records; sent += SEND_RECORDS) {
      inFlight.push(producer.send({ topic: 'bench', messages }));
      // Keep a bounded window of sends, as an application streaming records would.
      if (inFlight.length >= 64) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } else {
    for (let sent = 0; sent < records; sent += transactionRecords) {
      const txn = await producer.transaction();
      const sends: Promise<unknown>[] = [];
      for (let inTxn = 0; inTxn < transactionRecords; inTxn += SEND_RECORDS) sends.push(txn.send({ topic: 'bench', messages }));
      await Promise.all(sends);
      await txn.commit();
    }
  }
  return (performance.now() - start) / 1000;
}

const USAGE = 'node dist/bench/transactions.bench.js [--records N] [--value-bytes N] [--dir DIR] [--json]';

function parseArgs(argv: string[]): { options: TransactionsBenchOptions; json: boolean } {
  const flags = parseBenchArgs(
    argv,
    {
      records: { type: 'positive-integer' },
      'value-bytes': { type: 'positive-integer' },
      dir: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  return { options: { records: flags.records, valueBytes: flags['value-bytes'], dir: flags.dir }, json: flags.json };
}

if (isMainModule(import.meta.url)) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const environment = benchEnvironment();
  const results = await runTransactionsBench(options);
  if (json) {
    console.log(JSON.stringify({ environment, results }, null, 2));
  } else {
    console.log(`environment: ${describeEnvironment(environment)}`);
    console.log(`${PARTITIONS} partitions on ${SHARDS} shards`);
    for (const result of results) {
      console.log(
        `${result.name.padEnd(24)} ${Math.round(result.recordsPerSec).toLocaleString('en-US').padStart(12)} records/s   ${result.ratioToPlain.toFixed(2)} x plain   (${result.seconds.toFixed(2)} s)`,
      );
    }
  }
}
