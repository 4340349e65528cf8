/**
 * `sluice perf produce|consume|e2e`: Kafka's producer and consumer perf-test tools for Sluice,
 * embedded or over --bootstrap-server. Prints a table (or, with --json, one JSON object) on
 * stdout and live progress on stderr. The workload lives in src/perf/.
 */
import { Command, Option } from 'commander';
import { acksName, DEFAULT_COMPRESSIBILITY, DEFAULT_TRANSACTION_DURATION_MS, DEFAULT_PERF_RECORDS, DEFAULT_PERF_TOPIC, DEFAULT_RECORD_SIZE_BYTES, DEFAULT_SEND_RECORDS, DEFAULT_SENDS_IN_FLIGHT, PERF_COMPRESSIONS, PERF_MODES, type PerfCompression, type PerfMode, type PerfOptions } from '../../perf/config.js';
import { parseAcks, parseCompression, parseInteger, parseNumber } from '../../perf/cli-options.js';
import { formatPerfReport } from '../../perf/report.js';
import { runPerf } from '../../perf/run-perf.js';
import type { Acks } from '../../broker/broker-api.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_LINGER_MS } from '../../client/producer.js';

/** Where a command writes: stdout for the table or JSON, stderr for progress (null: none). */
export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | null;
}

const PROCESS_IO: CommandIo = { stdout: process.stdout, stderr: process.stderr };

const MODE_DESCRIPTIONS: Record<PerfMode, string> = {
  produce: 'produce records as fast as possible (or at --throughput) and report records/s, MB/s and send-to-ack latency',
  consume: 'read records from the start of the topic (producing them first if missing) and report records/s and MB/s',
  e2e: 'produce and consume at once and report end-to-end latency (send to consumer hand-out)',
};

/** Flags shared by perf and tune, as commander reads them. */
export interface WorkloadFlags {
  dataDir?: string;
  topic?: string;
  records?: number;
  recordSize?: number;
  shards?: number;
  payloadFile?: string;
  compressibility?: number;
  throughput?: number;
  sendRecords?: number;
  sendsInFlight?: number;
  bootstrapServer?: string;
  json?: boolean;
}

interface PerfFlags extends WorkloadFlags {
  partitions?: number;
  batchSize?: number;
  lingerMs?: number;
  compression?: PerfCompression;
  acks?: Acks;
  idempotent?: boolean;
  transactional?: boolean;
  transactionDurationMs?: number;
  producerThreads?: number;
  native?: true | string;
}

/**
 * How perf and tune differ in the shared flags: what --data-dir means, whether --bootstrap-server
 * exists, and whether --throughput is one rate here (tune sweeps a list of them as a grid axis).
 */
export interface WorkloadFlagVariant {
  dataDir: string;
  bootstrapServer: boolean;
  singleThroughput: boolean;
}

const PERF_VARIANT: WorkloadFlagVariant = {
  dataDir: 'data directory to use and keep (default: a fresh temporary one, removed after)',
  bootstrapServer: true,
  singleThroughput: true,
};

/** The workload flags perf and tune share. Defaults are shown in --help but applied by resolvePerfConfig. */
export function addWorkloadOptions(command: Command, variant: WorkloadFlagVariant = PERF_VARIANT): Command {
  command
    .option('--data-dir <dir>', variant.dataDir)
    .option('--topic <name>', `topic (default: ${DEFAULT_PERF_TOPIC})`)
    .option('--records <n>', `records to send or read (default: ${DEFAULT_PERF_RECORDS})`, parseInteger)
    .option('--record-size <bytes>', `value size (default: ${DEFAULT_RECORD_SIZE_BYTES})`, parseInteger)
    .option('--shards <n>', 'shard threads of the embedded broker (default: cores, at most 4)', parseInteger)
    .option('--payload-file <file>', 'send the lines of this file as values, cycled (instead of random values)')
    .option('--compressibility <0..1>', `share of each random value that compresses away (default: ${DEFAULT_COMPRESSIBILITY})`, parseNumber);
  if (variant.singleThroughput) {
    command.option('--throughput <records/s>', 'target rate for latency runs; -1 for as fast as possible (default: -1)', parseNumber);
  }
  command
    .option('--send-records <n>', `records per send() call; under --throughput, those due at once, at most n (default: ${DEFAULT_SEND_RECORDS})`, parseInteger)
    .option('--sends-in-flight <n>', `send() calls awaiting acknowledgement at once (default: ${DEFAULT_SENDS_IN_FLIGHT})`, parseInteger)
    .option('--json', 'print one JSON object instead of the table');
  if (variant.bootstrapServer) {
    command.option('--bootstrap-server <host:port>', 'run the workload over the Kafka protocol with kafkajs against this server');
  }
  return command;
}

