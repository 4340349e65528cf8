/**
 * What the protocol server asks of a cluster, when it is one node of several: the live brokers,
 * the controller, each partition's leader, replicas and in-sync replicas, and topic creation
 * placed over the brokers. A single-node server has none (KafkaServerOptions.cluster unset) and
 * answers from the local broker alone; src/cluster implements it over ZooKeeper. It lives here,
 * below src/cluster, so the handlers ask it without importing upward.
 */
import { NotCoordinatorError, NotEnoughReplicasError, NotLeaderOrFollowerError, PartitionNotFoundError, ReplicationIncompleteError, TopicNotFoundError } from '../errors.js';
import type { BrokerApi } from '../broker/broker-api.js';
import type { TopicPartitionRef } from '../broker/group-types.js';
import { CONSUMER_OFFSETS_TOPIC } from '../broker/offset-store.js';
import type { TxnMarker } from '../broker/transaction-types.js';
import { BATCH_HEADER_BYTES, batchSizeAt, readBaseOffset, readLastOffsetDelta } from '../protocol/batch-header.js';
import type { TopicConfigValue } from '../storage/topic-config.js';
import type { TopicMetadata } from '../storage/topic-store.js';

/** One listener of a live broker, as the broker registered it. */
export interface ClusterEndpoint {
  /** The listener name (PLAINTEXT, SSL...), matched against the listener a client came through. */
  readonly listener: string;
  readonly host: string;
  readonly port: number;
}

export interface ClusterBroker {
  readonly nodeId: number;
  readonly rack: string | null;
  readonly endpoints: readonly ClusterEndpoint[];
}

/** A partition's leadership as the controller last decided it (Kafka's LeaderAndIsr). */
export interface PartitionLeadership {
  /** The leader's broker id; -1 while the partition has no live leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  /** The assigned replicas, the preferred leader first. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** Assigned replicas whose broker is not live. */
  readonly offlineReplicas: readonly number[];
}

export interface ClusterTopicRequest {
  readonly name: string;
  /** Unset: the broker's num.partitions. */
  readonly partitions?: number;
  /** Unset: default.replication.factor. */
  readonly replicationFactor?: number;
  /** Explicit replicas per partition, in partition order; replaces partitions and replicationFactor. */
  readonly assignments?: readonly (readonly number[])[];
  readonly configs: Readonly<Record<string, string>>;
}

/** ElectLeaders' kinds (Kafka's ElectionType): the preferred replica, or any live replica where no ISR member is live. */
export type ElectionType = 'preferred' | 'unclean';

/** One partition's outcome of an election: error null when it was elected and this broker sees it led so. */
export interface ElectionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly error: Error | null;
}

