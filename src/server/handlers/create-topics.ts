/**
 * CreateTopics. numPartitions -1 asks for the broker's default; replicationFactor must be 1 or -1
 * on a single node (INVALID_REPLICATION_FACTOR otherwise); a manual assignment is accepted when it
 * places every partition on this node alone. Configs are validated as topic configs
 * (INVALID_CONFIG names the bad one). validateOnly checks everything and creates nothing.
 * From v5 a created topic is echoed with its partition count, replication factor and configs.
 * In a cluster (ServerConfig.cluster) the cluster places the replicas over its live brokers,
 * any replication factor up to their count, and answers once every partition has a leader.
 */
import { InvalidConfigError, InvalidPartitionsError, InvalidReplicationFactorError, InvalidRequestError, KafkaApiError, TopicExistsError, TopicNotFoundError } from '../../errors.js';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponseInput } from '../../protocol/api/create-topics.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { describeTopicConfigs, validateTopicConfigs, type TopicConfigOverrides } from '../../storage/topic-config.js';
import { validateTopicName } from '../../storage/topic-store.js';
import { configSourceId } from './describe-configs.js';
import { authorize, authorizeCluster } from '../authorizer.js';
import { defineHandler, errorMessageOf, type RequestContext } from './handler.js';

type TopicRequest = CreateTopicsRequest['topics'][number];
type TopicResponse = CreateTopicsResponseInput['topics'][number];

const DEFAULT = -1;

export const createTopicsHandler = defineHandler({
  api: CreateTopics,
  async handle(ctx, request) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const topics: TopicResponse[] = [];
    // As Kafka: CREATE on the cluster allows every topic, else CREATE on each topic is needed.
    const createsAny = authorizeCluster(ctx, 'CREATE');
    // One at a time: each creation is a durable metadata write, and later topics may depend on earlier ones.
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        topics.push(failed(topic.name, ErrorCode.INVALID_REQUEST, `topic "${topic.name}" appears more than once in the request`));
        continue;
      }
      if (!createsAny && !authorize(ctx, 'CREATE', 'TOPIC', topic.name)) {
        topics.push(failed(topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, `not authorized to CREATE topic "${topic.name}"`));
        continue;
      }
      try {
        const response = await createTopic(ctx, topic, request.validateOnly);
        // As Kafka: the created topic's configs are shown only to a caller that may DESCRIBE_CONFIGS it.
        topics.push(authorize(ctx, 'DESCRIBE_CONFIGS', 'TOPIC', topic.name) ? response : { ...response, configs: [], topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
      } catch (error) {
        topics.push(failed(topic.name, ctx.errorCode(error), errorMessageOf(error)));
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});

async function createTopic(ctx: RequestContext, topic: TopicRequest, validateOnly: boolean): Promise<TopicResponse> {
  validateTopicName(topic.name);
  const partitions = partitionCount(ctx, topic);
  const cluster = ctx.server.config.cluster;
  if (cluster === null && topic.assignments.length === 0 && topic.replicationFactor !== DEFAULT && topic.replicationFactor !== 1) {
    throw new InvalidReplicationFactorError(topic.name, topic.replicationFactor);
  }
  const input: Record<string, string> = {};
  for (const { name, value } of topic.configs) {
    if (value === null) throw new InvalidConfigError(`config ${name} of topic "${topic.name}" has a null value; give a value or leave it out`);
    if (Object.hasOwn(input, name)) throw new InvalidConfigError(`config ${name} of topic "${topic.name}" is given twice`);
    input[name] = value;
  }
  const configs = validateTopicConfigs(input);
  if (validateOnly) {
    ensureAbsent(ctx, topic.name);
    return created(topic.name, undefined, partitions ?? DEFAULT, configs, cluster === null ? 1 : topic.replicationFactor);
  }
  if (cluster !== null) {
    // The cluster places the replicas over its brokers and waits for every partition's leader.
    const assignments = topic.assignments.length === 0 ? undefined : [...topic.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((entry) => entry.brokerIds);
    const metadata = await cluster.createTopic({
      name: topic.name,
      ...(partitions === undefined || assignments !== undefined ? {} : { partitions }),
      ...(topic.replicationFactor === DEFAULT ? {} : { replicationFactor: topic.replicationFactor }),
      ...(assignments === undefined ? {} : { assignments }),
      configs: input,
    });
    return created(metadata.name, metadata.topicId, metadata.partitionCount, metadata.configs, cluster.replicationFactorOf(metadata.name));
  }
  const metadata = await ctx.broker.createTopic(topic.name, { partitions, configs });
  return created(metadata.name, metadata.topicId, metadata.partitionCount, metadata.configs, 1);
}

/** The partition count asked for, or undefined for the broker's default. */
function partitionCount(ctx: RequestContext, topic: TopicRequest): number | undefined {
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== DEFAULT || topic.replicationFactor !== DEFAULT) {
      throw new InvalidRequestError('numPartitions and replicationFactor must be -1 when assignments are given');
    }
    const seen = new Set<number>();
    for (const { partitionIndex, brokerIds } of topic.assignments) {
      if (partitionIndex < 0 || partitionIndex >= topic.assignments.length || seen.has(partitionIndex)) {
        throw invalidAssignment(`assignments must name partitions 0 to ${topic.assignments.length - 1} once each`);
      }
      seen.add(partitionIndex);
      // A cluster checks the brokers when it places the topic.
      if (ctx.server.config.cluster === null) checkBrokerIds(ctx, brokerIds);
    }
    return topic.assignments.length;
  }
  if (topic.numPartitions === DEFAULT) return undefined;
  if (topic.numPartitions < 1) {
    throw new InvalidPartitionsError(`numPartitions must be at least 1 (or -1 for the broker's default), got ${topic.numPartitions}`);
  }
  return topic.numPartitions;
}

/** A replica list on a single-node cluster: exactly this node. */
export function checkBrokerIds(ctx: RequestContext, brokerIds: readonly number[]): void {
  if (brokerIds.length !== 1 || brokerIds[0] !== ctx.server.nodeId) {
    throw invalidAssignment(`replicas [${brokerIds.join(', ')}] cannot be placed: this cluster is the single node ${ctx.server.nodeId}`);
  }
}

export function invalidAssignment(message: string): KafkaApiError {
  return new KafkaApiError('INVALID_REPLICA_ASSIGNMENT', ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
}

function ensureAbsent(ctx: RequestContext, name: string): void {
  try {
    ctx.broker.topicMetadata(name);
  } catch (error) {
    if (error instanceof TopicNotFoundError) return;
    throw error;
  }
  throw new TopicExistsError(name);
}

function created(name: string, topicId: string | undefined, numPartitions: number, configs: TopicConfigOverrides, replicationFactor: number): TopicResponse {
  return {
    name,
    topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    numPartitions,
    replicationFactor,
    configs: describeTopicConfigs(configs).map((entry) => ({
      name: entry.name,
      value: entry.value,
      readOnly: entry.readOnly,
      configSource: configSourceId(entry.source),
      isSensitive: entry.sensitive,
    })),
  };
}

function failed(name: string, errorCode: number, errorMessage: string): TopicResponse {
  return { name, errorCode, errorMessage, numPartitions: DEFAULT, replicationFactor: DEFAULT, configs: [] };
}
