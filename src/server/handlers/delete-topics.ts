/**
 * DeleteTopics: by name, or from v6 by name or topic id (UNKNOWN_TOPIC_ID for an id the broker does
 * not know). Internal topics cannot be deleted; a topic named twice is INVALID_REQUEST, as in Kafka.
 * In a cluster the controller deletes it everywhere, and the answer waits for that.
 */
import { DeleteTopics, type DeleteTopicsResponseInput } from '../../protocol/api/delete-topics.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { ZERO_UUID } from '../../protocol/wire/uuid.js';
import { authorize } from '../authorizer.js';
import { defineHandler, errorMessageOf } from './handler.js';

type TopicResponse = DeleteTopicsResponseInput['responses'][number];

export const deleteTopicsHandler = defineHandler({
  api: DeleteTopics,
  async handle(ctx, request) {
    const requested: { name: string | null; topicId: string }[] =
      ctx.apiVersion >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const topics = ctx.broker.listTopics();
    const nameById = new Map(topics.map((metadata) => [metadata.topicId, metadata.name]));
    const idByName = new Map(topics.map((metadata) => [metadata.name, metadata.topicId]));
    const resolved = requested.map(({ name, topicId }) => name ?? nameById.get(topicId) ?? null);
    const counts = new Map<string, number>();
    for (const name of resolved) if (name !== null) counts.set(name, (counts.get(name) ?? 0) + 1);
    const responses: TopicResponse[] = [];
    for (let i = 0; i < requested.length; i++) {
      const name = resolved[i];
      const topicId = requested[i].name === null ? requested[i].topicId : (idByName.get(requested[i].name!) ?? ZERO_UUID);
      if (name === null) {
        responses.push({ name: null, topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `no topic has id ${topicId}` });
      } else if (!authorize(ctx, 'DESCRIBE', 'TOPIC', name) || !authorize(ctx, 'DELETE', 'TOPIC', name)) {
        // As Kafka: DESCRIBE and DELETE on the topic are needed; either missing is TOPIC_AUTHORIZATION_FAILED.
        responses.push({ name, topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: `not authorized to DELETE topic "${name}"` });
      } else if (counts.get(name)! > 1) {
        responses.push({ name, topicId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic "${name}" appears more than once in the request` });
      } else {
        try {
          const cluster = ctx.server.config.cluster;
          if (cluster === null) await ctx.broker.deleteTopic(name);
          else await cluster.deleteTopic(name);
          responses.push({ name, topicId, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (error) {
          responses.push({ name, topicId, errorCode: ctx.errorCode(error), errorMessage: errorMessageOf(error) });
        }
      }
    }
    return { throttleTimeMs: 0, responses };
  },
});
