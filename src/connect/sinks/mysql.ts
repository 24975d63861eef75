/**
 * SqlDriver for MySQL and MariaDB over mysql2: one connection, used by one transaction at a time (the sink
 * writes batches in sequence), re-opened after it was lost. Errors are sorted into retriable (server down,
 * connection lost, lock wait timeout, deadlock, too many connections: retry the batch later) and not
 * (a value the table refuses: the record goes to the dead-letter topic).
 */
import mysql from 'mysql2/promise';
import { SinkError, type SqlDriver, type SqlExecutor } from '../types.js';

/**
 * Strict mode for every statement, transactional or not, so that `"abc"` into an INT column or a too-long
 * string fails instead of being stored as 0 or truncated (MariaDB and MySQL both know these three modes).
 */
const SQL_MODE = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/** Network-level failures: the server is down or unreachable, or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'ENOTFOUND', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT',
]);

/** Server error numbers that mean "busy, locked or going away": the same batch can succeed later. */
const RETRIABLE_ERRNOS = new Set([
  1040, // ER_CON_COUNT_ERROR: too many connections
  1053, // ER_SERVER_SHUTDOWN
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1226, // ER_USER_LIMIT_REACHED
  1290, // ER_OPTION_PREVENTS_STATEMENT: --read-only during a failover
  1317, // ER_QUERY_INTERRUPTED
  1637, // ER_TOO_MANY_CONCURRENT_TRXS
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB)
  1969, // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
  2002, 2003, 2006, 2013, // client: can't connect, server has gone away, lost connection during query
  3024, // ER_QUERY_TIMEOUT (MySQL max_execution_time)
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL: disconnected for inactivity)
]);

interface MysqlError extends Error {
  code?: string;
  errno?: number;
  fatal?: boolean;
  sqlState?: string;
  sqlMessage?: string;
}

/** Server errors after which the server closes the connection. */
const CLOSING_ERRNOS = new Set([1053, 1927, 2006, 2013, 4031]);

/** True when the connection is unusable after `error` and must be replaced. */
function connectionLost(error: unknown): boolean {
  const e = error as MysqlError;
  if (e === null || typeof e !== 'object') return false;
  // mysql2 marks errors that broke the connection as fatal; a statement error on a live connection is not.
  if (e.fatal === true) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return typeof e.errno === 'number' && CLOSING_ERRNOS.has(e.errno);
}

/** True when retrying the whole batch later can succeed: the database, not the data, was the problem. */
export function isRetriableMysqlError(error: unknown): boolean {
  if (error instanceof SinkError) return error.retriable;
  const e = error as MysqlError;
  if (e === null || typeof e !== 'object') return false;
  return connectionLost(error) || (typeof e.errno === 'number' && RETRIABLE_ERRNOS.has(e.errno));
}

/** Wraps a mysql2 error into a SinkError, keeping the server's message (it names the column and value). */
function sinkError(error: unknown, target: string): SinkError {
  if (error instanceof SinkError) return error;
  const e = error as MysqlError;
  const retriable = isRetriableMysqlError(error);
  const detail = e?.sqlMessage ?? e?.message ?? String(error);
  const code = e?.code ? ` (${e.code}${e.errno ? ` ${e.errno}` : ''})` : '';
  return new SinkError(retriable ? `MySQL ${target} unavailable: ${detail}${code}` : `MySQL refused: ${detail}${code}`, { retriable, cause: error });
}

