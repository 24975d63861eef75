/**
 * The SASL mechanisms the broker offers, and a listener's SASL settings (Kafka's keys, each also accepted with
 * the listener prefix `listener.name.<listener>.`):
 * - `sasl.enabled.mechanisms`: Kafka's default is GSSAPI, which Tributary does not have; ours is
 *   SCRAM-SHA-256,SCRAM-SHA-512 (credentials from `tributary users` / AlterUserScramCredentials, nothing secret in
 *   the config). PLAIN needs a JAAS config with its users.
 * - `listener.name.<listener>.<mechanism lower-case>.sasl.jaas.config`, else the JAAS file named by
 *   `java.security.auth.login.config` (section `<listener>.KafkaServer` or `KafkaServer`), else `sasl.jaas.config`.
 * - `sasl.server.max.receive.size`: the largest frame accepted before authentication (default 524288).
 * - `connections.max.reauth.ms`: the session lifetime (KIP-368); 0 = sessions do not expire.
 * - `connection.failed.authentication.delay.ms`: how long a failed authentication waits before it is answered
 *   and the connection closed (default 100).
 */
import { ConfigError, type BrokerConfig } from '../config.js';
import type { BrokerContext } from '../broker-context.js';
import { listenerConfig } from '../tls.js';
import type { SaslMechanismFactory, SaslServerMechanism } from './mechanism.js';
import { readFileSync } from 'node:fs';
import { clientCredentials, formatJaasEntry, parseJaasFile, parseSingleJaasEntry, type JaasEntry } from '../../security/jaas.js';
import type { SaslOptions } from '../../cluster/inter-broker.js';
import { plainMechanism } from './plain.js';
import { scramSha256Mechanism, scramSha512Mechanism } from './scram.js';
import { oauthBearerMechanism } from './oauthbearer.js';

/** Every mechanism the broker can offer, by name. Adding one is adding a line here. */
export const SASL_MECHANISMS: ReadonlyMap<string, SaslMechanismFactory> = new Map(
  [plainMechanism, scramSha256Mechanism, scramSha512Mechanism, oauthBearerMechanism].map((m) => [m.name, m]),
);

export const DEFAULT_SASL_ENABLED_MECHANISMS = 'SCRAM-SHA-256,SCRAM-SHA-512';
export const DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE = 524288;

/** A SASL listener's resolved settings (built once at start-up). */
export interface ListenerSasl {
  readonly listenerName: string;
  /** Enabled mechanisms, in configured order (what SaslHandshake answers). */
  readonly mechanisms: readonly string[];
  /** sasl.server.max.receive.size */
  readonly maxReceiveSize: number;
  /** connections.max.reauth.ms (0 = no expiry). */
  readonly maxReauthMs: number;
  /** connection.failed.authentication.delay.ms */
  readonly failedAuthenticationDelayMs: number;
  /** A fresh exchange of an enabled mechanism. */
  create(mechanism: string, broker: BrokerContext): SaslServerMechanism;
}

function intSetting(config: BrokerConfig, listenerName: string, key: string, fallback: number): number {
  const v = listenerConfig(config, listenerName, key);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) throw new ConfigError(`Invalid value "${v}" for configuration ${key}: expected a non-negative integer`);
  return Number(v);
}

const LOGIN_MODULES: Record<string, string> = {
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  OAUTHBEARER: 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule',
};

/**
 * A mechanism's entry from the JAAS file `java.security.auth.login.config` names, as Kafka looks it up: the
 * section `<listener lower-case>.KafkaServer`, else `KafkaServer`; in it the entry of the mechanism's login module
 * (or the only entry). Undefined without a file or a matching section.
 */
