// DescribeClientQuotas (key 48), v0-1 (v1 flexible): the quota entries whose entity matches every filter
// component (match_type 0 EXACT name, 1 DEFAULT entity, 2 any SPECIFIED name); strict also requires the entity
// to have no other types. A bad filter (repeated or unknown type, a match string with DEFAULT/SPECIFIED or none
// with EXACT, an IP combined with user/client-id) is INVALID_REQUEST with no entries. Kafka requires
// DESCRIBE_CONFIGS on CLUSTER (else CLUSTER_AUTHORIZATION_FAILED and no entries).
import { DescribeClientQuotasRequest } from '../../protocol/generated/describe-client-quotas-request.js';
import { DescribeClientQuotasResponse, type DescribeClientQuotasResponseInit } from '../../protocol/generated/describe-client-quotas-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { Operation } from '../../security/authorizer.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  request: DescribeClientQuotasRequest,
  response: DescribeClientQuotasResponse,
  handle(req, ctx): DescribeClientQuotasResponseInit {
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.DESCRIBE_CONFIGS)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', entries: null };
    }
    return { throttleTimeMs: 0, ...ctx.broker.quotas.store.describe(req.components, req.strict) };
  },
});
