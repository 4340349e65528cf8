/**
 * The KIP-848 consumer group coordinator as a state machine: members joining, revocation before
 * assignment, leaving, session and rebalance timeouts, fencing by epoch, static members, offsets
 * with member epochs, the id space shared with classic groups, and a restart from what it wrote
 * to __consumer_offsets. Time is a ManualClock; the stores are the broker's own, over an in-memory
 * log (the appended batches), so a restart replays exactly what was written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConsumerGroupCoordinator,
  type AssignableTopic,
  type ConsumerGroupHeartbeatInput,
  type ConsumerGroupHeartbeatResult,
} from '../../../src/broker/consumer-group/consumer-group-coordinator.js';
import { DurableConsumerGroupStore } from '../../../src/broker/consumer-group/store.js';
import type { Assignment } from '../../../src/broker/consumer-group/types.js';
import { GroupCoordinator } from '../../../src/broker/group-coordinator.js';
import { OffsetManager } from '../../../src/broker/offset-manager.js';
import { DurableOffsetStore, emptyConsumerOffsetsState, replayConsumerOffsets } from '../../../src/broker/offset-store.js';
import { encodeSubscription } from '../../../src/broker/consumer-protocol.js';
import { ErrorCode } from '../../../src/protocol/api/error-codes.js';
import { KafkaApiError } from '../../../src/errors.js';
import { ManualClock } from '../../support/clock.js';
import { joinHeartbeat } from '../../support/consumer-group-heartbeat.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
const OTHER_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAg';

interface Harness {
  coordinator: ConsumerGroupCoordinator;
  classic: GroupCoordinator;
  clock: ManualClock;
  topics: AssignableTopic[];
  /** Every batch appended to __consumer_offsets, in order. */
  log: Buffer[];
}

const open: Harness[] = [];

function harness(options: { log?: Buffer[]; topics?: AssignableTopic[]; maxGroupSize?: number } = {}): Harness {
  const log = options.log ?? [];
  const state = emptyConsumerOffsetsState();
  for (const batch of log) replayConsumerOffsets(batch, state);
  const append = async (batch: Buffer): Promise<void> => {
    log.push(batch);
  };
  const clock = new ManualClock();
  const offsetStore = new DurableOffsetStore(state, append);
  const consumerStore = new DurableConsumerGroupStore(state, append);
  const topics = options.topics ?? [{ name: 't', topicId: TOPIC_ID, partitionCount: 4 }];
  let classic: GroupCoordinator | null = null;
  const coordinator = new ConsumerGroupCoordinator({
    offsets: new OffsetManager(offsetStore, clock, 4096),
    store: consumerStore,
    classicGroups: { releaseForConsumerProtocol: (groupId) => classic!.releaseForConsumerProtocol(groupId) },
    topics: () => topics,
    clock,
    maxGroupSize: options.maxGroupSize,
    restoredGroups: consumerStore.restoredGroups(),
  });
  classic = new GroupCoordinator({ offsetStore, clock, initialRebalanceDelayMs: 0, consumerProtocolGroups: coordinator });
  const h = { coordinator, classic, clock, topics, log };
  open.push(h);
  return h;
}

afterEach(() => {
  for (const h of open.splice(0)) {
    h.coordinator.close();
    h.classic.close();
  }
});

const join = joinHeartbeat;

/** A steady-state heartbeat: epoch and owned partitions only, as clients send between changes. */
function beat(memberId: string, memberEpoch: number, owned: readonly number[], overrides: Partial<ConsumerGroupHeartbeatInput> = {}): ConsumerGroupHeartbeatInput {
  return join(memberId, {
    memberEpoch,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    topicPartitions: [{ topicId: TOPIC_ID, partitions: [...owned] }],
    ...overrides,
  });
}

function partitionsOf(assignment: Assignment | null): number[] | null {
  if (assignment === null) return null;
  return [...(assignment.get(TOPIC_ID) ?? [])].sort((a, b) => a - b);
}

