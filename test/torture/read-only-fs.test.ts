/**
 * EROFS through `sluice serve`: an ext4 file system on a loop device (test/support/ext4-loop.ts;
 * root needed, skipped with the reason elsewhere) turned read-only by an error under the running
 * server, as ext4 mounted errors=remount-ro does when it meets a disk error. A kafkajs producer
 * (acks=all, topic flush.messages=1) gets KAFKA_STORAGE_ERROR for every send after it; kcat still
 * reads every acknowledged record (a kafkajs consumer group cannot form: joining writes to
 * __consumer_offsets); SIGTERM stops the server cleanly; after e2fsck and a new mount the server
 * starts, kcat and kafkajs read everything acknowledged, and sends are taken again.
 */
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from '../cli/run-cli.js';
import { killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { mountExt4Loop } from '../support/ext4-loop.js';
import { checkLog, describeReports, startServe, stopServe, type AckedSend, type TopicToCheck } from './support.js';

const SENDS = 50;
const RECORDS_PER_SEND = 20;
const REFUSED_SENDS = 3;

const root = tempDir();
const ext4 = mountExt4Loop(join(root, 'ext4.img'), join(root, 'ext4'), 64 * 1024 * 1024);
if (ext4.notMountable !== null) console.log(`read-only file system scenario skipped: ${ext4.notMountable}`);

const dataDir = join(ext4.mountPoint, 'data');
const topics: TopicToCheck[] = [{ name: 'ro', partitions: 1, exactlyOnce: true }];
const acked: AckedSend[] = [];
let server: CliProcess;
let port: number;
let producer: Producer;

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  killRunning();
  ext4.unmount();
  removeDir(root);
});

function kafkaAt(port: number): Kafka {
  return new Kafka({ clientId: 'torture-read-only', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
}

async function send(first: number): Promise<void> {
  const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `ro-${first + i}`);
  const [meta] = await producer.send({ topic: 'ro', acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
  acked.push({ topic: 'ro', partition: 0, baseOffset: Number(meta.baseOffset), values });
}

describe.skipIf(ext4.notMountable !== null)('sluice serve on a file system turned read-only (EROFS)', () => {
  beforeAll(async () => {
    ({ server, port } = await startServe(dataDir));
    const admin = kafkaAt(port).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ro', numPartitions: 1, configEntries: [{ name: 'flush.messages', value: '1' }] }] });
    await admin.disconnect();
    producer = kafkaAt(port).producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  it('answers every send after the error with KAFKA_STORAGE_ERROR and serves every acknowledged record', async () => {
    for (let i = 0; i < SENDS; i++) await send(i * RECORDS_PER_SEND);
    ext4.forceReadOnly();
    const errors: string[] = [];
    for (let i = 0; i < REFUSED_SENDS; i++) {
      await send(1_000_000 + i * RECORDS_PER_SEND).catch((error: Error & { type?: string; cause?: Error & { type?: string } }) => {
        errors.push(error.cause?.type ?? error.type ?? error.message);
      });
    }
    expect(errors).toEqual(Array(REFUSED_SENDS).fill('KAFKA_STORAGE_ERROR'));
    expect(server.child.exitCode, server.stderr).toBeNull();
    const reports = await checkLog(`127.0.0.1:${port}`, topics, acked, (value) => /^ro-\d+$/.test(value), 30_000);
    console.log(`read-only file system: ${SENDS * RECORDS_PER_SEND} records acknowledged, ${errors.length} sends refused with ${errors[0]}\n${describeReports('read-only', reports)}`);
    expect(reports[0]).toMatchObject({ lost: 0, duplicated: 0, corrupted: 0 });
    // kcat fetches without a group and reads everything. The kafkajs reader joins a consumer group,
    // which writes to __consumer_offsets: the coordinator cannot, and answers NOT_COORDINATOR as
    // Kafka's does when its log append fails, so a group cannot form until the disk takes writes.
    for (const problem of reports[0].problems) expect(problem).toMatch(/unreadable by kafkajs: .*not the correct coordinator/);
  });

  it('stops on SIGTERM, and after e2fsck and a new mount starts with nothing acknowledged lost and takes sends', async () => {
    await producer.disconnect();
    await stopServe(server, 'SIGTERM');
    ext4.checkAndMountAgain();
    ({ server } = await startServe(dataDir, port));
    producer = kafkaAt(port).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await send(2_000_000);
    expect(acked[acked.length - 1].baseOffset).toBe(SENDS * RECORDS_PER_SEND);
    const reports = await checkLog(`127.0.0.1:${port}`, topics, acked, (value) => /^ro-\d+$/.test(value), 30_000);
    console.log(describeReports('read-only, after e2fsck and a new mount', reports));
    expect(reports[0]).toMatchObject({ lost: 0, duplicated: 0, corrupted: 0, unreadable: 0 });
    await producer.disconnect();
    await stopServe(server, 'SIGTERM');
  });
});
