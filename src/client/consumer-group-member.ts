/**
 * The client side of Kafka's classic consumer group protocol, for the embedded consumer:
 * JoinGroup (offering every configured assignor with this member's Subscription), the leader's
 * assignment, SyncGroup, heartbeats, LeaveGroup.
 *
 * Rebalance protocols, as Kafka's ConsumerCoordinator chooses them: COOPERATIVE only when every
 * configured assignor supports it, otherwise EAGER. So Kafka's default [range, cooperative-sticky]
 * rebalances eagerly (range is chosen while any member prefers it); [cooperative-sticky] alone
 * rebalances incrementally.
 *   EAGER        before rejoining, the member gives up (commits and stops) all its partitions;
 *                it consumes nothing until SyncGroup hands out the new assignment.
 *   COOPERATIVE  the member rejoins reporting the partitions it owns and keeps consuming them
 *                while the group rebalances; after SyncGroup it gives up only those no longer
 *                assigned to it and, if it gave any up, rejoins at once so they can move (KIP-429).
 *
 * The consumer drives this object from its poll loop (`poll()` between rounds), so partitions are
 * never revoked while a handler is processing them. Heartbeats run on a timer, every
 * heartbeatIntervalMs; one that learns of a rebalance wakes the poll loop.
 */
import { IN_PROCESS_CLIENT_HOST } from '../broker/group-coordinator.js';
import type { GroupCoordinatorApi, JoinGroupResult } from '../broker/group-types.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeSubscription,
  type TopicPartitions,
} from '../broker/consumer-protocol.js';
import { computeGroupAssignment, type PartitionAssignor, type PartitionCounts } from '../broker/assignors/index.js';
import {
  FencedInstanceIdError,
  IllegalGenerationError,
  MemberIdRequiredError,
  RebalanceInProgressError,
  UnknownMemberIdError,
} from '../errors.js';

export interface GroupMembershipOptions {
  groupId: string;
  groupInstanceId: string | null;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** In order of preference. */
  assignors: readonly PartitionAssignor[];
}

/** What the membership needs from its consumer. */
export interface GroupMembershipHost {
  /** Topics this member subscribes to now (regular expressions already resolved). */
  subscribedTopics(): string[];
  /** Partition counts of the topics that exist among `topics` (the leader's assignor input). */
  partitionCounts(topics: readonly string[]): PartitionCounts;
  /** Commit what was processed of these partitions and stop consuming them. */
  revoke(partitions: TopicPartitions[]): Promise<void>;
  /** Start consuming these partitions (find their positions). */
  assign(partitions: TopicPartitions[]): Promise<void>;
  /** These partitions were taken away without a chance to commit (session expired, fenced). */
  lose(partitions: TopicPartitions[]): void;
  /** Interrupt the poll loop's wait so it calls poll() soon. */
  wake(): void;
}

export type RebalanceProtocolInUse = 'EAGER' | 'COOPERATIVE';

export class GroupMembership {
  readonly protocol: RebalanceProtocolInUse;
  private readonly groups: GroupCoordinatorApi;
  private readonly options: GroupMembershipOptions;
  private readonly host: GroupMembershipHost;
  memberId = '';
  generationId = -1;
  /** Partitions this member consumes now, per topic. */
  private owned = new Map<string, Set<number>>();
  private rejoinNeeded = true;
  /** The member's partitions were taken away (session expired, fenced): drop them without committing. */
  private lost = false;
  private joining: Promise<void> | null = null;
  /** An assignment SyncGroup returned, to apply at the next poll(). */
  private pendingAssignment: TopicPartitions[] | null = null;
  private joinError: unknown = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(groups: GroupCoordinatorApi, options: GroupMembershipOptions, host: GroupMembershipHost) {
    this.groups = groups;
    this.options = options;
    this.host = host;
    this.protocol = options.assignors.every((assignor) => assignor.rebalanceProtocols.includes('COOPERATIVE'))
      ? 'COOPERATIVE'
      : 'EAGER';
  }

