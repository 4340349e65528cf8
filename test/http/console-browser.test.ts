/**
 * The web console in a real browser: Debian's chromium, driven by playwright-core, loading the
 * pages from Sluice.open's HTTP server over a real socket. Every page loads without a console
 * error, shows the topics and groups that exist, the message browser shows records by offset
 * and by timestamp with hostile keys, values and headers as inert text, and a group's lag chart
 * moves, without a reload, while the group does not commit and records keep coming.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { Sluice } from '../../src/sluice.js';
import { batchOf, makeDataDir, quietLogger, removeDataDir } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOSTILE_GROUP = '<img src=x onerror="window.__pwned=1">';
const HOSTILE_KEY = '<script>window.__pwned=1</script>';
const HOSTILE_HEADER = '<b id="injected">bold</b>';

let dataDir: string;
let sluice: Sluice;
let base: string;
let browser: Browser;

beforeAll(async () => {
  dataDir = makeDataDir();
  sluice = await Sluice.open({
    dataDir,
    shards: 2,
    logger: quietLogger,
    lagMinCommitIntervalMs: 0,
    http: { port: 0, console: { sampleIntervalMs: 50, historySamples: 50, refreshSeconds: 1 } },
  });
  base = `http://127.0.0.1:${sluice.httpAddress!.port}`;
  const { broker } = sluice;
  await broker.createTopic('orders', { partitions: 2, configs: { 'retention.ms': '3600000' } });
  await broker.createTopic('payments', { partitions: 1 });
  await broker.produce('orders', 0, batchOf(['a', 'b', 'c'], 1_000), 1);
  await broker.produce('orders', 0, batchOf(['d', 'e'], 5_000), 1);
  await broker.produce(
    'orders',
    1,
    encodeRecordBatch({
      records: [
        { key: Buffer.from(HOSTILE_KEY), value: Buffer.from('{"amount":12,"note":"</td><td>"}'), headers: [{ key: 'x-html', value: Buffer.from(HOSTILE_HEADER) }] },
        { key: null, value: Buffer.from([0x00, 0xff, 0x3c, 0x10]) },
      ],
    }),
    1,
  );
  for (const groupId of ['billing', HOSTILE_GROUP]) {
    const results = await broker.groups.commitOffsets({ groupId, offsets: [{ topic: 'orders', partition: 0, offset: 1 }] });
    expect(results[0].error).toBeNull();
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await sluice?.close();
  if (dataDir !== undefined) removeDataDir(dataDir);
});

/** A fresh page that records every console error and uncaught page error. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

async function visit(path: string): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage();
  const response = await opened.page.goto(`${base}${path}`);
  expect(response?.status(), path).toBe(200);
  expect(response?.headers()['content-type']).toMatch(/^text\/html/);
  return opened;
}

describe('the web console in chromium', () => {
  it('loads every page without a console error, showing the topics and groups that exist', async () => {
    const paths = ['/', '/groups', '/topics/orders', '/topics/payments', '/topics/orders/messages', `/groups/billing`, `/groups/${encodeURIComponent(HOSTILE_GROUP)}`, '/load'];
    for (const path of paths) {
      const { page, errors } = await visit(path);
      expect(errors, path).toEqual([]);
      expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), path).toBeUndefined();
      await page.close();
    }

    const { page } = await visit('/');
    const topics = await page.locator('table.topics tbody tr td:first-child a').allTextContents();
    expect(topics).toEqual(['orders', 'payments', '__consumer_offsets']);
    const groups = await page.locator('table.groups tbody tr td:first-child a').allTextContents();
    expect(groups.sort()).toEqual([HOSTILE_GROUP, 'billing'].sort());
    // Records held on orders: 5 on partition 0 and 2 on partition 1.
    expect(await page.locator('table.topics tbody tr', { hasText: 'orders' }).locator('td').nth(2).textContent()).toBe('7');
    await page.close();

    const topic = (await visit('/topics/orders')).page;
    expect(await topic.locator('table.partitions tbody tr').count()).toBe(2);
    expect(await topic.locator('table.configs tr.override', { hasText: 'retention.ms' }).first().textContent()).toContain('3600000');
    await topic.close();

    const group = (await visit('/groups/billing')).page;
    const row = group.locator('table.lag tbody tr');
    expect(await row.count()).toBe(1);
    // Committed 1 of partition 0's 5 records.
    expect(await row.locator('td').nth(4).textContent()).toBe('4');
    await group.close();
  });

  it('browses messages by offset and by timestamp, showing hostile content as text', async () => {
    const { page, errors } = await visit(`/topics/orders/messages?partition=1&offset=0&format=text`);
    const cells = page.locator('table.records tbody tr');
    expect(await cells.count()).toBe(2);
    expect(await cells.nth(0).locator('td').nth(2).textContent()).toContain(HOSTILE_KEY);
    expect(await cells.nth(0).locator('td').nth(4).textContent()).toContain(HOSTILE_HEADER);
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await page.locator('table.records script').count()).toBe(0);
    // Five cells per row: the value's "</td><td>" did not open a cell.
    expect(await cells.nth(0).locator('td').count()).toBe(5);
    // The binary value is not UTF-8: shown as hex.
    expect(await cells.nth(1).locator('td').nth(3).textContent()).toContain('00 ff 3c 10');
    expect(await cells.nth(1).locator('td').nth(2).textContent()).toContain('null');
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();

    await page.goto(`${base}/topics/orders/messages?partition=1&offset=0&format=json`);
    expect(await page.locator('table.records tbody tr').nth(0).locator('td').nth(3).textContent()).toContain('"amount": 12,');
    await page.goto(`${base}/topics/orders/messages?partition=1&offset=0&format=hex`);
    // "<scr" in hex.
    expect(await page.locator('table.records tbody tr').nth(0).locator('td').nth(2).textContent()).toContain('3c 73 63 72');

    // Records of partition 0 at 1000 ms (offsets 0-2) and 5000 ms (3-4): from 2000 ms is offset 3.
    await page.goto(`${base}/topics/orders/messages?partition=0&timestamp=2000`);
    expect(await page.locator('table.records tbody tr td:first-child').allTextContents()).toEqual(['3', '4']);
    await page.goto(`${base}/topics/orders/messages?partition=0&timestamp=${encodeURIComponent('1970-01-01T00:00:06Z')}`);
    expect(await page.locator('p.empty').textContent()).toContain('No record at or after');
    // A page of two from offset 1, and the link to the next.
    await page.goto(`${base}/topics/orders/messages?partition=0&offset=1&limit=2`);
    expect(await page.locator('table.records tbody tr td:first-child').allTextContents()).toEqual(['1', '2']);
    await page.getByText('next 2 »').click();
    expect(await page.locator('table.records tbody tr td:first-child').allTextContents()).toEqual(['3', '4']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("moves a group's lag chart, without a reload, while the group does not commit and records keep coming", async () => {
    const { broker } = sluice;
    await broker.createTopic('clicks', { partitions: 1 });
    await broker.produce('clicks', 0, batchOf(['c0', 'c1']), 1);
    const results = await broker.groups.commitOffsets({ groupId: 'slow', offsets: [{ topic: 'clicks', partition: 0, offset: 0 }] });
    expect(results[0].error).toBeNull();

    const { page, errors } = await visit('/groups/slow');
    const lagPoints = async (): Promise<number[]> => {
      try {
        const labels = await page.locator('figure.chart svg [aria-label^="time (UTC)"]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label') ?? ''));
        return labels.map((label) => Number(/lag \(records\): ([\d,]+)/.exec(label)?.[1].replace(/,/g, '')));
      } catch {
        return []; // the page is being reloaded by its refresh
      }
    };
    await eventually(async () => (await lagPoints()).includes(2), { what: 'a chart point at lag 2' });
    expect(Math.max(...(await lagPoints()))).toBe(2);

    await broker.produce('clicks', 0, batchOf(Array.from({ length: 40 }, (_, i) => `more-${i}`)), 1);
    // The page reloads itself (its refresh) and the chart gains points at the new lag.
    await eventually(async () => (await lagPoints()).includes(42), { what: 'the lag chart reaching 42 after the page refreshed itself' });
    await eventually(async () => ((await page.locator('#lag-now').textContent().catch(() => '')) ?? '').includes('42'), { what: 'total lag 42 shown' });
    const points = await lagPoints();
    expect(points).toContain(2);
    expect(errors).toEqual([]);
    await page.close();
  });
});
