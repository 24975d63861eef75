// DescribeAcls (key 29), v0–v3: the ACL bindings matching one filter, grouped by resource pattern. Kafka's
// answers: no authorizer → SECURITY_DISABLED; no DESCRIBE on CLUSTER → CLUSTER_AUTHORIZATION_FAILED; a filter
// with an UNKNOWN code → INVALID_REQUEST. v0 has no pattern type filter (LITERAL).
import { DescribeAclsRequest } from '../../protocol/generated/describe-acls-request.js';
import { DescribeAclsResponse, type DescribeAclsResponseInit, type DescribeAclsResourceInit } from '../../protocol/generated/describe-acls-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { Operation, filterError, type AclBindingFilter } from '../../security/authorizer.js';

export default defineHandler({
  request: DescribeAclsRequest,
  response: DescribeAclsResponse,
  handle(req, ctx): DescribeAclsResponseInit {
    const authz = ctx.broker.authorizer;
    const fail = (errorCode: number, errorMessage: string | null): DescribeAclsResponseInit => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    if (!authz.store) return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    const filter: AclBindingFilter = {
      resourceType: req.resourceTypeFilter, resourceName: req.resourceNameFilter, patternType: req.patternTypeFilter,
      principal: req.principalFilter, host: req.hostFilter, operation: req.operation, permissionType: req.permissionType,
    };
    const invalid = filterError(filter);
    if (invalid !== null) return fail(ErrorCode.INVALID_REQUEST, invalid);
    if (!authz.authorizeCluster(ctx, Operation.DESCRIBE)) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const resources = new Map<string, DescribeAclsResourceInit & { acls: NonNullable<DescribeAclsResourceInit['acls']> }>();
    for (const b of authz.store.authorizer.matching(filter)) {
      const key = `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}`;
      let r = resources.get(key);
      if (!r) resources.set(key, (r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }));
      r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...resources.values()] };
  },
});
