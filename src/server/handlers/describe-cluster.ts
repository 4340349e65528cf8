/**
 * DescribeCluster: this node as the only broker and the controller, with the cluster id Metadata
 * reports. Asked for controllers (endpoint type 2), a broker answers MISMATCHED_ENDPOINT_TYPE
 * (INVALID_REQUEST in v0), and an unknown type UNSUPPORTED_ENDPOINT_TYPE, as Kafka's
 * AuthHelper.computeDescribeClusterResponse does. Asked for the cluster's authorized operations,
 * the answer lists those of Kafka's cluster operations the caller's ACLs allow (none without
 * DESCRIBE on the cluster), or every one when no authorizer is configured.
 */
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  DescribeCluster,
  ENDPOINT_TYPE_BROKER,
  ENDPOINT_TYPE_CONTROLLER,
  type DescribeClusterResponseInput,
} from '../../protocol/api/describe-cluster.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { clusterAuthorizedOperations } from '../authorizer.js';
import { defineHandler } from './handler.js';

export const describeClusterHandler = defineHandler({
  api: DescribeCluster,
  handle(ctx, request): DescribeClusterResponseInput {
    const { server, apiVersion } = ctx;
    const base = { throttleTimeMs: 0, endpointType: ENDPOINT_TYPE_BROKER, clusterId: '', controllerId: -1, brokers: [] };
    if (request.endpointType !== ENDPOINT_TYPE_BROKER) {
      const known = request.endpointType === ENDPOINT_TYPE_CONTROLLER;
      return {
        ...base,
        errorCode: apiVersion === 0 ? ErrorCode.INVALID_REQUEST : known ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: known
          ? 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER'
          : `Unsupported endpoint type ${request.endpointType}`,
      };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      clusterId: server.clusterId,
      controllerId: server.nodeId,
      brokers: [{ brokerId: server.nodeId, host: server.host, port: server.port, rack: null }],
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? clusterAuthorizedOperations(ctx) : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
