// DescribeUserScramCredentials (key 50), v0 (the only version): the mechanisms and iteration counts of users'
// SCRAM credentials (never salts or keys). No users (null or empty) → every user with a credential; a user named
// twice → DUPLICATE_RESOURCE; an unknown user → RESOURCE_NOT_FOUND. Kafka requires DESCRIBE on CLUSTER
// (CLUSTER_AUTHORIZATION_FAILED at the top level otherwise): the authorizer slice checks it here.
import { DescribeUserScramCredentialsRequest } from '../../protocol/generated/describe-user-scram-credentials-request.js';
import { DescribeUserScramCredentialsResponse, type DescribeUserScramCredentialsResponseInit } from '../../protocol/generated/describe-user-scram-credentials-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { scramCredentialsOf } from '../scram-credentials.js';
import { Operation } from '../../security/authorizer.js';

export default defineHandler({
  request: DescribeUserScramCredentialsRequest,
  response: DescribeUserScramCredentialsResponse,
  async handle(req, ctx): Promise<DescribeUserScramCredentialsResponseInit> {
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, results: [] };
    }
    try {
      const store = await scramCredentialsOf(ctx.broker);
      const results = store.describe(req.users === null ? null : req.users.map((u) => u.name));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err), results: [] };
    }
  },
});
