/**
 * Broker.becomeLeader, the hook a cluster broker uses when the controller makes it a partition's
 * leader: the log's leader epoch rises, new batches carry it, it survives a restart, and it never
 * goes back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { InvalidRequestError } from '../../src/errors.js';
import { readPartitionLeaderEpoch } from '../../src/protocol/batch-header.js';
import { batchOf, makeDataDir, quietLogger, removeDataDir } from '../broker/broker-test-helpers.js';

let dataDir: string;
let broker: Broker | null = null;

beforeEach(() => {
  dataDir = makeDataDir();
});

afterEach(async () => {
  await broker?.close();
  broker = null;
  removeDataDir(dataDir);
});

describe('Broker.becomeLeader', () => {
  it('raises the leader epoch from the log end, stamps it on new batches, keeps it across a restart, and refuses a lower one', async () => {
    broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger });
    await broker.createTopic('t', { partitions: 1 });
    await broker.produce('t', 0, batchOf(['a']), 1);
    await broker.becomeLeader('t', 0, 3);
    expect(broker.partitionOffsets('t', 0).leaderEpoch).toBe(3);
    await broker.produce('t', 0, batchOf(['b']), 1);
    const { records } = broker.fetch('t', 0, 1, 1 << 20, 'read_uncommitted');
    expect(readPartitionLeaderEpoch(records, 0)).toBe(3);
    expect(broker.leaderEpochs('t', 0)).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 1 },
    ]);
    await broker.close();

    broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger });
    expect(broker.partitionOffsets('t', 0).leaderEpoch).toBe(3);
    await expect(broker.becomeLeader('t', 0, 2)).rejects.toThrow(InvalidRequestError);
    expect(broker.partitionOffsets('t', 0).leaderEpoch).toBe(3);
  });
});
