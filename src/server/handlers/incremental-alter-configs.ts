// IncrementalAlterConfigs (key 44), v0-1. Operations per key: SET (0), DELETE (1, back to the default),
// APPEND (2) and SUBTRACT (3) for list-typed keys such as cleanup.policy. The broker (type 4: its id, or "" for
// the cluster default) and BROKER_LOGGER (type 8) go to dynamic-configs.ts, GROUP resources (type 32) to
// group-configs.ts.
import { IncrementalAlterConfigsRequest } from '../../protocol/generated/incremental-alter-configs-request.js';
import { IncrementalAlterConfigsResponse, type IncrementalAlterConfigsResponseInit, type AlterConfigsResourceResponseInit } from '../../protocol/generated/incremental-alter-configs-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { auditChanges, incrementalAlterConfigsChanges } from '../audit-changes.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation } from '../../security/authorizer.js';
import { checkAlterableResource, isListConfig, effectiveTopicConfigValue } from '../configs.js';
import { RESOURCE_BROKER, RESOURCE_BROKER_LOGGER } from '../dynamic-configs.js';
import { KafkaError } from '../../errors.js';
import { alterGroupConfigsIncrementally, RESOURCE_GROUP } from '../group-configs.js';

const SET = 0, DELETE = 1, APPEND = 2, SUBTRACT = 3;

export default auditChanges(incrementalAlterConfigsChanges, defineHandler({
  request: IncrementalAlterConfigsRequest,
  response: IncrementalAlterConfigsResponse,
  async handle(req, ctx): Promise<IncrementalAlterConfigsResponseInit> {
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
        if (r.resourceType === RESOURCE_GROUP) {
          alterGroupConfigsIncrementally(ctx.broker.groupConfigs, r.resourceName, r.configs, req.validateOnly);
          continue;
        }
        if (r.resourceType === RESOURCE_BROKER || r.resourceType === RESOURCE_BROKER_LOGGER) {
          const ops = r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }));
          if (r.resourceType === RESOURCE_BROKER) await ctx.broker.dynamicConfigs.incrementalAlter(r.resourceName, ops, req.validateOnly);
          else ctx.broker.dynamicConfigs.alterLoggers(r.resourceName, ops, req.validateOnly);
          continue;
        }
        checkAlterableResource(r.resourceType);
        const info = ctx.broker.topics.get(r.resourceName);
        if (!info) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${r.resourceName}' does not exist.`);
        const names = new Set<string>();
        const next = { ...info.config };
        for (const c of r.configs) {
          if (names.has(c.name)) throw new KafkaError('INVALID_REQUEST', `Error due to duplicate config keys: ${c.name}`);
          names.add(c.name);
          switch (c.configOperation) {
            case SET:
              if (c.value === null) throw new KafkaError('INVALID_REQUEST', `Null value not supported for ${c.name}`);
              next[c.name] = c.value;
              break;
            case DELETE:
              delete next[c.name];
              break;
            case APPEND:
            case SUBTRACT: {
              if (!isListConfig(c.name)) throw new KafkaError('INVALID_CONFIG', `Config value append/subtract is not allowed for config key ${c.name}`);
              const current = (next[c.name] ?? effectiveTopicConfigValue(ctx.broker, info.config, c.name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
              const items = (c.value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
              const result = c.configOperation === APPEND
                ? [...current, ...items.filter((i) => !current.includes(i))]
                : current.filter((i) => !items.includes(i));
              next[c.name] = result.join(',');
              break;
            }
            default:
              throw new KafkaError('INVALID_REQUEST', `Unknown config operation ${c.configOperation}`);
          }
        }
        await ctx.broker.topics.setConfig(r.resourceName, next, req.validateOnly);
      } catch (err) {
        out.errorCode = errorCodeOf(err);
        out.errorMessage = errorMessageOf(err);
      }
    }
    return { throttleTimeMs: 0, responses };
  },
}));
