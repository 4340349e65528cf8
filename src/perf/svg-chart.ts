/**
 * The throughput-against-latency chart of `sluice tune`, as a standalone SVG file: p99 latency
 * on the x axis (logarithmic when the points span more than a decade, since batching moves
 * latency by orders of magnitude), records/s on the y axis from zero, one dot per configuration,
 * the Pareto front drawn as a line through its points with their labels, and a legend.
 */

export interface ChartPoint {
  p99Ms: number;
  recordsPerSec: number;
  label: string;
  onFront: boolean;
}

export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
}

const MARGIN = { left: 90, right: 30, top: 50, bottom: 70 };
const FRONT_COLOUR = '#d62728';
const POINT_COLOUR = '#1f77b4';

interface Axis {
  toPixel(value: number): number;
  ticks: number[];
  logarithmic: boolean;
}

export function tradeoffChartSvg(points: readonly ChartPoint[], options: ChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 520;
  const plotLeft = MARGIN.left;
  const plotRight = width - MARGIN.right;
  const plotTop = MARGIN.top;
  const plotBottom = height - MARGIN.bottom;
  const drawable = points.filter((point) => Number.isFinite(point.p99Ms) && point.p99Ms > 0 && Number.isFinite(point.recordsPerSec));

  const xs = drawable.map((point) => point.p99Ms);
  const ys = drawable.map((point) => point.recordsPerSec);
  const xAxis = latencyAxis(xs.length > 0 ? Math.min(...xs) : 0.1, xs.length > 0 ? Math.max(...xs) : 1, plotLeft, plotRight);
  const yAxis = linearAxis(0, ys.length > 0 ? Math.max(...ys) : 1, plotBottom, plotTop);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="28" text-anchor="middle" font-size="16">${escapeXml(options.title)}</text>`);

  // Grid and ticks.
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const tick of xAxis.ticks) out.push(`<line x1="${px(xAxis.toPixel(tick))}" y1="${plotTop}" x2="${px(xAxis.toPixel(tick))}" y2="${plotBottom}"/>`);
  for (const tick of yAxis.ticks) out.push(`<line x1="${plotLeft}" y1="${px(yAxis.toPixel(tick))}" x2="${plotRight}" y2="${px(yAxis.toPixel(tick))}"/>`);
  out.push('</g>');
  out.push('<g class="axes" stroke="black" stroke-width="1">');
  out.push(`<line x1="${plotLeft}" y1="${plotBottom}" x2="${plotRight}" y2="${plotBottom}"/>`);
  out.push(`<line x1="${plotLeft}" y1="${plotTop}" x2="${plotLeft}" y2="${plotBottom}"/>`);
  for (const tick of xAxis.ticks) out.push(`<line x1="${px(xAxis.toPixel(tick))}" y1="${plotBottom}" x2="${px(xAxis.toPixel(tick))}" y2="${plotBottom + 5}"/>`);
  for (const tick of yAxis.ticks) out.push(`<line x1="${plotLeft - 5}" y1="${px(yAxis.toPixel(tick))}" x2="${plotLeft}" y2="${px(yAxis.toPixel(tick))}"/>`);
  out.push('</g>');
  out.push('<g class="tick-labels">');
  for (const tick of xAxis.ticks) {
    out.push(`<text x="${px(xAxis.toPixel(tick))}" y="${plotBottom + 20}" text-anchor="middle">${escapeXml(formatMs(tick))}</text>`);
  }
  for (const tick of yAxis.ticks) {
    out.push(`<text x="${plotLeft - 9}" y="${px(yAxis.toPixel(tick) + 4)}" text-anchor="end">${escapeXml(formatRate(tick))}</text>`);
  }
  out.push('</g>');
  out.push(`<text class="x-label" x="${(plotLeft + plotRight) / 2}" y="${height - 22}" text-anchor="middle">p99 latency (ms${xAxis.logarithmic ? ', log scale' : ''})</text>`);
  out.push(
    `<text class="y-label" x="22" y="${(plotTop + plotBottom) / 2}" text-anchor="middle" transform="rotate(-90 22 ${(plotTop + plotBottom) / 2})">throughput (records/s)</text>`,
  );

  // The front, left to right, then every point on top of it.
  const front = drawable.filter((point) => point.onFront).sort((a, b) => a.p99Ms - b.p99Ms);
  if (front.length > 1) {
    const path = front.map((point) => `${px(xAxis.toPixel(point.p99Ms))},${px(yAxis.toPixel(point.recordsPerSec))}`).join(' ');
    out.push(`<polyline class="pareto-front" points="${path}" fill="none" stroke="${FRONT_COLOUR}" stroke-width="2"/>`);
  }
  out.push('<g class="points">');
  for (const point of drawable) {
    const colour = point.onFront ? FRONT_COLOUR : POINT_COLOUR;
    out.push(
      `<circle cx="${px(xAxis.toPixel(point.p99Ms))}" cy="${px(yAxis.toPixel(point.recordsPerSec))}" r="5" fill="${colour}" fill-opacity="0.85">` +
        `<title>${escapeXml(`${point.label}: ${formatRate(point.recordsPerSec)} records/s, p99 ${formatMs(point.p99Ms)} ms`)}</title></circle>`,
    );
  }
  out.push('</g>');
  out.push('<g class="point-labels" font-size="10" fill="#444">');
  for (const point of front) {
    const x = xAxis.toPixel(point.p99Ms);
    // Labels of points in the right half run leftwards, so they stay inside the chart.
    const rightHalf = x > (plotLeft + plotRight) / 2;
    out.push(
      `<text x="${px(rightHalf ? x - 8 : x + 8)}" y="${px(yAxis.toPixel(point.recordsPerSec) - 8)}"${rightHalf ? ' text-anchor="end"' : ''}>${escapeXml(point.label)}</text>`,
    );
  }
  out.push('</g>');

  // Legend, top right inside the plot.
  const legendX = plotRight - 190;
  const legendY = plotTop + 10;
  out.push('<g class="legend">');
  out.push(`<rect x="${legendX}" y="${legendY}" width="180" height="48" fill="white" stroke="#999"/>`);
  out.push(`<circle cx="${legendX + 15}" cy="${legendY + 15}" r="5" fill="${POINT_COLOUR}"/>`);
  out.push(`<text x="${legendX + 28}" y="${legendY + 19}">configuration</text>`);
  out.push(`<line x1="${legendX + 5}" y1="${legendY + 34}" x2="${legendX + 25}" y2="${legendY + 34}" stroke="${FRONT_COLOUR}" stroke-width="2"/>`);
  out.push(`<circle cx="${legendX + 15}" cy="${legendY + 34}" r="5" fill="${FRONT_COLOUR}"/>`);
  out.push(`<text x="${legendX + 28}" y="${legendY + 38}">Pareto front</text>`);
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Logarithmic with 1-2-5 ticks when the range spans more than a decade, else linear. */
function latencyAxis(min: number, max: number, fromPixel: number, toPixel: number): Axis {
  if (max / min <= 10) return linearAxis(Math.max(0, min - (max - min) * 0.1 - Number.EPSILON), max, fromPixel, toPixel);
  const low = Math.log10(min) - 0.05;
  const high = Math.log10(max) + 0.05;
  const ticks: number[] = [];
  for (let decade = Math.floor(low); decade <= Math.ceil(high); decade++) {
    for (const step of [1, 2, 5]) {
      const value = step * 10 ** decade;
      const log = Math.log10(value);
      if (log >= low && log <= high) ticks.push(value);
    }
  }
  return { toPixel: (value) => fromPixel + ((Math.log10(value) - low) / (high - low)) * (toPixel - fromPixel), ticks, logarithmic: true };
}

/** Linear from `min` to a round number above `max`, with 4 to 10 round ticks. */
function linearAxis(min: number, max: number, fromPixel: number, toPixel: number): Axis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new RangeError(`an axis needs finite values, got ${min} to ${max}`);
  // Values closer than a millionth of their size are drawn as one: a step below the values'
  // precision would leave \`value += step\` standing still and the tick loop never ending.
  const magnitude = Math.max(Math.abs(min), Math.abs(max));
  const span = max - min > magnitude * 1e-6 ? max - min : Math.max(magnitude, 1);
  const step = niceStep(span / 5);
  const start = Math.floor(min / step) * step;
  const end = Math.ceil((max * 1.05) / step) * step;
  const ticks: number[] = [];
  for (let value = start; value <= end + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  const top = ticks[ticks.length - 1];
  return { toPixel: (value) => fromPixel + ((value - start) / (top - start)) * (toPixel - fromPixel), ticks, logarithmic: false };
}

function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
}

function formatRate(value: number): string {
  if (value >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (value >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

function formatMs(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function px(value: number): string {
  return value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