export class MysqlDriver implements SqlDriver {
  readonly dialect = 'mysql' as const;
  private readonly url: string;
  /** host:port/database, for messages (the URL may hold a password). */
  private readonly target: string;
  private connection: mysql.Connection | undefined;
  /** Set when the connection reported an error on its own (server closed it while idle). */
  private broken = false;
  /** Serializes transactions and lookups on the one connection. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(url: string) {
    this.url = url;
    let target = url;
    try {
      const parsed = new URL(url);
      target = `${parsed.hostname}:${parsed.port || '3306'}${parsed.pathname}`;
    } catch {
      throw new SinkError(`not a MySQL URL (mysql://user:password@host:port/database): ${url.replace(/\/\/[^@/]*@/, '//…@')}`, {
        retriable: false,
        code: 'ERR_SINK_CONFIG',
      });
    }
    this.target = target;
  }

  async connect(): Promise<void> {
    await this.exclusive(() => this.ensureConnection());
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const connection = await this.begin();
      const failed = (error: unknown): SinkError => {
        this.drop(connection, error);
        return sinkError(error, this.target);
      };
      const tx: SqlExecutor = {
        async execute(sql, params) {
          try {
            const [result] = await connection.query(sql, params);
            return { affectedRows: Array.isArray(result) ? 0 : (result as mysql.ResultSetHeader).affectedRows };
          } catch (error) {
            throw failed(error);
          }
        },
        async query<R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> {
          try {
            const [rows] = await connection.query(sql, params);
            return Array.isArray(rows) ? (rows as R[]) : [];
          } catch (error) {
            throw failed(error);
          }
        },
      };
      let result: T;
      try {
        result = await fn(tx);
      } catch (error) {
        await this.rollback(connection);
        throw error;
      }
      try {
        await connection.query('COMMIT');
      } catch (error) {
        // A COMMIT whose reply was lost may or may not have committed; the sink retries the batch
        // (exactly-once mode can tell from its stored offsets whether the batch is in).
        if (connectionLost(error)) this.drop(connection, error);
        else await this.rollback(connection);
        throw sinkError(error, this.target);
      }
      return result;
    });
  }

  async describeTable(table: string): Promise<Array<{ name: string; type: string }> | null> {
    return this.exclusive(async () => {
      const connection = await this.ensureConnection();
      // `db.table` names another schema; a plain name is in the URL's database.
      const dot = table.indexOf('.');
      const [schemaSql, params] = dot > 0 ? ['?', [table.slice(0, dot), table.slice(dot + 1)]] : ['DATABASE()', [table]];
      try {
        const [rows] = await connection.query(
          `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = ${schemaSql} AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
          params,
        );
        const columns = (rows as Array<{ name: string; type: string | Buffer }>).map((row) => ({ name: String(row.name), type: String(row.type) }));
        return columns.length === 0 ? null : columns;
      } catch (error) {
        this.drop(connection, error);
        throw sinkError(error, this.target);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.exclusive(async () => {
      const connection = this.connection;
      this.connection = undefined;
      if (!connection) return;
      try {
        await connection.end();
      } catch {
        // The server is gone already: nothing to close politely.
        connection.destroy();
      }
    });
  }

  /** Runs `task` after every earlier one finished (success or not). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureConnection(): Promise<mysql.Connection> {
    if (this.closed) throw new SinkError(`MySQL driver for ${this.target} is closed`, { retriable: false, code: 'ERR_SINK_CLOSED' });
    if (this.connection && !this.broken) return this.connection;
    if (this.connection) this.drop(this.connection);
    let connection: mysql.Connection;
    try {
      connection = await mysql.createConnection({
        uri: this.url,
        connectTimeout: 10_000,
        enableKeepAlive: true,
        supportBigNumbers: true,
        // Dates are written and read as UTC, matching the session time zone set below.
        timezone: 'Z',
        charset: 'utf8mb4',
      });
    } catch (error) {
      throw sinkError(error, this.target);
    }
    // Without a listener an error on the idle connection would be an uncaught exception.
    connection.on('error', () => {
      if (this.connection === connection) this.broken = true;
    });
    try {
      await connection.query(`SET SESSION sql_mode = '${SQL_MODE}', time_zone = '+00:00'`);
    } catch (error) {
      connection.destroy();
      throw sinkError(error, this.target);
    }
    this.connection = connection;
    this.broken = false;
    return connection;
  }

  /**
   * BEGIN on a working connection. A connection that died while idle (server restarted, wait_timeout) is
   * only discovered here; nothing has happened yet, so it is replaced once at once instead of failing the batch.
   */
  private async begin(): Promise<mysql.Connection> {
    const reused = this.connection !== undefined && !this.broken;
    const connection = await this.ensureConnection();
    try {
      await connection.query('BEGIN');
      return connection;
    } catch (error) {
      this.drop(connection, error);
      if (!reused || !connectionLost(error)) throw sinkError(error, this.target);
    }
    const fresh = await this.ensureConnection();
    try {
      await fresh.query('BEGIN');
      return fresh;
    } catch (error) {
      this.drop(fresh, error);
      throw sinkError(error, this.target);
    }
  }

  private async rollback(connection: mysql.Connection): Promise<void> {
    if (this.connection !== connection || this.broken) {
      this.drop(connection);
      return;
    }
    try {
      await connection.query('ROLLBACK');
    } catch {
      // A connection that cannot roll back is not trusted again; closing it ends the transaction too.
      this.drop(connection);
    }
  }

  /** Forgets a connection that failed (when `error` says it broke, or unconditionally without one). */
  private drop(connection: mysql.Connection, error?: unknown): void {
    if (error !== undefined && !connectionLost(error)) return;
    if (this.connection === connection) {
      this.connection = undefined;
      this.broken = false;
    }
    connection.destroy();
  }
}
