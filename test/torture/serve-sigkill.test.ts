/**
 * SIGKILL loops against `sluice serve`: kafkajs producers with acks=all, one idempotent and one
 * not, send numbered records to explicit partitions while the server is killed (SIGKILL, no
 * shutdown) and restarted on the same port, again and again. Each kill comes after a seeded number
 * of new acknowledgements, so it lands mid-stream. Afterwards every partition is read back by kcat
 * and kafkajs: every acknowledged record at the offset it was acknowledged at, once in the
 * idempotent topic (duplicates from the other producer's retries are allowed and reported), no
 * record of another shape, both readers agreeing.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';
import { seededIntBelow } from '../support/prng.js';
import { budgetMs, checkLog, describeReports, figure, SEED, startServe, stopServe, type AckedSend, type TopicToCheck } from './support.js';

const KILLS = figure('SERVE_KILLS', 3, 60);
/** Acknowledged records (per producer) between a restart and the next kill, at most. */
const RECORDS_PER_KILL = figure('SERVE_RECORDS_PER_KILL', 100, 1_000);
const PARTITIONS = 3;
const RECORDS_PER_SEND = 5;
const VALUE = /^(idem|plain)-\d+$/;

let root: string | undefined;

afterAll(() => {
  killRunning();
  if (root !== undefined) removeDir(root);
});

/** A producer sending until stopped; it keeps going through failed sends (a send failing after its retries is not acknowledged). */
function produceLoop(producer: Producer, topic: string, prefix: string, acked: AckedSend[], stats: { acked: number; failed: number }): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    for (let next = 0; !stopped; next += RECORDS_PER_SEND) {
      const partition = (next / RECORDS_PER_SEND) % PARTITIONS;
      const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `${prefix}-${next + i}`);
      try {
        const [meta] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) });
        acked.push({ topic, partition: meta.partition, baseOffset: Number(meta.baseOffset), values });
        stats.acked += values.length;
      } catch {
        stats.failed += values.length;
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('sluice serve killed with SIGKILL under kafkajs producers (acks=all)', () => {
  it(
    `loses, duplicates and corrupts nothing acknowledged through ${KILLS} kills`,
    async () => {
      root = tempDir();
      const dataDir = `${root}/data`;
      let { server, port } = await startServe(dataDir);
      const bootstrap = `127.0.0.1:${port}`;
      const kafka = new Kafka({
        clientId: 'torture-producer',
        brokers: [bootstrap],
        logLevel: logLevel.NOTHING,
        // Restarts take up to seconds on a loaded machine: retry long enough to ride them out.
        retry: { initialRetryTime: 50, maxRetryTime: 1_000, retries: 60 },
      });
      const topics: TopicToCheck[] = [
        { name: 'idem', partitions: PARTITIONS, exactlyOnce: true },
        { name: 'plain', partitions: PARTITIONS, exactlyOnce: false },
      ];
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: topics.map((topic) => ({ topic: topic.name, numPartitions: topic.partitions })) });
      await admin.disconnect();

      const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      const plain = kafka.producer({ allowAutoTopicCreation: false });
      await idempotent.connect();
      await plain.connect();
      const acked: AckedSend[] = [];
      const idemStats = { acked: 0, failed: 0 };
      const plainStats = { acked: 0, failed: 0 };
      const loops = [produceLoop(idempotent, 'idem', 'idem', acked, idemStats), produceLoop(plain, 'plain', 'plain', acked, plainStats)];

      const below = seededIntBelow(SEED);
      for (let kill = 0; kill < KILLS; kill++) {
        const target = { idem: idemStats.acked + 1 + below(RECORDS_PER_KILL), plain: plainStats.acked + 1 + below(RECORDS_PER_KILL) };
        await eventually(() => idemStats.acked >= target.idem && plainStats.acked >= target.plain, {
          timeoutMs: 120_000,
          what: `kill ${kill}: ${target.idem} idempotent and ${target.plain} plain acknowledgements`,
        });
        await stopServe(server, 'SIGKILL');
        ({ server } = await startServe(dataDir, port));
      }
      await Promise.all(loops.map((loop) => loop.stop()));
      await idempotent.disconnect();
      await plain.disconnect();
      // One more kill once the producers are done, so what is read back is a recovered log.
      await stopServe(server, 'SIGKILL');
      ({ server } = await startServe(dataDir, port));

      const reports = await checkLog(bootstrap, topics, acked, (value) => VALUE.test(value));
      console.log(
        `serve SIGKILL loop: ${KILLS} kills, ${idemStats.acked} idempotent and ${plainStats.acked} plain records acknowledged ` +
          `(${idemStats.failed} and ${plainStats.failed} in sends that failed)\n${describeReports('serve-sigkill', reports)}`,
      );
      await stopServe(server, 'SIGTERM');
      for (const report of reports) {
        expect(report.acknowledged).toBeGreaterThan(0);
        expect({ topic: report.topic, lost: report.lost, corrupted: report.corrupted, unreadable: report.unreadable, problems: report.problems }).toEqual({
          topic: report.topic,
          lost: 0,
          corrupted: 0,
          unreadable: 0,
          problems: [],
        });
        if (report.exactlyOnce) expect(report.duplicated).toBe(0);
      }
    },
    budgetMs(90_000),
  );
});
