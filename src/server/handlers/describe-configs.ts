// DescribeConfigs (key 32), v0-4. Topics (resource type 2) list every topic-level key with its effective
// value and source; the broker (type 4, named by its node id) lists its configuration with sources (static and
// dynamic), the cluster default (type 4, "") its dynamic defaults, BROKER_LOGGER (type 8) the log level; a
// group (type 32) lists its consumer.* configs, explicit or the broker's default (group-configs.ts).
import { DescribeConfigsRequest } from '../../protocol/generated/describe-configs-request.js';
import { DescribeConfigsResponse, type DescribeConfigsResponseInit, type DescribeConfigsResultInit } from '../../protocol/generated/describe-configs-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { describeTopicConfigs, RESOURCE_BROKER, RESOURCE_TOPIC } from '../configs.js';
import { RESOURCE_BROKER_LOGGER } from '../dynamic-configs.js';
import { errorCodeOf, errorMessageOf } from '../error-mapping.js';
import { Operation } from '../../security/authorizer.js';
import { RESOURCE_GROUP } from '../group-configs.js';

export default defineHandler({
  request: DescribeConfigsRequest,
  response: DescribeConfigsResponse,
  handle(req, ctx): DescribeConfigsResponseInit {
    const results: DescribeConfigsResultInit[] = [];
    const opts = { synonyms: req.includeSynonyms, documentation: req.includeDocumentation };
    for (const r of req.resources) {
      const out: DescribeConfigsResultInit = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
      results.push(out);
      const denied = ctx.broker.authorizer.checkConfigResource(ctx, Operation.DESCRIBE_CONFIGS, r.resourceType, r.resourceName);
      if (denied) {
        out.errorCode = denied;
        out.errorMessage = 'Authorization failed.';
        continue;
      }
      if (r.resourceType === RESOURCE_TOPIC) {
        const info = ctx.broker.topics.get(r.resourceName);
        if (!info) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          out.errorMessage = `Topic '${r.resourceName}' does not exist.`;
          continue;
        }
        out.configs = describeTopicConfigs(ctx.broker, info.config, r.configurationKeys, opts);
      } else if (r.resourceType === RESOURCE_BROKER || r.resourceType === RESOURCE_BROKER_LOGGER) {
        try {
          out.configs = r.resourceType === RESOURCE_BROKER
            ? ctx.broker.dynamicConfigs.describe(r.resourceName, r.configurationKeys, opts)
            : ctx.broker.dynamicConfigs.describeLoggers(r.resourceName, r.configurationKeys);
        } catch (err) {
          out.errorCode = errorCodeOf(err);
          out.errorMessage = errorMessageOf(err);
        }
      } else if (r.resourceType === RESOURCE_GROUP) {
        if (r.resourceName === '') {
          out.errorCode = ErrorCode.INVALID_REQUEST;
          out.errorMessage = 'Group id must not be empty.';
          continue;
        }
        out.configs = ctx.broker.groupConfigs.describe(r.resourceName, r.configurationKeys, req.includeSynonyms);
      } else {
        out.errorCode = ErrorCode.INVALID_REQUEST;
        out.errorMessage = `Unsupported resource type ${r.resourceType}`;
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
