// AddPartitionsToTxn (key 24), v0-5. v0-3 is the client form (one transaction); v4+ the broker-to-broker
// batched form with verifyOnly, served too. v2+ may answer PRODUCER_FENCED (older versions get
// INVALID_PRODUCER_EPOCH); v5's TRANSACTION_ABORTABLE is never returned. The transaction coordinator decides.
import { AddPartitionsToTxnRequest } from '../../protocol/generated/add-partitions-to-txn-request.js';
import { AddPartitionsToTxnResponse, type AddPartitionsToTxnResponseInit } from '../../protocol/generated/add-partitions-to-txn-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';

export default defineHandler({
  request: AddPartitionsToTxnRequest,
  response: AddPartitionsToTxnResponse,
  async handle(req, ctx): Promise<AddPartitionsToTxnResponseInit> {
    const txns = ctx.broker.transactions;
    try {
      if (ctx.apiVersion <= 3) return await txns.run(() => txns.coordinator.addPartitionsToTxn(req, ctx.apiVersion), req.v3AndBelowTransactionalId);
      // Batched: each transaction its own coordinator check (NOT_COORDINATOR for ids not coordinated here).
      const refused = req.transactions.flatMap((t) => {
        const errorCode = txns.ownershipError(t.transactionalId);
        return errorCode === ErrorCode.NONE ? [] : [{
          transactionalId: t.transactionalId,
          topicResults: t.topics.map((tp) => ({ name: tp.name, resultsByPartition: tp.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorCode })) })),
        }];
      });
      const served = { ...req, transactions: req.transactions.filter((t) => !refused.some((r) => r.transactionalId === t.transactionalId)) };
      const res = await txns.run(() => txns.coordinator.addPartitionsToTxn(served, ctx.apiVersion));
      return { ...res, resultsByTransaction: [...res.resultsByTransaction, ...refused] };
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
