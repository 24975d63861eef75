// OffsetFetch (key 9), v0-9. v0-7 one group (v2+ a null topic list means every committed offset and a
// top-level error code); v5+ leader epochs; v7+ requireStable (a partition with a transactional offset
// awaiting its marker answers UNSTABLE_OFFSET_COMMIT, offset -1, and the client retries; a null topic list
// also reports partitions that only have such an offset); v8+ several groups per request; v9 member id and
// epoch, checked for KIP-848 consumer groups (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH; none = an admin fetch). A partition without
// a committed offset answers -1 with empty metadata.
import { OffsetFetchRequest } from '../../protocol/generated/offset-fetch-request.js';
import { OffsetFetchResponse, type OffsetFetchResponseInit } from '../../protocol/generated/offset-fetch-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { FetchedOffset } from '../../coordinator/group/group-coordinator.js';

type Topics = Array<{ name: string; partitions: number[] }> | null;

function byTopic(offsets: FetchedOffset[]) {
  const topics = new Map<string, FetchedOffset[]>();
  for (const o of offsets) {
    let list = topics.get(o.topic);
    if (!list) topics.set(o.topic, (list = []));
    list.push(o);
  }
  return [...topics].map(([name, list]) => ({
    name,
    partitions: list.map((o) => o.unstable ? {
      partitionIndex: o.partition, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
    } : ({
      partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE,
    })),
  }));
}

export default defineHandler({
  request: OffsetFetchRequest,
  response: OffsetFetchResponse,
  async handle(req, ctx): Promise<OffsetFetchResponseInit> {
    const service = ctx.broker.groups;
    const fetchGroup = async (groupId: string, topics: Topics, memberId: string | null = null, memberEpoch = -1) => {
      const requireStable = ctx.apiVersion >= 7 && req.requireStable;
      // Authorization (as Kafka): DESCRIBE on the group; DESCRIBE on each topic (named ones refused per
      // partition, unnamed ones left out of an all-topics answer).
      const authz = ctx.broker.authorizer;
      const groupDenied = authz.check(ctx, Operation.DESCRIBE, ResourceType.GROUP, groupId);
      if (groupDenied) return { errorCode: groupDenied, topics: [] };
      const denied = topics?.filter((t) => !authz.authorize(ctx, Operation.DESCRIBE, ResourceType.TOPIC, t.name)) ?? []; // denials audited
      const refused = denied.map((t) => ({ name: t.name, partitions: t.partitions.map((partitionIndex) => ({
        partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })) }));
      const allowed = topics === null ? null : topics.filter((t) => !denied.includes(t));
      try {
        const offsets = allowed !== null && allowed.length === 0 && topics!.length > 0 ? []
          : await service.runtime.query(() => service.fetchOffsets(groupId, allowed, memberId, memberEpoch, requireStable), groupId);
        const visible = topics === null ? offsets.filter((o) => authz.allows(ctx, Operation.DESCRIBE, ResourceType.TOPIC, o.topic)) : offsets;
        return { errorCode: ErrorCode.NONE as number, topics: [...byTopic(visible), ...refused] };
      } catch (err) {
        return { errorCode: errorCodeOf(err), topics: [] };
      }
    };
    if (ctx.apiVersion < 8) {
      const topics = req.topics === null ? null : req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
      const r = await fetchGroup(req.groupId, topics);
      return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
    }
    const groups = [];
    for (const g of req.groups) {
      const topics = g.topics === null ? null : g.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
      const r = ctx.apiVersion >= 9 ? await fetchGroup(g.groupId, topics, g.memberId, g.memberEpoch) : await fetchGroup(g.groupId, topics);
      groups.push({ groupId: g.groupId, errorCode: r.errorCode, topics: r.topics });
    }
    return { throttleTimeMs: 0, groups };
  },
});
