/**
 * SqlDriver for SQLite over better-sqlite3 (the embedded default: no server). WAL mode, so readers never block
 * the sink; synchronous=FULL, so a committed batch survives a power cut before its offsets are committed to
 * the group. busy_timeout is short: a database another connection holds locked surfaces as SQLITE_BUSY, a
 * retriable error, and the sink runtime backs off instead of blocking the event loop for long (better-sqlite3
 * waits synchronously).
 */
import Database from 'better-sqlite3';
import { SinkError, type SqlDriver, type SqlExecutor } from '../types.js';

export interface SqliteDriverOptions {
  /** How long a statement waits for a lock before failing with SQLITE_BUSY; default 1000 ms. */
  busyTimeoutMs?: number;
}

/** Result codes that mean "the database, not the row": locked, busy, I/O trouble, disk full. */
const RETRIABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL|CANTOPEN|NOMEM|INTERRUPT)/;

export function isRetriableSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRIABLE.test(code);
}

function sinkError(err: unknown, path: string): SinkError {
  if (err instanceof SinkError) return err;
  const e = err as { code?: string; message?: string };
  const retriable = isRetriableSqliteError(err);
  const code = e?.code ? ` (${e.code})` : '';
  const msg = e?.message ?? String(err);
  return new SinkError(retriable ? `SQLite ${path} unavailable: ${msg}${code}` : `SQLite refused: ${msg}${code}`, { retriable, cause: err });
}

/** better-sqlite3 binds numbers as REAL (7 into a TEXT column becomes '7.0') and refuses booleans and Dates. */
function bindable(v: unknown): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.toISOString();
  if (v === undefined) return null;
  return v;
}

function bindAll(params: unknown[]): unknown[] {
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = bindable(params[i]);
  return out;
}

/** `sqlite:path`, `sqlite://path` (`sqlite:///abs/path`) or a plain path. */
export function sqlitePath(url: string): string {
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length);
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length);
  return url;
}

const STATEMENT_CACHE = 64;

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly path: string;
  private db: Database.Database | null = null;
  private readonly busyTimeoutMs: number;
  /** Prepared statements by SQL text (batches repeat the same multi-row INSERT). */
  private readonly statements = new Map<string, Database.Statement>();
  /** One transaction at a time on the one connection. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(url: string, options: SqliteDriverOptions = {}) {
    this.path = sqlitePath(url);
    if (this.path === '') throw new SinkError('sqlite sink needs a file path (url: ./data.db)', { retriable: false, code: 'ERR_SINK_CONFIG' });
    this.busyTimeoutMs = options.busyTimeoutMs ?? 1000;
  }

  async connect(): Promise<void> {
    if (this.db) return;
    let db: Database.Database;
    try {
      db = new Database(this.path);
    } catch (err) {
      // A path that cannot be opened (missing directory, permissions) is a configuration problem, not a busy database.
      throw new SinkError(`cannot open SQLite database '${this.path}': ${(err as Error).message}`, { retriable: false, code: 'ERR_SINK_CONFIG', cause: err });
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.busyTimeoutMs))}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    } catch (err) {
      db.close();
      throw sinkError(err, this.path);
    }
    this.db = db;
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const db = this.open();
      try {
        // IMMEDIATE takes the write lock now: a locked database fails here, before any work.
        db.exec('BEGIN IMMEDIATE');
      } catch (err) {
        throw sinkError(err, this.path);
      }
      try {
        const result = await fn(this.executor(db));
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) {
          try {
            db.exec('ROLLBACK');
          } catch {
            // SQLite rolled back on its own (some errors end the transaction).
          }
        }
        throw sinkError(err, this.path);
      }
    });
  }

  async describeTable(table: string): Promise<Array<{ name: string; type: string }> | null> {
    const db = this.open();
    const dot = table.indexOf('.');
    try {
      const rows = (dot > 0
        ? db.prepare('SELECT name, type FROM pragma_table_info(?, ?)').all(table.slice(dot + 1), table.slice(0, dot))
        : db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table)) as Array<{ name: string; type: string }>;
      return rows.length === 0 ? null : rows.map((r) => ({ name: r.name, type: r.type }));
    } catch (err) {
      throw sinkError(err, this.path);
    }
  }

  async close(): Promise<void> {
    await this.queue;
    this.statements.clear();
    this.db?.close();
    this.db = null;
  }

  private open(): Database.Database {
    if (!this.db) throw new SinkError(`SQLite database '${this.path}' is not open: call connect() first`, { retriable: false, code: 'ERR_SINK_CLOSED' });
    return this.db;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private statement(db: Database.Database, sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st) {
      // Most recently used last, so the oldest is evicted first.
      this.statements.delete(sql);
    } else {
      st = db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, st);
    return st;
  }

  private executor(db: Database.Database): SqlExecutor {
    return {
      execute: async (sql, params) => {
        try {
          const st = this.statement(db, sql);
          // One array argument (better-sqlite3 binds its items in order): no spread of thousands of arguments.
          const bound = bindAll(params);
          if (st.reader) {
            st.all(bound);
            return { affectedRows: 0 };
          }
          return { affectedRows: st.run(bound).changes };
        } catch (err) {
          throw sinkError(err, this.path);
        }
      },
      query: async <R = Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> => {
        try {
          return this.statement(db, sql).all(bindAll(params)) as R[];
        } catch (err) {
          throw sinkError(err, this.path);
        }
      },
    };
  }
}
