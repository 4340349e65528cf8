/**
 * PartitionLog throughput on one core: append of 1 MiB record batches (one valid batch built once
 * and appended again and again: each append validates its CRC32C, decodes and checks every record,
 * and rewrites its baseOffset in place) and LogReader reads of whole batches back from the page
 * cache, in MB/s (10^6 bytes). The peer,
 * measured in the same run, is native-bench (C): write() and read() of 1 MiB chunks on the same
 * file system, the machine's page-cache limit.
 *
 *   npx tsc -p . && node dist/bench/append.bench.js [--time-ms 2000] [--batch-kib 1024] [--dir D] [--no-peer] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { writeBaseOffset } from '../src/protocol/batch-header.js';
import { encodeRecordBatch } from '../src/protocol/record-batch-builder.js';
import { LogReader, type ReadBounds } from '../src/storage/log-reader.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { BENCH_RECORD_BYTES, benchmarkPayload, runNativeBench, type NativeLimits } from '../src/perf/native-bench.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';

export interface AppendBenchOptions {
  /** Time budget per task in ms. Default 2000. */
  timeMs?: number;
  /** Target size of the batch appended, in bytes. Default 1 MiB. */
  batchBytes?: number;
  /** Parent of the temporary log directory; default the OS temp dir. */
  dir?: string;
  /** segmentBytes of the log. Default 256 MiB. */
  segmentBytes?: number;
  /** retentionBytes of the log, applied between appends (untimed) to bound disk use. Default 512 MiB. */
  retentionBytes?: number;
  /** Run native-bench on the same file system. Default true. */
  includePeer?: boolean;
}

export interface AppendBenchReport {
  environment: BenchEnvironment & { logDir: string };
  config: Required<Omit<AppendBenchOptions, 'dir'>> & { batchSizeBytes: number; recordsPerBatch: number };
  results: {
    appendMBps: number;
    appendRecordsPerSec: number;
    appendRmePercent: number;
    appendSamples: number;
    /** append with { crcVerified: true }: what a shard pays when the CRC was checked upstream. */
    appendCrcVerifiedMBps: number;
    readMBps: number;
    readRmePercent: number;
    readSamples: number;
    /** read() into one reused buffer: no allocation per read. */
  };
  /** native-bench's page-cache figures and our share of them, or why it could not run. */
  peer:
    | {
        appendMBps: number;
        readMBps: number;
        appendPercentOfNative: number;
        appendCrcVerifiedPercentOfNative: number;
        readPercentOfNative: number;
        fsType: string;
      }
    | { error: string };
}

const T0 = 1_700_000_000_000;

