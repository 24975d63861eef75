// CreatePartitions (key 37), v0-3. Partitions can only be added; on a single node assignments may name only this
// broker; in a cluster they are checked against the live brokers by the topic backend (cluster-mode.ts).
import { CreatePartitionsRequest } from '../../protocol/generated/create-partitions-request.js';
import { CreatePartitionsResponse, type CreatePartitionsResponseInit, type CreatePartitionsTopicResultInit } from '../../protocol/generated/create-partitions-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, createPartitionsChanges } from '../audit-changes.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { KafkaError } from '../../errors.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import { controllerMutationQuota, THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../client-quota-manager.js';

export default auditChanges(createPartitionsChanges, defineHandler({
  request: CreatePartitionsRequest,
  response: CreatePartitionsResponse,
  async handle(req, ctx): Promise<CreatePartitionsResponseInit> {
    const results: CreatePartitionsTopicResultInit[] = [];
    // controller_mutation_rate (KIP-599): v3+ refuses topics once the quota is exceeded; older versions are throttled.
    const quota = controllerMutationQuota(ctx.broker.quotas, ctx, ctx.apiVersion >= 3);
    for (const t of req.topics) {
      const out: CreatePartitionsTopicResultInit = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
      results.push(out);
      if (!ctx.broker.authorizer.authorize(ctx, Operation.ALTER, ResourceType.TOPIC, t.name)) {
        out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        out.errorMessage = 'Authorization failed.';
        continue;
      }
      if (quota.exceeded()) {
        out.errorCode = ErrorCode.THROTTLING_QUOTA_EXCEEDED;
        out.errorMessage = THROTTLING_QUOTA_EXCEEDED_MESSAGE;
        continue;
      }
      try {
        if (t.assignments && !ctx.broker.replication.clustered) {
          for (const a of t.assignments) {
            if (a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.broker.nodeId) {
              throw new KafkaError('INVALID_REPLICA_ASSIGNMENT', `Replica assignment must name only this broker (${ctx.broker.nodeId})`);
            }
          }
        }
        const before = ctx.broker.topics.get(t.name)?.partitions ?? t.count;
        await ctx.broker.topics.addPartitions(t.name, t.count, req.validateOnly, t.assignments?.map((a) => a.brokerIds));
        if (!req.validateOnly) quota.record(Math.max(0, t.count - before));
      } catch (err) {
        out.errorCode = errorCodeOf(err);
        out.errorMessage = errorMessageOf(err);
      }
    }
    return { throttleTimeMs: quota.throttleTimeMs(), results };
  },
}));
