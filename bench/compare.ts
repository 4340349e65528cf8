/**
 * Sluice side by side with its peers, in one run on one machine: the same records (count, size,
 * values) produced into Redis Streams (XADD pipelined through ioredis, AOF off, then AOF
 * everysec; and through redis-benchmark, the C client, to separate client from server), NATS
 * JetStream (file storage, async publish awaiting acks), Sluice embedded, and Sluice over the
 * Kafka protocol (kafkajs against a Sluice server in its own process), and the in-process stores
 * a Node user would pick for a persistent queue: LMDB (lmdb-js) and SQLite (better-sqlite3), one
 * transaction per send call. Sluice embedded, LMDB and SQLite also read every record back in
 * order (Sluice's consumer from the data directory just written). Every server is started here
 * on 127.0.0.1, on a free port, with a temporary directory, and stopped after its row, on error
 * and on SIGINT.
 *
 *   npm run build && npm run bench:compare -- [--records 1000000] [--record-size 100] [--json]
 *     [--peers sluice,sluice-kafka,redis,redis-aof,redis-c,nats,lmdb,sqlite] [--send-records 1000] [--sends-in-flight 8]
 *     [--batch-size 262144] [--no-install]
 *
 * Sluice produces with acks 1 (appended to the log in the page cache), which is what the peers'
 * acknowledgements mean too: Redis replies once the entry is in memory (and, with AOF everysec,
 * queued for the next fsync), JetStream once the message is written to its file store (fsynced
 * every 2 minutes by default), LMDB and SQLite once the transaction is committed without fsync.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BATCH_SIZE } from '../src/client/producer.js';
import { DEFAULT_COMPRESSIBILITY, DEFAULT_SEND_RECORDS, DEFAULT_SENDS_IN_FLIGHT } from '../src/perf/config.js';
import { parseInteger, listOf } from '../src/perf/cli-options.js';
import { describeMachine, machineInfo, type MachineInfo } from '../src/perf/machine.js';
import { runPerf } from '../src/perf/run-perf.js';
import { formatCount, formatFigure } from '../src/format.js';
import { formatTable } from '../src/perf/table.js';
import { runNatsJetStream } from './peers/nats.js';
import { ProcessGroup, waitForOutput } from './peers/processes.js';
import { runRedisBenchmarkC, runRedisStreams } from './peers/redis.js';
import { runLmdb, runSqlite } from './peers/embedded-stores.js';
import type { PeerMeasurement, PeerWorkload } from './peers/workload.js';

export const PEER_NAMES = ['sluice', 'sluice-kafka', 'redis', 'redis-aof', 'redis-c', 'nats', 'lmdb', 'sqlite'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export interface CompareOptions extends PeerWorkload {
  peers: readonly PeerName[];
  batchSizeBytes: number;
  /** apt-get install missing redis-server / nats-server when running as root. */
  install: boolean;
}

export interface CompareRow {
  peer: PeerName;
  setup: string;
  /** Null when the peer could not run (its binary missing): `skipped` says why. */
  measurement: PeerMeasurement | null;
  skipped: string | null;
  /** records/s of this row over Sluice embedded's. */
  recordsPerSecVsSluice: number | null;
  /** p99 of this row over Sluice embedded's. */
  p99VsSluice: number | null;
  /** Read-back records/s of this row over Sluice embedded's consumer. */
  readVsSluice: number | null;
}

export interface CompareReport {
  date: string;
  machine: MachineInfo;
  workload: Omit<CompareOptions, 'peers' | 'install'>;
  rows: CompareRow[];
  /** Every process started for the run, all stopped by the time the report is returned. */
  pids: readonly number[];
}

export const DEFAULT_COMPARE_OPTIONS: CompareOptions = {
  records: 1_000_000,
  recordSizeBytes: 100,
  compressibility: DEFAULT_COMPRESSIBILITY,
  sendRecords: DEFAULT_SEND_RECORDS,
  sendsInFlight: DEFAULT_SENDS_IN_FLIGHT,
  batchSizeBytes: DEFAULT_BATCH_SIZE,
  peers: PEER_NAMES,
  install: true,
};

