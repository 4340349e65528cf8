/**
 * What a cluster gives the broker's group and transaction coordinators when their state lives in
 * replicated internal topics (cluster mode, Broker option `clusterCoordinators`). The broker sits
 * below the cluster in the layer order, so the cluster hands it this object
 * (`Broker.attachCoordinatorCluster`) and then tells it when it gains or loses the leadership of
 * an internal partition (`loadCoordinator`, `unloadCoordinator`).
 */
import type { TopicPartitionRef } from './group-types.js';
import type { ProducerIdSource, TxnMarker } from './transaction-types.js';

export interface CoordinatorCluster {
  /**
   * Before a coordinator appends to its internal partition (Kafka's coordinators append with
   * acks=-1): throws NotCoordinatorError when this broker no longer leads it, NotEnoughReplicasError
   * when its ISR is below min.insync.replicas (nothing is written then).
   */
  checkAppend(topic: string, partition: number): void;
  /**
   * After the append: resolves once the ISR holds every record up to `lastOffset` (the high
   * watermark passed it); throws when it does not in time or the ISR shrank below
   * min.insync.replicas (the coordinators answer COORDINATOR_NOT_AVAILABLE then, as Kafka's do).
   */
  awaitReplicated(topic: string, partition: number, lastOffset: number): Promise<void>;
  /**
   * Kafka's TransactionMarkerChannelManager: writes the marker on each partition's leader (this
   * broker's own partitions here, the others with WriteTxnMarkers) and resolves once every ISR
   * holds it. The group coordinator's partition of __consumer_offsets is one of them: its leader
   * completes the offsets the producer staged there.
   */
  writeTxnMarkers(partitions: readonly TopicPartitionRef[], marker: TxnMarker): Promise<void>;
  /** Producer ids unique across the cluster's brokers. */
  readonly producerIds: ProducerIdSource;
}
