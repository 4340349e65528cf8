/**
 * DescribeAcls: the bindings matching the filter, grouped by resource pattern, as Kafka's
 * AclApis.handleDescribeAcls answers: DESCRIBE on the cluster first (CLUSTER_AUTHORIZATION_FAILED),
 * then SECURITY_DISABLED when no authorizer is configured.
 */
import { groupByResourcePattern, validateFilter, type AclBindingFilter } from '../../broker/acl/acl.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { DescribeAcls, type DescribeAclsResponseInput } from '../../protocol/api/describe-acls.js';
import { authorizeCluster } from '../authorizer.js';
import { defineHandler, errorMessageOf } from './handler.js';

export const NO_AUTHORIZER_MESSAGE = 'No Authorizer is configured on the broker; start it with an authorizer (sluice serve --authorizer) to use ACLs';

export const describeAclsHandler = defineHandler({
  api: DescribeAcls,
  handle(ctx, request): DescribeAclsResponseInput {
    const refuse = (errorCode: number, errorMessage: string): DescribeAclsResponseInput => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    if (!authorizeCluster(ctx, 'DESCRIBE')) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'describing ACLs needs DESCRIBE on the cluster');
    if (ctx.server.authorizer === null) return refuse(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    const filter = filterOfWire(request);
    try {
      validateFilter(filter);
    } catch (error) {
      return refuse(ctx.errorCode(error), errorMessageOf(error));
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: groupByResourcePattern(ctx.broker.describeAcls(filter)) };
  },
});

/** A DescribeAcls or DeleteAcls filter as the broker's. */
export function filterOfWire(wire: {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}): AclBindingFilter {
  return {
    resourceType: wire.resourceTypeFilter,
    resourceName: wire.resourceNameFilter,
    patternType: wire.patternTypeFilter,
    principal: wire.principalFilter,
    host: wire.hostFilter,
    operation: wire.operation,
    permissionType: wire.permissionType,
  };
}
