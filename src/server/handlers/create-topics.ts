// CreateTopics (key 19), v0-7. Single broker: replication factor must be 1 (or -1 for the default) and
// manual assignments may name only this broker. v5+ returns the topic's effective configs; v7+ its id.
import { CreateTopicsRequest } from '../../protocol/generated/create-topics-request.js';
import { CreateTopicsResponse, type CreateTopicsResponseInit, type CreatableTopicResultInit } from '../../protocol/generated/create-topics-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, createTopicsChanges } from '../audit-changes.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { describeTopicConfigs } from '../configs.js';
import { KafkaError } from '../../errors.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import { controllerMutationQuota, THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../client-quota-manager.js';

export default auditChanges(createTopicsChanges, defineHandler({
  request: CreateTopicsRequest,
  response: CreateTopicsResponse,
  async handle(req, ctx): Promise<CreateTopicsResponseInit> {
    const topics: CreatableTopicResultInit[] = [];
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    // Kafka: CREATE on the cluster or on each topic; the configs are answered only with DESCRIBE_CONFIGS on it.
    const authz = ctx.broker.authorizer;
    const clusterCreate = authz.allows(ctx, Operation.CREATE, ResourceType.CLUSTER);
    if (clusterCreate && req.topics.length > 0) authz.authorizeCluster(ctx, Operation.CREATE); // the audited allow
    // controller_mutation_rate (KIP-599): v6+ refuses topics once the quota is exceeded; older versions are throttled.
    const quota = controllerMutationQuota(ctx.broker.quotas, ctx, ctx.apiVersion >= 6);
    for (const t of req.topics) {
      const out: CreatableTopicResultInit = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
      topics.push(out);
      if (!clusterCreate && !authz.authorize(ctx, Operation.CREATE, ResourceType.TOPIC, t.name)) {
        out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        out.errorMessage = 'Authorization failed.';
        if (ctx.apiVersion >= 5) out.configs = null;
        continue;
      }
      if (quota.exceeded()) {
        out.errorCode = ErrorCode.THROTTLING_QUOTA_EXCEEDED;
        out.errorMessage = THROTTLING_QUOTA_EXCEEDED_MESSAGE;
        continue;
      }
      try {
        if (seen.get(t.name)! > 1) throw new KafkaError('INVALID_REQUEST', 'Create topics request from client contains the topic more than once');
        const config: Record<string, string> = {};
        for (const c of t.configs) {
          if (c.value === null) throw new KafkaError('INVALID_CONFIG', `Null value not supported for topic configs: ${c.name}`);
          config[c.name] = c.value;
        }
        const assignments = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
        assignments.forEach((a, i) => {
          if (a.partitionIndex !== i) throw new KafkaError('INVALID_REPLICA_ASSIGNMENT', 'Partitions in the assignment must be numbered 0..n-1');
        });
        const info = await ctx.broker.topics.create(t.name, {
          partitions: t.numPartitions,
          replicationFactor: t.replicationFactor,
          config,
          validateOnly: req.validateOnly,
          assignments: assignments.map((a) => a.brokerIds),
        });
        if (!req.validateOnly) quota.record(info.partitions);
        out.topicId = info.topicId;
        out.numPartitions = info.partitions;
        out.replicationFactor = ctx.broker.replication.partitionInfo(info.name, 0)?.replicas.length ?? (t.replicationFactor > 0 ? t.replicationFactor : 1);
        if (ctx.apiVersion >= 5) {
          if (authz.authorize(ctx, Operation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name)) out.configs = describeTopicConfigs(ctx.broker, info.config, null);
          else { out.configs = null; out.topicConfigErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED; }
        }
      } catch (err) {
        out.errorCode = errorCodeOf(err);
        out.errorMessage = errorMessageOf(err);
        if (ctx.apiVersion >= 5) out.configs = null;
      }
    }
    return { throttleTimeMs: quota.throttleTimeMs(), topics };
  },
}));
