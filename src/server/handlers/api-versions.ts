// ApiVersions (key 18), v0-4. v3+ carries the client's software name/version; the response always uses
// response header v0 (handled by responseHeaderVersion). A version newer than ours is answered in the v0
// layout with UNSUPPORTED_VERSION by the connection, using apiVersionsUnsupportedResponse.
import { ApiVersionsRequest } from '../../protocol/generated/api-versions-request.js';
import { ApiVersionsResponse, type ApiVersionsResponseInit } from '../../protocol/generated/api-versions-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import type { ApiVersionRange } from '../broker-context.js';
import { defineHandler } from '../handler.js';

function ranges(handlers: ReadonlyMap<number, ApiVersionRange>): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
  return [...handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}

export function apiVersionsUnsupportedResponse(handlers: ReadonlyMap<number, ApiVersionRange>): ApiVersionsResponseInit {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: ranges(handlers) };
}

export default defineHandler({
  request: ApiVersionsRequest,
  response: ApiVersionsResponse,
  concurrent: true,
  handle(req, ctx): ApiVersionsResponseInit {
    if (ctx.apiVersion >= 3 && !(/^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/.test(req.clientSoftwareName) &&
        /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/.test(req.clientSoftwareVersion))) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys: ranges(ctx.broker.handlers) };
    }
    return { errorCode: ErrorCode.NONE, apiKeys: ranges(ctx.broker.handlers), throttleTimeMs: 0 };
  },
});
