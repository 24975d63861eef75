// SyncGroup (key 14), v0-5. The leader's request carries every member's assignment; each member's
// response waits until the leader's has been persisted. v3+ static members; v5+ protocol type and name
// are checked against the group's (INCONSISTENT_GROUP_PROTOCOL) and returned.
import { SyncGroupRequest } from '../../protocol/generated/sync-group-request.js';
import { SyncGroupResponse, type SyncGroupResponseInit } from '../../protocol/generated/sync-group-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { untilAborted } from '../../coordinator/runtime.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { SyncResult } from '../../coordinator/group/classic-group.js';

export default defineHandler({
  request: SyncGroupRequest,
  response: SyncGroupResponse,
  async handle(req, ctx): Promise<SyncGroupResponseInit> {
    const v = ctx.apiVersion;
    const { coordinator, runtime } = ctx.broker.groups;
    const error = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    let r: SyncResult;
    const denied = ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    if (denied) return { throttleTimeMs: 0, ...error(denied) };
    try {
      const synced = runtime.run(() => coordinator.syncGroup({
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: v >= 3 ? req.groupInstanceId : null,
        protocolType: v >= 5 ? req.protocolType : null,
        protocolName: v >= 5 ? req.protocolName : null,
        assignments: req.assignments,
      }), req.groupId);
      r = await untilAborted(synced, ctx.signal, () => error(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } catch (err) {
      r = error(errorCodeOf(err));
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
});
