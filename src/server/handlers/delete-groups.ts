// DeleteGroups (key 42), v0-2. Only empty groups (classic or KIP-848) can go (NON_EMPTY_GROUP otherwise);
// their offsets and metadata are tombstoned in __consumer_offsets.
import { DeleteGroupsRequest } from '../../protocol/generated/delete-groups-request.js';
import { DeleteGroupsResponse, type DeleteGroupsResponseInit } from '../../protocol/generated/delete-groups-response.js';
import { defineHandler } from '../handler.js';
import { auditChanges, deleteGroupsChanges } from '../audit-changes.js';
import { errorCodeOf } from '../error-mapping.js';
import { Operation, ResourceType } from '../../security/authorizer.js';

export default auditChanges(deleteGroupsChanges, defineHandler({
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  async handle(req, ctx): Promise<DeleteGroupsResponseInit> {
    const groups = ctx.broker.groups;
    // Kafka: DELETE on each group (GROUP_AUTHORIZATION_FAILED for the others).
    const denied = new Map(req.groupsNames.map((g) => [g, ctx.broker.authorizer.check(ctx, Operation.DELETE, ResourceType.GROUP, g)]));
    const allowed = req.groupsNames.filter((g) => !denied.get(g));
    const refused = req.groupsNames.filter((g) => denied.get(g)).map((groupId) => ({ groupId, errorCode: denied.get(groupId)! }));
    try {
      const results = allowed.length === 0 ? [] : await groups.runtime.run(() => groups.deleteGroups(allowed));
      return { throttleTimeMs: 0, results: [...results, ...refused] };
    } catch (err) {
      const errorCode = errorCodeOf(err);
      return { throttleTimeMs: 0, results: [...allowed.map((groupId) => ({ groupId, errorCode })), ...refused] };
    }
  },
}));
