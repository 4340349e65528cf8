/**
 * The vocabulary of KIP-848 consumer groups (Kafka's modern/consumer package): assignments keyed by
 * topic id, members with their epochs and reconciliation state, and the group's snapshot as it is
 * stored in __consumer_offsets.
 */

/** Partitions by topic id, as ConsumerGroupHeartbeat names them. */
export type Assignment = Map<string, Set<number>>;

/**
 * Kafka's MemberState: STABLE (has its target or waits for nothing), UNREVOKED_PARTITIONS (must
 * give up partitions before it gets the next epoch), UNRELEASED_PARTITIONS (at the target epoch,
 * waiting for partitions another member still holds).
 */
export type MemberState = 'STABLE' | 'UNREVOKED_PARTITIONS' | 'UNRELEASED_PARTITIONS';

/** Kafka's ConsumerGroupState names, as DescribeGroups/ListGroups/ConsumerGroupDescribe show them. */
export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export interface ConsumerGroupMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[];
  serverAssignor: string | null;
  /** -2 for a static member that left and may come back within its session. */
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  assigned: Assignment;
  pendingRevocation: Assignment;
}

/** A subscribed topic as the group last saw it: a change bumps the group epoch. */
export interface SubscribedTopic {
  topicId: string;
  partitionCount: number;
}

/** Plain-data form of an assignment for storage: [topicId, partitions][]. */
export type StoredAssignment = [string, number[]][];

export interface StoredMember extends Omit<ConsumerGroupMember, 'assigned' | 'pendingRevocation'> {
  assigned: StoredAssignment;
  pendingRevocation: StoredAssignment;
}

/** Everything a restarted coordinator needs to carry a consumer group on. */
export interface ConsumerGroupSnapshot {
  groupId: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: StoredMember[];
  targetAssignment: [string, StoredAssignment][];
  subscriptionMetadata: [string, SubscribedTopic][];
}

/** Where consumer groups live across restarts. */
export interface ConsumerGroupStore {
  storeGroup(snapshot: ConsumerGroupSnapshot): Promise<void>;
  deleteGroup(groupId: string): Promise<void>;
}

export function toStoredAssignment(assignment: Assignment): StoredAssignment {
  return [...assignment].map(([topicId, partitions]) => [topicId, [...partitions].sort((a, b) => a - b)]);
}

export function fromStoredAssignment(stored: StoredAssignment): Assignment {
  return new Map(stored.map(([topicId, partitions]) => [topicId, new Set(partitions)]));
}

export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  if (a.size !== b.size) return false;
  for (const [topicId, partitions] of a) {
    const other = b.get(topicId);
    if (other === undefined || other.size !== partitions.size) return false;
    for (const partition of partitions) if (!other.has(partition)) return false;
  }
  return true;
}
