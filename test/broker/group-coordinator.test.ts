import { afterEach, describe, expect, it } from 'vitest';
import { computeGroupAssignment } from '../../src/broker/assignors/index.js';
import { rangeAssignor } from '../../src/broker/assignors/range.js';
import { decodeAssignment, encodeSubscription } from '../../src/broker/consumer-protocol.js';
import {
  GroupCoordinator,
  IN_PROCESS_CLIENT_HOST,
  type CommittedOffset,
  type GroupCoordinatorOptions,
  type GroupMetadataStore,
  type GroupSnapshot,
  type JoinGroupRequest,
  type JoinGroupResult,
  type OffsetStore,
  type TopicPartitionRef,
} from '../../src/broker/group-coordinator.js';
import {
  ClosedError,
  CoordinatorNotAvailableError,
  FencedInstanceIdError,
  GroupIdNotFoundError,
  GroupMaxSizeReachedError,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  InvalidGroupIdError,
  InvalidRequestError,
  InvalidSessionTimeoutError,
  KafkaApiError,
  MemberIdRequiredError,
  NonEmptyGroupError,
  OffsetMetadataTooLargeError,
  RebalanceInProgressError,
  UnknownMemberIdError,
} from '../../src/errors.js';
import { ManualClock } from '../support/clock.js';

// In-memory stand-ins for the broker's persistence layer, which implements these interfaces.
class MemoryOffsetStore implements OffsetStore {
  readonly groups = new Map<string, Map<string, CommittedOffset>>();
  failNext: Error | null = null;

  commitOffsets(groupId: string, offsets: readonly CommittedOffset[]): void {
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    let group = this.groups.get(groupId);
    if (group === undefined) this.groups.set(groupId, (group = new Map()));
    for (const offset of offsets) group.set(`${offset.topic}/${offset.partition}`, { ...offset });
  }

  async fetchOffsets(groupId: string, partitions: readonly TopicPartitionRef[] | null): Promise<CommittedOffset[]> {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    if (partitions === null) return [...group.values()];
    return partitions.flatMap((p) => group.get(`${p.topic}/${p.partition}`) ?? []);
  }

  deleteOffsets(groupId: string): void {
    this.groups.delete(groupId);
  }

  deletePartitionOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): void {
    for (const { topic, partition } of partitions) this.groups.get(groupId)?.delete(`${topic}/${partition}`);
  }
}

class MemoryMetadataStore implements GroupMetadataStore {
  readonly snapshots = new Map<string, GroupSnapshot>();
  readonly writes: GroupSnapshot[] = [];
  /** While true, writes wait for release(): what happens while a write is in flight. */
  hold = false;
  failWith: Error | null = null;
  private readonly held: (() => void)[] = [];

  storeGroup(snapshot: GroupSnapshot): Promise<void> | void {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    const write = () => {
      this.writes.push(snapshot);
      this.snapshots.set(snapshot.groupId, snapshot);
    };
    if (!this.hold) return write();
    return new Promise((resolve) => this.held.push(() => (write(), resolve())));
  }

  deleteGroup(groupId: string): void {
    this.snapshots.delete(groupId);
  }

  release(): void {
    for (const finish of this.held.splice(0)) finish();
  }
}

const SESSION_MS = 1_000;
const REBALANCE_MS = 2_000;
const PARTITIONS = new Map([['orders', 6]]);

let coordinator: GroupCoordinator | null = null;
afterEach(() => {
  coordinator?.close();
  coordinator = null;
});

function setup(options: Partial<GroupCoordinatorOptions> = {}) {
  const clock = new ManualClock();
  const offsetStore = new MemoryOffsetStore();
  const metadataStore = new MemoryMetadataStore();
  coordinator = new GroupCoordinator({
    offsetStore,
    metadataStore,
    clock,
    minSessionTimeoutMs: 100,
    maxSessionTimeoutMs: 60_000,
    initialRebalanceDelayMs: 0,
    ...options,
  });
  return { c: coordinator, clock, offsetStore, metadataStore };
}

function joinRequest(memberId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId,
    clientId: 'client',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['orders'] }) }],
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    ...overrides,
  };
}

/** Watches a promise without awaiting it, to assert it is still parked. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What an eager consumer does after JoinGroup: the leader assigns (range), everyone syncs. */
async function syncAll(c: GroupCoordinator, joins: JoinGroupResult[]): Promise<Map<string, number[]>> {
  const leader = joins.find((j) => j.memberId === j.leaderId)!;
  expect(leader.members.length).toBe(joins.length);
  const assignments = computeGroupAssignment(rangeAssignor, leader.members, PARTITIONS);
  const synced = await Promise.all(
    joins.map((j) =>
      c.syncGroup({
        groupId: 'g',
        generationId: j.generationId,
        memberId: j.memberId,
        assignments: j.memberId === leader.memberId ? assignments : [],
      }),
    ),
  );
  return new Map(joins.map((j, i) => [j.memberId, decodeAssignment(synced[i].assignment).assignedPartitions.flatMap((tp) => tp.partitions)]));
}

/** Each generation's assignment hands out every partition to exactly one member. */
function expectExclusiveAndComplete(assignment: Map<string, number[]>): void {
  const all = [...assignment.values()].flat().sort((a, b) => a - b);
  expect(all).toEqual([0, 1, 2, 3, 4, 5]);
}

async function stableGroup(c: GroupCoordinator, clock: ManualClock, count: number, overrides: Partial<JoinGroupRequest> = {}) {
  const pending = Array.from({ length: count }, (_, i) => c.joinGroup(joinRequest('', { clientId: `client-${i}`, ...overrides })));
  clock.advance(0);
  const joins = await Promise.all(pending);
  const assignment = await syncAll(c, joins);
  return { joins, assignment, generationId: joins[0].generationId, leaderId: joins[0].leaderId };
}

async function expectKafkaError(promise: Promise<unknown> | (() => unknown), type: new (...args: never[]) => KafkaApiError, code: number) {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(type);
  expect((error as KafkaApiError).kafkaErrorCode).toBe(code);
}