export interface ClusterView {
  /** Live brokers, by ascending id. */
  liveBrokers(): readonly ClusterBroker[];
  /** The controller's broker id, -1 while there is none. */
  controllerId(): number;
  /** The partition's live leader (-1 for none), or null when the cluster knows no such partition: leadership's leader, without building the rest. */
  leaderOf(topic: string, partition: number): number | null;
  /** The partition's leadership, or null when the cluster knows no such partition (yet). */
  leadership(topic: string, partition: number): PartitionLeadership | null;
  /** Places, records and waits for a new topic cluster-wide; throws TopicExistsError, InvalidReplicationFactorError... */
  createTopic(request: ClusterTopicRequest): Promise<TopicMetadata>;
  /** Marks the topic for deletion and waits until the controller deleted it and this broker dropped its logs. */
  deleteTopic(name: string): Promise<void>;
  /** Grows the topic to `count` partitions, placed over the live brokers (or as `assignments` says), and waits for their leaders. */
  createPartitions(name: string, count: number, assignments?: readonly (readonly number[])[]): Promise<void>;
  /**
   * Changes a topic's config overrides on every broker (null removes one): written to the
   * topic's config node, applied by each broker as it sees it; resolves once this broker has.
   * validateOnly checks and changes nothing. A topic the cluster does not hold (an internal one)
   * is this broker's own, changed here alone.
   */
  alterTopicConfigs(name: string, changes: Readonly<Record<string, TopicConfigValue | null>>, options: { validateOnly: boolean }): Promise<TopicMetadata>;
  /**
   * Kafka's ElectLeaders as its ZooKeeper-era controller serves it: on the controller, elects each
   * partition (`null`: every partition of the cluster) and resolves once this broker sees the new
   * leaders, or after timeoutMs (REQUEST_TIMED_OUT for those not seen); elsewhere every partition
   * fails with NotControllerError. Per partition: ElectionNotNeededError, PreferredLeaderNotAvailableError,
   * EligibleLeadersNotAvailableError, or UNKNOWN_TOPIC_OR_PARTITION.
   */
  electLeaders(type: ElectionType, partitions: readonly { topic: string; partition: number }[] | null, timeoutMs: number): Promise<ElectionOutcome[]>;
  /** The replication factor of a topic (for CreateTopics' answer). */
  replicationFactorOf(topic: string): number;
  /**
   * The broker coordinating `kind`: the leader of partition 0 of its internal topic
   * (__consumer_offsets, __transaction_state; one partition each), -1 while none is live. The
   * first ask creates the topic when the cluster has none yet (-1 until it is online).
   */
  coordinatorOf(kind: CoordinatorKind): number;
  /**
   * The partition's high watermark on this broker, given its log end offset: the end of what
   * consumers read (Kafka's HW, the minimum log end offset over the ISR on the leader).
   */
  highWatermark(topic: string, partition: number, logEndOffset: number): number;
  /** On the leader: follower `replicaId` fetched the partition from `fetchOffset`, its log end offset. */
  recordFollowerFetch(topic: string, partition: number, replicaId: number, fetchOffset: number): void;
  /**
   * acks=all's wait (Kafka's DelayedProduce): resolves true once the high watermark reaches
   * `offset` (the ISR holds everything below it), false after timeoutMs.
   */
  waitForHighWatermark(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/** Whose coordinator: a consumer group's or a transactional id's. */
export type CoordinatorKind = 'group' | 'transaction';

/** The endpoint of broker `nodeId` for the listener `listener`, or null when it is not live or has none. */
export function endpointOf(cluster: ClusterView, nodeId: number, listener: string): ClusterEndpoint | null {
  const broker = cluster.liveBrokers().find((candidate) => candidate.nodeId === nodeId);
  return broker?.endpoints.find((endpoint) => endpoint.listener === listener) ?? null;
}

/**
 * Throws NotLeaderOrFollowerError unless this node leads the partition; outside a cluster (no
 * view) the node leads everything and this costs one comparison.
 */
export function checkLeader(cluster: ClusterView | null, nodeId: number, topic: string, partition: number): void {
  if (cluster === null) return;
  const leader = cluster.leaderOf(topic, partition);
  // A partition the cluster does not know is the log's to report (UNKNOWN_TOPIC_OR_PARTITION).
  if (leader !== null && leader !== nodeId) throw new NotLeaderOrFollowerError(topic, partition, nodeId, leader);
}

/**
 * Throws NotCoordinatorError unless this node leads the internal partition of the `kind`
 * coordinator, so a client still talking to a former coordinator looks it up again
 * (FindCoordinator) instead of being served by a second copy of the group; outside a cluster the
 * node coordinates everything. The broker itself then answers COORDINATOR_LOAD_IN_PROGRESS until
 * it has loaded the partition's state.
 */
export function checkCoordinator(cluster: ClusterView | null, nodeId: number, kind: CoordinatorKind): void {
  if (cluster === null) return;
  const coordinator = cluster.coordinatorOf(kind);
  if (coordinator !== nodeId) {
    throw new NotCoordinatorError(`broker ${nodeId} is not the ${kind} coordinator (${coordinator === -1 ? 'none is live now' : `broker ${coordinator} is`}); look it up again with FindCoordinator`);
  }
}

/**
 * Kafka's check before an acks=all append (Partition.appendRecordsToLeader): the partition's ISR
 * must hold at least min.insync.replicas, else NotEnoughReplicasError and nothing is written.
 * Called for acks=all in a cluster only.
 */
export function checkMinInsync(cluster: ClusterView, minInsyncReplicas: number, topic: string, partition: number): void {
  const isr = cluster.leadership(topic, partition)?.isr;
  if (isr !== undefined && isr.length < minInsyncReplicas) throw new NotEnoughReplicasError(topic, partition, isr, minInsyncReplicas);
}

/**
 * acks=all in a cluster (Kafka's DelayedProduce): waits, up to timeoutMs, until the ISR holds
 * every record up to `lastOffset`, then checks the ISR still meets min.insync.replicas.
 */
export async function awaitInsyncReplicas(cluster: ClusterView, minInsyncReplicas: number, topic: string, partition: number, lastOffset: number, timeoutMs: number): Promise<void> {
  if (!(await cluster.waitForHighWatermark(topic, partition, lastOffset + 1, timeoutMs))) throw new ReplicationIncompleteError(topic, partition, lastOffset, { timeoutMs });
  const isr = cluster.leadership(topic, partition)?.isr ?? [];
  if (isr.length < minInsyncReplicas) throw new ReplicationIncompleteError(topic, partition, lastOffset, { isr, minInsyncReplicas });
}

/**
 * The batches of `records` that end below `offset` (whole batches: a high watermark falls between
 * batches, since followers fetch whole ones). Returns `records` itself when all do.
 */
export function batchesBelow(records: Buffer, offset: number): Buffer {
  let position = 0;
  while (position + BATCH_HEADER_BYTES <= records.length) {
    if (readBaseOffset(records, position) + readLastOffsetDelta(records, position) >= offset) break;
    position += batchSizeAt(records, position);
  }
  return position >= records.length ? records : records.subarray(0, position);
}

/**
 * Kafka's WriteTxnMarkers on a leader (KafkaApis.handleWriteTxnMarkersRequest): the marker is
 * appended to each partition this broker leads, with acks=-1 in a cluster (answered once the ISR
 * holds it); on __consumer_offsets the group coordinator completes the staged offsets instead,
 * its own append waiting for the ISR. Per partition, null when done, else the error (a
 * partition gone meanwhile counts as done, as the coordinator skips deleted topics).
 */
export async function writeMarkersAsLeader(
  broker: BrokerApi,
  cluster: ClusterView | null,
  nodeId: number,
  partitions: readonly TopicPartitionRef[],
  marker: TxnMarker,
  timeoutMs: number,
): Promise<(unknown | null)[]> {
  return Promise.all(
    partitions.map(async ({ topic, partition }) => {
      try {
        checkLeader(cluster, nodeId, topic, partition);
        await broker.writeTxnMarkers([{ topic, partition }], marker);
        if (cluster === null || topic === CONSUMER_OFFSETS_TOPIC) return null;
        const end = broker.partitionOffsets(topic, partition).logEndOffset;
        if (!(await cluster.waitForHighWatermark(topic, partition, end, timeoutMs))) throw new ReplicationIncompleteError(topic, partition, end - 1, { timeoutMs });
        return null;
      } catch (error) {
        return error instanceof TopicNotFoundError || error instanceof PartitionNotFoundError ? null : error;
      }
    }),
  );
}
