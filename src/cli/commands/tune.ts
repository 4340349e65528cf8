/**
 * `sluice tune`: sweeps the producer's batching settings (batch size x linger x compression, and
 * optionally acks and partition counts), one perf run per point, and shows the trade-off:
 * a table sorted by throughput with the Pareto front marked, an SVG chart of throughput against
 * p99 latency, and the configurations to pick. The sweep lives in src/perf/tune.ts.
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
import { tradeoffChartSvg } from '../../perf/svg-chart.js';
import { formatTuneReport, pointLabel, recommend, runTune, type TuneWorkload } from '../../perf/tune.js';
import { formatCount, formatFigure } from '../../perf/table.js';
import { formatDuration } from '../../perf/progress.js';
import { addWorkloadOptions, dropUndefined, workloadOptions, type CommandIo, type WorkloadFlags } from './perf.js';

export const DEFAULT_CHART_FILE = 'sluice-tune.svg';

interface TuneFlags extends WorkloadFlags {
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
      .description('sweep batching configs (batch size x linger x compression [x acks x partitions]) and report throughput against p99 latency'),
    { dataDir: 'parent directory of each point\'s fresh data directory (default: the OS temp dir)', bootstrapServer: false },
  )
    .addOption(new Option('--mode <mode>', 'what each point runs').choices(['produce', 'e2e']).default('produce'))
    .addOption(listOption('--batch-sizes <list>', 'batch.size values in bytes, comma-separated', parseInteger, [DEFAULT_BATCH_SIZE], String(DEFAULT_BATCH_SIZE)))
    .addOption(listOption('--linger-ms <list>', 'linger.ms values, comma-separated', parseInteger, [DEFAULT_LINGER_MS], String(DEFAULT_LINGER_MS)))
    .addOption(listOption<PerfCompression>('--compressions <list>', `compressions among ${PERF_COMPRESSIONS.join(', ')}, comma-separated`, parseCompression, ['none'], 'none'))
    .addOption(listOption<Acks>('--acks <list>', 'acks values among 0, 1, all, comma-separated', parseAcks, [-1], 'all'))
    .addOption(listOption('--partitions <list>', 'partition counts, comma-separated', parseInteger, [1], '1'))
    .option('--chart <file>', 'where to write the SVG chart of throughput against p99', DEFAULT_CHART_FILE)
    .option('--max-p99-ms <ms>', 'also recommend the best throughput whose p99 stays within this', parseNumber)
    .action(async (flags: TuneFlags) => {
      const { dataDir, ...rest } = workloadOptions(flags);
      const workload: TuneWorkload = dropUndefined(rest);
      // Made before the sweep, as `perf` makes its data directory: a path that cannot be made
      // fails now rather than after every point has run.
      if (dataDir !== undefined) makeDirectory(dataDir, '--data-dir');
      makeDirectory(path.dirname(path.resolve(flags.chart)), 'the --chart file');
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
          grid: { batchSizes: flags.batchSizes, lingerMs: flags.lingerMs, compressions: flags.compressions, acks: flags.acks, partitions: flags.partitions },
          workload,
        },
        { progressStream: json ? null : io.stderr, ...(dataDir === undefined ? {} : { tempParent: dataDir }) },
        (index, count, point, result) =>
          log(
            `[${index + 1}/${count}] batch ${point.batchSizeBytes} linger ${point.lingerMs} ${point.compression} acks ${acksName(point.acks)} ` +
              `${point.partitions} p: ${formatCount(result.recordsPerSec)} records/s, p99 ${formatFigure(result.latencyMs?.p99 ?? null)} ms ` +
              `(${timeLeft(index + 1, count)})`,
          ),
      );
      const svg = tradeoffChartSvg(
        outcome.results.map((result, i) => ({
          p99Ms: result.latencyMs?.p99 ?? Number.NaN,
          recordsPerSec: result.recordsPerSec,
          label: pointLabel(result),
          onFront: outcome.onFront[i],
        })),
        { title: `sluice tune (${flags.mode}): throughput against p99 latency` },
      );
      const recommendation = recommend(outcome.results, flags.maxP99Ms ?? null);
      // The results first: a chart that cannot be written must not cost the sweep.
      io.stdout.write(json ? JSON.stringify(outcome.results) + '\n' : formatTuneReport(outcome, recommendation));
      try {
        writeFileSync(flags.chart, svg);
      } catch (error) {
        throw new InvalidConfigError(
          `could not write the chart to "${flags.chart}" (${(error as Error).message}); the results above are complete: ` +
            `give --chart a writable file to draw them`,
        );
      }
      if (!json) io.stdout.write(`chart: ${flags.chart}\n`);
    });
  return command;
}

function makeDirectory(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new InvalidConfigError(`cannot create the directory of ${what}, "${dir}": ${(error as Error).message}`);
  }
}
