/**
 * Runs a small `sluice tune` sweep (e2e, two batch sizes x two linger times at three target
 * rates) and writes its chart, its HTML report and a screenshot of the report, taken in Debian's
 * chromium (playwright-core drives it; nothing is downloaded):
 *
 *   npm run build && node scripts/tune-report-screenshot.mjs [output-dir]     (default docs/)
 *
 * writes tune-chart.svg, tune-report.html and tune-report.png. The figures are whatever this
 * machine measures while the script runs; the report states the machine and the time.
 * CHROMIUM_PATH names another chromium binary (default /usr/bin/chromium).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'docs'));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
mkdirSync(outDir, { recursive: true });
const chart = join(outDir, 'tune-chart.svg');
const report = join(outDir, 'tune-report.html');
const dataParent = mkdtempSync(join(os.tmpdir(), 'sluice-tune-screenshot-'));
try {
  execFileSync(
    process.execPath,
    [
      join(root, 'dist/src/cli/main.js'), 'tune', '--mode', 'e2e', '--records', '20000', '--record-size', '100',
      '--throughput', '2000,10000,40000', '--batch-sizes', '16384,262144', '--linger-ms', '0,5', '--acks', '1',
      '--max-p99-ms', '5', '--data-dir', dataParent, '--chart', chart, '--report', report,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
} finally {
  rmSync(dataParent, { recursive: true, force: true });
}
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(pathToFileURL(report).href);
  await page.screenshot({ path: join(outDir, 'tune-report.png'), fullPage: true });
} finally {
  await browser.close();
}
console.log(`wrote ${chart}, ${report} and ${join(outDir, 'tune-report.png')}`);
