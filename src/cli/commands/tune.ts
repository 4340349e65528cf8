/**
 * `sluice tune`: sweeps the producer's batching settings (batch size x linger x compression, and
 * optionally acks, partition counts and target rates), one perf run per point, and shows the
 * trade-off: a table sorted by throughput with the Pareto front marked, the configurations to
 * pick, an SVG chart of throughput against p99 latency (tune-chart.ts) and an HTML report holding
 * all three (tune-report.ts). The sweep lives in src/perf/tune.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, Option } from 'commander';
import { DEFAULT_BATCH_SIZE, DEFAULT_LINGER_MS } from '../../client/producer.js';
import type { Acks } from '../../broker/broker-api.js';
import { InvalidConfigError } from '../../errors.js';
import { acksName, PERF_COMPRESSIONS, type PerfCompression } from '../../perf/config.js';
import { listOf, parseAcks, parseCompression, parseInteger, parseNumber } from '../../perf/cli-options.js';
import type { PerfResult } from '../../perf/report.js';
import { tuneReportHtml } from '../../perf/tune-report.js';
import { formatTuneReport, pointLabel, recommend, runTune, type Recommendation, type TuneOutcome, type TuneWorkload } from '../../perf/tune.js';
import { formatCount, formatFigure } from '../../format.js';
import { formatDuration } from '../../perf/progress.js';
import { addWorkloadOptions, dropUndefined, workloadOptions, type CommandIo, type WorkloadFlags } from './perf.js';

export const DEFAULT_CHART_FILE = 'sluice-tune.svg';
export const DEFAULT_REPORT_FILE = 'sluice-tune.html';

interface TuneFlags extends Omit<WorkloadFlags, 'throughput'> {
  throughput: number[];
  report: string;
  mode: 'produce' | 'e2e';
  batchSizes: number[];
  lingerMs: number[];
  compressions: PerfCompression[];
  acks: Acks[];
  partitions: number[];
  chart: string;
  maxP99Ms?: number;
}

/** A comma-separated list flag whose default reads in --help as it would be typed. */
function listOption<T>(flags: string, description: string, parse: (text: string) => T, fallback: T[], shown: string): Option {
  return new Option(flags, description).argParser(listOf(parse)).default(fallback, shown);
}

const PROCESS_IO: CommandIo = { stdout: process.stdout, stderr: process.stderr };

