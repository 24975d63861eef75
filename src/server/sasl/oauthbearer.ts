/**
 * SASL/OAUTHBEARER on the broker (RFC 7628, KIP-255) with Tributary's built-in JWT validation (KIP-768 style):
 * enabled by listing OAUTHBEARER in `sasl.enabled.mechanisms` and setting `sasl.oauthbearer.jwks.endpoint.url`
 * (http(s):// or file://; each `sasl.oauthbearer.*` key also per listener as `listener.name.<l>.sasl.oauthbearer.*`).
 * Kafka's `…oauthbearer.sasl.server.callback.handler.class` is not consulted: this validator is the handler.
 * Without a JWKS url the broker does what Kafka's default handler (OAuthBearerUnsecuredValidatorCallbackHandler)
 * does: it accepts only unsigned tokens (alg none), for development, with the JAAS options
 * unsecuredValidatorPrincipalClaimName / unsecuredValidatorScopeClaimName / unsecuredValidatorRequiredScope /
 * unsecuredValidatorAllowableClockSkewMs of `listener.name.<l>.oauthbearer.sasl.jaas.config` (or
 * `sasl.jaas.config`); signed tokens are then refused. A session lasts at most until the token's exp (KIP-368), so a
 * client must re-authenticate with a fresh token before then.
 */
import { ConfigError } from '../config.js';
import { parseSingleJaasEntry } from '../../security/jaas.js';
import { listenerConfig } from '../tls.js';
import { JwtValidator, OAUTHBEARER, OAuthBearerServer, jwksFromUrl, jwtValidatorOptions } from '../../security/oauthbearer.js';
import type { SaslMechanismFactory, SaslServerMechanism, SaslStep } from './mechanism.js';

export const oauthBearerMechanism: SaslMechanismFactory = {
  name: OAUTHBEARER,
  configure({ config, listenerName, jaasConfig }) {
    const get = (key: string): string | undefined => listenerConfig(config, listenerName, key);
    const url = get('sasl.oauthbearer.jwks.endpoint.url');
    let validator: JwtValidator;
    if (!url) {
      let options: ReadonlyMap<string, string> = new Map();
      try {
        if (jaasConfig) options = parseSingleJaasEntry(jaasConfig.value).options;
      } catch (err) {
        throw new ConfigError(`Invalid value for configuration ${jaasConfig!.key}: ${(err as Error).message}`);
      }
      const skewMs = Number(options.get('unsecuredValidatorAllowableClockSkewMs') ?? '0');
      if (!Number.isFinite(skewMs) || skewMs < 0) throw new ConfigError(`unsecuredValidatorAllowableClockSkewMs must be a non-negative number of milliseconds`);
      validator = new JwtValidator(null, {
        unsecured: { requiredScope: (options.get('unsecuredValidatorRequiredScope') ?? '').split(/[\s,]+/).filter(Boolean) },
        subClaimName: options.get('unsecuredValidatorPrincipalClaimName') ?? 'sub',
        scopeClaimName: options.get('unsecuredValidatorScopeClaimName') ?? 'scope',
        clockSkewSeconds: skewMs / 1000,
      });
    } else {
      try {
        const num = (key: string): number | undefined => (get(key) === undefined ? undefined : Number(get(key)));
        const jwks = jwksFromUrl(url, { refreshMs: num('sasl.oauthbearer.jwks.endpoint.refresh.ms'), retryBackoffMs: num('sasl.oauthbearer.jwks.endpoint.retry.backoff.ms') });
        validator = new JwtValidator(jwks, jwtValidatorOptions(get));
      } catch (err) {
        throw new ConfigError(`Invalid OAUTHBEARER configuration on listener ${listenerName}: ${(err as Error).message}`);
      }
    }
    return (broker): SaslServerMechanism => {
      const server = new OAuthBearerServer(validator);
      return {
        name: OAUTHBEARER,
        async step(token: Buffer): Promise<SaslStep> {
          const r = await server.step(token);
          if (!r.done) return { done: false, response: r.response };
          // The client gets Kafka's message (the RFC 7628 JSON); the claimed name goes to the audit trail only.
          if (r.error) return { done: true, error: r.error.message, user: server.claimedUser };
          const lifetime = server.sessionExpiresAtMs! - broker.now();
          // A token inside the clock skew past its exp still gets a (tiny) lifetime, never "no limit".
          return { done: true, response: r.response, principal: `User:${server.authenticatedUser!}`, lifetimeMs: Math.max(1, lifetime) };
        },
      };
    };
  },
};
