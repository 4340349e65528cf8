/**
 * What TLS costs over the Kafka protocol: one `KafkaServer` with a PLAINTEXT and an SSL listener
 * (TLS 1.3, EC P-256 certificate made with openssl), kcat producing N 100-byte records from a
 * file to a 4-partition topic and consuming them back, over each listener in turn, in the same
 * run. Rounds alternate which listener goes first; the report gives every round and the median,
 * and SSL as a share of PLAINTEXT within each round. Besides records/s (wall time, which a busy
 * machine bends), the server process's CPU time per record (every thread of it: the Kafka
 * connections and the shards; kcat is another process) shows what TLS costs the broker.
 *
 *   npm run build && node dist/bench/tls.bench.js [--records 1000000] [--rounds 3] [--dir /path] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { KafkaServer } from '../src/server/server.js';
import { Sluice } from '../src/sluice.js';
import { BENCH_RECORD_BYTES, benchmarkPayload } from '../src/perf/native-bench.js';
import { median } from './all.js';
import { kcatVersion, runKcat, writeKcatLines } from './server.bench.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';
import { makeTestCertificates } from './tls-certs.js';

export interface TlsBenchOptions {
  /** Records kcat produces and consumes per listener and round. Default 1,000,000. */
  records?: number;
  /** Default 3. */
  rounds?: number;
  /** Parent of the data and certificate directories. Default the OS temp dir. */
  dir?: string;
}

type Listener = 'PLAINTEXT' | 'SSL';

interface RoundResult {
  produceRecordsPerSec: Record<Listener, number>;
  consumeRecordsPerSec: Record<Listener, number>;
  /** Server CPU time (user + system, all threads) per record, in nanoseconds. */
  produceCpuNsPerRecord: Record<Listener, number>;
  consumeCpuNsPerRecord: Record<Listener, number>;
}

export interface TlsBenchReport {
  environment: BenchEnvironment & { kcat: string };
  config: { records: number; rounds: number; partitions: number; valueBytes: number };
  rounds: RoundResult[];
}

const PARTITIONS = 4;

