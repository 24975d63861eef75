// FindCoordinator (key 10), v0-6. A group's coordinator is the leader of its __consumer_offsets partition, a
// transactional id's the leader of its __transaction_state partition (this broker on a single node); the first
// lookup creates the topic (as Kafka does; with fewer live brokers than its replication factor, it answers
// COORDINATOR_NOT_AVAILABLE). v0 has no key type (always a group); v1-3 one key with its type; v4+ batches keys.
// Share-group keys (type 2, v6) are not supported (INVALID_REQUEST).
import { brokersOn } from '../replication.js';
import { FindCoordinatorRequest } from '../../protocol/generated/find-coordinator-request.js';
import { FindCoordinatorResponse, type FindCoordinatorResponseInit } from '../../protocol/generated/find-coordinator-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

const GROUP = 0;
const TRANSACTION = 1;

interface Found {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

const NONE_FOUND = { nodeId: -1, host: '', port: -1 };

/** The coordinator is the leader of the key's partition of the internal topic (this broker on a single node). */
async function lookup(key: string, keyType: number, ctx: RequestContext): Promise<Found> {
  if (keyType !== GROUP && keyType !== TRANSACTION) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported key type ${keyType}`, ...NONE_FOUND };
  if (key === '') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `The ${keyType === GROUP ? 'group' : 'transactional'} id is empty`, ...NONE_FOUND };
  // Kafka: DESCRIBE on the group / transactional id.
  const denied = ctx.broker.authorizer.check(ctx, Operation.DESCRIBE, keyType === GROUP ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID, key);
  if (denied) return { errorCode: denied, errorMessage: null, ...NONE_FOUND };
  try {
    const service = keyType === GROUP ? ctx.broker.groups : ctx.broker.transactions;
    await service.runtime.ensureTopic();
    const topic = keyType === GROUP ? '__consumer_offsets' : '__transaction_state';
    const info = ctx.broker.replication.partitionInfo(topic, service.runtime.partitionOf(key));
    const leader = info && info.leader >= 0 ? brokersOn(ctx.broker.replication.brokers(), ctx.session?.listenerName).find((b) => b.nodeId === info.leader) : undefined;
    if (!leader) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The coordinator is not available.', ...NONE_FOUND };
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: leader.nodeId, host: leader.host, port: leader.port };
  } catch (err) {
    const code = errorCodeOf(err);
    // Fewer live brokers than the internal topic's replication factor (a cluster starting up, or with brokers
    // down before the topic's first use): Kafka answers COORDINATOR_NOT_AVAILABLE, which clients retry.
    if (code === ErrorCode.INVALID_REPLICATION_FACTOR) {
      ctx.logger.warn({ err, keyType }, 'cannot create the coordinator topic yet');
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: errorMessageOf(err), ...NONE_FOUND };
    }
    ctx.logger.error({ err, keyType }, 'cannot create the coordinator topic');
    return { errorCode: code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code, errorMessage: errorMessageOf(err), ...NONE_FOUND };
  }
}

export default defineHandler({
  request: FindCoordinatorRequest,
  response: FindCoordinatorResponse,
  async handle(req, ctx): Promise<FindCoordinatorResponseInit> {
    const keyType = ctx.apiVersion === 0 ? GROUP : req.keyType;
    if (ctx.apiVersion < 4) {
      const r = await lookup(req.key, keyType, ctx);
      return { throttleTimeMs: 0, ...r };
    }
    const coordinators = [];
    for (const key of req.coordinatorKeys) coordinators.push({ key, ...(await lookup(key, keyType, ctx)) });
    return { throttleTimeMs: 0, coordinators };
  },
});
