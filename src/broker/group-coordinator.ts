/**
 * The consumer group coordinator: Kafka's classic group protocol (JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups,
 * OffsetDelete)
 * as a state machine that owns no storage. Real Kafka clients reach it through the wire layer,
 * the embedded consumer calls it directly; both see Kafka's behaviour and Kafka's error codes.
 *
 * What it follows from Apache Kafka's GroupCoordinator (the pre-KIP-848 protocol):
 * - Rebalance: a join, a leave, a session expiry or a metadata change moves the group to
 *   PreparingRebalance; JoinGroup calls park until every known member has rejoined or the
 *   largest rebalance timeout passes (members that did not rejoin are removed; static ones keep
 *   their place in the next generation, as they may be restarting). The first generation of an
 *   empty group waits initialRebalanceDelayMs, extended while members keep arriving, so a
 *   starting fleet lands in one generation. The leader gets every member's metadata, runs the assignor and sends the
 *   assignments with SyncGroup; every member's parked SyncGroup then returns its part.
 * - Member ids: JoinGroup v4+ asks a new member to come back with a generated id
 *   (MEMBER_ID_REQUIRED, `requireKnownMemberId`); older versions get the id with the result.
 * - Static membership (KIP-345): a member with a group.instance.id that restarts takes its old
 *   place (same assignment, no rebalance if its protocols did not change) and fences the old id.
 * - Liveness: a member is removed when it shows no sign of life (heartbeat, join, sync, commit)
 *   for sessionTimeoutMs, a new member whose JoinGroup is still parked after
 *   newMemberJoinTimeoutMs, and a member of a new generation that never sends SyncGroup within
 *   the rebalance timeout.
 * - Offsets: members commit with their generation; a standalone consumer commits with
 *   generation -1 and no member id to a group that has no members.
 * - Restart: restored groups keep their remote and static members until their sessions end, as
 *   Kafka's coordinator does with the groups it loads; dynamic members of the coordinator's own
 *   process (the embedded consumer) are removed at once, since that process is gone.
 *
 * Persistence is the broker's, through two interfaces: OffsetStore (committed offsets, awaited
 * before a commit is acknowledged) and GroupMetadataStore (the group's generation, members and
 * assignment, written when an assignment is handed out, like Kafka's __consumer_offsets group
 * record; `restoredGroups` loads them back at start). Time comes from an injected clock, so tests
 * drive session and rebalance timeouts without sleeping. Each member (and each half-joined
 * member) holds at most one timer, each group at most two more, and close() clears them all.
 * An Empty group that never had offsets committed is forgotten at once (Kafka's cleanup drops
 * such groups periodically).
 *
 * Topic existence and authorization are the caller's to check before committing offsets.
 *
 * Around it: group-types.ts (requests, results, snapshots, store interfaces, GroupCoordinatorApi),
 * group-validation.ts (request and option checks), offset-manager.ts (what happens to offsets once
 * a commit, fetch or delete is allowed), coordinator-clock.ts (time), group.ts / group-member.ts
 * (the state it drives). Over 800 lines because the classic protocol is one state machine:
 * JoinGroup, SyncGroup, Heartbeat, LeaveGroup, session expiry and restore all move the same
 * group states and timers, as in Kafka's GroupCoordinator; split further, a transition's
 * preconditions and its effects would sit in different files.
 */
import { randomUUID } from 'node:crypto';
import {
  ClosedError,
  CoordinatorNotAvailableError,
  FencedInstanceIdError,
  GroupIdNotFoundError,
  GroupMaxSizeReachedError,
  GroupSubscribedToTopicError,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  InvalidConfigError,
  InvalidRequestError,
  InvalidSessionTimeoutError,
  KafkaApiError,
  MemberIdRequiredError,
  NonEmptyGroupError,
  RebalanceInProgressError,
  UnknownMemberIdError,
  KafkaStorageError,
} from '../errors.js';
import { MAX_TIMER_DELAY_MS, systemClock, type CoordinatorClock } from './coordinator-clock.js';
import { decodeSubscription } from './consumer-protocol.js';
import { Group, GROUP_STATES } from './group.js';
import { GroupMember, type Waiter } from './group-member.js';
import type {
  DeleteGroupResult,
  FetchedOffset,
  GroupCoordinatorApi,
  GroupDescription,
  GroupMetadataStore,
  GroupOverview,
  GroupProtocol,
  GroupSnapshot,
  GroupState,
  HeartbeatRequest,
  JoinGroupRequest,
  JoinGroupResult,
  LeaveGroupMemberResult,
  LeaveGroupRequest,
  OffsetCommitPartitionResult,
  OffsetCommitRequest,
  OffsetDeletePartitionResult,
  OffsetDeleteRequest,
  OffsetFetchRequest,
  OffsetStore,
  SyncGroupRequest,
  SyncGroupResult,
  TopicPartitionRef,
  TransactionalCommitMember,
} from './group-types.js';
import {
  optionalInstanceId,
  requireAssignments,
  requireCommitOffsets,
  requireGroupId,
  requireInt32,
  requirePartition,
  requireProtocols,
  requireString,
  requireTopicPartitions,
  storeError,
  timeoutOption,
} from './group-validation.js';
import { OffsetManager } from './offset-manager.js';

// The coordinator's callers (the wire handlers, the embedded clients, the stores) import its
// vocabulary from here, as one module; the types live apart so group.ts and group-member.ts need
// nothing of the coordinator's.
export type * from './group-types.js';
export type { CoordinatorClock, TimerHandle } from './coordinator-clock.js';

// ---- Configuration ----

export interface GroupCoordinatorOptions {
  offsetStore: OffsetStore;
  /** Without one, group membership lives in memory only: after a restart members simply rejoin. */
  metadataStore?: GroupMetadataStore;
  clock?: CoordinatorClock;
  /** Kafka's group.min.session.timeout.ms. */
  minSessionTimeoutMs?: number;
  /** Kafka's group.max.session.timeout.ms. */
  maxSessionTimeoutMs?: number;
  /** Kafka's group.initial.rebalance.delay.ms: the first generation of an empty group waits this long for more members. */
  initialRebalanceDelayMs?: number;
  /** How long a new member's JoinGroup may stay parked before the member is dropped (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs?: number;
  /** Kafka's group.max.size; members plus half-joined (MEMBER_ID_REQUIRED) ones. */
  maxGroupSize?: number;
  /** Kafka's offset.metadata.max.bytes, which Kafka measures in characters. */
  offsetMetadataMaxChars?: number;
  /**
   * The groups of the KIP-848 consumer protocol, which share the group id space: a classic group
   * cannot take an id a consumer group holds (consumer-group/consumer-group-coordinator.ts).
   */
  consumerProtocolGroups?: ConsumerProtocolGroups;
  /**
   * Groups to load at start, as the metadata store returned them, plus a member-less snapshot
   * for every group that has committed offsets but no stored metadata (so it is listed).
   */
  restoredGroups?: readonly GroupSnapshot[];
}