describe('joining and syncing', () => {
  it('brings three members into one generation: the leader gets the metadata, everyone gets a share', async () => {
    const { c, clock } = setup();
    const pending = ['a', 'b', 'c'].map((clientId) => track(c.joinGroup(joinRequest('', { clientId }))));
    await flush();
    expect(pending.some((p) => p.settled)).toBe(false);
    expect(c.describeGroup('g').state).toBe('PreparingRebalance');
    clock.advance(0);
    await flush();
    const joins = pending.map((p) => p.value!);
    expect(new Set(joins.map((j) => j.generationId))).toEqual(new Set([1]));
    expect(new Set(joins.map((j) => j.leaderId)).size).toBe(1);
    expect(joins.map((j) => j.memberId)).toEqual([
      expect.stringMatching(/^a-[0-9a-f-]{36}$/),
      expect.stringMatching(/^b-/),
      expect.stringMatching(/^c-/),
    ]);
    expect(joins.filter((j) => j.members.length === 3)).toHaveLength(1);
    expect(joins.every((j) => j.protocolType === 'consumer' && j.protocolName === 'range')).toBe(true);
    expect(c.describeGroup('g').state).toBe('CompletingRebalance');

    // Followers' SyncGroup parks until the leader's arrives.
    const leader = joins.find((j) => j.memberId === j.leaderId)!;
    const followers = joins.filter((j) => j !== leader);
    const parked = followers.map((j) => track(c.syncGroup({ groupId: 'g', generationId: 1, memberId: j.memberId })));
    await flush();
    expect(parked.some((p) => p.settled)).toBe(false);
    const assignments = computeGroupAssignment(rangeAssignor, leader.members, PARTITIONS);
    const own = await c.syncGroup({ groupId: 'g', generationId: 1, memberId: leader.memberId, assignments });
    await flush();
    const shares = [own, ...parked.map((p) => p.value!)].map((r) => decodeAssignment(r.assignment).assignedPartitions[0].partitions);
    expect(shares.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(shares.map((s) => s.length)).toEqual([2, 2, 2]);
    expect(c.describeGroup('g').state).toBe('Stable');
  });

  it('runs the JoinGroup v4+ handshake: MEMBER_ID_REQUIRED with an id, then a join with it', async () => {
    const { c, clock } = setup();
    let required: MemberIdRequiredError | undefined;
    try {
      await c.joinGroup(joinRequest('', { requireKnownMemberId: true, clientId: 'kafkajs' }));
    } catch (error) {
      required = error as MemberIdRequiredError;
    }
    expect(required).toBeInstanceOf(MemberIdRequiredError);
    expect(required!.kafkaErrorCode).toBe(79);
    expect(required!.memberId).toMatch(/^kafkajs-/);
    const joined = c.joinGroup(joinRequest(required!.memberId, { requireKnownMemberId: true }));
    clock.advance(0);
    expect(await joined).toMatchObject({ memberId: required!.memberId, generationId: 1, leaderId: required!.memberId });
  });

  it('holds the join phase for a half-joined member until it joins or its id expires', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 1);
    const a = joins[0];
    const half = await c.joinGroup(joinRequest('', { requireKnownMemberId: true })).catch((e: MemberIdRequiredError) => e);
    expect(half).toBeInstanceOf(MemberIdRequiredError);
    // The leader rejoins (a rebalance); the half-joined id keeps the phase open...
    const rejoin = track(c.joinGroup(joinRequest(a.memberId)));
    clock.advance(SESSION_MS - 1);
    await flush();
    expect(rejoin.settled).toBe(false);
    // ...until it expires after its session timeout, which ends the phase with the members present.
    clock.advance(1);
    await flush();
    expect(rejoin.value).toMatchObject({ generationId: 2, memberId: a.memberId });
    await expectKafkaError(c.joinGroup(joinRequest((half as MemberIdRequiredError).memberId)), UnknownMemberIdError, 25);
  });

  it('waits initialRebalanceDelayMs for an empty group, longer while members keep arriving', async () => {
    const { c, clock } = setup({ initialRebalanceDelayMs: 100 });
    const first = track(c.joinGroup(joinRequest('')));
    clock.advance(50);
    const second = track(c.joinGroup(joinRequest('')));
    clock.advance(50); // the first delay ends, but a member arrived during it: wait one more delay
    await flush();
    expect(first.settled).toBe(false);
    clock.advance(99);
    await flush();
    expect(first.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(first.value!.generationId).toBe(1);
    expect(second.value!.generationId).toBe(1);
  });

  it('chooses the protocol every member supports that most members prefer', async () => {
    const { c, clock } = setup();
    const offer = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    // Candidates are range and roundrobin (cooperative-sticky is not offered by all); the first
    // member votes range, the other two roundrobin.
    const joins = [
      c.joinGroup(joinRequest('', { protocols: offer('range', 'roundrobin') })),
      c.joinGroup(joinRequest('', { protocols: offer('cooperative-sticky', 'roundrobin', 'range') })),
      c.joinGroup(joinRequest('', { protocols: offer('roundrobin', 'range') })),
    ];
    clock.advance(0);
    const results = await Promise.all(joins);
    expect(results.map((r) => r.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    const leader = results.find((r) => r.members.length > 0)!;
    expect(leader.members.map((m) => m.metadata.toString())).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
  });

  it('answers a follower that rejoins with unchanged metadata with the current generation, without rebalancing', async () => {
    const { c, clock } = setup();
    const { joins, leaderId } = await stableGroup(c, clock, 2);
    const follower = joins.find((j) => j.memberId !== leaderId)!;
    const again = await c.joinGroup(joinRequest(follower.memberId));
    expect(again).toMatchObject({ generationId: 1, leaderId, members: [] });
    expect(c.describeGroup('g').state).toBe('Stable');
  });

  it('replaces a parked JoinGroup by a newer one from the same member', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    const old = c.joinGroup(joinRequest(joins[0].memberId));
    const newer = c.joinGroup(joinRequest(joins[0].memberId));
    await expectKafkaError(old, RebalanceInProgressError, 27);
    track(c.joinGroup(joinRequest(joins[1].memberId)));
    expect((await newer).generationId).toBe(2);
  });
});

describe('rebalancing when membership changes', () => {
  it('rebalances after a member leaves; the rest rejoin at once and share everything, exclusively', async () => {
    const { c, clock } = setup();
    const { joins, assignment } = await stableGroup(c, clock, 3);
    expectExclusiveAndComplete(assignment);
    const [a, b, gone] = joins;
    expect(c.leaveGroup({ groupId: 'g', members: [{ memberId: gone.memberId }] })).toEqual([
      { memberId: gone.memberId, groupInstanceId: null, error: null },
    ]);
    expect(c.describeGroup('g').state).toBe('PreparingRebalance');
    // The others learn of it through their heartbeat, as Kafka tells them.
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId }), RebalanceInProgressError, 27);
    const rejoined = [c.joinGroup(joinRequest(a.memberId)), c.joinGroup(joinRequest(b.memberId))];
    // No waiting for the rebalance timeout: every remaining member is back.
    const results = await Promise.all(rejoined);
    expect(results.map((r) => r.generationId)).toEqual([2, 2]);
    const second = await syncAll(c, results);
    expect([...second.keys()].sort()).toEqual([a.memberId, b.memberId].sort());
    expectExclusiveAndComplete(second);
    expect([...second.values()].map((p) => p.length)).toEqual([3, 3]);
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 2, memberId: gone.memberId }), UnknownMemberIdError, 25);
  });

  it('removes a member that stops heartbeating once its session times out, and rebalances', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    const [alive, silent] = joins;
    for (let t = 0; t < 3; t++) {
      clock.advance(300);
      c.heartbeat({ groupId: 'g', generationId: 1, memberId: alive.memberId });
    }
    clock.advance(SESSION_MS - 900 - 1); // the silent member's session has 1 ms left
    expect(c.describeGroup('g').members).toHaveLength(2);
    clock.advance(1);
    expect(c.describeGroup('g')).toMatchObject({ state: 'PreparingRebalance', members: [{ memberId: alive.memberId }] });
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: alive.memberId }), RebalanceInProgressError, 27);
    const next = await c.joinGroup(joinRequest(alive.memberId));
    expect(next).toMatchObject({ generationId: 2, leaderId: alive.memberId });
    expectExclusiveAndComplete(await syncAll(c, [next]));
    // The removed member is fenced: its heartbeats and commits fail.
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: silent.memberId }), UnknownMemberIdError, 25);
    await expectKafkaError(
      c.commitOffsets({ groupId: 'g', generationId: 1, memberId: silent.memberId, offsets: [{ topic: 'orders', partition: 3, offset: 9 }] }),
      UnknownMemberIdError,
      25,
    );
  });

  it('drops members that do not rejoin within the rebalance timeout, even if they heartbeat', async () => {
    const { c, clock } = setup();
    const { joins, leaderId } = await stableGroup(c, clock, 2);
    const leader = joins.find((j) => j.memberId === leaderId)!;
    const laggard = joins.find((j) => j.memberId !== leaderId)!;
    const rejoin = track(c.joinGroup(joinRequest(leader.memberId))); // a leader's rejoin rebalances
    for (let t = 0; t < 6; t++) {
      clock.advance(REBALANCE_MS / 6 - 1);
      await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: laggard.memberId }), RebalanceInProgressError, 27);
    }
    await flush();
    expect(rejoin.settled).toBe(false);
    clock.advance(6);
    await flush();
    expect(rejoin.value).toMatchObject({ generationId: 2, members: [{ memberId: leader.memberId }] });
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: laggard.memberId }), UnknownMemberIdError, 25);
  });

  it('takes a late joiner in with a new generation once the current members have rejoined', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    const late = track(c.joinGroup(joinRequest('', { clientId: 'late' })));
    await flush();
    expect(late.settled).toBe(false);
    for (const j of joins) {
      await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: j.memberId }), RebalanceInProgressError, 27);
    }
    const rejoined = await Promise.all(joins.map((j) => c.joinGroup(joinRequest(j.memberId))));
    await flush();
    const all = [...rejoined, late.value!];
    expect(all.map((r) => r.generationId)).toEqual([2, 2, 2]);
    const assignment = await syncAll(c, all);
    expectExclusiveAndComplete(assignment);
    expect(assignment.get(late.value!.memberId)).toHaveLength(2);
  });

  it('elects a new leader when the leader leaves; the new leader gets the member list', async () => {
    const { c, clock } = setup();
    const { joins, leaderId } = await stableGroup(c, clock, 3);
    expect(leaderId).toBe(joins[0].memberId);
    c.leaveGroup({ groupId: 'g', members: [{ memberId: leaderId }] });
    const results = await Promise.all([c.joinGroup(joinRequest(joins[2].memberId)), c.joinGroup(joinRequest(joins[1].memberId))]);
    expect(results.map((r) => r.leaderId)).toEqual([joins[1].memberId, joins[1].memberId]);
    expect(results[1].members.map((m) => m.memberId).sort()).toEqual([joins[1].memberId, joins[2].memberId].sort());
    expect(results[0].members).toEqual([]);
    expectExclusiveAndComplete(await syncAll(c, results));
  });

  it('promotes a rejoined member when the leader does not rejoin in time', async () => {
    const { c, clock } = setup();
    const { joins, leaderId } = await stableGroup(c, clock, 2);
    const follower = joins.find((j) => j.memberId !== leaderId)!;
    const changed = { protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['orders', 'more'] }) }] };
    const rejoin = c.joinGroup(joinRequest(follower.memberId, changed)); // new metadata: rebalance
    clock.advance(REBALANCE_MS);
    expect(await rejoin).toMatchObject({ generationId: 2, leaderId: follower.memberId });
  });

  it('removes a member of the new generation that never sends SyncGroup', async () => {
    const { c, clock } = setup();
    const pending = [c.joinGroup(joinRequest('')), c.joinGroup(joinRequest(''))];
    clock.advance(0);
    const [leader, mute] = await Promise.all(pending);
    const assignments = computeGroupAssignment(rangeAssignor, leader.members, PARTITIONS);
    await c.syncGroup({ groupId: 'g', generationId: 1, memberId: leader.memberId, assignments });
    expect(c.describeGroup('g').state).toBe('Stable');
    // The mute member keeps heartbeating but never syncs: after the rebalance timeout it is out.
    for (let step = 0; step < 3; step++) {
      clock.advance(REBALANCE_MS / 4);
      c.heartbeat({ groupId: 'g', generationId: 1, memberId: mute.memberId });
      c.heartbeat({ groupId: 'g', generationId: 1, memberId: leader.memberId });
    }
    expect(c.describeGroup('g').members).toHaveLength(2);
    clock.advance(REBALANCE_MS / 4);
    expect(c.describeGroup('g')).toMatchObject({ state: 'PreparingRebalance', members: [{ memberId: leader.memberId }] });
  });

  it('drops a new member whose JoinGroup stays parked past the new-member join timeout', async () => {
    const { c, clock } = setup({ newMemberJoinTimeoutMs: 500 });
    const { joins } = await stableGroup(c, clock, 1);
    const newcomer = c.joinGroup(joinRequest('', { clientId: 'newcomer' }));
    clock.advance(300);
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: joins[0].memberId }), RebalanceInProgressError, 27);
    clock.advance(200);
    await expectKafkaError(newcomer, UnknownMemberIdError, 25);
    expect(c.describeGroup('g').members.map((m) => m.memberId)).toEqual([joins[0].memberId]);
  });
});

