/**
 * `sluice tune`: the whole grid is run, the Pareto front is right (checked against a brute-force
 * definition on synthetic points), the chart (Vega-Lite's SVG) names every run by its row, draws
 * the front, the bound, the recommendations and a curve per configuration over several rates,
 * the HTML report is self-contained, and the recommendations follow the figures.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerTuneCommand } from '../../src/cli/commands/tune.js';
import { paretoFront, type TradeoffPoint } from '../../src/perf/pareto.js';
import type { PerfResult } from '../../src/perf/report.js';
import { resolvePerfConfig } from '../../src/perf/config.js';
import { machineInfo } from '../../src/perf/machine.js';
import { tuneChartSvg } from '../../src/perf/tune-chart.js';
import { tuneReportHtml } from '../../src/perf/tune-report.js';
import { recommend, tunePoints } from '../../src/perf/tune.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-tune-test-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function tuneCli(args: string[]): Promise<{ stdout: string }> {
  const stdout = new Collect();
  const program = new Command('sluice').exitOverride();
  registerTuneCommand(program, { stdout, stderr: null });
  await program.parseAsync(['node', 'sluice', 'tune', ...args]);
  return { stdout: stdout.text };
}

/**
 * A minimal XML well-formedness check: one root, every tag closed in order, attributes quoted,
 * no stray '<' or '&'. Returns the element names in document order.
 */
