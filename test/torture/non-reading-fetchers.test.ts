/**
 * The long form of test/cli/serve-memory.test.ts (which runs in every `npm test`): `sluice serve`
 * against more and more clients that pipeline Fetches asking for 2 GiB and never read a byte,
 * for longer. Throughout, another client's Metadata probe is answered within 1 s, and the server's
 * resident set (VmRSS, the server alone, as its own process) stays within what its configuration
 * allows per connection: one Fetch response of at most fetchMaxBytes plus the queued responses
 * of maxQueuedResponseBytesPerConnection. Long run only (`npm run torture`).
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { Produce } from '../../src/protocol/api/produce.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import type { CliProcess } from '../cli/run-cli.js';
import { TestClient, pipelineUnreadFetches } from '../server/helpers.js';
import { within } from '../support/eventually.js';
import { budgetMs, figure, LONG, startServe, stopServe } from './support.js';

const MIB = 1024 * 1024;
const FETCH_MAX_BYTES = 4 * MIB;
const RESPONSE_BYTES_PER_CONNECTION = 4 * MIB;
/** Non-reading connections in each phase, cumulative. */
const PHASES = [1, 3, figure('FETCHERS_MAX', 10, 10)];
/** Probes per phase, one every 100 ms. */
const PROBES = figure('FETCHERS_PROBES', 50, 300);
const PIPELINED_FETCHES = 40;
const LOG_BATCHES = 64;
const PROBE_DEADLINE_MS = 1_000;
/** Room for what the runtime allocates besides held responses (garbage awaiting collection, heap growth). */
const RUNTIME_SLACK_BYTES = 96 * MIB;

let root: string | undefined;
let server: CliProcess | undefined;
const clients: TestClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  if (server !== undefined) await stopServe(server, 'SIGTERM');
  killRunning();
  if (root !== undefined) removeDir(root);
});

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

describe.skipIf(!LONG)('sluice serve against many clients that never read (long run only: npm run torture)', () => {
  it(
    `stays within its configured bounds up to ${PHASES[PHASES.length - 1]} non-reading connections and answers every probe within ${PROBE_DEADLINE_MS} ms`,
    async () => {
      root = tempDir();
      let port: number;
      ({ server, port } = await startServe(`${root}/data`, 0, [
        '--fetch-max-bytes',
        String(FETCH_MAX_BYTES),
        '--max-queued-response-bytes-per-connection',
        String(RESPONSE_BYTES_PER_CONNECTION),
      ]));
      const pid = server.child.pid!;
      const producer = await TestClient.connect(port);
      clients.push(producer);
      await producer.send(Metadata, 9, { topics: [{ name: 'backlog' }], allowAutoTopicCreation: true });
      const value = Buffer.alloc(24 * 1024, 'v');
      const batch = encodeRecordBatch({ records: Array.from({ length: 40 }, () => ({ key: null, value, timestampMs: 1_700_000_000_000 })) });
      for (let i = 0; i < LOG_BATCHES; i++) {
        const response = await producer.send(Produce, 9, {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: 'backlog', partitionData: [{ index: 0, records: batch }] }],
        });
        expect(response.responses[0].partitionResponses[0].errorCode).toBe(0);
      }
      const probe = await TestClient.connect(port);
      clients.push(probe);

      let slowestProbeMs = 0;
      const sample = async (): Promise<number> => {
        let maxRss = rssBytes(pid);
        for (let i = 0; i < PROBES; i++) {
          const started = performance.now();
          const answer = await within(probe.send(Metadata, 9, { topics: [{ name: 'backlog' }], allowAutoTopicCreation: false }), {
            timeoutMs: PROBE_DEADLINE_MS,
            what: `probe ${i}`,
          });
          slowestProbeMs = Math.max(slowestProbeMs, performance.now() - started);
          expect(answer.topics[0].errorCode).toBe(0);
          maxRss = Math.max(maxRss, rssBytes(pid));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return maxRss;
      };

      const baseline = await sample();
      const lines = [`idle: ${(baseline / MIB).toFixed(0)} MiB`];
      let fetchers = 0;
      for (const target of PHASES) {
        for (; fetchers < target; fetchers++) {
          const client = await TestClient.connect(port);
          clients.push(client);
          pipelineUnreadFetches(client, 'backlog', PIPELINED_FETCHES);
        }
        const peak = await sample();
        const bound = fetchers * (RESPONSE_BYTES_PER_CONNECTION + FETCH_MAX_BYTES) + RUNTIME_SLACK_BYTES;
        lines.push(`${fetchers} non-reading connections: peak ${(peak / MIB).toFixed(0)} MiB (${((peak - baseline) / MIB).toFixed(0)} MiB over idle, bound ${(bound / MIB).toFixed(0)} MiB)`);
        expect(peak - baseline).toBeLessThan(bound);
      }
      console.log(
        `non-reading fetchers, sluice serve VmRSS (fetchMaxBytes ${FETCH_MAX_BYTES / MIB} MiB, ${RESPONSE_BYTES_PER_CONNECTION / MIB} MiB of responses ` +
          `per connection, ${PROBES} probes per phase, slowest probe ${slowestProbeMs.toFixed(0)} ms):\n  ${lines.join('\n  ')}`,
      );
    },
    budgetMs(60_000),
  );
});
