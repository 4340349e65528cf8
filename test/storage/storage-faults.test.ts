/**
 * Storage faults on a file system that is really full: a tmpfs this test mounts (root, or
 * CAP_SYS_ADMIN; skipped with the reason where mounting is not permitted), filled to the last
 * block. A refused append is a KafkaStorageError (ENOSPC, Kafka's error 56) that leaves nothing of
 * itself in the log and takes the log offline for writes; the log comes back through
 * reopenForWrites once space returns and the next append lands at the offset the failed one
 * would have had. Metadata writes (durable-fs) fail the same typed way. The data directory
 * releases its space reserve to start on the full file system and writes it again once there is
 * room. Through the embedded API (real shard threads), producer.send gets the typed error too and
 * succeeds again once space returns, without a restart; the group coordinator, whose offsets
 * append failed, answers NOT_COORDINATOR as Kafka's does.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaStorageError, NotCoordinatorError } from '../../src/errors.js';
import { Sluice } from '../../src/sluice.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { DataDir } from '../../src/storage/data-dir.js';
import { replaceFile } from '../../src/storage/durable-fs.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { SPACE_RESERVE_BYTES, SPACE_RESERVE_FILE_NAME } from '../../src/storage/space-reserve.js';
import { eventually } from '../support/eventually.js';
import { fillUp, mountTmpfs } from '../support/tmpfs.js';
import { CapturingLogger, buildBatch, makeTempDir, readLog, removeTempDir, scanLogFiles, thrownBy } from './helpers.js';

const root = makeTempDir();
/** Room for the 1 MiB space reserve, which is written only with 4 times its size free. */
const tmpfs = mountTmpfs(join(root, 'tmpfs'), '8m');
const filler = join(tmpfs.mountPoint, 'filler');
if (tmpfs.notMountable !== null) console.log(`storage-fault tests skipped: ${tmpfs.notMountable}`);

afterEach(() => {
  for (const name of readdirSync(tmpfs.mountPoint)) rmSync(join(tmpfs.mountPoint, name), { recursive: true, force: true });
});

afterAll(() => {
  tmpfs.unmount();
  removeTempDir(root);
});

