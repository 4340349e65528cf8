/**
 * Every benchmark and peer in one run, and the figure tables of BENCHMARKS.md written from it.
 *
 * A round runs, in turn: native-bench (the machine's limits, C), Sluice embedded produce, consume
 * and e2e latency (`sluice perf`), the peers side by side (bench:compare: Redis Streams through
 * ioredis and redis-benchmark, NATS JetStream, LMDB, SQLite, Sluice over the Kafka protocol), the
 * Kafka protocol with librdkafka and kafkajs (server.bench), the record codecs and LZ4 against
 * liblz4 (codec.bench), the log's append and read path (append.bench), and Sluice Streams' word
 * count embedded and over the Kafka protocol (streams.bench). `--runs` rounds (3 by
 * default) run one after the other, so that every figure has as many samples taken under the same
 * conditions as its reference; each ratio (to its peer or to the machine's limit) is taken within
 * its round, then the median over rounds is reported, beside every round's value where they differ.
 *
 * The tables replace what lies between the `<!-- bench:all:begin -->` and `<!-- bench:all:end -->`
 * lines of the output file (BENCHMARKS.md by default); a file without them gets the block after
 * its first line (its title). The prose around the block is left as it is.
 *
 *   npm run bench:all -- [--runs 3] [--records 1000000] [--time-ms 1000] [--out BENCHMARKS.md] [--quick]
 *
 * `--quick` shrinks every workload (20,000 records and words, 100 ms per micro-benchmark task, small native
 * passes) to check the pipeline in a minute; its figures mean nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { parseInteger } from '../src/perf/cli-options.js';
import { machineInfo } from '../src/perf/machine.js';
import { runNativeBench, type NativeBenchOptions, type NativeLimits } from '../src/perf/native-bench.js';
import { runPerf } from '../src/perf/run-perf.js';
import { formatCount, formatFigure } from '../src/format.js';
import { runAppendBench } from './append.bench.js';
import { runCodecBench } from './codec.bench.js';
import { DEFAULT_COMPARE_OPTIONS, runCompare } from './compare.js';
import { ProcessGroup } from './peers/processes.js';
import { runServerBench } from './server.bench.js';
import { PLAIN_SCENARIO, runStreamsBench } from './streams.bench.js';
import { isMainModule } from './support.js';

export const BEGIN_MARKER = '<!-- bench:all:begin -->';
export const END_MARKER = '<!-- bench:all:end -->';

export interface BenchAllOptions {
  runs: number;
  /** Records for the produce, consume, peer and Kafka-protocol workloads. */
  records: number;
  /** Time budget per micro-benchmark task (codec, append). */
  timeMs: number;
  /** Smaller native-bench passes (for a quick check of the pipeline). */
  nativeOptions: NativeBenchOptions;
  /** e2e latency: records and rate. */
  e2eRecords: number;
  e2eThroughput: number;
  /** Words counted by the streams word count, per scenario. */
  streamsWords: number;
}

export const DEFAULT_BENCH_ALL_OPTIONS: BenchAllOptions = {
  runs: 3,
  records: 1_000_000,
  timeMs: 1000,
  nativeOptions: {},
  e2eRecords: 50_000,
  e2eThroughput: 10_000,
  streamsWords: 200_000,
};

export const QUICK_BENCH_ALL_OPTIONS: BenchAllOptions = {
  runs: 3,
  records: 20_000,
  timeMs: 100,
  nativeOptions: { memcpyMiB: 16, fileMiB: 16, fsyncCount: 20, lz4MiB: 4, ring8Messages: 100_000, ring100Messages: 100_000, reps: 1 },
  e2eRecords: 2000,
  e2eThroughput: 2000,
  streamsWords: 20_000,
};

/**
 * One figure of one round. `ref` names the figure (same round) it is stated against, as
 * `table/row/column`; the ratio is value / ref.
 */
export interface Figure {
  table: string;
  row: string;
  column: string;
  value: number;
  ref?: string;
  /** How the ratio reads: 'x' (times the reference) or '%' (share of a limit). */
  ratioStyle?: 'x' | '%';
}

export interface RoundResult {
  figures: Figure[];
  loadAverage1m: [number, number];
}

export interface BenchAllReport {
  date: string;
  endDate: string;
  options: BenchAllOptions;
  machine: ReturnType<typeof machineInfo>;
  native: NativeLimits['env'];
  rounds: RoundResult[];
}

const key = (table: string, row: string, column: string): string => `${table}/${row}/${column}`;

