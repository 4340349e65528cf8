/**
 * The coordinator of KIP-848 consumer groups (`group.protocol=consumer`), beside the classic one
 * (group-coordinator.ts), after Kafka 3.9's GroupMetadataManager#consumerGroupHeartbeat:
 *
 * - One API, ConsumerGroupHeartbeat. A member joins with epoch 0 (the coordinator generates its
 *   member id when it sends none, as Kafka 3.9 does), heartbeats every heartbeatIntervalMs with its
 *   epoch and the partitions it owns, and leaves with epoch -1 (a static member with -2: it keeps
 *   its place and partitions until its session ends, and comes back with the same instance id).
 * - Group epoch: bumped when the members or their subscriptions change or a subscribed topic
 *   appears or grows. The target assignment is then recomputed at once by the server assignor
 *   (server-assignors.ts) and takes the group epoch as its epoch.
 * - Each member then moves to the target on its own heartbeats (current-assignment.ts): it gives
 *   up partitions first and gets the next epoch only when its heartbeat no longer owns them, and a
 *   partition another member still holds is given only once that member released it.
 * - Liveness: a member whose heartbeats stop for sessionTimeoutMs is removed; a member that does
 *   not revoke within its rebalance timeout is removed too. Either bumps the group epoch.
 * - Epochs fence zombies: a heartbeat with an epoch the coordinator does not expect gets
 *   FENCED_MEMBER_EPOCH (except the previous epoch with a subset of the current partitions: its
 *   last response was lost), an offset commit or fetch with another epoch STALE_MEMBER_EPOCH.
 * - Group ids are shared with the classic protocol: a consumer group takes over an empty classic
 *   group's id and the reverse; a group with members of the other protocol is refused
 *   (GROUP_ID_NOT_FOUND here, INCONSISTENT_GROUP_PROTOCOL for JoinGroup), as Kafka 3.9 with its
 *   default group.consumer.migration.policy=disabled. Online upgrade/downgrade is not served.
 * - Persistence: every change of a group is written to __consumer_offsets as a snapshot of the
 *   group (store.ts) before the heartbeat is answered; a restarted coordinator restores the groups
 *   and gives every member a fresh session, as Kafka does when it loads a group.
 *
 * Committed offsets go through the shared OffsetManager once this coordinator has checked the
 * member and its epoch. Heartbeats of one group are applied one at a time in memory (single
 * thread, no await between reading and changing the state); only the write is awaited. A failed
 * write answers COORDINATOR_NOT_AVAILABLE (the client retries) and the state in memory stands:
 * the group's next change writes a whole snapshot again.
 *
 * Not served: regex subscriptions (SubscribedTopicRegex, refused with INVALID_REQUEST), online
 * upgrade/downgrade between the protocols, classic members (JoinGroup) inside a consumer group,
 * and rack-aware assignment.
 *
 * Around it: types.ts (requests, results, snapshots), store.ts (the group records),
 * server-assignors.ts (the target assignment), current-assignment.ts (each member's way to it).
 * Over 800 lines because a heartbeat is one synchronous step of one group: fencing, joining,
 * leaving, the epoch bump, the target assignment, reconciliation and the session and rebalance
 * timers read and change the same group state before the one awaited write, as in Kafka's
 * GroupMetadataManager#consumerGroupHeartbeat; split further, that step would be spread over files.
 */
import { randomUUID } from 'node:crypto';
import {
  ClosedError,
  FencedInstanceIdError,
  FencedMemberEpochError,
  GroupApiVersionError,
  GroupIdNotFoundError,
  GroupMaxSizeReachedError,
  GroupSubscribedToTopicError,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  InvalidConfigError,
  InvalidRequestError,
  NonEmptyGroupError,
  StaleMemberEpochError,
  UnknownMemberIdError,
  UnreleasedInstanceIdError,
  UnsupportedAssignorError,
} from '../../errors.js';
import { systemClock, type CoordinatorClock, type TimerHandle } from '../coordinator-clock.js';
import type { ConsumerProtocolGroups } from '../group-coordinator.js';
import type {
  FetchedOffset,
  OffsetCommitPartitionResult,
  OffsetCommitRequest,
  OffsetDeletePartitionResult,
  TopicPartitionRef,
} from '../group-types.js';
import { requireCommitOffsets, storeError, timeoutOption } from '../group-validation.js';
import type { OffsetManager } from '../offset-manager.js';
import { reconcileMember, type OwnedPartitions } from './current-assignment.js';
import { DEFAULT_SERVER_ASSIGNOR, SERVER_ASSIGNORS, type TopicsByName } from './server-assignors.js';
import {
  assignmentsEqual,
  fromStoredAssignment,
  toStoredAssignment,
  type Assignment,
  type ConsumerGroupMember,
  type ConsumerGroupSnapshot,
  type ConsumerGroupState,
  type ConsumerGroupStore,
  type SubscribedTopic,
} from './types.js';