const SETUPS: Record<PeerName, string> = {
  sluice: 'embedded producer, acks 1, batch.size as given, linger 0, no compression; read: embedded consumer',
  'sluice-kafka': 'kafkajs producer -> Sluice server (child process), acks 1',
  redis: 'XADD pipelined, AOF off (memory only), ioredis',
  'redis-aof': 'XADD pipelined, AOF appendfsync everysec, ioredis',
  'redis-c': 'XADD pipelined, AOF off, redis-benchmark (C client, 1 connection): the server without Node client cost',
  nats: 'JetStream file storage, async publish awaiting acks',
  lmdb: 'lmdb-js, one transaction per send, noSync (page cache), uint32 keys; read: getRange in key order',
  sqlite: 'better-sqlite3, one transaction per send, WAL, synchronous OFF (page cache); read: SELECT ORDER BY seq',
};

const BINARIES: Partial<Record<PeerName, string>> = { redis: 'redis-server', 'redis-aof': 'redis-server', 'redis-c': 'redis-server', nats: 'nats-server' };
const APT_PACKAGES: Record<string, string> = { 'redis-server': 'redis-server', 'nats-server': 'nats-server' };

/** The peers' temporary directories not yet removed: an interrupted run removes them on its way out. */
const liveTempDirs = new Set<string>();

function removeLiveTempDirs(): void {
  for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  liveTempDirs.clear();
}

