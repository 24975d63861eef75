// DescribeTransactions (key 65), v0: state, timeout, start time, producer id/epoch and partitions of each
// transactional id; unknown ids answer TRANSACTIONAL_ID_NOT_FOUND. Read-only: never creates __transaction_state.
import { DescribeTransactionsRequest } from '../../protocol/generated/describe-transactions-request.js';
import { DescribeTransactionsResponse, type DescribeTransactionsResponseInit } from '../../protocol/generated/describe-transactions-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  request: DescribeTransactionsRequest,
  response: DescribeTransactionsResponse,
  async handle(req, ctx): Promise<DescribeTransactionsResponseInit> {
    const txns = ctx.broker.transactions;
    const res = await txns.runtime.query(() => txns.coordinator.describeTransactions(req));
    // Ids whose __transaction_state partition is not coordinated (or not loaded yet) here.
    for (const t of res.transactionStates) {
      const errorCode = txns.ownershipError(t.transactionalId);
      if (errorCode !== ErrorCode.NONE) t.errorCode = errorCode;
    }
    return res;
  },
});
