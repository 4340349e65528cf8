import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/sluice.js';
import { Admin, ConfigResourceTypes } from '../../src/client/admin.js';
import * as sluiceAcl from '../../src/index.js';
import {
  ClosedError,
  GroupIdNotFoundError,
  InvalidConfigError,
  InvalidPartitionsError,
  InvalidReplicationFactorError,
  InvalidRequestError,
  InvalidTopicError,
  OffsetOutOfRangeError,
  PartitionNotFoundError,
  PolicyViolationError,
  TopicNotFoundError,
  UnknownMemberIdError,
} from '../../src/errors.js';
import { batchOf, makeDataDir, quietLogger, removeDataDir } from '../broker/broker-test-helpers.js';

let dataDir: string;
let sluice: Sluice;
let admin: Admin;

beforeEach(async () => {
  dataDir = makeDataDir();
  sluice = await Sluice.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0, logger: quietLogger });
  admin = sluice.admin();
  await admin.connect();
});

afterEach(async () => {
  await admin.disconnect();
  await sluice.close();
  removeDataDir(dataDir);
});

describe('Admin topics', () => {
  it('creates topics kafkajs-style, returning false for ones that existed', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '1000' }] }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'a' }, { topic: 'b', replicationFactor: 1 }] })).toBe(false);
    expect(await admin.listTopics()).toEqual(['__consumer_offsets', 'a', 'b']);
    expect(await admin.createTopics({ topics: [{ topic: 'c' }], validateOnly: true })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'a' }], validateOnly: true })).toBe(false);
    expect(await admin.listTopics()).not.toContain('c');
    const metadata = await admin.fetchTopicMetadata({ topics: ['a'] });
    expect(metadata.topics).toEqual([
      {
        name: 'a',
        partitions: [0, 1, 2].map((partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, leaderEpoch: 0, replicas: [0], isr: [0], offlineReplicas: [] })),
      },
    ]);
    expect((await admin.fetchTopicMetadata()).topics.map((topic) => topic.name)).toEqual(['__consumer_offsets', 'a', 'b']);
  });

  it('rejects bad topic requests with typed errors, creating nothing', async () => {
    await expect(admin.createTopics({ topics: [{ topic: 'x', replicationFactor: 3 }] })).rejects.toThrow(InvalidReplicationFactorError);
    await expect(admin.createTopics({ topics: [{ topic: 'x', numPartitions: 0 }] })).rejects.toThrow(InvalidPartitionsError);
    await expect(admin.createTopics({ topics: [{ topic: 'x', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] })).rejects.toThrow(InvalidConfigError);
    await expect(admin.createTopics({ topics: [{ topic: 'x', configEntries: [{ name: 'no.such.config', value: '1' }] }] })).rejects.toThrow(InvalidConfigError);
    await expect(admin.createTopics({ topics: [{ topic: 'x' }, { topic: 'has space' }] })).rejects.toThrow(InvalidTopicError);
    await expect(admin.createTopics({ topics: [{ topic: 'x' }, { topic: 'x' }] })).rejects.toThrow(InvalidRequestError);
    await expect(admin.createTopics({ topics: 'x' } as never)).rejects.toThrow(InvalidRequestError);
    await expect(admin.createTopics(undefined as never)).rejects.toThrow(InvalidRequestError);
    expect(await admin.listTopics()).toEqual(['__consumer_offsets']);
  });

  it('adds partitions and deletes topics', async () => {
    await admin.createTopics({ topics: [{ topic: 'a', numPartitions: 1 }] });
    expect(await admin.createPartitions({ topicPartitions: [{ topic: 'a', count: 4 }] })).toBe(true);
    expect((await admin.fetchTopicOffsets('a')).length).toBe(4);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'a', count: 4 }] })).rejects.toThrow(InvalidPartitionsError);
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'zz', count: 4 }] })).rejects.toThrow(TopicNotFoundError);
    await expect(admin.deleteTopics({ topics: ['a', 'zz'] })).rejects.toThrow(TopicNotFoundError);
    expect(await admin.listTopics()).toContain('a');
    await admin.deleteTopics({ topics: ['a'] });
    expect(await admin.listTopics()).toEqual(['__consumer_offsets']);
  });

  it('reports offsets as numbers, by timestamp too, and deletes records', async () => {
    await admin.createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
    await sluice.broker.produce('t', 0, batchOf(['a', 'b'], 1_000), 1);
    await sluice.broker.produce('t', 0, batchOf(['c'], 5_000), 1);
    expect(await admin.fetchTopicOffsets('t')).toEqual([
      { partition: 0, offset: 3, high: 3, low: 0 },
      { partition: 1, offset: 0, high: 0, low: 0 },
    ]);
    expect(await admin.fetchTopicOffsetsByTimestamp('t', 2_000)).toEqual([
      { partition: 0, offset: 2 },
      { partition: 1, offset: 0 },
    ]);
    expect(await admin.fetchTopicOffsetsByTimestamp('t', 9_000)).toEqual([
      { partition: 0, offset: 3 },
      { partition: 1, offset: 0 },
    ]);
    await admin.deleteTopicRecords({ topic: 't', partitions: [{ partition: 0, offset: 2 }] });
    expect((await admin.fetchTopicOffsets('t'))[0]).toEqual({ partition: 0, offset: 3, high: 3, low: 2 });
    await admin.deleteTopicRecords({ topic: 't', partitions: [{ partition: 0, offset: -1 }] });
    expect((await admin.fetchTopicOffsets('t'))[0].low).toBe(3);
    await expect(admin.deleteTopicRecords({ topic: 't', partitions: [{ partition: 7, offset: 1 }] })).rejects.toThrow(PartitionNotFoundError);
    await expect(admin.deleteTopicRecords({ topic: 't', partitions: [{ partition: 0, offset: '1' as unknown as number }] })).rejects.toThrow(InvalidRequestError);
    await expect(admin.fetchTopicOffsets('nope')).rejects.toThrow(TopicNotFoundError);
    await expect(admin.fetchTopicOffsetsByTimestamp('t', -5)).rejects.toThrow(InvalidRequestError);
  });

  it('describes topic configs', async () => {
    await admin.createTopics({ topics: [{ topic: 't', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 't', configNames: ['cleanup.policy', 'retention.ms'] }],
      includeSynonyms: false,
    });
    expect(described.resources[0].configEntries).toEqual([
      { configName: 'cleanup.policy', configValue: 'compact', isDefault: false, configSource: 1, isSensitive: false, readOnly: false },
      { configName: 'retention.ms', configValue: '604800000', isDefault: true, configSource: 5, isSensitive: false, readOnly: false },
    ]);
    await expect(admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }] })).rejects.toThrow(InvalidRequestError);
  });
});

