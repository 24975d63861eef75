/**
 * SqlDriver for PostgreSQL over pg: one connection, used by one transaction at a time (the sink writes
 * batches in sequence), re-opened after it was lost. Errors are sorted by SQLSTATE into retriable (server
 * down or restarting, connection lost, deadlock, serialization failure, lock timeout, too many connections:
 * retry the batch later) and not (a value the table refuses: the record goes to the dead-letter topic).
 */
import pg from 'pg';
import { SinkError, type SqlDriver, type SqlExecutor } from '../types.js';

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

/** Wraps a pg error into a SinkError, keeping the server's message (it names the type and value). */
function sinkError(error: unknown, target: string): SinkError {
  if (error instanceof SinkError) return error;
  const e = error as PgError;
  const retriable = isRetriablePostgresError(error);
  const detail = e?.message ?? String(error);
  const code = e?.code ? ` (${e.code})` : '';
  return new SinkError(retriable ? `PostgreSQL ${target} unavailable: ${detail}${code}` : `PostgreSQL refused: ${detail}${code}`, { retriable, cause: error });
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly url: string;
  /** host:port/database, for messages (the URL may hold a password). */
  private readonly target: string;
  private client: pg.Client | undefined;
  /** Set when the connection reported an error or ended on its own (server shut down while idle). */
  private broken = false;
  /** Serializes transactions and lookups on the one connection. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(url: string) {
    this.url = url;
    let target = url;
    try {
      const parsed = new URL(url);
      target = `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
    } catch {
      throw new SinkError(`not a PostgreSQL URL (postgres://user:password@host:port/database): ${url.replace(/\/\/[^@/]*@/, '//…@')}`, {
        retriable: false,
        code: 'ERR_SINK_CONFIG',
      });
    }
    this.target = target;
  }

  async connect(): Promise<void> {
    await this.exclusive(() => this.ensureClient());
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const client = await this.begin();
      const failed = (error: unknown): SinkError => {
        this.drop(client, error);
        return sinkError(error, this.target);
      };
      const tx: SqlExecutor = {
        async execute(sql, params) {
          try {
            const result = await client.query(sql, params);
            return { affectedRows: result.rowCount ?? 0 };
          } catch (error) {
            throw failed(error);
          }
        },
        async query<R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> {
          try {
            const result = await client.query(sql, params);
            return result.rows as R[];
          } catch (error) {
            throw failed(error);
          }
        },
      };
      let result: T;
      try {
        result = await fn(tx);
      } catch (error) {
        await this.rollback(client);
        throw error;
      }
      try {
        await client.query('COMMIT');
      } catch (error) {
        // A COMMIT whose reply was lost may or may not have committed; the sink retries the batch
        // (exactly-once mode can tell from its stored offsets whether the batch is in).
        if (connectionLost(error)) this.drop(client, error);
        else await this.rollback(client);
        throw sinkError(error, this.target);
      }
      return result;
    });
  }

  async describeTable(table: string): Promise<Array<{ name: string; type: string }> | null> {
    return this.exclusive(async () => {
      const client = await this.ensureClient();
      // `schema.table` names another schema; a plain name is looked up in the first schema of search_path.
      const dot = table.indexOf('.');
      const [schemaSql, params] = dot > 0 ? ['$2', [table.slice(dot + 1), table.slice(0, dot)]] : ['current_schema()', [table]];
      try {
        const result = await client.query<{ name: string; type: string; length: number | null }>(
          `SELECT column_name AS name, data_type AS type, character_maximum_length AS length FROM information_schema.columns
           WHERE table_schema = ${schemaSql} AND table_name = $1 ORDER BY ordinal_position`,
          params,
        );
        const columns = result.rows.map((row) => ({ name: row.name, type: row.length === null ? row.type : `${row.type}(${row.length})` }));
        return columns.length === 0 ? null : columns;
      } catch (error) {
        this.drop(client, error);
        throw sinkError(error, this.target);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.exclusive(async () => {
      const client = this.client;
      this.client = undefined;
      if (!client) return;
      try {
        await client.end();
      } catch {
        // The server is gone already: nothing to close politely.
      }
    });
  }

  /** Runs `task` after every earlier one finished (success or not). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureClient(): Promise<pg.Client> {
    if (this.closed) throw new SinkError(`PostgreSQL driver for ${this.target} is closed`, { retriable: false, code: 'ERR_SINK_CLOSED' });
    if (this.client && !this.broken) return this.client;
    if (this.client) this.drop(this.client);
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: 'tributary-connect',
    });
    // Without a listener an error on the idle connection would be an uncaught exception.
    const onBroken = (): void => {
      if (this.client === client) this.broken = true;
    };
    client.on('error', onBroken);
    client.on('end', onBroken);
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      throw sinkError(error, this.target);
    }
    this.client = client;
    this.broken = false;
    return client;
  }

  /**
   * BEGIN on a working connection. A connection that died while idle (server restarted, idle timeout) is
   * only discovered here; nothing has happened yet, so it is replaced once at once instead of failing the batch.
   */
  private async begin(): Promise<pg.Client> {
    const reused = this.client !== undefined && !this.broken;
    const client = await this.ensureClient();
    try {
      await client.query('BEGIN');
      return client;
    } catch (error) {
      this.drop(client, error);
      if (!reused || !connectionLost(error)) throw sinkError(error, this.target);
    }
    const fresh = await this.ensureClient();
    try {
      await fresh.query('BEGIN');
      return fresh;
    } catch (error) {
      this.drop(fresh, error);
      throw sinkError(error, this.target);
    }
  }

  private async rollback(client: pg.Client): Promise<void> {
    if (this.client !== client || this.broken) {
      this.drop(client);
      return;
    }
    try {
      await client.query('ROLLBACK');
    } catch {
      // A connection that cannot roll back is not trusted again; closing it ends the transaction too.
      this.drop(client);
    }
  }

  /** Forgets a connection that failed (when `error` says it broke, or unconditionally without one). */
  private drop(client: pg.Client, error?: unknown): void {
    if (error !== undefined && !connectionLost(error)) return;
    if (this.client === client) {
      this.client = undefined;
      this.broken = false;
    }
    client.end().catch(() => undefined);
  }
}