function parseXmlElements(xml: string): string[] {
  const names: string[] = [];
  const open: string[] = [];
  const token = /<\/?([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let roots = 0;
  let match: RegExpExecArray | null;
  let pos = 0;
  const body = xml.trim();
  while (pos < body.length) {
    token.lastIndex = pos;
    match = token.exec(body);
    if (match === null) throw new Error(`not well-formed at ${pos}: ${body.slice(pos, pos + 40)}`);
    pos = token.lastIndex;
    if (match[4] !== undefined) {
      if (open.length === 0 && match[4].trim() !== '') throw new Error('text outside the root element');
      if (/&(?!(lt|gt|amp|quot|apos);)/.test(match[4])) throw new Error(`bare & in ${match[4]}`);
      continue;
    }
    const [whole, name, , selfClosing] = match;
    if (whole.startsWith('</')) {
      if (open.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
      continue;
    }
    if (open.length === 0) roots++;
    names.push(name);
    if (selfClosing !== '/') open.push(name);
  }
  if (open.length !== 0) throw new Error(`unclosed: ${open.join(', ')}`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return names;
}

/** The definition itself, O(n^2): dominated when another is at least as good on both and better on one. */
function bruteForceFront(points: readonly TradeoffPoint[]): boolean[] {
  const p99 = (point: TradeoffPoint): number => point.p99Ms ?? Infinity;
  return points.map((a) =>
    !points.some((b) => b.recordsPerSec >= a.recordsPerSec && p99(b) <= p99(a) && (b.recordsPerSec > a.recordsPerSec || p99(b) < p99(a))),
  );
}

describe('the Pareto front', () => {
  it('keeps exactly the points nothing beats on both throughput and p99', () => {
    const points: TradeoffPoint[] = [
      { recordsPerSec: 100, p99Ms: 1 },
      { recordsPerSec: 200, p99Ms: 2 },
      { recordsPerSec: 150, p99Ms: 3 }, // dominated by 200 @ 2
      { recordsPerSec: 300, p99Ms: 10 },
      { recordsPerSec: 50, p99Ms: 1 }, // dominated by 100 @ 1 (same p99, less throughput)
      { recordsPerSec: 300, p99Ms: 12 }, // dominated by 300 @ 10 (same throughput, worse p99)
      { recordsPerSec: 100, p99Ms: 1 }, // equal to a front point: stays
    ];
    expect(paretoFront(points)).toEqual([true, true, false, true, false, false, true]);
  });

  it('agrees with the definition on random points, ties and missing latencies included', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const points = Array.from({ length: 1 + random(12) }, () => ({ recordsPerSec: random(6) * 100, p99Ms: random(8) === 0 ? null : random(6) }));
      expect(paretoFront(points)).toEqual(bruteForceFront(points));
    }
    expect(paretoFront([])).toEqual([]);
  });
});

describe('the grid', () => {
  it('has one point per combination of the lists', () => {
    const points = tunePoints({ batchSizes: [1024, 16384, 65536], lingerMs: [0, 5], compressions: ['none', 'lz4'], acks: [1, -1], partitions: [1, 2], throughputs: [-1, 1000] });
    expect(points).toHaveLength(3 * 2 * 2 * 2 * 2 * 2);
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBe(points.length);
    expect(() => tunePoints({ batchSizes: [], lingerMs: [0], compressions: ['none'], acks: [1], partitions: [1], throughputs: [-1] })).toThrow(/--batch-sizes/);
    expect(() => tunePoints({ batchSizes: [1], lingerMs: [0], compressions: ['none'], acks: [1], partitions: [1], throughputs: [] })).toThrow(/--throughput/);
  });
});

/** A run's result as the sweep records it, with chosen figures: its config resolved as perf resolves one. */
function resultOf(config: { batch: number; linger: number; compression: 'none' | 'lz4'; rate?: number }, recordsPerSec: number, p99: number | null): PerfResult {
  return {
    recordsPerSec,
    mbPerSec: recordsPerSec / 1e4,
    records: 1000,
    seconds: 1,
    latencyMs: p99 === null ? null : { p50: p99 / 2, p95: p99, p99, p999: p99, max: p99 },
    stagesMs: null,
    config: resolvePerfConfig({
      mode: 'produce',
      batchSizeBytes: config.batch,
      lingerMs: config.linger,
      compression: config.compression,
      acks: -1,
      partitions: 1,
      throughput: config.rate ?? -1,
    }),
    machine: machineInfo(),
    threads: null,
    runtime: null,
  };
}

/** The items of one chart layer: the aria-labels of its marks (symbols carry their description). */
function layerItems(svg: string, layer: string): string[] {
  const groups = [...svg.matchAll(new RegExp(`<g class="mark-[a-z]+ role-mark ${layer}_marks"[^>]*>(.*?)</g>`, 'gs'))];
  const unescape = (text: string): string => text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&amp;', '&');
  return groups.flatMap((group) => [...group[1].matchAll(/<(?:path|line)( aria-label="([^"]*)")?/g)].map((item) => unescape(item[2] ?? '')));
}

describe('the chart', () => {
  const results = [
    resultOf({ batch: 65536, linger: 0, compression: 'none' }, 900_000, 5),
    resultOf({ batch: 16384, linger: 5, compression: 'lz4' }, 400_000, 0.2),
    resultOf({ batch: 1024, linger: 0, compression: 'lz4' }, 300_000, 8),
    resultOf({ batch: 1024, linger: 5, compression: 'none' }, 200_000, null),
  ];
  const outcome = { results, onFront: paretoFront(results.map((r) => ({ recordsPerSec: r.recordsPerSec, p99Ms: r.latencyMs?.p99 ?? null }))) };

  it('names every run by its row, draws the front as a line and rings the recommendations', async () => {
    const svg = await tuneChartSvg(outcome, recommend(results, 1), { title: 'tune <&>' });
    parseXmlElements(svg);
    const points = layerItems(svg, 'configurations');
    // The run without a latency cannot sit on a log axis: it is in the table only.
    expect(points).toEqual([
      '#1 batch 65536 / linger 0 / none / acks all / 1 p: 900,000 records/s, p99 5.00 ms, on the Pareto front, best throughput',
      '#2 batch 16384 / linger 5 / lz4 / acks all / 1 p: 400,000 records/s, p99 0.200 ms, on the Pareto front, best with p99 <= 1 ms',
      '#3 batch 1024 / linger 0 / lz4 / acks all / 1 p: 300,000 records/s, p99 8.00 ms',
    ]);
    expect(layerItems(svg, 'front')).toHaveLength(1);
    expect(layerItems(svg, 'recommended')).toHaveLength(2);
    expect(layerItems(svg, 'bound')).toHaveLength(1);
    expect(svg).toContain('--max-p99-ms 1');
    expect(svg).toContain('tune &lt;&amp;&gt;');
    for (const legend of ['compression', 'linger.ms', 'batch.size']) expect(svg).toContain(`aria-label="Symbol legend titled '${legend}'`);
    expect(svg).not.toContain('curves_marks');
  });

  it('draws no bound and no second ring without --max-p99-ms', async () => {
    const svg = await tuneChartSvg(outcome, recommend(results, null), { title: 'tune' });
    expect(svg).not.toContain('bound_marks');
    expect(layerItems(svg, 'recommended')).toHaveLength(1);
  });

  it('joins each configuration\'s runs at several target rates into its own curve', async () => {
    const rated = [1_000, 10_000, 50_000].flatMap((rate) => [
      resultOf({ batch: 16384, linger: 0, compression: 'none', rate }, rate * 0.99, rate / 10_000),
      resultOf({ batch: 16384, linger: 5, compression: 'lz4', rate }, rate * 0.98, 5 + rate / 20_000),
    ]);
    const ratedOutcome = { results: rated, onFront: paretoFront(rated.map((r) => ({ recordsPerSec: r.recordsPerSec, p99Ms: r.latencyMs!.p99 }))) };
    const svg = await tuneChartSvg(ratedOutcome, recommend(rated, null), { title: 'tune' });
    expect(layerItems(svg, 'curves')).toHaveLength(2);
    expect(layerItems(svg, 'configurations')).toHaveLength(6);
    expect(layerItems(svg, 'configurations')[0]).toContain('@ 1,000/s');
  });
});

describe('the HTML report', () => {
  it('holds the recommendations, the chart inline and one table row per run, self-contained', async () => {
    const results = [resultOf({ batch: 65536, linger: 0, compression: 'none' }, 900_000, 5), resultOf({ batch: 1024, linger: 0, compression: 'lz4' }, 300_000, null)];
    const outcome = { results, onFront: [true, false] };
    const recommendation = recommend(results, 2);
    const svg = await tuneChartSvg(outcome, recommendation, { title: 't' });
    const html = tuneReportHtml(outcome, recommendation, { title: 'sluice tune <x>', svg, finishedAt: new Date('2026-01-02T03:04:05Z') });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>sluice tune &lt;x&gt;</title>');
    expect(html).toContain('<li><strong>best throughput</strong>: #1 batch 65536 / linger 0 / none / acks all / 1 p: 900,000 records/s, p99 5.00 ms</li>');
    expect(html).toContain('<li><strong>p99 &lt;= 2 ms</strong>: none of the configurations meets it</li>');
    expect(html).toContain('1 run(s) without a p99 latency are in the table but not on the chart');
    expect(html.match(/<tr class="front recommended">/g)).toHaveLength(1);
    expect(html.match(/<tbody>[\s\S]*<\/tbody>/)![0].match(/<tr/g)).toHaveLength(2);
    expect(html).toContain('<svg');
    expect(html).not.toContain('<?xml');
    // Offline: nothing is fetched from elsewhere.
    expect(html).not.toMatch(/<script|<link|src="http|href="http|@import/);
  });
});

describe('recommendations', () => {
  const result = (recordsPerSec: number, p99: number): PerfResult => ({ recordsPerSec, latencyMs: { p50: p99 / 2, p95: p99, p99, p999: p99, max: p99 } }) as PerfResult;

  it('names the best throughput, and the best throughput within --max-p99-ms', () => {
    const results = [result(100, 1), result(300, 20), result(200, 4)];
    expect(recommend(results, 5)).toEqual({ bestThroughput: results[1], bestUnderP99: results[2], maxP99Ms: 5 });
    expect(recommend(results, 0.5).bestUnderP99).toBeNull();
    expect(recommend(results, null).bestUnderP99).toBeNull();
  });
});

describe('sluice tune', () => {
  it('runs every point of the grid and prints the JSON: rows with front flags, the recommendations, the files written', async () => {
    const chart = path.join(dir, 'chart.svg');
    const report = path.join(dir, 'report.html');
    const { stdout } = await tuneCli([
      '--records', '400', '--record-size', '50', '--batch-sizes', '1024,8192', '--linger-ms', '0,1', '--compressions', 'none,lz4',
      '--data-dir', dir, '--chart', chart, '--report', report, '--max-p99-ms', '100000', '--json',
    ]);
    const output = JSON.parse(stdout) as {
      results: (PerfResult & { row: number; label: string; onFront: boolean })[];
      recommendations: { bestThroughput: { row: number; label: string } | null; bestUnderP99: { row: number; label: string } | null; maxP99Ms: number | null };
      chart: string | null;
      report: string | null;
    };
    const results = output.results;
    expect(results).toHaveLength(8);
    const seen = new Set(results.map((r) => `${r.config.batchSizeBytes}/${r.config.lingerMs}/${r.config.compression}`));
    expect(seen).toEqual(new Set(['1024/0/none', '1024/0/lz4', '1024/1/none', '1024/1/lz4', '8192/0/none', '8192/0/lz4', '8192/1/none', '8192/1/lz4']));
    for (let i = 1; i < results.length; i++) expect(results[i - 1].recordsPerSec).toBeGreaterThanOrEqual(results[i].recordsPerSec);
    expect(results.map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(results.every((r) => r.records === 400 && r.config.recordSizeBytes === 50 && r.latencyMs !== null)).toBe(true);
    expect(results[0].onFront).toBe(true);
    expect(output.recommendations.bestThroughput).toEqual({ row: 1, label: results[0].label });
    expect(output.recommendations.bestUnderP99).toEqual({ row: 1, label: results[0].label });
    expect(output.recommendations.maxP99Ms).toBe(100000);
    expect(output.chart).toBe(chart);
    expect(output.report).toBe(report);
    const svg = readFileSync(chart, 'utf8');
    parseXmlElements(svg);
    expect(layerItems(svg, 'configurations')).toHaveLength(8);
    expect(readFileSync(report, 'utf8')).toContain(results[7].label.split(' / ')[0]);
  });

  it('sweeps several target rates, one run per configuration and rate', async () => {
    const { stdout } = await tuneCli([
      '--mode', 'e2e', '--records', '200', '--throughput', '2000,4000', '--batch-sizes', '2048', '--data-dir', dir,
      '--chart', path.join(dir, 'c.svg'), '--report', path.join(dir, 'r.html'), '--json',
    ]);
    const { results } = JSON.parse(stdout) as { results: PerfResult[] };
    expect(results.map((r) => r.config.throughput).sort((a, b) => a - b)).toEqual([2000, 4000]);
    expect(layerItems(readFileSync(path.join(dir, 'c.svg'), 'utf8'), 'curves')).toHaveLength(1);
  });

  it('prints the table with the front marked and both recommendations, in e2e mode too', async () => {
    const chart = path.join(dir, 'e2e.svg');
    const report = path.join(dir, 'e2e.html');
    const { stdout } = await tuneCli(['--mode', 'e2e', '--records', '200', '--throughput', '5000', '--batch-sizes', '2048', '--acks', '1,all', '--data-dir', dir, '--chart', chart, '--report', report, '--max-p99-ms', '100000']);
    expect(stdout).toMatch(/^ *# +front +batch B +linger ms +compression +acks +partitions +target\/s +records\/s/);
    expect(stdout.match(/^ *\d+ +\* /gm)?.length ?? 0).toBeGreaterThanOrEqual(1);
    expect(stdout).toMatch(/\nbest throughput: batch 2048 \/ linger 0 \/ none \/ acks (1|all) \/ 1 p @ 5,000\/s: /);
    expect(stdout).toMatch(/\nbest throughput with p99 <= 100000 ms: batch 2048/);
    expect(stdout).toContain(`chart: ${chart}\nreport: ${report}\n`);
  });

  it('creates --data-dir and the files\' folders, and prints the results before a file it cannot write', async () => {
    const dataDir = path.join(dir, 'not', 'yet', 'there');
    const chart = path.join(dir, 'charts', 'deep', 'tune.svg');
    const report = path.join(dir, 'reports', 'deep', 'tune.html');
    const { stdout } = await tuneCli(['--records', '200', '--data-dir', dataDir, '--chart', chart, '--report', report]);
    expect(statSync(dataDir).isDirectory()).toBe(true);
    parseXmlElements(readFileSync(chart, 'utf8'));
    expect(readFileSync(report, 'utf8')).toMatch(/^<!doctype html>/);
    expect(stdout).toContain(`chart: ${chart}`);

    // A report path that is a directory: the sweep's table is out before the write fails.
    const stdoutSink = new Collect();
    const program = new Command('sluice').exitOverride();
    registerTuneCommand(program, { stdout: stdoutSink, stderr: null });
    await expect(
      program.parseAsync(['node', 'sluice', 'tune', '--records', '200', '--data-dir', dataDir, '--chart', chart, '--report', dataDir]),
    ).rejects.toThrow(/could not write ".*" \(.*\); the results above are complete: give --report a writable file/);
    expect(stdoutSink.text).toMatch(/^ *# +front +batch B/);
    expect(stdoutSink.text).toMatch(/\nbest throughput: batch 262144/);
  });
});
