// DeleteTopics (key 20), v0-6. v6+ may name topics by id. Refused when delete.topic.enable is false.
import { ZERO_UUID } from '../../protocol/primitives/codec.js';
import { DeleteTopicsRequest } from '../../protocol/generated/delete-topics-request.js';
import { DeleteTopicsResponse, type DeleteTopicsResponseInit, type DeletableTopicResultInit } from '../../protocol/generated/delete-topics-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, deleteTopicsChanges } from '../audit-changes.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import { controllerMutationQuota, THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../client-quota-manager.js';


export default auditChanges(deleteTopicsChanges, defineHandler({
  request: DeleteTopicsRequest,
  response: DeleteTopicsResponse,
  async handle(req, ctx): Promise<DeleteTopicsResponseInit> {
    const topics = ctx.broker.topics;
    const wanted: Array<{ name: string | null; topicId: string }> = ctx.apiVersion >= 6
      ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
      : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const enabled = ctx.broker.config.get('delete.topic.enable') !== 'false';
    const responses: DeletableTopicResultInit[] = [];
    // controller_mutation_rate (KIP-599): v5+ refuses topics once the quota is exceeded; older versions are throttled.
    const quota = controllerMutationQuota(ctx.broker.quotas, ctx, ctx.apiVersion >= 5);
    for (const w of wanted) {
      const out: DeletableTopicResultInit = { name: w.name, topicId: w.topicId, errorCode: ErrorCode.NONE, errorMessage: null };
      responses.push(out);
      let name = w.name;
      if (name === null) {
        const info = topics.getById(w.topicId);
        if (!info) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
          continue;
        }
        // Kafka: a topic named by id is resolved only for a caller that may DESCRIBE it.
        if (!ctx.broker.authorizer.authorize(ctx, Operation.DESCRIBE, ResourceType.TOPIC, info.name)) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        name = info.name;
        out.name = name;
      }
      if (!ctx.broker.authorizer.authorize(ctx, Operation.DELETE, ResourceType.TOPIC, name)) {
        out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        out.errorMessage = 'Authorization failed.';
        continue;
      }
      if (!enabled) {
        out.errorCode = ErrorCode.TOPIC_DELETION_DISABLED;
        continue;
      }
      if (quota.exceeded()) {
        out.errorCode = ErrorCode.THROTTLING_QUOTA_EXCEEDED;
        out.errorMessage = THROTTLING_QUOTA_EXCEEDED_MESSAGE;
        continue;
      }
      try {
        const partitions = topics.get(name)?.partitions ?? 0;
        const info = await topics.delete(name);
        quota.record(partitions);
        out.topicId = info.topicId;
      } catch (err) {
        out.errorCode = errorCodeOf(err);
        out.errorMessage = errorMessageOf(err);
      }
    }
    return { throttleTimeMs: quota.throttleTimeMs(), responses };
  },
}));