async function errorCodeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KafkaApiError) return error.kafkaErrorCode;
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** Two members sharing the topic, reconciled: m1 holds [0, 1], m2 holds [2, 3], both at epoch 2. */
async function twoStableMembers(h: Harness): Promise<void> {
  await h.coordinator.heartbeat(join('m1'));
  await h.coordinator.heartbeat(join('m2'));
  await h.coordinator.heartbeat(beat('m1', 1, [0, 1, 2, 3]));
  await h.coordinator.heartbeat(beat('m1', 1, [0, 1]));
  const m2 = await h.coordinator.heartbeat(beat('m2', 2, []));
  expect(partitionsOf(m2.assignment)).toEqual([2, 3]);
}

describe('ConsumerGroupCoordinator: reconciliation', () => {
  it('a first member gets every partition at epoch 1, with a broker-generated member id when it sends none', async () => {
    const h = harness();
    const result = await h.coordinator.heartbeat(join(''));
    expect(result.memberId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.memberEpoch).toBe(1);
    expect(result.heartbeatIntervalMs).toBe(5_000);
    expect(partitionsOf(result.assignment)).toEqual([0, 1, 2, 3]);
    expect(h.coordinator.describe('g')).toMatchObject({ state: 'Stable', groupEpoch: 1, assignmentEpoch: 1, assignorName: 'uniform' });
  });

  it('a second member gets partitions only after the first revoked them (revocation before assignment)', async () => {
    const h = harness();
    await h.coordinator.heartbeat(join('m1'));
    const m2Joined = await h.coordinator.heartbeat(join('m2'));
    // Group epoch 2, target [0,1] / [2,3]; m1 still owns everything, so m2 waits at epoch 2 with nothing.
    expect(m2Joined.memberEpoch).toBe(2);
    expect(partitionsOf(m2Joined.assignment)).toEqual([]);
    expect(h.coordinator.describe('g').state).toBe('Reconciling');

    // m1 is asked to give up [2, 3] and stays at epoch 1 while it owns them.
    const m1Revoking = await h.coordinator.heartbeat(beat('m1', 1, [0, 1, 2, 3]));
    expect(m1Revoking.memberEpoch).toBe(1);
    expect(partitionsOf(m1Revoking.assignment)).toEqual([0, 1]);
    const m2Waiting = await h.coordinator.heartbeat(beat('m2', 2, []));
    expect(m2Waiting.assignment).toBeNull();
    const m1StillOwning = await h.coordinator.heartbeat(beat('m1', 1, [0, 1, 2, 3]));
    expect(m1StillOwning.memberEpoch).toBe(1);

    // Revoked: m1 moves to epoch 2, and m2's next heartbeat gets the released partitions.
    const m1Done = await h.coordinator.heartbeat(beat('m1', 1, [0, 1]));
    expect(m1Done.memberEpoch).toBe(2);
    const m2Assigned = await h.coordinator.heartbeat(beat('m2', 2, []));
    expect(partitionsOf(m2Assigned.assignment)).toEqual([2, 3]);
    const described = h.coordinator.describe('g');
    expect(described.state).toBe('Stable');
    expect(described.members.map((m) => [m.memberId, m.memberEpoch, partitionsOf(m.assignment)])).toEqual([
      ['m1', 2, [0, 1]],
      ['m2', 2, [2, 3]],
    ]);
  });

  it('a member leaving (epoch -1) bumps the group epoch and the other takes its partitions', async () => {
    const h = harness();
    await twoStableMembers(h);
    const left = await h.coordinator.heartbeat(beat('m2', -1, []));
    expect(left.memberEpoch).toBe(-1);
    const m1 = await h.coordinator.heartbeat(beat('m1', 2, [0, 1]));
    expect(m1.memberEpoch).toBe(3);
    expect(partitionsOf(m1.assignment)).toEqual([0, 1, 2, 3]);
    expect(h.coordinator.describe('g').members.map((m) => m.memberId)).toEqual(['m1']);
  });

  it('a member whose session ends is removed and its partitions go to the others', async () => {
    const h = harness();
    await twoStableMembers(h);
    // m1 keeps heartbeating every 5 s; m2 falls silent for the 45 s session timeout.
    for (let elapsedMs = 0; elapsedMs < 40_000; elapsedMs += 5_000) {
      h.clock.advance(5_000);
      await h.coordinator.heartbeat(beat('m1', 2, [0, 1]));
    }
    expect(h.coordinator.describe('g').members.map((m) => m.memberId)).toEqual(['m1', 'm2']);
    h.clock.advance(5_000);
    expect(h.coordinator.describe('g').members.map((m) => m.memberId)).toEqual(['m1']);
    const m1 = await h.coordinator.heartbeat(beat('m1', 2, [0, 1]));
    expect(m1.memberEpoch).toBe(3);
    expect(partitionsOf(m1.assignment)).toEqual([0, 1, 2, 3]);
    expect(await errorCodeOf(h.coordinator.heartbeat(beat('m2', 2, [2, 3])))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a member that does not revoke within its rebalance timeout is removed', async () => {
    const h = harness();
    await h.coordinator.heartbeat(join('m1', { rebalanceTimeoutMs: 10_000 }));
    await h.coordinator.heartbeat(join('m2'));
    await h.coordinator.heartbeat(beat('m1', 1, [0, 1, 2, 3]));
    h.clock.advance(10_000);
    expect(h.coordinator.describe('g').members.map((m) => m.memberId)).toEqual(['m2']);
    const m2 = await h.coordinator.heartbeat(beat('m2', 2, []));
    expect(partitionsOf(m2.assignment)).toEqual([0, 1, 2, 3]);
  });

  it('fences an epoch ahead of the member, and one behind unless it is the previous epoch with a subset of its partitions', async () => {
    const h = harness();
    await twoStableMembers(h);
    expect(await errorCodeOf(h.coordinator.heartbeat(beat('m1', 3, [0, 1])))).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    expect(await errorCodeOf(h.coordinator.heartbeat(beat('m1', 1, [0, 1, 2])))).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    // The response that moved m1 from epoch 1 to 2 may have been lost: it comes back with 1 and a subset.
    const retried = await h.coordinator.heartbeat(beat('m1', 1, [0, 1]));
    expect(retried.memberEpoch).toBe(2);
    expect(await errorCodeOf(h.coordinator.heartbeat(beat('nobody', 2, [])))).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a new topic partition bumps the group epoch and is assigned', async () => {
    const h = harness();
    await h.coordinator.heartbeat(join('m1'));
    h.topics[0] = { name: 't', topicId: TOPIC_ID, partitionCount: 6 };
    const grown = await h.coordinator.heartbeat(beat('m1', 1, [0, 1, 2, 3]));
    expect(grown.memberEpoch).toBe(2);
    expect(partitionsOf(grown.assignment)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('uses the range assignor when the members ask for it', async () => {
    const h = harness({ topics: [{ name: 't', topicId: TOPIC_ID, partitionCount: 4 }, { name: 'u', topicId: OTHER_TOPIC_ID, partitionCount: 2 }] });
    await h.coordinator.heartbeat(join('m1', { subscribedTopicNames: ['t', 'u'], serverAssignor: 'range' }));
    await h.coordinator.heartbeat(join('m2', { subscribedTopicNames: ['t', 'u'], serverAssignor: 'range' }));
    const described = h.coordinator.describe('g');
    expect(described.assignorName).toBe('range');
    const targets = described.members.map((m) => [m.memberId, partitionsOf(m.targetAssignment), [...(m.targetAssignment.get(OTHER_TOPIC_ID) ?? [])]]);
    expect(targets).toEqual([
      ['m1', [0, 1], [0]],
      ['m2', [2, 3], [1]],
    ]);
  });
});

describe('ConsumerGroupCoordinator: static members', () => {
  it('a static member leaving with -2 keeps its partitions; its replacement takes them over, an unreleased id is refused', async () => {
    const h = harness();
    await h.coordinator.heartbeat(join('s1', { instanceId: 'i1' }));
    expect(await errorCodeOf(h.coordinator.heartbeat(join('s2', { instanceId: 'i1' })))).toBe(ErrorCode.UNRELEASED_INSTANCE_ID);
    const left = await h.coordinator.heartbeat(beat('s1', -2, [0, 1, 2, 3], { instanceId: 'i1' }));
    expect(left.memberEpoch).toBe(-2);
    expect(h.coordinator.describe('g').members.map((m) => [m.memberId, m.memberEpoch, partitionsOf(m.assignment)])).toEqual([['s1', -2, [0, 1, 2, 3]]]);

    const back = await h.coordinator.heartbeat(join('s2', { instanceId: 'i1' }));
    expect(back.memberEpoch).toBe(1);
    expect(partitionsOf(back.assignment)).toEqual([0, 1, 2, 3]);
    expect(h.coordinator.describe('g').members.map((m) => m.memberId)).toEqual(['s2']);
    // The old member id is fenced by the instance id's new owner.
    expect(await errorCodeOf(h.coordinator.heartbeat(beat('s1', 1, [], { instanceId: 'i1' })))).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });
});

describe('ConsumerGroupCoordinator: request checks', () => {
  it('refuses a heartbeat interval that is not below the session timeout', () => {
    const make = () =>
      new ConsumerGroupCoordinator({
        offsets: new OffsetManager(new DurableOffsetStore(emptyConsumerOffsetsState(), async () => {}), new ManualClock(), 4096),
        classicGroups: { releaseForConsumerProtocol: () => true },
        topics: () => [],
        sessionTimeoutMs: 5_000,
        heartbeatIntervalMs: 5_000,
      });
    expect(make).toThrow(/heartbeatIntervalMs \(5000\) must be less than sessionTimeoutMs \(5000\)/);
  });

  it('answers Kafka error codes for invalid heartbeats', async () => {
    const h = harness({ maxGroupSize: 1 });
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m', { serverAssignor: 'sticky' })))).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m', { subscribedTopicNames: [] })))).toBe(ErrorCode.INVALID_REQUEST);
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m', { rebalanceTimeoutMs: -1 })))).toBe(ErrorCode.INVALID_REQUEST);
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m', { topicPartitions: [{ topicId: TOPIC_ID, partitions: [0] }] })))).toBe(
      ErrorCode.INVALID_REQUEST,
    );
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m', { memberEpoch: -3 })))).toBe(ErrorCode.INVALID_REQUEST);
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m', { subscribedTopicRegex: 't.*' })))).toBe(ErrorCode.INVALID_REQUEST);
    expect(await errorCodeOf(h.coordinator.heartbeat(beat('m', 3, [])))).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    await h.coordinator.heartbeat(join('m', { subscribedTopicRegex: '' }));
    expect(await errorCodeOf(h.coordinator.heartbeat(join('other')))).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });
});

