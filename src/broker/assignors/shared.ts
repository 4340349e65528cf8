/**
 * What the assignors share: the member and assignment types and the input checks and orderings
 * every algorithm applies. Its own module so the assignors and the registry in index.ts import
 * downward only.
 */
import { InvalidRequestError } from '../../errors.js';
import type { Subscription, TopicPartitions } from '../consumer-protocol.js';

/** EAGER: members give up everything before each rebalance. COOPERATIVE: only what moves. */
export type RebalanceProtocol = 'EAGER' | 'COOPERATIVE';

export interface AssignorMember {
  memberId: string;
  /** Static members (group.instance.id) sort before dynamic ones, by instance id, as in Kafka. */
  groupInstanceId: string | null;
  subscription: Subscription;
}

/** Partition count of every topic the assignor may hand out; subscribed topics not listed are skipped. */
export type PartitionCounts = ReadonlyMap<string, number>;

/** Each member's partitions: every input member has an entry, topics sorted, partitions ascending. */
export type GroupAssignment = Map<string, TopicPartitions[]>;

export interface PartitionAssignor {
  /** The protocol name offered in JoinGroup. */
  readonly name: string;
  /** Rebalance protocols the assignor supports, preferred first. */
  readonly rebalanceProtocols: readonly RebalanceProtocol[];
  assign(members: readonly AssignorMember[], partitionCounts: PartitionCounts): GroupAssignment;
}

/**
 * Kafka's member order (AbstractPartitionAssignor.MemberInfo.compareTo): static members first,
 * by group instance id, then dynamic ones by member id. Code-unit comparison, as Java's String.
 */
export function compareMembers(a: AssignorMember, b: AssignorMember): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return compareStrings(a.groupInstanceId, b.groupInstanceId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return compareStrings(a.memberId, b.memberId);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks assignor inputs and returns the members in Kafka's order. */
export function validatedSortedMembers(
  members: readonly AssignorMember[],
  partitionCounts: PartitionCounts,
): AssignorMember[] {
  const seen = new Set<string>();
  for (const member of members) {
    if (typeof member.memberId !== 'string') throw new InvalidRequestError('assignor member ids must be strings');
    if (seen.has(member.memberId)) {
      throw new InvalidRequestError(`member "${member.memberId}" appears twice in the assignor input`);
    }
    seen.add(member.memberId);
    if (!Array.isArray(member.subscription?.topics) || !Array.isArray(member.subscription.ownedPartitions)) {
      throw new InvalidRequestError(
        `member "${member.memberId}" needs a subscription with topics and ownedPartitions arrays (decodeSubscription gives one)`,
      );
    }
  }
  for (const [topic, count] of partitionCounts) {
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidRequestError(`topic "${topic}" has partition count ${count}; topics have at least 1 partition`);
    }
  }
  return [...members].sort(compareMembers);
}

/** Groups (topic, partition) pairs by topic, topics sorted and partitions ascending. */
export function toTopicPartitions(topics: readonly string[], partitions: readonly number[]): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (let i = 0; i < topics.length; i++) {
    let list = byTopic.get(topics[i]);
    if (list === undefined) byTopic.set(topics[i], (list = []));
    list.push(partitions[i]);
  }
  return [...byTopic.keys()]
    .sort(compareStrings)
    .map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((x, y) => x - y) }));
}

/** An empty assignment entry for every member, in the given order. */
export function emptyAssignment(members: readonly AssignorMember[]): GroupAssignment {
  const assignment: GroupAssignment = new Map();
  for (const member of members) assignment.set(member.memberId, []);
  return assignment;
}