export function workloadOptions(flags: WorkloadFlags): Omit<PerfOptions, 'mode'> {
  return dropUndefined({
    dataDir: flags.dataDir,
    topic: flags.topic,
    records: flags.records,
    recordSizeBytes: flags.recordSize,
    shards: flags.shards,
    payloadFile: flags.payloadFile,
    compressibility: flags.compressibility,
    throughput: flags.throughput,
    sendRecords: flags.sendRecords,
    sendsInFlight: flags.sendsInFlight,
    bootstrapServer: flags.bootstrapServer,
  });
}

export function registerPerfCommand(program: Command, io: CommandIo = PROCESS_IO): Command {
  const perf = program
    .command('perf')
    .description('measure throughput and latency: records/s, MB/s and latency percentiles (Kafka\'s perf-test tools for Sluice)');
  for (const mode of PERF_MODES) {
    const command = addWorkloadOptions(perf.command(mode).description(MODE_DESCRIPTIONS[mode]))
      .option('--partitions <n>', 'partitions of the topic (default: 1)', parseInteger)
      .option('--batch-size <bytes>', `producer batch.size (default: ${DEFAULT_BATCH_SIZE})`, parseInteger)
      .option('--linger-ms <ms>', `producer linger.ms (default: ${DEFAULT_LINGER_MS})`, parseInteger)
      .addOption(new Option('--compression <codec>', 'producer compression (default: none)').choices(PERF_COMPRESSIONS))
      .option('--acks <acks>', `0, 1 or all (default: ${acksName(-1)})`, parseAcks)
      .option('--idempotent', 'idempotent producer (enable.idempotence; needs --acks all)')
      .option('--transactional', 'send inside transactions, each committed after --transaction-duration-ms (implies --idempotent)')
      .option('--transaction-duration-ms <ms>', `how long each transaction stays open (default: ${DEFAULT_TRANSACTION_DURATION_MS})`, parseInteger)
      .option('--native [file]', "also state MB/s as a share of this machine's page-cache limits: run native-bench, or read its JSON output from file");
    if (mode === 'produce') {
      command.option(
        '--producer-threads <n>',
        'run the producers on n worker threads attached to the broker (each sends records/n with its own --sends-in-flight); reports each thread and the total (default: one producer on the main thread)',
        parseInteger,
      );
    }
    command.action(async (flags: PerfFlags) => {
      const options: PerfOptions = {
        mode,
        ...workloadOptions(flags),
        ...dropUndefined({
          partitions: flags.partitions,
          batchSizeBytes: flags.batchSize,
          lingerMs: flags.lingerMs,
          compression: flags.compression === undefined ? undefined : parseCompression(flags.compression),
          acks: flags.acks,
          idempotent: flags.idempotent,
          transactional: flags.transactional,
          transactionDurationMs: flags.transactionDurationMs,
          producerThreads: flags.producerThreads,
        }),
      };
      const result = await runPerf(options, { native: flags.native, progressStream: flags.json === true ? null : io.stderr });
      io.stdout.write(flags.json === true ? JSON.stringify(result) + '\n' : formatPerfReport(result));
    });
  }
  return perf;
}

/** Options objects reject unknown keys but an explicit undefined means "default": drop those. */
export function dropUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
