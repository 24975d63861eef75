// ListOffsets (key 2), v0-10. Special timestamps: -1 latest (the high watermark; the last stable offset for
// read_committed), -2 earliest, -3 max timestamp (KIP-734), -4 earliest local (KIP-405: no tiering here, so
// the log start), -5 earliest pending upload (no tiering: none). v0 answers with old_style_offsets.
import { ListOffsetsRequest } from '../../protocol/generated/list-offsets-request.js';
import { ListOffsetsResponse, type ListOffsetsResponseInit, type ListOffsetsTopicResponseInit, type ListOffsetsPartitionResponseInit } from '../../protocol/generated/list-offsets-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const EARLIEST_PENDING_UPLOAD = -5n;

export default defineHandler({
  request: ListOffsetsRequest,
  response: ListOffsetsResponse,
  concurrent: true,
  handle(req, ctx): ListOffsetsResponseInit {
    const topics: ListOffsetsTopicResponseInit[] = [];
    for (const t of req.topics) {
      const partitions: ListOffsetsPartitionResponseInit[] = [];
      topics.push({ name: t.name, partitions });
      const denied = ctx.broker.authorizer.check(ctx, Operation.DESCRIBE, ResourceType.TOPIC, t.name);
      for (const p of t.partitions) {
        const out: ListOffsetsPartitionResponseInit = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
        partitions.push(out);
        if (denied) {
          out.errorCode = denied;
          if (ctx.apiVersion === 0) out.oldStyleOffsets = [];
          continue;
        }
        try {
          const leaderEpoch = ctx.broker.replication.leaderEpochFor(t.name, p.partitionIndex);
          const log = ctx.broker.topics.log(t.name, p.partitionIndex);
          const epochError = ctx.broker.replication.checkLeaderEpoch(t.name, p.partitionIndex, p.currentLeaderEpoch);
          if (epochError !== ErrorCode.NONE) {
            out.errorCode = epochError;
            continue;
          }
          let found: { offset: number; timestamp: number } | null;
          switch (p.timestamp) {
            // isolation_level exists from v2; it reads 0 (read_uncommitted) below that.
            case LATEST: found = { offset: req.isolationLevel === 1 ? log.lastStableOffset : log.highWatermark, timestamp: -1 }; break;
            case EARLIEST:
            case EARLIEST_LOCAL: found = { offset: log.logStartOffset, timestamp: -1 }; break;
            case MAX_TIMESTAMP: found = log.offsetOfMaxTimestamp(); break;
            case EARLIEST_PENDING_UPLOAD: found = null; break;
            default:
              if (p.timestamp < 0n) {
                out.errorCode = ErrorCode.INVALID_REQUEST;
                continue;
              }
              found = log.offsetForTimestamp(Number(p.timestamp));
          }
          if (found) {
            out.offset = BigInt(found.offset);
            out.timestamp = BigInt(found.timestamp);
            out.leaderEpoch = leaderEpoch;
          }
          if (ctx.apiVersion === 0) out.oldStyleOffsets = found ? [BigInt(found.offset)] : [];
        } catch (err) {
          out.errorCode = errorCodeOf(err);
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
