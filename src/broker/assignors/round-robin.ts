/**
 * Kafka's RoundRobinAssignor ("roundrobin"), eager. All partitions of all subscribed topics,
 * topics in name order and partitions ascending, are dealt one at a time to the members in
 * Kafka's member order, cycling; a member not subscribed to the partition's topic is skipped
 * (the cycle moves on to the next member that is). With identical subscriptions every member
 * ends within one partition of the others.
 */
import type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './shared.js';
import { compareStrings, emptyAssignment, toTopicPartitions, validatedSortedMembers } from './shared.js';

function assignRoundRobin(members: readonly AssignorMember[], partitionCounts: PartitionCounts): GroupAssignment {
  const sorted = validatedSortedMembers(members, partitionCounts);
  const subscribed = sorted.map((member) => new Set(member.subscription.topics));
  const allTopics = new Set<string>();
  for (const topics of subscribed) for (const topic of topics) if (partitionCounts.has(topic)) allTopics.add(topic);

  const topicsOf = sorted.map((): string[] => []);
  const partitionsOf = sorted.map((): number[] => []);
  let next = 0;
  for (const topic of [...allTopics].sort(compareStrings)) {
    const partitionCount = partitionCounts.get(topic)!;
    for (let partition = 0; partition < partitionCount; partition++) {
      // Some member subscribes to `topic` (it is in allTopics), so this loop ends within one cycle.
      while (!subscribed[next].has(topic)) next = (next + 1) % sorted.length;
      topicsOf[next].push(topic);
      partitionsOf[next].push(partition);
      next = (next + 1) % sorted.length;
    }
  }

  const assignment = emptyAssignment(members);
  sorted.forEach((member, i) => assignment.set(member.memberId, toTopicPartitions(topicsOf[i], partitionsOf[i])));
  return assignment;
}

export const roundRobinAssignor: PartitionAssignor = {
  name: 'roundrobin',
  rebalanceProtocols: ['EAGER'],
  assign: assignRoundRobin,
};
