/**
 * The client's SASL step, as Kafka's Java client runs it on a new connection after ApiVersions:
 * SaslHandshake v1 names the mechanism, then SaslAuthenticate (v0–v2) carries the mechanism's messages —
 * PLAIN (one message), SCRAM-SHA-256/512 (client-first, client-final, then the server's signature checked),
 * OAUTHBEARER (KIP-255's `n,,\x01auth=Bearer <token>\x01\x01`; an error challenge is acknowledged with `\x01`).
 * The last SaslAuthenticate answer's session_lifetime_ms (v1+, KIP-368) tells the connection when to
 * re-authenticate. Every failure is a non-retriable ProtocolError with Kafka's error name
 * (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE) and the broker's message.
 */
import { SaslHandshakeRequest } from '../protocol/generated/sasl-handshake-request.js';
import { SaslHandshakeResponse } from '../protocol/generated/sasl-handshake-response.js';
import { SaslAuthenticateRequest } from '../protocol/generated/sasl-authenticate-request.js';
import { SaslAuthenticateResponse } from '../protocol/generated/sasl-authenticate-response.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { MessageCodec } from '../protocol/primitives/codec.js';
import { ScramClient, ScramError } from '../security/scram.js';
import { plainMessage } from '../security/plain.js';
import { oauthBearerClientMessage, OAuthBearerError } from '../security/oauthbearer.js';
import { ProtocolError, UnsupportedApiError } from './errors.js';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];

/** An OAuth bearer token, or an object holding it (kafkajs's oauthBearerProvider answers `{ value }`). */
export type OAuthBearerToken = string | { value: string; extensions?: Record<string, string> };

/** SASL settings of a client (Kafka's sasl.mechanism + the login module's options). */
export type SaslOptions =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | {
      mechanism: 'OAUTHBEARER';
      /** The token, or a provider called at every (re-)authentication, so a refreshed token is used. */
      token: OAuthBearerToken | (() => OAuthBearerToken | Promise<OAuthBearerToken>);
      /** SASL extensions sent with the token (KIP-342). */
      extensions?: Record<string, string>;
    };

/** What the connection needs to run the exchange: send one request outside any re-authentication gate. */
export type SaslSend = <Res, Init>(request: MessageCodec<any, Init>, response: MessageCodec<Res, any>, body: Init) => Promise<Res>;

export interface SaslResult {
  /** The broker's session_lifetime_ms (0: no limit). */
  readonly sessionLifetimeMs: number;
}

export function isSaslMechanism(name: string): name is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}

const failed = (address: string, mechanism: string, message: string): ProtocolError =>
  new ProtocolError(ErrorCode.SASL_AUTHENTICATION_FAILED, `SASL ${mechanism} authentication to ${address}`, message);

/**
 * Runs SaslHandshake + SaslAuthenticate on a connection whose ApiVersions are known. `supports` says whether
 * the broker offers an API; `send` sends one request.
 */
export async function saslAuthenticate(
  address: string,
  options: SaslOptions,
  supports: (codec: MessageCodec<any, any>, minVersion: number) => boolean,
  send: SaslSend,
): Promise<SaslResult> {
  const mechanism = options.mechanism;
  if (!isSaslMechanism(mechanism)) throw new UnsupportedApiError(`SASL mechanism ${String(mechanism)} is not supported: use one of ${SASL_MECHANISMS.join(', ')}`);
  if (!supports(SaslHandshakeRequest, 1) || !supports(SaslAuthenticateRequest, 0)) {
    throw new UnsupportedApiError(`the broker at ${address} does not offer SaslHandshake v1 and SaslAuthenticate: is this a SASL listener of a Kafka 1.0+ broker?`);
  }
  const hs = await send(SaslHandshakeRequest, SaslHandshakeResponse, { mechanism });
  if (hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    throw new ProtocolError(hs.errorCode, `SaslHandshake to ${address}`, `the broker does not enable ${mechanism}; it enables ${hs.mechanisms.length > 0 ? hs.mechanisms.join(', ') : 'none'}`);
  }
  if (hs.errorCode === ErrorCode.ILLEGAL_SASL_STATE) {
    throw new ProtocolError(hs.errorCode, `SaslHandshake (${mechanism}) to ${address}`, 'the broker does not take SASL on this listener: is it a SASL_PLAINTEXT or SASL_SSL listener, and is security.protocol right?');
  }
  if (hs.errorCode !== 0) throw new ProtocolError(hs.errorCode, `SaslHandshake (${mechanism}) to ${address}`);

  let lifetime = 0n;
  const step = async (authBytes: Buffer): Promise<Buffer> => {
    const res = await send(SaslAuthenticateRequest, SaslAuthenticateResponse, { authBytes });
    if (res.errorCode !== 0) {
      const msg = res.errorMessage ?? undefined;
      if (res.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED) throw failed(address, mechanism, msg ?? 'authentication failed');
      throw new ProtocolError(res.errorCode, `SaslAuthenticate (${mechanism}) to ${address}`, msg);
    }
    lifetime = res.sessionLifetimeMs;
    return res.authBytes;
  };

  try {
    switch (options.mechanism) {
      case 'PLAIN':
        await step(plainMessage(options.username, options.password));
        break;
      case 'SCRAM-SHA-256':
      case 'SCRAM-SHA-512': {
        const scram = new ScramClient(options.mechanism, options.username, options.password);
        const serverFirst = await step(scram.first());
        const serverFinal = await step(scram.final(serverFirst));
        scram.verify(serverFinal);
        break;
      }
      case 'OAUTHBEARER': {
        const provided = typeof options.token === 'function' ? await options.token() : options.token;
        const token = typeof provided === 'string' ? provided : provided?.value;
        if (typeof token !== 'string' || token === '') throw new OAuthBearerError('the OAUTHBEARER token provider gave no token');
        const extensions = { ...options.extensions, ...(typeof provided === 'object' ? provided.extensions : undefined) };
        const challenge = await step(oauthBearerClientMessage(token, extensions));
        if (challenge.length > 0) {
          // RFC 7628 §3.2.3: the server's error JSON; acknowledge it and the server fails the exchange.
          const detail = challenge.toString('utf8');
          await step(Buffer.from([0x01]));
          throw failed(address, mechanism, detail);
        }
        break;
      }
    }
  } catch (err) {
    if (err instanceof ScramError || err instanceof OAuthBearerError) throw failed(address, mechanism, err.message);
    throw err;
  }
  return { sessionLifetimeMs: Number(lifetime) };
}
