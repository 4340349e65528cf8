/**
 * DescribeAcls: the bindings matching the filter, grouped by resource pattern, as Kafka's
 * AclApis.handleDescribeAcls answers: DESCRIBE on the cluster first (CLUSTER_AUTHORIZATION_FAILED),
 * then SECURITY_DISABLED when no authorizer is configured.
 */
import { validateFilter, type AclBinding } from '../../broker/acl/acl.js';
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
    const filter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType: request.patternTypeFilter,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    try {
      validateFilter(filter);
    } catch (error) {
      return refuse(ctx.errorCode(error), errorMessageOf(error));
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: groupByResource(ctx.broker.describeAcls(filter)) };
  },
});

/** Kafka's DescribeAclsResponse.aclsResources: one entry per resource pattern, its entries in order. */
function groupByResource(bindings: readonly AclBinding[]): DescribeAclsResponseInput['resources'] {
  const resources = new Map<string, DescribeAclsResponseInput['resources'][number] & { acls: object[] }>();
  for (const binding of bindings) {
    const key = JSON.stringify([binding.resourceType, binding.patternType, binding.resourceName]);
    let resource = resources.get(key);
    if (resource === undefined) {
      resource = { resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType, acls: [] };
      resources.set(key, resource);
    }
    resource.acls.push({ principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType });
  }
  return [...resources.values()];
}
