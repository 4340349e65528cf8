/**
 * A KIP-848 consumer group seen through every group API over a real socket, as Kafka 3.9 answers:
 * ConsumerGroupHeartbeat and ConsumerGroupDescribe, ListGroups v5 (type "consumer"),
 * DescribeGroups (Dead: it describes classic groups only), OffsetCommit/OffsetFetch with the member
 * epoch, JoinGroup refused, OffsetDelete and DeleteGroups.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerGroupDescribe } from '../../src/protocol/api/consumer-group-describe.js';
import { ConsumerGroupHeartbeat, type ConsumerGroupHeartbeatRequestInput } from '../../src/protocol/api/consumer-group-heartbeat.js';
import { DeleteGroups } from '../../src/protocol/api/delete-groups.js';
import { DescribeGroups } from '../../src/protocol/api/describe-groups.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { JoinGroup } from '../../src/protocol/api/join-group.js';
import { ListGroups } from '../../src/protocol/api/list-groups.js';
import { OffsetCommit } from '../../src/protocol/api/offset-commit.js';
import { OffsetDelete } from '../../src/protocol/api/offset-delete.js';
import { OffsetFetch } from '../../src/protocol/api/offset-fetch.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

const TOPIC = 'cg-apis';
const GROUP = 'cg';

let t: TestServer;
let client: TestClient;
let topicId: string;

beforeAll(async () => {
  t = await startServer();
  client = await TestClient.connect(t.port);
  ({ topicId } = await t.broker.createTopic(TOPIC, { partitions: 2 }));
});

afterAll(async () => {
  client?.close();
  await t?.close();
});

function heartbeat(overrides: Partial<ConsumerGroupHeartbeatRequestInput>): ConsumerGroupHeartbeatRequestInput {
  return {
    groupId: GROUP,
    memberId: 'member-1',
    memberEpoch: 0,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: [TOPIC],
    topicPartitions: [],
    ...overrides,
  };
}

const commitRequest = (generationId: number) => ({
  groupId: GROUP,
  generationId,
  memberId: 'member-1',
  groupInstanceId: null,
  topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: '' }] }],
});

describe('a consumer group over the wire', () => {
  it('joins with ConsumerGroupHeartbeat v1 and gets every partition by topic id', async () => {
    const joined = await client.send(ConsumerGroupHeartbeat, 1, heartbeat({}));
    expect(joined).toMatchObject({ errorCode: 0, errorMessage: null, memberId: 'member-1', memberEpoch: 1, heartbeatIntervalMs: 5000 });
    expect(joined.assignment).toEqual({ topicPartitions: [{ topicId, partitions: [0, 1] }] });
    const steady = await client.send(
      ConsumerGroupHeartbeat,
      1,
      heartbeat({ memberEpoch: 1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: [{ topicId, partitions: [0, 1] }] }),
    );
    expect(steady).toMatchObject({ errorCode: 0, memberEpoch: 1, assignment: null });
  });

  it('refuses a regex subscription and an epoch ahead of the member, with the reason in errorMessage', async () => {
    const regex = await client.send(ConsumerGroupHeartbeat, 1, heartbeat({ memberId: 'member-2', subscribedTopicRegex: 'cg-.*' }));
    expect(regex.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(regex.errorMessage).toMatch(/SubscribedTopicRegex is not supported/);
    const fenced = await client.send(ConsumerGroupHeartbeat, 0, heartbeat({ memberEpoch: 7, rebalanceTimeoutMs: -1, topicPartitions: null }));
    expect(fenced.errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
  });

  it('is described by ConsumerGroupDescribe, listed as type consumer, and Dead to DescribeGroups', async () => {
    const described = await client.send(ConsumerGroupDescribe, 0, { groupIds: [GROUP, 'nope'], includeAuthorizedOperations: false });
    expect(described.groups[0]).toMatchObject({ errorCode: 0, groupId: GROUP, groupState: 'Stable', groupEpoch: 1, assignmentEpoch: 1, assignorName: 'uniform' });
    expect(described.groups[0].members[0]).toMatchObject({
      memberId: 'member-1',
      memberEpoch: 1,
      subscribedTopicNames: [TOPIC],
      assignment: { topicPartitions: [{ topicId, topicName: TOPIC, partitions: [0, 1] }] },
    });
    expect(described.groups[1].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);

    const consumerOnly = await client.send(ListGroups, 5, { statesFilter: [], typesFilter: ['Consumer'] });
    expect(consumerOnly.groups).toEqual([{ groupId: GROUP, protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }]);
    const classicOnly = await client.send(ListGroups, 5, { statesFilter: [], typesFilter: ['classic'] });
    expect(classicOnly.groups.map((g) => g.groupId)).not.toContain(GROUP);

    const classicView = await client.send(DescribeGroups, 5, { groups: [GROUP], includeAuthorizedOperations: false });
    expect(classicView.groups[0]).toMatchObject({ errorCode: 0, groupState: 'Dead', members: [] });
  });

  it('takes offset commits and fetches with the member epoch only', async () => {
    const old = await client.send(OffsetCommit, 8, commitRequest(1));
    expect(old.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const stale = await client.send(OffsetCommit, 9, commitRequest(0));
    expect(stale.topics[0].partitions[0].errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    const committed = await client.send(OffsetCommit, 9, commitRequest(1));
    expect(committed.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);

    const fetch = (memberId: string | null, memberEpoch: number) =>
      client.send(OffsetFetch, 9, { groups: [{ groupId: GROUP, memberId, memberEpoch, topics: [{ name: TOPIC, partitionIndexes: [0] }] }], requireStable: false });
    expect((await fetch('member-1', 0)).groups[0].errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await fetch('member-9', 1)).groups[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const fetched = await fetch('member-1', 1);
    expect(fetched.groups[0]).toMatchObject({ errorCode: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 0 }] }] });
    expect((await fetch(null, -1)).groups[0].topics[0].partitions[0].committedOffset).toBe(0);
  });

  it('refuses a classic member (JoinGroup) while it has members', async () => {
    const join = await client.send(JoinGroup, 9, {
      groupId: GROUP,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    });
    expect(join.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('deletes offsets of topics no member subscribes to, and the group once empty', async () => {
    const subscribed = await client.send(OffsetDelete, 0, { groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
    expect(subscribed.topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    expect((await client.send(DeleteGroups, 2, { groupsNames: [GROUP] })).results[0].errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);

    const left = await client.send(ConsumerGroupHeartbeat, 1, heartbeat({ memberEpoch: -1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null }));
    expect(left).toMatchObject({ errorCode: 0, memberId: 'member-1', memberEpoch: -1 });
    const emptyList = await client.send(ListGroups, 5, { statesFilter: ['empty'], typesFilter: ['consumer'] });
    expect(emptyList.groups.map((g) => g.groupId)).toEqual([GROUP]);

    expect((await client.send(DeleteGroups, 2, { groupsNames: [GROUP] })).results[0].errorCode).toBe(ErrorCode.NONE);
    const gone = await client.send(ConsumerGroupDescribe, 0, { groupIds: [GROUP], includeAuthorizedOperations: false });
    expect(gone.groups[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const fetched = await client.send(OffsetFetch, 9, { groups: [{ groupId: GROUP, memberId: null, memberEpoch: -1, topics: null }], requireStable: false });
    expect(fetched.groups[0].topics).toEqual([]);
  });
});