export async function runTlsBench(options: TlsBenchOptions = {}): Promise<TlsBenchReport> {
  const environment = benchEnvironment();
  const records = options.records ?? 1_000_000;
  const roundCount = options.rounds ?? 3;
  const root = mkdtempSync(join(options.dir ?? os.tmpdir(), 'sluice-tls-bench-'));
  const certs = makeTestCertificates(root);
  const sluice = await Sluice.open({ dataDir: join(root, 'data') });
  const broker = sluice.broker;
  const server = new KafkaServer(broker, {
    listeners: [
      { name: 'PLAINTEXT', port: 0 },
      { name: 'SSL', port: 0 },
    ],
    tls: { certFile: certs.server.cert, keyFile: certs.server.key },
    logger: { info: () => {}, warn: (message) => console.error(message) },
  });
  try {
    await server.listen();
    const port = (name: Listener) => server.addresses.find((address) => address.name === name)!.port;
    const security: Record<Listener, string[]> = {
      PLAINTEXT: [],
      SSL: ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.ca}`],
    };
    const file = join(root, 'records.txt');
    writeKcatLines(file, benchmarkPayload(records), records);
    const rounds: RoundResult[] = [];
    for (let round = 0; round < roundCount; round++) {
      const result: RoundResult = {
        produceRecordsPerSec: { PLAINTEXT: 0, SSL: 0 },
        consumeRecordsPerSec: { PLAINTEXT: 0, SSL: 0 },
        produceCpuNsPerRecord: { PLAINTEXT: 0, SSL: 0 },
        consumeCpuNsPerRecord: { PLAINTEXT: 0, SSL: 0 },
      };
      const order: Listener[] = round % 2 === 0 ? ['PLAINTEXT', 'SSL'] : ['SSL', 'PLAINTEXT'];
      for (const listener of order) {
        const topic = `${listener.toLowerCase()}-${round}`;
        const bootstrap = `127.0.0.1:${port(listener)}`;
        await broker.createTopic(topic, { partitions: PARTITIONS });
        // The same producer settings as the Kafka protocol benchmark (server.bench.ts).
        const produceCpu = process.cpuUsage();
        const produceStart = process.hrtime.bigint();
        await runKcat([
          '-b', bootstrap, ...security[listener], '-P', '-t', topic, '-l', file,
          '-X', 'linger.ms=5',
          '-X', 'batch.num.messages=10000',
          '-X', 'queue.buffering.max.messages=1000000',
        ]);
        result.produceRecordsPerSec[listener] = records / seconds(produceStart);
        result.produceCpuNsPerRecord[listener] = cpuNs(produceCpu) / records;
        let stored = 0;
        for (let p = 0; p < PARTITIONS; p++) stored += broker.partitionOffsets(topic, p).highWatermark;
        if (stored !== records) throw new Error(`kcat produced ${stored} records over ${listener}, expected ${records}`);
        const consumeCpu = process.cpuUsage();
        const consumeStart = process.hrtime.bigint();
        const consumed = await runKcat(['-b', bootstrap, ...security[listener], '-C', '-t', topic, '-e', '-q', '-f', '%o\n', '-X', 'fetch.max.bytes=52428800']);
        result.consumeRecordsPerSec[listener] = consumed / seconds(consumeStart);
        result.consumeCpuNsPerRecord[listener] = cpuNs(consumeCpu) / consumed;
        if (consumed !== records) throw new Error(`kcat consumed ${consumed} records over ${listener}, expected ${records}`);
      }
      rounds.push(result);
    }
    return {
      environment: { ...environment, kcat: await kcatVersion() },
      config: { records, rounds: roundCount, partitions: PARTITIONS, valueBytes: BENCH_RECORD_BYTES },
      rounds,
    };
  } finally {
    await server.close();
    await sluice.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** This process's CPU time since `start`, all threads, in nanoseconds. */
function cpuNs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1_000;
}

function seconds(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

/** A Markdown table: per listener the median and every round's figure, and SSL's share of PLAINTEXT. */
export function formatTlsReport(report: TlsBenchReport): string {
  const { environment: env, config, rounds } = report;
  const figure = (values: number[]) => `${Math.round(median(values)).toLocaleString('en-US')} (${values.map((v) => Math.round(v).toLocaleString('en-US')).join(', ')})`;
  const share = (values: number[]) => `${(median(values) * 100).toFixed(0)} % (${values.map((v) => `${(v * 100).toFixed(0)} %`).join(', ')})`;
  const row = (what: keyof RoundResult, name: string) => {
    const plaintext = rounds.map((r) => r[what].PLAINTEXT);
    const ssl = rounds.map((r) => r[what].SSL);
    return `| ${name} | ${figure(plaintext)} | ${figure(ssl)} | ${share(rounds.map((r) => r[what].SSL / r[what].PLAINTEXT))} |`;
  };
  return [
    `environment: ${describeEnvironment(env)}, kcat ${env.kcat}`,
    `${config.records.toLocaleString('en-US')} records of ${config.valueBytes} bytes, ${config.partitions} partitions, ${config.rounds} rounds`,
    '',
    '|  | PLAINTEXT | SSL | SSL / PLAINTEXT |',
    '|---|---:|---:|---:|',
    row('produceRecordsPerSec', 'kcat produce, records/s'),
    row('consumeRecordsPerSec', 'kcat consume, records/s'),
    row('produceCpuNsPerRecord', 'server CPU per record produced, ns'),
    row('consumeCpuNsPerRecord', 'server CPU per record consumed, ns'),
  ].join('\n');
}

const USAGE = 'node dist/bench/tls.bench.js [--records N] [--rounds N] [--dir DIR] [--json]';

if (isMainModule(import.meta.url)) {
  const flags = parseBenchArgs(
    process.argv.slice(2),
    { records: { type: 'positive-integer' }, rounds: { type: 'positive-integer' }, dir: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
  );
  const report = await runTlsBench({ records: flags.records, rounds: flags.rounds, dir: flags.dir });
  console.log(flags.json ? JSON.stringify(report, null, 2) : formatTlsReport(report));
}