/** What the classic coordinator asks of the consumer-protocol groups before it creates a group. */
export interface ConsumerProtocolGroups {
  /**
   * Makes `groupId` free for a classic group: throws INCONSISTENT_GROUP_PROTOCOL while a consumer
   * group with members holds it, and drops an empty one, as Kafka 3.9 replaces an empty group of
   * the other protocol (its committed offsets stay).
   */
  releaseForClassic(groupId: string): void;
}

export const DEFAULT_MIN_SESSION_TIMEOUT_MS = 6_000;
export const DEFAULT_MAX_SESSION_TIMEOUT_MS = 1_800_000;
export const DEFAULT_INITIAL_REBALANCE_DELAY_MS = 3_000;
export const DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;
/** Kafka has no limit by default; a bound keeps a runaway client from growing a group without end. */
export const DEFAULT_MAX_GROUP_SIZE = 1_000;
export const DEFAULT_OFFSET_METADATA_MAX_CHARS = 4_096;
const NO_MEMBER_ID = '';
/** The protocol type of Kafka consumers, whose member metadata is a Subscription. */
const CONSUMER_PROTOCOL_TYPE = 'consumer';
const EMPTY = Buffer.alloc(0);
/**
 * The client host of members that joined in-process (the embedded consumer), where a remote
 * member's is its address ('/127.0.0.1'): a member of a coordinator's own process.
 */
export const IN_PROCESS_CLIENT_HOST = 'embedded';

export class GroupCoordinator implements GroupCoordinatorApi {
  private readonly groups = new Map<string, Group>();
  private readonly offsets: OffsetManager;
  private readonly metadataStore: GroupMetadataStore | null;
  private readonly clock: CoordinatorClock;
  private readonly minSessionTimeoutMs: number;
  private readonly maxSessionTimeoutMs: number;
  private readonly initialRebalanceDelayMs: number;
  private readonly newMemberJoinTimeoutMs: number;
  private readonly maxGroupSize: number;
  private readonly consumerProtocolGroups: ConsumerProtocolGroups | null;
  private closed = false;

  constructor(options: GroupCoordinatorOptions) {
    if (options === null || typeof options !== 'object' || options.offsetStore === undefined) {
      throw new InvalidConfigError('GroupCoordinator needs options with an offsetStore');
    }
    this.metadataStore = options.metadataStore ?? null;
    this.consumerProtocolGroups = options.consumerProtocolGroups ?? null;
    this.clock = options.clock ?? systemClock;
    this.minSessionTimeoutMs = timeoutOption(options.minSessionTimeoutMs, DEFAULT_MIN_SESSION_TIMEOUT_MS, 'minSessionTimeoutMs', 1);
    this.maxSessionTimeoutMs = timeoutOption(options.maxSessionTimeoutMs, DEFAULT_MAX_SESSION_TIMEOUT_MS, 'maxSessionTimeoutMs', 1);
    if (this.minSessionTimeoutMs > this.maxSessionTimeoutMs) {
      throw new InvalidConfigError(
        `minSessionTimeoutMs (${this.minSessionTimeoutMs}) exceeds maxSessionTimeoutMs (${this.maxSessionTimeoutMs})`,
      );
    }
    this.initialRebalanceDelayMs = timeoutOption(
      options.initialRebalanceDelayMs,
      DEFAULT_INITIAL_REBALANCE_DELAY_MS,
      'initialRebalanceDelayMs',
      0,
    );
    this.newMemberJoinTimeoutMs = timeoutOption(
      options.newMemberJoinTimeoutMs,
      DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS,
      'newMemberJoinTimeoutMs',
      1,
    );
    this.maxGroupSize = timeoutOption(options.maxGroupSize, DEFAULT_MAX_GROUP_SIZE, 'maxGroupSize', 1);
    const offsetMetadataMaxChars = timeoutOption(
      options.offsetMetadataMaxChars,
      DEFAULT_OFFSET_METADATA_MAX_CHARS,
      'offsetMetadataMaxChars',
      0,
    );
    this.offsets = new OffsetManager(options.offsetStore, this.clock, offsetMetadataMaxChars);
    for (const snapshot of options.restoredGroups ?? []) this.restoreGroup(snapshot);
    for (const group of this.groups.values()) this.dropPreviousProcessMembers(group);
  }

  // ---- JoinGroup ----

  /**
   * Joins (or rejoins) the group. Resolves when the join phase completes, with the generation;
   * only the leader gets the member list. Rejects with MemberIdRequiredError (carrying the id
   * to join with) under `requireKnownMemberId`, and with Kafka's errors otherwise.
   */
  joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult> {
    return new Promise((resolve, reject) => {
      try {
        this.handleJoinGroup(request, { resolve, reject });
      } catch (error) {
        reject(error);
      }
    });
  }

  private handleJoinGroup(request: JoinGroupRequest, waiter: Waiter<JoinGroupResult>): void {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, false);
    const memberId = requireString(request.memberId, 'JoinGroup memberId');
    const groupInstanceId = optionalInstanceId(request.groupInstanceId);
    const protocolType = requireString(request.protocolType, 'JoinGroup protocolType');
    const protocols = requireProtocols(request.protocols);
    const sessionTimeoutMs = requireInt32(request.sessionTimeoutMs, 'JoinGroup sessionTimeoutMs');
    const rebalanceTimeoutMs =
      request.rebalanceTimeoutMs === undefined
        ? sessionTimeoutMs
        : requireInt32(request.rebalanceTimeoutMs, 'JoinGroup rebalanceTimeoutMs');
    if (rebalanceTimeoutMs < 0) throw new InvalidRequestError(`JoinGroup rebalanceTimeoutMs ${rebalanceTimeoutMs} is negative`);
    const join: NormalizedJoin = {
      groupId,
      memberId,
      groupInstanceId,
      clientId: request.clientId === undefined ? '' : requireString(request.clientId, 'JoinGroup clientId'),
      clientHost: request.clientHost === undefined ? '' : requireString(request.clientHost, 'JoinGroup clientHost'),
      protocolType,
      protocols,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      requireKnownMemberId: request.requireKnownMemberId === true,
      supportsSkipAssignment: request.supportsSkipAssignment === true,
    };

