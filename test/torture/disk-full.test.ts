/**
 * ENOSPC: `sluice serve` on a small tmpfs this test mounts (it needs root, or CAP_SYS_ADMIN; where
 * mounting is not permitted the scenario is skipped and says why). A kafkajs producer with acks=all
 * fills the file system until its sends fail. Then the server must still answer within a deadline
 * and serve reads, and every acknowledged record must be readable at its offset by kcat and
 * kafkajs. What Kafka does beyond that is checked too: the failed sends get KAFKA_STORAGE_ERROR,
 * writes resume by themselves once space returns, and a restart on the full file system (which
 * releases the data directory's space reserve) serves reads.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from '../cli/run-cli.js';
import { killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { within } from '../support/eventually.js';
import { fillUp, mountTmpfs } from '../support/tmpfs.js';
import { checkLog, describeReports, startServe, stopServe, type AckedSend, type TopicToCheck } from './support.js';

const TMPFS_SIZE = '16m';
/** Written first, so that the broker fills what is left within a few hundred sends. */
const FILLER_BYTES = 8 * 1024 * 1024;
const VALUE_BYTES = 1024;
const RECORDS_PER_SEND = 50;
/** Sends failing in a row after which the file system counts as full. */
const FAILED_SENDS_WHEN_FULL = 3;
const PROBE_DEADLINE_MS = 1_000;
const KAFKA_STORAGE_ERROR = 'KAFKA_STORAGE_ERROR';

const root = tempDir();
const tmpfs = mountTmpfs(`${root}/tmpfs`, TMPFS_SIZE);
const { mountPoint, notMountable } = tmpfs;
if (notMountable !== null) console.log(`disk-full scenario skipped: ${notMountable}`);

const dataDir = `${mountPoint}/data`;
const filler = `${mountPoint}/filler`;
const topics: TopicToCheck[] = [{ name: 'full', partitions: 1, exactlyOnce: true }];
const acked: AckedSend[] = [];
const sendErrors: string[] = [];
let server: CliProcess;
let port: number;
let kafka: Kafka;
let producer: Producer;

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  killRunning();
  tmpfs.unmount();
  removeDir(root);
});

/** Sends numbered records until `FAILED_SENDS_WHEN_FULL` sends in a row fail; returns how many were acknowledged. */
async function produceUntilFull(first: number): Promise<number> {
  const padding = 'x'.repeat(VALUE_BYTES);
  let failedInARow = 0;
  let acknowledged = 0;
  for (let next = first; failedInARow < FAILED_SENDS_WHEN_FULL; next += RECORDS_PER_SEND) {
    const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `full-${next + i}-${padding}`);
    try {
      const [meta] = await producer.send({ topic: 'full', acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
      acked.push({ topic: 'full', partition: 0, baseOffset: Number(meta.baseOffset), values });
      acknowledged += values.length;
      failedInARow = 0;
    } catch (error) {
      failedInARow++;
      // A retriable error (KAFKA_STORAGE_ERROR is) reaches us as KafkaJSNumberOfRetriesExceeded, its cause the protocol error.
      const failure = error as Error & { type?: string; cause?: Error & { type?: string } };
      sendErrors.push(failure.cause?.type ?? failure.type ?? failure.message);
    }
  }
  return acknowledged;
}

/** A Metadata request answered within the probe deadline. */
async function probe(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await within(admin.fetchTopicMetadata({ topics: ['full'] }), { timeoutMs: PROBE_DEADLINE_MS, what: 'a Metadata probe' });
    expect(metadata.topics[0].partitions).toHaveLength(1);
  } finally {
    await admin.disconnect();
  }
}

describe.skipIf(notMountable !== null)(`sluice serve on a full file system (tmpfs of ${TMPFS_SIZE})`, () => {
  beforeAll(async () => {
    writeFileSync(filler, Buffer.alloc(FILLER_BYTES, 1));
    ({ server, port } = await startServe(dataDir));
    kafka = new Kafka({ clientId: 'torture-disk-full', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'full', numPartitions: 1 }] });
    await admin.disconnect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  it('keeps answering and serving reads once writes fail, and loses nothing acknowledged', async () => {
    const acknowledged = await produceUntilFull(0);
    expect(acknowledged).toBeGreaterThan(0);
    expect(server.child.exitCode, server.stderr).toBeNull();
    await probe();
    const reports = await checkLog(`127.0.0.1:${port}`, topics, acked, (value) => /^full-\d+-x+$/.test(value), 30_000);
    console.log(
      `disk full: ${acknowledged} records acknowledged before the file system filled; failed sends: ${[...new Set(sendErrors)].join(', ')}\n` +
        describeReports('disk-full', reports),
    );
    expect(reports[0]).toMatchObject({ lost: 0, duplicated: 0, corrupted: 0, unreadable: 0 });
  });

  it('answers a Produce that finds the disk full with KAFKA_STORAGE_ERROR, as Kafka does', () => {
    expect(sendErrors.length).toBeGreaterThan(0);
    expect(new Set(sendErrors)).toEqual(new Set([KAFKA_STORAGE_ERROR]));
  });

  it('resumes writes by itself once space returns, without a restart', async () => {
    rmSync(filler);
    const value = `full-${1_000_000_000}-x`;
    const [meta] = await producer.send({ topic: 'full', acks: -1, messages: [{ value, partition: 0 }] });
    acked.push({ topic: 'full', partition: 0, baseOffset: Number(meta.baseOffset), values: [value] });
  });

  it('starts again on a full file system and serves reads', async () => {
    fillUp(filler);
    await stopServe(server, 'SIGKILL');
    try {
      ({ server } = await startServe(dataDir, port));
    } finally {
      rmSync(filler);
    }
    await probe();
  });

  it('starts again once space returns, with everything acknowledged readable', async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) await stopServe(server, 'SIGKILL');
    ({ server } = await startServe(dataDir, port));
    await probe();
    const reports = await checkLog(`127.0.0.1:${port}`, topics, acked, (value) => /^full-\d+-x+$/.test(value), 30_000);
    console.log(describeReports('disk-full after a restart with space', reports));
    expect(reports[0]).toMatchObject({ lost: 0, duplicated: 0, corrupted: 0, unreadable: 0 });
    await stopServe(server, 'SIGTERM');
  });
});
