/**
 * The experiment's own database access, for the direct loaders, the polling readers and the checks: one
 * connection per instance (readers open their own, as separate programs would), and a count of the
 * statements it sent, so the load each approach puts on the database is measured rather than assumed.
 * The broker path writes through the real sink (SqlSink over the connect drivers) instead.
 */
import { Worker } from 'node:worker_threads';
import { dialectFor, type Dialect, type ValueKind } from '../connect/sinks/dialects.js';
import type { DataRow } from './data.js';

export type DbKind = 'sqlite' | 'mysql' | 'postgres';

export interface DbSpec {
  kind: DbKind;
  /** sqlite: file path; others: connection URL. */
  url: string;
}

export function parseDbSpec(value: string, defaultSqlitePath: string): DbSpec {
  if (value === 'sqlite') return { kind: 'sqlite', url: defaultSqlitePath };
  if (value.startsWith('sqlite:')) return { kind: 'sqlite', url: value.replace(/^sqlite:(\/\/)?/, '') };
  if (/^(mysql|mariadb):\/\//.test(value)) return { kind: 'mysql', url: value.replace(/^mariadb:/, 'mysql:') };
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  throw new Error(`--db must be sqlite, sqlite:PATH, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db; got "${value}"`);
}

/** The URL without its password, for reports. */
export function redact(spec: DbSpec): string {
  return spec.kind === 'sqlite' ? `sqlite:${spec.url}` : spec.url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export interface LockHandle {
  /**
   * Takes the lock now (the connection, and for SQLite the thread, are ready beforehand so this is quick);
   * resolves once it is held. It is released `ms` after being taken.
   */
  take(): Promise<void>;
  /** Resolves with how long the lock was actually held (ms) once it is released. */
  released: Promise<number>;
  /** Gives up a lock never taken (closes its connection or thread); no effect once taken. */
  dispose(): void;
}

export interface ExperimentDb {
  readonly kind: DbKind;
  readonly dialect: Dialect;
  /** Statements sent so far (each INSERT, query, BEGIN and COMMIT counts one). */
  statements: number;
  /** Writes retried because the database answered busy at once (SQLite: SQLITE_BUSY without a busy wait). */
  busyRetries: number;
  open(): Promise<void>;
  recreate(table: string, columns: Array<{ name: string; kind: ValueKind }>): Promise<void>;
  /** One INSERT, autocommit (what a naive loader does per row). */
  insertRow(table: string, columns: string[], row: DataRow): Promise<void>;
  /** Multi-row INSERTs in one transaction. */
  insertBatch(table: string, columns: string[], rows: DataRow[]): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  count(table: string): Promise<number>;
  /** Readies a write lock on the table from a separate connection (and thread, for SQLite), to be held for `ms` once taken. */
  prepareLock(table: string, ms: number): Promise<LockHandle>;
  close(): Promise<void>;
}

/** Rows per multi-row INSERT: the sink's default batch size, capped by the dialect's bound-parameter limit. */
export function rowsPerStatement(dialect: Dialect, columns: number, batch = 500): number {
  return Math.max(1, Math.min(batch, Math.floor(dialect.maxParams / columns)));
}

/** Integer second of a millisecond column, per dialect (for the 1-second analytics windows). */
export function secondOf(kind: DbKind, column: string): string {
  if (kind === 'sqlite') return `CAST(${column} / 1000 AS INTEGER)`;
  if (kind === 'mysql') return `FLOOR(${column} / 1000)`;
  return `(${column} / 1000)`;
}

const values = (columns: string[], row: DataRow): unknown[] => columns.map((c) => row[c] ?? null);

/** SQLite result codes of a database another connection holds: worth waiting for, not the row's fault. */
const SQLITE_BUSY = /^SQLITE_(BUSY|LOCKED)/;
/** The longest a SQLite write is retried while the database answers busy (the busy_timeout's minute). */
const BUSY_RETRY_MS = 60_000;

export async function openDb(spec: DbSpec): Promise<ExperimentDb> {
  const db = spec.kind === 'sqlite' ? new SqliteDb(spec.url) : spec.kind === 'mysql' ? new MysqlDb(spec.url) : new PostgresDb(spec.url);
  await db.open();
  return db;
}

abstract class BaseDb {
  statements = 0;
  busyRetries = 0;
  abstract readonly kind: DbKind;
  get dialect(): Dialect {
    return dialectFor(this.kind);
  }
  protected createSql(table: string, columns: Array<{ name: string; kind: ValueKind }>): string {
    // Same table the sink would auto-create, minus STRICT's refusal of nothing we send.
    return this.dialect.createTable(table, columns, null);
  }
}

class SqliteDb extends BaseDb implements ExperimentDb {
  readonly kind = 'sqlite' as const;
  private db: import('better-sqlite3').Database | null = null;
  constructor(private readonly path: string) {
    super();
  }

  async open(): Promise<void> {
    const { default: Database } = await import('better-sqlite3');
    this.db = new Database(this.path);
    // The sink's settings (WAL, synchronous FULL), so both paths pay the same for a commit; a locked database
    // is waited for (up to a minute), as a simple loader would.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 60000');
  }

  private get conn(): import('better-sqlite3').Database {
    if (this.db === null) throw new Error('database not open');
    return this.db;
  }

  private bind(v: unknown): unknown {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    return v;
  }

  async recreate(table: string, columns: Array<{ name: string; kind: ValueKind }>): Promise<void> {
    this.conn.exec(`DROP TABLE IF EXISTS ${this.dialect.quote(table)}`);
    this.conn.exec(this.createSql(table, columns));
    this.statements += 2;
  }

  /**
   * Runs a write, retrying it with backoff (5 ms doubling to 100 ms, for up to a minute) while SQLite answers
   * SQLITE_BUSY at once — it skips the busy wait when waiting could deadlock (a lock upgrade against another
   * connection's BEGIN EXCLUSIVE), as the sink's runtime retries a busy batch. The wait is the loader's: it
   * falls inside the timed write, so it counts as stall.
   */
  private async retryBusy(write: () => void): Promise<void> {
    const deadline = performance.now() + BUSY_RETRY_MS;
    for (let backoff = 5; ; backoff = Math.min(backoff * 2, 100)) {
      try {
        write();
        return;
      } catch (err) {
        if (!SQLITE_BUSY.test(String((err as { code?: unknown }).code ?? '')) || performance.now() + backoff > deadline) throw err;
        this.busyRetries++;
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  async insertRow(table: string, columns: string[], row: DataRow): Promise<void> {
    const statement = this.conn.prepare(this.dialect.insert(table, columns, 1, null));
    const params = values(columns, row).map((v) => this.bind(v));
    await this.retryBusy(() => {
      this.statements++;
      statement.run(...params);
    });
  }

  async insertBatch(table: string, columns: string[], rows: DataRow[]): Promise<void> {
    const per = rowsPerStatement(this.dialect, columns.length);
    await this.retryBusy(() => {
      this.statements++;
      this.conn.exec('BEGIN IMMEDIATE');
      try {
        for (let i = 0; i < rows.length; i += per) {
          const part = rows.slice(i, i + per);
          this.statements++;
          this.conn.prepare(this.dialect.insert(table, columns, part.length, null)).run(...part.flatMap((r) => values(columns, r).map((v) => this.bind(v))));
        }
        this.statements++;
        this.conn.exec('COMMIT');
      } catch (err) {
        if (this.conn.inTransaction) this.conn.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async query(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    this.statements++;
    return this.conn.prepare(sql).all(...params.map((v) => this.bind(v))) as Array<Record<string, unknown>>;
  }

  async count(table: string): Promise<number> {
    const rows = await this.query(`SELECT COUNT(*) AS n FROM ${this.dialect.quote(table)}`);
    return Number(rows[0].n);
  }

  /** A worker thread with its own connection holds BEGIN EXCLUSIVE: the main thread may block in SQLite's busy wait meanwhile. */
  async prepareLock(_table: string, ms: number): Promise<LockHandle> {
    const go = new Int32Array(new SharedArrayBuffer(4));
    // Written from dist/src/<dir>/ so that the CLI bundle (dist/src/bundle/) finds the same file.
    const worker = new Worker(new URL('../experiment/sqlite-locker.js', import.meta.url), { workerData: { path: this.path, ms, go } });
    let onReady: () => void = () => undefined;
    let onLocked: () => void = () => undefined;
    let onFail: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    const locked = new Promise<void>((resolve, reject) => {
      onLocked = resolve;
      const prev = onFail;
      onFail = (err) => {
        prev(err);
        reject(err);
      };
    });
    locked.catch(() => undefined);
    const released = new Promise<number>((resolve, reject) => {
      worker.on('message', (m: { type: string; heldMs?: number }) => {
        if (m.type === 'ready') onReady();
        if (m.type === 'locked') onLocked();
        if (m.type === 'released') resolve(m.heldMs ?? ms);
      });
      worker.on('error', (err) => {
        onFail(err);
        reject(err);
      });
      worker.on('exit', (code) => {
        const err = new Error(`SQLite lock holder exited with code ${code}`);
        onFail(err);
        reject(err);
      });
    });
    released.catch(() => undefined);
    await ready;
    return {
      take: () => {
        Atomics.store(go, 0, 1);
        Atomics.notify(go, 0);
        return locked;
      },
      released,
      dispose: () => {
        if (Atomics.compareExchange(go, 0, 0, 2) === 0) Atomics.notify(go, 0);
      },
    };
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }
}

interface LockConnection {
  lock: string[];
  unlock: string;
  query(sql: string): Promise<unknown>;
  end(): void;
}

/** MySQL and PostgreSQL: the same statements through one client connection; `exec` is the client's call. */
abstract class ServerDb extends BaseDb {
  protected abstract exec(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** A second connection and the statements that take and release a write lock on `table` through it. */
  protected abstract lockConnection(table: string): Promise<LockConnection>;

  /** The lock on a second connection, released `ms` after it was taken. */
  async prepareLock(table: string, ms: number): Promise<LockHandle> {
    const c = await this.lockConnection(table);
    let onReleased: (heldMs: number) => void = () => undefined;
    let onFail: (err: unknown) => void = () => undefined;
    const released = new Promise<number>((resolve, reject) => {
      onReleased = resolve;
      onFail = reject;
    });
    released.catch(() => undefined);
    let taken = false;
    return {
      dispose: () => {
        if (!taken) c.end();
      },
      take: async () => {
        taken = true;
        try {
          for (const sql of c.lock) await c.query(sql);
        } catch (err) {
          onFail(err);
          c.end();
          throw err;
        }
        const at = performance.now();
        setTimeout(() => {
          c.query(c.unlock)
            .then(() => onReleased(performance.now() - at), onFail)
            .finally(() => c.end());
        }, ms);
      },
      released,
    };
  }

  async recreate(table: string, columns: Array<{ name: string; kind: ValueKind }>): Promise<void> {
    await this.exec(`DROP TABLE IF EXISTS ${this.dialect.quote(table)}`);
    await this.exec(this.createSql(table, columns));
    this.statements += 2;
  }

  async insertRow(table: string, columns: string[], row: DataRow): Promise<void> {
    await this.exec(this.dialect.insert(table, columns, 1, null), values(columns, row));
    this.statements++;
  }

  async insertBatch(table: string, columns: string[], rows: DataRow[]): Promise<void> {
    const per = rowsPerStatement(this.dialect, columns.length);
    await this.exec('BEGIN');
    this.statements++;
    try {
      for (let i = 0; i < rows.length; i += per) {
        const part = rows.slice(i, i + per);
        await this.exec(this.dialect.insert(table, columns, part.length, null), part.flatMap((r) => values(columns, r)));
        this.statements++;
      }
      await this.exec('COMMIT');
      this.statements++;
    } catch (err) {
      await this.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async query(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    this.statements++;
    return this.exec(sql, params);
  }

  async count(table: string): Promise<number> {
    const rows = await this.query(`SELECT COUNT(*) AS n FROM ${this.dialect.quote(table)}`);
    return Number(rows[0].n);
  }
}

class MysqlDb extends ServerDb implements ExperimentDb {
  readonly kind = 'mysql' as const;
  private conn: import('mysql2/promise').Connection | null = null;
  constructor(private readonly url: string) {
    super();
  }

  private async connect(): Promise<import('mysql2/promise').Connection> {
    const { default: mysql } = await import('mysql2/promise');
    const c = await mysql.createConnection({ uri: this.url, supportBigNumbers: true, timezone: 'Z', charset: 'utf8mb4' });
    c.on('error', () => undefined);
    return c;
  }

  async open(): Promise<void> {
    this.conn = await this.connect();
  }

  private get c(): import('mysql2/promise').Connection {
    if (this.conn === null) throw new Error('database not open');
    return this.conn;
  }

  protected async exec(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    const [rows] = await this.c.query(sql, params);
    return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
  }

  /** LOCK TABLES … WRITE on a second connection; UNLOCK TABLES to release. */
  protected async lockConnection(table: string): Promise<LockConnection> {
    const c = await this.connect();
    return {
      lock: [`LOCK TABLES ${this.dialect.quote(table)} WRITE`],
      unlock: 'UNLOCK TABLES',
      query: (sql) => c.query(sql),
      end: () => void c.end().catch(() => c.destroy()),
    };
  }


  async close(): Promise<void> {
    await this.conn?.end().catch(() => this.conn?.destroy());
    this.conn = null;
  }
}

class PostgresDb extends ServerDb implements ExperimentDb {
  readonly kind = 'postgres' as const;
  private client: import('pg').Client | null = null;
  constructor(private readonly url: string) {
    super();
  }

  private async connect(): Promise<import('pg').Client> {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: this.url });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  async open(): Promise<void> {
    this.client = await this.connect();
  }

  private get c(): import('pg').Client {
    if (this.client === null) throw new Error('database not open');
    return this.client;
  }

  protected async exec(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return (await this.c.query(sql, params)).rows as Array<Record<string, unknown>>;
  }

  /** LOCK TABLE … IN EXCLUSIVE MODE (writers wait, readers do not) on a second connection; COMMIT to release. */
  protected async lockConnection(table: string): Promise<LockConnection> {
    const c = await this.connect();
    return {
      lock: ['BEGIN', `LOCK TABLE ${this.dialect.quote(table)} IN EXCLUSIVE MODE`],
      unlock: 'COMMIT',
      query: (sql) => c.query(sql),
      end: () => void c.end().catch(() => undefined),
    };
  }


  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }
}
