/**
 * SqlDriver for MySQL and MariaDB over mysql2 (connection handling in server-driver.ts). Errors are sorted
 * into retriable (server down,
 * connection lost, lock wait timeout, deadlock, too many connections: retry the batch later) and not
 * (a value the table refuses: the record goes to the dead-letter topic).
 */
import mysql from 'mysql2/promise';
import { SinkError } from '../types.js';
import { ServerDriver } from './server-driver.js';

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

export class MysqlDriver extends ServerDriver<mysql.Connection> {
  readonly dialect = 'mysql' as const;

  constructor(url: string) {
    super(url, 'MySQL', '3306', 'mysql://user:password@host:port/database');
  }

  protected async open(): Promise<mysql.Connection> {
    const connection = await mysql.createConnection({
      uri: this.url,
      connectTimeout: 10_000,
      enableKeepAlive: true,
      supportBigNumbers: true,
      // Dates are written and read as UTC, matching the session time zone set below.
      timezone: 'Z',
      charset: 'utf8mb4',
      // writeAll sends a batch's statements and its COMMIT as one request (parameters are escaped by the client).
      multipleStatements: true,
    });
    // Without a listener an error on the idle connection would be an uncaught exception.
    connection.on('error', () => this.markBroken(connection));
    try {
      await connection.query(`SET SESSION sql_mode = '${SQL_MODE}', time_zone = '+00:00'`);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    return connection;
  }

  /** The batch's statements and COMMIT in one request after BEGIN: a round trip per batch instead of one per statement. */
  writeAll(statements: Array<{ sql: string; params: unknown[] }>): Promise<void> {
    return this.writeAllWith(statements, async (c, sts) => {
      const params: unknown[] = [];
      for (const st of sts) for (const v of st.params) params.push(v);
      await c.query(`${sts.map((st) => st.sql).join(';\n')};\nCOMMIT`, params);
    });
  }

  protected async run(c: mysql.Connection, sql: string, params: unknown[]): Promise<{ rows: unknown[]; affectedRows: number }> {
    const [result] = await c.query(sql, params);
    return Array.isArray(result) ? { rows: result, affectedRows: 0 } : { rows: [], affectedRows: (result as mysql.ResultSetHeader).affectedRows };
  }

  protected async columns(c: mysql.Connection, table: string): Promise<Array<{ name: string; type: string }>> {
    // `db.table` names another schema; a plain name is in the URL's database.
    const dot = table.indexOf('.');
    const [schemaSql, params] = dot > 0 ? ['?', [table.slice(0, dot), table.slice(dot + 1)]] : ['DATABASE()', [table]];
    const [rows] = await c.query(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = ${schemaSql} AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      params,
    );
    return (rows as Array<{ name: string; type: string | Buffer }>).map((row) => ({ name: String(row.name), type: String(row.type) }));
  }

  protected end(c: mysql.Connection): Promise<void> {
    return c.end();
  }

  protected destroy(c: mysql.Connection): void {
    c.destroy();
  }

  protected connectionLost(error: unknown): boolean {
    return connectionLost(error);
  }

  protected isRetriable(error: unknown): boolean {
    return isRetriableMysqlError(error);
  }

  protected describeError(error: unknown): { detail: string; code: string } {
    const e = error as MysqlError;
    return { detail: e?.sqlMessage ?? e?.message ?? String(error), code: e?.code ? `${e.code}${e.errno ? ` ${e.errno}` : ''}` : '' };
  }
}