  /** Asks for a rejoin at the next poll (subscription or metadata changed). */
  requestRejoin(): void {
    this.rejoinNeeded = true;
    this.host.wake();
  }

  /**
   * Brings the membership up to date; called by the consumer between rounds. Applies a finished
   * SyncGroup, and starts a rejoin when one is due. EAGER waits for the join to finish (there is
   * nothing to consume meanwhile); COOPERATIVE lets the caller go on with the partitions it owns.
   */
  async poll(): Promise<void> {
    if (this.stopped) return;
    if (this.joinError !== null) {
      const error = this.joinError;
      this.joinError = null;
      throw error;
    }
    if (this.lost) {
      this.lost = false;
      const lost = toList(this.owned);
      this.owned = new Map();
      if (lost.length > 0) this.host.lose(lost);
    }
    if (this.pendingAssignment !== null) await this.applyAssignment();
    if (!this.rejoinNeeded || this.joining !== null) {
      if (this.joining !== null && this.mustWaitForJoin()) await this.awaitJoin();
      return;
    }
    this.rejoinNeeded = false;
    if (this.protocol === 'EAGER') {
      const all = toList(this.owned);
      this.owned = new Map();
      if (all.length > 0) await this.host.revoke(all);
    }
    this.stopHeartbeats();
    this.joining = this.joinAndSync().then(
      (assignment) => {
        this.joining = null;
        if (assignment !== null) this.pendingAssignment = assignment;
        // The new generation's heartbeats start now, not when the poll loop applies the
        // assignment: a handler still busy with the old one must not let the session lapse.
        if (!this.stopped) this.startHeartbeats();
        this.host.wake();
      },
      (error: unknown) => {
        this.joining = null;
        this.joinError = error;
        this.host.wake();
      },
    );
    if (this.mustWaitForJoin()) await this.awaitJoin();
  }

  /**
   * Stops heartbeating and leaves the group. A static member (groupInstanceId) does not leave, as
   * in Kafka: its place waits for it until its session times out, so a restart costs no rebalance.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopHeartbeats();
    if (this.options.groupInstanceId !== null || this.memberId === '') return;
    try {
      this.groups.leaveGroup({ groupId: this.options.groupId, members: [{ memberId: this.memberId }] });
    } catch {
      // The coordinator is gone (broker closed): there is no group left to leave.
    }
  }

  private mustWaitForJoin(): boolean {
    return this.protocol === 'EAGER' || this.owned.size === 0;
  }

  private async awaitJoin(): Promise<void> {
    while (this.joining !== null) await this.joining;
    if (this.joinError !== null) {
      const error = this.joinError;
      this.joinError = null;
      throw error;
    }
    if (this.pendingAssignment !== null) await this.applyAssignment();
  }

  private async applyAssignment(): Promise<void> {
    const assigned = new Map<string, Set<number>>();
    for (const { topic, partitions } of this.pendingAssignment!) assigned.set(topic, new Set(partitions));
    this.pendingAssignment = null;
    const revoked = difference(this.owned, assigned);
    const added = difference(assigned, this.owned);
    this.owned = assigned;
    if (revoked.length > 0) await this.host.revoke(revoked);
    if (added.length > 0) await this.host.assign(added);
    // KIP-429: partitions given up must reach their new owner through one more rebalance.
    if (this.protocol === 'COOPERATIVE' && revoked.length > 0) this.rejoinNeeded = true;
    if (!this.stopped) this.startHeartbeats();
  }

  /** JoinGroup then SyncGroup, retried through the protocol's expected errors. Null when stopped. */
  private async joinAndSync(): Promise<TopicPartitions[] | null> {
    const { groupId, groupInstanceId } = this.options;
    for (;;) {
      if (this.stopped) return null;
      const cooperative = this.protocol === 'COOPERATIVE';
      const metadata = encodeSubscription({
        topics: this.host.subscribedTopics(),
        ownedPartitions: cooperative ? toList(this.owned) : [],
        generationId: cooperative ? this.generationId : -1,
      });
      let join: JoinGroupResult;
      try {
        join = await this.groups.joinGroup({
          groupId,
          memberId: this.memberId,
          groupInstanceId,
          clientId: this.options.clientId,
          clientHost: IN_PROCESS_CLIENT_HOST,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols: this.options.assignors.map((assignor) => ({ name: assignor.name, metadata })),
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
          requireKnownMemberId: true,
        });
      } catch (error) {
        if (error instanceof MemberIdRequiredError) {
          this.memberId = error.memberId;
          continue;
        }
        if (this.isRetriableMembershipError(error)) continue;
        throw error;
      }
      if (this.stopped) return null;
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      let assignments: { memberId: string; assignment: Buffer }[] = [];
      if (join.leaderId === join.memberId && !join.skipAssignment) {
        const topics = new Set<string>();
        for (const member of join.members) for (const topic of decodeSubscription(member.metadata).topics) topics.add(topic);
        const assignor = this.options.assignors.find((candidate) => candidate.name === join.protocolName);
        if (assignor === undefined) {
          throw new Error(`invariant: the group chose protocol "${join.protocolName}", which this member did not offer`);
        }
        assignments = computeGroupAssignment(assignor, join.members, this.host.partitionCounts([...topics]));
      }
      try {
        const sync = await this.groups.syncGroup({
          groupId,
          generationId: join.generationId,
          memberId: join.memberId,
          groupInstanceId,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocolName: join.protocolName,
          assignments,
        });
        return sync.assignment.length === 0 ? [] : decodeAssignment(sync.assignment).assignedPartitions;
      } catch (error) {
        if (this.isRetriableMembershipError(error)) continue;
        throw error;
      }
    }
  }