/** Kafka's group.consumer.session.timeout.ms default. */
export const DEFAULT_CONSUMER_SESSION_TIMEOUT_MS = 45_000;
/** Kafka's group.consumer.heartbeat.interval.ms default. */
export const DEFAULT_CONSUMER_HEARTBEAT_INTERVAL_MS = 5_000;
/** Kafka has no limit by default; a bound keeps a runaway client from growing a group without end. */
export const DEFAULT_CONSUMER_GROUP_MAX_SIZE = 1_000;
/** Epoch of a member leaving the group for good. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Epoch of a static member leaving for now: it keeps its partitions until its session ends. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;
/** The protocol type consumer groups report in ListGroups, as Kafka's ConsumerGroup does. */
export const CONSUMER_GROUP_PROTOCOL_TYPE = 'consumer';

/** A topic the coordinator can assign: the broker's topics. */
export interface AssignableTopic {
  name: string;
  topicId: string;
  partitionCount: number;
}

/** What a consumer group asks of the classic coordinator, which shares the group id space. */
export interface ClassicGroups {
  /** True when no classic group holds the id or the empty one that did was dropped. */
  releaseForConsumerProtocol(groupId: string): boolean;
}

export interface ConsumerGroupCoordinatorOptions {
  offsets: OffsetManager;
  /** Without one, consumer groups live in memory only. */
  store?: ConsumerGroupStore;
  classicGroups: ClassicGroups;
  /** The topics that exist now, read on each heartbeat that may change the assignment. */
  topics: () => readonly AssignableTopic[];
  clock?: CoordinatorClock;
  /** Kafka's group.consumer.session.timeout.ms. */
  sessionTimeoutMs?: number;
  /** Kafka's group.consumer.heartbeat.interval.ms. */
  heartbeatIntervalMs?: number;
  /** Kafka's group.consumer.max.size. */
  maxGroupSize?: number;
  restoredGroups?: readonly ConsumerGroupSnapshot[];
}

export interface ConsumerGroupHeartbeatInput {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1: unchanged. */
  rebalanceTimeoutMs: number;
  /** null: unchanged. */
  subscribedTopicNames: readonly string[] | null;
  /** ConsumerGroupHeartbeat v1's regex subscription: refused (INVALID_REQUEST) unless null or empty. */
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  /** null: not sent (the member owns what it owned). */
  topicPartitions: OwnedPartitions;
  clientId: string;
  clientHost: string;
}

export interface ConsumerGroupHeartbeatResult {
  memberId: string;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** The member's partitions, when they changed or the request was a full one; else null. */
  assignment: Assignment | null;
}

export interface ConsumerGroupMemberDescription {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  assignment: Assignment;
  targetAssignment: Assignment;
}

export interface ConsumerGroupDescription {
  groupId: string;
  state: ConsumerGroupState;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: ConsumerGroupMemberDescription[];
}

interface ConsumerGroup {
  groupId: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: Map<string, ConsumerGroupMember>;
  targetAssignment: Map<string, Assignment>;
  subscriptionMetadata: Map<string, SubscribedTopic>;
}

interface MemberTimers {
  session: TimerHandle | null;
  rebalance: TimerHandle | null;
}

export class ConsumerGroupCoordinator implements ConsumerProtocolGroups {
  private readonly groups = new Map<string, ConsumerGroup>();
  /** groupId -> memberId -> timers. */
  private readonly timers = new Map<string, Map<string, MemberTimers>>();
  private readonly offsets: OffsetManager;
  private readonly store: ConsumerGroupStore | null;
  private readonly classicGroups: ClassicGroups;
  private readonly topics: () => readonly AssignableTopic[];
  private readonly clock: CoordinatorClock;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  private readonly maxGroupSize: number;
  private closed = false;

