// Persistent bytes stores: one SQLite database per store under the task's directory
// (<state.dir>/<application.id>/<task>/<store>.db). Keys are BLOBs, which SQLite orders with memcmp: bytewise,
// a prefix first, as Kafka compares serialized keys and as the in-memory stores do. Writes are batched: the first
// write after a flush opens a transaction and flush() commits it (the runtime flushes before every commit and
// writes the task's checkpoint after it); close() without a flush rolls back what was not flushed (a crash).
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Database from 'better-sqlite3';

let sqlite: typeof Database | undefined;

/** Loaded on first use, so importing the package (the client alone, in-memory stores) never loads the native addon. */
function openDatabase(file: string): Database.Database {
  sqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  return new sqlite(file);
}

/** Bounds for ±Infinity time ranges (SQLite compares INTEGER with these REALs fine, but keep them finite). */
const MIN_T = -Number.MAX_SAFE_INTEGER;
const MAX_T = Number.MAX_SAFE_INTEGER;
const clamp = (t: number): number => (t < MIN_T ? MIN_T : t > MAX_T ? MAX_T : t);

/** Rows read per query when iterating a key range (keyset pagination: writes during iteration are safe). */
const PAGE = 1000;

abstract class SqliteStore {
  protected db: Database.Database | null = null;
  private inTx = false;

  constructor(readonly name: string) {}

  /** Opens (creating) <dir>/<name>.db. */
  open(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const db = openDatabase(join(dir, `${this.name}.db`));
    db.pragma('journal_mode = WAL');
    // FULL: a committed flush is on disk before the checkpoint naming it is written.
    db.pragma('synchronous = FULL');
    this.db = db;
    this.createSchema(db);
  }

  protected abstract createSchema(db: Database.Database): void;

  protected get conn(): Database.Database {
    if (!this.db) throw new Error(`persistent store ${this.name} is not open (init() first)`);
    return this.db;
  }

  protected ensureOpen(): void {
    if (!this.db) throw new Error(`persistent store ${this.name} is not open (init() first)`);
  }

  /** Called before every write: the lazily opened batch transaction. */
  protected beginWrite(): void {
    if (this.inTx) return;
    this.conn.exec('BEGIN');
    this.inTx = true;
  }

  flush(): void {
    if (!this.inTx) return;
    this.conn.exec('COMMIT');
    this.inTx = false;
  }

  /** Deletes every entry (the store no longer matches its changelog, which Kafka answers by wiping the state). */
  wipe(): void {
    this.beginWrite();
    for (const t of this.conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]) this.conn.exec(`DELETE FROM "${t}"`);
    this.resetMemory();
  }

  protected resetMemory(): void {}

  /** Closes without flushing: an unflushed batch is rolled back (the task flushes first on a clean close). */
  close(): void {
    if (!this.db) return;
    if (this.inTx) this.db.exec('ROLLBACK');
    this.inTx = false;
    this.db.close();
    this.db = null;
  }
}

export class SqliteKeyValueBytesStore extends SqliteStore {
  private st!: {
    get: Database.Statement; put: Database.Statement; del: Database.Statement; count: Database.Statement;
    first: Database.Statement; after: Database.Statement;
  };

  protected createSchema(db: Database.Database): void {
    db.exec('CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
    this.st = {
      get: db.prepare('SELECT v FROM kv WHERE k = ?').pluck(),
      put: db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)'),
      del: db.prepare('DELETE FROM kv WHERE k = ?'),
      count: db.prepare('SELECT count(*) FROM kv').pluck(),
      first: db.prepare(`SELECT k, v FROM kv WHERE k >= ? AND k <= ? ORDER BY k LIMIT ${PAGE}`),
      after: db.prepare(`SELECT k, v FROM kv WHERE k > ? AND k <= ? ORDER BY k LIMIT ${PAGE}`),
    };
  }

  get(key: Buffer): Buffer | null {
    this.ensureOpen();
    return (this.st.get.get(key) as Buffer | undefined) ?? null;
  }

  put(key: Buffer, value: Buffer | null): void {
    this.beginWrite();
    if (value === null) this.st.del.run(key);
    else this.st.put.run(key, value);
  }

