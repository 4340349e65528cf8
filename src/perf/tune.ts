/**
 * `sluice tune`: one perf run (produce, or e2e) per point of the grid batch sizes x linger times
 * x compressions x acks x partition counts x target rates, each on a fresh data directory; then
 * the points sorted by throughput, the Pareto front of throughput against p99, and two
 * recommendations: the highest throughput, and the highest throughput whose p99 stays within a
 * bound. The chart and the HTML report are drawn from the outcome by tune-chart.ts and
 * tune-report.ts.
 */
import type { Acks } from '../broker/broker-api.js';
import { InvalidConfigError } from '../errors.js';
import { acksName, type PerfCompression, type PerfOptions } from './config.js';
import { paretoFront } from './pareto.js';
import { type PerfResult } from './report.js';
import { runPerf, type PerfRunSettings } from './run-perf.js';
import { formatCount, formatFigure } from '../format.js';
import { formatTable } from './table.js';

export interface TuneGrid {
  batchSizes: readonly number[];
  lingerMs: readonly number[];
  compressions: readonly PerfCompression[];
  acks: readonly Acks[];
  partitions: readonly number[];
  /** Target rates in records/s, -1 for as fast as possible: several draw each configuration's latency curve. */
  throughputs: readonly number[];
}

export interface TunePoint {
  batchSizeBytes: number;
  lingerMs: number;
  compression: PerfCompression;
  acks: Acks;
  partitions: number;
  throughput: number;
}

/** The workload every point shares: everything but the swept settings. */
export type TuneWorkload = Omit<
  PerfOptions,
  'mode' | 'batchSizeBytes' | 'lingerMs' | 'compression' | 'acks' | 'partitions' | 'throughput' | 'bootstrapServer' | 'dataDir'
>;

export interface TuneOptions {
  mode: 'produce' | 'e2e';
  grid: TuneGrid;
  workload: TuneWorkload;
}

export interface TuneOutcome {
  /** One per point, best throughput first. */
  results: PerfResult[];
  /** onFront[i] tells whether results[i] is on the Pareto front. */
  onFront: boolean[];
}

/** Upper bound on grid points: a sweep is a series of full runs. */
export const MAX_TUNE_POINTS = 1000;

/** Every combination, batch size varying slowest. */
export function tunePoints(grid: TuneGrid): TunePoint[] {
  const lists: [string, readonly unknown[]][] = [
    ['--batch-sizes', grid.batchSizes],
    ['--linger-ms', grid.lingerMs],
    ['--compressions', grid.compressions],
    ['--acks', grid.acks],
    ['--partitions', grid.partitions],
    ['--throughput', grid.throughputs],
  ];
  for (const [flag, list] of lists) {
    if (!Array.isArray(list) || list.length === 0) throw new InvalidConfigError(`${flag} must list at least one value`);
  }
  const count = lists.reduce((product, [, list]) => product * list.length, 1);
  if (count > MAX_TUNE_POINTS) throw new InvalidConfigError(`the grid has ${count} points; at most ${MAX_TUNE_POINTS}: shorten the lists`);
  const points: TunePoint[] = [];
  for (const batchSizeBytes of grid.batchSizes) {
    for (const lingerMs of grid.lingerMs) {
      for (const compression of grid.compressions) {
        for (const acks of grid.acks) {
          for (const partitions of grid.partitions) {
            for (const throughput of grid.throughputs) points.push({ batchSizeBytes, lingerMs, compression, acks, partitions, throughput });
          }
        }
      }
    }
  }
  return points;
}

export async function runTune(
  options: TuneOptions,
  settings: PerfRunSettings = {},
  onPoint?: (index: number, count: number, point: TunePoint, result: PerfResult) => void,
): Promise<TuneOutcome> {
  const points = tunePoints(options.grid);
  const results: PerfResult[] = [];
  for (let i = 0; i < points.length; i++) {
    const point = points[i];
    const result = await runPerf(
      {
        ...options.workload,
        mode: options.mode,
        batchSizeBytes: point.batchSizeBytes,
        lingerMs: point.lingerMs,
        compression: point.compression,
        acks: point.acks,
        partitions: point.partitions,
        throughput: point.throughput,
      },
      settings,
    );
    results.push(result);
    onPoint?.(i, points.length, point, result);
  }
  results.sort((a, b) => b.recordsPerSec - a.recordsPerSec);
  return { results, onFront: paretoFront(results.map(tradeoffOf)) };
}