describe('Admin config changes and record deletion', () => {
  it('alterConfigs replaces the overrides; describeConfigs reports the new values as topic configs; the log obeys them', async () => {
    await admin.createTopics({ topics: [{ topic: 't', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    await sluice.broker.produce('t', 0, batchOf(['x'.repeat(3000)]), 1);
    const result = await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 't', configEntries: [{ name: 'max.message.bytes', value: '1000' }] }] });
    expect(result).toEqual({ resources: [{ errorCode: 0, errorMessage: null, resourceName: 't', resourceType: 2 }], throttleTime: 0 });
    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 't', configNames: ['max.message.bytes', 'retention.ms'] }] });
    expect(described.resources[0].configEntries.map((e) => [e.configName, e.configValue, e.configSource])).toEqual([
      ['max.message.bytes', '1000', 1],
      ['retention.ms', '604800000', 5],
    ]);
    await expect(sluice.broker.produce('t', 0, batchOf(['x'.repeat(3000)]), 1)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
  });

  it('incrementalAlterConfigs sets, deletes, appends and subtracts', async () => {
    await admin.createTopics({ topics: [{ topic: 't', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    await admin.incrementalAlterConfigs({
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 't',
          configEntries: [
            { name: 'retention.ms', operation: 'DELETE' },
            { name: 'segment.ms', value: '60000' },
            { name: 'cleanup.policy', value: 'compact', operation: 'APPEND' },
          ],
        },
      ],
    });
    expect(sluice.broker.topicMetadata('t').configs).toEqual({ 'cleanup.policy': 'delete,compact', 'segment.ms': '60000' });
    await admin.incrementalAlterConfigs({ resources: [{ type: 2, name: 't', configEntries: [{ name: 'cleanup.policy', value: 'delete', operation: 'SUBTRACT' }] }] });
    expect(sluice.broker.topicMetadata('t').configs).toEqual({ 'cleanup.policy': 'compact', 'segment.ms': '60000' });
  });

  it('validates every resource before changing any, and validateOnly changes nothing', async () => {
    await admin.createTopics({ topics: [{ topic: 'a' }, { topic: 'b' }] });
    const resources = (value: string) => [
      { type: 2, name: 'a', configEntries: [{ name: 'retention.ms', value: '5000' }] },
      { type: 2, name: 'b', configEntries: [{ name: 'retention.ms', value }] },
    ];
    await expect(admin.alterConfigs({ resources: resources('later') })).rejects.toThrow(InvalidConfigError);
    await admin.alterConfigs({ resources: resources('6000'), validateOnly: true });
    expect(sluice.broker.topicMetadata('a').configs).toEqual({});
    await expect(admin.incrementalAlterConfigs({ resources: [{ type: 2, name: 'a', configEntries: [{ name: 'retention.ms', value: '1', operation: 'APPEND' }] }] })).rejects.toThrow(
      'Config value append is not allowed for config key: retention.ms',
    );
    await expect(admin.alterConfigs({ resources: [{ type: 4, name: '7', configEntries: [] }] })).rejects.toThrow(InvalidRequestError);
    await expect(admin.alterConfigs({ resources: [{ type: 4, name: '0', configEntries: [{ name: 'listeners', value: 'x' }] }] })).rejects.toThrow(InvalidConfigError);
    await expect(admin.alterConfigs({ resources: [{ type: 2, name: 'nope', configEntries: [] }] })).rejects.toThrow(TopicNotFoundError);
  });

  it('BROKER resources set topic config defaults: a topic without its own override follows them, describeConfigs says where from', async () => {
    await admin.createTopics({ topics: [{ topic: 'follows' }, { topic: 'own', configEntries: [{ name: 'retention.ms', value: '5000' }] }] });
    await admin.incrementalAlterConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '', configEntries: [{ name: 'log.retention.ms', value: '3600000' }] }] });
    await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configEntries: [{ name: 'message.max.bytes', value: '1000' }] }] });
    const retention = async (topic: string) =>
      (await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms', 'max.message.bytes'] }] })).resources[0].configEntries.map((e) => [
        e.configName,
        e.configValue,
        e.configSource,
      ]);
    expect(await retention('follows')).toEqual([
      ['max.message.bytes', '1000', 2],
      ['retention.ms', '3600000', 3],
    ]);
    expect(await retention('own')).toEqual([
      ['max.message.bytes', '1000', 2],
      ['retention.ms', '5000', 1],
    ]);
    await expect(sluice.broker.produce('follows', 0, batchOf(['x'.repeat(3000)]), 1)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await expect(admin.alterConfigs({ resources: [{ type: 4, name: '', configEntries: [{ name: 'log.retention.ms', value: 'x' }] }] })).rejects.toThrow(InvalidConfigError);
    expect(sluice.broker.brokerConfigs('default')).toEqual({ 'log.retention.ms': '3600000' });
  });

  it('deleteTopicRecords refuses offsets past the high watermark and topics that only compact', async () => {
    await admin.createTopics({ topics: [{ topic: 't' }, { topic: 'c', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    await sluice.broker.produce('t', 0, batchOf(['a', 'b']), 1);
    await expect(admin.deleteTopicRecords({ topic: 't', partitions: [{ partition: 0, offset: 3 }] })).rejects.toThrow(OffsetOutOfRangeError);
    await expect(admin.deleteTopicRecords({ topic: 'c', partitions: [{ partition: 0, offset: 0 }] })).rejects.toThrow(PolicyViolationError);
    await expect(admin.deleteTopicRecords({ topic: '__consumer_offsets', partitions: [{ partition: 0, offset: 0 }] })).rejects.toThrow(InvalidTopicError);
  });
});

describe('Admin groups', () => {
  it('sets, resets, fetches and deletes group offsets', async () => {
    await admin.createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
    await sluice.broker.produce('t', 0, batchOf(['a', 'b', 'c']), 1);
    await sluice.broker.produce('t', 1, batchOf(['d']), 1);
    await admin.setOffsets({ groupId: 'g', topic: 't', partitions: [{ partition: 0, offset: 2 }] });
    expect(await admin.fetchOffsets({ groupId: 'g', topics: ['t'] })).toEqual([
      { topic: 't', partitions: [{ partition: 0, offset: 2, metadata: null }, { partition: 1, offset: -1, metadata: null }] },
    ]);
    await admin.resetOffsets({ groupId: 'g', topic: 't' });
    expect(await admin.fetchOffsets({ groupId: 'g' })).toEqual([
      { topic: 't', partitions: [{ partition: 0, offset: 3, metadata: null }, { partition: 1, offset: 1, metadata: null }] },
    ]);
    await sluice.broker.deleteRecords('t', 0, 1);
    await admin.resetOffsets({ groupId: 'g', topic: 't', earliest: true });
    expect((await admin.fetchOffsets({ groupId: 'g', topics: ['t'] }))[0].partitions.map((p) => p.offset)).toEqual([1, 0]);
    expect((await admin.listGroups()).groups).toEqual([{ groupId: 'g', protocolType: '' }]);
    expect((await admin.describeGroups(['g'])).groups[0]).toMatchObject({ groupId: 'g', state: 'Empty', members: [], errorCode: 0 });
    expect((await admin.describeGroups(['unknown'])).groups[0].state).toBe('Dead');

    await expect(admin.setOffsets({ groupId: 'g', topic: 't', partitions: [{ partition: 5, offset: 0 }] })).rejects.toThrow(PartitionNotFoundError);
    await expect(admin.setOffsets({ groupId: 'g', topic: 't', partitions: [{ partition: 0, offset: -2 }] })).rejects.toThrow(InvalidRequestError);
    await expect(admin.setOffsets({ groupId: '', topic: 't', partitions: [] })).rejects.toThrow(InvalidRequestError);
    await expect(admin.fetchOffsets({ groupId: 'g', topics: ['missing'] })).rejects.toThrow(TopicNotFoundError);

    expect(await admin.deleteGroups(['g'])).toEqual([{ groupId: 'g', errorCode: 0 }]);
    expect(await admin.fetchOffsets({ groupId: 'g' })).toEqual([]);
  });

  it('refuses to move the offsets of a group with running members', async () => {
    await admin.createTopics({ topics: [{ topic: 't' }] });
    const joined = await sluice.broker.groups.joinGroup({
      groupId: 'live',
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      sessionTimeoutMs: 30_000,
    });
    await sluice.broker.groups.syncGroup({ groupId: 'live', generationId: joined.generationId, memberId: joined.memberId, assignments: [] });
    await expect(admin.resetOffsets({ groupId: 'live', topic: 't' })).rejects.toThrow(UnknownMemberIdError);
    const described = (await admin.describeGroups(['live'])).groups[0];
    expect(described).toMatchObject({ state: 'Stable', protocol: 'range', protocolType: 'consumer' });
    expect(described.members.map((member) => member.memberId)).toEqual([joined.memberId]);
  });
});

describe('Admin group lag', () => {
  it('fetchGroupLag reports lag and a Burrow-style status per partition and for the group', async () => {
    const dir = makeDataDir();
    // Every commit its own window entry, and STOPPED only after an hour: nothing depends on timing.
    const own = await Sluice.open({ dataDir: dir, shards: 1, logger: quietLogger, lagMinCommitIntervalMs: 0, lagStoppedAfterMs: 3_600_000 });
    try {
      const lagAdmin = own.admin();
      await lagAdmin.createTopics({ topics: [{ topic: 'lagging', numPartitions: 2 }] });
      await own.broker.produce('lagging', 0, batchOf(['a', 'b', 'c', 'd', 'e']), 1);
      await own.broker.produce('lagging', 1, batchOf(['a', 'b']), 1);
      await lagAdmin.setOffsets({ groupId: 'g', topic: 'lagging', partitions: [{ partition: 0, offset: 1 }, { partition: 1, offset: 2 }] });
      await own.broker.produce('lagging', 0, batchOf(['f', 'g', 'h', 'i', 'j']), 1);
      await lagAdmin.setOffsets({ groupId: 'g', topic: 'lagging', partitions: [{ partition: 0, offset: 3 }] });

      const commit = (offset: number, lag: number) => ({ offset, lag, timestampMs: expect.any(Number), observedAtMs: expect.any(Number) });
      const row = (partition: number, committedOffset: number, end: number, status: string, commits: { offset: number; lag: number }[]) => ({
        topic: 'lagging',
        partition,
        committedOffset,
        highWatermark: end,
        lastStableOffset: end,
        lag: end - committedOffset,
        status,
        commitsInWindow: commits.length,
        complete: commits.length / 10,
        start: commit(commits[0].offset, commits[0].lag),
        end: commit(commits.at(-1)!.offset, commits.at(-1)!.lag),
      });
      // Partition 0: lag 4, then 7 while the offset moves: falling behind. Partition 1 caught up.
      expect(await lagAdmin.fetchGroupLag({ groupId: 'g' })).toEqual({
        groupId: 'g',
        status: 'WARNING',
        totalLag: 7,
        complete: 0,
        partitions: [
          row(0, 3, 10, 'WARNING', [
            { offset: 1, lag: 4 },
            { offset: 3, lag: 7 },
          ]),
          row(1, 2, 2, 'OK', [{ offset: 2, lag: 0 }]),
        ],
      });
      const later = await lagAdmin.fetchGroupLag({ groupId: 'g', nowMs: Date.now() + 7_200_000 });
      expect([later.status, later.partitions[0].status]).toEqual(['ERROR', 'STOPPED']);

      await expect(lagAdmin.fetchGroupLag({ groupId: 'nobody' })).rejects.toThrow(GroupIdNotFoundError);
      await expect(lagAdmin.fetchGroupLag({ groupId: '' })).rejects.toThrow(InvalidRequestError);
      await expect(lagAdmin.fetchGroupLag(null as never)).rejects.toThrow(InvalidRequestError);
    } finally {
      await own.close();
      removeDataDir(dir);
    }
  });
});

describe('Sluice', () => {
  it('hands out clients and refuses new ones once closed', async () => {
    const producer = sluice.producer();
    await producer.connect();
    await producer.send({ topic: 'auto', messages: [{ value: 'hello' }] });
    expect((await admin.fetchTopicOffsets('auto'))[0].high).toBe(1);
    const consumer = sluice.consumer({ groupId: 'c' });
    expect(consumer).toBeDefined();
    await sluice.close();
    expect(() => sluice.admin()).toThrow(ClosedError);
    expect(() => sluice.producer()).toThrow(ClosedError);
  });
});

describe('Admin ACLs', () => {
  const entry = {
    resourceType: sluiceAcl.AclResourceTypes.TOPIC,
    resourceName: 'orders',
    resourcePatternType: sluiceAcl.ResourcePatternTypes.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: sluiceAcl.AclOperationTypes.READ,
    permissionType: sluiceAcl.AclPermissionTypes.ALLOW,
  };
  const anyFilter = {
    resourceType: sluiceAcl.AclResourceTypes.ANY,
    resourcePatternType: sluiceAcl.ResourcePatternTypes.ANY,
    operation: sluiceAcl.AclOperationTypes.ANY,
    permissionType: sluiceAcl.AclPermissionTypes.ANY,
  };

  it('creates, describes (grouped by resource pattern) and deletes ACLs kafkajs-style, durably', async () => {
    expect(await admin.createAcls({ acl: [entry, { ...entry, operation: sluiceAcl.AclOperationTypes.WRITE }, entry] })).toBe(true);
    expect(await admin.describeAcls({ ...anyFilter, resourceName: 'orders', resourcePatternType: sluiceAcl.ResourcePatternTypes.MATCH })).toEqual({
      throttleTime: 0,
      errorCode: 0,
      errorMessage: null,
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          resourcePatternType: 3,
          acls: [
            { principal: 'User:alice', host: '*', operation: 3, permissionType: 3 },
            { principal: 'User:alice', host: '*', operation: 4, permissionType: 3 },
          ],
        },
      ],
    });
    await sluice.close();
    sluice = await Sluice.open({ dataDir, shards: 2, groupInitialRebalanceDelayMs: 0, logger: quietLogger });
    admin = sluice.admin();
    const { filterResponses } = await admin.deleteAcls({ filters: [{ ...anyFilter, operation: sluiceAcl.AclOperationTypes.WRITE }, anyFilter] });
    expect(filterResponses.map((response) => response.matchingAcls.map((acl) => acl.operation))).toEqual([[4], [3]]);
    expect((await admin.describeAcls(anyFilter)).resources).toEqual([]);
  });

  it('rejects an invalid ACL or filter with InvalidRequestError, creating the valid ones', async () => {
    await expect(admin.createAcls({ acl: [entry, { ...entry, resourceType: sluiceAcl.AclResourceTypes.CLUSTER }] })).rejects.toThrow(
      /only valid name for the CLUSTER resource is kafka-cluster/,
    );
    expect((await admin.describeAcls(anyFilter)).resources).toHaveLength(1);
    await expect(admin.describeAcls({ ...anyFilter, operation: 0 })).rejects.toBeInstanceOf(InvalidRequestError);
  });
});
