// SaslHandshake (key 17), v0-1. On a SASL listener the connection's SaslAuthenticator answers it: v1 starts a
// SaslAuthenticate exchange, v0 the legacy flow of raw tokens. Elsewhere (and after authentication when
// re-authentication is off) it is ILLEGAL_SASL_STATE, as Kafka's KafkaApis answers.
import { SaslHandshakeRequest } from '../../protocol/generated/sasl-handshake-request.js';
import { SaslHandshakeResponse, type SaslHandshakeResponseInit } from '../../protocol/generated/sasl-handshake-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';

export default defineHandler({
  request: SaslHandshakeRequest,
  response: SaslHandshakeResponse,
  handle(req, ctx): SaslHandshakeResponseInit {
    if (!ctx.sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    return ctx.sasl.handshake(req.mechanism, ctx.apiVersion, ctx);
  },
});
