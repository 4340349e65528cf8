/**
 * CreateAcls: one result per creation, in order, as Kafka's AclApis.handleCreateAcls answers:
 * ALTER on the cluster first (every result CLUSTER_AUTHORIZATION_FAILED), then SECURITY_DISABLED
 * without an authorizer; an invalid binding gets INVALID_REQUEST and the others are still created.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { CreateAcls, type CreateAclsResponseInput } from '../../protocol/api/create-acls.js';
import { authorizeCluster } from '../authorizer.js';
import { NO_AUTHORIZER_MESSAGE } from './describe-acls.js';
import { defineHandler, errorMessageOf } from './handler.js';

export const createAclsHandler = defineHandler({
  api: CreateAcls,
  handle(ctx, request): CreateAclsResponseInput {
    const refuse = (errorCode: number, errorMessage: string): CreateAclsResponseInput => ({
      throttleTimeMs: 0,
      results: request.creations.map(() => ({ errorCode, errorMessage })),
    });
    if (!authorizeCluster(ctx, 'ALTER')) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'creating ACLs needs ALTER on the cluster');
    if (ctx.server.authorizer === null) return refuse(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    let results: ReturnType<typeof ctx.broker.createAcls>;
    try {
      results = ctx.broker.createAcls(
        request.creations.map((creation) => ({
          resourceType: creation.resourceType,
          resourceName: creation.resourceName,
          patternType: creation.resourcePatternType,
          principal: creation.principal,
          host: creation.host,
          operation: creation.operation,
          permissionType: creation.permissionType,
        })),
      );
    } catch (error) {
      // The ACL file could not be written (a full disk...): nothing was created.
      return refuse(ctx.errorCode(error), errorMessageOf(error));
    }
    return {
      throttleTimeMs: 0,
      results: results.map((error) => (error === null ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ctx.errorCode(error), errorMessage: error.message })),
    };
  },
});
