/**
 * What the MySQL and PostgreSQL drivers share: one connection, used by one transaction at a time (the sink
 * writes batches in sequence), re-opened after it was lost, BEGIN retried once on a fresh connection when the
 * idle one turned out dead, and every failure turned into a SinkError that says whether a retry can help.
 * A subclass supplies the database client's calls and how to read its errors.
 */
import { SinkError, StatementError, type SqlDriver, type SqlExecutor } from '../types.js';

export abstract class ServerDriver<C> implements SqlDriver {
  abstract readonly dialect: 'mysql' | 'postgres';
  /** host:port/database, for messages (the URL may hold a password). */
  protected readonly target: string;
  private connection: C | undefined;
  /** Set when the connection reported an error or ended on its own (server closed it while idle). */
  private broken = false;
  /** Serializes transactions and lookups on the one connection. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    protected readonly url: string,
    /** 'MySQL', 'PostgreSQL': for messages. */
    protected readonly product: string,
    defaultPort: string,
    urlExample: string,
  ) {
    try {
      const parsed = new URL(url);
      this.target = `${parsed.hostname}:${parsed.port || defaultPort}${parsed.pathname}`;
    } catch {
      throw new SinkError(`not a ${product} URL (${urlExample}): ${url.replace(/\/\/[^@/]*@/, '//…@')}`, {
        retriable: false,
        code: 'ERR_SINK_CONFIG',
      });
    }
  }

  /** Opens a connection and prepares its session; calls `markBroken(c)` when it later fails on its own. */
  protected abstract open(): Promise<C>;
  /** Runs one statement. */
  protected abstract run(c: C, sql: string, params: unknown[]): Promise<{ rows: unknown[]; affectedRows: number }>;
  /** The table's columns as the database describes them (empty when there is no such table). */
  protected abstract columns(c: C, table: string): Promise<Array<{ name: string; type: string }>>;
  /** Closes politely (may fail when the server is gone). */
  protected abstract end(c: C): Promise<void>;
  /** Closes at once. */
  protected abstract destroy(c: C): void;
  /** Whether the connection is unusable after this error. */
  protected abstract connectionLost(error: unknown): boolean;
  /** Whether the same batch can succeed later (the database, not the data, was the problem). */
  protected abstract isRetriable(error: unknown): boolean;
  /** The database's own words for an error, and its code for the message. */
  protected abstract describeError(error: unknown): { detail: string; code: string };

  protected markBroken(c: C): void {
    if (this.connection === c) this.broken = true;
  }

  /** Wraps a client error into a SinkError, keeping the server's message (it names the column and value). */
  protected sinkError(error: unknown): SinkError {
    if (error instanceof SinkError) return error;
    const retriable = this.isRetriable(error);
    const { detail, code } = this.describeError(error);
    const suffix = code ? ` (${code})` : '';
    return new SinkError(
      retriable ? `${this.product} ${this.target} unavailable: ${detail}${suffix}` : `${this.product} refused: ${detail}${suffix}`,
      { retriable, cause: error },
    );
  }

  async connect(): Promise<void> {
    await this.exclusive(() => this.ensureConnection());
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const connection = await this.begin();
      const run = async (sql: string, params: unknown[]): Promise<{ rows: unknown[]; affectedRows: number }> => {
        try {
          return await this.run(connection, sql, params);
        } catch (error) {
          this.drop(connection, error);
          throw this.sinkError(error);
        }
      };
      const tx: SqlExecutor = {
        execute: async (sql, params) => ({ affectedRows: (await run(sql, params)).affectedRows }),
        query: async <R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> => (await run(sql, params)).rows as R[],
      };
      let result: T;
      try {
        result = await fn(tx);
      } catch (error) {
        await this.rollback(connection);
        throw error;
      }
      try {
        await this.run(connection, 'COMMIT', []);
      } catch (error) {
        // A COMMIT whose reply was lost may or may not have committed; the sink retries the batch
        // (exactly-once mode tells from its stored offsets whether the batch is in).
        if (this.connectionLost(error)) this.drop(connection, error);
        else await this.rollback(connection);
        throw this.sinkError(error);
      }
      return result;
    });
  }

  /**
   * writeAll for a subclass whose client sends several statements as one request (`runMany`, which ends with
   * COMMIT): BEGIN as in transaction() (a connection found dead while idle is replaced), then one round trip for
   * the statements and the COMMIT. The server stops at the first failing statement: the transaction is rolled back
   * and a refused statement rejects with StatementError; a lost connection leaves the COMMIT's outcome unknown, as
   * in transaction(), and rejects retriable.
   */
  protected writeAllWith(statements: Array<{ sql: string; params: unknown[] }>, runMany: (c: C, statements: Array<{ sql: string; params: unknown[] }>) => Promise<void>): Promise<void> {
    return this.exclusive(async () => {
      const connection = await this.begin();
      try {
        await runMany(connection, statements);
      } catch (error) {
        if (this.connectionLost(error)) this.drop(connection, error);
        else await this.rollback(connection);
        const e = this.sinkError(error);
        throw e.retriable ? e : new StatementError(e);
      }
    });
  }

  async describeTable(table: string): Promise<Array<{ name: string; type: string }> | null> {
    return this.exclusive(async () => {
      const connection = await this.ensureConnection();
      try {
        const columns = await this.columns(connection, table);
        return columns.length === 0 ? null : columns;
      } catch (error) {
        this.drop(connection, error);
        throw this.sinkError(error);
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
        await this.end(connection);
      } catch {
        // The server is gone already: nothing to close politely.
        this.destroy(connection);
      }
    });
  }

  /** Runs `task` after every earlier one finished (success or not). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureConnection(): Promise<C> {
    if (this.closed) throw new SinkError(`${this.product} driver for ${this.target} is closed`, { retriable: false, code: 'ERR_SINK_CLOSED' });
    if (this.connection && !this.broken) return this.connection;
    if (this.connection) this.drop(this.connection);
    let connection: C;
    try {
      connection = await this.open();
    } catch (error) {
      throw this.sinkError(error);
    }
    this.connection = connection;
    this.broken = false;
    return connection;
  }

  /**
   * BEGIN on a working connection. A connection that died while idle (server restarted, idle timeout) is
   * only discovered here; nothing has happened yet, so it is replaced once at once instead of failing the batch.
   */
  private async begin(): Promise<C> {
    const reused = this.connection !== undefined && !this.broken;
    const connection = await this.ensureConnection();
    try {
      await this.run(connection, 'BEGIN', []);
      return connection;
    } catch (error) {
      this.drop(connection, error);
      if (!reused || !this.connectionLost(error)) throw this.sinkError(error);
    }
    const fresh = await this.ensureConnection();
    try {
      await this.run(fresh, 'BEGIN', []);
      return fresh;
    } catch (error) {
      this.drop(fresh, error);
      throw this.sinkError(error);
    }
  }

  private async rollback(connection: C): Promise<void> {
    if (this.connection !== connection || this.broken) {
      this.drop(connection);
      return;
    }
    try {
      await this.run(connection, 'ROLLBACK', []);
    } catch {
      // A connection that cannot roll back is not trusted again; closing it ends the transaction too.
      this.drop(connection);
    }
  }

  /** Forgets a connection that failed (when `error` says it broke, or unconditionally without one). */
  private drop(connection: C, error?: unknown): void {
    if (error !== undefined && !this.connectionLost(error)) return;
    if (this.connection === connection) {
      this.connection = undefined;
      this.broken = false;
    }
    this.destroy(connection);
  }
}
