/**
 * DeleteTopics (key 20). Spec: DeleteTopicsRequest.json / DeleteTopicsResponse.json.
 * Flexible from v4.
 *
 * Up to v5 a request lists `topicNames`; from v6 (KIP-516) `topics`, each named by name or by id.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { ZERO_UUID } from '../wire/uuid.js';
import { array, int16, int32, string, uuid } from '../wire/schema.js';

export const DeleteTopics = new Api({
  name: 'DeleteTopics',
  apiKey: 20,
  minVersion: 0,
  maxVersion: 6,
  firstFlexibleVersion: 4,
  request: {
    topics: array(
      {
        name: string({ versions: '6+', nullable: '6+', default: null }),
        topicId: uuid({ versions: '6+', default: ZERO_UUID }),
      },
      { versions: '6+' },
    ),
    topicNames: array(string(), { versions: '0-5' }),
    timeoutMs: int32(),
  },
  response: {
    throttleTimeMs: int32({ versions: '1+', optional: true }),
    responses: array({
      name: string({ nullable: '6+' }),
      topicId: uuid({ versions: '6+', optional: true }),
      errorCode: int16(),
      errorMessage: string({ versions: '5+', nullable: '5+', default: null }),
    }),
  },
});

export type DeleteTopicsRequest = RequestOf<typeof DeleteTopics>;
export type DeleteTopicsRequestInput = RequestInputOf<typeof DeleteTopics>;
export type DeleteTopicsResponse = ResponseOf<typeof DeleteTopics>;
export type DeleteTopicsResponseInput = ResponseInputOf<typeof DeleteTopics>;
