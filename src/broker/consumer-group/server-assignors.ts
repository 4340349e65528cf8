/**
 * The server-side assignors of consumer groups (KIP-848: the coordinator, not a leader member,
 * computes the target assignment), selected by `group.remote.assignor` / ServerAssignor:
 *
 * - "uniform" (the default, as in Kafka 3.9): balanced and sticky. Each member keeps the target
 *   partitions it had as long as it still subscribes to their topic; the rest go to the eligible
 *   member holding the fewest; then, while a partition can move from a member holding at least two
 *   more than an eligible other, one moves. With identical subscriptions every member ends within
 *   one partition of the others and keeps as many of its partitions as balance allows. Kafka's
 *   UniformAssignor has the same goals; its tie-breaking differs, so the exact partitions may too.
 * - "range": topic by topic, the subscribed members in member-id order take contiguous ranges
 *   (the same algorithm as the client-side range assignor), so co-partitioned topics land together.
 *
 * Deterministic: members and partitions are visited in a fixed order.
 */
import { rangeAssignor } from '../assignors/range.js';
import { compareStrings } from '../assignors/shared.js';
import type { Assignment } from './types.js';

export interface AssignmentMember {
  memberId: string;
  subscribedTopicNames: readonly string[];
  /** The member's partitions in the previous target assignment, by topic id. */
  previous: Assignment;
}

/** Subscribed topics that exist: name -> id and partition count. */
export type TopicsByName = ReadonlyMap<string, { topicId: string; partitionCount: number }>;

export interface ServerAssignor {
  readonly name: string;
  assign(members: readonly AssignmentMember[], topics: TopicsByName): Map<string, Assignment>;
}

export const DEFAULT_SERVER_ASSIGNOR = 'uniform';

const uniformAssignor: ServerAssignor = {
  name: 'uniform',
  assign(members, topics) {
    const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
    const count = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
    const owner = new Map<string, string>(); // "topicId:partition" -> memberId
    const subscribers = new Map<string, AssignmentMember[]>(); // topicId -> members
    for (const member of sorted) {
      for (const name of new Set(member.subscribedTopicNames)) {
        const topic = topics.get(name);
        if (topic === undefined) continue;
        let list = subscribers.get(topic.topicId);
        if (list === undefined) subscribers.set(topic.topicId, (list = []));
        list.push(member);
      }
    }
    const partitionCountById = new Map([...topics.values()].map((t) => [t.topicId, t.partitionCount]));
    // Stickiness: previous target partitions stay with a member that still subscribes to their topic.
    for (const member of sorted) {
      for (const [topicId, partitions] of member.previous) {
        if (!subscribers.get(topicId)?.includes(member)) continue;
        const partitionCount = partitionCountById.get(topicId)!;
        for (const partition of partitions) {
          const key = `${topicId}:${partition}`;
          if (partition >= partitionCount || owner.has(key)) continue;
          owner.set(key, member.memberId);
          count.set(member.memberId, count.get(member.memberId)! + 1);
        }
      }
    }
    // The unowned partitions, topics with the fewest subscribers first, to the least loaded eligible member.
    const topicIds = [...subscribers.keys()].sort((a, b) => subscribers.get(a)!.length - subscribers.get(b)!.length || compareStrings(a, b));
    for (const topicId of topicIds) {
      const eligible = subscribers.get(topicId)!;
      for (let partition = 0; partition < partitionCountById.get(topicId)!; partition++) {
        const key = `${topicId}:${partition}`;
        if (owner.has(key)) continue;
        const chosen = leastLoaded(eligible, count);
        owner.set(key, chosen.memberId);
        count.set(chosen.memberId, count.get(chosen.memberId)! + 1);
      }
    }
    // Balance: move partitions from a member holding two or more than an eligible other, highest
    // partitions first, so a member keeps the lowest of its partitions as Kafka's assignor does.
    for (let moved = true; moved; ) {
      moved = false;
      for (const topicId of topicIds) {
        const eligible = subscribers.get(topicId)!;
        for (let partition = partitionCountById.get(topicId)! - 1; partition >= 0; partition--) {
          const key = `${topicId}:${partition}`;
          const from = owner.get(key)!;
          const to = leastLoaded(eligible, count);
          if (count.get(from)! < count.get(to.memberId)! + 2) continue;
          owner.set(key, to.memberId);
          count.set(from, count.get(from)! - 1);
          count.set(to.memberId, count.get(to.memberId)! + 1);
          moved = true;
        }
      }
    }
    const result = new Map<string, Assignment>(sorted.map((m) => [m.memberId, new Map()]));
    for (const [key, memberId] of owner) {
      const at = key.lastIndexOf(':');
      const topicId = key.slice(0, at);
      const assignment = result.get(memberId)!;
      let partitions = assignment.get(topicId);
      if (partitions === undefined) assignment.set(topicId, (partitions = new Set()));
      partitions.add(Number(key.slice(at + 1)));
    }
    return result;
  },
};

function leastLoaded(members: readonly AssignmentMember[], count: ReadonlyMap<string, number>): AssignmentMember {
  let best = members[0];
  for (const member of members) if (count.get(member.memberId)! < count.get(best.memberId)!) best = member;
  return best;
}

const serverRangeAssignor: ServerAssignor = {
  name: 'range',
  assign(members, topics) {
    const idByName = new Map([...topics].map(([name, topic]) => [name, topic.topicId]));
    const partitionCounts = new Map([...topics].map(([name, topic]) => [name, topic.partitionCount]));
    const assigned = rangeAssignor.assign(
      members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: null,
        subscription: { version: 0, topics: [...member.subscribedTopicNames], userData: null, ownedPartitions: [], generationId: -1, rackId: null },
      })),
      partitionCounts,
    );
    const result = new Map<string, Assignment>();
    for (const [memberId, topicPartitions] of assigned) {
      result.set(memberId, new Map(topicPartitions.map(({ topic, partitions }) => [idByName.get(topic)!, new Set(partitions)])));
    }
    return result;
  },
};

/** Kafka 3.9's group.consumer.assignors default order: the first is used when a member names none. */
export const SERVER_ASSIGNORS: readonly ServerAssignor[] = [uniformAssignor, serverRangeAssignor];