  constructor(options: ConsumerGroupCoordinatorOptions) {
    this.offsets = options.offsets;
    this.store = options.store ?? null;
    this.classicGroups = options.classicGroups;
    this.topics = options.topics;
    this.clock = options.clock ?? systemClock;
    this.sessionTimeoutMs = timeoutOption(options.sessionTimeoutMs, DEFAULT_CONSUMER_SESSION_TIMEOUT_MS, 'consumer group sessionTimeoutMs', 1);
    this.heartbeatIntervalMs = timeoutOption(options.heartbeatIntervalMs, DEFAULT_CONSUMER_HEARTBEAT_INTERVAL_MS, 'consumer group heartbeatIntervalMs', 1);
    this.maxGroupSize = timeoutOption(options.maxGroupSize, DEFAULT_CONSUMER_GROUP_MAX_SIZE, 'consumer group maxGroupSize', 1);
    // As Kafka's GroupCoordinatorConfig requires: a member must get to heartbeat within its session.
    if (this.heartbeatIntervalMs >= this.sessionTimeoutMs) {
      throw new InvalidConfigError(
        `consumer group heartbeatIntervalMs (${this.heartbeatIntervalMs}) must be less than sessionTimeoutMs (${this.sessionTimeoutMs})`,
      );
    }
    for (const snapshot of options.restoredGroups ?? []) this.restore(snapshot);
  }

  // ---- ConsumerGroupHeartbeat ----

  async heartbeat(request: ConsumerGroupHeartbeatInput): Promise<ConsumerGroupHeartbeatResult> {
    this.checkOpen();
    validateHeartbeat(request);
    if (request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return this.leave(request);
    }
    const joining = request.memberEpoch === 0;
    const group = this.groupFor(request.groupId, joining);
    if (group.members.size >= this.maxGroupSize && (request.memberId === '' || !group.members.has(request.memberId))) {
      throw new GroupMaxSizeReachedError(request.groupId, this.maxGroupSize);
    }
    const memberId = request.memberId === '' ? randomUUID() : request.memberId;
    const member =
      request.instanceId === null
        ? this.dynamicMember(group, memberId, request, joining)
        : this.staticMember(group, memberId, request.instanceId, request, joining);

    const updated: ConsumerGroupMember = {
      ...member,
      instanceId: request.instanceId ?? member.instanceId,
      rackId: request.rackId ?? member.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs !== -1 ? request.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      serverAssignor: request.serverAssignor ?? member.serverAssignor,
      subscribedTopicNames: request.subscribedTopicNames !== null ? [...request.subscribedTopicNames] : member.subscribedTopicNames,
      clientId: request.clientId,
      clientHost: request.clientHost,
    };
    let changed = !group.members.has(memberId) || !sameMemberFields(member, updated);
    let bumpGroupEpoch = !sameTopics(member.subscribedTopicNames, updated.subscribedTopicNames);
    group.members.set(memberId, updated);

    // A topic that appeared, grew or went away changes what there is to assign.
    const subscriptionMetadata = this.subscriptionMetadata(group);
    if (!sameSubscriptionMetadata(subscriptionMetadata, group.subscriptionMetadata)) {
      group.subscriptionMetadata = subscriptionMetadata;
      bumpGroupEpoch = true;
    }
    if (bumpGroupEpoch) {
      group.groupEpoch += 1;
      changed = true;
    }
    if (group.groupEpoch > group.assignmentEpoch) {
      this.computeTargetAssignment(group);
      changed = true;
    }

    let current = updated;
    if (!(current.memberEpoch === group.assignmentEpoch && current.state === 'STABLE')) {
      const reconciled = reconcileMember(
        current,
        group.assignmentEpoch,
        group.targetAssignment.get(memberId) ?? new Map(),
        request.topicPartitions,
        (topicId, partition) => heldByOther(group, memberId, topicId, partition),
      );
      if (reconciled !== current) {
        changed = true;
        current = reconciled;
        group.members.set(memberId, current);
        if (current.state === 'UNREVOKED_PARTITIONS') this.scheduleRebalanceTimeout(group.groupId, memberId, current.memberEpoch, current.rebalanceTimeoutMs);
        else this.cancelRebalanceTimeout(group.groupId, memberId);
      }
    }
    this.scheduleSessionTimeout(group.groupId, memberId);
    if (changed) await this.persist(group);

    const fullRequest =
      joining || (request.rebalanceTimeoutMs !== -1 && request.subscribedTopicNames !== null && request.topicPartitions !== null);
    return {
      memberId,
      memberEpoch: current.memberEpoch,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      assignment: fullRequest || !assignmentsEqual(member.assigned, current.assigned) ? copyAssignment(current.assigned) : null,
    };
  }

