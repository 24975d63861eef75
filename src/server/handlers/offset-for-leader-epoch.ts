// OffsetForLeaderEpoch (key 23), v0-4, at the partition's leader: the largest epoch at or below the requested one
// and where it ends (the start of the next epoch, or the log end for the latest), from the partition's leader epoch
// cache (KIP-101/KIP-279). Followers ask it (with their replica id) before fetching from a new leader; consumers ask
// it after a leader change to detect truncation. On a single node every partition has one epoch, 0.
import { OffsetForLeaderEpochRequest } from '../../protocol/generated/offset-for-leader-epoch-request.js';
import { OffsetForLeaderEpochResponse, type OffsetForLeaderEpochResponseInit, type OffsetForLeaderTopicResultInit, type EpochEndOffsetInit } from '../../protocol/generated/offset-for-leader-epoch-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: OffsetForLeaderEpochRequest,
  response: OffsetForLeaderEpochResponse,
  concurrent: true,
  handle(req, ctx): OffsetForLeaderEpochResponseInit {
    const topics: OffsetForLeaderTopicResultInit[] = [];
    // Kafka: a follower (replica id >= 0, v3+) needs CLUSTER_ACTION (else every partition fails), a client DESCRIBE on each topic.
    const authz = ctx.broker.authorizer;
    const follower = ctx.apiVersion >= 3 && req.replicaId >= 0;
    const clusterDenied = follower ? authz.check(ctx, Operation.CLUSTER_ACTION, ResourceType.CLUSTER) : ErrorCode.NONE;
    for (const t of req.topics) {
      const partitions: EpochEndOffsetInit[] = [];
      topics.push({ topic: t.topic, partitions });
      const denied = follower ? clusterDenied : authz.check(ctx, Operation.DESCRIBE, ResourceType.TOPIC, t.topic);
      for (const p of t.partitions) {
        const out: EpochEndOffsetInit = { partition: p.partition, errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1n };
        partitions.push(out);
        if (denied) {
          out.errorCode = denied;
          continue;
        }
        try {
          ctx.broker.replication.leaderEpochFor(t.topic, p.partition);
          const log = ctx.broker.topics.log(t.topic, p.partition);
          const epochError = ctx.broker.replication.checkLeaderEpoch(t.topic, p.partition, p.currentLeaderEpoch);
          if (epochError !== ErrorCode.NONE) {
            out.errorCode = epochError;
          } else {
            const found = log.endOffsetForEpoch(p.leaderEpoch);
            out.leaderEpoch = found.leaderEpoch;
            out.endOffset = BigInt(found.endOffset);
          }
        } catch (err) {
          out.errorCode = errorCodeOf(err);
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
