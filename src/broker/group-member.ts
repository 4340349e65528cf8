/**
 * One member of a consumer group, as the coordinator tracks it (Kafka's MemberMetadata): its
 * identity, the protocols it offered in JoinGroup, its assignment, the JoinGroup / SyncGroup
 * calls parked until the rebalance moves on, and its session deadline.
 */
import type { TimerHandle } from './coordinator-clock.js';
import type { GroupProtocol, JoinGroupResult, SyncGroupResult } from './group-types.js';

/** A parked call: settled exactly once, by the coordinator. */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

const EMPTY = Buffer.alloc(0);

export class GroupMember {
  /** Mutable only for a static member whose instance rejoins under a new member id. */
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly protocolType: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Offered protocols in the member's order of preference. */
  protocols: GroupProtocol[];
  /** What the leader assigned it in the current generation (empty until then). */
  assignment: Buffer = EMPTY;
  /**
   * Joined during the current rebalance and not yet through it: such a member cannot heartbeat
   * (it has no generation yet), so it is held to the new-member join timeout instead.
   */
  isNew = false;
  joinWaiter: Waiter<JoinGroupResult> | null = null;
  syncWaiter: Waiter<SyncGroupResult> | null = null;
  /** The member is alive until this time unless it shows up again (heartbeat, join, sync, commit). */
  sessionDeadlineMs = 0;
  sessionTimer: TimerHandle | null = null;
  /** When `sessionTimer` fires; it may fire before the deadline, which then re-arms it. */
  sessionTimerAtMs = 0;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    protocolType: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocols: GroupProtocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.protocolType = init.protocolType;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocols = init.protocols;
  }

  get isAwaitingJoin(): boolean {
    return this.joinWaiter !== null;
  }

  get isAwaitingSync(): boolean {
    return this.syncWaiter !== null;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  /**
   * Whether the member is alive at `nowMs` (Kafka's hasSatisfiedHeartbeat): a member parked in
   * JoinGroup or SyncGroup cannot heartbeat, so it counts as alive, except a new member, which
   * has only its join timeout.
   */
  isAliveAt(nowMs: number): boolean {
    if (!this.isNew && (this.isAwaitingJoin || this.isAwaitingSync)) return true;
    return nowMs < this.sessionDeadlineMs;
  }

  /** Same protocols, in the same order, with byte-identical metadata. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      if (protocols[i].name !== this.protocols[i].name || !protocols[i].metadata.equals(this.protocols[i].metadata)) {
        return false;
      }
    }
    return true;
  }

  /** The member's most preferred protocol among `candidates`. */
  vote(candidates: ReadonlySet<string>): string {
    const choice = this.protocols.find((protocol) => candidates.has(protocol.name));
    if (choice === undefined) {
      throw new Error(`invariant: member ${this.memberId} supports none of the candidate protocols`);
    }
    return choice.name;
  }

  metadataFor(protocolName: string): Buffer {
    const protocol = this.protocols.find((candidate) => candidate.name === protocolName);
    if (protocol === undefined) {
      throw new Error(`invariant: member ${this.memberId} does not support protocol ${protocolName}`);
    }
    return protocol.metadata;
  }
}