describe('heartbeat and sync errors', () => {
  it('answers heartbeats as Kafka does in each state', async () => {
    const { c, clock } = setup();
    await expectKafkaError(() => c.heartbeat({ groupId: 'nope', generationId: 1, memberId: 'm' }), UnknownMemberIdError, 25);
    const pending = [c.joinGroup(joinRequest('')), c.joinGroup(joinRequest(''))];
    clock.advance(0);
    const [a] = await Promise.all(pending);
    // Between JoinGroup and SyncGroup a heartbeat is fine.
    expect(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId })).not.toThrow();
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 0, memberId: a.memberId }), IllegalGenerationError, 22);
    await expectKafkaError(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'stranger' }), UnknownMemberIdError, 25);
  });

  it('rejects SyncGroup from the wrong generation, during the join phase, or with another protocol', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    const [a, b] = joins;
    await expectKafkaError(c.syncGroup({ groupId: 'g', generationId: 0, memberId: a.memberId }), IllegalGenerationError, 22);
    await expectKafkaError(
      c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, protocolName: 'roundrobin' }),
      InconsistentGroupProtocolError,
      23,
    );
    // Stable: SyncGroup returns the member's current assignment again.
    const again = await c.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId, protocolType: 'consumer', protocolName: 'range' });
    expect(decodeAssignment(again.assignment).assignedPartitions[0].partitions).toHaveLength(3);
    track(c.joinGroup(joinRequest(a.memberId)));
    await expectKafkaError(c.syncGroup({ groupId: 'g', generationId: 1, memberId: b.memberId }), RebalanceInProgressError, 27);
    await expectKafkaError(c.syncGroup({ groupId: 'other', generationId: 1, memberId: b.memberId }), UnknownMemberIdError, 25);
  });

  it('gives members the leader left out an empty assignment and ignores ids that are not members', async () => {
    const { c, clock } = setup();
    const pending = [c.joinGroup(joinRequest('')), c.joinGroup(joinRequest(''))];
    clock.advance(0);
    const [leader, other] = await Promise.all(pending);
    const follower = c.syncGroup({ groupId: 'g', generationId: 1, memberId: other.memberId });
    await c.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: leader.memberId,
      assignments: [{ memberId: 'not-a-member', assignment: Buffer.from([1]) }],
    });
    expect((await follower).assignment.length).toBe(0);
  });

  it('fails parked SyncGroups with REBALANCE_IN_PROGRESS when the group rebalances before the leader syncs', async () => {
    const { c, clock } = setup();
    const pending = [c.joinGroup(joinRequest('')), c.joinGroup(joinRequest(''))];
    clock.advance(0);
    const [leader, follower] = await Promise.all(pending);
    const parked = c.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId });
    c.leaveGroup({ groupId: 'g', members: [{ memberId: leader.memberId }] });
    await expectKafkaError(parked, RebalanceInProgressError, 27);
  });
});

