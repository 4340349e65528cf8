/**
 * bench:all's bookkeeping, on figures given by hand: medians over rounds, ratios taken within
 * each round against the reference of that round, every round's figure shown where they differ,
 * and the generated block put into BENCHMARKS.md without touching the prose around it. The
 * benchmarks themselves are exercised by their own tests and by `npm run bench:all -- --quick`.
 */
import { describe, expect, it } from 'vitest';
import {
  BEGIN_MARKER,
  END_MARKER,
  aggregate,
  formatBenchAllMarkdown,
  median,
  spliceGenerated,
  DEFAULT_BENCH_ALL_OPTIONS,
  type BenchAllReport,
  type RoundResult,
} from '../../bench/all.js';
import { machineInfo } from '../../src/perf/machine.js';

function round(sluice: number, lmdb: number, limit: number, produceMBps: number): RoundResult {
  return {
    loadAverage1m: [1, 2],
    figures: [
      { table: 'limits', row: 'page-cache append MB/s', column: 'value', value: limit },
      { table: 'embedded', row: 'produce', column: 'MB/s', value: produceMBps, ref: 'limits/page-cache append MB/s/value', ratioStyle: '%' },
      { table: 'peers', row: 'sluice', column: 'records/s', value: sluice },
      { table: 'peers', row: 'lmdb', column: 'records/s', value: lmdb, ref: 'peers/sluice/records/s', ratioStyle: 'x' },
    ],
  };
}

const rounds = [round(1000, 500, 6000, 300), round(2000, 2000, 6000, 300), round(4000, 3000, 6000, 300)];

describe('bench:all figures', () => {
  it('medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('takes each ratio within its round, not as a ratio of medians', () => {
    const lmdb = aggregate(rounds).find((a) => a.figure.row === 'lmdb')!;
    expect(lmdb.values).toEqual([500, 2000, 3000]);
    expect(lmdb.ratios).toEqual([0.5, 1, 0.75]);
    // The median ratio is 0.75, where the ratio of the medians would say 2000 / 2000 = 1.
    expect(median(lmdb.ratios!)).toBe(0.75);
    expect(aggregate(rounds).find((a) => a.figure.row === 'sluice')!.ratios).toBeNull();
  });

  it('refuses a ratio whose reference the round did not measure', () => {
    const broken: RoundResult = { loadAverage1m: [0, 0], figures: [{ table: 'peers', row: 'lmdb', column: 'records/s', value: 1, ref: 'peers/sluice/records/s' }] };
    expect(() => aggregate([broken])).toThrow(/refers to peers\/sluice\/records\/s/);
  });

  it('writes one table per benchmark: medians, every round where they differ, ratios with their reference', () => {
    const report: BenchAllReport = {
      date: '2026-01-01T00:00:00.000Z',
      endDate: '2026-01-01T00:10:00.000Z',
      options: DEFAULT_BENCH_ALL_OPTIONS,
      machine: machineInfo(),
      native: { cpuModel: 'Test CPU', logicalCpus: 2, os: 'Linux', kernel: '6', arch: 'x86_64', memTotalBytes: 1, pageBytes: 4096, compiler: 'gcc 12', lz4Version: '1.9.4', tmpDir: '/tmp', tmpDirFsType: 'ext4' },
      rounds,
    };
    const markdown = formatBenchAllMarkdown(report);
    expect(markdown.startsWith(BEGIN_MARKER)).toBe(true);
    expect(markdown.trimEnd().endsWith(END_MARKER)).toBe(true);
    expect(markdown).toContain('| CPU | Test CPU,');
    expect(markdown).toContain('| C compiler, liblz4 (native-bench) | gcc 12, 1.9.4 |');
    expect(markdown).toContain('|  | records/s | records/s vs Sluice |');
    expect(markdown).toContain('| sluice | 2,000 (1,000, 2,000, 4,000) | - |');
    expect(markdown).toContain('| lmdb | 2,000 (500, 2,000, 3,000) | 0.750x (0.500x, 1.00x, 0.750x) |');
    // Equal in every round: printed once.
    expect(markdown).toContain('| page-cache append MB/s | 6000 |');
    expect(markdown).toContain('| produce | 300 | 5.00 % |');
  });
});

describe('bench:all output file', () => {
  const block = `${BEGIN_MARKER}\nnew tables\n${END_MARKER}\n`;

  it('replaces the generated block and keeps the prose around it', () => {
    const document = `# Title\n\nintro\n${BEGIN_MARKER}\nold tables\n${END_MARKER}\n\n## Analysis\nkept\n`;
    expect(spliceGenerated(document, block)).toBe(`# Title\n\nintro\n${block}\n## Analysis\nkept\n`);
  });

  it('puts the block after the title of a file that has none yet', () => {
    expect(spliceGenerated('# Title\nprose\n', block)).toBe(`# Title\n\n${block}prose\n`);
  });

  it('refuses a file with one marker only', () => {
    expect(() => spliceGenerated(`# Title\n${END_MARKER}\n`, block)).toThrow(/only one of/);
  });
});
