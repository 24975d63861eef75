/**
 * SqlDriver for PostgreSQL over pg (connection handling in server-driver.ts). Errors are sorted by SQLSTATE
 * into retriable (server
 * down or restarting, connection lost, deadlock, serialization failure, lock timeout, too many connections:
 * retry the batch later) and not (a value the table refuses: the record goes to the dead-letter topic).
 */
import pg from 'pg';
import { SinkError } from '../types.js';
import { ServerDriver } from './server-driver.js';

/** Network-level failures: the server is down or unreachable, or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'ENOTFOUND', 'EAI_AGAIN',
]);

/** SQLSTATEs after which the same batch can succeed later: the database, not the data, was the problem. */
const RETRIABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '55006', // object_in_use
  '57014', // query_canceled (statement_timeout, pg_cancel_backend)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
  '58000', // system_error
  '58030', // io_error
]);

/** SQLSTATE classes that are retriable as a whole: 08 connection exception, 53 insufficient resources (53300 too many connections). */
const RETRIABLE_CLASSES = new Set(['08', '53']);

interface PgError extends Error {
  code?: string;
  severity?: string;
}

/** pg's own errors for a connection that broke or could not be made carry no code, only these messages. */
const CONNECTION_MESSAGE = /connection terminated|not queryable|connection error|connection timeout|timeout expired|server closed the connection/i;

function isDatabaseError(error: PgError): boolean {
  return error instanceof pg.DatabaseError || (typeof error.severity === 'string' && typeof error.code === 'string' && error.code.length === 5);
}

/** True when the connection is unusable after `error` and must be replaced. */
function connectionLost(error: unknown): boolean {
  const e = error as PgError;
  if (e === null || typeof e !== 'object') return false;
  if (isDatabaseError(e)) {
    // A FATAL error ends the session; class 08 is about the connection itself.
    return e.severity === 'FATAL' || e.severity === 'PANIC' || (e.code ?? '').startsWith('08');
  }
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return CONNECTION_MESSAGE.test(e.message ?? '');
}

export function isRetriablePostgresError(error: unknown): boolean {
  if (error instanceof SinkError) return error.retriable;
  const e = error as PgError;
  if (e === null || typeof e !== 'object') return false;
  if (connectionLost(error)) return true;
  if (!isDatabaseError(e)) return false;
  const code = e.code ?? '';
  return RETRIABLE_SQLSTATES.has(code) || RETRIABLE_CLASSES.has(code.slice(0, 2));
}

export class PostgresDriver extends ServerDriver<pg.Client> {
  readonly dialect = 'postgres' as const;

  constructor(url: string) {
    super(url, 'PostgreSQL', '5432', 'postgres://user:password@host:port/database');
  }

  protected async open(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: 'tributary-connect',
    });
    // Without a listener an error on the idle connection would be an uncaught exception.
    client.on('error', () => this.markBroken(client));
    client.on('end', () => this.markBroken(client));
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  protected async run(c: pg.Client, sql: string, params: unknown[]): Promise<{ rows: unknown[]; affectedRows: number }> {
    const result = await c.query(sql, params);
    return { rows: result.rows, affectedRows: result.rowCount ?? 0 };
  }

  protected async columns(c: pg.Client, table: string): Promise<Array<{ name: string; type: string }>> {
    // `schema.table` names another schema; a plain name is looked up in the first schema of search_path.
    const dot = table.indexOf('.');
    const [schemaSql, params] = dot > 0 ? ['$2', [table.slice(dot + 1), table.slice(0, dot)]] : ['current_schema()', [table]];
    const result = await c.query<{ name: string; type: string; length: number | null }>(
      `SELECT column_name AS name, data_type AS type, character_maximum_length AS length FROM information_schema.columns
       WHERE table_schema = ${schemaSql} AND table_name = $1 ORDER BY ordinal_position`,
      params,
    );
    return result.rows.map((row) => ({ name: row.name, type: row.length === null ? row.type : `${row.type}(${row.length})` }));
  }

  protected end(c: pg.Client): Promise<void> {
    return c.end();
  }

  protected destroy(c: pg.Client): void {
    c.end().catch(() => undefined);
  }

  protected connectionLost(error: unknown): boolean {
    return connectionLost(error);
  }

  protected isRetriable(error: unknown): boolean {
    return isRetriablePostgresError(error);
  }

  protected describeError(error: unknown): { detail: string; code: string } {
    const e = error as PgError;
    return { detail: e?.message ?? String(error), code: e?.code ?? '' };
  }
}
