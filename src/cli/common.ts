/**
 * What every client command shares: --bootstrap-server, -X client properties and --command-config (a Java
 * properties file with Kafka's client property names, under the -X ones), TLS and SASL from those properties,
 * and turning errors into one line that says what to do (and exit code 1). Tables and the progress line are in
 * src/util/.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BOOTSTRAP, type ClientOptions } from '../client/cluster.js';
import type { SslOptions } from '../client/connection.js';
import { isSaslMechanism, SASL_MECHANISMS, type SaslOptions } from '../client/sasl.js';
import { clientCredentials, JaasError, parseSingleJaasEntry } from '../security/jaas.js';
import { TributaryError } from '../errors.js';

export interface ClientFlags {
  bootstrapServer: string;
  property: Record<string, string>;
  /** --command-config: a properties file read under the -X properties. */
  commandConfig?: string;
}

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;

function collectProperty(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`-X expects key=value, e.g. -X client.id=my-tool; got "${value}"`);
  return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

/** Adds --bootstrap-server (env TRIBUTARY_BOOTSTRAP_SERVER, default 127.0.0.1:9092) and -X key=value. */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('-b, --bootstrap-server <host:port>', 'broker(s) to connect to, comma-separated (env TRIBUTARY_BOOTSTRAP_SERVER)', process.env.TRIBUTARY_BOOTSTRAP_SERVER ?? DEFAULT_BOOTSTRAP)
    .option('-X, --property <key=value>', 'client property (repeatable): client.id, request.timeout.ms, retries, retry.backoff.ms, security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password, sasl.mechanism, sasl.username, sasl.password, sasl.jaas.config, sasl.oauthbearer.token, sasl.oauthbearer.token.file', collectProperty, {})
    .option('--command-config <file>', 'client properties file (Kafka\'s names, e.g. security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location); -X overrides it');
}

/** The client properties: the --command-config file's, then -X on top. */
export function clientProperties(flags: ClientFlags): Record<string, string> {
  const fromFile = flags.commandConfig ? readPropertiesFile(flags.commandConfig) : {};
  return { ...fromFile, ...(flags.property ?? {}) };
}

/** Client options from the common flags (Kafka's property names mapped onto ours). */
export function clientOptions(flags: ClientFlags): ClientOptions {
  const p = clientProperties(flags);
  const num = (key: string): number | undefined => {
    if (p[key] === undefined) return undefined;
    const n = Number(p[key]);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`-X ${key} must be a non-negative number, got "${p[key]}"`);
    return n;
  };
  return {
    bootstrapServers: flags.bootstrapServer,
    clientId: p['client.id'] ?? 'tributary-cli',
    requestTimeoutMs: num('request.timeout.ms'),
    connectTimeoutMs: num('socket.connection.setup.timeout.ms'),
    // Enough to ride out a leader's failover in a cluster (an unreachable bootstrap list fails at once anyway).
    retries: num('retries') ?? 10,
    retryBackoffMs: num('retry.backoff.ms'),
    ssl: sslOptions(p),
    sasl: saslOptions(p),
  };
}

function securityProtocol(p: Record<string, string>): (typeof SECURITY_PROTOCOLS)[number] {
  const protocol = (p['security.protocol'] ?? 'PLAINTEXT').trim().toUpperCase();
  if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(`security.protocol=${p['security.protocol']} is not supported: use ${SECURITY_PROTOCOLS.join(', ')}`);
  }
  return protocol as (typeof SECURITY_PROTOCOLS)[number];
}

