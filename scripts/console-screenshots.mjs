#!/usr/bin/env node
/**
 * Screenshots of the web console for docs/: starts an embedded Sluice with its HTTP server and
 * Schema Registry on a temporary data directory, makes topics (one of Avro records), a consumer
 * group that keeps up and one that falls behind, lets the console sample them for a while, then photographs each page with Debian's
 * chromium (playwright-core drives it; nothing is downloaded).
 *
 *   npm run build && node scripts/console-screenshots.mjs [output-dir]     (default docs/)
 *
 * CHROMIUM_PATH names another chromium binary (default /usr/bin/chromium).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { HttpServer, Sluice, avro, json, openSchemaRegistry, startRegistryServer } from '../dist/src/index.js';

const outDir = resolve(process.argv[2] ?? 'docs');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** How long the consumers run before the pictures, so the charts have a history to draw. */
const RUN_MS = 12_000;

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-console-'));
const sluice = await Sluice.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0, lagMinCommitIntervalMs: 0 });
// The registry first: the console is given its URL to decode Avro records with.
const registry = await openSchemaRegistry({ sluice });
const registryServer = await startRegistryServer(registry, { port: 0 });
const http = new HttpServer(sluice.broker, { port: 0, console: { sampleIntervalMs: 500, refreshSeconds: 2, schemaRegistry: registryServer.url } });
const base = `http://127.0.0.1:${(await http.listen()).port}`;
const consumers = [];
let browser = null;
try {
  const admin = sluice.admin();
  await admin.createTopics({
    topics: [
      { topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '604800000' }, { name: 'cleanup.policy', value: 'delete' }] },
      { topic: 'payments', numPartitions: 2 },
      { topic: 'audit-log', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: 'customers', numPartitions: 1 },
    ],
  });
  const customer = await avro({
    registry: registryServer.url,
    subject: 'customers-value',
    schema: {
      type: 'record',
      name: 'Customer',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'name', type: 'string' },
        { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['BASIC', 'GOLD'] } },
        { name: 'since', type: 'long' },
      ],
    },
  });
  const customers = sluice.producer({ valueSerializer: customer });
  await customers.send({
    topic: 'customers',
    messages: ['Ada Lovelace', 'Grace Hopper', 'Edsger Dijkstra'].map((name, i) => ({
      key: `customer-${i + 1}`,
      value: { id: `customer-${i + 1}`, name, tier: i === 1 ? 'GOLD' : 'BASIC', since: 1_700_000_000_000 + i * 86_400_000 },
    })),
  });
  await customers.disconnect();
  const producer = sluice.producer({ valueSerializer: json(), lingerMs: 5 });
  let orderId = 0;
  const order = () => {
    const id = ++orderId;
    return {
      key: `customer-${id % 17}`,
      value: { id, customer: `customer-${id % 17}`, items: [{ sku: `SKU-${(id * 7) % 100}`, quantity: 1 + (id % 3) }], amountCents: (id * 37) % 10_000 },
      headers: { 'content-type': 'application/json', 'trace-id': `t-${id.toString(16).padStart(8, '0')}` },
    };
  };
  await producer.send({ topic: 'orders', messages: Array.from({ length: 300 }, order) });
  await producer.send({ topic: 'payments', messages: Array.from({ length: 120 }, (_, i) => ({ key: `p-${i}`, value: { order: i + 1, status: i % 9 === 0 ? 'declined' : 'captured' } })) });
  await producer.send({ topic: 'audit-log', messages: [{ key: 'admin', value: { action: 'login', at: new Date().toISOString() } }] });

  // "billing" keeps up; "analytics" handles 40 records a second while 120 a second arrive.
  const billing = sluice.consumer({ groupId: 'billing', valueDeserializer: json() });
  const analytics = sluice.consumer({ groupId: 'analytics', valueDeserializer: json(), maxBytesPerPartition: 4096 });
  consumers.push(billing, analytics);
  await billing.subscribe({ topics: ['orders', 'payments'], fromBeginning: true });
  await analytics.subscribe({ topics: ['orders'], fromBeginning: true });
  void billing.run({ eachMessage: async () => {} });
  void analytics.run({ autoCommitInterval: 250, eachMessage: () => delay(25) });

  const until = Date.now() + RUN_MS;
  while (Date.now() < until) {
    await producer.send({ topic: 'orders', messages: Array.from({ length: 12 }, order) });
    await delay(100);
  }
  await producer.disconnect();

  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  // The load page first: the browser's own reads of records count as records out.
  const shots = [
    ['console-load.png', '/load'],
    ['console-topics.png', '/'],
    ['console-topic.png', '/topics/orders'],
    ['console-messages.png', '/topics/orders/messages?partition=0&offset=0&format=json&limit=6'],
    ['console-messages-avro.png', '/topics/customers/messages?partition=0&offset=0&format=schema'],
    ['console-groups.png', '/groups'],
    ['console-group-lag.png', '/groups/analytics'],
  ];
  for (const [file, path] of shots) {
    await page.goto(`${base}${path}`);
    await page.screenshot({ path: join(outDir, file), fullPage: true });
    console.log(`wrote ${join(outDir, file)}`);
  }
} finally {
  await browser?.close();
  for (const consumer of consumers) await consumer.disconnect();
  await http.close();
  await registryServer.close();
  await registry.close();
  await sluice.close();
  rmSync(dataDir, { recursive: true, force: true });
}
