// OffsetCommit (key 8), v0-9. v0 commits without membership (Kafka kept those in ZooKeeper; here they
// go to __consumer_offsets like the rest); v1+ generation and member id (generation -1 with an empty
// member id is a simple consumer, allowed while the group has no members); v2-4 a retention time per
// request; v6+ leader epochs; v7+ static members. Partitions of unknown topics get
// UNKNOWN_TOPIC_OR_PARTITION. v9 carries a KIP-848 member's epoch (STALE_MEMBER_EPOCH when it is not the
// member's current one); members of a consumer group must use v9+, as in Kafka.
import { OffsetCommitRequest } from '../../protocol/generated/offset-commit-request.js';
import { OffsetCommitResponse, type OffsetCommitResponseInit, type OffsetCommitResponseTopicInit } from '../../protocol/generated/offset-commit-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { OffsetCommitInput, PartitionError } from '../../coordinator/group/group-coordinator.js';

export default defineHandler({
  request: OffsetCommitRequest,
  response: OffsetCommitResponse,
  async handle(req, ctx): Promise<OffsetCommitResponseInit> {
    const v = ctx.apiVersion;
    const groups = ctx.broker.groups;
    const results: PartitionError[] = [];
    const input: OffsetCommitInput = {
      groupId: req.groupId,
      generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: v >= 1 ? req.memberId : '',
      groupInstanceId: v >= 7 ? req.groupInstanceId : null,
      retentionTimeMs: v >= 2 && v <= 4 ? Number(req.retentionTimeMs) : -1,
      topics: [],
    };
    // Authorization (as Kafka): READ on the group (else every partition fails), then READ on each topic.
    const authz = ctx.broker.authorizer;
    const groupDenied = authz.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    for (const t of req.topics) {
      const topic = ctx.broker.topics.get(t.name);
      const partitions: OffsetCommitInput['topics'][number]['partitions'] = [];
      const denied = groupDenied || authz.check(ctx, Operation.READ, ResourceType.TOPIC, t.name);
      for (const p of t.partitions) {
        if (denied) {
          results.push({ topic: t.name, partition: p.partitionIndex, errorCode: denied });
        } else if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) {
          results.push({ topic: t.name, partition: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        } else {
          partitions.push({ partition: p.partitionIndex, offset: Number(p.committedOffset), leaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1, metadata: p.committedMetadata });
        }
      }
      if (partitions.length > 0) input.topics.push({ name: t.name, partitions });
    }
    if (input.topics.length > 0) {
      try {
        results.push(...await groups.runtime.run(() => groups.commitOffsets(input, v), req.groupId));
      } catch (err) {
        const errorCode = errorCodeOf(err);
        for (const t of input.topics) for (const p of t.partitions) results.push({ topic: t.name, partition: p.partition, errorCode });
      }
    }
    // Answer in the request's order.
    const byKey = new Map(results.map((r) => [`${r.topic}\u0000${r.partition}`, r.errorCode]));
    const topics: OffsetCommitResponseTopicInit[] = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: byKey.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR })),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
