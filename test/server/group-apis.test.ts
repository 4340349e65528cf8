/**
 * The group-facing APIs at Kafka 3.9's newest versions, over a real socket: FindCoordinator v5-v6,
 * OffsetCommit v9, OffsetFetch v9 and ListGroups v5. The requests are @platformatic/kafka's own
 * (its API functions write the frames and parse the answers), and Sluice's codecs send the edge
 * cases that client never sends; each answer is the one Kafka 3.9 gives.
 */
import { createRequire } from 'node:module';
import { Connection, findCoordinatorV5, findCoordinatorV6, listGroupsV5, offsetCommitV9, offsetFetchV9 } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { FindCoordinator } from '../../src/protocol/api/find-coordinator.js';
import { JoinGroup } from '../../src/protocol/api/join-group.js';
import { ListGroups } from '../../src/protocol/api/list-groups.js';
import { OffsetCommit } from '../../src/protocol/api/offset-commit.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { SyncGroup } from '../../src/protocol/api/sync-group.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

const TOPIC = 'group-apis';
const require = createRequire(import.meta.url);

let t: TestServer;
let client: TestClient;
let connection: Connection;

beforeAll(async () => {
  t = await startServer();
  client = await TestClient.connect(t.port);
  connection = new Connection('group-apis-test');
  await connection.connect('127.0.0.1', t.port);
  await t.broker.createTopic(TOPIC, { partitions: 2 });
});

afterAll(async () => {
  await connection?.close();
  client?.close();
  await t?.close();
});

/** The response a @platformatic/kafka call carried, whether the client saw an error in it or not. */
async function answered<R>(call: Promise<R>): Promise<R> {
  try {
    return await call;
  } catch (error) {
    const response = (error as { response?: R }).response;
    if (response === undefined) throw error;
    return response;
  }
}

/** Joins `groupId` as its only member and syncs: the group is Stable at generation 1. */
async function stableMember(groupId: string): Promise<{ memberId: string; generationId: number }> {
  const join = {
    groupId,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
    reason: null,
  };
  const first = await client.send(JoinGroup, 9, join);
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  const joined = await client.send(JoinGroup, 9, { ...join, memberId: first.memberId });
  expect(joined.errorCode).toBe(ErrorCode.NONE);
  const synced = await client.send(SyncGroup, 5, {
    groupId,
    generationId: joined.generationId,
    memberId: first.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: first.memberId, assignment: Buffer.alloc(0) }],
  });
  expect(synced.errorCode).toBe(ErrorCode.NONE);
  return { memberId: first.memberId, generationId: joined.generationId };
}

describe('FindCoordinator v5-v6', () => {
  it.each([
    [5, findCoordinatorV5],
    [6, findCoordinatorV6],
  ] as const)('v%i names this node for each group and transactional id of a batch', async (_version, api) => {
    for (const keyType of [0, 1]) {
      const response = await api.api.async(connection, keyType, ['a', 'b']);
      expect(response.coordinators.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode])).toEqual([
        ['a', 0, '127.0.0.1', t.port, 0],
        ['b', 0, '127.0.0.1', t.port, 0],
      ]);
    }
  });

  it('answers a share-group key (type 2) COORDINATOR_NOT_AVAILABLE at v6, INVALID_REQUEST before', async () => {
    const v6 = await answered(findCoordinatorV6.api.async(connection, 2, ['share-a', 'share-b']));
    expect(v6.coordinators.map((c) => [c.key, c.errorCode, c.nodeId, c.host, c.port])).toEqual([
      ['share-a', ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, '', -1],
      ['share-b', ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, '', -1],
    ]);
    const v5 = await answered(findCoordinatorV5.api.async(connection, 2, ['share-a']));
    expect(v5.coordinators.map((c) => [c.key, c.errorCode, c.nodeId])).toEqual([['share-a', ErrorCode.INVALID_REQUEST, -1]]);
    const v3 = await client.send(FindCoordinator, 3, { key: 'share-a', keyType: 2 });
    expect(v3).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1, port: -1 });
  });

  it('answers a key type Kafka does not know INVALID_REQUEST for every key', async () => {
    const response = await client.send(FindCoordinator, 6, { keyType: 3, coordinatorKeys: ['x', 'y'] });
    expect(response.coordinators.map((c) => [c.key, c.errorCode, c.nodeId])).toEqual([
      ['x', ErrorCode.INVALID_REQUEST, -1],
      ['y', ErrorCode.INVALID_REQUEST, -1],
    ]);
  });
});

