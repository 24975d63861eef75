// Heartbeat (key 12), v0-4. REBALANCE_IN_PROGRESS tells a member to rejoin; v3+ static members
// (FENCED_INSTANCE_ID when another member has taken the instance id).
import { HeartbeatRequest } from '../../protocol/generated/heartbeat-request.js';
import { HeartbeatResponse, type HeartbeatResponseInit } from '../../protocol/generated/heartbeat-response.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default defineHandler({
  request: HeartbeatRequest,
  response: HeartbeatResponse,
  async handle(req, ctx): Promise<HeartbeatResponseInit> {
    const { coordinator, runtime } = ctx.broker.groups;
    const instanceId = ctx.apiVersion >= 3 ? req.groupInstanceId : null;
    const denied = ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    if (denied) return { throttleTimeMs: 0, errorCode: denied };
    try {
      const errorCode = await runtime.run(() => coordinator.heartbeat(req.groupId, req.generationId, req.memberId, instanceId), req.groupId);
      return { throttleTimeMs: 0, errorCode };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err) };
    }
  },
});
