/**
 * EROFS: an ext4 file system on a loop device (test/support/ext4-loop.ts says why not tmpfs) that
 * the kernel turns read-only under a running broker, as ext4 mounted errors=remount-ro does when it
 * meets a disk error. Through the embedded API (real shard threads): sends fail with
 * KafkaStorageError (errno EROFS, Kafka's error 56), reads of everything acknowledged go on, the
 * broker closes without an error (its lock stays on the read-only file system and the next open
 * takes it over), and once the file system is checked and mounted again the broker opens it with
 * nothing acknowledged as durable lost (its lock content fsynced before it is linked in place, so
 * the dropped writeback leaves no empty lock) and takes sends at the next offset.
 *
 * EIO: the same file system shut down as ext4 does on a fatal error, where every read and write
 * fails with EIO: sends fail with KafkaStorageError (errno EIO), the broker keeps answering and
 * closes without an error, and after e2fsck and a new mount nothing acknowledged as durable is lost.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaStorageError } from '../../src/errors.js';
import { Sluice } from '../../src/sluice.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { mountExt4Loop } from '../support/ext4-loop.js';
import { makeTempDir, removeTempDir } from './helpers.js';

const root = makeTempDir();
const ext4 = mountExt4Loop(join(root, 'ext4.img'), join(root, 'ext4'), 32 * 1024 * 1024);
if (ext4.notMountable !== null) console.log(`EROFS and EIO tests skipped: ${ext4.notMountable}`);

afterAll(() => {
  ext4.unmount();
  removeTempDir(root);
});

const SENDS = 40;
const RECORDS_PER_SEND = 10;

async function readAll(sluice: Sluice, topic: string, count: number): Promise<string[]> {
  const consumer = sluice.consumer();
  consumer.assign([{ topic, partition: 0, offset: 0 }]);
  const values: string[] = [];
  for await (const message of consumer) {
    values.push(Buffer.from(message.value!).toString());
    if (values.length === count) break;
  }
  await consumer.disconnect();
  return values;
}

describe.skipIf(ext4.notMountable !== null)('storage faults on a file system turned read-only (EROFS)', () => {
  it('refuses sends with KafkaStorageError EROFS, serves every acknowledged record, and loses none once the file system is back', async () => {
    const dataDir = join(ext4.mountPoint, 'data');
    const acknowledged: string[] = [];
    let sluice = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    try {
      // Acknowledged as durable: with flush.messages=1 an acks=-1 send is fsynced before its answer.
      // Without a flush policy the records sit in the page cache, which a file system turned
      // read-only by an error drops, as a power cut would (acks=-1 then means what acks=1 does).
      await sluice.admin().createTopics({ topics: [{ topic: 'ro', numPartitions: 1, configEntries: [{ name: 'flush.messages', value: '1' }] }] });
      const producer = sluice.producer();
      await producer.connect();
      for (let send = 0; send < SENDS; send++) {
        const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `ro-${send * RECORDS_PER_SEND + i}`);
        const [meta] = await producer.send({ topic: 'ro', messages: values.map((value) => ({ value })) });
        expect(Number(meta.baseOffset)).toBe(acknowledged.length);
        acknowledged.push(...values);
      }

      ext4.forceReadOnly();
      expect(ext4.readOnly()).toBe(true);
      for (let attempt = 0; attempt < 3; attempt++) {
        let failure: unknown = null;
        await producer.send({ topic: 'ro', messages: [{ value: `refused-${attempt}` }] }).catch((error: unknown) => {
          failure = error;
        });
        expect(failure, String(failure)).toBeInstanceOf(KafkaStorageError);
        expect(failure).toMatchObject({ errno: 'EROFS', kafkaErrorCode: 56, code: 'KAFKA_STORAGE_ERROR', retriable: true });
        expect((failure as Error).message).toContain('check the disk and its file system');
      }
      // Reads go on from the read-only file system.
      expect((await sluice.admin().fetchTopicOffsets('ro'))[0].high).toBe(acknowledged.length);
      expect(await readAll(sluice, 'ro', acknowledged.length)).toEqual(acknowledged);
      await producer.disconnect();
    } finally {
      await sluice.close();
    }

    ext4.checkAndMountAgain();
    expect(ext4.readOnly()).toBe(false);
    sluice = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    try {
      const producer = sluice.producer();
      await producer.connect();
      const [meta] = await producer.send({ topic: 'ro', messages: [{ value: 'after' }] });
      expect(Number(meta.baseOffset)).toBe(acknowledged.length);
      acknowledged.push('after');
      await producer.disconnect();
      expect(await readAll(sluice, 'ro', acknowledged.length)).toEqual(acknowledged);
    } finally {
      await sluice.close();
    }
  });
});

describe.skipIf(ext4.notMountable !== null)('storage faults on a file system that fails every operation (EIO)', () => {
  it('refuses sends with KafkaStorageError EIO, closes, and loses nothing acknowledged once the file system is back', async () => {
    const dataDir = join(ext4.mountPoint, 'eio');
    const acknowledged: string[] = [];
    let sluice = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    try {
      await sluice.admin().createTopics({ topics: [{ topic: 'eio', numPartitions: 1, configEntries: [{ name: 'flush.messages', value: '1' }] }] });
      const producer = sluice.producer();
      await producer.connect();
      for (let send = 0; send < SENDS; send++) {
        const values = Array.from({ length: RECORDS_PER_SEND }, (_, i) => `eio-${send * RECORDS_PER_SEND + i}`);
        await producer.send({ topic: 'eio', messages: values.map((value) => ({ value })) });
        acknowledged.push(...values);
      }
      ext4.shutDown();
      for (let attempt = 0; attempt < 3; attempt++) {
        let failure: unknown = null;
        await producer.send({ topic: 'eio', messages: [{ value: `refused-${attempt}` }] }).catch((error: unknown) => {
          failure = error;
        });
        expect(failure, String(failure)).toBeInstanceOf(KafkaStorageError);
        expect(failure).toMatchObject({ errno: 'EIO', kafkaErrorCode: 56, retriable: true });
      }
      // The broker still answers from what it holds in memory.
      expect((await sluice.admin().fetchTopicOffsets('eio'))[0].high).toBe(acknowledged.length);
      await producer.disconnect();
    } finally {
      await sluice.close();
    }

    ext4.checkAndMountAgain();
    sluice = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    try {
      expect(await readAll(sluice, 'eio', acknowledged.length)).toEqual(acknowledged);
      const producer = sluice.producer();
      await producer.connect();
      const [meta] = await producer.send({ topic: 'eio', messages: [{ value: 'after' }] });
      expect(Number(meta.baseOffset)).toBe(acknowledged.length);
      await producer.disconnect();
    } finally {
      await sluice.close();
    }
  });
});
