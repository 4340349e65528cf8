/**
 * `sluice serve`'s memory stays bounded by its configuration against clients that ask for 2 GiB
 * per Fetch and never read their sockets, from one connection and from three, while another
 * client's requests keep being answered within a second. The server runs as its own process, so
 * its resident set (VmRSS) is measured alone.
 *
 * Unbounded, each such Fetch would read the whole 60 MiB log into one response and every
 * pipelined Fetch would hold one: gigabytes. Bounded, each connection holds at most
 * maxQueuedResponseBytesPerConnection plus one response of at most fetchMaxBytes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { TestClient, pipelineUnreadFetches } from '../server/helpers.js';
import { CliProcess, killRunning, removeDir, tempDir } from './run-cli.js';

const MIB = 1024 * 1024;
const FETCH_MAX_BYTES = 4 * MIB;
const RESPONSE_BYTES_PER_CONNECTION = 4 * MIB;
const LOG_BATCHES = 64;
const PIPELINED_FETCHES = 40;
const PROBE_DEADLINE_MS = 1_000;
/** Probes per phase, one every 100 ms: the window in which a non-reading fetcher would grow the server without bounds. */
const PROBES = 25;
/** Room for what the runtime allocates besides held responses (garbage awaiting collection, heap growth). */
const RUNTIME_SLACK_BYTES = 96 * MIB;

let root: string;
let server: CliProcess;
let port: number;
const clients: TestClient[] = [];

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** A batch of about 960 KiB, under the default max.message.bytes. */
function bigBatch(): Buffer {
  const value = Buffer.alloc(24 * 1024, 'v');
  return encodeRecordBatch({ records: Array.from({ length: 40 }, () => ({ key: null, value, timestampMs: 1_700_000_000_000 })) });
}

async function connectClient(): Promise<TestClient> {
  const client = await TestClient.connect(port);
  clients.push(client);
  return client;
}

/** A client that pipelines 2 GiB Fetches and never reads a byte of the answers. */
async function nonReadingFetcher(): Promise<void> {
  const client = await connectClient();
  pipelineUnreadFetches(client, 'backlog', PIPELINED_FETCHES);
}

/** Probes the server every 100 ms, each answered within the deadline; returns the largest RSS seen meanwhile. */
async function probeWhileSampling(probe: TestClient, pid: number): Promise<number> {
  let maxRss = rssBytes(pid);
  for (let i = 0; i < PROBES; i++) {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`probe ${i} not answered within ${PROBE_DEADLINE_MS} ms`)), PROBE_DEADLINE_MS);
    });
    const answer = await Promise.race([probe.send(Metadata, 9, { topics: [{ name: 'backlog' }], allowAutoTopicCreation: false }), deadline]);
    clearTimeout(timer);
    expect(answer.topics[0].errorCode).toBe(0);
    maxRss = Math.max(maxRss, rssBytes(pid));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return maxRss;
}

beforeAll(async () => {
  root = tempDir();
  server = new CliProcess([
    'serve',
    '--data-dir',
    `${root}/data`,
    '--port',
    '0',
    '--shards',
    '1',
    '--fetch-max-bytes',
    String(FETCH_MAX_BYTES),
    '--max-queued-response-bytes-per-connection',
    String(RESPONSE_BYTES_PER_CONNECTION),
  ]);
  await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
  port = Number(/:(\d+)\n$/.exec(server.stdout)![1]);
  const producer = await connectClient();
  await producer.send(Metadata, 9, { topics: [{ name: 'backlog' }], allowAutoTopicCreation: true });
  for (let i = 0; i < LOG_BATCHES; i++) {
    const response = await producer.send(Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'backlog', partitionData: [{ index: 0, records: bigBatch() }] }],
    });
    expect(response.responses[0].partitionResponses[0].errorCode).toBe(0);
  }
});

afterAll(async () => {
  for (const client of clients) client.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  killRunning();
  removeDir(root);
});

describe('sluice serve against clients that never read', () => {
  it('stays within its configured bounds from one and three connections, and keeps answering', async () => {
    const pid = server.child.pid!;
    const probe = await connectClient();
    expect((await probe.send(ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    const baseline = await probeWhileSampling(probe, pid);

    await nonReadingFetcher();
    const oneConnection = await probeWhileSampling(probe, pid);
    expect(oneConnection - baseline).toBeLessThan(RESPONSE_BYTES_PER_CONNECTION + FETCH_MAX_BYTES + RUNTIME_SLACK_BYTES);

    await nonReadingFetcher();
    await nonReadingFetcher();
    const threeConnections = await probeWhileSampling(probe, pid);
    expect(threeConnections - baseline).toBeLessThan(3 * (RESPONSE_BYTES_PER_CONNECTION + FETCH_MAX_BYTES) + RUNTIME_SLACK_BYTES);
    console.log(
      `sluice serve VmRSS: ${(baseline / MIB).toFixed(0)} MiB idle, ${(oneConnection / MIB).toFixed(0)} MiB with one non-reading ` +
        `fetcher, ${(threeConnections / MIB).toFixed(0)} MiB with three (fetchMaxBytes ${FETCH_MAX_BYTES / MIB} MiB, ` +
        `${RESPONSE_BYTES_PER_CONNECTION / MIB} MiB of responses per connection)`,
    );
  });
});