export function registerTuneCommand(program: Command, io: CommandIo = PROCESS_IO): Command {
  const command = addWorkloadOptions(
    program
      .command('tune')
      .description('sweep batching configs (batch size x linger x compression [x acks x partitions x target rates]) and report throughput against p99 latency: table, SVG chart, HTML report'),
    { dataDir: 'parent directory of each point\'s fresh data directory (default: the OS temp dir)', bootstrapServer: false, singleThroughput: false },
  )
    .addOption(new Option('--mode <mode>', 'what each point runs').choices(['produce', 'e2e']).default('produce'))
    .addOption(listOption('--batch-sizes <list>', 'batch.size values in bytes, comma-separated', parseInteger, [DEFAULT_BATCH_SIZE], String(DEFAULT_BATCH_SIZE)))
    .addOption(listOption('--linger-ms <list>', 'linger.ms values, comma-separated', parseInteger, [DEFAULT_LINGER_MS], String(DEFAULT_LINGER_MS)))
    .addOption(listOption<PerfCompression>('--compressions <list>', `compressions among ${PERF_COMPRESSIONS.join(', ')}, comma-separated`, parseCompression, ['none'], 'none'))
    .addOption(listOption<Acks>('--acks <list>', 'acks values among 0, 1, all, comma-separated', parseAcks, [-1], 'all'))
    .addOption(listOption('--partitions <list>', 'partition counts, comma-separated', parseInteger, [1], '1'))
    .addOption(
      listOption('--throughput <list>', 'target rates in records/s, comma-separated; several draw each configuration\'s latency curve; -1 for as fast as possible', parseNumber, [-1], '-1'),
    )
    .option('--chart <file>', 'where to write the SVG chart of throughput against p99', DEFAULT_CHART_FILE)
    .option('--report <file>', 'where to write the HTML report (chart, recommendations, table)', DEFAULT_REPORT_FILE)
    .option('--max-p99-ms <ms>', 'also recommend the best throughput whose p99 stays within this', parseNumber)
    .action(async (flags: TuneFlags) => {
      const { dataDir, ...rest } = workloadOptions({ ...flags, throughput: undefined });
      const workload: TuneWorkload = dropUndefined(rest);
      // Made before the sweep, as `perf` makes its data directory: a path that cannot be made
      // fails now rather than after every point has run.
      if (dataDir !== undefined) makeDirectory(dataDir, '--data-dir');
      makeDirectory(path.dirname(path.resolve(flags.chart)), 'the --chart file');
      makeDirectory(path.dirname(path.resolve(flags.report)), 'the --report file');
      const json = flags.json === true;
      const log = (line: string): void => {
        if (!json) io.stderr?.write(line + '\n');
      };
      const sweepStartMs = performance.now();
      // Each point's line says how long the rest of the sweep should take at the pace so far.
      const timeLeft = (pointsDone: number, count: number): string =>
        pointsDone >= count ? 'done' : `ETA ${formatDuration((((performance.now() - sweepStartMs) / pointsDone) * (count - pointsDone)) / 1000)}`;
      const outcome = await runTune(
        {
          mode: flags.mode,
          grid: {
            batchSizes: flags.batchSizes,
            lingerMs: flags.lingerMs,
            compressions: flags.compressions,
            acks: flags.acks,
            partitions: flags.partitions,
            throughputs: flags.throughput,
          },
          workload,
        },
        { progressStream: json ? null : io.stderr, ...(dataDir === undefined ? {} : { tempParent: dataDir }) },
        (index, count, point, result) =>
          log(
            `[${index + 1}/${count}] batch ${point.batchSizeBytes} linger ${point.lingerMs} ${point.compression} acks ${acksName(point.acks)} ` +
              `${point.partitions} p${point.throughput > 0 ? ` @ ${formatCount(point.throughput)}/s` : ''}: ${formatCount(result.recordsPerSec)} records/s, p99 ${formatFigure(result.latencyMs?.p99 ?? null)} ms ` +
              `(${timeLeft(index + 1, count)})`,
          ),
      );
      const recommendation = recommend(outcome.results, flags.maxP99Ms ?? null);
      const title = `sluice tune (${flags.mode}): throughput against p99 latency`;
      // Loaded here, not with the CLI: Vega takes about 0.3 s to load, which every other command would pay.
      const { tuneChartSvg } = await import('../../perf/tune-chart.js');
      const svg = await tuneChartSvg(outcome, recommendation, { title });
      const html = tuneReportHtml(outcome, recommendation, { title, svg, finishedAt: new Date() });
      // The results first: a chart or report that cannot be written must not cost the sweep.
      if (!json) io.stdout.write(formatTuneReport(outcome, recommendation));
      const written = writeOutputs([
        { file: flags.chart, text: svg, flag: '--chart' },
        { file: flags.report, text: html, flag: '--report' },
      ]);
      if (json) {
        io.stdout.write(JSON.stringify(tuneJson(outcome, recommendation, written.ok ? { chart: flags.chart, report: flags.report } : null)) + '\n');
      } else if (written.ok) {
        io.stdout.write(`chart: ${flags.chart}\nreport: ${flags.report}\n`);
      }
      if (!written.ok) throw written.error;
    });
  return command;
}

/** Writes every file, stopping at the first that fails: its error names the flag to fix. */
function writeOutputs(outputs: { file: string; text: string; flag: string }[]): { ok: true } | { ok: false; error: InvalidConfigError } {
  for (const { file, text, flag } of outputs) {
    try {
      writeFileSync(file, text);
    } catch (error) {
      return {
        ok: false,
        error: new InvalidConfigError(
          `could not write "${file}" (${(error as Error).message}); the results above are complete: give ${flag} a writable file`,
        ),
      };
    }
  }
  return { ok: true };
}

/** --json: every result with its row number and front flag, the recommendations by row, and the files written (null when writing failed). */
export function tuneJson(outcome: TuneOutcome, recommendation: Recommendation, files: { chart: string; report: string } | null): object {
  const row = (result: PerfResult | null): { row: number; label: string } | null =>
    result === null ? null : { row: outcome.results.indexOf(result) + 1, label: pointLabel(result) };
  return {
    results: outcome.results.map((result, i) => ({ row: i + 1, label: pointLabel(result), onFront: outcome.onFront[i], ...result })),
    recommendations: {
      bestThroughput: row(recommendation.bestThroughput),
      bestUnderP99: row(recommendation.bestUnderP99),
      maxP99Ms: recommendation.maxP99Ms,
    },
    chart: files?.chart ?? null,
    report: files?.report ?? null,
  };
}

function makeDirectory(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new InvalidConfigError(`cannot create the directory of ${what}, "${dir}": ${(error as Error).message}`);
  }
}
