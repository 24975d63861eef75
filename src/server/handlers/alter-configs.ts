// AlterConfigs (key 33), v0-2. Replaces a topic's whole set of overrides (keys not given revert to their
// defaults), as Kafka's legacy AlterConfigs does; for the broker (type 4: its id, or "" for the cluster default)
// the same with its dynamic configs (dynamic-configs.ts). BROKER_LOGGER needs IncrementalAlterConfigs.
import { AlterConfigsRequest } from '../../protocol/generated/alter-configs-request.js';
import { AlterConfigsResponse, type AlterConfigsResponseInit, type AlterConfigsResourceResponseInit } from '../../protocol/generated/alter-configs-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, alterConfigsChanges } from '../audit-changes.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation } from '../../security/authorizer.js';
import { checkAlterableResource } from '../configs.js';
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER } from '../dynamic-configs.js';
import { KafkaError } from '../../errors.js';

export default auditChanges(alterConfigsChanges, defineHandler({
  request: AlterConfigsRequest,
  response: AlterConfigsResponse,
  async handle(req, ctx): Promise<AlterConfigsResponseInit> {
    const responses: AlterConfigsResourceResponseInit[] = [];
    for (const r of req.resources) {
      const out: AlterConfigsResourceResponseInit = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
      responses.push(out);
      const denied = ctx.broker.authorizer.checkConfigResource(ctx, Operation.ALTER_CONFIGS, r.resourceType, r.resourceName);
      if (denied) {
        out.errorCode = denied;
        out.errorMessage = 'Authorization failed.';
        continue;
      }
      try {
        if (r.resourceType === RESOURCE_BROKER) {
          await ctx.broker.dynamicConfigs.replace(r.resourceName, r.configs, req.validateOnly);
          continue;
        }
        if (r.resourceType === RESOURCE_BROKER_LOGGER) throw new KafkaError('INVALID_REQUEST', 'AlterConfigs does not support the BROKER_LOGGER resource type: use IncrementalAlterConfigs');
        checkAlterableResource(r.resourceType);
        const config: Record<string, string> = {};
        for (const c of r.configs) {
          if (c.value === null) throw new KafkaError('INVALID_CONFIG', `Null value not supported for topic configs: ${c.name}`);
          config[c.name] = c.value;
        }
        await ctx.broker.topics.setConfig(r.resourceName, config, req.validateOnly);
      } catch (err) {
        out.errorCode = errorCodeOf(err);
        out.errorMessage = errorMessageOf(err);
      }
    }
    return { throttleTimeMs: 0, responses };
  },
}));