describe('join validation', () => {
  it('rejects what Kafka rejects, with its error codes', async () => {
    const { c, clock } = setup({ maxGroupSize: 2 });
    await expectKafkaError(c.joinGroup(joinRequest('', { sessionTimeoutMs: 99 })), InvalidSessionTimeoutError, 26);
    await expectKafkaError(c.joinGroup(joinRequest('', { groupId: '' })), InvalidGroupIdError, 24);
    await expectKafkaError(c.joinGroup(joinRequest('ghost')), UnknownMemberIdError, 25);
    await expectKafkaError(c.joinGroup(joinRequest('', { protocols: [] })), InconsistentGroupProtocolError, 23);
    await expectKafkaError(
      c.joinGroup(joinRequest('', { protocols: [{ name: 'x', metadata: Buffer.alloc(0) }, { name: 'x', metadata: Buffer.alloc(0) }] })),
      InvalidRequestError,
      42,
    );
    const { joins } = await stableGroup(c, clock, 1);
    await expectKafkaError(
      c.joinGroup(joinRequest('', { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] })),
      InconsistentGroupProtocolError,
      23,
    );
    await expectKafkaError(c.joinGroup(joinRequest('', { protocolType: 'connect' })), InconsistentGroupProtocolError, 23);
    const second = c.joinGroup(joinRequest(''));
    await c.joinGroup(joinRequest(joins[0].memberId));
    expect((await second).generationId).toBe(2);
    await expectKafkaError(c.joinGroup(joinRequest('')), GroupMaxSizeReachedError, 81);
    await expectKafkaError(c.joinGroup(joinRequest('', { requireKnownMemberId: true })), GroupMaxSizeReachedError, 81);
  });
});

