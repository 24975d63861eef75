// CreateAcls (key 30), v0–v3: adds ACL bindings, one result per creation. Kafka's answers: no authorizer →
// SECURITY_DISABLED; no ALTER on CLUSTER → CLUSTER_AUTHORIZATION_FAILED; a binding with an UNKNOWN/ANY code, an
// empty name, a principal without a type or a CLUSTER name other than kafka-cluster → INVALID_REQUEST. v0 has no
// pattern type (LITERAL). The valid ones are stored together (etcd in a cluster, the data dir on one node).
import { CreateAclsRequest } from '../../protocol/generated/create-acls-request.js';
import { CreateAclsResponse, type CreateAclsResponseInit } from '../../protocol/generated/create-acls-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, bindingError, type AclBinding } from '../../security/authorizer.js';
import { bindingToJson } from '../../security/acl-store.js';
import { auditSubject } from '../../security/audit.js';

export default defineHandler({
  request: CreateAclsRequest,
  response: CreateAclsResponse,
  async handle(req, ctx): Promise<CreateAclsResponseInit> {
    const authz = ctx.broker.authorizer;
    const all = (errorCode: number, errorMessage: string | null): CreateAclsResponseInit =>
      ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode, errorMessage })) });
    if (!authz.store) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
    if (!authz.authorizeCluster(ctx, Operation.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const bindings: AclBinding[] = req.creations.map((c) => ({
      resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType,
      principal: c.principal, host: c.host, operation: c.operation, permissionType: c.permissionType,
    }));
    const errors = bindings.map(bindingError);
    const valid = bindings.filter((_, i) => errors[i] === null);
    let failure: unknown = null;
    try {
      await authz.store.create(valid);
    } catch (err) {
      failure = err;
    }
    const results = bindings.map((b, i) => {
      if (errors[i] !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: errors[i] };
      if (failure !== null) return { errorCode: errorCodeOf(failure), errorMessage: errorMessageOf(failure) };
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    for (const [i, b] of bindings.entries()) {
      ctx.broker.audit.record({
        type: 'change', ...auditSubject(ctx), operation: 'CreateAcls',
        resource: { type: 'ACL', name: b.resourceName, patternType: bindingToJson(b).patternType },
        result: results[i]!.errorCode === ErrorCode.NONE ? 'success' : 'failure',
        ...(results[i]!.errorCode === ErrorCode.NONE ? {} : { error: results[i]!.errorMessage ?? undefined }),
        details: bindingToJson(b),
      });
    }
    return { throttleTimeMs: 0, results };
  },
});
