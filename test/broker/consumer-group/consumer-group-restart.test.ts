/**
 * A consumer group (KIP-848) across a broker restart: its epochs, members and assignments come
 * back from __consumer_offsets, its committed offsets with it (offset 0: the topic is empty, and
 * an offset past the log end would be held back), and its id is not mistaken for a
 * classic group because it has offsets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../../src/broker/broker.js';
import type { ConsumerGroupHeartbeatInput } from '../../../src/broker/consumer-group/consumer-group-coordinator.js';
import { joinHeartbeat } from '../../support/consumer-group-heartbeat.js';
import { makeDataDir, quietLogger, removeDataDir } from '../broker-test-helpers.js';

const dirs: string[] = [];
const open: Broker[] = [];

afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
  for (const dir of dirs.splice(0)) removeDataDir(dir);
});

async function openBroker(dataDir: string): Promise<Broker> {
  const broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger });
  open.push(broker);
  return broker;
}

function heartbeat(memberId: string, memberEpoch: number, owned: number[], topicId: string): ConsumerGroupHeartbeatInput {
  if (memberEpoch === 0) return joinHeartbeat(memberId);
  return joinHeartbeat(memberId, { memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: [{ topicId, partitions: owned }] });
}

describe('consumer groups across a broker restart', () => {
  it('come back with their epochs, assignments and offsets, and stay consumer groups', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const first = await openBroker(dataDir);
    const { topicId } = await first.createTopic('t', { partitions: 2 });
    await first.consumerGroups.heartbeat(heartbeat('m1', 0, [], topicId));
    await first.consumerGroups.heartbeat(heartbeat('m2', 0, [], topicId));
    await first.consumerGroups.heartbeat(heartbeat('m1', 1, [0], topicId));
    await first.consumerGroups.commitOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 2, apiVersion: 9, offsets: [{ topic: 't', partition: 0, offset: 0 }] });
    const before = first.consumerGroups.describe('g');
    open.splice(open.indexOf(first), 1);
    await first.close();

    const second = await openBroker(dataDir);
    expect(second.consumerGroups.describe('g')).toEqual(before);
    expect(second.consumerGroups.listGroups()).toEqual([{ groupId: 'g', state: before.state }]);
    expect(second.groups.listGroups().map((group) => group.groupId)).not.toContain('g');
    const fetched = await second.consumerGroups.fetchOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 2, partitions: [{ topic: 't', partition: 0 }] });
    expect(fetched[0].offset).toBe(0);
    const m2 = await second.consumerGroups.heartbeat(heartbeat('m2', 2, [], topicId));
    expect([...(m2.assignment?.get(topicId) ?? [])]).toEqual([1]);
  });
});
