// DeleteAcls (key 31), v0–v3: removes the bindings matching each filter, answering per filter the bindings it
// removed. Kafka's answers: no authorizer → SECURITY_DISABLED; no ALTER on CLUSTER → CLUSTER_AUTHORIZATION_FAILED;
// a filter with an UNKNOWN code makes the request invalid (INVALID_REQUEST for every filter). v0 has no pattern
// type filter (LITERAL).
import { DeleteAclsRequest } from '../../protocol/generated/delete-acls-request.js';
import { DeleteAclsResponse, type DeleteAclsResponseInit } from '../../protocol/generated/delete-acls-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, filterError, type AclBindingFilter } from '../../security/authorizer.js';
import { bindingToJson } from '../../security/acl-store.js';
import { auditSubject } from '../../security/audit.js';

export default defineHandler({
  request: DeleteAclsRequest,
  response: DeleteAclsResponse,
  async handle(req, ctx): Promise<DeleteAclsResponseInit> {
    const authz = ctx.broker.authorizer;
    const all = (errorCode: number, errorMessage: string | null): DeleteAclsResponseInit =>
      ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
    if (!authz.store) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    const filters: AclBindingFilter[] = req.filters.map((f) => ({
      resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter, patternType: f.patternTypeFilter,
      principal: f.principalFilter, host: f.hostFilter, operation: f.operation, permissionType: f.permissionType,
    }));
    const invalid = filters.map(filterError).find((e) => e !== null);
    if (invalid) return all(ErrorCode.INVALID_REQUEST, invalid);
    if (!authz.authorizeCluster(ctx, Operation.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    let removed;
    try {
      removed = await authz.store.delete(filters);
    } catch (err) {
      return all(errorCodeOf(err), errorMessageOf(err));
    }
    for (const b of new Set(removed.flat())) {
      ctx.broker.audit.record({
        type: 'change', ...auditSubject(ctx), operation: 'DeleteAcls',
        resource: { type: 'ACL', name: b.resourceName, patternType: bindingToJson(b).patternType },
        result: 'success', details: bindingToJson(b),
      });
    }
    return {
      throttleTimeMs: 0,
      filterResults: removed.map((list) => ({
        errorCode: ErrorCode.NONE, errorMessage: null,
        matchingAcls: list.map((b) => ({
          errorCode: ErrorCode.NONE, errorMessage: null, resourceType: b.resourceType, resourceName: b.resourceName,
          patternType: b.patternType, principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType,
        })),
      })),
    };
  },
});
