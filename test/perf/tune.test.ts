/**
 * `sluice tune`: the whole grid is run, the Pareto front is right (checked against a brute-force
 * definition on synthetic points), the chart is well-formed SVG with a dot per point, the front
 * line and a legend, and the recommendations follow the figures.
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
import { tradeoffChartSvg } from '../../src/perf/svg-chart.js';
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
    const points = tunePoints({ batchSizes: [1024, 16384, 65536], lingerMs: [0, 5], compressions: ['none', 'lz4'], acks: [1, -1], partitions: [1, 2] });
    expect(points).toHaveLength(3 * 2 * 2 * 2 * 2);
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBe(points.length);
    expect(() => tunePoints({ batchSizes: [], lingerMs: [0], compressions: ['none'], acks: [1], partitions: [1] })).toThrow(/--batch-sizes/);
  });
});

describe('the chart', () => {
  it('is well-formed SVG with axes, ticks, labels, a dot per point, the front line and a legend', () => {
    const svg = tradeoffChartSvg(
      [
        { p99Ms: 0.2, recordsPerSec: 100_000, label: 'a <small> & "quoted"', onFront: true },
        { p99Ms: 5, recordsPerSec: 900_000, label: 'b', onFront: true },
        { p99Ms: 8, recordsPerSec: 400_000, label: 'c', onFront: false },
      ],
      { title: 'tune' },
    );
    const elements = parseXmlElements(svg);
    expect(elements[0]).toBe('svg');
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.match(/<circle cx/g)).toHaveLength(3 + 2); // three points, two legend markers
    expect(elements.filter((name) => name === 'polyline')).toHaveLength(1);
    expect(svg).toContain('p99 latency (ms, log scale)');
    expect(svg).toContain('throughput (records/s)');
    expect(svg).toContain('Pareto front');
    expect(svg).toContain('a &lt;small&gt; &amp; &quot;quoted&quot;');
    expect(svg).toMatch(/>900k<|>1M</);
  });

  it('draws points whose figures differ below their precision with a handful of ticks, as a short run gives', () => {
    const svg = tradeoffChartSvg(
      [
        { p99Ms: 0.3, recordsPerSec: 1_000_000, label: 'a', onFront: true },
        { p99Ms: 0.1 + 0.2, recordsPerSec: 1_000_000 + 1e-10, label: 'b', onFront: false },
      ],
      { title: 'tune' },
    );
    parseXmlElements(svg);
    expect(svg.match(/<line /g)!.length).toBeLessThan(60);
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
  it('runs every point of the grid, marks the front, writes the chart and prints the JSON array', async () => {
    const chart = path.join(dir, 'chart.svg');
    const { stdout } = await tuneCli([
      '--records', '400', '--record-size', '50', '--batch-sizes', '1024,8192', '--linger-ms', '0,1', '--compressions', 'none,lz4',
      '--data-dir', dir, '--chart', chart, '--json',
    ]);
    const results = JSON.parse(stdout) as PerfResult[];
    expect(results).toHaveLength(8);
    const seen = new Set(results.map((r) => `${r.config.batchSizeBytes}/${r.config.lingerMs}/${r.config.compression}`));
    expect(seen).toEqual(new Set(['1024/0/none', '1024/0/lz4', '1024/1/none', '1024/1/lz4', '8192/0/none', '8192/0/lz4', '8192/1/none', '8192/1/lz4']));
    for (let i = 1; i < results.length; i++) expect(results[i - 1].recordsPerSec).toBeGreaterThanOrEqual(results[i].recordsPerSec);
    expect(results.every((r) => r.records === 400 && r.config.recordSizeBytes === 50 && r.latencyMs !== null)).toBe(true);
    const svg = readFileSync(chart, 'utf8');
    parseXmlElements(svg);
    expect(svg.match(/<circle cx/g)).toHaveLength(8 + 2);
  });

  it('prints the table with the front marked and both recommendations, in e2e mode too', async () => {
    const chart = path.join(dir, 'e2e.svg');
    const { stdout } = await tuneCli(['--mode', 'e2e', '--records', '200', '--throughput', '5000', '--batch-sizes', '2048', '--acks', '1,all', '--data-dir', dir, '--chart', chart, '--max-p99-ms', '100000']);
    expect(stdout).toMatch(/^front +batch B +linger ms +compression +acks +partitions +records\/s/);
    expect(stdout.match(/^\* /gm)?.length ?? 0).toBeGreaterThanOrEqual(1);
    expect(stdout).toMatch(/\nbest throughput: batch 2048 \/ linger 0 \/ none \/ acks (1|all) \/ 1 p: /);
    expect(stdout).toMatch(/\nbest throughput with p99 <= 100000 ms: batch 2048/);
    expect(stdout).toContain(`chart: ${chart}`);
  });

  it('creates --data-dir and the chart\'s folder, and prints the results before a chart it cannot write', async () => {
    const dataDir = path.join(dir, 'not', 'yet', 'there');
    const chart = path.join(dir, 'charts', 'deep', 'tune.svg');
    const { stdout } = await tuneCli(['--records', '200', '--data-dir', dataDir, '--chart', chart]);
    expect(statSync(dataDir).isDirectory()).toBe(true);
    parseXmlElements(readFileSync(chart, 'utf8'));
    expect(stdout).toContain(`chart: ${chart}`);

    // A chart path that is a directory: the sweep's table is out before the write fails.
    const stdoutSink = new Collect();
    const program = new Command('sluice').exitOverride();
    registerTuneCommand(program, { stdout: stdoutSink, stderr: null });
    await expect(program.parseAsync(['node', 'sluice', 'tune', '--records', '200', '--data-dir', dataDir, '--chart', dataDir])).rejects.toThrow(
      /could not write the chart to .*the results above are complete/,
    );
    expect(stdoutSink.text).toMatch(/^front +batch B/);
    expect(stdoutSink.text).toMatch(/\nbest throughput: batch 16384/);
  });
});
