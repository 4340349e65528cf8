/**
 * A broker opened with clusterCoordinators (what `sluice serve --zookeeper` opens): no coordinator
 * runs until the cluster makes it the leader of an internal partition, so the group and
 * transaction APIs answer NOT_COORDINATOR and it lists nothing; the internal topics are created as
 * the cluster assigns them, replacing a local one of another topic id left by runs outside it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { ClusterError, NotCoordinatorError } from '../../src/errors.js';
import { newTopicId } from '../../src/storage/topic-store.js';
import { makeDataDir, quietLogger, removeDataDir } from '../broker/broker-test-helpers.js';

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

describe('Broker with clusterCoordinators', () => {
  it('runs no coordinator until it loads one: NOT_COORDINATOR for the group and transaction APIs, nothing listed', async () => {
    broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger, clusterCoordinators: true });
    expect(broker.listTopics().map((topic) => topic.name)).toEqual([]);
    expect(() => broker!.groups).toThrow(NotCoordinatorError);
    expect(() => broker!.consumerGroups).toThrow(NotCoordinatorError);
    await expect(broker.initProducerId({ transactionalId: 'tx', transactionTimeoutMs: 60_000 })).rejects.toThrow(NotCoordinatorError);
    expect(broker.coordinates('group')).toBe(false);
    expect(broker.coordinates('transaction')).toBe(false);
    await expect(broker.loadCoordinator('__consumer_offsets', 0)).rejects.toThrow(ClusterError);
  });

  it('takes clusterCoordinators as a boolean only', async () => {
    await expect(Broker.open({ dataDir, shards: 1, logger: quietLogger, clusterCoordinators: 'yes' as never })).rejects.toThrow('clusterCoordinators must be a boolean, got yes');
  });

  it('refuses a cluster on a broker that runs its own coordinators', async () => {
    broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger });
    expect(broker.coordinates('group')).toBe(true);
    expect(() => broker!.unloadCoordinator('__consumer_offsets')).not.toThrow();
    expect(() => broker!.attachCoordinatorCluster(null as never)).toThrow(ClusterError);
  });

  it("replaces a local internal topic of another topic id with the cluster's", async () => {
    // A run outside the cluster: the broker's own __consumer_offsets, with a commit in it.
    broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger });
    await broker.createTopic('t', { partitions: 1 });
    await broker.groups.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', offsets: [{ topic: 't', partition: 0, offset: 5 }] });
    const own = broker.topicMetadata('__consumer_offsets');
    expect(broker.partitionOffsets('__consumer_offsets', 0).logEndOffset).toBeGreaterThan(0);
    await broker.close();

    broker = await Broker.open({ dataDir, shards: 1, logger: quietLogger, clusterCoordinators: true });
    const topicId = newTopicId();
    expect(own.topicId).not.toBe(topicId);
    const created = await broker.createTopic('__consumer_offsets', { partitions: 1, configs: { 'cleanup.policy': 'compact' }, topicId, internal: true });
    expect(created).toMatchObject({ name: '__consumer_offsets', topicId, internal: true });
    expect(broker.partitionOffsets('__consumer_offsets', 0).logEndOffset).toBe(0);
  });
});
