/**
 * One consumer group's state (Kafka's GroupMetadata): its state machine, members, generation,
 * leader and chosen protocol. Pure bookkeeping with invariants asserted; the coordinator drives
 * it and owns the timers and the stores.
 *
 * States and their legal predecessors, as Kafka's:
 *   Empty               <- PreparingRebalance            (no members; may still hold offsets)
 *   PreparingRebalance  <- Empty, Stable, CompletingRebalance   (collecting JoinGroups)
 *   CompletingRebalance <- PreparingRebalance            (waiting for the leader's SyncGroup)
 *   Stable              <- CompletingRebalance           (assignment handed out)
 *   Dead                <- any                           (being deleted)
 */
import type { TimerHandle } from './coordinator-clock.js';
import type { GroupMember } from './group-member.js';
import type { GroupProtocol, GroupSnapshot, GroupState, JoinGroupMember, JoinGroupResult, SyncGroupResult } from './group-types.js';

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Empty', 'Stable', 'CompletingRebalance'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

export class Group {
  readonly groupId: string;
  state: GroupState;
  stateTimestampMs: number;
  /** Set by the first member to join an empty group; kept while the group is Empty. */
  protocolType: string | null = null;
  /** The protocol chosen for the current generation; null when Empty. */
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  /** Members by id, in the order they joined (that order picks a replacement leader). */
  readonly members = new Map<string, GroupMember>();
  /** group.instance.id -> member id, for static members. */
  private readonly staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED whose owners have not joined yet, with their expiry timers. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  private awaitingJoinCount = 0;
  /** Protocol name -> number of members offering it. */
  private readonly protocolSupport = new Map<string, number>();
  /** Offsets were committed (or the group was restored): an Empty group is kept, not forgotten. */
  mayHaveOffsets = false;
  /** A member joined during the initial rebalance delay, which may then be extended. */
  newMemberAdded = false;
  /** The pending end of the join phase (rebalance timeout or initial delay), if any. */
  joinTimer: TimerHandle | null = null;
  /** True while `joinTimer` is an initial delay, which does not end early when everyone has joined. */
  joinTimerIsInitialDelay = false;
  /** The pending end of the sync phase (members that never send SyncGroup are removed then). */
  syncTimer: TimerHandle | null = null;

  constructor(groupId: string, state: GroupState, nowMs: number) {
    this.groupId = groupId;
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember {
    const member = this.members.get(memberId);
    if (member === undefined) throw new Error(`invariant: ${memberId} is not a member of group ${this.groupId}`);
    return member;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  get canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  transitionTo(state: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS_STATES[state].includes(this.state)) {
      throw new Error(`invariant: group ${this.groupId} cannot go from ${this.state} to ${state}`);
    }
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  currentStaticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  add(member: GroupMember, joinWaiter: GroupMember['joinWaiter']): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(`invariant: group instance ${member.groupInstanceId} is already a member of ${this.groupId}`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.protocolType !== member.protocolType || this.has(member.memberId)) {
      throw new Error(`invariant: member ${member.memberId} cannot be added to group ${this.groupId}`);
    }
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countProtocols(member.protocols, 1);
    member.joinWaiter = joinWaiter;
    if (joinWaiter !== null) this.awaitingJoinCount++;
  }

  /** Removes the member from every structure; the caller settles its waiters and clears its timer first. */
  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member !== undefined) {
      this.members.delete(memberId);
      this.countProtocols(member.protocols, -1);
      if (member.isAwaitingJoin) this.awaitingJoinCount--;
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingSyncMembers.delete(memberId);
  }

  /** New protocols and parked JoinGroup for an existing member; a replaced waiter is the caller's to settle. */
  updateMember(member: GroupMember, protocols: GroupProtocol[], joinWaiter: GroupMember['joinWaiter']): void {
    this.countProtocols(member.protocols, -1);
    member.protocols = protocols;
    this.countProtocols(protocols, 1);
    if (joinWaiter !== null && !member.isAwaitingJoin) this.awaitingJoinCount++;
    else if (joinWaiter === null && member.isAwaitingJoin) this.awaitingJoinCount--;
    member.joinWaiter = joinWaiter;
  }

