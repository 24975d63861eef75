// AddPartitionsToTxn (key 24), v0-5. v0-3 is the client form (one transaction); v4+ the broker-to-broker
// batched form with verifyOnly, served too. v2+ may answer PRODUCER_FENCED (older versions get
// INVALID_PRODUCER_EPOCH); v5's TRANSACTION_ABORTABLE is never returned. The transaction coordinator decides.
import { AddPartitionsToTxnRequest } from '../../protocol/generated/add-partitions-to-txn-request.js';
import { AddPartitionsToTxnResponse, type AddPartitionsToTxnResponseInit } from '../../protocol/generated/add-partitions-to-txn-response.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';

export default defineHandler({
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  async handle(req, ctx): Promise<AddPartitionsToTxnResponseInit> {
    const txns = ctx.broker.transactions;
    try {
      return await txns.run(() => txns.coordinator.addPartitionsToTxn(req, ctx.apiVersion));
    } catch (err) {
      const errorCode = errorCodeOf(err);
      const topics = (list: typeof req.v3AndBelowTopics) => list.map((t) => ({
        name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorCode })),
      }));
      if (ctx.apiVersion <= 3) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: topics(req.v3AndBelowTopics) };
      return { throttleTimeMs: 0, errorCode, resultsByTransaction: [] };
    }
  },
});
