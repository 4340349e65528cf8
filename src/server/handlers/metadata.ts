/**
 * Metadata: this node as the only broker, the leader of every partition with replicas and ISR
 * [nodeId] (in a cluster: every live broker at its endpoint for the client's listener, the
 * controller, and each partition's leader, epoch, replicas, ISR and offline replicas as the
 * cluster decided, LEADER_NOT_AVAILABLE while it has no leader); topics by name (auto-created when both the request and the broker allow it), or by
 * topic id from v12; per-topic UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION, UNKNOWN_TOPIC_ID.
 * Each partition carries its current leader epoch (v7+), which KIP-320 clients send back in
 * Fetch, ListOffsets and OffsetForLeaderEpoch to be fenced when it is stale.
 * Asked for them (v8+, KIP-430), each topic the caller may describe carries the topic operations
 * its ACLs allow, and (v8-v10) the response the cluster's; topics refused or unknown by id keep
 * Kafka's "not asked" sentinel, as Kafka sets them only on the topics it describes.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { Metadata, type MetadataResponseInput } from '../../protocol/api/metadata.js';
import { ZERO_UUID } from '../../protocol/wire/uuid.js';
import { validateTopicName, type TopicMetadata } from '../../storage/topic-store.js';
import { TopicNotFoundError } from '../../errors.js';
import { AUTHORIZED_OPERATIONS_OMITTED } from '../../protocol/api/describe-cluster.js';
import { authorize, authorizeCluster, authorizedOperations, clusterAuthorizedOperations } from '../authorizer.js';
import type { ClusterView } from '../cluster-view.js';
import { defineHandler, type RequestContext } from './handler.js';

type TopicEntry = MetadataResponseInput['topics'][number];

export const metadataHandler = defineHandler({
  api: Metadata,
  handle(ctx, request) {
    const { nodeId, host, port, clusterId } = ctx.server;
    /** A topic the caller may describe, with its authorized operations when they were asked for. */
    const described = (entry: TopicEntry, name: string): TopicEntry =>
      request.includeTopicAuthorizedOperations ? { ...entry, topicAuthorizedOperations: authorizedOperations(ctx, 'TOPIC', name) } : entry;
    let topics: TopicEntry[];
    if (request.topics === null) {
      // As Kafka, topics the caller may not DESCRIBE are left out, not reported.
      topics = ctx.broker
        .listTopics()
        .filter((metadata) => authorize(ctx, 'DESCRIBE', 'TOPIC', metadata.name))
        .map((metadata) => described(topicEntry(ctx, metadata), metadata.name));
    } else {
      // v0-v3 have no allowAutoTopicCreation: those clients expect Kafka's default, creation allowed.
      const autoCreate = ctx.apiVersion < 4 || request.allowAutoTopicCreation;
      let byId: Map<string, TopicMetadata> | null = null;
      topics = request.topics.map(({ name, topicId }): TopicEntry => {
        if (name === null) {
          byId ??= new Map(ctx.broker.listTopics().map((metadata) => [metadata.topicId, metadata]));
          const metadata = byId.get(topicId);
          if (metadata === undefined) return errorEntry(ErrorCode.UNKNOWN_TOPIC_ID, null, topicId);
          if (!authorize(ctx, 'DESCRIBE', 'TOPIC', metadata.name)) return errorEntry(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null, topicId);
          return described(topicEntry(ctx, metadata), metadata.name);
        }
        if (!authorize(ctx, 'DESCRIBE', 'TOPIC', name) || (autoCreate && autoCreateRefused(ctx, name))) {
          return errorEntry(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, ZERO_UUID);
        }
        try {
          // Kafka refuses an illegal name as such, whether or not the topic would be created.
          validateTopicName(name);
          return described(topicEntry(ctx, ctx.broker.topicMetadata(name, { autoCreate })), name);
        } catch (error) {
          // Kafka describes an unknown or illegal name the caller may describe with its operations too.
          return described(errorEntry(ctx.errorCode(error), name, ZERO_UUID), name);
        }
      });
    }
    const cluster = ctx.server.config.cluster;
    return {
      throttleTimeMs: 0,
      brokers: cluster === null ? [{ nodeId, host, port, rack: null }] : clusterBrokers(cluster, ctx.server.listener.name),
      clusterId,
      controllerId: cluster === null ? nodeId : cluster.controllerId(),
      topics,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? clusterAuthorizedOperations(ctx) : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});

