/** Replica placement on topic creation: Kafka's rack-unaware round-robin, checked against Kafka's own expectations. */
import { describe, expect, it } from 'vitest';
import { assignReplicas } from '../../src/cluster/placement.js';
import { InvalidReplicationFactorError } from '../../src/errors.js';

describe('assignReplicas (Kafka AdminUtils.assignReplicasToBrokersRackUnaware)', () => {
  it('places 10 partitions with RF 3 over brokers 0-4 exactly as Kafka does with fixedStartIndex 0', () => {
    // Kafka's AdminRackAwareTest.testReplicaAssignment.
    expect(assignReplicas('t', 10, 3, [4, 2, 0, 3, 1], { fixedStartIndex: 0 })).toEqual([
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 0],
      [4, 0, 1],
      [0, 2, 3],
      [1, 3, 4],
      [2, 4, 0],
      [3, 0, 1],
      [4, 1, 2],
    ]);
  });

  it('spreads leaders evenly and never puts two replicas of a partition on one broker, whatever the random start', () => {
    for (let run = 0; run < 50; run++) {
      const assignment = assignReplicas('t', 30, 3, [1, 2, 3]);
      const leaders = new Map<number, number>();
      for (const replicas of assignment) {
        expect(new Set(replicas).size).toBe(3);
        leaders.set(replicas[0], (leaders.get(replicas[0]) ?? 0) + 1);
      }
      expect([...leaders.values()]).toEqual([10, 10, 10]);
    }
  });

  it('places partitions added later from the count they start at (CreatePartitions)', () => {
    const whole = assignReplicas('t', 6, 2, [0, 1, 2], { fixedStartIndex: 1 });
    expect(assignReplicas('t', 3, 2, [0, 1, 2], { fixedStartIndex: 1, startPartition: 3 })).toEqual(whole.slice(3));
  });

  it('refuses a replication factor above the broker count or below 1, naming the brokers available', () => {
    expect(() => assignReplicas('t', 1, 4, [1, 2, 3])).toThrow(InvalidReplicationFactorError);
    expect(() => assignReplicas('t', 1, 4, [1, 2, 3])).toThrow(/only 3 broker\(s\) are available/);
    expect(() => assignReplicas('t', 1, 0, [1, 2, 3])).toThrow(/at least 1/);
  });
});
