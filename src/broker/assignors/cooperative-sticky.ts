/**
 * Kafka's CooperativeStickyAssignor ("cooperative-sticky"): balanced, sticky, incremental.
 *
 * Balanced: no partition could move from a member A to a member B subscribed to its topic with
 * count(A) >= count(B) + 2 (with identical subscriptions: every member within one partition of
 * the others). Sticky: members keep the partitions they report owning (Subscription
 * ownedPartitions) unless balance needs them elsewhere; with identical subscriptions a member
 * keeps at least min(owned, floor(partitions / members)) of them. Incremental (KIP-429): a
 * partition that must move from A to B is left out of everyone's assignment in this generation;
 * A revokes it, rejoins because it revoked something, and the next rebalance hands it to B.
 * So no partition is ever owned by two members at once.
 *
 * Ownership claims, as Kafka validates them: a claim counts only for a partition that exists.
 * When several members claim one partition, the claim made in the highest generation wins
 * (Subscription v2+ generationId, or for v0/v1 the int32 generation the Java assignor puts in
 * userData); if two claims tie at that generation, neither member keeps it, and the partition is
 * withheld from everyone for this generation so both revoke it first.
 *
 * Algorithm: (1) every member keeps its winning claims on topics it still subscribes to;
 * (2) the remaining partitions, most constrained first (fewest subscribed members), go to the
 * eligible member holding the fewest; (3) while some partition can move from a member holding at
 * least two more than an eligible other, move one, taking partitions the giver did not own
 * before first; (4) partitions assigned to a member other than their current owner are withheld.
 * Every step visits members and partitions in a fixed order, so the result is deterministic.
 */
import type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './shared.js';
import { compareStrings, emptyAssignment, toTopicPartitions, validatedSortedMembers } from './shared.js';

const NO_MEMBER = -1;
/** Kafka's DEFAULT_GENERATION: a claim without a known generation. */
const DEFAULT_GENERATION = -1;