/** Each live broker at its endpoint for the listener the client came through, as Kafka answers per listener. */
function clusterBrokers(cluster: ClusterView, listener: string): MetadataResponseInput['brokers'] {
  const brokers: MetadataResponseInput['brokers'][number][] = [];
  for (const broker of cluster.liveBrokers()) {
    const endpoint = broker.endpoints.find((candidate) => candidate.listener === listener);
    if (endpoint !== undefined) brokers.push({ nodeId: broker.nodeId, host: endpoint.host, port: endpoint.port, rack: broker.rack });
  }
  return brokers;
}

function topicEntry(ctx: RequestContext, metadata: TopicMetadata): TopicEntry {
  const cluster = ctx.server.config.cluster;
  if (cluster !== null) return clusterTopicEntry(cluster, metadata);
  const nodeId = ctx.server.nodeId;
  const partitions = new Array<TopicEntry['partitions'][number]>(metadata.partitionCount);
  for (let partition = 0; partition < metadata.partitionCount; partition++) {
    partitions[partition] = {
      errorCode: ErrorCode.NONE,
      partitionIndex: partition,
      leaderId: nodeId,
      leaderEpoch: leaderEpochOf(ctx, metadata.name, partition),
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    };
  }
  return {
    errorCode: ErrorCode.NONE,
    name: metadata.name,
    topicId: metadata.topicId,
    isInternal: metadata.internal,
    partitions,
  };
}

/**
 * A topic as the cluster places it: each partition's leader, epoch, replicas, ISR and offline
 * replicas as the controller decided. A partition without a live leader (or not yet placed) is
 * LEADER_NOT_AVAILABLE with leader -1, as Kafka answers, so clients retry.
 */
function clusterTopicEntry(cluster: ClusterView, metadata: TopicMetadata): TopicEntry {
  const partitions = new Array<TopicEntry['partitions'][number]>(metadata.partitionCount);
  for (let partition = 0; partition < metadata.partitionCount; partition++) {
    const leadership = cluster.leadership(metadata.name, partition);
    partitions[partition] = {
      errorCode: leadership === null || leadership.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: partition,
      leaderId: leadership?.leader ?? -1,
      leaderEpoch: leadership?.leaderEpoch ?? -1,
      replicaNodes: [...(leadership?.replicas ?? [])],
      isrNodes: [...(leadership?.isr ?? [])],
      offlineReplicas: [...(leadership?.offlineReplicas ?? [])],
    };
  }
  return { errorCode: ErrorCode.NONE, name: metadata.name, topicId: metadata.topicId, isInternal: metadata.internal, partitions };
}

/** The partition's current leader epoch (v7+, KIP-320); -1 while its log is still opening or gone. */
function leaderEpochOf(ctx: RequestContext, topic: string, partition: number): number {
  try {
    return ctx.broker.partitionOffsets(topic, partition).leaderEpoch;
  } catch {
    // Deleted since it was listed: the topic is answered as it was listed, without an epoch.
    return -1;
  }
}

function errorEntry(errorCode: number, name: string | null, topicId: string): TopicEntry {
  return { errorCode, name: name ?? null, topicId, isInternal: false, partitions: [] };
}

/**
 * Kafka: auto-creating a topic needs CREATE on the cluster or on the topic; without it a missing
 * topic is TOPIC_AUTHORIZATION_FAILED (an existing one is described as usual).
 */
function autoCreateRefused(ctx: RequestContext, name: string): boolean {
  if (ctx.server.authorizer === null || authorizeCluster(ctx, 'CREATE') || authorize(ctx, 'CREATE', 'TOPIC', name)) return false;
  try {
    ctx.broker.topicMetadata(name);
    return false;
  } catch (error) {
    if (error instanceof TopicNotFoundError) return true;
    throw error;
  }
}
