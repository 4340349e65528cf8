/**
 * CreatePartitions: grows a topic to `count` partitions. Shrinking or keeping the count is
 * INVALID_PARTITIONS; a manual assignment must give one replica list per new partition, each
 * exactly this node (in a cluster: live brokers, or placed round-robin as Kafka does when none is
 * given; the answer waits for the new partitions' leaders). validateOnly checks and changes nothing.
 */
import { InvalidPartitionsError } from '../../errors.js';
import { CreatePartitions, type CreatePartitionsResponseInput } from '../../protocol/api/create-partitions.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { checkBrokerIds, invalidAssignment } from './create-topics.js';
import { requireAuthorized } from '../authorizer.js';
import { defineHandler, errorMessageOf } from './handler.js';

type Result = CreatePartitionsResponseInput['results'][number];

export const createPartitionsHandler = defineHandler({
  api: CreatePartitions,
  async handle(ctx, request) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const results: Result[] = [];
    for (const { name, count, assignments } of request.topics) {
      if (counts.get(name)! > 1) {
        results.push({ name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic "${name}" appears more than once in the request` });
        continue;
      }
      try {
        requireAuthorized(ctx, 'ALTER', 'TOPIC', name);
        const current = ctx.broker.topicMetadata(name).partitionCount;
        if (count <= current) {
          throw new InvalidPartitionsError(
            count === current
              ? `topic "${name}" already has ${count} partitions`
              : `topic "${name}" has ${current} partitions, more than the requested ${count}; partitions cannot be removed`,
          );
        }
        if (assignments !== null) {
          if (assignments.length !== count - current) {
            throw invalidAssignment(`adding ${count - current} partitions to "${name}" needs as many assignments, got ${assignments.length}`);
          }
          // A cluster checks the brokers when it places the partitions.
          if (ctx.server.config.cluster === null) for (const { brokerIds } of assignments) checkBrokerIds(ctx, brokerIds);
        }
        const cluster = ctx.server.config.cluster;
        if (!request.validateOnly) {
          if (cluster === null) await ctx.broker.createPartitions(name, count);
          else await cluster.createPartitions(name, count, assignments?.map((assignment) => assignment.brokerIds));
        }
        results.push({ name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        results.push({ name, errorCode: ctx.errorCode(error), errorMessage: errorMessageOf(error) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
