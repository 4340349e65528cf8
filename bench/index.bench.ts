/**
 * The cost of finding a batch by offset. Two figures, each against a peer in the same run:
 *
 * - OffsetIndex.lookup on an index of `--entries` entries (binary search over the in-memory copy),
 *   against a linear scan of the same entries: what the sparse index saves.
 * - LogReader.read(offset) of one small batch at a random offset (index lookup + header scan +
 *   pread), the fetch path, against a bare pread of the same bytes at a position known in advance: what locating
 *   a batch costs on top of reading it.
 *
 *   npx tsc -p . && node dist/bench/index.bench.js [--entries 100000] [--time-ms 1000] [--json]
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { encodeRecordBatch } from '../src/protocol/record-batch-builder.js';
import { LogReader, type ReadBounds } from '../src/storage/log-reader.js';
import { OffsetIndex } from '../src/storage/offset-index.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';

export interface IndexBenchOptions {
  entries?: number;
  timeMs?: number;
}

export interface IndexBenchReport {
  environment: BenchEnvironment;
  config: { entries: number; timeMs: number; logBatches: number; batchBytes: number };
  results: {
    indexLookupsPerSec: number;
    linearScanLookupsPerSec: number;
    indexVsLinearScan: number;
    logReadsPerSec: number;
    rawPreadsPerSec: number;
    logReadVsRawPread: number;
  };
}

/** Deterministic pseudo-random offsets so runs compare. */
function* offsetsFrom(seed: number, bound: number): Generator<number, never> {
  let x = seed >>> 0;
  for (;;) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield x % bound;
  }
}

export async function runIndexBench(options: IndexBenchOptions = {}): Promise<IndexBenchReport> {
  const environment = benchEnvironment();
  const entries = options.entries ?? 100_000;
  const timeMs = options.timeMs ?? 1000;
  if (!Number.isInteger(entries) || entries < 2) throw new RangeError('--entries must be an integer >= 2');

  // An index as the log builds it: ascending offsets, ascending positions.
  const index = new OffsetIndex(join(os.tmpdir(), 'sluice-index-bench.index'), 0, entries);
  for (let slot = 0; slot < entries; slot++) index.append(slot * 10 + 9, slot * 4096);
  const lastOffset = entries * 10;
  const linearFloor = (target: number): number => {
    let found = -1;
    for (let slot = 0; slot < index.entryCount && index.offsetAt(slot) <= target; slot++) found = slot;
    return found;
  };

  const dir = mkdtempSync(join(os.tmpdir(), 'sluice-index-bench-'));
  const log = PartitionLog.open(join(dir, 'bench-0'), { indexIntervalBytes: 4096 }, { logger: { info: () => {}, warn: () => {} } });
  const batch = encodeRecordBatch({
    records: Array.from({ length: 10 }, (_, i) => ({ value: Buffer.alloc(100, i), timestampMs: 1_700_000_000_000 + i })),
  });
  const logBatches = 20_000;
  const positions: number[] = [];
  for (let i = 0; i < logBatches; i++) {
    positions.push(i * batch.length);
    log.append(Buffer.from(batch));
  }
  log.flush();
  const segmentPath = log.segmentInfos()[0]!.filePath;
  const fd = openSync(segmentPath, 'r');
  const into = Buffer.allocUnsafe(batch.length);
  const reader = new LogReader(log.dir);
  const bounds: ReadBounds = { logStartOffset: 0, logEndOffset: log.logEndOffset, readableEndOffset: log.logEndOffset, storageEpoch: 0 };
  let sink = 0;

  try {
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
    const indexTargets = offsetsFrom(1, lastOffset);
    const scanTargets = offsetsFrom(1, lastOffset);
    const logTargets = offsetsFrom(2, logBatches * 10);
    const rawTargets = offsetsFrom(2, logBatches * 10);
    bench.add('OffsetIndex.lookup', () => {
      sink += index.floorSlot(indexTargets.next().value);
    });
    bench.add('linear scan of the same entries', () => {
      sink += linearFloor(scanTargets.next().value);
    });
    bench.add('LogReader.read of one batch at a random offset', () => {
      sink += reader.read(logTargets.next().value, batch.length, bounds, () => bounds).records.length;
    });
    bench.add('pread of the same bytes at a known position', () => {
      const batchIndex = Math.floor(rawTargets.next().value / 10);
      sink += readSync(fd, into, 0, batch.length, positions[batchIndex]!);
    });
    await bench.run();
    if (sink === 0) throw new Error('the benchmark did no work');
    const [lookup, scan, read, pread] = bench.tasks.map((task) => {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`task "${task.name}" ended ${result.state}`);
      return 1000 / result.period;
    });
    return {
      environment,
      config: { entries, timeMs, logBatches, batchBytes: batch.length },
      results: {
        indexLookupsPerSec: lookup!,
        linearScanLookupsPerSec: scan!,
        indexVsLinearScan: lookup! / scan!,
        logReadsPerSec: read!,
        rawPreadsPerSec: pread!,
        logReadVsRawPread: read! / pread!,
      },
    };
  } finally {
    closeSync(fd);
    reader.close();
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const USAGE = 'node dist/bench/index.bench.js [--entries N] [--time-ms N] [--json]';

function parseArgs(argv: string[]): { options: IndexBenchOptions; json: boolean } {
  const flags = parseBenchArgs(
    argv,
    { entries: { type: 'positive-integer' }, 'time-ms': { type: 'positive-integer' }, json: { type: 'boolean' } },
    USAGE,
  );
  return { options: { entries: flags.entries, timeMs: flags['time-ms'] }, json: flags.json };
}

if (isMainModule(import.meta.url)) {
  const { options, json } = parseArgs(process.argv.slice(2));
  const report = await runIndexBench(options);
  if (json) {
    console.log(JSON.stringify(report));
  } else {
    const r = report.results;
    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    console.log('index lookup benchmark');
    console.log(`environment: ${describeEnvironment(report.environment)}`);
    console.log(`config: ${report.config.entries} index entries; log of ${report.config.logBatches} batches of ${report.config.batchBytes} bytes`);
    console.log(`OffsetIndex.lookup        ${fmt(r.indexLookupsPerSec)}/s   vs linear scan ${fmt(r.linearScanLookupsPerSec)}/s   (${r.indexVsLinearScan.toFixed(0)}x)`);
    console.log(`LogReader.read (1 batch) ${fmt(r.logReadsPerSec)}/s   vs bare pread ${fmt(r.rawPreadsPerSec)}/s   (${(100 * r.logReadVsRawPread).toFixed(0)}% of pread)`);
  }
}
