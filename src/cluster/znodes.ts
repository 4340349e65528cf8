/**
 * Kafka's ZooKeeper layout (kafka.zk.ZkData), the same paths and JSON, so the nodes read as a
 * ZooKeeper-era Kafka cluster's do:
 *
 *   /cluster/id                                  {"version":"1","id":"<cluster id>"}
 *   /controller                    ephemeral     {"version":1,"brokerid":N,"timestamp":"<ms>"}
 *   /controller_epoch                            "<epoch>"  (its data version fences stale controllers)
 *   /brokers/ids/<id>              ephemeral     {"version":5,"host","port","endpoints":["PLAINTEXT://h:p"],
 *                                                 "listener_security_protocol_map",{"rack"},"jmx_port":-1,"timestamp"}
 *   /brokers/topics/<topic>                      {"version":3,"topic_id","partitions":{"0":[1,2,3]},
 *                                                 "adding_replicas":{},"removing_replicas":{}}
 *   /brokers/topics/<topic>/partitions/<p>/state {"version":1,"leader","leader_epoch","controller_epoch","isr":[...]}
 *   /config/topics/<topic>                       {"version":1,"config":{"<name>":"<value>"}}
 *   /admin/delete_topics/<topic>                 (empty: the topic is to be deleted)
 *   /latest_producer_id_block                    {"version":1,"broker":N,"block_start":"<first>","block_end":"<last>"}
 *
 * Decoders validate what they read and throw ClusterError naming the node: a node another program
 * wrote wrong must not crash a broker with a TypeError.
 */
import { ClusterError } from '../errors.js';
import type { ProducerIdBlock } from '../broker/producer-id-manager.js';
import type { ClusterBroker, ClusterEndpoint } from '../server/cluster-view.js';

export const CLUSTER_ID_PATH = '/cluster/id';
export const CONTROLLER_PATH = '/controller';
export const CONTROLLER_EPOCH_PATH = '/controller_epoch';
export const BROKER_IDS_PATH = '/brokers/ids';
export const TOPICS_PATH = '/brokers/topics';
export const TOPIC_CONFIGS_PATH = '/config/topics';
/** A topic marked for deletion: the controller deletes it (Kafka's /admin/delete_topics/<topic>). */
export const DELETE_TOPICS_PATH = '/admin/delete_topics';

/** The last block of producer ids a broker reserved (Kafka's ProducerIdBlockZNode): the next block starts after it. */
export const PRODUCER_ID_BLOCK_PATH = '/latest_producer_id_block';

/** Persistent parents every broker makes sure of before it registers (Kafka's createTopLevelPaths). */
export const TOP_LEVEL_PATHS = [BROKER_IDS_PATH, TOPICS_PATH, TOPIC_CONFIGS_PATH, DELETE_TOPICS_PATH, '/cluster'] as const;

export const brokerPath = (id: number): string => `${BROKER_IDS_PATH}/${id}`;
export const topicPath = (topic: string): string => `${TOPICS_PATH}/${topic}`;
export const partitionsPath = (topic: string): string => `${topicPath(topic)}/partitions`;
export const partitionPath = (topic: string, partition: number): string => `${partitionsPath(topic)}/${partition}`;
export const partitionStatePath = (topic: string, partition: number): string => `${partitionPath(topic, partition)}/state`;
export const topicConfigPath = (topic: string): string => `${TOPIC_CONFIGS_PATH}/${topic}`;
export const deleteTopicPath = (topic: string): string => `${DELETE_TOPICS_PATH}/${topic}`;

/** Kafka's LeaderAndIsr with the epoch of the controller that wrote it. */
export interface PartitionState {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly controllerEpoch: number;
}