function jaasFileEntry(config: BrokerConfig, listenerName: string, mechanism: string): { key: string; value: string } | undefined {
  const path = config.get('java.security.auth.login.config');
  if (!path) return undefined;
  let sections: Map<string, JaasEntry[]>;
  try {
    sections = parseJaasFile(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot use java.security.auth.login.config ${path}: ${(err as Error).message}`);
  }
  const name = [`${listenerName.toLowerCase()}.KafkaServer`, 'KafkaServer'].find((n) => sections.has(n));
  if (!name) return undefined;
  const entries = sections.get(name)!;
  const entry = entries.find((e) => e.loginModule === LOGIN_MODULES[mechanism]) ?? (entries.length === 1 ? entries[0] : undefined);
  return entry ? { key: `java.security.auth.login.config (${path}, section ${name})`, value: formatJaasEntry(entry) } : undefined;
}

/** Resolves and checks a SASL listener's settings; throws ConfigError naming the key at fault. */
export function buildListenerSasl(config: BrokerConfig, listenerName: string): ListenerSasl {
  const value = listenerConfig(config, listenerName, 'sasl.enabled.mechanisms') ?? DEFAULT_SASL_ENABLED_MECHANISMS;
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new ConfigError(`Listener ${listenerName} is a SASL listener but sasl.enabled.mechanisms is empty`);
  const creators = new Map<string, (broker: BrokerContext) => SaslServerMechanism>();
  for (const name of names) {
    const factory = SASL_MECHANISMS.get(name.toUpperCase());
    if (!factory) {
      throw new ConfigError(`Invalid value "${value}" for configuration sasl.enabled.mechanisms: mechanism ${name} is not supported (supported: ${[...SASL_MECHANISMS.keys()].join(', ')})`);
    }
    const prefixedKey = `listener.name.${listenerName.toLowerCase()}.${factory.name.toLowerCase()}.sasl.jaas.config`;
    const prefixed = config.get(prefixedKey);
    const global = config.get('sasl.jaas.config');
    const jaasConfig = prefixed ? { key: prefixedKey, value: prefixed } : jaasFileEntry(config, listenerName, factory.name) ?? (global ? { key: 'sasl.jaas.config', value: global } : undefined);
    creators.set(factory.name, factory.configure({ config, listenerName, jaasConfig }));
  }
  const maxReceiveSize = intSetting(config, listenerName, 'sasl.server.max.receive.size', DEFAULT_SASL_SERVER_MAX_RECEIVE_SIZE);
  if (maxReceiveSize < 1) throw new ConfigError('Invalid value for configuration sasl.server.max.receive.size: must be at least 1');
  const maxReauthMs = intSetting(config, listenerName, 'connections.max.reauth.ms', 0);
  const failedAuthenticationDelayMs = intSetting(config, listenerName, 'connection.failed.authentication.delay.ms', 100);
  return {
    listenerName,
    mechanisms: [...creators.keys()],
    maxReceiveSize,
    maxReauthMs,
    failedAuthenticationDelayMs,
    create(mechanism, broker) {
      const make = creators.get(mechanism);
      if (!make) throw new Error(`SASL mechanism ${mechanism} is not enabled on listener ${listenerName}`);
      return make(broker);
    },
  };
}

/**
 * How this broker authenticates to the other brokers' SASL inter-broker listener, as Kafka's brokers do: with
 * `sasl.mechanism.inter.broker.protocol` (default: the listener's first enabled mechanism) and the `username` /
 * `password` options of that mechanism's JAAS config on the listener (`listener.name.<l>.<mechanism>.sasl.jaas.config`,
 * else `sasl.jaas.config`). PLAIN and SCRAM only; the broker's principal (User:<username>) belongs in super.users
 * when an authorizer runs.
 */
export function interBrokerSasl(config: BrokerConfig, listener: ListenerSasl): SaslOptions {
  const mechanism = (config.get('sasl.mechanism.inter.broker.protocol') || listener.mechanisms[0] || '').toUpperCase();
  if (!listener.mechanisms.includes(mechanism)) {
    throw new ConfigError(`sasl.mechanism.inter.broker.protocol ${mechanism} is not enabled on the inter-broker listener ${listener.listenerName} (enabled: ${listener.mechanisms.join(', ')})`);
  }
  if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
    throw new ConfigError(`SASL mechanism ${mechanism} between brokers is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 for sasl.mechanism.inter.broker.protocol`);
  }
  const prefixedKey = `listener.name.${listener.listenerName.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const prefixed = config.get(prefixedKey);
  const global = config.get('sasl.jaas.config');
  const found = prefixed ? prefixed : jaasFileEntry(config, listener.listenerName, mechanism)?.value ?? global;
  const credentials = found ? clientCredentials(parseSingleJaasEntry(found)) : undefined;
  if (!credentials) {
    throw new ConfigError(`The inter-broker listener ${listener.listenerName} uses SASL ${mechanism}: give the broker's own username="…" password="…" in ${prefixedKey}`);
  }
  return { mechanism, ...credentials };
}
