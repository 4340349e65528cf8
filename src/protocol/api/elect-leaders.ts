/**
 * ElectLeaders (key 43, KIP-183 and KIP-460): elect partitions' preferred replicas, or (v1+) an
 * out-of-sync replica where no in-sync one is live. Spec: ElectLeadersRequest.json /
 * ElectLeadersResponse.json. Flexible from v2; v1 adds the election type and the top-level error.
 *
 * A null `topicPartitions` means every partition of the cluster.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, int16, int32, int8, string } from '../wire/schema.js';

/** ElectionType: the preferred replica (the first assigned), or any live replica when no ISR member is live. */
export const ELECTION_TYPE_PREFERRED = 0;
export const ELECTION_TYPE_UNCLEAN = 1;

export const ElectLeaders = new Api({
  name: 'ElectLeaders',
  apiKey: 43,
  minVersion: 0,
  maxVersion: 2,
  firstFlexibleVersion: 2,
  request: {
    electionType: int8({ versions: '1+', default: ELECTION_TYPE_PREFERRED }),
    topicPartitions: array({ topic: string(), partitions: array(int32()) }, { nullable: '0+' }),
    timeoutMs: int32({ default: 60_000 }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16({ versions: '1+', default: 0 }),
    replicaElectionResults: array({
      topic: string(),
      partitionResult: array({
        partitionId: int32(),
        errorCode: int16(),
        errorMessage: string({ nullable: '0+', default: null }),
      }),
    }),
  },
});

export type ElectLeadersRequest = RequestOf<typeof ElectLeaders>;
export type ElectLeadersRequestInput = RequestInputOf<typeof ElectLeaders>;
export type ElectLeadersResponse = ResponseOf<typeof ElectLeaders>;
export type ElectLeadersResponseInput = ResponseInputOf<typeof ElectLeaders>;
