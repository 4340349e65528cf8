/**
 * ElectLeaders, as Kafka's ZooKeeper-era broker serves it (KafkaApis.handleElectLeaders): ALTER on
 * the cluster is required (else CLUSTER_AUTHORIZATION_FAILED at the top and for every partition
 * named); in a cluster the controller elects and answers once it sees the new leaders, and any
 * other broker answers NOT_CONTROLLER for every partition. A single broker is every partition's
 * only replica and its leader: each partition it holds answers ELECTION_NOT_NEEDED. Asked for
 * every partition (a null list), the answer leaves out those that needed no election.
 */
import { ElectionNotNeededError, InvalidRequestError, PartitionNotFoundError } from '../../errors.js';
import { CLUSTER_NAME } from '../../broker/acl/acl.js';
import type { BrokerApi } from '../../broker/broker-api.js';
import { ELECTION_TYPE_PREFERRED, ELECTION_TYPE_UNCLEAN, ElectLeaders, type ElectLeadersResponseInput } from '../../protocol/api/elect-leaders.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { requireAuthorized } from '../authorizer.js';
import type { ElectionOutcome, ElectionType } from '../cluster-view.js';
import { defineHandler, errorMessageOf } from './handler.js';

type TopicResult = ElectLeadersResponseInput['replicaElectionResults'][number];

export const electLeadersHandler = defineHandler({
  api: ElectLeaders,
  async handle(ctx, request): Promise<ElectLeadersResponseInput> {
    const named = request.topicPartitions === null ? null : distinctPartitions(request.topicPartitions);
    const failAll = (error: Error): ElectLeadersResponseInput => ({
      throttleTimeMs: 0,
      errorCode: ctx.errorCode(error),
      replicaElectionResults: group((named ?? []).map(({ topic, partition }) => ({ topic, partition, error })), ctx.errorCode),
    });
    try {
      requireAuthorized(ctx, 'ALTER', 'CLUSTER', CLUSTER_NAME);
    } catch (error) {
      return failAll(error as Error);
    }
    if (request.electionType !== ELECTION_TYPE_PREFERRED && request.electionType !== ELECTION_TYPE_UNCLEAN) {
      return failAll(new InvalidRequestError(`election type ${request.electionType} is unknown: 0 elects the preferred replica, 1 a live replica where no in-sync one is`));
    }
    const type: ElectionType = request.electionType === ELECTION_TYPE_PREFERRED ? 'preferred' : 'unclean';
    const cluster = ctx.server.config.cluster;
    const outcomes = cluster === null ? singleBrokerOutcomes(ctx.broker, named ?? []) : await cluster.electLeaders(type, named, request.timeoutMs);
    // Kafka leaves out, of an election over every partition, those that needed none.
    const reported = named === null ? outcomes.filter(({ error }) => !(error instanceof ElectionNotNeededError)) : outcomes;
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: group(reported, ctx.errorCode) };
  },
});

/** The request's partitions without repeats (Kafka reads them into a set), in the order first named. */
function distinctPartitions(topics: readonly { topic: string; partitions: readonly number[] }[]): { topic: string; partition: number }[] {
  const seen = new Set<string>();
  const partitions: { topic: string; partition: number }[] = [];
  for (const { topic, partitions: indexes } of topics) {
    for (const partition of indexes) {
      const key = `${topic}\0${partition}`;
      if (seen.has(key)) continue;
      seen.add(key);
      partitions.push({ topic, partition });
    }
  }
  return partitions;
}

/**
 * A broker alone is the leader and only replica of each of its partitions, so no election changes
 * anything; a partition it does not hold is UNKNOWN_TOPIC_OR_PARTITION. Outside a cluster a null
 * list asks for nothing that would be reported.
 */
export function singleBrokerOutcomes(broker: BrokerApi, partitions: readonly { topic: string; partition: number }[]): ElectionOutcome[] {
  return partitions.map(({ topic, partition }) => {
    try {
      const { partitionCount } = broker.topicMetadata(topic);
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) throw new PartitionNotFoundError(topic, partition, partitionCount);
      return { topic, partition, error: new ElectionNotNeededError(topic, partition, 'a single broker is the only replica and the leader of its partitions') };
    } catch (error) {
      return { topic, partition, error: error as Error };
    }
  });
}

/** Outcomes grouped by topic, in the order topics first appear. */
function group(outcomes: readonly ElectionOutcome[], errorCode: (error: unknown) => number): TopicResult[] {
  const byTopic = new Map<string, TopicResult['partitionResult'][number][]>();
  for (const { topic, partition, error } of outcomes) {
    let results = byTopic.get(topic);
    if (results === undefined) byTopic.set(topic, (results = []));
    results.push({ partitionId: partition, errorCode: error === null ? ErrorCode.NONE : errorCode(error), errorMessage: error === null ? null : errorMessageOf(error) });
  }
  return [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult }));
}
