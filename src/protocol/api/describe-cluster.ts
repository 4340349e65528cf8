/**
 * DescribeCluster (key 60, KIP-700): the cluster id, the controller and the brokers.
 * Spec: DescribeClusterRequest.json / DescribeClusterResponse.json. Flexible in every version.
 */
import { Api, type RequestInputOf, type RequestOf, type ResponseInputOf, type ResponseOf } from './api.js';
import { array, bool, int16, int32, int8, string } from '../wire/schema.js';

/** `endpointType` values (EndpointType): brokers, or (KRaft) controllers. */
export const ENDPOINT_TYPE_BROKER = 1;
export const ENDPOINT_TYPE_CONTROLLER = 2;
/** Kafka's ClusterAuthorizedOperations when they were not asked for (Integer.MIN_VALUE). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const DescribeCluster = new Api({
  name: 'DescribeCluster',
  apiKey: 60,
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: 0,
  request: {
    includeClusterAuthorizedOperations: bool(),
    endpointType: int8({ versions: '1+', default: ENDPOINT_TYPE_BROKER }),
  },
  response: {
    throttleTimeMs: int32({ optional: true }),
    errorCode: int16(),
    errorMessage: string({ nullable: '0+', default: null }),
    endpointType: int8({ versions: '1+', default: ENDPOINT_TYPE_BROKER }),
    clusterId: string(),
    controllerId: int32({ default: -1 }),
    brokers: array({
      brokerId: int32(),
      host: string(),
      port: int32(),
      rack: string({ nullable: '0+', default: null }),
    }),
    clusterAuthorizedOperations: int32({ default: AUTHORIZED_OPERATIONS_OMITTED }),
  },
});

export type DescribeClusterRequest = RequestOf<typeof DescribeCluster>;
export type DescribeClusterRequestInput = RequestInputOf<typeof DescribeCluster>;
export type DescribeClusterResponse = ResponseOf<typeof DescribeCluster>;
export type DescribeClusterResponseInput = ResponseInputOf<typeof DescribeCluster>;