  private groupFor(groupId: string, createIfMissing: boolean): ConsumerGroup {
    const existing = this.groups.get(groupId);
    if (existing !== undefined) return existing;
    if (!createIfMissing) throw new GroupIdNotFoundError(groupId, 'is not a consumer group the coordinator knows; join with member epoch 0');
    if (!this.classicGroups.releaseForConsumerProtocol(groupId)) {
      throw new GroupIdNotFoundError(
        groupId,
        'is a classic group with members, not a consumer group; stop its classic consumers first (upgrading a group online is not supported)',
      );
    }
    const group: ConsumerGroup = {
      groupId,
      groupEpoch: 0,
      assignmentEpoch: 0,
      members: new Map(),
      targetAssignment: new Map(),
      subscriptionMetadata: new Map(),
    };
    this.groups.set(groupId, group);
    return group;
  }

  private dynamicMember(group: ConsumerGroup, memberId: string, request: ConsumerGroupHeartbeatInput, joining: boolean): ConsumerGroupMember {
    const existing = group.members.get(memberId);
    if (existing === undefined) {
      if (!joining) throw new UnknownMemberIdError(group.groupId, memberId);
      return newMember(memberId);
    }
    checkMemberEpoch(group.groupId, existing, request.memberEpoch, request.topicPartitions);
    return existing;
  }

