/**
 * A ConsumerGroupHeartbeat as the consumer group coordinator takes it: a member joining group "g"
 * (epoch 0, a 30 s rebalance timeout, no owned partitions) subscribed to topic "t", unless told.
 */
import type { ConsumerGroupHeartbeatInput } from '../../src/broker/consumer-group/consumer-group-coordinator.js';

export function joinHeartbeat(memberId: string, overrides: Partial<ConsumerGroupHeartbeatInput> = {}): ConsumerGroupHeartbeatInput {
  return {
    groupId: 'g',
    memberId,
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: ['t'],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
    clientId: 'test',
    clientHost: '/127.0.0.1',
    ...overrides,
  };
}