describe('static membership', () => {
  const staticJoin = (memberId: string, instance: string, overrides: Partial<JoinGroupRequest> = {}) =>
    joinRequest(memberId, { groupInstanceId: instance, ...overrides });

  it('lets a restarted instance take its place without a rebalance, and fences the old member id', async () => {
    const { c, clock, metadataStore } = setup();
    const pending = [c.joinGroup(staticJoin('', 'host-1')), c.joinGroup(staticJoin('', 'host-2'))];
    clock.advance(0);
    const joins = await Promise.all(pending);
    const before = await syncAll(c, joins);
    const follower = joins.find((j) => j.memberId !== j.leaderId)!;
    const restarted = await c.joinGroup(staticJoin('', 'host-2'));
    expect(restarted.memberId).not.toBe(follower.memberId);
    expect(restarted).toMatchObject({ generationId: 1, skipAssignment: false, members: [] });
    expect(c.describeGroup('g').state).toBe('Stable');
    expect(metadataStore.snapshots.get('g')!.members.map((m) => m.memberId)).toContain(restarted.memberId);
    const sync = await c.syncGroup({ groupId: 'g', generationId: 1, memberId: restarted.memberId, groupInstanceId: 'host-2' });
    expect(decodeAssignment(sync.assignment).assignedPartitions[0].partitions).toEqual(before.get(follower.memberId));
    await expectKafkaError(
      () => c.heartbeat({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: 'host-2' }),
      FencedInstanceIdError,
      82,
    );
  });

  it('tells a returning static leader it leads but must not reassign (JoinGroup v9 skipAssignment)', async () => {
    const { c, clock } = setup();
    const pending = [c.joinGroup(staticJoin('', 'host-1')), c.joinGroup(staticJoin('', 'host-2'))];
    clock.advance(0);
    await syncAll(c, await Promise.all(pending));
    const back = await c.joinGroup(staticJoin('', 'host-1', { supportsSkipAssignment: true }));
    expect(back).toMatchObject({ generationId: 1, leaderId: back.memberId, skipAssignment: true });
    expect(back.members).toHaveLength(2);
    const oldProtocol = await c.joinGroup(staticJoin('', 'host-2'));
    expect(oldProtocol.leaderId).toBe(back.memberId);
  });

  it('keeps a static member that misses a rebalance in the new generation, until it fails to sync', async () => {
    const { c, clock } = setup();
    const sessionTimeoutMs = 3 * REBALANCE_MS; // a restart may take longer than a rebalance
    const pending = ['host-1', 'host-2'].map((instance) => c.joinGroup(staticJoin('', instance, { sessionTimeoutMs })));
    clock.advance(0);
    const joins = await Promise.all(pending);
    await syncAll(c, joins);
    const rejoin = c.joinGroup(staticJoin(joins[0].memberId, 'host-1', { sessionTimeoutMs }));
    clock.advance(REBALANCE_MS);
    const result = await rejoin;
    expect(result.generationId).toBe(2);
    // Still a member, so the leader assigns it its share: a quick restart finds it waiting.
    expect(result.members.map((m) => m.groupInstanceId)).toEqual(['host-1', 'host-2']);
    const assignments = computeGroupAssignment(rangeAssignor, result.members, PARTITIONS);
    await c.syncGroup({ groupId: 'g', generationId: 2, memberId: result.memberId, assignments });
    expect(c.describeGroup('g')).toMatchObject({ state: 'Stable', generationId: 2 });
    // As in Kafka, a member of the generation that never sends SyncGroup goes after the rebalance timeout.
    clock.advance(REBALANCE_MS - 1);
    expect(c.describeGroup('g').members).toHaveLength(2);
    clock.advance(1);
    expect(c.describeGroup('g')).toMatchObject({ state: 'PreparingRebalance', members: [{ groupInstanceId: 'host-1' }] });
  });

  it('removes a static member by instance id alone (admin removal) and reports unknown ones', () => {
    const { c, clock } = setup();
    track(c.joinGroup(staticJoin('', 'host-1')));
    clock.advance(0);
    expect(
      c.leaveGroup({ groupId: 'g', members: [{ memberId: '', groupInstanceId: 'host-1' }, { memberId: '', groupInstanceId: 'host-9' }] }).map((r) => r.error?.kafkaErrorCode ?? 0),
    ).toEqual([0, 25]);
    expect(c.describeGroup('g').members).toEqual([]);
  });
});

describe('offsets', () => {
  it('commits for the current generation and fetches what was committed', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    clock.advance(5);
    const results = await c.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: joins[0].memberId,
      offsets: [
        { topic: 'orders', partition: 0, offset: 42, metadata: 'checkpoint', leaderEpoch: 3 },
        { topic: 'orders', partition: 1, offset: 7 },
      ],
    });
    expect(results).toEqual([
      { topic: 'orders', partition: 0, error: null },
      { topic: 'orders', partition: 1, error: null },
    ]);
    expect(
      await c.fetchOffsets({
        groupId: 'g',
        partitions: [
          { topic: 'orders', partition: 1 },
          { topic: 'orders', partition: 0 },
          { topic: 'orders', partition: 5 },
        ],
      }),
    ).toEqual([
      { topic: 'orders', partition: 1, offset: 7, leaderEpoch: -1, metadata: '' },
      { topic: 'orders', partition: 0, offset: 42, leaderEpoch: 3, metadata: 'checkpoint' },
      { topic: 'orders', partition: 5, offset: -1, leaderEpoch: -1, metadata: '' },
    ]);
    expect((await c.fetchOffsets({ groupId: 'g', partitions: null })).map((o) => o.offset).sort()).toEqual([42, 7]);
    expect(await c.fetchOffsets({ groupId: 'never-seen', partitions: [{ topic: 'orders', partition: 0 }] })).toEqual([
      { topic: 'orders', partition: 0, offset: -1, leaderEpoch: -1, metadata: '' },
    ]);
  });

  it('keeps negative offsets a client commits as its "no position" sentinel, as Kafka does', async () => {
    const { c } = setup();
    await c.commitOffsets({
      groupId: 'solo',
      offsets: [
        { topic: 't', partition: 0, offset: -1 },
        { topic: 't', partition: 1, offset: -2 },
      ],
    });
    expect((await c.fetchOffsets({ groupId: 'solo', partitions: null })).map((o) => [o.partition, o.offset]).sort()).toEqual([
      [0, -1],
      [1, -2],
    ]);
    await expect(
      c.commitOffsets({ groupId: 'solo', offsets: [{ topic: 't', partition: 0, offset: 0.5 }] }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('stores the commit time from the clock', async () => {
    const { c, clock, offsetStore } = setup();
    await c.commitOffsets({ groupId: 'solo', offsets: [{ topic: 't', partition: 0, offset: 1 }] });
    expect(offsetStore.groups.get('solo')!.get('t/0')!.commitTimestampMs).toBe(clock.nowMs());
  });

  it('rejects commits from a stale generation or an unknown member', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    const [a, b] = joins;
    const offsets = [{ topic: 'orders', partition: 0, offset: 1 }];
    c.leaveGroup({ groupId: 'g', members: [{ memberId: b.memberId }] });
    // PreparingRebalance: generation 1 is still current, so its members may still commit.
    await c.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, offsets });
    const rejoined = await c.joinGroup(joinRequest(a.memberId));
    expect(rejoined.generationId).toBe(2);
    // CompletingRebalance: between JoinGroup and SyncGroup commits must wait.
    await expectKafkaError(c.commitOffsets({ groupId: 'g', generationId: 2, memberId: a.memberId, offsets }), RebalanceInProgressError, 27);
    await syncAll(c, [rejoined]);
    await expectKafkaError(c.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, offsets }), IllegalGenerationError, 22);
    await expectKafkaError(c.commitOffsets({ groupId: 'g', generationId: 2, memberId: b.memberId, offsets }), UnknownMemberIdError, 25);
    await expectKafkaError(c.commitOffsets({ groupId: 'g', offsets }), UnknownMemberIdError, 25);
    await c.commitOffsets({ groupId: 'g', generationId: 2, memberId: a.memberId, offsets: [{ topic: 'orders', partition: 0, offset: 9 }] });
    expect((await c.fetchOffsets({ groupId: 'g', partitions: [{ topic: 'orders', partition: 0 }] }))[0].offset).toBe(9);
  });

  it('lets a standalone consumer commit with generation -1 to a group without members', async () => {
    const { c } = setup();
    await c.commitOffsets({ groupId: 'standalone', generationId: -1, memberId: '', offsets: [{ topic: 't', partition: 2, offset: 5 }] });
    expect(c.describeGroup('standalone')).toMatchObject({ state: 'Empty', protocolType: '', members: [] });
    expect(c.listGroups()).toEqual([{ groupId: 'standalone', protocolType: '', state: 'Empty' }]);
    await expectKafkaError(
      c.commitOffsets({ groupId: 'unknown', generationId: 3, memberId: 'm', offsets: [{ topic: 't', partition: 0, offset: 1 }] }),
      IllegalGenerationError,
      22,
    );
  });

  it('refuses only the partitions whose metadata is too long', async () => {
    const { c } = setup({ offsetMetadataMaxChars: 4 });
    const results = await c.commitOffsets({
      groupId: 'solo',
      offsets: [
        { topic: 't', partition: 0, offset: 1, metadata: 'ok' },
        { topic: 't', partition: 1, offset: 1, metadata: 'too long' },
      ],
    });
    expect(results[0].error).toBeNull();
    expect(results[1].error).toBeInstanceOf(OffsetMetadataTooLargeError);
    expect(results[1].error!.kafkaErrorCode).toBe(12);
    expect((await c.fetchOffsets({ groupId: 'solo', partitions: null })).map((o) => o.partition)).toEqual([0]);
  });

  it('reports a store failure as retriable COORDINATOR_NOT_AVAILABLE', async () => {
    const { c, offsetStore } = setup();
    offsetStore.failNext = new Error('disk full');
    const error = await c.commitOffsets({ groupId: 'solo', offsets: [{ topic: 't', partition: 0, offset: 1 }] }).catch((e) => e);
    expect(error).toBeInstanceOf(CoordinatorNotAvailableError);
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/disk full/);
  });

  it('validates commit inputs', async () => {
    const { c } = setup();
    await expectKafkaError(c.commitOffsets({ groupId: 'g', offsets: [{ topic: 't', partition: -1, offset: 0 }] }), InvalidRequestError, 42);
    await expectKafkaError(c.commitOffsets({ groupId: 'g', offsets: [{ topic: 't', partition: 0, offset: 2 ** 60 }] }), InvalidRequestError, 42);
    await expectKafkaError(c.commitOffsets({ groupId: 7 as unknown as string, offsets: [] }), InvalidGroupIdError, 24);
  });
});

