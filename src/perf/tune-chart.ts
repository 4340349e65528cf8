/**
 * The chart of a tune sweep: throughput against p99 latency, one point per run, drawn by
 * Vega-Lite (compiled to Vega and rendered to SVG in this process: no browser, no network).
 *
 * Every configuration is identifiable at a glance: compression is the colour, linger the shape,
 * batch size the size of the point, and each point carries its row number (#) in the results
 * table. The Pareto front is a dashed line, the --max-p99-ms bound a red rule, the recommended
 * configurations are ringed and named, and when the sweep ran several target rates each
 * configuration's points are joined into its latency-versus-throughput curve.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { formatCount, formatFigure } from '../format.js';
import { configurationLabel, pointLabel, type Recommendation, type TuneOutcome } from './tune.js';

const CHART_WIDTH_PX = 720;
const CHART_HEIGHT_PX = 440;
/** Point areas (px^2) from the smallest batch size swept to the largest. */
const POINT_AREA_RANGE_PX2 = [50, 420];
const RING_AREA_PX2 = 900;

export interface TuneChartOptions {
  title: string;
}

/** One run as the chart sees it. */
interface ChartDatum {
  rank: number;
  label: string;
  configuration: string;
  compression: string;
  lingerMs: number;
  linger: string;
  batchSizeBytes: number;
  batch: string;
  targetRate: number;
  recordsPerSec: number;
  p99Ms: number;
  onFront: boolean;
  recommended: string;
  /** What a screen reader (and the SVG's aria-label) says of the point. */
  description: string;
}

