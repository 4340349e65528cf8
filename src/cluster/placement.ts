/**
 * Replica placement on topic creation: Kafka's rack-unaware round-robin
 * (AdminUtils.assignReplicasToBrokersRackUnaware). Over the broker ids sorted ascending, the first
 * replica of partition p is broker (p + startIndex) mod n, so leaders spread evenly; the others
 * follow at a shift that grows by one every n partitions, so followers spread too and no two
 * replicas of a partition share a broker. startIndex and the first shift are random unless
 * fixed, as Kafka does, so topics created one after another do not all lead on the same broker.
 */
import { InvalidReplicationFactorError, InvalidPartitionsError } from '../errors.js';

export interface PlacementOptions {
  /** Kafka's fixedStartIndex: the start index and first shift; unset for random ones. */
  readonly fixedStartIndex?: number;
  /** The first partition to place (CreatePartitions places from the current count). */
  readonly startPartition?: number;
}

/** Replicas of each partition (index 0 is startPartition), the preferred leader first. */
export function assignReplicas(
  topic: string,
  partitions: number,
  replicationFactor: number,
  brokerIds: readonly number[],
  options: PlacementOptions = {},
): number[][] {
  if (!Number.isInteger(partitions) || partitions < 1) throw new InvalidPartitionsError(`topic "${topic}" needs at least 1 partition, got ${partitions}`);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new InvalidReplicationFactorError(topic, replicationFactor, 'it must be at least 1');
  }
  if (replicationFactor > brokerIds.length) {
    // Kafka's message: "Replication factor: 3 larger than available brokers: 2."
    throw new InvalidReplicationFactorError(topic, replicationFactor, `only ${brokerIds.length} broker(s) are available; start more brokers or lower it`);
  }
  const brokers = [...brokerIds].sort((a, b) => a - b);
  const n = brokers.length;
  const fixed = options.fixedStartIndex;
  const startIndex = fixed ?? Math.floor(Math.random() * n);
  let shift = fixed ?? Math.floor(Math.random() * n);
  const assignment: number[][] = [];
  for (let partition = options.startPartition ?? 0, placed = 0; placed < partitions; partition++, placed++) {
    if (partition > 0 && partition % n === 0) shift++;
    const first = (partition + startIndex) % n;
    const replicas = [brokers[first]];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n]);
    assignment.push(replicas);
  }
  return assignment;
}
