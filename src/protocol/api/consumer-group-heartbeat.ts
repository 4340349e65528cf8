/**
 * ConsumerGroupHeartbeat (key 68, KIP-848): a member of a consumer-protocol group joins (epoch 0),
 * heartbeats with its epoch and owned partitions, and leaves (epoch -1, or -2 for a static member
 * that will come back); the answer carries its epoch and, when it changed, its assignment.
 * Spec: ConsumerGroupHeartbeatRequest.json / ConsumerGroupHeartbeatResponse.json. Kafka 3.9
 * serves v0; v1 adds SubscribedTopicRegex (Kafka 4.0) and is the only version librdkafka sends.
 * The regex is refused with INVALID_REQUEST, as Kafka's coordinator did before it resolved
 * regexes. Flexible from v0.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, string, struct, uuid } from '../wire/schema.js';

export const ConsumerGroupHeartbeat = new Api({
  name: 'ConsumerGroupHeartbeat',
  apiKey: 68,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 0,
  request: {
    groupId: string(),
    memberId: string(),
    memberEpoch: int32(),
    instanceId: string({ nullable: '0+', default: null }),
    rackId: string({ nullable: '0+', default: null }),
    rebalanceTimeoutMs: int32({ default: -1 }),
    subscribedTopicNames: array(string(), { nullable: '0+', default: null }),
    subscribedTopicRegex: string({ versions: '1+', nullable: '1+', default: null }),
    serverAssignor: string({ nullable: '0+', default: null }),
    topicPartitions: array({ topicId: uuid(), partitions: array(int32()) }, { nullable: '0+', default: null }),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    errorMessage: string({ nullable: '0+', default: null }),
    memberId: string({ nullable: '0+', default: null }),
    memberEpoch: int32(),
    heartbeatIntervalMs: int32(),
    assignment: struct({ topicPartitions: array({ topicId: uuid(), partitions: array(int32()) }) }, { nullable: '0+', default: null }),
  },
});

export type ConsumerGroupHeartbeatRequest = RequestOf<typeof ConsumerGroupHeartbeat>;
export type ConsumerGroupHeartbeatRequestInput = RequestInputOf<typeof ConsumerGroupHeartbeat>;
export type ConsumerGroupHeartbeatResponse = ResponseOf<typeof ConsumerGroupHeartbeat>;
export type ConsumerGroupHeartbeatResponseInput = ResponseInputOf<typeof ConsumerGroupHeartbeat>;