  private staticMember(
    group: ConsumerGroup,
    memberId: string,
    instanceId: string,
    request: ConsumerGroupHeartbeatInput,
    joining: boolean,
  ): ConsumerGroupMember {
    const existing = staticMemberOf(group, instanceId);
    if (joining) {
      if (existing === undefined) return group.members.get(memberId) ?? newMember(memberId);
      // Another member takes the instance id only once the previous one left with epoch -2.
      if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) throw new UnreleasedInstanceIdError(group.groupId, instanceId, existing.memberId);
      // The new member inherits the old one's place: its partitions and its target assignment.
      group.members.delete(existing.memberId);
      const target = group.targetAssignment.get(existing.memberId);
      group.targetAssignment.delete(existing.memberId);
      if (target !== undefined) group.targetAssignment.set(memberId, target);
      this.cancelTimers(group.groupId, existing.memberId);
      return { ...existing, memberId, memberEpoch: 0, previousMemberEpoch: 0 };
    }
    if (existing === undefined) throw new UnknownMemberIdError(group.groupId, memberId, `has no static member with instance id "${instanceId}"`);
    if (existing.memberId !== memberId) throw new FencedInstanceIdError(group.groupId, instanceId, memberId);
    checkMemberEpoch(group.groupId, existing, request.memberEpoch, request.topicPartitions);
    return existing;
  }

  private async leave(request: ConsumerGroupHeartbeatInput): Promise<ConsumerGroupHeartbeatResult> {
    const group = this.groups.get(request.groupId);
    if (group === undefined) throw new GroupIdNotFoundError(request.groupId, 'is not a consumer group the coordinator knows');
    const result = { memberId: request.memberId, memberEpoch: request.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    if (request.instanceId === null) {
      const member = group.members.get(request.memberId);
      if (member === undefined) throw new UnknownMemberIdError(group.groupId, request.memberId);
      this.removeMember(group, member.memberId);
    } else {
      const member = staticMemberOf(group, request.instanceId);
      if (member === undefined) throw new UnknownMemberIdError(group.groupId, request.memberId, `has no static member with instance id "${request.instanceId}"`);
      if (member.memberId !== request.memberId) throw new FencedInstanceIdError(group.groupId, request.instanceId, request.memberId);
      if (request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        // It keeps its partitions, so no one else gets them before its session ends or it returns.
        group.members.set(member.memberId, { ...member, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, pendingRevocation: new Map() });
        this.cancelRebalanceTimeout(group.groupId, member.memberId);
      } else {
        this.removeMember(group, member.memberId);
      }
    }
    await this.persist(group);
    return result;
  }

  /** Kafka's consumerGroupFenceMember: the member goes, and the group epoch moves on. */
  private removeMember(group: ConsumerGroup, memberId: string): void {
    group.members.delete(memberId);
    group.targetAssignment.delete(memberId);
    group.subscriptionMetadata = this.subscriptionMetadata(group);
    group.groupEpoch += 1;
    this.cancelTimers(group.groupId, memberId);
  }

  /** The target assignment for the group epoch, from the assignor most members prefer. */
  private computeTargetAssignment(group: ConsumerGroup): void {
    const topics: TopicsByName = new Map(
      [...group.subscriptionMetadata].map(([name, topic]) => [name, { topicId: topic.topicId, partitionCount: topic.partitionCount }]),
    );
    const assignor = SERVER_ASSIGNORS.find((candidate) => candidate.name === preferredAssignor(group))!;
    // A static member that left (-2) keeps its target, so that coming back it finds its partitions.
    const members = [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      subscribedTopicNames: member.subscribedTopicNames,
      previous: group.targetAssignment.get(member.memberId) ?? new Map(),
    }));
    group.targetAssignment = assignor.assign(members, topics);
    group.assignmentEpoch = group.groupEpoch;
  }

  private subscriptionMetadata(group: ConsumerGroup): Map<string, SubscribedTopic> {
    const subscribed = new Set<string>();
    for (const member of group.members.values()) for (const name of member.subscribedTopicNames) subscribed.add(name);
    const metadata = new Map<string, SubscribedTopic>();
    for (const topic of this.topics()) {
      if (subscribed.has(topic.name)) metadata.set(topic.name, { topicId: topic.topicId, partitionCount: topic.partitionCount });
    }
    return metadata;
  }

  // ---- Timers ----

  private memberTimers(groupId: string, memberId: string): MemberTimers {
    let byMember = this.timers.get(groupId);
    if (byMember === undefined) this.timers.set(groupId, (byMember = new Map()));
    let timers = byMember.get(memberId);
    if (timers === undefined) byMember.set(memberId, (timers = { session: null, rebalance: null }));
    return timers;
  }

  private scheduleSessionTimeout(groupId: string, memberId: string): void {
    const timers = this.memberTimers(groupId, memberId);
    if (timers.session !== null) this.clock.clearTimeout(timers.session);
    timers.session = this.clock.setTimeout(() => {
      timers.session = null;
      this.fenceFromTimer(groupId, memberId, null);
    }, this.sessionTimeoutMs);
  }

  private scheduleRebalanceTimeout(groupId: string, memberId: string, memberEpoch: number, rebalanceTimeoutMs: number): void {
    const timers = this.memberTimers(groupId, memberId);
    if (timers.rebalance !== null) this.clock.clearTimeout(timers.rebalance);
    timers.rebalance = this.clock.setTimeout(() => {
      timers.rebalance = null;
      this.fenceFromTimer(groupId, memberId, memberEpoch);
    }, rebalanceTimeoutMs);
  }

  private cancelRebalanceTimeout(groupId: string, memberId: string): void {
    const timers = this.timers.get(groupId)?.get(memberId);
    if (timers?.rebalance != null) {
      this.clock.clearTimeout(timers.rebalance);
      timers.rebalance = null;
    }
  }

  private cancelTimers(groupId: string, memberId: string): void {
    const byMember = this.timers.get(groupId);
    const timers = byMember?.get(memberId);
    if (timers === undefined) return;
    if (timers.session !== null) this.clock.clearTimeout(timers.session);
    if (timers.rebalance !== null) this.clock.clearTimeout(timers.rebalance);
    byMember!.delete(memberId);
    if (byMember!.size === 0) this.timers.delete(groupId);
  }

  /** Session expiry (any epoch) or a rebalance timeout (only if the member is still at `epoch`). */
  private fenceFromTimer(groupId: string, memberId: string, epoch: number | null): void {
    if (this.closed) return;
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined || (epoch !== null && member.memberEpoch !== epoch)) return;
    this.removeMember(group, memberId);
    // Nobody waits on this write; a failed one leaves the previous snapshot, and the next change rewrites it.
    this.persist(group).catch(() => undefined);
  }

  // ---- Offsets ----

  /** Whether a consumer group (of any state) holds this id. */
  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  /**
   * Kafka's ConsumerGroup#validateOffsetCommit, then the commit. A commit without a member epoch
   * (-1: an admin client or a consumer without group management) is accepted only while the group
   * is empty.
   */
  async commitOffsets(request: {
    groupId: string;
    memberId: string;
    memberEpoch: number;
    apiVersion: number;
    offsets: OffsetCommitRequest['offsets'];
  }): Promise<OffsetCommitPartitionResult[]> {
    this.checkOpen();
    const offsets = requireCommitOffsets(request.offsets);
    const group = this.groups.get(request.groupId);
    if (group === undefined) throw new GroupIdNotFoundError(request.groupId);
    if (!(request.memberEpoch < 0 && group.members.size === 0)) {
      const member = group.members.get(request.memberId);
      if (member === undefined) throw new UnknownMemberIdError(group.groupId, request.memberId);
      if (request.apiVersion < 9) {
        throw new GroupApiVersionError(
          `group "${group.groupId}" uses the consumer protocol: its members commit offsets with OffsetCommit version 9 or above`,
        );
      }
      if (request.memberEpoch !== member.memberEpoch) throw new StaleMemberEpochError(group.groupId, member.memberId, request.memberEpoch, member.memberEpoch);
    }
    const prepared = this.offsets.prepareCommit(offsets);
    if (prepared.accepted.length > 0) await this.offsets.commit(group.groupId, prepared.accepted);
    return prepared.results;
  }

  /**
   * TxnOffsetCommit's check for a consumer group (Kafka's validateTransactionalOffsetCommit): the
   * member must exist unless the group is empty and no epoch is given; a stale epoch is
   * ILLEGAL_GENERATION here, as Kafka maps it for transactional commits.
   */
  validateTransactionalCommit(request: { groupId: string; memberId?: string; generationId?: number }): void {
    this.checkOpen();
    const group = this.groups.get(request.groupId);
    if (group === undefined) throw new GroupIdNotFoundError(request.groupId);
    const memberEpoch = request.generationId ?? -1;
    if (memberEpoch < 0 && group.members.size === 0) return;
    const member = group.members.get(request.memberId ?? '');
    if (member === undefined) throw new UnknownMemberIdError(group.groupId, request.memberId ?? '');
    if (memberEpoch !== member.memberEpoch) throw new IllegalGenerationError(group.groupId, memberEpoch, member.memberEpoch);
  }

  /** Kafka's ConsumerGroup#validateOffsetFetch (OffsetFetch v9's member id and epoch), then the fetch. */
  async fetchOffsets(request: {
    groupId: string;
    memberId: string | null;
    memberEpoch: number;
    partitions: TopicPartitionRef[] | null;
  }): Promise<FetchedOffset[]> {
    this.checkOpen();
    const group = this.groups.get(request.groupId);
    if (group !== undefined && !(request.memberId === null && request.memberEpoch < 0)) {
      const member = request.memberId === null ? undefined : group.members.get(request.memberId);
      if (member === undefined) throw new UnknownMemberIdError(group.groupId, request.memberId ?? '');
      if (request.memberEpoch !== member.memberEpoch) throw new StaleMemberEpochError(group.groupId, member.memberId, request.memberEpoch, member.memberEpoch);
    }
    return this.offsets.fetch(request.groupId, request.partitions);
  }

  /**
   * OffsetDelete for a consumer group: a partition of a topic some member subscribes to gets
   * GROUP_SUBSCRIBED_TO_TOPIC and keeps its offset, the others are deleted, as Kafka does.
   */
  async deletePartitionOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<OffsetDeletePartitionResult[]> {
    this.checkOpen();
    const group = this.groups.get(groupId);
    if (group === undefined) throw new GroupIdNotFoundError(groupId);
    const subscribed = new Set([...group.members.values()].flatMap((member) => member.subscribedTopicNames));
    const deletable = partitions.filter(({ topic }) => !subscribed.has(topic));
    if (deletable.length > 0) await this.offsets.deletePartitions(groupId, deletable);
    return partitions.map(({ topic, partition }) => ({
      topic,
      partition,
      error: subscribed.has(topic) ? new GroupSubscribedToTopicError(groupId, topic) : null,
    }));
  }

  // ---- Describe, list, delete, the shared id space ----

  describe(groupId: string): ConsumerGroupDescription {
    this.checkOpen();
    const group = this.groups.get(groupId);
    if (group === undefined) throw new GroupIdNotFoundError(groupId, 'is not a consumer group');
    return {
      groupId,
      state: groupState(group),
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: preferredAssignor(group),
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        instanceId: member.instanceId,
        rackId: member.rackId,
        memberEpoch: member.memberEpoch,
        clientId: member.clientId,
        clientHost: member.clientHost,
        subscribedTopicNames: [...member.subscribedTopicNames],
        assignment: copyAssignment(member.assigned),
        targetAssignment: copyAssignment(group.targetAssignment.get(member.memberId) ?? new Map()),
      })),
    };
  }

  listGroups(): { groupId: string; state: ConsumerGroupState }[] {
    this.checkOpen();
    return [...this.groups.values()].map((group) => ({ groupId: group.groupId, state: groupState(group) }));
  }

  /** DeleteGroups for a consumer group: only an empty one, with its offsets. */
  async deleteGroup(groupId: string): Promise<void> {
    this.checkOpen();
    const group = this.groups.get(groupId);
    if (group === undefined) throw new GroupIdNotFoundError(groupId);
    if (group.members.size > 0) throw new NonEmptyGroupError(groupId);
    this.groups.delete(groupId);
    await this.offsets.deleteGroup(groupId);
    if (this.store !== null) {
      try {
        await this.store.deleteGroup(groupId);
      } catch (error) {
        throw storeError(error, `group "${groupId}" could not be deleted`);
      }
    }
  }

  releaseForClassic(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    if (group.members.size > 0) {
      throw new InconsistentGroupProtocolError(
        `group "${groupId}" is a consumer group (group.protocol=consumer) with members; a classic member cannot join it ` +
          '(online downgrade is not supported): use group.protocol=consumer or another group id',
      );
    }
    this.groups.delete(groupId);
    this.store?.deleteGroup(groupId).catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    for (const [groupId, byMember] of [...this.timers]) for (const memberId of [...byMember.keys()]) this.cancelTimers(groupId, memberId);
  }

  // ---- Persistence ----

  private async persist(group: ConsumerGroup): Promise<void> {
    if (this.store === null) return;
    try {
      await this.store.storeGroup(snapshotOf(group));
    } catch (error) {
      throw storeError(error, `consumer group "${group.groupId}" could not be stored`);
    }
  }

  private restore(snapshot: ConsumerGroupSnapshot): void {
    const group: ConsumerGroup = {
      groupId: snapshot.groupId,
      groupEpoch: snapshot.groupEpoch,
      assignmentEpoch: snapshot.assignmentEpoch,
      members: new Map(
        snapshot.members.map((member) => [
          member.memberId,
          { ...member, assigned: fromStoredAssignment(member.assigned), pendingRevocation: fromStoredAssignment(member.pendingRevocation) },
        ]),
      ),
      targetAssignment: new Map(snapshot.targetAssignment.map(([memberId, stored]) => [memberId, fromStoredAssignment(stored)])),
      subscriptionMetadata: new Map(snapshot.subscriptionMetadata),
    };
    this.groups.set(group.groupId, group);
    // Every member gets a full session to come back, as Kafka gives the members of a group it loads.
    for (const member of group.members.values()) {
      this.scheduleSessionTimeout(group.groupId, member.memberId);
      if (member.state === 'UNREVOKED_PARTITIONS') this.scheduleRebalanceTimeout(group.groupId, member.memberId, member.memberEpoch, member.rebalanceTimeoutMs);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the consumer group coordinator is closed');
  }
}

/** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid. */
function validateHeartbeat(request: ConsumerGroupHeartbeatInput): void {
  if (request.groupId === '') throw new InvalidRequestError('GroupId can\'t be empty.');
  if (request.instanceId === '') throw new InvalidRequestError('InstanceId can\'t be empty.');
  if (request.rackId === '') throw new InvalidRequestError('RackId can\'t be empty.');
  // An empty regex is no regex: Kafka's members default to "", and librdkafka sends it so.
  if (request.subscribedTopicRegex !== null && request.subscribedTopicRegex !== '') {
    throw new InvalidRequestError('SubscribedTopicRegex is not supported: subscribe to topic names (a pattern subscription needs the classic protocol here).');
  }
  const epoch = request.memberEpoch;
  if (epoch > 0 || epoch === LEAVE_GROUP_MEMBER_EPOCH) {
    if (request.memberId === '') throw new InvalidRequestError('MemberId can\'t be empty.');
  } else if (epoch === 0) {
    if (request.rebalanceTimeoutMs === -1) throw new InvalidRequestError('RebalanceTimeoutMs must be provided in first request.');
    if (request.topicPartitions === null || request.topicPartitions.length > 0) {
      throw new InvalidRequestError('TopicPartitions must be empty when (re-)joining.');
    }
    if (request.subscribedTopicNames === null || request.subscribedTopicNames.length === 0) {
      throw new InvalidRequestError('SubscribedTopicNames must be set in first request.');
    }
  } else if (epoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
    if (request.memberId === '') throw new InvalidRequestError('MemberId can\'t be empty.');
    if (request.instanceId === null) throw new InvalidRequestError('InstanceId can\'t be null.');
  } else {
    throw new InvalidRequestError('MemberEpoch is invalid.');
  }
  if (request.rebalanceTimeoutMs < -1) throw new InvalidRequestError(`RebalanceTimeoutMs ${request.rebalanceTimeoutMs} is negative.`);
  if (request.serverAssignor !== null && !SERVER_ASSIGNORS.some((assignor) => assignor.name === request.serverAssignor)) {
    throw new UnsupportedAssignorError(request.serverAssignor, SERVER_ASSIGNORS.map((assignor) => assignor.name));
  }
}

