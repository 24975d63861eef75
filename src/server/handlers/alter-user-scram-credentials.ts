// AlterUserScramCredentials (key 51), v0 (the only version): deletions and upsertions of SCRAM credentials, one
// result per user named. The client sends the salt and salted password (never the password); the broker keeps
// only StoredKey and ServerKey. Kafka's checks per user: empty name or iterations outside 4096–16384 →
// UNACCEPTABLE_CREDENTIAL, unknown mechanism → UNSUPPORTED_SASL_MECHANISM, the same user and mechanism twice →
// DUPLICATE_RESOURCE, deleting a missing credential → RESOURCE_NOT_FOUND; a user with any error has no change
// applied. Kafka requires ALTER on CLUSTER (CLUSTER_AUTHORIZATION_FAILED per user otherwise): the authorizer slice
// checks it here.
import { AlterUserScramCredentialsRequest } from '../../protocol/generated/alter-user-scram-credentials-request.js';
import { AlterUserScramCredentialsResponse, type AlterUserScramCredentialsResponseInit } from '../../protocol/generated/alter-user-scram-credentials-response.js';
import { defineHandler } from '../handler.js';
import { auditChanges, alterUserScramCredentialsChanges } from '../audit-changes.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { scramCredentialsOf } from '../scram-credentials.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { Operation } from '../../security/authorizer.js';

export default auditChanges(alterUserScramCredentialsChanges, defineHandler({
  request: AlterUserScramCredentialsRequest,
  response: AlterUserScramCredentialsResponse,
  async handle(req, ctx): Promise<AlterUserScramCredentialsResponseInit> {
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.ALTER)) {
      const users = [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))];
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) };
    }
    try {
      const store = await scramCredentialsOf(ctx.broker);
      const results = await store.alter(req.deletions, req.upsertions);
      for (const r of results) {
        ctx.logger.info({ user: r.user, errorCode: r.errorCode, clientHost: ctx.clientHost }, 'AlterUserScramCredentials');
      }
      return { throttleTimeMs: 0, results };
    } catch (err) {
      const users = [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))];
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err) })) };
    }
  },
}));
