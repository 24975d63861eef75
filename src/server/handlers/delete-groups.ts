// DeleteGroups (key 42), v0-2. Only empty groups (classic or KIP-848) can go (NON_EMPTY_GROUP otherwise);
// their offsets and metadata are tombstoned in __consumer_offsets.
import { DeleteGroupsRequest } from '../../protocol/generated/delete-groups-request.js';
import { DeleteGroupsResponse, type DeleteGroupsResponseInit } from '../../protocol/generated/delete-groups-response.js';
import { defineHandler } from '../handler.js';
import { auditChanges, deleteGroupsChanges } from '../audit-changes.js';
import { errorCodeOf } from '../error-mapping.js';

export default auditChanges(deleteGroupsChanges, defineHandler({
  request: DeleteGroupsRequest,
  response: DeleteGroupsResponse,
  async handle(req, ctx): Promise<DeleteGroupsResponseInit> {
    const groups = ctx.broker.groups;
    try {
      return { throttleTimeMs: 0, results: await groups.runtime.run(() => groups.deleteGroups(req.groupsNames)) };
    } catch (err) {
      const errorCode = errorCodeOf(err);
      return { throttleTimeMs: 0, results: req.groupsNames.map((groupId) => ({ groupId, errorCode })) };
    }
  },
}));