  /** Settles the member's parked JoinGroup, if any. */
  completeJoin(member: GroupMember, outcome: JoinGroupResult | Error): void {
    const waiter = member.joinWaiter;
    if (waiter === null) return;
    member.joinWaiter = null;
    this.awaitingJoinCount--;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  /** Settles the member's parked SyncGroup, if any; true if there was one. */
  completeSync(member: GroupMember, outcome: SyncGroupResult | Error): boolean {
    const waiter = member.syncWaiter;
    if (waiter === null) return false;
    member.syncWaiter = null;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
    return true;
  }

  /** Every known member has rejoined and no MEMBER_ID_REQUIRED handshake is half done. */
  get hasAllMembersJoined(): boolean {
    return this.members.size === this.awaitingJoinCount && this.pendingMembers.size === 0;
  }

  get awaitingJoinMembers(): number {
    return this.awaitingJoinCount;
  }

  notYetRejoinedMembers(): GroupMember[] {
    return [...this.members.values()].filter((member) => !member.isAwaitingJoin);
  }

  /**
   * Keeps the leader if it rejoined, else promotes the first member that did. False when no
   * member rejoined (or the group has no leader), so the generation cannot start yet.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.get(this.leaderId).isAwaitingJoin) return true;
    for (const member of this.members.values()) {
      if (member.isAwaitingJoin) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  /**
   * A static member's instance came back with an unknown member id: the member keeps its place,
   * assignment and leadership under `newMemberId`. Returns it; the caller fences the old id's
   * parked calls before this.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.get(oldMemberId);
    if (member.isAwaitingJoin || member.isAwaitingSync) {
      throw new Error(`invariant: static member ${oldMemberId} still has parked calls`);
    }
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  /** Largest rebalance timeout among members: how long the join phase waits for all of them. */
  get rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    return timeoutMs;
  }

  /**
   * May a member with this protocol type and protocol names join? An empty group takes any
   * non-empty offer; otherwise the type must match and one protocol must be one every current
   * member offers.
   */
  supportsProtocols(protocolType: string, protocolNames: readonly string[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocolNames.length > 0;
    return (
      this.protocolType === protocolType &&
      protocolNames.some((name) => (this.protocolSupport.get(name) ?? 0) === this.members.size)
    );
  }

  /**
   * Kafka's protocol choice: among the protocols every member offers, each member votes for its
   * most preferred one and the most votes win. Ties go to the protocol voted first in join order
   * (Kafka leaves ties to hash order; this keeps the choice deterministic).
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`invariant: cannot select a protocol for empty group ${this.groupId}`);
    const candidates = new Set<string>();
    for (const [name, count] of this.protocolSupport) if (count === this.members.size) candidates.add(name);
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let chosen = '';
    let most = 0;
    for (const [name, count] of votes) {
      if (count > most) {
        chosen = name;
        most = count;
      }
    }
    return chosen;
  }

  /** Starts the next generation: CompletingRebalance with a chosen protocol, or Empty. */
  initNextGeneration(nowMs: number): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.transitionTo('CompletingRebalance', nowMs);
    } else {
      this.protocolName = null;
      this.transitionTo('Empty', nowMs);
    }
    this.pendingSyncMembers.clear();
  }

  /** The JoinGroup response's member list, which only the leader receives. */
  currentMemberMetadata(): JoinGroupMember[] {
    const protocolName = this.protocolName;
    if (protocolName === null || this.is('Dead') || this.is('PreparingRebalance')) {
      throw new Error(`invariant: group ${this.groupId} in ${this.state} has no member metadata to hand out`);
    }
    return [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadataFor(protocolName),
    }));
  }

  /** What the metadata store keeps: Kafka's GroupMetadataValue record. */
  snapshot(assignments: ReadonlyMap<string, Buffer> | null): GroupSnapshot {
    const protocolName = this.protocolName;
    return {
      groupId: this.groupId,
      protocolType: this.protocolType,
      generationId: this.generationId,
      protocolName,
      leaderId: this.leaderId,
      stateTimestampMs: this.stateTimestampMs,
      members:
        protocolName === null
          ? []
          : [...this.members.values()].map((member) => ({
              memberId: member.memberId,
              groupInstanceId: member.groupInstanceId,
              clientId: member.clientId,
              clientHost: member.clientHost,
              rebalanceTimeoutMs: member.rebalanceTimeoutMs,
              sessionTimeoutMs: member.sessionTimeoutMs,
              subscription: member.metadataFor(protocolName),
              assignment: assignments === null ? member.assignment : (assignments.get(member.memberId) ?? member.assignment),
            })),
    };
  }

  private countProtocols(protocols: readonly GroupProtocol[], delta: 1 | -1): void {
    for (const { name } of protocols) {
      const count = (this.protocolSupport.get(name) ?? 0) + delta;
      if (count < 0) throw new Error(`invariant: protocol ${name} counted below zero in group ${this.groupId}`);
      if (count === 0) this.protocolSupport.delete(name);
      else this.protocolSupport.set(name, count);
    }
  }
}
