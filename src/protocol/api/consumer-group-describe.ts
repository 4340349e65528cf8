/**
 * ConsumerGroupDescribe (key 69, KIP-848): the state of consumer-protocol groups: epochs, the
 * assignor, and each member's current and target assignment.
 * Spec: ConsumerGroupDescribeRequest.json / ConsumerGroupDescribeResponse.json. Kafka 3.9 serves
 * v0. Flexible from v0.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, string, struct, uuid } from '../wire/schema.js';

const assignment = { topicPartitions: array({ topicId: uuid(), topicName: string(), partitions: array(int32()) }) };

export const ConsumerGroupDescribe = new Api({
  name: 'ConsumerGroupDescribe',
  apiKey: 69,
  minVersion: 0,
  maxVersion: 0,
  firstFlexibleVersion: 0,
  request: {
    groupIds: array(string()),
    includeAuthorizedOperations: bool(),
  },
  response: {
    throttleTimeMs: int32(),
    groups: array({
      errorCode: int16(),
      errorMessage: string({ nullable: '0+', default: null }),
      groupId: string(),
      groupState: string(),
      groupEpoch: int32(),
      assignmentEpoch: int32(),
      assignorName: string(),
      members: array({
        memberId: string(),
        instanceId: string({ nullable: '0+', default: null }),
        rackId: string({ nullable: '0+', default: null }),
        memberEpoch: int32(),
        clientId: string(),
        clientHost: string(),
        subscribedTopicNames: array(string()),
        subscribedTopicRegex: string({ nullable: '0+', default: null }),
        assignment: struct(assignment),
        targetAssignment: struct(assignment),
      }),
      authorizedOperations: int32({ default: -2147483648 }),
    }),
  },
});

export type ConsumerGroupDescribeRequest = RequestOf<typeof ConsumerGroupDescribe>;
export type ConsumerGroupDescribeResponse = ResponseOf<typeof ConsumerGroupDescribe>;
export type ConsumerGroupDescribeResponseInput = ResponseInputOf<typeof ConsumerGroupDescribe>;
export type ConsumerGroupDescribeRequestInput = RequestInputOf<typeof ConsumerGroupDescribe>;