function readFileProperty(p: Record<string, string>, key: string): string | undefined {
  const path = p[key];
  if (path === undefined || path === '') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${key} ${path}: ${(err as Error).message}`);
  }
}

/**
 * SASL from client properties, for security.protocol=SASL_PLAINTEXT or SASL_SSL: `sasl.mechanism` (Kafka) or
 * `sasl.mechanisms` (librdkafka) — PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER; the user and password
 * from `sasl.username` / `sasl.password` (librdkafka) or the username/password options of `sasl.jaas.config`
 * (PlainLoginModule / ScramLoginModule); the OAUTHBEARER token from `sasl.oauthbearer.token`, a file named by
 * `sasl.oauthbearer.token.file`, or Kafka's `sasl.oauthbearer.token.endpoint.url` when it is a file:// URL (a file
 * is re-read at every re-authentication, so a rotated token is picked up).
 */
export function saslOptions(p: Record<string, string>): SaslOptions | undefined {
  const protocol = securityProtocol(p);
  if (protocol !== 'SASL_PLAINTEXT' && protocol !== 'SASL_SSL') return undefined;
  const given = (p['sasl.mechanism'] ?? p['sasl.mechanisms'])?.trim().toUpperCase();
  if (!given) throw new UsageError(`security.protocol=${protocol} needs sasl.mechanism: one of ${SASL_MECHANISMS.join(', ')}`);
  if (!isSaslMechanism(given)) throw new UsageError(`sasl.mechanism=${given} is not supported: use one of ${SASL_MECHANISMS.join(', ')}`);
  if (given === 'OAUTHBEARER') {
    if (p['sasl.oauthbearer.token']) return { mechanism: 'OAUTHBEARER', token: p['sasl.oauthbearer.token'].trim() };
    let path = p['sasl.oauthbearer.token.file'];
    const endpoint = p['sasl.oauthbearer.token.endpoint.url'];
    if (!path && endpoint) {
      if (!endpoint.startsWith('file:')) throw new UsageError(`sasl.oauthbearer.token.endpoint.url=${endpoint}: only a file:// URL holding the token is supported (no token endpoint client)`);
      try {
        path = fileURLToPath(endpoint);
      } catch (err) {
        throw new UsageError(`sasl.oauthbearer.token.endpoint.url=${endpoint}: ${(err as Error).message}`);
      }
    }
    if (!path) throw new UsageError('sasl.mechanism=OAUTHBEARER needs a token: sasl.oauthbearer.token, sasl.oauthbearer.token.file or a file:// sasl.oauthbearer.token.endpoint.url');
    const tokenFile = path;
    const read = (): string => {
      try {
        return readFileSync(tokenFile, 'utf8').trim();
      } catch (err) {
        throw new UsageError(`cannot read the OAUTHBEARER token file ${tokenFile}: ${(err as Error).message}`);
      }
    };
    read(); // fail now, not at the first connection, when the file is missing
    return { mechanism: 'OAUTHBEARER', token: read };
  }
  let username = p['sasl.username'];
  let password = p['sasl.password'];
  const jaas = p['sasl.jaas.config'];
  if ((username === undefined || password === undefined) && jaas) {
    let creds: { username: string; password: string } | undefined;
    try {
      creds = clientCredentials(parseSingleJaasEntry(jaas));
    } catch (err) {
      throw new UsageError(`invalid sasl.jaas.config: ${err instanceof JaasError ? err.message : String(err)}`);
    }
    if (!creds) throw new UsageError('sasl.jaas.config has no username="…" password="…" options');
    username ??= creds.username;
    password ??= creds.password;
  }
  if (username === undefined || password === undefined) {
    throw new UsageError(`sasl.mechanism=${given} needs sasl.username and sasl.password (or sasl.jaas.config with username and password)`);
  }
  return { mechanism: given, username, password };
}

/**
 * A Java properties file (Kafka's --command-config): `key=value`, `key: value` or `key value`; # and ! comments;
 * a line ending in an odd number of backslashes continues on the next (as multi-line sasl.jaas.config values
 * are written); \t \n \r \f \uXXXX escapes, and a backslash before any other character keeps that character.
 */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    // The key ends at the first unescaped '=', ':' or whitespace.
    let k = 0;
    while (k < line.length && !/[=:\s]/.test(line[k]!)) k += line[k] === '\\' ? 2 : 1;
    const key = line.slice(0, k);
    let rest = line.slice(k).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    // Kafka trims string config values (ConfigDef), so a stray trailing space does not end up in a password.
    out[unescapeProperty(key)] = unescapeProperty(rest).trim();
  }
  return out;
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[e] ?? e;
  });
}

/** Reads a properties file; a missing or unreadable one is a usage error naming it. */
export function readPropertiesFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read properties file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseProperties(text);
}

/**
 * TLS from client properties: `security.protocol=SSL` (or SASL_SSL) with librdkafka's names (ssl.ca.location,
 * ssl.certificate.location, ssl.key.location, ssl.key.password) or Kafka's PEM ones (ssl.truststore.location /
 * ssl.truststore.certificates, ssl.keystore.location holding key + chain, ssl.keystore.key /
 * ssl.keystore.certificate.chain); `enable.ssl.certificate.verification=false` trusts any broker (tests only).
 */
export function sslOptions(p: Record<string, string>): SslOptions | undefined {
  const protocol = securityProtocol(p);
  if (protocol === 'PLAINTEXT' || protocol === 'SASL_PLAINTEXT') return undefined;
  const file = (key: string): string | undefined => readFileProperty(p, key);
  const ssl: SslOptions = {};
  const ca = file('ssl.ca.location') ?? file('ssl.truststore.location') ?? p['ssl.truststore.certificates'];
  if (ca) ssl.ca = ca;
  const keystore = file('ssl.keystore.location');
  const cert = file('ssl.certificate.location') ?? p['ssl.keystore.certificate.chain'] ?? keystore?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.join('\n');
  const key = file('ssl.key.location') ?? p['ssl.keystore.key'] ?? keystore?.match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/)?.[0];
  if (cert) ssl.cert = cert;
  if (key) ssl.key = key;
  if (p['ssl.key.password']) ssl.passphrase = p['ssl.key.password'];
  if (p['enable.ssl.certificate.verification'] === 'false') ssl.rejectUnauthorized = false;
  return ssl;
}

/**
 * A mistake in how the command was called: printed with a pointer to --help. Exit code 1 like every other
 * error (Kafka's tools and kcat exit 1 for both); a fact about the cluster ("topic t has no partition 9") is
 * a plain Error, not a usage error.
 */
export class UsageError extends TributaryError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * Wraps a command's action: errors become one `error: …` line on stderr (plus a pointer to --help for usage
 * errors) and exit code 1, never a stack trace.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(err instanceof UsageError ? `error: ${message}\n(run with --help for usage)\n` : `error: ${message}\n`);
      // TRIBUTARY_DEBUG=1 shows where an unexpected error came from.
      if (process.env['TRIBUTARY_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    }
  };
}

/** A commander parser for a TCP port option: 0-65535 (0 picks a free one). */
export function parsePort(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError(`${flag} must be 0-65535, got "${v}"`);
    return n;
  };
}