/**
 * Kafka's throwIfConsumerGroupMemberEpochIsInvalid: an epoch ahead is fenced; one behind is
 * accepted only when it is the previous epoch and the member owns a subset of its partitions
 * (the response that bumped it was lost).
 */
function checkMemberEpoch(groupId: string, member: ConsumerGroupMember, received: number, owned: OwnedPartitions): void {
  if (received > member.memberEpoch) throw new FencedMemberEpochError(groupId, member.memberId, received, member.memberEpoch);
  if (received < member.memberEpoch && (received !== member.previousMemberEpoch || !isSubset(owned, member.assigned))) {
    throw new FencedMemberEpochError(groupId, member.memberId, received, member.memberEpoch);
  }
}

function isSubset(owned: OwnedPartitions, assigned: Assignment): boolean {
  if (owned === null) return false;
  for (const { topicId, partitions } of owned) {
    const mine = assigned.get(topicId);
    if (mine === undefined) return false;
    for (const partition of partitions) if (!mine.has(partition)) return false;
  }
  return true;
}

function newMember(memberId: string): ConsumerGroupMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: [],
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'STABLE',
    assigned: new Map(),
    pendingRevocation: new Map(),
  };
}

function staticMemberOf(group: ConsumerGroup, instanceId: string): ConsumerGroupMember | undefined {
  for (const member of group.members.values()) if (member.instanceId === instanceId) return member;
  return undefined;
}

