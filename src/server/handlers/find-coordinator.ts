// FindCoordinator (key 10), v0-6. This broker coordinates every group: the first lookup creates
// __consumer_offsets (as Kafka does). v0 has no key type (always a group); v1-3 one key with its type;
// v4+ batches keys. Transaction coordinators (key type 1) are this broker too; the first lookup creates
// __transaction_state. Share-group keys (type 2, v6) are not supported (INVALID_REQUEST).
import { FindCoordinatorRequest } from '../../protocol/generated/find-coordinator-request.js';
import { FindCoordinatorResponse, type FindCoordinatorResponseInit } from '../../protocol/generated/find-coordinator-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';

const GROUP = 0;
const TRANSACTION = 1;

async function lookup(key: string, keyType: number, ctx: RequestContext): Promise<{ errorCode: number; errorMessage: string | null }> {
  if (keyType !== GROUP && keyType !== TRANSACTION) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported key type ${keyType}` };
  if (key === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `The ${keyType === GROUP ? 'group' : 'transactional'} id is empty` };
  try {
    await (keyType === GROUP ? ctx.broker.groups : ctx.broker.transactions).runtime.ensureTopic();
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (err) {
    ctx.logger.error({ err, keyType }, 'cannot create the coordinator topic');
    return { errorCode: errorCodeOf(err) === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : errorCodeOf(err), errorMessage: errorMessageOf(err) };
  }
}

export default defineHandler({
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  async handle(req, ctx): Promise<FindCoordinatorResponseInit> {
    const { nodeId, advertisedHost: host, advertisedPort: port } = ctx.broker;
    const keyType = ctx.apiVersion === 0 ? GROUP : req.keyType;
    if (ctx.apiVersion < 4) {
      const r = await lookup(req.key, keyType, ctx);
      const ok = r.errorCode === ErrorCode.NONE;
      return { throttleTimeMs: 0, errorCode: r.errorCode, errorMessage: r.errorMessage, nodeId: ok ? nodeId : -1, host: ok ? host : '', port: ok ? port : -1 };
    }
    const coordinators = [];
    for (const key of req.coordinatorKeys) {
      const r = await lookup(key, keyType, ctx);
      const ok = r.errorCode === ErrorCode.NONE;
      coordinators.push({ key, nodeId: ok ? nodeId : -1, host: ok ? host : '', port: ok ? port : -1, ...r });
    }
    return { throttleTimeMs: 0, coordinators };
  },
});
