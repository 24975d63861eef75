// DescribeTransactions (key 65), v0: state, timeout, start time, producer id/epoch and partitions of each
// transactional id; unknown ids answer TRANSACTIONAL_ID_NOT_FOUND. Read-only: never creates __transaction_state.
import { DescribeTransactionsRequest } from '../../protocol/generated/describe-transactions-request.js';
import { DescribeTransactionsResponse, type DescribeTransactionsResponseInit } from '../../protocol/generated/describe-transactions-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: DescribeTransactionsRequest,
  response: DescribeTransactionsResponse,
  async handle(req, ctx): Promise<DescribeTransactionsResponseInit> {
    const txns = ctx.broker.transactions;
    // Kafka: DESCRIBE on each transactional id; the transaction's topics only those the caller may DESCRIBE.
    const authz = ctx.broker.authorizer;
    const denied = new Set(req.transactionalIds.filter((id) => authz.check(ctx, Operation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)));
    const res = await txns.runtime.query(() => txns.coordinator.describeTransactions({ ...req, transactionalIds: req.transactionalIds.filter((id) => !denied.has(id)) }));
    for (const t of res.transactionStates) t.topics = t.topics.filter((tp) => authz.allows(ctx, Operation.DESCRIBE, ResourceType.TOPIC, tp.topic));
    for (const transactionalId of denied) {
      res.transactionStates.push({
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionalId, transactionState: '', transactionTimeoutMs: 0,
        transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [],
      });
    }
    // Ids whose __transaction_state partition is not coordinated (or not loaded yet) here.
    for (const t of res.transactionStates) {
      const errorCode = txns.ownershipError(t.transactionalId);
      if (errorCode !== ErrorCode.NONE) t.errorCode = errorCode;
    }
    return res;
  },
});