function tradeoffOf(result: PerfResult): { recordsPerSec: number; p99Ms: number | null } {
  return { recordsPerSec: result.recordsPerSec, p99Ms: result.latencyMs?.p99 ?? null };
}

/** "batch 16384 / linger 5 / lz4 / acks all / 4 p": the configuration of a result, whatever its rate. */
export function configurationLabel(result: PerfResult): string {
  const c = result.config;
  return `batch ${c.batchSizeBytes} / linger ${c.lingerMs} / ${c.compression} / acks ${acksName(c.acks)} / ${c.partitions} p`;
}

/** The configuration and, when one was set, the target rate: "batch 16384 / ... / 4 p @ 10,000/s". */
export function pointLabel(result: PerfResult): string {
  const rate = result.config.throughput;
  return rate > 0 ? `${configurationLabel(result)} @ ${formatCount(rate)}/s` : configurationLabel(result);
}

export interface Recommendation {
  bestThroughput: PerfResult | null;
  /** Best throughput with p99 <= maxP99Ms; null when no bound was given or no point meets it. */
  bestUnderP99: PerfResult | null;
  maxP99Ms: number | null;
}

export function recommend(results: readonly PerfResult[], maxP99Ms: number | null): Recommendation {
  let bestThroughput: PerfResult | null = null;
  let bestUnderP99: PerfResult | null = null;
  for (const result of results) {
    if (bestThroughput === null || result.recordsPerSec > bestThroughput.recordsPerSec) bestThroughput = result;
    const p99 = result.latencyMs?.p99;
    if (maxP99Ms !== null && p99 !== undefined && p99 <= maxP99Ms && (bestUnderP99 === null || result.recordsPerSec > bestUnderP99.recordsPerSec)) {
      bestUnderP99 = result;
    }
  }
  return { bestThroughput, bestUnderP99, maxP99Ms };
}

/** The results table's columns: the text table and the HTML report show the same. */
export const TUNE_TABLE_HEADERS = ['#', 'front', 'batch B', 'linger ms', 'compression', 'acks', 'partitions', 'target/s', 'records/s', 'MB/s', 'p50 ms', 'p99 ms'];
export const TUNE_TABLE_ALIGNS: ('left' | 'right')[] = ['right', 'left', 'right', 'right', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'];

/** One row per result, best throughput first; # is the number the chart labels the point with. */
export function tuneTableRows(outcome: TuneOutcome): string[][] {
  return outcome.results.map((result, i) => [
    String(i + 1),
    outcome.onFront[i] ? '*' : '',
    String(result.config.batchSizeBytes),
    String(result.config.lingerMs),
    result.config.compression,
    acksName(result.config.acks),
    String(result.config.partitions),
    result.config.throughput > 0 ? formatCount(result.config.throughput) : 'max',
    formatCount(result.recordsPerSec),
    formatFigure(result.mbPerSec),
    formatFigure(result.latencyMs?.p50 ?? null),
    formatFigure(result.latencyMs?.p99 ?? null),
  ]);
}

/** The results table and the recommendations (the chart's and report's files are reported once written). */
export function formatTuneReport(outcome: TuneOutcome, recommendation: Recommendation): string {
  let out = formatTable(TUNE_TABLE_HEADERS, tuneTableRows(outcome), TUNE_TABLE_ALIGNS);
  out += '* = on the Pareto front: no other configuration has both higher throughput and lower p99\n';
  const best = recommendation.bestThroughput;
  if (best !== null) {
    out += `best throughput: ${pointLabel(best)}: ${formatCount(best.recordsPerSec)} records/s, p99 ${formatFigure(best.latencyMs?.p99 ?? null)} ms\n`;
  }
  if (recommendation.maxP99Ms !== null) {
    const bounded = recommendation.bestUnderP99;
    out +=
      bounded === null
        ? `best throughput with p99 <= ${recommendation.maxP99Ms} ms: none of the configurations meets it\n`
        : `best throughput with p99 <= ${recommendation.maxP99Ms} ms: ${pointLabel(bounded)}: ${formatCount(bounded.recordsPerSec)} records/s, p99 ${formatFigure(bounded.latencyMs?.p99 ?? null)} ms\n`;
  }
  return out;
}