export async function runAppendBench(options: AppendBenchOptions = {}): Promise<AppendBenchReport> {
  const environment = benchEnvironment();
  const timeMs = options.timeMs ?? 2000;
  const batchBytes = options.batchBytes ?? 1024 * 1024;
  const segmentBytes = options.segmentBytes ?? 256 * 1024 * 1024;
  const retentionBytes = options.retentionBytes ?? 512 * 1024 * 1024;
  const includePeer = options.includePeer ?? true;
  const batch = buildBatchOfAbout(batchBytes);
  const recordsPerBatch = batch.readInt32BE(57);

  const logDir = mkdtempSync(join(options.dir ?? os.tmpdir(), 'sluice-append-bench-'));
  const log = PartitionLog.open(
    join(logDir, 'bench-0'),
    { segmentBytes, retentionBytes, retentionMs: -1, maxMessageBytes: batch.length },
    { logger: { info: () => {}, warn: (message) => console.error(message) } },
  );
  let readOffset = 0;
  let readBytes = 0;
  const reader = new LogReader(join(logDir, 'bench-0'));
  try {
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(500, timeMs) });
    // Retention runs between samples, as Kafka runs it on its own thread, keeping the disk bounded.
    const boundDisk = { afterEach: () => void log.applyRetention() };
    // The log assigns offsets by rewriting baseOffset in place, and refuses a producer's batch
    // whose baseOffset is not 0 (Kafka's rule), so each append resets it, as a new batch has it.
    bench.add('append', () => {
      writeBaseOffset(batch, 0, 0);
      log.append(batch);
    }, boundDisk);
    // The shard's path: the CRC was checked at the trust boundary (connection thread or producer).
    bench.add('append, CRC verified upstream', () => {
      writeBaseOffset(batch, 0, 0);
      log.append(batch, { crcVerified: true });
    }, boundDisk);
    const restartReads = {
      beforeAll: () => {
        readOffset = log.logStartOffset;
      },
    };
    // Reads go through LogReader, the one read path, as a fetch does. Retention between the
    // append samples moves the log start; that stands in for the storage epoch the shard bumps.
    const readBounds = (): ReadBounds => ({
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      readableEndOffset: log.logEndOffset,
      storageEpoch: log.logStartOffset,
    });
    bench.add('read', () => {
      if (readOffset >= log.logEndOffset) readOffset = log.logStartOffset;
      const result = reader.read(readOffset, batch.length, readBounds(), readBounds);
      readBytes += result.records.length;
      readOffset = result.nextOffset;
    }, restartReads);
    await bench.run();
    if (readBytes === 0) throw new Error('the read task read nothing');

    const [append, appendVerified, read] = bench.tasks.map((task) => {
      const result = task.result;
      if (result.state !== 'completed') {
        throw new Error(`task "${task.name}" ended ${result.state}${'error' in result ? `: ${result.error.message}` : ''}`);
      }
      return result;
    });
    const appendPerSecond = 1000 / append.period;
    const results = {
      appendMBps: (appendPerSecond * batch.length) / 1e6,
      appendRecordsPerSec: appendPerSecond * recordsPerBatch,
      appendRmePercent: append.latency.rme,
      appendSamples: append.latency.samplesCount,
      appendCrcVerifiedMBps: ((1000 / appendVerified.period) * batch.length) / 1e6,
      readMBps: ((1000 / read.period) * batch.length) / 1e6,
      readRmePercent: read.latency.rme,
      readSamples: read.latency.samplesCount,
    };
    reader.close();
    log.close();
    rmSync(logDir, { recursive: true, force: true });

    let peer: AppendBenchReport['peer'];
    if (includePeer) {
      try {
        const native: NativeLimits = await runNativeBench({
          dir: options.dir ?? os.tmpdir(),
          fileMiB: Math.max(64, Math.round(retentionBytes / 2 ** 20)),
          chunkKiB: Math.max(1, Math.round(batch.length / 1024)),
          reps: 3,
          memcpyMiB: 16,
          fsyncCount: 10,
          lz4MiB: 1,
          ring8Messages: 1000,
          ring100Messages: 1000,
        });
        peer = {
          appendMBps: native.results.appendMBps,
          readMBps: native.results.readMBps,
          appendPercentOfNative: (100 * results.appendMBps) / native.results.appendMBps,
          appendCrcVerifiedPercentOfNative: (100 * results.appendCrcVerifiedMBps) / native.results.appendMBps,
          readPercentOfNative: (100 * results.readMBps) / native.results.readMBps,
          fsType: native.env.tmpDirFsType,
        };
      } catch (error) {
        peer = { error: (error as Error).message };
      }
    } else {
      peer = { error: 'not run (--no-peer)' };
    }

    return {
      environment: { ...environment, logDir: options.dir ?? os.tmpdir() },
      config: { timeMs, batchBytes, segmentBytes, retentionBytes, includePeer, batchSizeBytes: batch.length, recordsPerBatch },
      results,
      peer,
    };
  } finally {
    reader.close();
    log.close();
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** One uncompressed batch of 100-byte benchmark records, as close to `targetBytes` as fits under it. */
function buildBatchOfAbout(targetBytes: number): Buffer {
  const payload = benchmarkPayload(Math.ceil(targetBytes / BENCH_RECORD_BYTES));
  const encode = (count: number): Buffer =>
    encodeRecordBatch({
      records: Array.from({ length: count }, (_, i) => ({
        value: payload.subarray(i * BENCH_RECORD_BYTES, (i + 1) * BENCH_RECORD_BYTES),
        timestampMs: T0 + i,
      })),
    });
  let count = Math.floor(targetBytes / (BENCH_RECORD_BYTES + 8));
  let batch = encode(count);
  while (batch.length > targetBytes && count > 1) {
    count = Math.floor((count * targetBytes) / batch.length);
    batch = encode(count);
  }
  return batch;
}

function formatReport(report: AppendBenchReport): string {
  const { environment: env, config, results, peer } = report;
  const lines = [
    'PartitionLog append/read benchmark (one core, page cache, no fsync)',
    `environment: ${describeEnvironment(env)}, log dir ${env.logDir}`,
    `config: ${config.batchSizeBytes}-byte batches of ${config.recordsPerBatch} records, segmentBytes ${config.segmentBytes}, ` +
      `retentionBytes ${config.retentionBytes}, ${config.timeMs} ms per task`,
    '',
    `append: ${results.appendMBps.toFixed(0)} MB/s (${Math.round(results.appendRecordsPerSec).toLocaleString('en-US')} records/s), ` +
      `±${results.appendRmePercent.toFixed(1)}%, ${results.appendSamples} samples`,
    `append, CRC verified upstream: ${results.appendCrcVerifiedMBps.toFixed(0)} MB/s`,
    `read:   ${results.readMBps.toFixed(0)} MB/s, ±${results.readRmePercent.toFixed(1)}%, ${results.readSamples} samples`,
  ];
  if ('error' in peer) {
    lines.push(`peer native-bench: unavailable (${peer.error})`);
  } else {
    lines.push(
      `peer native-bench (C, ${peer.fsType}): append ${peer.appendMBps.toFixed(0)} MB/s, read ${peer.readMBps.toFixed(0)} MB/s`,
      `PartitionLog / native: append ${peer.appendPercentOfNative.toFixed(0)}%, ` +
        `append with CRC verified upstream ${peer.appendCrcVerifiedPercentOfNative.toFixed(0)}%, read ${peer.readPercentOfNative.toFixed(0)}%`,
    );
  }
  return lines.join('\n');
}

const USAGE = 'node dist/bench/append.bench.js [--time-ms N] [--batch-kib N] [--dir DIR] [--no-peer] [--json]';

function parseArgs(argv: string[]): { options: AppendBenchOptions; json: boolean } {
  const flags = parseBenchArgs(
    argv,
    {
      'time-ms': { type: 'positive-integer' },
      'batch-kib': { type: 'positive-integer' },
      dir: { type: 'string' },
      'no-peer': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const batchKiB = flags['batch-kib'];
  const options: AppendBenchOptions = {
    timeMs: flags['time-ms'],
    batchBytes: batchKiB === undefined ? undefined : batchKiB * 1024,
    dir: flags.dir,
    includePeer: !flags['no-peer'],
  };
  return { options, json: flags.json };
}

if (isMainModule(import.meta.url)) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const report = await runAppendBench(options);
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
}