describe('describe, list, delete', () => {
  it('describes a stable group with members, metadata and assignments, and hides them mid-rebalance', async () => {
    const { c, clock } = setup();
    const { joins, assignment, leaderId } = await stableGroup(c, clock, 2);
    const description = c.describeGroup('g');
    expect(description).toMatchObject({ groupId: 'g', state: 'Stable', protocolType: 'consumer', protocolName: 'range', generationId: 1, leaderId });
    for (const member of description.members) {
      expect(member.clientId).toMatch(/^client-/);
      expect(member.metadata).toEqual(encodeSubscription({ topics: ['orders'] }));
      expect(decodeAssignment(member.assignment).assignedPartitions[0].partitions).toEqual(assignment.get(member.memberId));
    }
    track(c.joinGroup(joinRequest(joins[0].memberId)));
    const rebalancing = c.describeGroup('g');
    expect(rebalancing).toMatchObject({ state: 'PreparingRebalance', protocolName: '' });
    expect(rebalancing.members.every((m) => m.metadata.length === 0 && m.assignment.length === 0)).toBe(true);
    expect(c.describeGroup('missing')).toEqual({
      groupId: 'missing',
      state: 'Dead',
      protocolType: '',
      protocolName: '',
      generationId: -1,
      leaderId: null,
      members: [],
    });
  });

  it('lists groups, optionally by state', async () => {
    const { c, clock } = setup();
    await stableGroup(c, clock, 1);
    await c.commitOffsets({ groupId: 'offsets-only', offsets: [{ topic: 't', partition: 0, offset: 1 }] });
    expect(c.listGroups().map((g) => [g.groupId, g.state, g.protocolType])).toEqual([
      ['g', 'Stable', 'consumer'],
      ['offsets-only', 'Empty', ''],
    ]);
    expect(c.listGroups(['Empty']).map((g) => g.groupId)).toEqual(['offsets-only']);
    expect(() => c.listGroups(['Bogus' as 'Empty'])).toThrow(InvalidRequestError);
  });

  it('forgets a group that empties without offsets, and one a refused first join created', async () => {
    const { c, clock, metadataStore } = setup();
    const { joins } = await stableGroup(c, clock, 1);
    expect(metadataStore.snapshots.has('g')).toBe(true);
    c.leaveGroup({ groupId: 'g', members: [{ memberId: joins[0].memberId }] });
    await flush();
    expect(c.describeGroup('g').state).toBe('Dead');
    expect(metadataStore.snapshots.has('g')).toBe(false);
    await expectKafkaError(c.joinGroup(joinRequest('', { groupId: 'typo', protocols: [] })), InconsistentGroupProtocolError, 23);
    const half = await c.joinGroup(joinRequest('', { groupId: 'half', requireKnownMemberId: true })).catch((e) => e);
    expect(c.listGroups().map((g) => g.groupId)).toEqual(['half']);
    c.leaveGroup({ groupId: 'half', members: [{ memberId: (half as MemberIdRequiredError).memberId }] });
    expect(c.listGroups()).toEqual([]);
  });

  it('deletes only empty groups, with their offsets', async () => {
    const { c, clock, metadataStore } = setup();
    const { joins } = await stableGroup(c, clock, 1);
    await c.commitOffsets({ groupId: 'g', generationId: 1, memberId: joins[0].memberId, offsets: [{ topic: 'orders', partition: 0, offset: 3 }] });
    let results = await c.deleteGroups(['g', 'nope']);
    expect(results[0].error).toBeInstanceOf(NonEmptyGroupError);
    expect(results[1].error).toBeInstanceOf(GroupIdNotFoundError);
    expect(results.map((r) => r.error!.kafkaErrorCode)).toEqual([68, 69]);
    c.leaveGroup({ groupId: 'g', members: [{ memberId: joins[0].memberId }] });
    expect(c.describeGroup('g')).toMatchObject({ state: 'Empty', generationId: 2 });
    results = await c.deleteGroups(['g']);
    expect(results).toEqual([{ groupId: 'g', error: null }]);
    expect(c.listGroups()).toEqual([]);
    expect(metadataStore.snapshots.has('g')).toBe(false);
    expect((await c.fetchOffsets({ groupId: 'g', partitions: [{ topic: 'orders', partition: 0 }] }))[0].offset).toBe(-1);
  });

  it('deletes offsets of some partitions (OffsetDelete), refusing topics a live consumer group subscribes to', async () => {
    const { c, clock, offsetStore } = setup();
    const { joins, generationId } = await stableGroup(c, clock, 1);
    const memberId = joins[0].memberId;
    const offsets = [
      { topic: 'orders', partition: 0, offset: 3 },
      { topic: 'orders', partition: 1, offset: 4 },
      { topic: 'archive', partition: 0, offset: 5 },
      { topic: 'archive', partition: 1, offset: 6 },
    ];
    await c.commitOffsets({ groupId: 'g', generationId, memberId, offsets });
    // Stable, subscribed to orders only: archive's offsets go, orders' stay.
    const results = await c.deletePartitionOffsets({
      groupId: 'g',
      partitions: [
        { topic: 'orders', partition: 0 },
        { topic: 'archive', partition: 0 },
        { topic: 'archive', partition: 7 },
      ],
    });
    expect(results.map((r) => [r.topic, r.partition, r.error?.kafkaErrorCode ?? 0])).toEqual([
      ['orders', 0, 86],
      ['archive', 0, 0],
      ['archive', 7, 0],
    ]);
    expect([...offsetStore.groups.get('g')!.keys()].sort()).toEqual(['archive/1', 'orders/0', 'orders/1']);

    // Empty: everything asked for goes.
    c.leaveGroup({ groupId: 'g', members: [{ memberId }] });
    const emptied = await c.deletePartitionOffsets({ groupId: 'g', partitions: [{ topic: 'orders', partition: 0 }] });
    expect(emptied).toEqual([{ topic: 'orders', partition: 0, error: null }]);
    expect([...offsetStore.groups.get('g')!.keys()].sort()).toEqual(['archive/1', 'orders/1']);

    await expectKafkaError(c.deletePartitionOffsets({ groupId: 'nope', partitions: [] }), GroupIdNotFoundError, 69);
    await expect(c.deletePartitionOffsets({ groupId: 'g', partitions: [{ topic: '', partition: 0 }] })).rejects.toThrow(InvalidRequestError);
  });

  it('refuses OffsetDelete for a non-consumer group with members, and treats unreadable subscriptions as subscribed to everything', async () => {
    const { c, clock } = setup();
    const connect = c.joinGroup(joinRequest('', { protocolType: 'connect', protocols: [{ name: 'default', metadata: Buffer.from([1]) }] }));
    clock.advance(0);
    await connect;
    await expectKafkaError(c.deletePartitionOffsets({ groupId: 'g', partitions: [{ topic: 'orders', partition: 0 }] }), NonEmptyGroupError, 68);

    const garbled = c.joinGroup(joinRequest('', { groupId: 'h', protocols: [{ name: 'range', metadata: Buffer.from([0xff]) }] }));
    clock.advance(0);
    await garbled;
    const results = await c.deletePartitionOffsets({ groupId: 'h', partitions: [{ topic: 'anything', partition: 0 }] });
    expect(results[0].error?.kafkaErrorCode).toBe(86);
  });
});

