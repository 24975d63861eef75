/**
 * Kafka's listener configuration: `listeners`, `advertised.listeners`, `listener.security.protocol.map`,
 * `inter.broker.listener.name` / `security.inter.broker.protocol`.
 *
 * A listener is `NAME://host:port`; its name maps to a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT,
 * SASL_SSL). The broker binds every listener; a connection remembers the listener it came in on, and
 * Metadata / DescribeCluster / FindCoordinator answer with the endpoints of that listener (as Kafka does).
 */
import { hostname } from 'node:os';
import { ConfigError, type BrokerConfig } from './config.js';

import { SECURITY_PROTOCOLS, type ListenerEndpoint, type SecurityProtocol } from '../cluster/metadata.js';

export { SECURITY_PROTOCOLS, type ListenerEndpoint, type SecurityProtocol };
export const DEFAULT_SECURITY_PROTOCOL_MAP = 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL';


/**
 * What a connection knows about itself: the listener it came in on and who is on the other end. On a SASL
 * listener the connection's SaslAuthenticator (sasl/authenticator.ts) sets `principal` once authenticated.
 */
export interface ConnectionSession {
  readonly listenerName: string;
  readonly securityProtocol: SecurityProtocol;
  /** Kafka's principal: User:ANONYMOUS, User:<mapped certificate subject> on an SSL connection with a client certificate, or User:<SASL name>. */
  principal: string;
}

export interface ListenerPlan {
  /** What to bind, in `listeners` order (host '' = every interface). */
  readonly bind: ListenerEndpoint[];
  /** What to advertise per listener name (port 0 = the bound port, filled in after binding). */
  readonly advertised: ListenerEndpoint[];
  /** The listener brokers use to reach each other. */
  readonly interBrokerListener: string;
}

function fail(key: string, value: string, why: string): never {
  throw new ConfigError(`Invalid value "${value}" for configuration ${key}: ${why}`);
}

/** `listener.security.protocol.map`: NAME:PROTOCOL pairs; names are case-insensitive (upper-cased). */
export function parseSecurityProtocolMap(value: string): Map<string, SecurityProtocol> {
  const out = new Map<string, SecurityProtocol>();
  for (const raw of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([A-Za-z0-9_.-]+):([A-Za-z_]+)$/.exec(raw);
    if (!m) fail('listener.security.protocol.map', value, `expected NAME:PROTOCOL pairs, got "${raw}"`);
    const protocol = m[2]!.toUpperCase() as SecurityProtocol;
    if (!SECURITY_PROTOCOLS.includes(protocol)) fail('listener.security.protocol.map', value, `unknown security protocol ${m[2]} (one of ${SECURITY_PROTOCOLS.join(', ')})`);
    const name = m[1]!.toUpperCase();
    if (out.has(name)) fail('listener.security.protocol.map', value, `listener ${name} appears twice`);
    out.set(name, protocol);
  }
  return out;
}

/** `listeners` / `advertised.listeners`: NAME://host:port entries (IPv6 hosts in brackets; empty host allowed). */
export function parseListeners(key: string, value: string, protocols: ReadonlyMap<string, SecurityProtocol>): ListenerEndpoint[] {
  const out: ListenerEndpoint[] = [];
  for (const raw of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([A-Za-z0-9_.-]+):\/\/(\[[^\]]*\]|[^:/[\]]*):(\d+)$/.exec(raw);
    if (!m) fail(key, value, `expected NAME://host:port entries, got "${raw}"`);
    const name = m[1]!.toUpperCase();
    const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
    const port = Number(m[3]);
    if (port > 65535) fail(key, value, 'port must be 0-65535');
    const securityProtocol = protocols.get(name);
    if (!securityProtocol) fail(key, value, `no security protocol defined for listener ${name} (set listener.security.protocol.map)`);
    if (out.some((l) => l.name === name)) fail(key, value, `each listener must have a different name; ${name} appears twice`);
    if (port !== 0 && out.some((l) => l.port === port && l.host === host)) fail(key, value, `each listener must have a different port; ${port} appears twice`);
    out.push({ name, host, port, securityProtocol });
  }
  if (out.length === 0) fail(key, value, 'at least one listener is required');
  return out;
}

/**
 * Resolves the listener plan from the broker config. `override` (tributary start --host/--port, startBroker's
 * host/port) replaces the first listener's host and port, as before several listeners existed.
 */
export function resolveListeners(config: BrokerConfig, override: { host?: string; port?: number } = {}): ListenerPlan {
  const protocols = parseSecurityProtocolMap(config.get('listener.security.protocol.map') ?? DEFAULT_SECURITY_PROTOCOL_MAP);
  const bind = parseListeners('listeners', config.get('listeners') ?? 'PLAINTEXT://127.0.0.1:9092', protocols);
  if (override.host !== undefined || override.port !== undefined) {
    const first = bind[0]!;
    bind[0] = { ...first, host: override.host ?? first.host, port: override.port ?? first.port };
  }
  const advertisedValue = config.get('advertised.listeners');
  const advertised = advertisedValue ? parseListeners('advertised.listeners', advertisedValue, protocols) : [];
  for (const a of advertised) {
    if (!bind.some((b) => b.name === a.name)) fail('advertised.listeners', advertisedValue!, `listener ${a.name} is not one of the listeners (${bind.map((b) => b.name).join(', ')})`);
    if (a.host === '0.0.0.0' || a.host === '::') fail('advertised.listeners', advertisedValue!, `${a.host} is not a routable address to advertise`);
  }
  // A listener not in advertised.listeners is advertised as bound (a wildcard or empty host as this machine's name).
  const advertisedAll = bind.map((b) => {
    const a = advertised.find((x) => x.name === b.name);
    if (a) return { ...a, host: a.host === '' ? hostname() : a.host };
    const host = b.host === '' || b.host === '0.0.0.0' || b.host === '::' ? hostname() : b.host;
    return { ...b, host, port: 0 };
  });
  const ibName = config.get('inter.broker.listener.name');
  const ibProtocol = config.get('security.inter.broker.protocol');
  if (ibName && ibProtocol) throw new ConfigError('Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.');
  let interBrokerListener: string;
  if (ibName) {
    interBrokerListener = ibName.toUpperCase();
  } else {
    const wanted = (ibProtocol ?? 'PLAINTEXT').toUpperCase();
    if (!SECURITY_PROTOCOLS.includes(wanted as SecurityProtocol)) fail('security.inter.broker.protocol', ibProtocol!, `allowed values are ${SECURITY_PROTOCOLS.join(', ')}`);
    interBrokerListener = wanted;
  }
  return { bind, advertised: advertisedAll, interBrokerListener };
}

/**
 * The inter-broker listener must exist in a cluster (brokers dial it); a single node has no peers, so there
 * it falls back to the first listener.
 */
export function checkInterBrokerListener(plan: ListenerPlan, clustered: boolean): ListenerEndpoint {
  const found = plan.advertised.find((l) => l.name === plan.interBrokerListener);
  if (found) return found;
  if (clustered) {
    throw new ConfigError(`inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are ${plan.advertised.map((l) => l.name).join(',')} (got ${plan.interBrokerListener})`);
  }
  return plan.advertised[0]!;
}