  *range(from: Buffer | undefined, to: Buffer | undefined): IterableIterator<{ key: Buffer; value: Buffer }> {
    this.ensureOpen();
    // An empty BLOB is the least key; no key is above an unbounded upper end, emulated by an all-0xff BLOB
    // longer than any key we compare against only when `to` is undefined (see below).
    const lo = from ?? Buffer.alloc(0);
    let last: Buffer | null = null;
    for (;;) {
      const rows = (to === undefined
        ? this.pageUnbounded(last ?? lo, last !== null)
        : (last === null ? this.st.first.all(lo, to) : this.st.after.all(last, to))) as Array<{ k: Buffer; v: Buffer }>;
      for (const r of rows) yield { key: r.k, value: r.v };
      if (rows.length < PAGE) return;
      last = rows[rows.length - 1].k;
    }
  }

  private unbounded: { first: Database.Statement; after: Database.Statement } | null = null;

  private pageUnbounded(from: Buffer, exclusive: boolean): unknown[] {
    this.unbounded ??= {
      first: this.conn.prepare(`SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ${PAGE}`),
      after: this.conn.prepare(`SELECT k, v FROM kv WHERE k > ? ORDER BY k LIMIT ${PAGE}`),
    };
    return (exclusive ? this.unbounded.after : this.unbounded.first).all(from);
  }

  size(): number {
    this.ensureOpen();
    return this.st.count.get() as number;
  }

  override close(): void {
    this.unbounded = null;
    super.close();
  }
}

interface WindowRow { k: Buffer; start: number; seq: number; v: Buffer }

export class SqliteWindowBytesStore extends SqliteStore {
  private observedStreamTime = -1;
  private expiredBelow = -Infinity;
  private seq = 0;
  private st!: {
    put: Database.Statement; del: Database.Statement; expire: Database.Statement; fetch: Database.Statement;
    fetchRange: Database.Statement; fetchAll: Database.Statement; setMeta: Database.Statement;
  };

  constructor(name: string, readonly retentionMs: number, readonly retainDuplicates: boolean) {
    super(name);
  }

  protected override resetMemory(): void {
    this.observedStreamTime = -1;
    this.expiredBelow = -Infinity;
    this.seq = 0;
  }

