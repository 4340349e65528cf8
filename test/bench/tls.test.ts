/**
 * The TLS benchmark end to end on a few records: kcat produces and consumes over both listeners
 * (the benchmark itself checks every record arrived), and the table reports each listener.
 */
import { describe, expect, it } from 'vitest';
import { formatTlsReport, runTlsBench } from '../../bench/tls.bench.js';

describe('tls.bench', () => {
  it('measures kcat over PLAINTEXT and SSL in the same run', async () => {
    const report = await runTlsBench({ records: 5_000, rounds: 2 });
    expect(report.rounds).toHaveLength(2);
    for (const round of report.rounds) {
      for (const figure of [round.produceRecordsPerSec, round.consumeRecordsPerSec, round.produceCpuNsPerRecord, round.consumeCpuNsPerRecord]) {
        expect(figure.PLAINTEXT).toBeGreaterThan(0);
        expect(figure.SSL).toBeGreaterThan(0);
      }
    }
    const table = formatTlsReport(report);
    expect(table).toContain('| kcat consume, records/s |');
    expect(table).toContain('5,000 records of 100 bytes, 4 partitions, 2 rounds');
  });
});
