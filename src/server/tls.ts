/**
 * TLS for SSL listeners (node:tls), configured with Kafka's PEM keys:
 * - key + certificate chain: `ssl.keystore.location` (one PEM file holding the private key and the chain) or
 *   `ssl.keystore.key` + `ssl.keystore.certificate.chain` (inline PEM); `ssl.key.password` decrypts the key.
 * - trusted CAs (client certificates): `ssl.truststore.location` or `ssl.truststore.certificates` (PEM).
 * - `ssl.client.auth` none | requested | required (on a SASL_SSL listener only its listener.name.<l>.ssl.client.auth
 *   counts, as in Kafka), `ssl.enabled.protocols` (TLSv1.2,TLSv1.3),
 *   `ssl.cipher.suites` (OpenSSL/IANA names, TLS 1.2 suites; empty = Node's defaults).
 * Every key may be overridden per listener as `listener.name.<name lower-case>.ssl.*` (Kafka's prefix).
 * The keystore and truststore files are polled; when one changes, the listener's secure context is rebuilt
 * and new connections use it (connections already open keep theirs).
 */
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { SecureContextOptions, TLSSocket, SecureVersion } from 'node:tls';
import { ConfigError, type BrokerConfig } from './config.js';
import { parsePrincipalMappingRules, rfc2253, type SslPrincipalMapper } from '../security/ssl-principal-mapper.js';

export type ClientAuth = 'none' | 'requested' | 'required';

export interface ListenerTls {
  /** Options for tls.createServer / setSecureContext, built from the current files. */
  readonly context: SecureContextOptions;
  readonly clientAuth: ClientAuth;
  readonly principalMapper: SslPrincipalMapper;
  /** Files whose change means the context must be rebuilt. */
  readonly files: string[];
}

/** A listener's value of an ssl.* key: `listener.name.<name>.<key>` first, then `<key>`. */
export function listenerConfig(config: BrokerConfig, listenerName: string, key: string): string | undefined {
  const v = config.get(`listener.name.${listenerName.toLowerCase()}.${key}`) ?? config.get(key);
  return v === undefined || v === '' ? undefined : v;
}

const PROTOCOL_ORDER: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function readPem(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read ${key} ${path}: ${(err as Error).message}`);
  }
}

/** Builds a listener's TLS settings; throws ConfigError with the key at fault. */
export function buildListenerTls(config: BrokerConfig, listenerName: string, securityProtocol: 'SSL' | 'SASL_SSL' = 'SSL'): ListenerTls {
  const get = (key: string): string | undefined => listenerConfig(config, listenerName, key);
  const files: string[] = [];
  for (const typeKey of ['ssl.keystore.type', 'ssl.truststore.type']) {
    const t = get(typeKey);
    if (t !== undefined && t.toUpperCase() !== 'PEM') throw new ConfigError(`Invalid value "${t}" for configuration ${typeKey}: only PEM is supported`);
  }
  let keyPem: string;
  let certPem: string;
  const location = get('ssl.keystore.location');
  if (location) {
    const pem = readPem('ssl.keystore.location', location);
    files.push(location);
    keyPem = (pem.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/g) ?? []).join('\n');
    certPem = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).join('\n');
    if (!keyPem || !certPem) throw new ConfigError(`ssl.keystore.location ${location} must hold a PEM private key and certificate chain`);
  } else {
    const k = get('ssl.keystore.key');
    const c = get('ssl.keystore.certificate.chain');
    if (!k || !c) {
      throw new ConfigError(`SSL listener ${listenerName} needs a key and certificate: set ssl.keystore.location (a PEM file with the key and chain) or ssl.keystore.key and ssl.keystore.certificate.chain`);
    }
    keyPem = k;
    certPem = c;
  }
  let ca: string | undefined;
  const trustLocation = get('ssl.truststore.location');
  if (trustLocation) {
    ca = readPem('ssl.truststore.location', trustLocation);
    files.push(trustLocation);
  } else {
    ca = get('ssl.truststore.certificates');
  }
  // As in Kafka, a SASL_SSL listener asks for client certificates only when its own listener.name.<l>.ssl.client.auth
  // says so: the broker-wide ssl.client.auth applies to SSL listeners (clients there authenticate with SASL).
  const clientAuthValue = securityProtocol === 'SASL_SSL' ? config.get(`listener.name.${listenerName.toLowerCase()}.ssl.client.auth`) : get('ssl.client.auth');
  const clientAuth = (clientAuthValue || 'none').toLowerCase();
  if (clientAuth !== 'none' && clientAuth !== 'requested' && clientAuth !== 'required') {
    throw new ConfigError(`Invalid value "${clientAuth}" for configuration ssl.client.auth: allowed values are none, requested, required`);
  }
  if (clientAuth !== 'none' && !ca) throw new ConfigError(`ssl.client.auth=${clientAuth} on listener ${listenerName} needs trusted CAs: set ssl.truststore.location or ssl.truststore.certificates`);
  const protocolsValue = get('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3';
  const protocols = protocolsValue.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const p of protocols) {
    if (!PROTOCOL_ORDER.includes(p as SecureVersion)) throw new ConfigError(`Invalid value "${protocolsValue}" for configuration ssl.enabled.protocols: unknown protocol ${p}`);
  }
  if (protocols.length === 0) throw new ConfigError('ssl.enabled.protocols must name at least one protocol');
  const idx = protocols.map((p) => PROTOCOL_ORDER.indexOf(p as SecureVersion));
  const context: SecureContextOptions = {
    key: keyPem,
    cert: certPem,
    passphrase: get('ssl.key.password'),
    minVersion: PROTOCOL_ORDER[Math.min(...idx)],
    maxVersion: PROTOCOL_ORDER[Math.max(...idx)],
  };
  if (ca) context.ca = ca;
  const suites = get('ssl.cipher.suites');
  if (suites) {
    // Node takes TLS 1.3 (TLS_AES_…) and TLS 1.2 (OpenSSL names) suites in the same colon-separated list.
    context.ciphers = suites.split(',').map((s) => s.trim()).filter((s) => s !== '').join(':');
  }
  let principalMapper: SslPrincipalMapper;
  try {
    principalMapper = parsePrincipalMappingRules(get('ssl.principal.mapping.rules'));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { context, clientAuth: clientAuth as ClientAuth, principalMapper, files };
}

/** The principal of a TLS connection: User:<mapped subject> with a client certificate, else User:ANONYMOUS. */
export function tlsPrincipal(socket: TLSSocket, mapper: SslPrincipalMapper): string {
  const raw = socket.getPeerX509Certificate?.();
  if (!raw || !socket.authorized) return 'User:ANONYMOUS';
  return `User:${mapper.map(rfc2253(raw.subject))}`;
}

/** The RFC 2253 subject of a PEM certificate (for tests and tools). */
export function subjectOf(pem: string): string {
  return rfc2253(new X509Certificate(pem).subject);
}

/**
 * Polls files for changes (mtime, size) and calls `onChange` once per change burst; returns a stop function.
 */
export function watchFiles(files: readonly string[], intervalMs: number, onChange: () => void): () => void {
  const stamp = (f: string): string => {
    try {
      const s = statSync(f);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  };
  let last = files.map(stamp).join('|');
  const timer = setInterval(() => {
    const now = files.map(stamp).join('|');
    if (now !== last) {
      last = now;
      onChange();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