  protected createSchema(db: Database.Database): void {
    db.exec(`CREATE TABLE IF NOT EXISTS w (k BLOB NOT NULL, start INTEGER NOT NULL, seq INTEGER NOT NULL, v BLOB NOT NULL,
      PRIMARY KEY (k, start, seq)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS w_start ON w (start);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    this.observedStreamTime = (db.prepare("SELECT value FROM meta WHERE name = 'observedStreamTime'").pluck().get() as number | undefined) ?? -1;
    this.seq = (db.prepare('SELECT max(seq) FROM w').pluck().get() as number | null) ?? 0;
    this.st = {
      put: db.prepare('INSERT OR REPLACE INTO w (k, start, seq, v) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM w WHERE k = ? AND start = ?'),
      expire: db.prepare('DELETE FROM w WHERE start < ?'),
      fetch: db.prepare('SELECT v FROM w WHERE k = ? AND start = ? ORDER BY seq DESC LIMIT 1').pluck(),
      fetchRange: db.prepare('SELECT k, start, seq, v FROM w WHERE k = ? AND start >= ? AND start <= ? ORDER BY start, seq'),
      fetchAll: db.prepare('SELECT k, start, seq, v FROM w WHERE start >= ? AND start <= ? ORDER BY k, start, seq'),
      setMeta: db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('observedStreamTime', ?)"),
    };
  }

  /** As InMemoryWindowBytesStore.put: the entry's sequence number (0 without duplicates), -1 when expired or nothing changed. */
  put(key: Buffer, value: Buffer | null, start: number): number {
    this.beginWrite();
    if (start > this.observedStreamTime) {
      this.observedStreamTime = start;
      this.st.setMeta.run(start);
    }
    const limit = this.observedStreamTime - this.retentionMs;
    if (limit > this.expiredBelow) {
      this.st.expire.run(limit);
      this.expiredBelow = limit;
    }
    if (start < limit) return -1;
    if (value === null) {
      if (this.retainDuplicates) return -1;
      return this.st.del.run(key, start).changes > 0 ? 0 : -1;
    }
    const seq = this.retainDuplicates ? ++this.seq : 0;
    this.st.put.run(key, start, seq, value);
    return seq;
  }

  fetch(key: Buffer, start: number): Buffer | null {
    this.ensureOpen();
    return (this.st.fetch.get(key, start) as Buffer | undefined) ?? null;
  }

  *fetchRange(key: Buffer, from: number, to: number): IterableIterator<{ key: Buffer; start: number; value: Buffer }> {
    this.ensureOpen();
    for (const r of this.st.fetchRange.all(key, clamp(from), clamp(to)) as WindowRow[]) yield { key: r.k, start: r.start, value: r.v };
  }

  *fetchAll(from: number, to: number): IterableIterator<{ key: Buffer; start: number; value: Buffer }> {
    this.ensureOpen();
    for (const r of this.st.fetchAll.all(clamp(from), clamp(to)) as WindowRow[]) yield { key: r.k, start: r.start, value: r.v };
  }
}

interface SessionRow { start: number; end: number; v: Buffer }

export class SqliteSessionBytesStore extends SqliteStore {
  private observedStreamTime = -1;
  private expiredBelow = -Infinity;
  private st!: {
    put: Database.Statement; del: Database.Statement; expire: Database.Statement; get: Database.Statement;
    find: Database.Statement; setMeta: Database.Statement;
  };

  constructor(name: string, readonly retentionMs: number) {
    super(name);
  }

  protected override resetMemory(): void {
    this.observedStreamTime = -1;
    this.expiredBelow = -Infinity;
  }

  protected createSchema(db: Database.Database): void {
    db.exec(`CREATE TABLE IF NOT EXISTS s (k BLOB NOT NULL, e INTEGER NOT NULL, start INTEGER NOT NULL, v BLOB NOT NULL,
      PRIMARY KEY (k, e, start)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS s_end ON s (e);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    this.observedStreamTime = (db.prepare("SELECT value FROM meta WHERE name = 'observedStreamTime'").pluck().get() as number | undefined) ?? -1;
    this.st = {
      put: db.prepare('INSERT OR REPLACE INTO s (k, e, start, v) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM s WHERE k = ? AND e = ? AND start = ?'),
      expire: db.prepare('DELETE FROM s WHERE e < ?'),
      get: db.prepare('SELECT v FROM s WHERE k = ? AND e = ? AND start = ?').pluck(),
      find: db.prepare('SELECT start, e AS end, v FROM s WHERE k = ? AND e >= ? AND start <= ? ORDER BY e, start'),
      setMeta: db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('observedStreamTime', ?)"),
    };
  }

  /** As InMemorySessionBytesStore.put: whether anything changed. */
  put(key: Buffer, start: number, end: number, value: Buffer | null): boolean {
    this.beginWrite();
    if (end > this.observedStreamTime) {
      this.observedStreamTime = end;
      this.st.setMeta.run(end);
    }
    const limit = this.observedStreamTime - this.retentionMs;
    if (value === null) return this.st.del.run(key, end, start).changes > 0;
    if (end < limit) return false;
    if (limit > this.expiredBelow) {
      this.st.expire.run(limit);
      this.expiredBelow = limit;
    }
    this.st.put.run(key, end, start, value);
    return true;
  }

  get(key: Buffer, start: number, end: number): Buffer | null {
    this.ensureOpen();
    return (this.st.get.get(key, end, start) as Buffer | undefined) ?? null;
  }

  find(key: Buffer, earliestEnd: number, latestStart: number): Array<{ key: Buffer; start: number; end: number; value: Buffer }> {
    this.ensureOpen();
    const limit = this.observedStreamTime - this.retentionMs;
    const rows = this.st.find.all(key, clamp(Math.max(earliestEnd, limit)), clamp(latestStart)) as SessionRow[];
    return rows.map((r) => ({ key, start: r.start, end: r.end, value: r.v }));
  }
}