    if (sessionTimeoutMs < this.minSessionTimeoutMs || sessionTimeoutMs > this.maxSessionTimeoutMs) {
      throw new InvalidSessionTimeoutError(sessionTimeoutMs, this.minSessionTimeoutMs, this.maxSessionTimeoutMs);
    }
    const isNewMember = memberId === NO_MEMBER_ID;
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (!isNewMember) throw new UnknownMemberIdError(groupId, memberId, 'cannot rejoin: the group does not exist');
      this.consumerProtocolGroups?.releaseForClassic(groupId);
      group = new Group(groupId, 'Empty', this.clock.nowMs());
      this.groups.set(groupId, group);
    }

    try {
      if (!this.acceptsJoiningMember(group, join)) {
        if (group.has(memberId)) this.dropMember(group, group.get(memberId), new GroupMaxSizeReachedError(groupId, this.maxGroupSize));
        throw new GroupMaxSizeReachedError(groupId, this.maxGroupSize);
      }
      if (isNewMember) this.joinNewMember(group, join, waiter);
      else this.joinCurrentMember(group, join, waiter);
    } finally {
      if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
      // A refused first join leaves nothing behind.
      this.maybeForgetGroup(group);
    }
  }

  /** Kafka's acceptJoiningMember, plus a bound on half-joined members so they cannot grow without end. */
  private acceptsJoiningMember(group: Group, join: NormalizedJoin): boolean {
    if (join.memberId === NO_MEMBER_ID && join.requireKnownMemberId && join.groupInstanceId === null) {
      return group.size + group.pendingMembers.size < this.maxGroupSize;
    }
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (
          (group.has(join.memberId) && group.get(join.memberId).isAwaitingJoin) ||
          group.awaitingJoinMembers < this.maxGroupSize
        );
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(join.memberId) || group.pendingMembers.has(join.memberId) || group.size < this.maxGroupSize;
    }
  }

  private joinNewMember(group: Group, join: NormalizedJoin, waiter: Waiter<JoinGroupResult>): void {
    if (group.is('Dead')) throw new CoordinatorNotAvailableError(`group "${group.groupId}" is being deleted`);
    if (!group.supportsProtocols(join.protocolType, join.protocols.map((p) => p.name))) {
      throw this.inconsistentProtocol(group, join);
    }
    const newMemberId = `${join.groupInstanceId ?? join.clientId}-${randomUUID()}`;
    if (join.groupInstanceId !== null) {
      const oldMemberId = group.currentStaticMemberId(join.groupInstanceId);
      if (oldMemberId !== undefined) this.replaceStaticMember(group, oldMemberId, newMemberId, join, waiter);
      else this.addMemberAndRebalance(group, newMemberId, join, waiter);
    } else if (join.requireKnownMemberId) {
      const timer = this.clock.setTimeout(() => this.expirePendingMember(group, newMemberId), join.sessionTimeoutMs);
      group.pendingMembers.set(newMemberId, timer);
      throw new MemberIdRequiredError(group.groupId, newMemberId);
    } else {
      this.addMemberAndRebalance(group, newMemberId, join, waiter);
    }
  }

  private joinCurrentMember(group: Group, join: NormalizedJoin, waiter: Waiter<JoinGroupResult>): void {
    if (group.is('Dead')) throw new CoordinatorNotAvailableError(`group "${group.groupId}" is being deleted`);
    if (!group.supportsProtocols(join.protocolType, join.protocols.map((p) => p.name))) {
      throw this.inconsistentProtocol(group, join);
    }
    if (group.pendingMembers.has(join.memberId)) {
      if (join.groupInstanceId !== null) {
        throw new InvalidRequestError(
          `member "${join.memberId}" got its id from MEMBER_ID_REQUIRED, which static members never do; ` +
            `join with an empty member id`,
        );
      }
      this.addMemberAndRebalance(group, join.memberId, join, waiter);
      return;
    }
    this.validateCurrentMember(group, join.memberId, join.groupInstanceId);
    const member = group.get(join.memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, join, waiter);
        return;
      case 'CompletingRebalance':
        // Same metadata: the member lost the JoinGroup response; hand it the current generation again.
        if (member.matches(join.protocols)) waiter.resolve(this.joinResult(group, member, false));
        else this.updateMemberAndRebalance(group, member, join, waiter);
        return;
      case 'Stable':
        // A leader's rejoin always rebalances: it is how a consumer reacts to topic metadata changes.
        if (group.isLeader(member.memberId) || !member.matches(join.protocols)) {
          this.updateMemberAndRebalance(group, member, join, waiter);
        } else {
          waiter.resolve(this.joinResult(group, member, false));
        }
        return;
      case 'Empty':
      case 'Dead':
        throw new UnknownMemberIdError(group.groupId, join.memberId, `cannot rejoin the group in state ${group.state}`);
    }
  }

  private addMemberAndRebalance(group: Group, memberId: string, join: NormalizedJoin, waiter: Waiter<JoinGroupResult>): void {
    const member = new GroupMember({
      memberId,
      groupInstanceId: join.groupInstanceId,
      clientId: join.clientId,
      clientHost: join.clientHost,
      protocolType: join.protocolType,
      rebalanceTimeoutMs: join.rebalanceTimeoutMs,
      sessionTimeoutMs: join.sessionTimeoutMs,
      protocols: join.protocols,
    });
    member.isNew = true;
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    const pendingTimer = group.pendingMembers.get(memberId);
    if (pendingTimer !== undefined) {
      this.clock.clearTimeout(pendingTimer);
      group.pendingMembers.delete(memberId);
    }
    group.add(member, waiter);
    // A new member cannot heartbeat until it has a generation; its parked JoinGroup is bounded instead.
    this.touchSession(group, member, this.newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(group);
  }

  private updateMemberAndRebalance(group: Group, member: GroupMember, join: NormalizedJoin, waiter: Waiter<JoinGroupResult>): void {
    this.supersedeJoinWaiter(group, member);
    member.rebalanceTimeoutMs = join.rebalanceTimeoutMs;
    member.sessionTimeoutMs = join.sessionTimeoutMs;
    group.updateMember(member, join.protocols, waiter);
    this.maybePrepareRebalance(group);
  }

  /** A returning static instance takes over its member's place under a new id (KIP-345). */
  private replaceStaticMember(
    group: Group,
    oldMemberId: string,
    newMemberId: string,
    join: NormalizedJoin,
    waiter: Waiter<JoinGroupResult>,
  ): void {
    const instanceId = join.groupInstanceId!;
    const previousLeaderId = group.leaderId;
    const oldMember = group.get(oldMemberId);
    const fenced = new FencedInstanceIdError(group.groupId, instanceId, oldMemberId);
    group.completeJoin(oldMember, fenced);
    group.completeSync(oldMember, fenced);
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.touchSession(group, member);
    const oldProtocols = member.protocols;
    group.updateMember(member, join.protocols, waiter);

    switch (group.state) {
      case 'Stable': {
        if (group.protocolName !== group.selectProtocol()) {
          this.maybePrepareRebalance(group);
          return;
        }
        // Nothing the assignment depends on changed: persist the new id and keep the generation.
        const generationId = group.generationId;
        this.persistGroup(group, null, (error) => {
          if (group.members.get(newMemberId) !== member || member.joinWaiter !== waiter) return;
          if (error !== null) {
            group.updateMember(member, oldProtocols, null);
            group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
            this.touchSession(group, member);
            waiter.reject(error);
            return;
          }
          // A rebalance that began meanwhile counts this JoinGroup in; leave it parked for that.
          if (!group.is('Stable') || group.generationId !== generationId) return;
          const isLeader = group.isLeader(newMemberId);
          group.completeJoin(member, {
            ...this.joinResult(group, member, join.supportsSkipAssignment && isLeader),
            // Before JoinGroup v9 the old leader id is returned, so a returning leader does not reassign.
            leaderId: join.supportsSkipAssignment ? group.leaderId! : (previousLeaderId ?? ''),
            members: join.supportsSkipAssignment && isLeader ? group.currentMemberMetadata() : [],
          });
          // Its session was not enforced while the call was parked: restart it.
          this.touchSession(group, member);
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may be assigning to the old id right now; start over so the new id gets a share.
        this.prepareRebalance(group);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        throw new Error(`invariant: static member replaced in group ${group.groupId} in state ${group.state}`);
    }
  }

  /** A second JoinGroup from a member replaces the parked one, which is told so. */
  private supersedeJoinWaiter(group: Group, member: GroupMember): void {
    group.completeJoin(
      member,
      new RebalanceInProgressError(group.groupId, `a newer JoinGroup from member "${member.memberId}" replaced this one`),
    );
  }

  private joinResult(group: Group, member: GroupMember, skipAssignment: boolean): JoinGroupResult {
    return {
      memberId: member.memberId,
      generationId: group.generationId,
      protocolType: group.protocolType ?? '',
      protocolName: group.protocolName ?? '',
      leaderId: group.leaderId ?? '',
      skipAssignment,
      members: group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    };
  }

  private inconsistentProtocol(group: Group, join: NormalizedJoin): InconsistentGroupProtocolError {
    if (join.protocolType === '' || join.protocols.length === 0) {
      return new InconsistentGroupProtocolError('JoinGroup needs a protocol type and at least one protocol');
    }
    return new InconsistentGroupProtocolError(
      `group "${group.groupId}" runs protocol type "${group.protocolType}" and none of [${join.protocols
        .map((p) => p.name)
        .join(', ')}] (protocol type "${join.protocolType}") is offered by all its members; ` +
        `configure a partition assignment strategy the other members also use`,
    );
  }

  // ---- Rebalance phases ----

  private maybePrepareRebalance(group: Group): void {
    if (group.canRebalance) this.prepareRebalance(group);
  }

  private prepareRebalance(group: Group): void {
    if (group.is('CompletingRebalance')) {
      this.resetAndPropagateAssignmentError(group, new RebalanceInProgressError(group.groupId));
    }
    this.clearSyncExpiration(group);
    const wasEmpty = group.is('Empty');
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs;
    group.transitionTo('PreparingRebalance', this.clock.nowMs());
    if (wasEmpty) {
      this.scheduleInitialJoinDelay(
        group,
        this.initialRebalanceDelayMs,
        Math.max(rebalanceTimeoutMs - this.initialRebalanceDelayMs, 0),
      );
    } else {
      this.scheduleJoinExpiration(group, rebalanceTimeoutMs);
      this.tryCompleteJoin(group);
    }
  }

  /** The first generation waits `delayMs`, and again (within the rebalance timeout) while members keep arriving. */
  private scheduleInitialJoinDelay(group: Group, delayMs: number, remainingMs: number): void {
    this.clearJoinTimer(group);
    group.joinTimerIsInitialDelay = true;
    group.joinTimer = this.clock.setTimeout(() => {
      group.joinTimer = null;
      if (this.closed) return;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const nextDelayMs = Math.min(this.initialRebalanceDelayMs, remainingMs);
        this.scheduleInitialJoinDelay(group, nextDelayMs, Math.max(remainingMs - delayMs, 0));
      } else {
        this.completeJoinPhase(group);
      }
    }, delayMs);
  }

  private scheduleJoinExpiration(group: Group, rebalanceTimeoutMs: number): void {
    this.clearJoinTimer(group);
    group.joinTimerIsInitialDelay = false;
    group.joinTimer = this.clock.setTimeout(() => {
      group.joinTimer = null;
      if (!this.closed) this.completeJoinPhase(group);
    }, Math.min(rebalanceTimeoutMs, MAX_TIMER_DELAY_MS));
  }

  /** Ends the join phase early once every known member has rejoined (never during the initial delay). */
  private tryCompleteJoin(group: Group): void {
    if (group.joinTimer !== null && !group.joinTimerIsInitialDelay && group.hasAllMembersJoined) {
      this.clearJoinTimer(group);
      this.completeJoinPhase(group);
    }
  }

  private completeJoinPhase(group: Group): void {
    for (const member of group.notYetRejoinedMembers()) {
      // Static members keep their place until their session expires: they may be restarting.
      if (!member.isStatic) this.dropMember(group, member, this.removedError(group, member, 'did not rejoin in time'));
    }
    if (group.is('Dead')) return;
    if (!group.maybeElectNewJoinedLeader() && group.size > 0) {
      // Only static members remain and none rejoined: wait another round for them or their sessions to end.
      this.scheduleJoinExpiration(group, group.rebalanceTimeoutMs);
      return;
    }
    group.initNextGeneration(this.clock.nowMs());
    if (group.is('Empty')) {
      if (this.maybeForgetGroup(group)) return;
      // As Kafka: a failed write of the empty generation is harmless (no member relies on it).
      this.persistGroup(group, new Map(), () => undefined);
      return;
    }
    for (const member of group.members.values()) {
      group.completeJoin(member, this.joinResult(group, member, false));
      member.isNew = false;
      this.touchSession(group, member);
      group.pendingSyncMembers.add(member.memberId);
    }
    this.scheduleSyncExpiration(group);
  }

  private scheduleSyncExpiration(group: Group): void {
    const generationId = group.generationId;
    group.syncTimer = this.clock.setTimeout(() => {
      group.syncTimer = null;
      if (!this.closed) this.expirePendingSync(group, generationId);
    }, Math.min(group.rebalanceTimeoutMs, MAX_TIMER_DELAY_MS));
  }

  private expirePendingSync(group: Group, generationId: number): void {
    if (generationId !== group.generationId || group.pendingSyncMembers.size === 0) return;
    if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
    for (const memberId of [...group.pendingSyncMembers]) {
      const member = group.get(memberId);
      this.dropMember(group, member, this.removedError(group, member, 'never sent SyncGroup for its generation'));
    }
    this.prepareRebalance(group);
  }

  private removePendingSyncMember(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.clearSyncTimer(group);
  }

  private clearSyncExpiration(group: Group): void {
    group.pendingSyncMembers.clear();
    this.clearSyncTimer(group);
  }

  // ---- SyncGroup ----

  /**
   * Sends the leader's assignment (leader) or waits for it (followers). Resolves with this
   * member's assignment once the leader's SyncGroup has been persisted.
   */
  syncGroup(request: SyncGroupRequest): Promise<SyncGroupResult> {
    return new Promise((resolve, reject) => {
      try {
        this.handleSyncGroup(request, { resolve, reject });
      } catch (error) {
        reject(error);
      }
    });
  }

  private handleSyncGroup(request: SyncGroupRequest, waiter: Waiter<SyncGroupResult>): void {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, false);
    const memberId = requireString(request.memberId, 'SyncGroup memberId');
    const generationId = requireInt32(request.generationId, 'SyncGroup generationId');
    const groupInstanceId = optionalInstanceId(request.groupInstanceId);
    const assignments = requireAssignments(request.assignments ?? []);
    const group = this.groups.get(groupId);
    if (group === undefined) throw new UnknownMemberIdError(groupId, memberId, 'cannot sync: the group does not exist');
    if (group.is('Dead')) throw new CoordinatorNotAvailableError(`group "${groupId}" is being deleted`);
    this.validateCurrentMember(group, memberId, groupInstanceId);
    if (generationId !== group.generationId) throw new IllegalGenerationError(groupId, generationId, group.generationId);
    if (request.protocolType != null && request.protocolType !== group.protocolType) {
      throw new InconsistentGroupProtocolError(
        `SyncGroup protocol type "${request.protocolType}" is not group "${groupId}"'s ("${group.protocolType}")`,
      );
    }
    if (request.protocolName != null && request.protocolName !== group.protocolName) {
      throw new InconsistentGroupProtocolError(
        `SyncGroup protocol "${request.protocolName}" is not the one group "${groupId}" chose ("${group.protocolName}")`,
      );
    }

    const member = group.get(memberId);
    switch (group.state) {
      case 'Empty':
        throw new UnknownMemberIdError(groupId, memberId, 'cannot sync with an empty group');
      case 'PreparingRebalance':
        throw new RebalanceInProgressError(groupId);
      case 'CompletingRebalance': {
        group.completeSync(member, new RebalanceInProgressError(groupId, 'a newer SyncGroup from this member replaced this one'));
        member.syncWaiter = waiter;
        this.removePendingSyncMember(group, memberId);
        if (!group.isLeader(memberId)) return;
        // Members the leader left out get an empty assignment; ids that are not members are ignored.
        const assignment = new Map<string, Buffer>();
        for (const id of group.members.keys()) assignment.set(id, assignments.get(id) ?? EMPTY);
        this.persistGroup(group, assignment, (error) => {
          // The group may have moved on while the store worked; then that newer state rules.
          if (!group.is('CompletingRebalance') || group.generationId !== generationId) return;
          if (error !== null) {
            this.resetAndPropagateAssignmentError(group, error);
            this.maybePrepareRebalance(group);
            return;
          }
          for (const each of group.members.values()) each.assignment = assignment.get(each.memberId) ?? EMPTY;
          this.propagateAssignment(group, null);
          group.transitionTo('Stable', this.clock.nowMs());
        });
        return;
      }
      case 'Stable':
        this.removePendingSyncMember(group, memberId);
        waiter.resolve({
          protocolType: group.protocolType ?? '',
          protocolName: group.protocolName ?? '',
          assignment: member.assignment,
        });
        this.touchSession(group, member);
        return;
      case 'Dead':
        throw new Error(`invariant: SyncGroup reached dead group ${groupId}`);
    }
  }

  private resetAndPropagateAssignmentError(group: Group, error: KafkaApiError): void {
    for (const member of group.members.values()) member.assignment = EMPTY;
    this.propagateAssignment(group, error);
  }

  private propagateAssignment(group: Group, error: KafkaApiError | null): void {
    for (const member of group.members.values()) {
      const outcome: SyncGroupResult | KafkaApiError = error ?? {
        protocolType: group.protocolType ?? '',
        protocolName: group.protocolName ?? '',
        assignment: member.assignment,
      };
      // A session that ran out while the member waited here was not enforced: restart it now.
      if (group.completeSync(member, outcome)) this.touchSession(group, member);
    }
  }

  // ---- Heartbeat ----

  /** Keeps the member alive. Throws RebalanceInProgressError when it must rejoin, as Kafka answers. */
  heartbeat(request: HeartbeatRequest): void {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, false);
    const memberId = requireString(request.memberId, 'Heartbeat memberId');
    const generationId = requireInt32(request.generationId, 'Heartbeat generationId');
    const groupInstanceId = optionalInstanceId(request.groupInstanceId);
    const group = this.groups.get(groupId);
    if (group === undefined) throw new UnknownMemberIdError(groupId, memberId, 'cannot heartbeat: the group does not exist');
    if (group.is('Dead')) throw new CoordinatorNotAvailableError(`group "${groupId}" is being deleted`);
    this.validateCurrentMember(group, memberId, groupInstanceId);
    if (generationId !== group.generationId) throw new IllegalGenerationError(groupId, generationId, group.generationId);
    switch (group.state) {
      case 'Empty':
        throw new UnknownMemberIdError(groupId, memberId, 'cannot heartbeat an empty group');
      case 'CompletingRebalance':
      case 'Stable':
        // Heartbeats between JoinGroup and SyncGroup are normal: members may start them as soon as they join.
        this.touchSession(group, group.get(memberId));
        return;
      case 'PreparingRebalance':
        this.touchSession(group, group.get(memberId));
        throw new RebalanceInProgressError(groupId);
      case 'Dead':
        throw new Error(`invariant: heartbeat reached dead group ${groupId}`);
    }
  }

  // ---- LeaveGroup ----

  /** Removes members (by member id, or static ones by instance id); each gets its own outcome. */
  leaveGroup(request: LeaveGroupRequest): LeaveGroupMemberResult[] {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, false);
    if (!Array.isArray(request.members)) throw new InvalidRequestError('LeaveGroup members must be an array');
    const leaving = request.members.map((entry, i) => ({
      memberId: requireString(entry?.memberId, `LeaveGroup members[${i}].memberId`),
      groupInstanceId: optionalInstanceId(entry.groupInstanceId),
    }));
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return leaving.map((entry) => ({
        ...entry,
        error: new UnknownMemberIdError(groupId, entry.memberId || `instance ${entry.groupInstanceId}`, 'cannot leave: the group does not exist'),
      }));
    }
    if (group.is('Dead')) throw new CoordinatorNotAvailableError(`group "${groupId}" is being deleted`);
    return leaving.map((entry) => ({ ...entry, error: this.leaveOne(group, entry.memberId, entry.groupInstanceId) }));
  }

  private leaveOne(group: Group, memberId: string, groupInstanceId: string | null): KafkaApiError | null {
    try {
      if (memberId === NO_MEMBER_ID) {
        const currentId = groupInstanceId === null ? undefined : group.currentStaticMemberId(groupInstanceId);
        if (currentId === undefined) {
          return groupInstanceId === null
            ? new UnknownMemberIdError(group.groupId, '', 'cannot leave: give a member id or a group instance id')
            : new UnknownMemberIdError(group.groupId, `instance ${groupInstanceId}`, 'cannot leave: no such static member');
        }
        this.removeMemberAndUpdateGroup(group, group.get(currentId), 'left the group');
      } else if (group.pendingMembers.has(memberId)) {
        this.removePendingMember(group, memberId);
      } else {
        this.validateCurrentMember(group, memberId, groupInstanceId);
        this.removeMemberAndUpdateGroup(group, group.get(memberId), 'left the group');
      }
      return null;
    } catch (error) {
      if (error instanceof KafkaApiError) return error;
      throw error;
    }
  }

  // ---- Member removal and liveness ----

  /** Removes a member and lets the group react: rebalance, or finish the join phase without it. */
  private removeMemberAndUpdateGroup(group: Group, member: GroupMember, why: string): void {
    this.dropMember(group, member, this.removedError(group, member, why));
    switch (group.state) {
      case 'Dead':
      case 'Empty':
        return;
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group);
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
    }
  }

  /** Takes the member out: its parked calls fail with `error`, its timer stops. */
  private dropMember(group: Group, member: GroupMember, error: KafkaApiError): void {
    group.completeJoin(member, error);
    group.completeSync(member, error);
    if (member.sessionTimer !== null) {
      this.clock.clearTimeout(member.sessionTimer);
      member.sessionTimer = null;
    }
    group.remove(member.memberId);
  }

  private removedError(group: Group, member: GroupMember, why: string): UnknownMemberIdError {
    return new UnknownMemberIdError(group.groupId, member.memberId, `was removed from the group: it ${why}`);
  }

  private removePendingMember(group: Group, memberId: string): void {
    const timer = group.pendingMembers.get(memberId);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    group.pendingMembers.delete(memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.maybeForgetGroup(group);
  }

  private expirePendingMember(group: Group, memberId: string): void {
    if (this.closed || !group.pendingMembers.has(memberId)) return;
    group.pendingMembers.delete(memberId);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.maybeForgetGroup(group);
  }

  /**
   * Gives up `groupId` to a consumer-protocol group (KIP-848): true when no classic group holds it
   * or the one holding it is Empty with nobody half-joined, which is then forgotten (its committed
   * offsets stay, they belong to the group id); false while it has members, as Kafka 3.9 only
   * replaces an empty group of the other protocol here (online upgrade is not served).
   */
  releaseForConsumerProtocol(groupId: string): boolean {
    this.checkOpen();
    const group = this.groups.get(groupId);
    if (group === undefined) return true;
    if (!group.is('Empty') || group.size > 0 || group.pendingMembers.size > 0) return false;
    this.groups.delete(groupId);
    if (this.metadataStore !== null && group.generationId > 0) {
      // A stale stored snapshot would only bring back an Empty classic group after a restart, which the consumer group's own record replaces.
      Promise.resolve()
        .then(() => this.metadataStore!.deleteGroup(groupId))
        .catch(() => undefined);
    }
    return true;
  }

  /**
   * Drops a group that is Empty, has nobody half-joined and never had offsets committed: nothing
   * about it is worth keeping (Kafka's periodic cleanup removes such groups too). True if dropped.
   */
  private maybeForgetGroup(group: Group): boolean {
    if (!group.is('Empty') || group.size > 0 || group.pendingMembers.size > 0 || group.mayHaveOffsets) return false;
    if (this.groups.get(group.groupId) !== group) return false;
    this.groups.delete(group.groupId);
    if (this.metadataStore !== null && group.generationId > 0) {
      // An earlier generation may be stored; as with Kafka's cleanup, a failed delete only leaves a stale record.
      Promise.resolve()
        .then(() => this.metadataStore!.deleteGroup(group.groupId))
        .catch(() => undefined);
    }
    return true;
  }

  /**
   * Extends the member's session to now + timeoutMs. The timer is moved only when the deadline
   * comes earlier than it fires; otherwise it fires first and re-arms itself, so a heartbeat
   * costs no timer churn.
   */
  private touchSession(group: Group, member: GroupMember, timeoutMs = member.sessionTimeoutMs): void {
    const now = this.clock.nowMs();
    member.sessionDeadlineMs = now + timeoutMs;
    if (member.sessionTimer !== null && member.sessionTimerAtMs <= member.sessionDeadlineMs) return;
    this.armSessionTimer(group, member, member.sessionDeadlineMs, now);
  }

  private armSessionTimer(group: Group, member: GroupMember, atMs: number, now: number): void {
    if (member.sessionTimer !== null) this.clock.clearTimeout(member.sessionTimer);
    member.sessionTimerAtMs = atMs;
    member.sessionTimer = this.clock.setTimeout(() => this.onSessionTimer(group, member), Math.max(0, atMs - now));
  }

  private onSessionTimer(group: Group, member: GroupMember): void {
    member.sessionTimer = null;
    if (this.closed || group.members.get(member.memberId) !== member) return;
    const now = this.clock.nowMs();
    if (now < member.sessionDeadlineMs) {
      this.armSessionTimer(group, member, member.sessionDeadlineMs, now);
      return;
    }
    // Parked in JoinGroup/SyncGroup: alive; the session restarts when the call completes.
    if (member.isAliveAt(now)) return;
    const why = member.isNew ? 'stayed in JoinGroup past the new-member join timeout' : 'let its session time out';
    this.removeMemberAndUpdateGroup(group, member, why);
  }

  /** Kafka's validateCurrentMember: the instance id must map to this member id, and the member must exist. */
  private validateCurrentMember(group: Group, memberId: string, groupInstanceId: string | null): void {
    if (groupInstanceId !== null) {
      const currentId = group.currentStaticMemberId(groupInstanceId);
      if (currentId === undefined) {
        throw new UnknownMemberIdError(group.groupId, memberId, `is not the static member "${groupInstanceId}"`);
      }
      if (currentId !== memberId) throw new FencedInstanceIdError(group.groupId, groupInstanceId, memberId);
    }
    if (!group.has(memberId)) throw new UnknownMemberIdError(group.groupId, memberId);
  }

  // ---- Offsets ----

  /**
   * Kafka's validateOffsetCommit for a transactional commit (TxnOffsetCommit v3+, KIP-447): a
   * commit that names a generation, member or static instance must come from a current member of
   * the current generation, so a zombie consumer-producer cannot commit the offsets of partitions
   * the group has since handed to another member (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
   * ILLEGAL_GENERATION). One naming none (clients before KIP-447) is not checked. A group that
   * does not exist counts as Empty, as Kafka creates it for the commit.
   */
  validateTransactionalCommit(request: TransactionalCommitMember): void {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, true);
    const generationId = request.generationId === undefined ? -1 : requireInt32(request.generationId, 'TxnOffsetCommit generationId');
    const memberId = request.memberId === undefined ? NO_MEMBER_ID : requireString(request.memberId, 'TxnOffsetCommit memberId');
    const groupInstanceId = optionalInstanceId(request.groupInstanceId);
    const group = this.groups.get(groupId);
    if (group?.is('Dead')) throw new CoordinatorNotAvailableError(`group "${groupId}" is being deleted`);
    // Without group management (generation -1) an Empty group takes any commit.
    if (generationId < 0 && (group === undefined || group.is('Empty'))) return;
    if (generationId < 0 && memberId === NO_MEMBER_ID && groupInstanceId === null) return;
    if (group === undefined) throw new UnknownMemberIdError(groupId, memberId, 'the group has no members');
    this.validateCurrentMember(group, memberId, groupInstanceId);
    if (generationId !== group.generationId) throw new IllegalGenerationError(groupId, generationId, group.generationId);
  }

  /**
   * Commits offsets for a member of the current generation (or a standalone consumer: generation
   * -1, member id '', group without members). Group-level rejections throw; a partition whose
   * metadata is too long gets its own error while the others commit, as Kafka does.
   */
  async commitOffsets(request: OffsetCommitRequest): Promise<OffsetCommitPartitionResult[]> {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, true);
    const generationId = request.generationId === undefined ? -1 : requireInt32(request.generationId, 'OffsetCommit generationId');
    const memberId = request.memberId === undefined ? NO_MEMBER_ID : requireString(request.memberId, 'OffsetCommit memberId');
    const groupInstanceId = optionalInstanceId(request.groupInstanceId);
    const offsets = requireCommitOffsets(request.offsets);

    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (generationId >= 0) throw new IllegalGenerationError(groupId, generationId, null);
      group = new Group(groupId, 'Empty', this.clock.nowMs());
      this.groups.set(groupId, group);
    }
    if (group.is('Dead')) throw new CoordinatorNotAvailableError(`group "${groupId}" is being deleted`);
    if (generationId >= 0 || memberId !== NO_MEMBER_ID || groupInstanceId !== null) {
      this.validateCurrentMember(group, memberId, groupInstanceId);
      if (generationId !== group.generationId) throw new IllegalGenerationError(groupId, generationId, group.generationId);
    } else if (!group.is('Empty')) {
      throw new UnknownMemberIdError(groupId, NO_MEMBER_ID, 'cannot commit without a member id: the group has members');
    }
    if (group.is('CompletingRebalance')) {
      throw new RebalanceInProgressError(groupId, 'offsets cannot be committed between JoinGroup and SyncGroup');
    }
    // Stable or PreparingRebalance: the generation is still current, and a commit is a sign of life.
    if (group.has(memberId)) this.touchSession(group, group.get(memberId));

    const { accepted, results } = this.offsets.prepareCommit(offsets);
    if (accepted.length > 0) {
      // Set before the write: a failed write may still have stored some of it.
      group.mayHaveOffsets = true;
      try {
        await this.offsets.commit(groupId, accepted);
      } catch (error) {
        if (error instanceof KafkaStorageError) throw storeError(error, `the offsets of group "${groupId}" could not be stored`);
        throw error;
      }
    }
    return results;
  }

  /**
   * The group's committed offsets; offset -1 for a requested partition without one. Works for
   * any group id, existing or not, as Kafka's OffsetFetch does.
   */
  async fetchOffsets(request: OffsetFetchRequest): Promise<FetchedOffset[]> {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, true);
    const partitions = request.partitions === null ? null : requireTopicPartitions(request.partitions);
    return this.offsets.fetch(groupId, partitions);
  }

  // ---- Describe, list, delete ----

  /** Kafka's DescribeGroups: an unknown group is reported Dead with no members, not as an error. */
  describeGroup(groupId: string): GroupDescription {
    this.checkOpen();
    requireGroupId(groupId, true);
    const group = this.groups.get(groupId);
    if (group === undefined) {
      return { groupId, state: 'Dead', protocolType: '', protocolName: '', generationId: -1, leaderId: null, members: [] };
    }
    const stable = group.is('Stable');
    return {
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolName: stable ? group.protocolName! : '',
      generationId: group.generationId,
      leaderId: group.leaderId,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable ? member.metadataFor(group.protocolName!) : EMPTY,
        assignment: stable ? member.assignment : EMPTY,
      })),
    };
  }

  /** Every group, or those in one of `states` (KIP-518). */
  listGroups(states: readonly GroupState[] = []): GroupOverview[] {
    this.checkOpen();
    if (!Array.isArray(states)) throw new InvalidRequestError('listGroups states must be an array');
    for (const state of states) {
      if (!GROUP_STATES.includes(state)) {
        throw new InvalidRequestError(`unknown group state "${state}"; states are ${GROUP_STATES.join(', ')}`);
      }
    }
    const overviews: GroupOverview[] = [];
    for (const group of this.groups.values()) {
      if (states.length === 0 || states.includes(group.state)) {
        overviews.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', state: group.state });
      }
    }
    return overviews;
  }

  /** Deletes groups that have no members, with their offsets. Each group gets its own outcome. */
  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    this.checkOpen();
    if (!Array.isArray(groupIds)) throw new InvalidRequestError('deleteGroups takes an array of group ids');
    const results: DeleteGroupResult[] = [];
    const deletions: Promise<void>[] = [];
    for (const groupId of groupIds) {
      try {
        requireGroupId(groupId, true);
      } catch (error) {
        results.push({ groupId, error: error as KafkaApiError });
        continue;
      }
      const group = this.groups.get(groupId);
      if (group === undefined || group.is('Dead')) {
        results.push({ groupId, error: new GroupIdNotFoundError(groupId) });
        continue;
      }
      if (!group.is('Empty')) {
        results.push({ groupId, error: new NonEmptyGroupError(groupId) });
        continue;
      }
      group.transitionTo('Dead', this.clock.nowMs());
      const result: DeleteGroupResult = { groupId, error: null };
      results.push(result);
      deletions.push(
        this.deleteStoredGroup(group).then(
          () => undefined,
          (error) => {
            result.error = storeError(error, `group "${groupId}" could not be deleted from storage`);
          },
        ),
      );
    }
    await Promise.all(deletions);
    return results;
  }

  /**
   * Kafka's OffsetDelete (KIP-496): deletes the group's committed offsets of some partitions.
   * Group-level refusals throw: GROUP_ID_NOT_FOUND for a group that does not exist, NON_EMPTY_GROUP
   * for a group with members that is not a consumer group (its members' topics are unknown). In a
   * consumer group with members, a partition of a topic some member subscribes to gets
   * GROUP_SUBSCRIBED_TO_TOPIC and keeps its offset; the others are deleted. A member whose
   * subscription cannot be read counts as subscribed to everything: refusing is safer than
   * deleting an offset it is about to rely on. A partition without an offset is a success.
   */
  async deletePartitionOffsets(request: OffsetDeleteRequest): Promise<OffsetDeletePartitionResult[]> {
    this.checkOpen();
    const groupId = requireGroupId(request?.groupId, true);
    if (!Array.isArray(request.partitions)) throw new InvalidRequestError('OffsetDelete partitions must be an array of { topic, partition }');
    const partitions = request.partitions.map((entry, i) => requirePartition(entry?.topic, entry?.partition, `OffsetDelete partitions[${i}]`));
    const group = this.groups.get(groupId);
    if (group === undefined || group.is('Dead')) throw new GroupIdNotFoundError(groupId);
    let subscribed: ReadonlySet<string> | null = new Set();
    if (!group.is('Empty')) {
      if (group.protocolType !== CONSUMER_PROTOCOL_TYPE) throw new NonEmptyGroupError(groupId);
      subscribed = subscribedTopics(group);
    }
    const results: OffsetDeletePartitionResult[] = [];
    const deletable: TopicPartitionRef[] = [];
    for (const { topic, partition } of partitions) {
      if (subscribed === null || subscribed.has(topic)) {
        results.push({ topic, partition, error: new GroupSubscribedToTopicError(groupId, topic) });
      } else {
        deletable.push({ topic, partition });
        results.push({ topic, partition, error: null });
      }
    }
    if (deletable.length > 0) await this.offsets.deletePartitions(groupId, deletable);
    return results;
  }

  /** Dead groups stay visible (and refuse work) until storage has forgotten them. */
  private async deleteStoredGroup(group: Group): Promise<void> {
    try {
      await this.offsets.deleteGroup(group.groupId);
      if (this.metadataStore !== null) await this.metadataStore.deleteGroup(group.groupId);
    } finally {
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    }
  }

  // ---- Lifecycle ----

  /** Stops every timer and fails every parked call with COORDINATOR_NOT_AVAILABLE. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new CoordinatorNotAvailableError('the coordinator was closed');
    for (const group of this.groups.values()) {
      this.clearJoinTimer(group);
      this.clearSyncTimer(group);
      for (const timer of group.pendingMembers.values()) this.clock.clearTimeout(timer);
      group.pendingMembers.clear();
      for (const member of [...group.members.values()]) this.dropMember(group, member, error);
    }
    this.groups.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('group coordinator');
  }

  private clearJoinTimer(group: Group): void {
    if (group.joinTimer !== null) {
      this.clock.clearTimeout(group.joinTimer);
      group.joinTimer = null;
    }
  }

  private clearSyncTimer(group: Group): void {
    if (group.syncTimer !== null) {
      this.clock.clearTimeout(group.syncTimer);
      group.syncTimer = null;
    }
  }

  /**
   * Writes the group to the metadata store, then calls `then` with null or the error. Runs `then`
   * at once when there is no store or it answers synchronously; never after close().
   */
  private persistGroup(group: Group, assignments: ReadonlyMap<string, Buffer> | null, then: (error: KafkaApiError | null) => void): void {
    if (this.metadataStore === null) {
      then(null);
      return;
    }
    let pending: Promise<void> | void;
    try {
      pending = this.metadataStore.storeGroup(group.snapshot(assignments));
    } catch (error) {
      then(storeError(error, `group "${group.groupId}" could not be stored`));
      return;
    }
    if (pending === undefined || typeof (pending as Promise<void>).then !== 'function') {
      then(null);
      return;
    }
    (pending as Promise<void>).then(
      () => {
        if (!this.closed) then(null);
      },
      (error: unknown) => {
        if (!this.closed) then(storeError(error, `group "${group.groupId}" could not be stored`));
      },
    );
  }

  private restoreGroup(snapshot: GroupSnapshot): void {
    const where = `restored group ${JSON.stringify(snapshot?.groupId)}`;
    const groupId = requireGroupId(snapshot?.groupId, true);
    if (this.groups.has(groupId)) throw new InvalidConfigError(`${where} appears twice in restoredGroups`);
    if (!Number.isInteger(snapshot.generationId) || snapshot.generationId < 0) {
      throw new InvalidConfigError(`${where} has generation ${snapshot.generationId}`);
    }
    const members = snapshot.members ?? [];
    if (members.length > 0 && (snapshot.protocolName === null || snapshot.protocolType === null)) {
      throw new InvalidConfigError(`${where} has members but no protocol`);
    }
    if (members.length > 0 && !members.some((member) => member.memberId === snapshot.leaderId)) {
      throw new InvalidConfigError(`${where} has leader ${snapshot.leaderId}, who is not one of its members`);
    }
    const now = this.clock.nowMs();
    const group = new Group(groupId, members.length > 0 ? 'Stable' : 'Empty', snapshot.stateTimestampMs ?? now);
    // The offset store may hold offsets for it: never forget a restored group on our own.
    group.mayHaveOffsets = true;
    group.generationId = snapshot.generationId;
    group.protocolType = snapshot.protocolType;
    group.protocolName = members.length > 0 ? snapshot.protocolName : null;
    for (const saved of members) {
      const member = new GroupMember({
        memberId: saved.memberId,
        groupInstanceId: saved.groupInstanceId,
        clientId: saved.clientId,
        clientHost: saved.clientHost,
        protocolType: snapshot.protocolType!,
        rebalanceTimeoutMs: saved.rebalanceTimeoutMs,
        sessionTimeoutMs: saved.sessionTimeoutMs,
        protocols: [{ name: snapshot.protocolName!, metadata: saved.subscription }],
      });
      member.assignment = saved.assignment;
      group.add(member, null);
    }
    group.leaderId = members.length > 0 ? snapshot.leaderId : null;
    this.groups.set(groupId, group);
    // Members of a restored generation must show up within a session, as after a Kafka coordinator move.
    for (const member of group.members.values()) this.touchSession(group, member);
  }

  /**
   * A restored group's dynamic in-process members belonged to the process that ran the
   * coordinator before: that process is gone (or closed its broker), and a dynamic member id is
   * never used again, so waiting out their sessions would only hold up the next run's consumers
   * (a rebalance waits for every known member). They are removed at once, as a session expiry
   * removes them: the group rebalances, or becomes Empty with the next generation. Remote members
   * keep their sessions, as Kafka's coordinator keeps loaded members: a client reconnecting to a
   * restarted server carries on in its generation. Static in-process members keep theirs too: the
   * next run takes their place back by group instance id, without a rebalance (KIP-345).
   */
  private dropPreviousProcessMembers(group: Group): void {
    for (const member of [...group.members.values()]) {
      if (member.clientHost !== IN_PROCESS_CLIENT_HOST || member.isStatic || group.members.get(member.memberId) !== member) continue;
      this.removeMemberAndUpdateGroup(group, member, 'belonged to an earlier run of this process, which cannot come back');
    }
  }
}

interface NormalizedJoin {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  protocolType: string;
  protocols: GroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  requireKnownMemberId: boolean;
  supportsSkipAssignment: boolean;
}

/**
 * The topics the members of a consumer group subscribe to, from their Subscription metadata (of
 * the chosen protocol, or of every offered one while none is chosen); null when some member's
 * metadata is not a readable Subscription.
 */
function subscribedTopics(group: Group): Set<string> | null {
  const topics = new Set<string>();
  for (const member of group.members.values()) {
    const metadata = group.protocolName === null ? member.protocols.map((protocol) => protocol.metadata) : [member.metadataFor(group.protocolName)];
    for (const bytes of metadata) {
      try {
        for (const topic of decodeSubscription(bytes).topics) topics.add(topic);
      } catch {
        return null;
      }
    }
  }
  return topics;
}
