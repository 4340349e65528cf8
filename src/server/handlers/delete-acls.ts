/**
 * DeleteAcls: per filter, the bindings it removed, as Kafka's AclApis.handleDeleteAcls answers:
 * ALTER on the cluster first (every filter CLUSTER_AUTHORIZATION_FAILED), then SECURITY_DISABLED
 * without an authorizer; a filter with an UNKNOWN element gets INVALID_REQUEST and removes
 * nothing, the others are still applied.
 */
import { validateFilter, type AclBindingFilter } from '../../broker/acl/acl.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { DeleteAcls, type DeleteAclsResponseInput } from '../../protocol/api/delete-acls.js';
import { authorizeCluster } from '../authorizer.js';
import { NO_AUTHORIZER_MESSAGE, filterOfWire } from './describe-acls.js';
import { defineHandler, errorMessageOf } from './handler.js';

type FilterResult = DeleteAclsResponseInput['filterResults'][number];

export const deleteAclsHandler = defineHandler({
  api: DeleteAcls,
  handle(ctx, request): DeleteAclsResponseInput {
    const refuse = (errorCode: number, errorMessage: string): DeleteAclsResponseInput => ({
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (!authorizeCluster(ctx, 'ALTER')) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'deleting ACLs needs ALTER on the cluster');
    if (ctx.server.authorizer === null) return refuse(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER_MESSAGE);
    const results: (FilterResult | null)[] = [];
    const valid: AclBindingFilter[] = [];
    for (const wire of request.filters) {
      const filter = filterOfWire(wire);
      try {
        validateFilter(filter);
        valid.push(filter);
        results.push(null);
      } catch (error) {
        results.push({ errorCode: ctx.errorCode(error), errorMessage: errorMessageOf(error), matchingAcls: [] });
      }
    }
    let deleted: ReturnType<typeof ctx.broker.deleteAcls>;
    try {
      deleted = ctx.broker.deleteAcls(valid);
    } catch (error) {
      // The ACL file could not be written (a full disk...): nothing was deleted.
      return refuse(ctx.errorCode(error), errorMessageOf(error));
    }
    let next = 0;
    return {
      throttleTimeMs: 0,
      filterResults: results.map(
        (result): FilterResult =>
          result ?? {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            matchingAcls: deleted[next++].deleted.map((binding) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...binding })),
          },
      ),
    };
  },
});
