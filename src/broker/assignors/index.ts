/**
 * Partition assignors: how a consumer group's leader splits the subscribed topics' partitions
 * among the members. In Kafka they run on the client (the leader member, after JoinGroup), not
 * on the broker; here each is a pure function so the embedded consumer and tests can run them.
 *
 * Names are Kafka's (`partition.assignment.strategy` values): a Java, librdkafka or Sluice
 * consumer offering "range" in JoinGroup means the same algorithm in all of them.
 */
import { InvalidRequestError } from '../../errors.js';
import {
  ASSIGNMENT_MAX_VERSION,
  decodeSubscription,
  encodeAssignment,
  type Subscription,
  type TopicPartitions,
} from '../consumer-protocol.js';
import { rangeAssignor } from './range.js';
import { roundRobinAssignor } from './round-robin.js';
import { cooperativeStickyAssignor } from './cooperative-sticky.js';

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
 * The built-in assignors. A function, not a constant: the assignor modules import this module's
 * helpers, and reading their bindings only at call time keeps that cycle safe in any import order.
 */
export function builtInAssignors(): readonly PartitionAssignor[] {
  return [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor];
}

export function assignorByName(name: string): PartitionAssignor {
  const assignors = builtInAssignors();
  const assignor = assignors.find((candidate) => candidate.name === name);
  if (assignor === undefined) {
    throw new InvalidRequestError(
      `no partition assignor named "${name}"; available: ${assignors.map((a) => a.name).join(', ')}`,
    );
  }
  return assignor;
}

/** A JoinGroup member as the leader receives it: its id and the protocol metadata it sent. */
export interface JoinedMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

/**
 * The leader's step between JoinGroup and SyncGroup: decodes every member's subscription, runs
 * the assignor and encodes each member's assignment, ready for SyncGroup's assignments field.
 */
export function computeGroupAssignment(
  assignor: PartitionAssignor,
  members: readonly JoinedMember[],
  partitionCounts: PartitionCounts,
  assignmentVersion = ASSIGNMENT_MAX_VERSION,
): { memberId: string; assignment: Buffer }[] {
  const decoded = members.map((member) => ({
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId,
    subscription: decodeSubscription(member.metadata),
  }));
  const assignment = assignor.assign(decoded, partitionCounts);
  return decoded.map(({ memberId }) => ({
    memberId,
    assignment: encodeAssignment({ assignedPartitions: assignment.get(memberId) ?? [] }, assignmentVersion),
  }));
}

// ---- Helpers shared by the assignors ----

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
