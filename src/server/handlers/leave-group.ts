// LeaveGroup (key 13), v0-5. v0-2 one member id, its error at the top level; v3+ a batch of members
// (static ones by group.instance.id, with an empty member id allowed) with an error each; v5 a reason.
import { LeaveGroupRequest } from '../../protocol/generated/leave-group-request.js';
import { LeaveGroupResponse, type LeaveGroupResponseInit } from '../../protocol/generated/leave-group-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { MemberRef } from '../../coordinator/group/group-coordinator.js';

export default defineHandler({
  request: LeaveGroupRequest,
  response: LeaveGroupResponse,
  async handle(req, ctx): Promise<LeaveGroupResponseInit> {
    const { coordinator, runtime } = ctx.broker.groups;
    const batched = ctx.apiVersion >= 3;
    const leaving: MemberRef[] = batched
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: req.memberId, groupInstanceId: null }];
    const denied = ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    if (denied) return { throttleTimeMs: 0, errorCode: denied, members: [] };
    try {
      const members = await runtime.run(() => coordinator.leaveGroup(req.groupId, leaving), req.groupId);
      if (!batched) return { throttleTimeMs: 0, errorCode: members[0]!.errorCode };
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, members };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err), members: [] };
    }
  },
});
