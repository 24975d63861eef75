// AlterClientQuotas (key 49), v0-1 (v1 flexible): sets or removes quota keys on entities — a user, a client id,
// both, or an IP, each name possibly the `<default>` (null) entity. Kafka's checks per entry (INVALID_REQUEST:
// empty or repeated entity types, an unknown type, an IP combined with a user or client id, an unknown key or
// one of the other entity kind, a fractional value for a LONG/INT key, a non-positive value); each entry is
// applied on its own; validate_only checks without applying. Every entry is a 'change' audit event. Kafka
// requires ALTER_CONFIGS on CLUSTER (else every entry is CLUSTER_AUTHORIZATION_FAILED).
import { AlterClientQuotasRequest } from '../../protocol/generated/alter-client-quotas-request.js';
import { AlterClientQuotasResponse, type AlterClientQuotasResponseInit } from '../../protocol/generated/alter-client-quotas-response.js';
import { ErrorCode, errorCodeName } from '../../protocol/generated/error-codes.js';
import { auditSubject } from '../../security/audit.js';
import { QUOTA_ENTITY_TYPES } from '../../security/client-quotas.js';
import { Operation } from '../../security/authorizer.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';

export default defineHandler({
  request: AlterClientQuotasRequest,
  response: AlterClientQuotasResponse,
  async handle(req, ctx): Promise<AlterClientQuotasResponseInit> {
    if (!ctx.broker.authorizer.authorizeCluster(ctx, Operation.ALTER_CONFIGS)) {
      return { throttleTimeMs: 0, entries: req.entries.map((e) => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', entity: e.entity })) };
    }
    let results;
    try {
      ({ results } = await ctx.broker.quotas.store.alter(req.entries, req.validateOnly));
    } catch (err) {
      return {
        throttleTimeMs: 0,
        entries: req.entries.map((e) => ({ errorCode: errorCodeOf(err), errorMessage: errorMessageOf(err), entity: e.entity })),
      };
    }
    if (!req.validateOnly) {
      req.entries.forEach((entry, i) => {
        const r = results[i]!;
        const name = entry.entity.map((c) => `${c.entityType}=${c.entityName ?? '<default>'}`).join(', ');
        ctx.logger.info({ entity: name, errorCode: r.errorCode, clientHost: ctx.clientHost }, 'AlterClientQuotas');
        ctx.broker.audit.record({
          type: 'change',
          ...auditSubject(ctx),
          operation: 'AlterClientQuotas',
          resource: { type: 'CLIENT_QUOTA', name },
          result: r.errorCode === ErrorCode.NONE ? 'success' : 'failure',
          ...(r.errorCode === ErrorCode.NONE ? {} : { error: errorCodeName(r.errorCode) }),
          details: {
            entity: Object.fromEntries(entry.entity.filter((c) => (QUOTA_ENTITY_TYPES as readonly string[]).includes(c.entityType)).map((c) => [c.entityType, c.entityName])),
            set: Object.fromEntries(entry.ops.filter((o) => !o.remove).map((o) => [o.key, o.value])),
            removed: entry.ops.filter((o) => o.remove).map((o) => o.key),
          },
        });
      });
    }
    return { throttleTimeMs: 0, entries: results };
  },
});
