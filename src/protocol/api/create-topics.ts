/**
 * CreateTopics (key 19). Spec: CreateTopicsRequest.json / CreateTopicsResponse.json.
 * Flexible from v5.
 *
 * numPartitions / replicationFactor of -1 (v4+) ask for the broker's defaults; `assignments`
 * places replicas by hand instead. From v5 the response echoes the resulting partition count,
 * replication factor and configs; v7 adds the topic id.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int8, string, uuid } from '../wire/schema.js';

export const CreateTopics = new Api({
  name: 'CreateTopics',
  apiKey: 19,
  minVersion: 0,
  maxVersion: 7,
  firstFlexibleVersion: 5,
  request: {
    topics: array({
      name: string(),
      numPartitions: int32(),
      replicationFactor: int16(),
      assignments: array({
        partitionIndex: int32(),
        brokerIds: array(int32()),
      }),
      configs: array({
        name: string(),
        value: string({ nullable: '0+' }),
      }),
    }),
    timeoutMs: int32({ default: 60000 }),
    validateOnly: bool({ versions: '1+', default: false }),
  },
  response: {
    throttleTimeMs: int32({ versions: '2+', optional: true }),
    topics: array({
      name: string(),
      topicId: uuid({ versions: '7+', optional: true }),
      errorCode: int16(),
      errorMessage: string({ versions: '1+', nullable: '0+', default: null }),
      topicConfigErrorCode: int16({ versions: '5+', tag: 0 }),
      numPartitions: int32({ versions: '5+', default: -1 }),
      replicationFactor: int16({ versions: '5+', default: -1 }),
      configs: array(
        {
          name: string({ versions: '5+' }),
          value: string({ versions: '5+', nullable: '5+' }),
          readOnly: bool({ versions: '5+' }),
          configSource: int8({ versions: '5+', default: -1 }),
          isSensitive: bool({ versions: '5+' }),
        },
        { versions: '5+', nullable: '5+', optional: true },
      ),
    }),
  },
});

export type CreateTopicsRequest = RequestOf<typeof CreateTopics>;
export type CreateTopicsRequestInput = RequestInputOf<typeof CreateTopics>;
export type CreateTopicsResponse = ResponseOf<typeof CreateTopics>;
export type CreateTopicsResponseInput = ResponseInputOf<typeof CreateTopics>;
