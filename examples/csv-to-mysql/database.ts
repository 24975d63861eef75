/**
 * The two databases the CSV example writes to, behind the few calls the classic program makes: run a statement,
 * insert one row (autocommit), count. `mysql://…` (or `mariadb://…`) is MySQL/MariaDB over mysql2; anything
 * else is a SQLite file (better-sqlite3), with the same journal settings as the SQLite sink.
 */
import Database from 'better-sqlite3';
import type { ExecuteValues } from 'mysql2';
import mysql from 'mysql2/promise';
import type { ColumnType } from '../../src/connect/types.js';

export interface ExampleDatabase {
  readonly kind: 'mysql' | 'sqlite';
  /** Where, without any password. */
  readonly label: string;
  /** The sink `type` and `url` a pipeline uses for the same database. */
  readonly sink: { type: 'mysql' | 'sqlite'; url: string };
  /** Drops and creates a table for the CSV's columns. */
  recreateTable(table: string, columns: Array<{ name: string; type: ColumnType }>): Promise<void>;
  /**
   * INSERTs one row in its own autocommit transaction. Resolves with the database's message when it refused the
   * row (a bad value); rejects when the database itself failed.
   */
  insert(table: string, row: Record<string, unknown>): Promise<string | null>;
  count(table: string): Promise<number>;
  close(): Promise<void>;
}

export const isMysqlUrl = (url: string): boolean => /^(mysql|mariadb):\/\//.test(url);

const SQL_TYPES: Record<'mysql' | 'sqlite', Record<ColumnType, string>> = {
  mysql: { int: 'BIGINT', float: 'DOUBLE', bool: 'BOOLEAN', string: 'VARCHAR(255)', timestamp: 'DATETIME(3)' },
  // STRICT tables: SQLite refuses 'abc' in an INTEGER column, as MySQL does in strict mode.
  sqlite: { int: 'INTEGER', float: 'REAL', bool: 'INTEGER', string: 'TEXT', timestamp: 'TEXT' },
};

/** A value as the driver binds it: booleans as 0/1 for SQLite, ISO timestamps as DATETIME text for MySQL. */
function bindable(kind: 'mysql' | 'sqlite', v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return kind === 'sqlite' ? (v ? 1 : 0) : v;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v;
}

export async function openDatabase(url: string): Promise<ExampleDatabase> {
  if (isMysqlUrl(url)) {
    const parsed = new URL(url.replace(/^mariadb:/, 'mysql:'));
    const connection = await mysql.createConnection({
      host: parsed.hostname,
      port: parsed.port === '' ? 3306 : Number(parsed.port),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: decodeURIComponent(parsed.pathname.slice(1)),
      dateStrings: true,
    });
    const q = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
    return {
      kind: 'mysql',
      label: `mysql ${parsed.hostname}:${parsed.port || '3306'}${parsed.pathname}`,
      sink: { type: 'mysql', url },
      async recreateTable(table, columns) {
        await connection.query(`DROP TABLE IF EXISTS ${q(table)}`);
        await connection.query(`CREATE TABLE ${q(table)} (${columns.map((c) => `${q(c.name)} ${SQL_TYPES.mysql[c.type]}`).join(', ')}) ENGINE=InnoDB`);
      },
      async insert(table, row) {
        const names = Object.keys(row);
        try {
          await connection.execute(`INSERT INTO ${q(table)} (${names.map(q).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`, names.map((n) => bindable('mysql', row[n]) as ExecuteValues));
          return null;
        } catch (err) {
          // mysql2 marks errors that broke the connection fatal; anything else is this row's fault.
          if ((err as { fatal?: boolean }).fatal === true) throw err;
          return (err as Error).message;
        }
      },
      async count(table) {
        const [rows] = await connection.query(`SELECT COUNT(*) AS n FROM ${q(table)}`);
        return Number((rows as Array<{ n: number | string }>)[0].n);
      },
      close: () => connection.end(),
    };
  }
  const path = url.replace(/^sqlite:(\/\/)?/, '');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
  const inserts = new Map<string, Database.Statement>();
  return {
    kind: 'sqlite',
    label: `sqlite ${path}`,
    sink: { type: 'sqlite', url: path },
    async recreateTable(table, columns) {
      inserts.clear();
      db.exec(`DROP TABLE IF EXISTS ${q(table)}`);
      db.exec(`CREATE TABLE ${q(table)} (${columns.map((c) => `${q(c.name)} ${SQL_TYPES.sqlite[c.type]}`).join(', ')}) STRICT`);
    },
    async insert(table, row) {
      const names = Object.keys(row);
      const sql = `INSERT INTO ${q(table)} (${names.map(q).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`;
      let stmt = inserts.get(sql);
      if (stmt === undefined) inserts.set(sql, (stmt = db.prepare(sql)));
      try {
        stmt.run(...names.map((n) => bindable('sqlite', row[n])));
        return null;
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? '');
        if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') return (err as Error).message;
        throw err;
      }
    },
    async count(table) {
      return (db.prepare(`SELECT COUNT(*) AS n FROM ${q(table)}`).get() as { n: number }).n;
    },
    async close() {
      db.close();
    },
  };
}