describe.skipIf(tmpfs.notMountable !== null)('storage faults on a full file system', () => {
  it('refuses an append with KafkaStorageError, keeps nothing of it, and lands the next append at its offset once space returns', () => {
    const dir = join(tmpfs.mountPoint, 't-0');
    const log = PartitionLog.open(dir, {}, { logger: new CapturingLogger() });
    for (let i = 0; i < 10; i++) log.append(buildBatch({ records: 5, valueBytes: 1000, fill: i }));
    const acknowledgedEnd = log.logEndOffset;
    const logBytes = scanLogFiles(dir).reduce((sum, batch) => sum + batch.sizeBytes, 0);
    fillUp(filler);

    // 256 KiB: more than any slack left in the log's last page, so part of it is written before ENOSPC.
    const error = thrownBy(() => log.append(buildBatch({ records: 64, valueBytes: 4096 })));
    expect(error).toBeInstanceOf(KafkaStorageError);
    expect(error).toMatchObject({ errno: 'ENOSPC', kafkaErrorCode: 56, code: 'KAFKA_STORAGE_ERROR', retriable: true });
    expect(error.message).toContain('free space on its file system');
    expect(log.offlineCause).toBe(error);
    expect(log.logEndOffset).toBe(acknowledgedEnd);
    // The failed write was cut back: the files hold exactly the acknowledged batches.
    expect(scanLogFiles(dir).reduce((sum, batch) => sum + batch.sizeBytes, 0)).toBe(logBytes);
    // Offline: later appends fail at once, and reopening waits for space.
    expect(thrownBy(() => log.append(buildBatch({ records: 1 })))).toBe(error);
    expect(log.reopenForWrites()).toBeNull();

    rmSync(filler);
    const reopened = log.reopenForWrites();
    expect(reopened).not.toBeNull();
    expect(reopened!.logEndOffset).toBe(acknowledgedEnd);
    expect(reopened!.append(buildBatch({ records: 3, fill: 7 })).baseOffset).toBe(acknowledgedEnd);
    const read = readLog(reopened!, 0, 1024 * 1024);
    expect(read.logEndOffset).toBe(acknowledgedEnd + 3);
    expect(scanLogFiles(dir).map((batch) => batch.baseOffset)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    reopened!.close();
  });

  it('fails a metadata write with KafkaStorageError and leaves no temp file', () => {
    const path = join(tmpfs.mountPoint, 'meta.json');
    replaceFile(path, 'old\n');
    fillUp(filler);
    const error = thrownBy(() => replaceFile(path, 'x'.repeat(64 * 1024)));
    expect(error).toBeInstanceOf(KafkaStorageError);
    // Named where the write failed: the temp file the new content goes to before its rename.
    expect(error).toMatchObject({ errno: 'ENOSPC', path: `${path}.tmp` });
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('starts on a full file system by releasing the space reserve, and writes it again once there is room', async () => {
    const dir = join(tmpfs.mountPoint, 'data');
    DataDir.open(dir).close();
    const reserve = join(dir, SPACE_RESERVE_FILE_NAME);
    expect(statSync(reserve).size).toBe(SPACE_RESERVE_BYTES);
    fillUp(filler);

    // An inspection keeps no reserve, so it cannot write its lock on the full file system.
    const refused = thrownBy(() => DataDir.open(dir, { spaceReserve: false }));
    expect(refused).toBeInstanceOf(KafkaStorageError);
    expect(refused).toMatchObject({ errno: 'ENOSPC' });
    expect(statSync(reserve).size).toBe(SPACE_RESERVE_BYTES);

    const warnings: string[] = [];
    const dataDir = DataDir.open(dir, { logger: { warn: (message) => warnings.push(message) }, lockHeartbeatMs: 10, lockStaleMs: 30 });
    try {
      expect(warnings).toEqual([expect.stringContaining(`released the ${SPACE_RESERVE_BYTES}-byte space reserve`)]);
      expect(statSync(reserve).size).toBe(0);
      rmSync(filler);
      await eventually(() => statSync(reserve).size === SPACE_RESERVE_BYTES, { timeoutMs: 5_000, what: 'the space reserve written again' });
    } finally {
      dataDir.close();
    }
  });

  it('gives the embedded producer the typed error, and takes its sends again once space returns', async () => {
    const sluice = await Sluice.open({ dataDir: join(tmpfs.mountPoint, 'embedded'), shards: 1, logger: quietLogger });
    try {
      await sluice.admin().createTopics({ topics: [{ topic: 'full', numPartitions: 1 }] });
      const producer = sluice.producer();
      await producer.connect();
      const value = Buffer.alloc(64 * 1024, 2);
      await producer.send({ topic: 'full', messages: [{ value }] });
      fillUp(filler);
      let failure: unknown = null;
      try {
        // One record, so one batch: a send of several batches fails at its first, and the rest stay queued.
        await producer.send({ topic: 'full', messages: [{ value: Buffer.alloc(256 * 1024, 3) }] });
      } catch (error) {
        failure = error;
      }
      expect(failure, String(failure)).toBeInstanceOf(KafkaStorageError);
      expect(failure).toMatchObject({ errno: 'ENOSPC', kafkaErrorCode: 56, retriable: true });

      rmSync(filler);
      // Within the probe backoff after a failure a send still fails at once; the next probe reopens the log.
      let baseOffset = -1;
      await eventually(
        async () => {
          try {
            baseOffset = Number((await producer.send({ topic: 'full', messages: [{ value: 'after' }] }))[0].baseOffset);
            return true;
          } catch (error) {
            if (!(error instanceof KafkaStorageError)) throw error;
            return false;
          }
        },
        { timeoutMs: 5_000, what: 'a send accepted once space returned' },
      );
      expect(baseOffset).toBe(1);
      await producer.disconnect();
    } finally {
      await sluice.close();
    }
  });

  it('answers an offset commit whose append the full disk refuses with NOT_COORDINATOR, as Kafka does', async () => {
    const sluice = await Sluice.open({ dataDir: join(tmpfs.mountPoint, 'groups'), shards: 1, groupInitialRebalanceDelayMs: 0, logger: quietLogger });
    try {
      const admin = sluice.admin();
      const partitions = 100;
      await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: partitions }] });
      const all = Array.from({ length: partitions }, (_, partition) => ({ partition, offset: 0 }));
      await admin.setOffsets({ groupId: 'g', topic: 'wide', partitions: all });
      fillUp(filler);
      // One record per partition: a batch bigger than any slack in the last page of __consumer_offsets.
      let failure: unknown = null;
      await admin.setOffsets({ groupId: 'g', topic: 'wide', partitions: all }).catch((error: unknown) => {
        failure = error;
      });
      expect(failure).toBeInstanceOf(NotCoordinatorError);
      expect(failure).toMatchObject({ kafkaErrorCode: 16, retriable: true });
      expect((failure as NotCoordinatorError).cause).toBeInstanceOf(KafkaStorageError);
      rmSync(filler);
      await eventually(
        async () =>
          admin.setOffsets({ groupId: 'g', topic: 'wide', partitions: all }).then(
            () => true,
            (error: unknown) => {
              if (!(error instanceof NotCoordinatorError)) throw error;
              return false;
            },
          ),
        { timeoutMs: 5_000, what: 'an offset commit accepted once space returned' },
      );
    } finally {
      await sluice.close();
    }
  });
});