describe('ConsumerGroupCoordinator: offsets', () => {
  it('commits and fetches with the member epoch: STALE_MEMBER_EPOCH for another, UNSUPPORTED_VERSION below OffsetCommit v9', async () => {
    const h = harness();
    await h.coordinator.heartbeat(join('m1'));
    const offsets = [{ topic: 't', partition: 0, offset: 42 }];
    const commit = (memberEpoch: number, apiVersion = 9) => h.coordinator.commitOffsets({ groupId: 'g', memberId: 'm1', memberEpoch, apiVersion, offsets });
    expect(await errorCodeOf(commit(0))).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(await errorCodeOf(commit(1, 8))).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(await errorCodeOf(commit(-1))).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect(
      await errorCodeOf(h.coordinator.commitOffsets({ groupId: 'g', memberId: '', memberEpoch: -1, apiVersion: 9, offsets })),
    ).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await commit(1)).toEqual([{ topic: 't', partition: 0, error: null }]);
    const partitions = [{ topic: 't', partition: 0 }];
    expect(await errorCodeOf(h.coordinator.fetchOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 5, partitions }))).toBe(
      ErrorCode.STALE_MEMBER_EPOCH,
    );
    const fetched = await h.coordinator.fetchOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 1, partitions });
    expect(fetched.map((o) => o.offset)).toEqual([42]);
    // An admin read (no member) is always allowed; a commit without one only once the group is empty.
    expect((await h.coordinator.fetchOffsets({ groupId: 'g', memberId: null, memberEpoch: -1, partitions }))[0].offset).toBe(42);
    await h.coordinator.heartbeat(beat('m1', -1, []));
    expect(await h.coordinator.commitOffsets({ groupId: 'g', memberId: '', memberEpoch: -1, apiVersion: 9, offsets })).toHaveLength(1);
  });

  it('checks transactional commits: the member and its epoch, a stale one ILLEGAL_GENERATION as Kafka maps it', async () => {
    const h = harness();
    await h.coordinator.heartbeat(join('m1'));
    const check = (memberId: string, generationId: number) => {
      try {
        h.coordinator.validateTransactionalCommit({ groupId: 'g', memberId, generationId });
        return 0;
      } catch (error) {
        return (error as KafkaApiError).kafkaErrorCode;
      }
    };
    expect(check('m1', 1)).toBe(0);
    expect(check('m1', 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(check('nobody', 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(check('', -1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await h.coordinator.heartbeat(beat('m1', -1, []));
    expect(check('', -1)).toBe(0);
  });

  it('deletes offsets of topics no member subscribes to, and refuses the subscribed ones (OffsetDelete)', async () => {
    const h = harness({ topics: [{ name: 't', topicId: TOPIC_ID, partitionCount: 4 }, { name: 'u', topicId: OTHER_TOPIC_ID, partitionCount: 1 }] });
    await h.coordinator.heartbeat(join('m1'));
    const offsets = [{ topic: 't', partition: 0, offset: 1 }, { topic: 'u', partition: 0, offset: 2 }];
    await h.coordinator.commitOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 1, apiVersion: 9, offsets });
    const results = await h.coordinator.deletePartitionOffsets('g', [{ topic: 't', partition: 0 }, { topic: 'u', partition: 0 }]);
    expect(results.map((r) => [r.topic, r.error?.kafkaErrorCode ?? 0])).toEqual([
      ['t', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      ['u', 0],
    ]);
    const left = await h.coordinator.fetchOffsets({ groupId: 'g', memberId: null, memberEpoch: -1, partitions: null });
    expect(left.map((o) => [o.topic, o.offset])).toEqual([['t', 1]]);
  });
});

describe('ConsumerGroupCoordinator: one group id space with classic groups', () => {
  const classicJoin = (memberId: string) => ({
    groupId: 'g',
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['t'] }) }],
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
  });

  it('refuses a consumer member while a classic group has members, and a classic member while a consumer group has', async () => {
    const h = harness();
    const pending = h.classic.joinGroup(classicJoin(''));
    await h.clock.advanceSettling(0);
    const joined = await pending;
    expect(await errorCodeOf(h.coordinator.heartbeat(join('m1')))).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    h.classic.leaveGroup({ groupId: 'g', members: [{ memberId: joined.memberId, groupInstanceId: null }] });
    // The classic group is empty now: the consumer group takes the id over.
    await h.coordinator.heartbeat(join('m1'));
    expect(h.classic.describeGroup('g').state).toBe('Dead');
    expect(await errorCodeOf(h.classic.joinGroup(classicJoin('')))).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    await h.coordinator.heartbeat(beat('m1', -1, []));
    // And the other way round once the consumer group is empty.
    const rejoining = h.classic.joinGroup(classicJoin(''));
    await h.clock.advanceSettling(0);
    const rejoined = await rejoining;
    expect(rejoined.memberId).not.toBe('');
    expect(h.coordinator.has('g')).toBe(false);
  });
});

