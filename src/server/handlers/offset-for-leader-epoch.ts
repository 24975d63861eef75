// OffsetForLeaderEpoch (key 23), v0-4. Every partition has had one leader epoch (0) on this single broker,
// so the end offset of epoch 0 is the log end offset; a later epoch is unknown (-1/-1).
import { OffsetForLeaderEpochRequest } from '../../protocol/generated/offset-for-leader-epoch-request.js';
import { OffsetForLeaderEpochResponse, type OffsetForLeaderEpochResponseInit, type OffsetForLeaderTopicResultInit, type EpochEndOffsetInit } from '../../protocol/generated/offset-for-leader-epoch-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { LEADER_EPOCH, leaderEpochError } from '../broker-context.js';

export default defineHandler({
  request: OffsetForLeaderEpochRequest,
  response: OffsetForLeaderEpochResponse,
  concurrent: true,
  handle(req, ctx): OffsetForLeaderEpochResponseInit {
    const topics: OffsetForLeaderTopicResultInit[] = [];
    for (const t of req.topics) {
      const partitions: EpochEndOffsetInit[] = [];
      topics.push({ topic: t.topic, partitions });
      for (const p of t.partitions) {
        const out: EpochEndOffsetInit = { partition: p.partition, errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1n };
        partitions.push(out);
        try {
          const log = ctx.broker.topics.log(t.topic, p.partition);
          const epochError = leaderEpochError(p.currentLeaderEpoch);
          if (epochError !== ErrorCode.NONE) {
            out.errorCode = epochError;
          } else if (p.leaderEpoch <= LEADER_EPOCH) {
            out.leaderEpoch = LEADER_EPOCH;
            out.endOffset = BigInt(log.logEndOffset);
          }
        } catch (err) {
          out.errorCode = errorCodeOf(err);
        }
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
