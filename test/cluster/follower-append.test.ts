/**
 * Broker.appendAsFollower, the follower's write: batches fetched from a leader's log are stored
 * by another broker's shard byte for byte (offsets, leader epochs, producer ids and sequences,
 * timestamps, CRCs), the follower's leader epoch cache and producer state follow them, and a batch
 * that does not continue the log, or fails its CRC, is refused with nothing written.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { CorruptRecordError, OffsetOutOfOrderError } from '../../src/errors.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { batchOf, makeDataDir, quietLogger, recordsOf, removeDataDir } from '../broker/broker-test-helpers.js';

let leaderDir: string;
let followerDir: string;
let leader: Broker | null = null;
let follower: Broker | null = null;

beforeEach(() => {
  leaderDir = makeDataDir();
  followerDir = makeDataDir();
});

afterEach(async () => {
  await leader?.close();
  await follower?.close();
  leader = follower = null;
  removeDataDir(leaderDir);
  removeDataDir(followerDir);
});

/** Every batch of the partition's log from `offset` on, as a follower's Fetch would get them. */
function fetchAll(broker: Broker, offset: number): Buffer {
  return broker.fetch('t', 0, offset, 64 << 20, 'read_uncommitted').records;
}

/** The bytes of every `.log` segment file of partition t-0 in `dataDir`, by file name. */
function segmentBytes(dataDir: string): Map<string, Buffer> {
  const dir = join(dataDir, 't-0');
  return new Map(
    readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .map((name) => [name, readFileSync(join(dir, name))]),
  );
}

describe('Broker.appendAsFollower', () => {
  it('stores the leader batches unchanged, follows their leader epochs and producer state, and keeps them across a restart', async () => {
    leader = await Broker.open({ dataDir: leaderDir, shards: 1, logger: quietLogger });
    follower = await Broker.open({ dataDir: followerDir, shards: 1, logger: quietLogger });
    await leader.createTopic('t', { partitions: 1 });
    // The follower's topic stamps LogAppendTime and recompresses: a follower must do neither.
    await follower.createTopic('t', { partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime', 'compression.type': 'gzip' } });

    await leader.produce('t', 0, batchOf(['a', 'b']), 1);
    await leader.becomeLeader('t', 0, 2);
    const idempotent = (values: string[], baseSequence: number): Buffer =>
      encodeRecordBatch({ producerId: 7, producerEpoch: 0, baseSequence, records: values.map((value) => ({ value: Buffer.from(value), timestampMs: 1_000 })) });
    await leader.produce('t', 0, idempotent(['c', 'd', 'e'], 0), 1);
    await leader.becomeLeader('t', 0, 5);
    await leader.produce('t', 0, idempotent(['f'], 3), 1);

    // Two fetches, as a follower makes them: the second continues from the first's end.
    const all = fetchAll(leader, 0);
    const first = all.subarray(0, all.length - fetchAll(leader, 2).length);
    expect((await follower.appendAsFollower('t', 0, Buffer.from(first))).lastOffset).toBe(1);
    const rest = await follower.appendAsFollower('t', 0, Buffer.from(fetchAll(leader, 2)));
    expect([rest.baseOffset, rest.lastOffset]).toEqual([2, 5]);

    expect(fetchAll(follower, 0).equals(fetchAll(leader, 0))).toBe(true);
    expect(recordsOf(fetchAll(follower, 0)).map(([, value]) => value)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(follower.leaderEpochs('t', 0)).toEqual(leader.leaderEpochs('t', 0));
    expect(follower.partitionOffsets('t', 0)).toMatchObject({ logEndOffset: 6, leaderEpoch: 5 });
    expect(await follower.describeProducers('t', 0)).toEqual(await leader.describeProducers('t', 0));

    await leader.close();
    await follower.close();
    expect(segmentBytes(followerDir)).toEqual(segmentBytes(leaderDir));
    leader = null;
    follower = await Broker.open({ dataDir: followerDir, shards: 1, logger: quietLogger });
    expect(follower.partitionOffsets('t', 0)).toMatchObject({ logEndOffset: 6, leaderEpoch: 5 });
    expect(follower.leaderEpochs('t', 0)).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 2 },
      { epoch: 5, startOffset: 5 },
    ]);
  });

  it('refuses batches that do not start at the log end offset, go back in leader epoch, or fail their CRC, writing nothing', async () => {
    leader = await Broker.open({ dataDir: leaderDir, shards: 1, logger: quietLogger });
    follower = await Broker.open({ dataDir: followerDir, shards: 1, logger: quietLogger });
    await leader.createTopic('t', { partitions: 1 });
    await follower.createTopic('t', { partitions: 1 });
    await leader.produce('t', 0, batchOf(['a']), 1);
    await leader.produce('t', 0, batchOf(['b']), 1);
    const all = fetchAll(leader, 0);
    const second = fetchAll(leader, 1);

    await expect(follower.appendAsFollower('t', 0, Buffer.from(second))).rejects.toThrow(OffsetOutOfOrderError);
    expect(follower.partitionOffsets('t', 0).logEndOffset).toBe(0);
    await follower.appendAsFollower('t', 0, Buffer.from(all));
    // The same batches again (a fetch answered twice) no longer continue the log.
    await expect(follower.appendAsFollower('t', 0, Buffer.from(all))).rejects.toThrow(OffsetOutOfOrderError);
    expect(follower.partitionOffsets('t', 0).logEndOffset).toBe(2);

    // A leader at epoch 3 wrote offset 2; a batch of epoch 1 after it cannot be the same history.
    await leader.becomeLeader('t', 0, 3);
    await leader.produce('t', 0, batchOf(['c']), 1);
    await follower.appendAsFollower('t', 0, Buffer.from(fetchAll(leader, 2)));
    await leader.produce('t', 0, batchOf(['d']), 1);
    const stale = Buffer.from(fetchAll(leader, 3));
    stale.writeInt32BE(1, 12);
    await expect(follower.appendAsFollower('t', 0, stale)).rejects.toThrow(OffsetOutOfOrderError);

    const corrupt = Buffer.from(fetchAll(leader, 3));
    corrupt[corrupt.length - 1] ^= 0xff;
    await expect(follower.appendAsFollower('t', 0, corrupt)).rejects.toThrow(CorruptRecordError);
    expect(follower.partitionOffsets('t', 0).logEndOffset).toBe(3);
    await follower.appendAsFollower('t', 0, Buffer.from(fetchAll(leader, 3)));
    expect(fetchAll(follower, 0).equals(fetchAll(leader, 0))).toBe(true);
  });
});