export interface TopicAssignment {
  readonly topicId: string;
  /** Replicas of each partition, by partition index; the first is the preferred leader. */
  readonly partitions: readonly (readonly number[])[];
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function parse(path: string, data: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ClusterError(`ZooKeeper node ${path} does not hold JSON: ${JSON.stringify(data.toString('utf8').slice(0, 80))}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ClusterError(`ZooKeeper node ${path} does not hold a JSON object`);
  return value as Record<string, unknown>;
}

function brokerIdList(path: string, field: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new ClusterError(`ZooKeeper node ${path}: "${field}" must be a list of broker ids, got ${JSON.stringify(value)}`);
  }
  return value as number[];
}

function int(path: string, field: string, value: unknown, min: number): number {
  if (!Number.isInteger(value) || (value as number) < min) throw new ClusterError(`ZooKeeper node ${path}: "${field}" must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return value as number;
}

export function encodeClusterId(id: string): Buffer {
  return json({ version: '1', id });
}

export function decodeClusterId(data: Buffer): string {
  const node = parse(CLUSTER_ID_PATH, data);
  if (typeof node.id !== 'string') throw new ClusterError(`ZooKeeper node ${CLUSTER_ID_PATH} has no "id"`);
  return node.id;
}

export function encodeController(brokerId: number): Buffer {
  return json({ version: 1, brokerid: brokerId, timestamp: String(Date.now()) });
}

export function decodeController(data: Buffer): number {
  return int(CONTROLLER_PATH, 'brokerid', parse(CONTROLLER_PATH, data).brokerid, 0);
}

export function decodeControllerEpoch(data: Buffer): number {
  const epoch = Number(data.toString('utf8'));
  if (!Number.isInteger(epoch) || epoch < 0) throw new ClusterError(`ZooKeeper node ${CONTROLLER_EPOCH_PATH} must hold an integer, got ${JSON.stringify(data.toString('utf8'))}`);
  return epoch;
}

/** Kafka's BrokerIdZNode v5 (endpoints by listener name, a security protocol map, the rack when set). */
export function encodeBroker(broker: ClusterBroker): Buffer {
  const first = broker.endpoints[0];
  return json({
    version: 5,
    host: first.host,
    port: first.port,
    endpoints: broker.endpoints.map((endpoint) => `${endpoint.listener}://${endpoint.host}:${endpoint.port}`),
    listener_security_protocol_map: Object.fromEntries(broker.endpoints.map((endpoint) => [endpoint.listener, endpoint.listener])),
    ...(broker.rack === null ? {} : { rack: broker.rack }),
    jmx_port: -1,
    timestamp: String(Date.now()),
  });
}

const ENDPOINT = /^([A-Za-z0-9_]+):\/\/(\[[^\]]+\]|[^:]*):(\d+)$/;

export function decodeBroker(id: number, data: Buffer): ClusterBroker {
  const path = brokerPath(id);
  const node = parse(path, data);
  if (!Array.isArray(node.endpoints)) throw new ClusterError(`ZooKeeper node ${path} has no "endpoints" list`);
  const endpoints = node.endpoints.map((text): ClusterEndpoint => {
    const match = typeof text === 'string' ? ENDPOINT.exec(text) : null;
    if (match === null) throw new ClusterError(`ZooKeeper node ${path}: endpoint ${JSON.stringify(text)} is not LISTENER://host:port`);
    return { listener: match[1], host: match[2].replace(/^\[|\]$/g, ''), port: Number(match[3]) };
  });
  return { nodeId: id, rack: typeof node.rack === 'string' ? node.rack : null, endpoints };
}

export function encodeTopicAssignment(assignment: TopicAssignment): Buffer {
  return json({
    version: 3,
    topic_id: assignment.topicId,
    partitions: Object.fromEntries(assignment.partitions.map((replicas, partition) => [String(partition), replicas])),
    adding_replicas: {},
    removing_replicas: {},
  });
}

export function decodeTopicAssignment(topic: string, data: Buffer): TopicAssignment {
  const path = topicPath(topic);
  const node = parse(path, data);
  if (typeof node.topic_id !== 'string') throw new ClusterError(`ZooKeeper node ${path} has no "topic_id"`);
  const byPartition = node.partitions;
  if (byPartition === null || typeof byPartition !== 'object') throw new ClusterError(`ZooKeeper node ${path} has no "partitions" object`);
  const entries = Object.entries(byPartition as Record<string, unknown>);
  const partitions: number[][] = new Array(entries.length);
  for (const [key, replicas] of entries) {
    const partition = Number(key);
    if (!Number.isInteger(partition) || partition < 0 || partition >= entries.length) {
      throw new ClusterError(`ZooKeeper node ${path}: partitions must be numbered 0 to ${entries.length - 1}, found ${JSON.stringify(key)}`);
    }
    partitions[partition] = brokerIdList(path, `partitions.${key}`, replicas);
  }
  return { topicId: node.topic_id, partitions };
}

export function encodePartitionState(state: PartitionState): Buffer {
  return json({ controller_epoch: state.controllerEpoch, leader: state.leader, version: 1, leader_epoch: state.leaderEpoch, isr: state.isr });
}

export function decodePartitionState(topic: string, partition: number, data: Buffer): PartitionState {
  const path = partitionStatePath(topic, partition);
  const node = parse(path, data);
  return {
    leader: int(path, 'leader', node.leader, -1),
    leaderEpoch: int(path, 'leader_epoch', node.leader_epoch, 0),
    isr: brokerIdList(path, 'isr', node.isr),
    controllerEpoch: int(path, 'controller_epoch', node.controller_epoch, 0),
  };
}

export function encodeTopicConfig(configs: Readonly<Record<string, string>>): Buffer {
  return json({ version: 1, config: configs });
}

export function decodeTopicConfig(topic: string, data: Buffer): Record<string, string> {
  const path = topicConfigPath(topic);
  const config = parse(path, data).config;
  if (config === null || typeof config !== 'object' || !Object.values(config).every((value) => typeof value === 'string')) {
    throw new ClusterError(`ZooKeeper node ${path}: "config" must be an object of strings`);
  }
  return config as Record<string, string>;
}

/** Kafka's ProducerIdBlockZNode: the first and last (inclusive) ids as decimal strings, as Kafka writes them. */
export function encodeProducerIdBlock(brokerId: number, block: ProducerIdBlock): Buffer {
  return json({ version: 1, broker: brokerId, block_start: String(block.firstProducerId), block_end: String(block.firstProducerId + block.size - 1) });
}

export function decodeProducerIdBlock(data: Buffer): ProducerIdBlock {
  const path = PRODUCER_ID_BLOCK_PATH;
  const node = parse(path, data);
  const first = Number(node.block_start);
  const last = Number(node.block_end);
  if (!Number.isSafeInteger(first) || first < 0 || !Number.isSafeInteger(last) || last < first) {
    throw new ClusterError(`ZooKeeper node ${path}: "block_start" and "block_end" must be integers with 0 <= start <= end, got ${JSON.stringify(node.block_start)} and ${JSON.stringify(node.block_end)}`);
  }
  return { firstProducerId: first, size: last - first + 1 };
}
