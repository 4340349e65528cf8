/**
 * The HTML report of a tune sweep: one self-contained page (the chart inlined as SVG, no script,
 * no stylesheet or font from elsewhere, so it opens offline and can be attached to a ticket) with
 * the workload, the machine, the recommendations, the chart and the results table.
 */
import { describeConfig, type PerfResult } from './report.js';
import { formatCount, formatFigure } from '../format.js';
import { pointLabel, tuneTableRows, TUNE_TABLE_ALIGNS, TUNE_TABLE_HEADERS, type Recommendation, type TuneOutcome } from './tune.js';

export interface TuneReportOptions {
  title: string;
  /** The chart, a standalone SVG document (tuneChartSvg). */
  svg: string;
  /** When the sweep ended. */
  finishedAt: Date;
}

export function tuneReportHtml(outcome: TuneOutcome, recommendation: Recommendation, options: TuneReportOptions): string {
  const first = outcome.results[0];
  const rows = tuneTableRows(outcome);
  const recommended = new Map<PerfResult, string[]>();
  const note = (result: PerfResult | null, name: string): void => {
    if (result !== null) recommended.set(result, [...(recommended.get(result) ?? []), name]);
  };
  note(recommendation.bestThroughput, 'best throughput');
  if (recommendation.maxP99Ms !== null) note(recommendation.bestUnderP99, `best with p99 <= ${recommendation.maxP99Ms} ms`);
  const undrawn = outcome.results.filter((result) => !((result.latencyMs?.p99 ?? 0) > 0)).length;

  const table =
    `<table>\n<thead><tr>${TUNE_TABLE_HEADERS.map((header) => `<th>${escapeHtml(header)}</th>`).join('')}</tr></thead>\n<tbody>\n` +
    rows
      .map((cells, i) => {
        const classes = [outcome.onFront[i] ? 'front' : '', recommended.has(outcome.results[i]) ? 'recommended' : ''].filter((c) => c !== '').join(' ');
        const tds = cells.map((cell, column) => `<td class="${TUNE_TABLE_ALIGNS[column]}">${escapeHtml(cell)}</td>`).join('');
        return `<tr${classes === '' ? '' : ` class="${classes}"`}>${tds}</tr>`;
      })
      .join('\n') +
    '\n</tbody>\n</table>';

  const recommendationLines: string[] = [];
  for (const [result, names] of recommended) {
    const rank = outcome.results.indexOf(result) + 1;
    recommendationLines.push(
      `<li><strong>${escapeHtml(names.join(', '))}</strong>: #${rank} ${escapeHtml(pointLabel(result))}: ` +
        `${escapeHtml(formatCount(result.recordsPerSec))} records/s, p99 ${escapeHtml(formatFigure(result.latencyMs?.p99 ?? null))} ms</li>`,
    );
  }
  if (recommendation.maxP99Ms !== null && recommendation.bestUnderP99 === null) {
    recommendationLines.push(`<li><strong>p99 &lt;= ${recommendation.maxP99Ms} ms</strong>: none of the configurations meets it</li>`);
  }

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(options.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.4em; }
p.meta { color: #555; }
table { border-collapse: collapse; margin-top: 1em; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; }
td.right { text-align: right; }
tr.front td { background: #f7f7ff; }
tr.recommended td { font-weight: bold; color: #a00; }
figure { margin: 1em 0; }
</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
<p class="meta">${escapeHtml(`${outcome.results.length} runs, finished ${options.finishedAt.toISOString()}`)}${
    first === undefined
      ? ''
      : `<br>${escapeHtml(`workload of the first run: ${describeConfig(first.config)}`)}<br>${escapeHtml(
          `machine: ${first.machine.cpu}, ${first.machine.cores} cores, ${first.machine.os} ${first.machine.kernel}, node ${first.machine.node}`,
        )}`
  }</p>
<h2>Recommended</h2>
<ul>
${recommendationLines.join('\n')}
</ul>
<figure>
${stripXmlDeclaration(options.svg)}
<figcaption>${
    undrawn === 0 ? '' : `${undrawn} run(s) without a p99 latency are in the table but not on the chart (its latency axis is logarithmic). `
  }Rows marked front are on the Pareto front: no other configuration has both higher throughput and lower p99.</figcaption>
</figure>
${table}
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** An inline SVG in HTML takes no XML declaration. */
function stripXmlDeclaration(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}
