/**
 * The console's charts: Vega-Lite line charts over time, compiled to Vega and rendered to SVG
 * in this process (as the tune chart is), so a page carries its charts inline and the browser
 * fetches nothing. Loaded on the first chart drawn: vega costs some 0.3 s to load.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './html.js';

export interface TimePoint {
  atMs: number;
  series: string;
  value: number;
}

export interface TimeChartOptions {
  /** What the y axis counts, with its unit. */
  yTitle: string;
  /** What the colours tell apart (the legend's title). */
  seriesTitle: string;
  /** What a screen reader says of the chart (the SVG's aria-label). */
  description: string;
  widthPx?: number;
  heightPx?: number;
}

const DEFAULT_WIDTH_PX = 760;
const DEFAULT_HEIGHT_PX = 220;
/** Past this many points per series the line is drawn without a mark at each point. */
const MAX_MARKED_POINTS = 60;

export function timeChartSpec(points: readonly TimePoint[], options: TimeChartOptions): TopLevelSpec {
  const seriesCount = new Set(points.map((p) => p.series)).size;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    description: options.description,
    width: options.widthPx ?? DEFAULT_WIDTH_PX,
    height: options.heightPx ?? DEFAULT_HEIGHT_PX,
    background: 'white',
    padding: 6,
    data: { values: points as TimePoint[] },
    mark: { type: 'line', strokeWidth: 2, point: points.length / Math.max(seriesCount, 1) <= MAX_MARKED_POINTS ? { size: 22 } : false },
    encoding: {
      x: {
        field: 'atMs',
        type: 'temporal',
        scale: { type: 'utc' },
        title: 'time (UTC)',
        axis: { format: '%H:%M:%S', labelOverlap: true, tickCount: 8, grid: false },
      },
      // All zeros (an idle shard) still gets an axis from 0 to 1 rather than a collapsed one.
      y: {
        field: 'value',
        type: 'quantitative',
        title: options.yTitle,
        scale: points.some((p) => p.value > 0) ? { zero: true } : { domain: [0, 1] },
        axis: { tickMinStep: 1 },
      },
      color: { field: 'series', type: 'nominal', title: options.seriesTitle, legend: { orient: 'right', labelLimit: 220 } },
    },
    config: {
      font: 'system-ui, sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 12, titleColor: '#5b6474', labelColor: '#1d2430', domainColor: '#b9c1cd', tickColor: '#b9c1cd' },
      legend: { labelFontSize: 11, titleFontSize: 12, titleColor: '#5b6474' },
      view: { stroke: null },
      range: { category: { scheme: 'tableau10' } },
    },
  };
}

/** The chart as an SVG element (no XML prolog), for inlining in a page. */
export async function timeChartSvg(points: readonly TimePoint[], options: TimeChartOptions): Promise<string> {
  const view = new vega.View(vega.parse(compile(timeChartSpec(points, options)).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(options.description)}" `);
  } finally {
    view.finalize();
  }
}