/** Runs every requested peer in turn; the caller owns `group` and stops it (runCompare also stops each server after its row). */
export async function runCompare(options: CompareOptions, group: ProcessGroup, log: (line: string) => void = () => {}): Promise<CompareReport> {
  const tempParent = os.tmpdir();
  const rows: CompareRow[] = [];
  const missing = ensureBinaries(options, log);
  for (const peer of options.peers) {
    const binary = BINARIES[peer];
    if (binary !== undefined && missing.has(binary)) {
      rows.push({ peer, setup: SETUPS[peer], measurement: null, skipped: missing.get(binary)!, recordsPerSecVsSluice: null, p99VsSluice: null, readVsSluice: null });
      continue;
    }
    log(`running ${peer}: ${SETUPS[peer]}`);
    const dir = mkdtempSync(path.join(tempParent, `sluice-compare-${peer}-`));
    liveTempDirs.add(dir);
    try {
      const measurement = await runPeer(peer, options, group, dir);
      rows.push({ peer, setup: SETUPS[peer], measurement, skipped: null, recordsPerSecVsSluice: null, p99VsSluice: null, readVsSluice: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      liveTempDirs.delete(dir);
    }
  }
  const baseline = rows.find((row) => row.peer === 'sluice')?.measurement ?? null;
  for (const row of rows) {
    if (row.measurement === null || baseline === null) continue;
    row.recordsPerSecVsSluice = row.measurement.recordsPerSec / baseline.recordsPerSec;
    const p99 = row.measurement.latencyMs?.p99;
    const baseP99 = baseline.latencyMs?.p99;
    row.p99VsSluice = p99 === undefined || baseP99 === undefined || baseP99 === 0 ? null : p99 / baseP99;
    const read = row.measurement.read;
    const baseRead = baseline.read;
    row.readVsSluice = read === undefined || baseRead === undefined ? null : read.recordsPerSec / baseRead.recordsPerSec;
  }
  const { records, recordSizeBytes, compressibility, sendRecords, sendsInFlight, batchSizeBytes } = options;
  const workload = { records, recordSizeBytes, compressibility, sendRecords, sendsInFlight, batchSizeBytes };
  return { date: new Date().toISOString(), machine: machineInfo(), workload, rows, pids: [...group.pids] };
}

async function runPeer(peer: PeerName, options: CompareOptions, group: ProcessGroup, dir: string): Promise<PeerMeasurement> {
  switch (peer) {
    case 'redis':
      return runRedisStreams(group, dir, 'off', options);
    case 'redis-aof':
      return runRedisStreams(group, dir, 'everysec', options);
    case 'redis-c':
      return runRedisBenchmarkC(group, dir, options);
    case 'nats':
      return runNatsJetStream(group, dir, options);
    case 'lmdb':
      return runLmdb(dir, options);
    case 'sqlite':
      return runSqlite(dir, options);
    case 'sluice': {
      const produced = fromPerf(
        await runPerf(
          { mode: 'produce', dataDir: dir, records: options.records, recordSizeBytes: options.recordSizeBytes, compressibility: options.compressibility,
            sendRecords: options.sendRecords, sendsInFlight: options.sendsInFlight, batchSizeBytes: options.batchSizeBytes, acks: 1 },
          { progressStream: null },
        ),
      );
      const consumed = await runPerf({ mode: 'consume', dataDir: dir, records: options.records }, { progressStream: null });
      if (consumed.records !== produced.records) throw new Error(`Sluice's consumer read ${consumed.records} of the ${produced.records} records produced`);
      produced.read = { records: consumed.records, seconds: consumed.seconds, recordsPerSec: consumed.recordsPerSec, mbPerSec: consumed.mbPerSec };
      return produced;
    }
    case 'sluice-kafka': {
      const server = group.start('sluice server', process.execPath, [sluiceServeScript(), '--data-dir', dir]);
      try {
        const match = await waitForOutput(server, /\{"port":(\d+)\}/);
        return fromPerf(
          await runPerf(
            { mode: 'produce', bootstrapServer: `127.0.0.1:${match[1]}`, records: options.records, recordSizeBytes: options.recordSizeBytes,
              compressibility: options.compressibility, sendRecords: options.sendRecords, sendsInFlight: options.sendsInFlight, acks: 1 },
            { progressStream: null },
          ),
        );
      } finally {
        await group.stop(server);
      }
    }
  }
}

function fromPerf(result: Awaited<ReturnType<typeof runPerf>>): PeerMeasurement {
  return { records: result.records, seconds: result.seconds, recordsPerSec: result.recordsPerSec, mbPerSec: result.mbPerSec, latencyMs: result.latencyMs };
}

/** The compiled server entry (it runs as plain node): next to this file once built, else under dist/. */
function sluiceServeScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'peers', 'sluice-serve.js');
  if (existsSync(beside)) return beside;
  const built = path.join(here, '..', 'dist', 'bench', 'peers', 'sluice-serve.js');
  if (existsSync(built)) return built;
  throw new Error(`the Sluice server entry was not found at ${beside} or ${built}: run npm run build first`);
}