describe('ConsumerGroupCoordinator: restart', () => {
  it('restores groups, epochs and assignments from what it wrote, and the members carry on', async () => {
    const log: Buffer[] = [];
    const first = harness({ log });
    await twoStableMembers(first);
    await first.coordinator.commitOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 2, apiVersion: 9, offsets: [{ topic: 't', partition: 1, offset: 7 }] });
    first.coordinator.close();
    first.classic.close();

    const second = harness({ log });
    const described = second.coordinator.describe('g');
    expect(described).toMatchObject({ state: 'Stable', groupEpoch: 2, assignmentEpoch: 2 });
    expect(described.members.map((m) => [m.memberId, m.memberEpoch, partitionsOf(m.assignment)])).toEqual([
      ['m1', 2, [0, 1]],
      ['m2', 2, [2, 3]],
    ]);
    const m1: ConsumerGroupHeartbeatResult = await second.coordinator.heartbeat(beat('m1', 2, [0, 1]));
    expect(m1.memberEpoch).toBe(2);
    const fetched = await second.coordinator.fetchOffsets({ groupId: 'g', memberId: 'm1', memberEpoch: 2, partitions: [{ topic: 't', partition: 1 }] });
    expect(fetched[0].offset).toBe(7);
    // A restored member that does not come back is removed when its fresh session ends.
    for (let elapsedMs = 0; elapsedMs < 45_000; elapsedMs += 5_000) {
      second.clock.advance(5_000);
      await second.coordinator.heartbeat(beat('m1', 2, [0, 1]));
    }
    expect(second.coordinator.describe('g').members.map((m) => m.memberId)).toEqual(['m1']);
  });
});