/** The Vega-Lite specification of the chart; the runs without a positive p99 are left out (a log axis cannot place them). */
export function tuneChartSpec(outcome: TuneOutcome, recommendation: Recommendation, options: TuneChartOptions): TopLevelSpec {
  const data: ChartDatum[] = [];
  outcome.results.forEach((result, i) => {
    const p99Ms = result.latencyMs?.p99 ?? null;
    if (p99Ms === null || !(p99Ms > 0)) return;
    const c = result.config;
    const recommended = [
      result === recommendation.bestThroughput ? 'best throughput' : null,
      result === recommendation.bestUnderP99 ? `best with p99 <= ${recommendation.maxP99Ms} ms` : null,
    ]
      .filter((name) => name !== null)
      .join(', ');
    data.push({
      rank: i + 1,
      label: `#${i + 1}`,
      configuration: configurationLabel(result),
      compression: c.compression,
      lingerMs: c.lingerMs ?? 0,
      linger: `${c.lingerMs ?? 0} ms`,
      batchSizeBytes: c.batchSizeBytes ?? 0,
      batch: formatBytes(c.batchSizeBytes ?? 0),
      targetRate: c.throughput,
      recordsPerSec: result.recordsPerSec,
      p99Ms,
      onFront: outcome.onFront[i],
      recommended,
      description:
        `#${i + 1} ${pointLabel(result)}: ${formatCount(result.recordsPerSec)} records/s, p99 ${formatFigure(p99Ms)} ms` +
        `${outcome.onFront[i] ? ', on the Pareto front' : ''}${recommended === '' ? '' : `, ${recommended}`}`,
    });
  });
  const lingers = [...new Set(data.map((d) => d.lingerMs))].sort((a, b) => a - b).map((ms) => `${ms} ms`);
  const batches = [...new Set(data.map((d) => d.batchSizeBytes))].sort((a, b) => a - b).map(formatBytes);
  const compressions = [...new Set(data.map((d) => d.compression))].sort();
  const severalRates = new Set(data.map((d) => d.targetRate)).size > 1;
  // Not nice: a log scale rounded out to powers of ten leaves most of the width empty.
  const x = { field: 'p99Ms', type: 'quantitative', title: 'p99 latency (ms, log scale)', scale: { type: 'log', nice: false, padding: 24 } } as const;
  const y = { field: 'recordsPerSec', type: 'quantitative', title: 'throughput (records/s)', scale: { zero: false, padding: 16 } } as const;
  const color = { field: 'compression', type: 'nominal', title: 'compression', scale: { domain: compressions } } as const;
  // Typed loosely here and checked by Vega-Lite's compiler (a bad spec throws in compile).
  const layers: object[] = [];
  if (severalRates) {
    layers.push({
      name: 'curves',
      mark: { type: 'line', strokeWidth: 1.5, opacity: 0.55 },
      encoding: { x, y, color, detail: { field: 'configuration' }, order: { field: 'targetRate', type: 'quantitative' } },
    });
  }
  layers.push(
    {
      name: 'front',
      transform: [{ filter: 'datum.onFront' }],
      mark: { type: 'line', color: '#222', strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: { x, y, order: { field: 'p99Ms', type: 'quantitative' } },
    },
    {
      name: 'configurations',
      mark: { type: 'point', filled: true, opacity: 0.9, stroke: '#333', strokeWidth: 0.5 },
      encoding: {
        x,
        y,
        color,
        shape: { field: 'linger', type: 'nominal', title: 'linger.ms', scale: { domain: lingers } },
        size: { field: 'batch', type: 'ordinal', title: 'batch.size', scale: { domain: batches, range: POINT_AREA_RANGE_PX2 } },
        description: { field: 'description' },
      },
    },
    {
      name: 'numbers',
      mark: { type: 'text', align: 'left', dx: 9, dy: -7, fontSize: 11, color: '#222' },
      encoding: { x, y, text: { field: 'label' } },
    },
    {
      name: 'recommended',
      transform: [{ filter: "datum.recommended !== ''" }],
      mark: { type: 'point', filled: false, size: RING_AREA_PX2, color: '#c00', strokeWidth: 2 },
      encoding: { x, y },
    },
    {
      name: 'recommendations',
      transform: [{ filter: "datum.recommended !== ''" }],
      mark: { type: 'text', align: 'left', dx: 9, dy: 9, fontSize: 11, fontWeight: 'bold', color: '#c00' },
      encoding: { x, y, text: { field: 'recommended' } },
    },
  );
  if (recommendation.maxP99Ms !== null) {
    const bound = [{ p99Ms: recommendation.maxP99Ms, text: `--max-p99-ms ${recommendation.maxP99Ms}` }];
    layers.push(
      {
        name: 'bound',
        data: { values: bound },
        mark: { type: 'rule', color: '#c00', strokeDash: [3, 3], strokeWidth: 1.5 },
        encoding: { x },
      },
      {
        name: 'boundLabel',
        data: { values: bound },
        // At the foot of the rule: the fast configurations worth labelling sit at the top.
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, y: CHART_HEIGHT_PX - 4, fontSize: 11, color: '#c00' },
        encoding: { x, text: { field: 'text' } },
      },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title,
      anchor: 'start',
      subtitle: [
        'colour: compression, shape: linger.ms, size: batch.size, #n: row n of the table',
        `dashed line: Pareto front; ringed: recommended${recommendation.maxP99Ms === null ? '' : '; red rule: --max-p99-ms'}` +
          `${severalRates ? '; thin lines: one configuration at each target rate' : ''}`,
      ],
    },
    width: CHART_WIDTH_PX,
    height: CHART_HEIGHT_PX,
    background: 'white',
    data: { values: data as unknown as Record<string, unknown>[] },
    layer: layers,
    config: { legend: { orient: 'right' }, axis: { labelFontSize: 11, titleFontSize: 12 } },
  } as unknown as TopLevelSpec;
}

/** The chart as a standalone SVG document. */
export async function tuneChartSvg(outcome: TuneOutcome, recommendation: Recommendation, options: TuneChartOptions): Promise<string> {
  const view = new vega.View(vega.parse(compile(tuneChartSpec(outcome, recommendation, options)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** 16384 -> "16 KiB", 1000 -> "1000 B". */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
