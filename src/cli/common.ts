/**
 * What every client command shares: --bootstrap-server and -X client properties, and turning errors into
 * one line that says what to do (and exit code 1). Tables and the progress line are in src/util/.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { DEFAULT_BOOTSTRAP, type ClientOptions } from '../client/cluster.js';
import type { SslOptions } from '../client/connection.js';
import { TributaryError } from '../errors.js';

export interface ClientFlags {
  bootstrapServer: string;
  property: Record<string, string>;
}

function collectProperty(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`-X expects key=value, e.g. -X client.id=my-tool; got "${value}"`);
  return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

/** Adds --bootstrap-server (env TRIBUTARY_BOOTSTRAP_SERVER, default 127.0.0.1:9092) and -X key=value. */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('-b, --bootstrap-server <host:port>', 'broker(s) to connect to, comma-separated (env TRIBUTARY_BOOTSTRAP_SERVER)', process.env.TRIBUTARY_BOOTSTRAP_SERVER ?? DEFAULT_BOOTSTRAP)
    .option('-X, --property <key=value>', 'client property (repeatable): client.id, request.timeout.ms, retries, retry.backoff.ms, security.protocol, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password', collectProperty, {});
}

/** Client options from the common flags (Kafka's property names mapped onto ours). */
export function clientOptions(flags: ClientFlags): ClientOptions {
  const p = flags.property ?? {};
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
  };
}

/**
 * TLS from client properties: `security.protocol=SSL` with librdkafka's names (ssl.ca.location,
 * ssl.certificate.location, ssl.key.location, ssl.key.password) or Kafka's PEM ones (ssl.truststore.location /
 * ssl.truststore.certificates, ssl.keystore.location holding key + chain, ssl.keystore.key /
 * ssl.keystore.certificate.chain); `enable.ssl.certificate.verification=false` trusts any broker (tests only).
 */
export function sslOptions(p: Record<string, string>): SslOptions | undefined {
  const protocol = (p['security.protocol'] ?? 'PLAINTEXT').toUpperCase();
  if (protocol === 'PLAINTEXT') return undefined;
  if (protocol !== 'SSL') throw new UsageError(`-X security.protocol=${p['security.protocol']} is not supported: use PLAINTEXT or SSL (SASL is not supported yet)`);
  const file = (key: string): string | undefined => {
    const path = p[key];
    if (path === undefined || path === '') return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${key} ${path}: ${(err as Error).message}`);
    }
  };
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
