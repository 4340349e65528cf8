/**
 * A cluster as ZooKeeper records it, read once (`sluice cluster status`): the cluster id, the
 * controller and its epoch, the live brokers with their endpoints, and every partition's
 * replicas, leader, leader epoch and ISR. Read straight from the znodes, so it shows the
 * controller's decisions even when no broker answers.
 */
import type { ClusterBroker } from '../server/cluster-view.js';
import { ZooKeeperSession } from './zookeeper.js';
import {
  BROKER_IDS_PATH,
  CLUSTER_ID_PATH,
  CONTROLLER_EPOCH_PATH,
  CONTROLLER_PATH,
  TOPICS_PATH,
  brokerPath,
  decodeBroker,
  decodeClusterId,
  decodeController,
  decodeControllerEpoch,
  decodePartitionState,
  decodeTopicAssignment,
  partitionStatePath,
  topicPath,
} from './znodes.js';

export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  /** -1: no leader (no state yet, or no live replica). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

export interface ClusterStatus {
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly controllerEpoch: number;
  readonly brokers: readonly ClusterBroker[];
  readonly partitions: readonly PartitionStatus[];
}

export async function readClusterStatus(zookeeper: string, timeoutMs = 10_000): Promise<ClusterStatus> {
  const session = await ZooKeeperSession.connect(zookeeper, { sessionTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs });
  try {
    const clusterIdNode = await session.getData(CLUSTER_ID_PATH);
    const controllerNode = await session.getData(CONTROLLER_PATH);
    const epochNode = await session.getData(CONTROLLER_EPOCH_PATH);
    const brokers: ClusterBroker[] = [];
    for (const id of ((await session.getChildren(BROKER_IDS_PATH)) ?? []).map(Number).sort((a, b) => a - b)) {
      const node = await session.getData(brokerPath(id));
      if (node !== null) brokers.push(decodeBroker(id, node.data));
    }
    const partitions: PartitionStatus[] = [];
    for (const topic of ((await session.getChildren(TOPICS_PATH)) ?? []).sort()) {
      const node = await session.getData(topicPath(topic));
      if (node === null) continue;
      for (const [partition, replicas] of decodeTopicAssignment(topic, node.data).partitions.entries()) {
        const stateNode = await session.getData(partitionStatePath(topic, partition));
        const state = stateNode === null ? null : decodePartitionState(topic, partition, stateNode.data);
        partitions.push({ topic, partition, replicas, leader: state?.leader ?? -1, leaderEpoch: state?.leaderEpoch ?? -1, isr: state?.isr ?? [] });
      }
    }
    return {
      clusterId: clusterIdNode === null ? null : decodeClusterId(clusterIdNode.data),
      controllerId: controllerNode === null ? -1 : decodeController(controllerNode.data),
      controllerEpoch: epochNode === null ? 0 : decodeControllerEpoch(epochNode.data),
      brokers,
      partitions,
    };
  } finally {
    session.close();
  }
}
