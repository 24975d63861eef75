// OffsetDelete (key 47), v0. Deletes committed offsets of partitions no member of the group consumes
// (GROUP_SUBSCRIBED_TO_TOPIC otherwise; for a KIP-848 group, topics a member subscribes to); a non-consumer group must be empty (NON_EMPTY_GROUP); an unknown
// group is GROUP_ID_NOT_FOUND; partitions of unknown topics are UNKNOWN_TOPIC_OR_PARTITION.
import { OffsetDeleteRequest } from '../../protocol/generated/offset-delete-request.js';
import { OffsetDeleteResponse, type OffsetDeleteResponseInit } from '../../protocol/generated/offset-delete-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, offsetDeleteChanges } from '../audit-changes.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default auditChanges(offsetDeleteChanges, defineHandler({
  request: OffsetDeleteRequest,
  response: OffsetDeleteResponse,
  async handle(req, ctx): Promise<OffsetDeleteResponseInit> {
    const groups = ctx.broker.groups;
    const known = (name: string, p: number): boolean => {
      const t = ctx.broker.topics.get(name);
      return t !== undefined && p >= 0 && p < t.partitions;
    };
    // Kafka: DELETE on the group (else the whole request fails), READ on each topic (TOPIC_AUTHORIZATION_FAILED per partition).
    const authz = ctx.broker.authorizer;
    const groupDenied = authz.check(ctx, Operation.DELETE, ResourceType.GROUP, req.groupId);
    if (groupDenied) return { errorCode: groupDenied, throttleTimeMs: 0, topics: [] };
    const readable = new Set(req.topics.filter((t) => authz.authorize(ctx, Operation.READ, ResourceType.TOPIC, t.name)).map((t) => t.name));
    const wanted = req.topics.filter((t) => readable.has(t.name))
      .map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex).filter((p) => known(t.name, p)) }));
    let result: { errorCode: number; partitions: Array<{ topic: string; partition: number; errorCode: number }> };
    try {
      result = await groups.runtime.run(() => groups.deleteOffsets(req.groupId, wanted), req.groupId);
    } catch (err) {
      result = { errorCode: errorCodeOf(err), partitions: [] };
    }
    if (result.errorCode !== ErrorCode.NONE) return { errorCode: result.errorCode, throttleTimeMs: 0, topics: [] };
    const byKey = new Map(result.partitions.map((r) => [`${r.topic}\u0000${r.partition}`, r.errorCode]));
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: !readable.has(t.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : byKey.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    };
  },
}));
