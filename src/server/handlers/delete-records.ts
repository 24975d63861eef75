// DeleteRecords (key 21), v0-2. Moves the log start offset (persisted); whole segments below it are deleted.
// Offset -1 means "up to the high watermark".
import { DeleteRecordsRequest } from '../../protocol/generated/delete-records-request.js';
import { DeleteRecordsResponse, type DeleteRecordsResponseInit, type DeleteRecordsTopicResultInit, type DeleteRecordsPartitionResultInit } from '../../protocol/generated/delete-records-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, deleteRecordsChanges } from '../audit-changes.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default auditChanges(deleteRecordsChanges, defineHandler({
  request: DeleteRecordsRequest,
  response: DeleteRecordsResponse,
  handle(req, ctx): DeleteRecordsResponseInit {
    const topics: DeleteRecordsTopicResultInit[] = [];
    for (const t of req.topics) {
      const partitions: DeleteRecordsPartitionResultInit[] = [];
      topics.push({ name: t.name, partitions });
      const denied = ctx.broker.authorizer.check(ctx, Operation.DELETE, ResourceType.TOPIC, t.name);
      for (const p of t.partitions) {
        const out: DeleteRecordsPartitionResultInit = { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: denied };
        partitions.push(out);
        if (denied) continue;
        try {
          // At the partition's leader (followers follow its log start through their fetches).
          ctx.broker.replication.leaderEpochFor(t.name, p.partitionIndex);
          const log = ctx.broker.topics.log(t.name, p.partitionIndex);
          const target = p.offset === -1n ? log.highWatermark : Number(p.offset);
          if (target < 0) {
            out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
            continue;
          }
          out.lowWatermark = BigInt(log.deleteRecordsBefore(target));
        } catch (err) {
          out.errorCode = errorCodeOf(err);
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
}));