function assignCooperativeSticky(members: readonly AssignorMember[], partitionCounts: PartitionCounts): GroupAssignment {
  const sorted = validatedSortedMembers(members, partitionCounts);
  const memberCount = sorted.length;

  // Partitions of every topic someone subscribes to, numbered densely: pid = topicBase + partition.
  const subscribedTopics = new Set<string>();
  for (const member of sorted) {
    for (const topic of member.subscription.topics) if (partitionCounts.has(topic)) subscribedTopics.add(topic);
  }
  const topics = [...subscribedTopics].sort(compareStrings);
  const topicBase = new Map<string, number>();
  const pidTopic: number[] = [];
  const pidPartition: number[] = [];
  topics.forEach((topic, topicIndex) => {
    topicBase.set(topic, pidTopic.length);
    const count = partitionCounts.get(topic)!;
    for (let p = 0; p < count; p++) {
      pidTopic.push(topicIndex);
      pidPartition.push(p);
    }
  });
  const partitionTotal = pidTopic.length;

  // eligible[m][topicIndex]: member m subscribes to the topic.
  const eligible = sorted.map((member) => {
    const row = new Uint8Array(topics.length);
    for (const topic of member.subscription.topics) {
      const base = topicBase.get(topic);
      if (base !== undefined) row[pidTopic[base]] = 1;
    }
    return row;
  });
  const subscriberCount = new Int32Array(topics.length);
  for (const row of eligible) for (let t = 0; t < topics.length; t++) subscriberCount[t] += row[t];

  // (claims) The winning claimant per partition, or NO_MEMBER; contested partitions have none.
  const owner = new Int32Array(partitionTotal).fill(NO_MEMBER);
  const ownerGeneration = new Int32Array(partitionTotal).fill(DEFAULT_GENERATION - 1);
  const contested = new Uint8Array(partitionTotal);
  sorted.forEach((member, m) => {
    const generation = claimGeneration(member);
    const seen = new Set<number>();
    for (const { topic, partitions } of member.subscription.ownedPartitions) {
      const base = topicBase.get(topic);
      if (base === undefined) continue;
      const count = partitionCounts.get(topic)!;
      for (const partition of partitions) {
        if (!Number.isInteger(partition) || partition < 0 || partition >= count) continue;
        const pid = base + partition;
        if (seen.has(pid)) continue;
        seen.add(pid);
        if (generation > ownerGeneration[pid]) {
          owner[pid] = m;
          ownerGeneration[pid] = generation;
          contested[pid] = 0;
        } else if (generation === ownerGeneration[pid]) {
          owner[pid] = NO_MEMBER;
          contested[pid] = 1;
        }
      }
    }
  });

  // (1) Keep winning claims on still-subscribed topics.
  const assigned: number[][] = sorted.map((): number[] => []);
  const held = new Uint8Array(partitionTotal);
  for (let pid = 0; pid < partitionTotal; pid++) {
    const m = owner[pid];
    if (m !== NO_MEMBER && eligible[m][pidTopic[pid]] === 1) {
      assigned[m].push(pid);
      held[pid] = 1;
    }
  }

  // (2) Unheld partitions, most constrained first, to the eligible member holding the fewest.
  const unheld: number[] = [];
  for (let pid = 0; pid < partitionTotal; pid++) if (held[pid] === 0) unheld.push(pid);
  unheld.sort((a, b) => subscriberCount[pidTopic[a]] - subscriberCount[pidTopic[b]] || a - b);
  for (const pid of unheld) {
    let best = NO_MEMBER;
    for (let m = 0; m < memberCount; m++) {
      if (eligible[m][pidTopic[pid]] === 1 && (best === NO_MEMBER || assigned[m].length < assigned[best].length)) best = m;
    }
    // Every topic here has a subscriber, so `best` exists.
    assigned[best].push(pid);
  }

  // (3) Balance: each move lowers the sum of squared counts by at least 2, so the loop ends.
  const byCount = Array.from({ length: memberCount }, (_, m) => m);
  for (;;) {
    byCount.sort((a, b) => assigned[a].length - assigned[b].length || a - b);
    let moved = false;
    for (let hi = memberCount - 1; hi >= 0 && !moved; hi--) {
      const giver = byCount[hi];
      for (let lo = 0; lo < memberCount; lo++) {
        const taker = byCount[lo];
        if (assigned[giver].length - assigned[taker].length < 2) break;
        const index = movableIndex(assigned[giver], eligible[taker], pidTopic);
        if (index < 0) continue;
        const [pid] = assigned[giver].splice(index, 1);
        assigned[taker].push(pid);
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }

  // (4) Withhold what changes hands: the current owner must revoke it first.
  const assignment = emptyAssignment(members);
  sorted.forEach((member, m) => {
    const topicNames: string[] = [];
    const partitions: number[] = [];
    for (const pid of assigned[m]) {
      const transferring = contested[pid] === 1 || (owner[pid] !== NO_MEMBER && owner[pid] !== m);
      if (transferring) continue;
      topicNames.push(topics[pidTopic[pid]]);
      partitions.push(pidPartition[pid]);
    }
    assignment.set(member.memberId, toTopicPartitions(topicNames, partitions));
  });
  return assignment;
}

/**
 * Index in `pids` of the partition to give away to a member with subscriptions `takerEligible`,
 * or -1. The last one fits: a member's list starts with what it kept, so what it got in this
 * assignment goes first, and what it owned before goes only when nothing else can.
 */
function movableIndex(pids: readonly number[], takerEligible: Uint8Array, pidTopic: readonly number[]): number {
  for (let i = pids.length - 1; i >= 0; i--) if (takerEligible[pidTopic[pids[i]]] === 1) return i;
  return -1;
}

/** The generation a member's ownedPartitions claim belongs to (Kafka's memberData()). */
function claimGeneration(member: AssignorMember): number {
  const { version, generationId, userData } = member.subscription;
  if (version >= 2) return generationId;
  // v0/v1 subscriptions of the Java assignor carry the generation as a 4-byte int32 in userData.
  if (userData !== null && userData.length === 4) return userData.readInt32BE(0);
  return DEFAULT_GENERATION;
}

export const cooperativeStickyAssignor: PartitionAssignor = {
  name: 'cooperative-sticky',
  rebalanceProtocols: ['COOPERATIVE', 'EAGER'],
  assign: assignCooperativeSticky,
};
