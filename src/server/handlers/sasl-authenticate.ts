// SaslAuthenticate (key 36), v0-2. One SASL token each way; v1+ answers session_lifetime_ms (KIP-368), v2 is
// flexible. Answered by the connection's SaslAuthenticator on a SASL listener; ILLEGAL_SASL_STATE elsewhere.
import { SaslAuthenticateRequest } from '../../protocol/generated/sasl-authenticate-request.js';
import { SaslAuthenticateResponse, type SaslAuthenticateResponseInit } from '../../protocol/generated/sasl-authenticate-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  request: SaslAuthenticateRequest,
  response: SaslAuthenticateResponse,
  handle(req, ctx): SaslAuthenticateResponseInit | Promise<SaslAuthenticateResponseInit> {
    if (!ctx.sasl) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: `SaslAuthenticate on listener ${ctx.session?.listenerName ?? '(in-process)'}, which is not a SASL listener`, authBytes: Buffer.alloc(0) };
    }
    return ctx.sasl.authenticate(req.authBytes, ctx.apiVersion, ctx);
  },
});