  /**
   * Errors after which the member simply joins again: a rebalance started, its generation is
   * stale, or it was removed (then with a new member id, its partitions lost).
   */
  private isRetriableMembershipError(error: unknown): boolean {
    if (error instanceof RebalanceInProgressError || error instanceof IllegalGenerationError) return true;
    if (error instanceof UnknownMemberIdError) {
      this.memberId = '';
      this.generationId = -1;
      this.lost = this.owned.size > 0;
      return true;
    }
    return false;
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer !== null) return;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatIntervalMs);
    // Heartbeats alone must not keep the process alive.
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private heartbeat(): void {
    // While JoinGroup is parked the coordinator counts the member alive. Until the member gets
    // there (its handler may still be busy), heartbeats go on, or its session would expire mid-rebalance.
    if (this.stopped || this.joining !== null) return;
    try {
      this.groups.heartbeat({
        groupId: this.options.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
      });
    } catch (error) {
      if (error instanceof RebalanceInProgressError) {
        if (!this.rejoinNeeded) this.requestRejoin();
      } else if (error instanceof UnknownMemberIdError || error instanceof FencedInstanceIdError) {
        this.memberId = error instanceof UnknownMemberIdError ? '' : this.memberId;
        this.generationId = -1;
        this.lost = true;
        this.requestRejoin();
      } else if (error instanceof IllegalGenerationError) {
        this.lost = true;
        this.requestRejoin();
      } else {
        // The coordinator is unavailable (broker closing): the poll loop meets the same error on its next call.
        this.host.wake();
      }
    }
  }
}

function toList(partitions: ReadonlyMap<string, ReadonlySet<number>>): TopicPartitions[] {
  return [...partitions.keys()]
    .sort()
    .map((topic) => ({ topic, partitions: [...partitions.get(topic)!].sort((a, b) => a - b) }))
    .filter((entry) => entry.partitions.length > 0);
}

/** Partitions in `a` and not in `b`. */
function difference(a: ReadonlyMap<string, ReadonlySet<number>>, b: ReadonlyMap<string, ReadonlySet<number>>): TopicPartitions[] {
  const out = new Map<string, Set<number>>();
  for (const [topic, partitions] of a) {
    const other = b.get(topic);
    for (const partition of partitions) {
      if (other !== undefined && other.has(partition)) continue;
      let set = out.get(topic);
      if (set === undefined) out.set(topic, (set = new Set()));
      set.add(partition);
    }
  }
  return toList(out);
}
