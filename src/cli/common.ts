/**
 * What every client command shares: --bootstrap-server and -X client properties, turning errors into
 * one line that says what to do (and exit code 1), tables, and a progress line for long work.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ClientOptions } from '../client/cluster.js';
import { TributaryError } from '../errors.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

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
    .option('-X, --property <key=value>', 'client property (repeatable): client.id, request.timeout.ms, retries, retry.backoff.ms', collectProperty, {});
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
    retries: num('retries') ?? 2,
    retryBackoffMs: num('retry.backoff.ms'),
  };
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
      process.exitCode = 1;
    }
  };
}

/** Left-aligned columns separated by two spaces, Kafka-tools style; header row first. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

export interface Progress {
  /** Adds to the count done (and bytes, for the rate). */
  tick(count?: number, bytes?: number): void;
  /** Prints the final line. */
  done(): void;
}

/**
 * A progress line on stderr, redrawn at most 10 times a second: a bar when the total is known, and
 * always the count and rate. Silent when stderr is not a terminal unless `force`.
 */
export function progress(label: string, total: number | undefined, options: { force?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.force === true || stream.isTTY === true;
  const started = Date.now();
  let count = 0;
  let bytes = 0;
  let lastDraw = 0;
  const line = (): string => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${Math.round(count / secs).toLocaleString('en-US')} msg/s, ${(bytes / secs / 1048576).toFixed(2)} MiB/s`;
    if (total === undefined || total <= 0) return `${label} ${count.toLocaleString('en-US')} (${rate})`;
    const frac = Math.min(count / total, 1);
    const width = 30;
    const filled = Math.round(frac * width);
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${count.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${rate})`;
  };
  return {
    tick(n = 1, b = 0) {
      count += n;
      bytes += b;
      if (!enabled) return;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      stream.write(`\r${line()}`);
    },
    done() {
      if (enabled) stream.write(`\r${line()}\n`);
    },
  };
}