describe('persistence', () => {
  it('stores the group when the assignment is handed out, and resumes it in a new coordinator', async () => {
    const first = setup();
    const { joins, assignment } = await stableGroup(first.c, first.clock, 2);
    const snapshot = first.metadataStore.snapshots.get('g')!;
    expect(snapshot).toMatchObject({ groupId: 'g', protocolType: 'consumer', protocolName: 'range', generationId: 1, leaderId: joins[0].memberId });
    expect(snapshot.members.map((m) => decodeAssignment(m.assignment).assignedPartitions[0].partitions)).toEqual(
      joins.map((j) => assignment.get(j.memberId)),
    );
    first.c.close();

    const clock = new ManualClock();
    const restarted = new GroupCoordinator({
      offsetStore: first.offsetStore,
      metadataStore: first.metadataStore,
      clock,
      minSessionTimeoutMs: 100,
      restoredGroups: [...first.metadataStore.snapshots.values()],
    });
    coordinator = restarted;
    expect(restarted.describeGroup('g')).toMatchObject({ state: 'Stable', generationId: 1 });
    // Members carry on with their generation; one that does not come back is expired.
    clock.advance(SESSION_MS / 2);
    restarted.heartbeat({ groupId: 'g', generationId: 1, memberId: joins[0].memberId });
    const sync = await restarted.syncGroup({ groupId: 'g', generationId: 1, memberId: joins[0].memberId });
    expect(decodeAssignment(sync.assignment).assignedPartitions[0].partitions).toEqual(assignment.get(joins[0].memberId));
    clock.advance(SESSION_MS / 2);
    expect(restarted.describeGroup('g')).toMatchObject({ state: 'PreparingRebalance', members: [{ memberId: joins[0].memberId }] });
  });

  it("drops a restored group's dynamic in-process members at once and keeps remote and static ones for their sessions", async () => {
    const first = setup();
    const remote = first.c.joinGroup(joinRequest('', { clientHost: '/127.0.0.1' }));
    const embedded = first.c.joinGroup(joinRequest('', { clientHost: IN_PROCESS_CLIENT_HOST }));
    const staticEmbedded = first.c.joinGroup(
      joinRequest('', { clientHost: IN_PROCESS_CLIENT_HOST, groupInstanceId: 'worker-1' }),
    );
    first.clock.advance(0);
    const joins = await Promise.all([remote, embedded, staticEmbedded]);
    const leader = joins.find((j) => j.leaderId === j.memberId)!;
    const assignments = computeGroupAssignment(rangeAssignor, leader.members, PARTITIONS);
    await Promise.all(
      joins.map((j) => first.c.syncGroup({ groupId: 'g', generationId: 1, memberId: j.memberId, assignments: j === leader ? assignments : [] })),
    );
    first.c.close();

    const restarted = new GroupCoordinator({
      offsetStore: first.offsetStore,
      metadataStore: first.metadataStore,
      clock: new ManualClock(),
      minSessionTimeoutMs: 100,
      restoredGroups: [...first.metadataStore.snapshots.values()],
    });
    coordinator = restarted;
    // The dynamic in-process member can never return: the group rebalances without it now,
    // while the remote member (reconnecting) and the static one (by instance id) may come back.
    const described = restarted.describeGroup('g');
    expect(described.state).toBe('PreparingRebalance');
    expect(described.members.map((m) => m.memberId).sort()).toEqual([joins[0].memberId, joins[2].memberId].sort());
  });

  it('restores a group whose only members were dynamic in-process ones as Empty, its next generation stored', async () => {
    const first = setup();
    await stableGroup(first.c, first.clock, 2, { clientHost: IN_PROCESS_CLIENT_HOST });
    first.c.close();
    const restarted = new GroupCoordinator({
      offsetStore: first.offsetStore,
      metadataStore: first.metadataStore,
      clock: new ManualClock(),
      minSessionTimeoutMs: 100,
      restoredGroups: [...first.metadataStore.snapshots.values()],
    });
    coordinator = restarted;
    expect(restarted.describeGroup('g')).toMatchObject({ state: 'Empty', generationId: 2, members: [] });
    await flush();
    expect(first.metadataStore.snapshots.get('g')).toMatchObject({ generationId: 2, members: [] });
  });

  it('fails every parked SyncGroup with a retriable error when the group cannot be stored, then rebalances', async () => {
    const { c, clock, metadataStore } = setup();
    const pending = [c.joinGroup(joinRequest('')), c.joinGroup(joinRequest(''))];
    clock.advance(0);
    const [leader, follower] = await Promise.all(pending);
    metadataStore.failWith = new Error('log append failed');
    const parked = c.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId });
    const own = c.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: leader.memberId,
      assignments: computeGroupAssignment(rangeAssignor, leader.members, PARTITIONS),
    });
    await expectKafkaError(parked, CoordinatorNotAvailableError, 15);
    await expectKafkaError(own, CoordinatorNotAvailableError, 15);
    expect(c.describeGroup('g').state).toBe('PreparingRebalance');
  });

  it('ignores a store write that completes after the group moved on', async () => {
    const { c, clock, metadataStore } = setup();
    const pending = [c.joinGroup(joinRequest('')), c.joinGroup(joinRequest(''))];
    clock.advance(0);
    const [leader, follower] = await Promise.all(pending);
    metadataStore.hold = true;
    const own = c.syncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: leader.memberId,
      assignments: computeGroupAssignment(rangeAssignor, leader.members, PARTITIONS),
    });
    // While the write is in flight the follower leaves: the group rebalances instead.
    c.leaveGroup({ groupId: 'g', members: [{ memberId: follower.memberId }] });
    await expectKafkaError(own, RebalanceInProgressError, 27);
    metadataStore.release();
    await flush();
    expect(c.describeGroup('g').state).toBe('PreparingRebalance');
  });
});

