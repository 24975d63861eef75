// ListTransactions (key 66), v0-1: every transactional id, filtered by state names (unknown names are echoed
// in unknownStateFilters), producer ids and, v1+, a minimum running duration. Read-only.
import { ListTransactionsRequest } from '../../protocol/generated/list-transactions-request.js';
import { ListTransactionsResponse, type ListTransactionsResponseInit } from '../../protocol/generated/list-transactions-response.js';
import { defineHandler } from '../handler.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: ListTransactionsRequest,
  response: ListTransactionsResponse,
  async handle(req, ctx): Promise<ListTransactionsResponseInit> {
    const txns = ctx.broker.transactions;
    const res = await txns.runtime.query(() => txns.coordinator.listTransactions(req));
    // Kafka: only the transactional ids the caller may DESCRIBE.
    res.transactionStates = res.transactionStates.filter((t) => ctx.broker.authorizer.allows(ctx, Operation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.transactionalId));
    return res;
  },
});