/** Binaries still missing after an install attempt, each with the reason its rows are skipped. */
function ensureBinaries(options: CompareOptions, log: (line: string) => void): Map<string, string> {
  const needed = new Set(options.peers.map((peer) => BINARIES[peer]).filter((binary): binary is string => binary !== undefined));
  const missing = new Map<string, string>();
  const absent = [...needed].filter((binary) => !onPath(binary));
  if (absent.length === 0) return missing;
  const packages = absent.map((binary) => APT_PACKAGES[binary]);
  const isRoot = process.getuid?.() === 0;
  if (options.install && isRoot) {
    log(`installing ${packages.join(' ')} with apt-get`);
    const result = spawnSync('apt-get', ['install', '-y', ...packages], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (result.status !== 0) log(`apt-get install failed: ${(result.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`);
  }
  for (const binary of absent) {
    if (onPath(binary)) continue;
    const how = `sudo apt-get install -y ${APT_PACKAGES[binary]}`;
    missing.set(binary, `${binary} is not installed (${how})`);
    log(`${binary} is not installed; to include it: ${how}`);
  }
  return missing;
}

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

export function formatCompareReport(report: CompareReport): string {
  const rows = report.rows.map((row) => {
    const m = row.measurement;
    if (m === null) return [row.peer, '-', '-', '-', '-', '-', '-', '-', '-', row.skipped ?? ''];
    return [
      row.peer,
      formatCount(m.recordsPerSec),
      formatRatio(row.recordsPerSecVsSluice),
      formatFigure(m.mbPerSec),
      formatFigure(m.latencyMs?.p99 ?? null),
      formatRatio(row.p99VsSluice),
      m.read === undefined ? '-' : formatCount(m.read.recordsPerSec),
      m.read === undefined ? '-' : formatFigure(m.read.mbPerSec),
      formatRatio(row.readVsSluice),
      row.setup,
    ];
  });
  const w = report.workload;
  let out = formatTable(
    ['peer', 'records/s', 'vs sluice', 'MB/s', 'p99 ms', 'p99 vs sluice', 'read records/s', 'read MB/s', 'read vs sluice', 'setup'],
    rows,
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
  out += `workload: ${formatCount(w.records)} records of ${w.recordSizeBytes} B (compressibility ${w.compressibility}), `;
  out += `${w.sendRecords} records per send/pipeline, ${w.sendsInFlight} in flight; latency = send call to acknowledgement\n`;
  out += `machine:  ${describeMachine(report.machine)}\n`;
  out += `date:     ${report.date}\n`;
  return out;
}

function formatRatio(ratio: number | null): string {
  return ratio === null ? '-' : `${ratio.toFixed(2)}x`;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench:compare')
    .description('produce the same records into Redis Streams, NATS JetStream, LMDB, SQLite and Sluice (embedded and over the Kafka protocol), side by side')
    .option('--records <n>', 'records per peer', parseInteger, DEFAULT_COMPARE_OPTIONS.records)
    .option('--record-size <bytes>', 'value size', parseInteger, DEFAULT_COMPARE_OPTIONS.recordSizeBytes)
    .option('--send-records <n>', 'records per send call / pipeline', parseInteger, DEFAULT_COMPARE_OPTIONS.sendRecords)
    .option('--sends-in-flight <n>', 'send calls awaiting acknowledgement at once', parseInteger, DEFAULT_COMPARE_OPTIONS.sendsInFlight)
    .option('--batch-size <bytes>', "Sluice embedded producer's batch.size", parseInteger, DEFAULT_COMPARE_OPTIONS.batchSizeBytes)
    .addOption(
      new Option('--peers <list>', `peers to run, comma-separated, among ${PEER_NAMES.join(', ')}`)
        .argParser(listOf((name) => {
          if (!(PEER_NAMES as readonly string[]).includes(name)) throw new InvalidArgumentError(`Unknown peer ${name}; peers are ${PEER_NAMES.join(', ')}.`);
          return name as PeerName;
        }))
        .default(PEER_NAMES),
    )
    .option('--no-install', 'do not apt-get install missing servers')
    .option('--json', 'print one JSON object instead of the table');
  program.parse(argv);
  const flags = program.opts<{ records: number; recordSize: number; sendRecords: number; sendsInFlight: number; batchSize: number; peers: PeerName[]; install: boolean; json?: boolean }>();
  const options: CompareOptions = {
    records: flags.records,
    recordSizeBytes: flags.recordSize,
    compressibility: DEFAULT_COMPARE_OPTIONS.compressibility,
    sendRecords: flags.sendRecords,
    sendsInFlight: flags.sendsInFlight,
    batchSizeBytes: flags.batchSize,
    peers: flags.peers,
    install: flags.install,
  };
  const group = new ProcessGroup();
  group.stopOnSignals(removeLiveTempDirs);
  try {
    const report = await runCompare(options, group, (line) => process.stderr.write(line + '\n'));
    process.stdout.write(flags.json === true ? JSON.stringify(report) + '\n' : formatCompareReport(report));
  } finally {
    await group.stopAll();
    group.releaseSignals();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).catch((error: unknown) => {
    process.stderr.write(`bench:compare failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
