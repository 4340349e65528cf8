/**
 * Kafka's RangeAssignor ("range"), eager. Topic by topic: the members subscribed to the topic,
 * in Kafka's member order, each take a contiguous range of its partitions. With n partitions and
 * m members every member gets floor(n / m) and the first n % m members one more, so the first
 * members of the order carry the extra partition of every topic (co-partitioned topics land on
 * the same member: partition p of A and of B go together).
 */
import type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './shared.js';
import { compareStrings, emptyAssignment, toTopicPartitions, validatedSortedMembers } from './shared.js';

function assignRange(members: readonly AssignorMember[], partitionCounts: PartitionCounts): GroupAssignment {
  const sorted = validatedSortedMembers(members, partitionCounts);
  const subscribersByTopic = new Map<string, AssignorMember[]>();
  for (const member of sorted) {
    for (const topic of new Set(member.subscription.topics)) {
      if (!partitionCounts.has(topic)) continue;
      let subscribers = subscribersByTopic.get(topic);
      if (subscribers === undefined) subscribersByTopic.set(topic, (subscribers = []));
      subscribers.push(member);
    }
  }

  const topicsOf = new Map<string, string[]>();
  const partitionsOf = new Map<string, number[]>();
  for (const member of sorted) {
    topicsOf.set(member.memberId, []);
    partitionsOf.set(member.memberId, []);
  }
  for (const topic of [...subscribersByTopic.keys()].sort(compareStrings)) {
    const subscribers = subscribersByTopic.get(topic)!;
    const partitionCount = partitionCounts.get(topic)!;
    const perMember = Math.floor(partitionCount / subscribers.length);
    const withExtra = partitionCount % subscribers.length;
    for (let i = 0; i < subscribers.length; i++) {
      const start = perMember * i + Math.min(i, withExtra);
      const length = perMember + (i < withExtra ? 1 : 0);
      const topics = topicsOf.get(subscribers[i].memberId)!;
      const partitions = partitionsOf.get(subscribers[i].memberId)!;
      for (let p = start; p < start + length; p++) {
        topics.push(topic);
        partitions.push(p);
      }
    }
  }

  const assignment = emptyAssignment(members);
  for (const member of sorted) {
    assignment.set(member.memberId, toTopicPartitions(topicsOf.get(member.memberId)!, partitionsOf.get(member.memberId)!));
  }
  return assignment;
}

export const rangeAssignor: PartitionAssignor = {
  name: 'range',
  rebalanceProtocols: ['EAGER'],
  assign: assignRange,
};