describe('OffsetCommit v9 and OffsetFetch v9', () => {
  it('commits for a member of a classic group and a standalone consumer, and reads both back, member fields or not', async () => {
    const member = await stableMember('members-v9');
    const committed = await offsetCommitV9.api.async(connection, 'members-v9', member.generationId, member.memberId, null, [
      { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: 'm' }] },
    ]);
    expect(committed.topics).toEqual([{ name: TOPIC, partitions: [{ partitionIndex: 0, errorCode: 0 }] }]);
    // Generation -1 and no member: a consumer outside group management creates a simple group.
    const standalone = await offsetCommitV9.api.async(connection, 'standalone-v9', -1, '', null, [
      { name: TOPIC, partitions: [{ partitionIndex: 1, committedOffset: 4n, committedLeaderEpoch: -1, committedMetadata: null }] },
    ]);
    expect(standalone.topics[0].partitions[0].errorCode).toBe(0);

    const fetched = await offsetFetchV9.api.async(
      connection,
      [
        // A classic group's offsets are anyone's to read: Kafka checks member id and epoch only
        // for KIP-848 consumer groups.
        { groupId: 'members-v9', memberId: 'not-a-member', memberEpoch: 42, topics: [{ name: TOPIC, partitionIndexes: [0, 1] }] },
        { groupId: 'standalone-v9', memberId: null, memberEpoch: -1, topics: null },
        { groupId: 'no-such-group-v9', memberId: null, memberEpoch: -1, topics: [{ name: TOPIC, partitionIndexes: [0] }] },
      ],
      false,
    );
    expect(
      fetched.groups.map((g) => [g.groupId, g.errorCode, g.topics.flatMap((topic) => topic.partitions.map((p) => [topic.name, p.partitionIndex, p.committedOffset, p.metadata]))]),
    ).toEqual([
      ['members-v9', 0, [[TOPIC, 0, 7n, 'm'], [TOPIC, 1, -1n, '']]],
      ['standalone-v9', 0, [[TOPIC, 1, 4n, '']]],
      ['no-such-group-v9', 0, [[TOPIC, 0, -1n, '']]],
    ]);
  });

  it('answers a generation of a group that does not exist GROUP_ID_NOT_FOUND at v9, ILLEGAL_GENERATION at v8', async () => {
    const response = await answered(
      offsetCommitV9.api.async(connection, 'ghost-v9', 3, 'ghost-member', null, [
        { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] },
      ]),
    );
    expect(response.topics.map((topic) => [topic.name, topic.partitions[0].errorCode])).toEqual([
      [TOPIC, ErrorCode.GROUP_ID_NOT_FOUND],
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const body = {
      groupId: 'ghost-v9',
      generationId: 3,
      memberId: 'ghost-member',
      groupInstanceId: null,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    };
    expect((await client.send(OffsetCommit, 8, body)).topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    // Nothing was committed, and no group came into being.
    const fetched = await client.send(OffsetFetch, 9, { groups: [{ groupId: 'ghost-v9', topics: null }], requireStable: false });
    expect(fetched.groups).toEqual([{ groupId: 'ghost-v9', topics: [], errorCode: 0 }]);
    expect(t.broker.groups.describeGroup('ghost-v9').state).toBe('Dead');
  });

  it('still answers a stale generation of an existing group ILLEGAL_GENERATION at v9', async () => {
    const member = await stableMember('stale-v9');
    const response = await client.send(OffsetCommit, 9, {
      groupId: 'stale-v9',
      generationId: member.generationId + 1,
      memberId: member.memberId,
      groupInstanceId: null,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    expect(response.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });
});

describe('OffsetFetch requireStable', () => {
  it('answers a partition with offsets staged in an open transaction UNSTABLE_OFFSET_COMMIT, until it ends', async () => {
    await t.broker.produce(TOPIC, 1, encodeRecordBatch({ records: Array.from({ length: 9 }, (_, i) => ({ value: Buffer.from(`r${i}`) })) }), 1);
    await offsetCommitV9.api.async(connection, 'stable-v9', -1, '', null, [
      { name: TOPIC, partitions: [{ partitionIndex: 1, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: null }] },
    ]);
    const producer = await t.broker.initProducerId({ transactionalId: 'stable-v9-tx', transactionTimeoutMs: 60_000 });
    const txn = { transactionalId: 'stable-v9-tx', ...producer };
    await t.broker.addOffsetsToTxn({ ...txn, groupId: 'stable-v9' });
    await t.broker.txnOffsetCommit({ ...txn, groupId: 'stable-v9', offsets: [{ topic: TOPIC, partition: 1, offset: 6 }] });

    const fetch = async (version: number, requireStable: boolean, topics: { name: string; partitionIndexes: number[] }[] | null) => {
      const response =
        version >= 8
          ? (await client.send(OffsetFetch, version, { groups: [{ groupId: 'stable-v9', topics }], requireStable })).groups[0]
          : await client.send(OffsetFetch, version, { groupId: 'stable-v9', topics, requireStable });
      return response.topics.flatMap((topic) => topic.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]));
    };
    const partitions = [{ name: TOPIC, partitionIndexes: [0, 1] }];
    for (const version of [7, 9]) {
      expect(await fetch(version, true, partitions)).toEqual([
        [0, -1, 0],
        [1, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT],
      ]);
      expect(await fetch(version, true, null)).toEqual([[1, -1, ErrorCode.UNSTABLE_OFFSET_COMMIT]]);
      // Without requireStable, the offset committed before the transaction.
      expect(await fetch(version, false, partitions)).toEqual([
        [0, -1, 0],
        [1, 2, 0],
      ]);
    }
    await t.broker.endTxn({ ...txn, committed: true });
    expect(await fetch(9, true, partitions)).toEqual([
      [0, -1, 0],
      [1, 6, 0],
    ]);
  });
});

describe('ListGroups v5', () => {
  beforeAll(async () => {
    await stableMember('listed-stable');
    await offsetCommitV9.api.async(connection, 'listed-empty', -1, '', null, [
      { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] },
    ]);
  });

  const listed = (groups: { groupId: string; groupState: string; groupType: string }[]) =>
    groups
      .filter((g) => g.groupId.startsWith('listed-'))
      .map((g) => [g.groupId, g.groupState, g.groupType])
      .sort();

  it('names each group classic, and filters by type and state without regard to case', async () => {
    const all = await listGroupsV5.api.async(connection, [], []);
    expect(all.errorCode).toBe(0);
    expect(listed(all.groups)).toEqual([
      ['listed-empty', 'Empty', 'classic'],
      ['listed-stable', 'Stable', 'classic'],
    ]);
    expect(listed((await listGroupsV5.api.async(connection, [], ['Classic'])).groups)).toHaveLength(2);
    expect((await listGroupsV5.api.async(connection, [], ['consumer', 'share'])).groups).toEqual([]);
    // @platformatic/kafka spells states in capitals: STABLE matches Stable, as in Kafka.
    expect(listed((await listGroupsV5.api.async(connection, ['STABLE'], ['classic'])).groups)).toEqual([['listed-stable', 'Stable', 'classic']]);
  });

  it("serves librdkafka's ListConsumerGroups (v5, types spelled 'Classic'), filtered by its state and type enums", async () => {
    const { KafkaJS } = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');
    const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [t.bootstrap], clientId: 'group-apis-test', logLevel: KafkaJS.logLevel.NOTHING } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const listed = async (options: object) => {
        const { groups, errors } = await admin.listGroups(options);
        expect(errors).toEqual([]);
        return groups.filter((g) => g.groupId.startsWith('listed-')).map((g) => [g.groupId, g.state, g.type]);
      };
      const { ConsumerGroupStates, ConsumerGroupTypes } = KafkaJS;
      expect(await listed({ matchConsumerGroupTypes: [ConsumerGroupTypes.CLASSIC], matchConsumerGroupStates: [ConsumerGroupStates.EMPTY] })).toEqual([
        ['listed-empty', ConsumerGroupStates.EMPTY, ConsumerGroupTypes.CLASSIC],
      ]);
      expect(await listed({ matchConsumerGroupTypes: [ConsumerGroupTypes.CONSUMER] })).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('matches no group, without an error, for a state or type Kafka does not know (v4 and v5)', async () => {
    const v5 = await client.send(ListGroups, 5, { statesFilter: ['Sleeping'], typesFilter: [] });
    expect(v5).toMatchObject({ errorCode: 0, groups: [] });
    const typed = await client.send(ListGroups, 5, { statesFilter: [], typesFilter: ['bogus'] });
    expect(typed).toMatchObject({ errorCode: 0, groups: [] });
    const v4 = await client.send(ListGroups, 4, { statesFilter: ['empty', 'Sleeping'] });
    expect(v4.errorCode).toBe(0);
    expect(v4.groups.filter((g) => g.groupId.startsWith('listed-')).map((g) => [g.groupId, g.groupState])).toEqual([['listed-empty', 'Empty']]);
  });
});
