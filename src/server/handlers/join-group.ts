// JoinGroup (key 11), v0-9. v0 has no rebalance timeout (the session timeout stands in, as in Kafka);
// v4+ new dynamic members first get MEMBER_ID_REQUIRED with their id; v5+ static members
// (group.instance.id); v7+ the protocol type in the response (the protocol name nullable); v8 a reason
// (logged only); v9 skipAssignment for a static leader that rejoins a stable group.
import { JoinGroupRequest } from '../../protocol/generated/join-group-request.js';
import { JoinGroupResponse, type JoinGroupResponseInit } from '../../protocol/generated/join-group-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { copyBytes } from '../../protocol/primitives/codec.js';
import { untilAborted } from '../../coordinator/runtime.js';
import { defineHandler } from '../handler.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';
import type { JoinResult } from '../../coordinator/group/classic-group.js';

export default defineHandler({
  request: JoinGroupRequest,
  response: JoinGroupResponse,
  async handle(req, ctx): Promise<JoinGroupResponseInit> {
    const v = ctx.apiVersion;
    const groups = ctx.broker.groups;
    const error = (errorCode: number): JoinResult => ({
      errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: req.memberId, members: [], skipAssignment: false,
    });
    let r: JoinResult;
    const denied = ctx.broker.authorizer.check(ctx, Operation.READ, ResourceType.GROUP, req.groupId);
    try {
      if (denied) throw Object.assign(new Error('Not authorized to access group'), { kafkaError: 'GROUP_AUTHORIZATION_FAILED' });
      const joined = groups.runtime.run(() => groups.joinGroup({
        groupId: req.groupId,
        memberId: req.memberId,
        groupInstanceId: v >= 5 ? req.groupInstanceId : null,
        clientId: ctx.clientId ?? '',
        clientHost: ctx.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: v === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
        protocolType: req.protocolType,
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: copyBytes(p.metadata) })),
        requireKnownMemberId: v >= 4,
        supportsSkipAssignment: v >= 9,
      }), req.groupId);
      r = await untilAborted(joined, ctx.signal, () => error(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    } catch (err) {
      r = error(errorCodeOf(err));
    }
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      protocolName: v >= 7 ? r.protocolName : r.protocolName ?? '',
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members,
    };
  },
});
