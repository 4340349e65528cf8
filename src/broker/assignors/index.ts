/**
 * Partition assignors: how a consumer group's leader splits the subscribed topics' partitions
 * among the members. In Kafka they run on the client (the leader member, after JoinGroup), not
 * on the broker; here each is a pure function so the embedded consumer and tests can run them.
 *
 * Names are Kafka's (`partition.assignment.strategy` values): a Java, librdkafka or Sluice
 * consumer offering "range" in JoinGroup means the same algorithm in all of them.
 */
import { InvalidRequestError } from '../../errors.js';
import { ASSIGNMENT_MAX_VERSION, decodeSubscription, encodeAssignment } from '../consumer-protocol.js';
import type { PartitionAssignor, PartitionCounts } from './shared.js';
import { rangeAssignor } from './range.js';
import { roundRobinAssignor } from './round-robin.js';
import { cooperativeStickyAssignor } from './cooperative-sticky.js';

export type {
  AssignorMember,
  GroupAssignment,
  PartitionAssignor,
  PartitionCounts,
  RebalanceProtocol,
} from './shared.js';

/** The built-in assignors, in the order a consumer offers them by default. */
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
