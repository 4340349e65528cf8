/**
 * One member's step towards its target assignment (Kafka's CurrentAssignmentBuilder), run on each
 * of its heartbeats until it is reconciled to the target assignment epoch:
 *
 * - Partitions it holds that the target no longer gives it are pending revocation: it stays at its
 *   epoch (UNREVOKED_PARTITIONS) until a heartbeat no longer reports them as owned.
 * - Only then does it move to the target epoch and get the target's new partitions, except those
 *   another member still holds (assigned or pending revocation): those are unreleased
 *   (UNRELEASED_PARTITIONS) and given on a later heartbeat once freed.
 *
 * So no partition is ever held by two members at once.
 */
import type { Assignment, ConsumerGroupMember } from './types.js';

/** The topic partitions a heartbeat reports as owned; null when it did not send them. */
export type OwnedPartitions = readonly { topicId: string; partitions: readonly number[] }[] | null;

/** Whether a member other than `memberId` holds the partition (assigned or pending revocation). */
export type HeldElsewhere = (topicId: string, partition: number) => boolean;

export function reconcileMember(
  member: ConsumerGroupMember,
  targetEpoch: number,
  target: Assignment,
  owned: OwnedPartitions,
  heldElsewhere: HeldElsewhere,
): ConsumerGroupMember {
  switch (member.state) {
    case 'STABLE':
      return member.memberEpoch !== targetEpoch ? nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, heldElsewhere) : member;
    case 'UNREVOKED_PARTITIONS':
      if (ownsAnyOf(owned, member.pendingRevocation)) return member;
      return nextAssignment(member, member.memberEpoch + 1, targetEpoch, target, owned, heldElsewhere);
    case 'UNRELEASED_PARTITIONS':
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, heldElsewhere);
  }
}

/** A heartbeat that sent no owned partitions is taken to still own everything (Kafka does the same). */
function ownsAnyOf(owned: OwnedPartitions, partitions: Assignment): boolean {
  if (owned === null) return true;
  for (const { topicId, partitions: ownedPartitions } of owned) {
    const pending = partitions.get(topicId);
    if (pending === undefined) continue;
    for (const partition of ownedPartitions) if (pending.has(partition)) return true;
  }
  return false;
}

function nextAssignment(
  member: ConsumerGroupMember,
  memberEpoch: number,
  targetEpoch: number,
  target: Assignment,
  owned: OwnedPartitions,
  heldElsewhere: HeldElsewhere,
): ConsumerGroupMember {
  let hasUnreleased = false;
  const assigned: Assignment = new Map();
  const revoking: Assignment = new Map();
  const toAssign: Assignment = new Map();
  const topicIds = new Set([...target.keys(), ...member.assigned.keys()]);
  for (const topicId of topicIds) {
    const targetPartitions = target.get(topicId) ?? new Set<number>();
    const current = member.assigned.get(topicId) ?? new Set<number>();
    const kept = new Set([...current].filter((p) => targetPartitions.has(p)));
    const revoked = new Set([...current].filter((p) => !kept.has(p)));
    const added = new Set<number>();
    for (const partition of targetPartitions) {
      if (kept.has(partition)) continue;
      if (heldElsewhere(topicId, partition)) hasUnreleased = true;
      else added.add(partition);
    }
    if (kept.size > 0) assigned.set(topicId, kept);
    if (revoked.size > 0) revoking.set(topicId, revoked);
    if (added.size > 0) toAssign.set(topicId, added);
  }
  if (revoking.size > 0 && ownsAnyOf(owned, revoking)) {
    return { ...member, state: 'UNREVOKED_PARTITIONS', ...epochs(member, memberEpoch), assigned, pendingRevocation: revoking };
  }
  for (const [topicId, partitions] of toAssign) {
    const into = assigned.get(topicId);
    if (into === undefined) assigned.set(topicId, partitions);
    else for (const partition of partitions) into.add(partition);
  }
  return {
    ...member,
    state: hasUnreleased ? 'UNRELEASED_PARTITIONS' : 'STABLE',
    ...epochs(member, targetEpoch),
    assigned,
    pendingRevocation: new Map(),
  };
}

/** Kafka's updateMemberEpoch: the epoch the member had becomes its previous one. */
function epochs(member: ConsumerGroupMember, memberEpoch: number): { memberEpoch: number; previousMemberEpoch: number } {
  return { memberEpoch, previousMemberEpoch: member.memberEpoch };
}