function heldByOther(group: ConsumerGroup, memberId: string, topicId: string, partition: number): boolean {
  for (const member of group.members.values()) {
    if (member.memberId === memberId) continue;
    if (member.assigned.get(topicId)?.has(partition) || member.pendingRevocation.get(topicId)?.has(partition)) return true;
  }
  return false;
}

/** Kafka's ConsumerGroup state: Empty, Assigning (target behind the group epoch), Reconciling, Stable. */
function groupState(group: ConsumerGroup): ConsumerGroupState {
  if (group.members.size === 0) return 'Empty';
  if (group.groupEpoch > group.assignmentEpoch) return 'Assigning';
  for (const member of group.members.values()) {
    if (member.memberEpoch !== group.assignmentEpoch || member.state !== 'STABLE') return 'Reconciling';
  }
  return 'Stable';
}

/** Kafka's preferredServerAssignor: the one most members name, else the default. */
function preferredAssignor(group: ConsumerGroup): string {
  const counts = new Map<string, number>();
  for (const member of group.members.values()) {
    if (member.serverAssignor !== null) counts.set(member.serverAssignor, (counts.get(member.serverAssignor) ?? 0) + 1);
  }
  let best = DEFAULT_SERVER_ASSIGNOR;
  let bestCount = 0;
  for (const [name, count] of counts) {
    if (count > bestCount) {
      best = name;
      bestCount = count;
    }
  }
  return best;
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  const setA = new Set(a);
  const setB = new Set(b);
  return setA.size === setB.size && [...setA].every((name) => setB.has(name));
}

function sameMemberFields(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return (
    a.instanceId === b.instanceId &&
    a.rackId === b.rackId &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs &&
    a.serverAssignor === b.serverAssignor &&
    a.clientId === b.clientId &&
    a.clientHost === b.clientHost &&
    sameTopics(a.subscribedTopicNames, b.subscribedTopicNames)
  );
}

function sameSubscriptionMetadata(a: ReadonlyMap<string, SubscribedTopic>, b: ReadonlyMap<string, SubscribedTopic>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, topic] of a) {
    const other = b.get(name);
    if (other === undefined || other.topicId !== topic.topicId || other.partitionCount !== topic.partitionCount) return false;
  }
  return true;
}

function copyAssignment(assignment: Assignment): Assignment {
  return new Map([...assignment].map(([topicId, partitions]) => [topicId, new Set(partitions)]));
}

function snapshotOf(group: ConsumerGroup): ConsumerGroupSnapshot {
  return {
    groupId: group.groupId,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    members: [...group.members.values()].map((member) => ({
      ...member,
      assigned: toStoredAssignment(member.assigned),
      pendingRevocation: toStoredAssignment(member.pendingRevocation),
    })),
    targetAssignment: [...group.targetAssignment].map(([memberId, assignment]) => [memberId, toStoredAssignment(assignment)]),
    subscriptionMetadata: [...group.subscriptionMetadata],
  };
}