/** Runs one round of every benchmark and returns its figures. */
export async function runRound(options: BenchAllOptions, log: (line: string) => void): Promise<{ figures: Figure[]; native: NativeLimits }> {
  const figures: Figure[] = [];
  const add = (figure: Figure): void => {
    if (!Number.isFinite(figure.value)) throw new Error(`figure ${key(figure.table, figure.row, figure.column)} is ${figure.value}`);
    figures.push(figure);
  };
  const limit = (name: string): string => key('limits', name, 'value');

  log('native-bench');
  const native = await runNativeBench(options.nativeOptions);
  const n = native.results;
  const limits: [string, number][] = [
    ['memcpy GB/s', n.memcpyGBps],
    ['page-cache append MB/s', n.appendMBps],
    ['page-cache read MB/s', n.readMBps],
    ['fsync p50 us', n.fsyncP50Us],
    ['fsync p99 us', n.fsyncP99Us],
    ['LZ4 frame compress MB/s', n.lz4FrameCompressMBps],
    ['LZ4 frame decompress MB/s', n.lz4FrameDecompressMBps],
    ['SPSC ring 100-byte messages/s', n.spsc100ByteMsgsPerSec],
  ];
  for (const [name, value] of limits) add({ table: 'limits', row: name, column: 'value', value });

  log('sluice perf produce / consume / e2e');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-all-'));
  try {
    const produce = await runPerf(
      { mode: 'produce', dataDir, records: options.records, recordSizeBytes: 100, batchSizeBytes: 262_144 },
      { progressStream: null },
    );
    add({ table: 'embedded', row: 'produce', column: 'records/s', value: produce.recordsPerSec });
    add({ table: 'embedded', row: 'produce', column: 'MB/s', value: produce.mbPerSec, ref: limit('page-cache append MB/s'), ratioStyle: '%' });
    add({ table: 'embedded', row: 'produce', column: 'p99 ms', value: produce.latencyMs?.p99 ?? Number.NaN });
    const consume = await runPerf({ mode: 'consume', dataDir, records: options.records }, { progressStream: null });
    add({ table: 'embedded', row: 'consume', column: 'records/s', value: consume.recordsPerSec });
    add({ table: 'embedded', row: 'consume', column: 'MB/s', value: consume.mbPerSec, ref: limit('page-cache read MB/s'), ratioStyle: '%' });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  // PRODUCT.md's latency bars hold at the base rate and at ten times it (10 k and 100 k records/s):
  // the same duration at both.
  for (const scale of [1, 10]) {
    const throughput = options.e2eThroughput * scale;
    const e2e = await runPerf({ mode: 'e2e', records: options.e2eRecords * scale, throughput, lingerMs: 0, acks: 1 }, { progressStream: null });
    const e2eRow = `e2e at ${formatCount(throughput)} records/s, linger 0`;
    add({ table: 'e2e', row: e2eRow, column: 'p50 ms', value: e2e.latencyMs?.p50 ?? Number.NaN });
    add({ table: 'e2e', row: e2eRow, column: 'p99 ms', value: e2e.latencyMs?.p99 ?? Number.NaN });
    add({ table: 'e2e', row: e2eRow, column: 'p99.9 ms', value: e2e.latencyMs?.p999 ?? Number.NaN });
    add({ table: 'e2e', row: e2eRow, column: 'max ms', value: e2e.latencyMs?.max ?? Number.NaN });
    // Where the tail forms, from the same intended send time: the send() call, its acknowledgement.
    add({ table: 'e2e', row: e2eRow, column: 'p99 ms to the send() call', value: e2e.stagesMs?.sendCall?.p99 ?? Number.NaN });
    add({ table: 'e2e', row: e2eRow, column: 'p99 ms to the acknowledgement', value: e2e.stagesMs?.acknowledged?.p99 ?? Number.NaN });
  }

  log('bench:compare (every peer)');
  const group = new ProcessGroup();
  try {
    const compare = await runCompare({ ...DEFAULT_COMPARE_OPTIONS, records: options.records, install: false }, group, log);
    const base = (column: string): string => key('peers', 'sluice', column);
    for (const row of compare.rows) {
      const m = row.measurement;
      if (m === null) continue; // its binary is missing: the table says so from the setup below
      const isBase = row.peer === 'sluice';
      add({ table: 'peers', row: row.peer, column: 'records/s', value: m.recordsPerSec, ref: isBase ? undefined : base('records/s'), ratioStyle: 'x' });
      add({ table: 'peers', row: row.peer, column: 'MB/s', value: m.mbPerSec });
      if (m.latencyMs !== null) {
        add({ table: 'peers', row: row.peer, column: 'p99 ms', value: m.latencyMs.p99, ref: isBase ? undefined : base('p99 ms'), ratioStyle: 'x' });
      }
      if (m.read !== undefined) {
        add({ table: 'peers', row: row.peer, column: 'read records/s', value: m.read.recordsPerSec, ref: isBase ? undefined : base('read records/s'), ratioStyle: 'x' });
      }
    }
  } finally {
    await group.stopAll();
  }

  log('server.bench (kcat, kafkajs, the broker alone)');
  const server = await runServerBench({ records: options.records, kafkajsRecords: Math.max(1000, Math.floor(options.records / 5)) });
  const s = server.results;
  const alone = (column: string): string => key('kafka', 'broker alone (BrokerApi.produce / fetch)', column);
  add({ table: 'kafka', row: 'broker alone (BrokerApi.produce / fetch)', column: 'produce records/s', value: s.brokerProduce.recordsPerSec });
  add({ table: 'kafka', row: 'broker alone (BrokerApi.produce / fetch)', column: 'consume records/s', value: s.brokerFetch.recordsPerSec });
  for (const [row, produce, consume] of [
    [`kcat ${server.environment.kcat}`, s.kcatProduce, s.kcatConsume],
    ['kafkajs', s.kafkajsProduce, s.kafkajsConsume],
  ] as const) {
    add({ table: 'kafka', row, column: 'produce records/s', value: produce.recordsPerSec, ref: alone('produce records/s'), ratioStyle: 'x' });
    add({ table: 'kafka', row, column: 'consume records/s', value: consume.recordsPerSec, ref: alone('consume records/s'), ratioStyle: 'x' });
  }

  log('codec.bench');
  const codec = await runCodecBench({ timeMs: options.timeMs, lz4PayloadMiB: Math.max(1, Math.min(16, options.nativeOptions.lz4MiB ?? 16)) });
  const kafkajs = (what: 'encode' | 'decode'): string => key('codec', `peer: kafkajs ${what} none`, 'records/s');
  for (const result of codec.results) {
    const what = result.name.startsWith('encode ') ? 'encode' : result.name.startsWith('decode ') ? 'decode' : null;
    if (what === null && !result.name.startsWith('peer: kafkajs')) continue;
    add({ table: 'codec', row: result.name, column: 'records/s', value: result.recordsPerSecond, ref: what === null ? undefined : kafkajs(what), ratioStyle: 'x' });
  }
  for (const row of codec.lz4) {
    const direction = row.name.includes('decompress') ? 'LZ4 frame decompress MB/s' : 'LZ4 frame compress MB/s';
    add({ table: 'lz4', row: row.name, column: 'MB/s', value: row.mbPerSecond, ref: limit(direction), ratioStyle: '%' });
  }

  log('append.bench');
  const append = await runAppendBench({ timeMs: options.timeMs, includePeer: false });
  add({ table: 'append', row: 'PartitionLog.append, CRC checked', column: 'MB/s', value: append.results.appendMBps, ref: limit('page-cache append MB/s'), ratioStyle: '%' });
  add({ table: 'append', row: 'PartitionLog.append, CRC verified upstream', column: 'MB/s', value: append.results.appendCrcVerifiedMBps, ref: limit('page-cache append MB/s'), ratioStyle: '%' });
  add({ table: 'append', row: 'segment read', column: 'MB/s', value: append.results.readMBps, ref: limit('page-cache read MB/s'), ratioStyle: '%' });

  log('streams.bench (word count)');
  const plain = key('streams', PLAIN_SCENARIO, 'words/s');
  for (const result of await runStreamsBench({ words: options.streamsWords })) {
    const isPlain = result.name === PLAIN_SCENARIO;
    add({ table: 'streams', row: result.name, column: 'words/s', value: result.wordsPerSec, ref: isPlain ? undefined : plain, ratioStyle: 'x' });
    add({ table: 'streams', row: result.name, column: 'input records/s', value: result.recordsPerSec });
  }

  return { figures, native };
}

export async function runBenchAll(options: BenchAllOptions, log: (line: string) => void = () => {}): Promise<BenchAllReport> {
  const date = new Date().toISOString();
  const rounds: RoundResult[] = [];
  let native: NativeLimits | null = null;
  for (let round = 1; round <= options.runs; round++) {
    const loadBefore = os.loadavg()[0];
    const result = await runRound(options, (line) => log(`round ${round}/${options.runs}: ${line}`));
    native = result.native;
    rounds.push({ figures: result.figures, loadAverage1m: [loadBefore, os.loadavg()[0]] });
  }
  return { date, endDate: new Date().toISOString(), options, machine: machineInfo(), native: native!.env, rounds };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface Aggregate {
  figure: Figure;
  values: number[];
  ratios: number[] | null;
}

/** Per figure: every round's value and, where it has a reference, every round's ratio to it. */
export function aggregate(rounds: readonly RoundResult[]): Aggregate[] {
  const byKey = new Map<string, Aggregate>();
  for (const round of rounds) {
    const values = new Map(round.figures.map((f) => [key(f.table, f.row, f.column), f.value]));
    for (const figure of round.figures) {
      const k = key(figure.table, figure.row, figure.column);
      let entry = byKey.get(k);
      if (entry === undefined) {
        entry = { figure, values: [], ratios: figure.ref === undefined ? null : [] };
        byKey.set(k, entry);
      }
      entry.values.push(figure.value);
      if (figure.ref !== undefined) {
        const reference = values.get(figure.ref);
        if (reference === undefined) throw new Error(`figure ${k} refers to ${figure.ref}, which this round did not measure`);
        entry.ratios!.push(figure.value / reference);
      }
    }
  }
  return [...byKey.values()];
}

function formatValue(column: string, value: number): string {
  return column.includes('records/s') || column.includes('messages/s') ? formatCount(value) : formatFigure(value);
}

function formatRatio(style: 'x' | '%' | undefined, ratio: number): string {
  return style === '%' ? `${formatFigure(ratio * 100)} %` : `${formatFigure(ratio)}x`;
}

/** "median (run 1, run 2, run 3)" when the rounds differ in what is printed, else the single value. */
function cell(values: readonly number[], format: (v: number) => string): string {
  const printed = values.map(format);
  const mid = format(median(values));
  return new Set(printed).size === 1 ? mid : `${mid} (${printed.join(', ')})`;
}

/** Per table: its title, how it was measured, and how its ratio columns are headed. */
const TABLE_TITLES: Record<string, [string, string, string]> = {
  limits: ["The machine's limits", 'native-bench (C, liblz4), best pass of each round; the references of the ratios below.', ''],
  embedded: ['Sluice embedded', '`sluice perf produce` (100-byte values, batch 256 KiB, acks all) then `sluice perf consume` of the same data directory; MB/s as a share of the page cache.', 'of page cache'],
  e2e: ['End-to-end latency', '`sluice perf e2e`, acks 1: from the intended send time to the consumer handing the record out; the last two columns are from the same time to the send() call that carried the record and to its acknowledgement.', ''],
  peers: ['Peers side by side', '`npm run bench:compare` with every peer (setups in bench/compare.ts): append records/s, MB/s and p99 (send call to acknowledgement), then read back in order; ratios to Sluice embedded.', 'vs Sluice'],
  kafka: ['Kafka protocol', '`node dist/bench/server.bench.js`: kcat (librdkafka) and kafkajs against `sluice serve`, beside the broker fed pre-built batches; ratios to the broker alone.', 'vs broker alone'],
  codec: ['RecordBatch codec', '`node dist/bench/codec.bench.js` (one core, 1000 records of 8 + 100 bytes per batch); ratios to kafkajs 2.2.4 on the same records.', 'vs kafkajs'],
  lz4: ['LZ4 against liblz4', "The codec's frame functions on native-bench's payload in 64 KiB frames (codec.bench), as a share of native-bench's liblz4 frame figures.", 'of liblz4'],
  streams: [
    'Sluice Streams word count',
    '`node dist/bench/streams.bench.js`: examples/word-count.ts over lines of 10 words in 4 partitions (repartition topic, counts store with its changelog, every update to the output topic), embedded and through kafkajs against `sluice serve`; ratios to a plain consumer counting the same words into a Map.',
    'vs plain consumer',
  ],
  append: ['The log', '`node dist/bench/append.bench.js` (1 MiB batches), as a share of the page cache.', 'of page cache'],
};

/** The markdown block: how it was made, the machine, then one table per benchmark. */
export function formatBenchAllMarkdown(report: BenchAllReport): string {
  const { machine, native, options, rounds } = report;
  const loads = rounds.flatMap((round) => round.loadAverage1m);
  const lines: string[] = [
    BEGIN_MARKER,
    '',
    `Generated by \`npm run bench:all -- --runs ${options.runs} --records ${options.records} --time-ms ${options.timeMs}\` ` +
      `from ${report.date} to ${report.endDate}: ${options.runs} rounds of every benchmark, one after the other. ` +
      `Each cell is the median over the rounds, followed by every round's figure where they differ; each ratio is taken ` +
      `within its round (against the reference measured in the same round), then its median reported.`,
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${native.cpuModel}, ${machine.cores} logical cores |`,
    `| Memory | ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB |`,
    `| Kernel | ${machine.os} ${machine.kernel}, ${machine.arch} |`,
    `| File system of the temporary directories | ${native.tmpDirFsType} |`,
    `| Node | ${machine.node} |`,
    `| C compiler, liblz4 (native-bench) | ${native.compiler}, ${native.lz4Version} |`,
    `| 1-minute load average at the start and end of each round | ${loads.map((l) => l.toFixed(1)).join(', ')} |`,
    '',
  ];
  const aggregates = aggregate(rounds);
  for (const [table, [title, how, ratioLabel]] of Object.entries(TABLE_TITLES)) {
    const entries = aggregates.filter((a) => a.figure.table === table);
    if (entries.length === 0) continue;
    const columns = [...new Set(entries.map((a) => a.figure.column))];
    const rows = [...new Set(entries.map((a) => a.figure.row))];
    const withRatio = new Set(entries.filter((a) => a.ratios !== null).map((a) => a.figure.column));
    const header = ['', ...columns.flatMap((c) => (withRatio.has(c) ? [c, `${c} ${ratioLabel}`] : [c]))];
    lines.push(`### ${title}`, '', how, '', `| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const row of rows) {
      const cells = [row];
      for (const column of columns) {
        const entry = entries.find((a) => a.figure.row === row && a.figure.column === column);
        cells.push(entry === undefined ? '-' : cell(entry.values, (v) => formatValue(column, v)));
        if (withRatio.has(column)) {
          cells.push(entry?.ratios == null ? '-' : cell(entry.ratios, (r) => formatRatio(entry.figure.ratioStyle, r)));
        }
      }
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(END_MARKER);
  return lines.join('\n') + '\n';
}

/** `document` with its generated block replaced by `block`, or the block put after its first line. */
export function spliceGenerated(document: string, block: string): string {
  const begin = document.indexOf(BEGIN_MARKER);
  const end = document.indexOf(END_MARKER);
  if (begin >= 0 && end > begin) return document.slice(0, begin) + block + document.slice(end + END_MARKER.length + 1);
  if (begin >= 0 || end >= 0) throw new Error(`the file has only one of ${BEGIN_MARKER} and ${END_MARKER}, or them in the wrong order: fix it by hand`);
  const firstLineEnd = document.indexOf('\n');
  if (firstLineEnd < 0) return `${document}\n\n${block}`;
  return `${document.slice(0, firstLineEnd + 1)}\n${block}${document.slice(firstLineEnd + 1)}`;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench:all')
    .description('run every benchmark and peer in rounds and write the figure tables of BENCHMARKS.md')
    .option('--runs <n>', 'rounds of every benchmark (medians over them)', parseInteger)
    .option('--records <n>', 'records for the produce, consume, peer and Kafka-protocol workloads', parseInteger)
    .option('--time-ms <n>', 'time per micro-benchmark task', parseInteger)
    .option('--out <file>', 'markdown file whose generated block is replaced', 'BENCHMARKS.md')
    .option('--json <file>', 'also write every round\'s raw figures there')
    .addOption(new Option('--quick', 'small workloads, to check the pipeline (figures mean nothing)'));
  program.parse(argv);
  const flags = program.opts<{ runs?: number; records?: number; timeMs?: number; out: string; json?: string; quick?: boolean }>();
  const base = flags.quick === true ? QUICK_BENCH_ALL_OPTIONS : DEFAULT_BENCH_ALL_OPTIONS;
  const options: BenchAllOptions = {
    ...base,
    runs: flags.runs ?? base.runs,
    records: flags.records ?? base.records,
    timeMs: flags.timeMs ?? base.timeMs,
  };
  if (options.runs < 1) throw new Error('--runs must be at least 1');
  const report = await runBenchAll(options, (line) => process.stderr.write(`${line}\n`));
  if (flags.json !== undefined) writeFileSync(flags.json, JSON.stringify(report, null, 2) + '\n');
  const block = formatBenchAllMarkdown(report);
  const document = existsSync(flags.out) ? readFileSync(flags.out, 'utf8') : '# Sluice benchmarks\n';
  writeFileSync(flags.out, spliceGenerated(document, block));
  process.stderr.write(`wrote the generated tables into ${flags.out}\n`);
}

if (isMainModule(import.meta.url)) {
  main(process.argv).catch((error: unknown) => {
    process.stderr.write(`bench:all failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