describe('lifecycle', () => {
  it('keeps at most one timer per member however often it heartbeats, and still expires it on time', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 3);
    for (let i = 0; i < 250; i++) {
      clock.advance(10);
      for (const j of joins) c.heartbeat({ groupId: 'g', generationId: 1, memberId: j.memberId });
      expect(clock.pendingTimers).toBeLessThanOrEqual(joins.length);
    }
    expect(c.describeGroup('g').members).toHaveLength(3);
    // One member stops: it goes exactly one session after its last heartbeat.
    for (let i = 0; i < 99; i++) {
      clock.advance(10);
      for (const j of joins.slice(1)) c.heartbeat({ groupId: 'g', generationId: 1, memberId: j.memberId });
    }
    clock.advance(SESSION_MS - 990 - 1);
    expect(c.describeGroup('g').members).toHaveLength(3);
    clock.advance(1);
    expect(c.describeGroup('g').members.map((m) => m.memberId)).toEqual(joins.slice(1).map((j) => j.memberId));
  });

  it('close() fails parked calls, clears every timer, and refuses further calls', async () => {
    const { c, clock } = setup();
    const { joins } = await stableGroup(c, clock, 2);
    const parked = c.joinGroup(joinRequest(joins[0].memberId));
    c.joinGroup(joinRequest('', { groupId: 'other', requireKnownMemberId: true })).catch(() => undefined);
    expect(clock.pendingTimers).toBeGreaterThan(0);
    c.close();
    await expectKafkaError(parked, CoordinatorNotAvailableError, 15);
    expect(clock.pendingTimers).toBe(0);
    expect(() => c.heartbeat({ groupId: 'g', generationId: 1, memberId: joins[1].memberId })).toThrow(ClosedError);
    await expect(c.joinGroup(joinRequest(''))).rejects.toThrow(ClosedError);
    c.close();
  });

  it('runs on real timers with the system clock', async () => {
    const offsetStore = new MemoryOffsetStore();
    const real = new GroupCoordinator({ offsetStore, minSessionTimeoutMs: 1, initialRebalanceDelayMs: 5 });
    coordinator = real;
    // Resolves only when the real initial-delay timer fires.
    const joined = await real.joinGroup(joinRequest('', { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 50 }));
    expect(joined).toMatchObject({ generationId: 1, leaderId: joined.memberId });
  });

  it('validates its options', () => {
    const offsetStore = new MemoryOffsetStore();
    expect(() => new GroupCoordinator({ offsetStore, minSessionTimeoutMs: 10, maxSessionTimeoutMs: 5 })).toThrow(/exceeds/);
    expect(() => new GroupCoordinator({ offsetStore, maxGroupSize: 0 })).toThrow(/maxGroupSize/);
    expect(() => new GroupCoordinator({} as GroupCoordinatorOptions)).toThrow(/offsetStore/);
  });
});
