/**
 * What differs between the SQL databases the SQL sink writes to: identifier quoting, placeholders, upsert
 * syntax, column types for auto-created tables, the bound-parameter cap, and the offsets table of
 * exactly-once mode. SqlSink builds every statement through this, so it stays dialect-neutral.
 */
import type { SqlDriver } from '../types.js';

export type DialectName = SqlDriver['dialect'];

/** The kinds of values a record field holds, as far as auto-create cares (keep it simple: no dates). */
export type ValueKind = 'integer' | 'real' | 'boolean' | 'text';

/** Where exactly-once mode keeps the consumed next-offsets, per pipeline and partition. */
export const OFFSETS_TABLE = 'tributary_offsets';
export const OFFSETS_COLUMNS = ['pipeline', 'topic', 'partition', 'next_offset'] as const;
export const OFFSETS_KEY = ['pipeline', 'topic', 'partition'] as const;

/** The savepoint that isolates one statement inside a batch's transaction (all three databases know SAVEPOINT). */
const SAVEPOINT = 'tributary_sp';

export interface Dialect {
  readonly name: DialectName;
  /** Most bound parameters one statement may carry. */
  readonly maxParams: number;
  /** Quotes an identifier; `schema.table` is quoted part by part. */
  quote(identifier: string): string;
  /** The placeholder of the i-th parameter (1-based). */
  placeholder(i: number): string;
  /** Column type for auto-create; key columns may need a bounded type (MySQL cannot index TEXT). */
  typeName(kind: ValueKind, isKey: boolean): string;
  createTable(table: string, columns: Array<{ name: string; kind: ValueKind }>, primaryKey: string[] | null): string;
  /**
   * A multi-row INSERT of `rows` rows of `columns`; with `upsertKeys` an upsert on them (the table needs a
   * primary key or unique index on exactly those columns).
   */
  insert(table: string, columns: readonly string[], rows: number, upsertKeys: readonly string[] | null): string;
  /** DELETE of `rows` rows by their key columns (parameters: each row's key values in order). */
  deleteByKeys(table: string, keys: readonly string[], rows: number): string;
  createOffsetsTable(): string;
  /** Upsert of one row (pipeline, topic, partition, next_offset) per stored offset. */
  upsertOffsets(rows: number): string;
  selectOffsets(): string;
  readonly savepoint: string;
  readonly rollbackToSavepoint: string;
  readonly releaseSavepoint: string;
}

abstract class BaseDialect implements Dialect {
  abstract readonly name: DialectName;
  abstract readonly maxParams: number;
  protected abstract readonly quoteChar: string;
  protected abstract readonly types: Record<ValueKind, string>;
  readonly savepoint = `SAVEPOINT ${SAVEPOINT}`;
  readonly rollbackToSavepoint = `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`;
  readonly releaseSavepoint = `RELEASE SAVEPOINT ${SAVEPOINT}`;

  quote(identifier: string): string {
    const q = this.quoteChar;
    return identifier.split('.').map((part) => `${q}${part.split(q).join(q + q)}${q}`).join('.');
  }

  placeholder(_i: number): string {
    return '?';
  }

  typeName(kind: ValueKind, _isKey: boolean): string {
    return this.types[kind];
  }

  protected tableSuffix(): string {
    return '';
  }

  createTable(table: string, columns: Array<{ name: string; kind: ValueKind }>, primaryKey: string[] | null): string {
    const keys = new Set(primaryKey ?? []);
    const defs = columns.map((c) => `${this.quote(c.name)} ${this.typeName(c.kind, keys.has(c.name))}${keys.has(c.name) ? ' NOT NULL' : ''}`);
    if (primaryKey && primaryKey.length > 0) defs.push(`PRIMARY KEY (${primaryKey.map((k) => this.quote(k)).join(', ')})`);
    return `CREATE TABLE IF NOT EXISTS ${this.quote(table)} (${defs.join(', ')})${this.tableSuffix()}`;
  }

  protected values(columns: number, rows: number): string {
    const out: string[] = [];
    let n = 1;
    for (let r = 0; r < rows; r++) {
      const ps: string[] = [];
      for (let c = 0; c < columns; c++) ps.push(this.placeholder(n++));
      out.push(`(${ps.join(', ')})`);
    }
    return out.join(', ');
  }

  insert(table: string, columns: readonly string[], rows: number, upsertKeys: readonly string[] | null): string {
    const head = `INSERT INTO ${this.quote(table)} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES ${this.values(columns.length, rows)}`;
    return upsertKeys === null ? head : `${head} ${this.upsertClause(columns, upsertKeys)}`;
  }

  /** PostgreSQL and SQLite: ON CONFLICT … DO UPDATE SET c = excluded.c. */
  protected upsertClause(columns: readonly string[], keys: readonly string[]): string {
    const keySet = new Set(keys);
    const set = columns.filter((c) => !keySet.has(c)).map((c) => `${this.quote(c)} = excluded.${this.quote(c)}`);
    const target = `ON CONFLICT (${keys.map((k) => this.quote(k)).join(', ')})`;
    return set.length === 0 ? `${target} DO NOTHING` : `${target} DO UPDATE SET ${set.join(', ')}`;
  }

  deleteByKeys(table: string, keys: readonly string[], rows: number): string {
    let n = 1;
    if (keys.length === 1) {
      const ps: string[] = [];
      for (let r = 0; r < rows; r++) ps.push(this.placeholder(n++));
      return `DELETE FROM ${this.quote(table)} WHERE ${this.quote(keys[0])} IN (${ps.join(', ')})`;
    }
    const ors: string[] = [];
    for (let r = 0; r < rows; r++) ors.push(`(${keys.map((k) => `${this.quote(k)} = ${this.placeholder(n++)}`).join(' AND ')})`);
    return `DELETE FROM ${this.quote(table)} WHERE ${ors.join(' OR ')}`;
  }

  createOffsetsTable(): string {
    const text = this.typeName('text', true);
    return `CREATE TABLE IF NOT EXISTS ${this.quote(OFFSETS_TABLE)} (${this.quote('pipeline')} ${text} NOT NULL, ${this.quote('topic')} ${text} NOT NULL, `
      + `${this.quote('partition')} ${this.types.integer} NOT NULL, ${this.quote('next_offset')} ${this.types.integer} NOT NULL, `
      + `PRIMARY KEY (${OFFSETS_KEY.map((k) => this.quote(k)).join(', ')}))${this.tableSuffix()}`;
  }

  /**
   * The next offsets, upserted; a stored offset never moves back (a writer that lost its partitions without
   * knowing yet — a zombie — cannot rewind what the partition's new owner stored).
   */
  upsertOffsets(rows: number): string {
    return `${this.insert(OFFSETS_TABLE, OFFSETS_COLUMNS, rows, null)} ${this.onConflictKeepHigher(this.quote('next_offset'))}`;
  }

  /** PostgreSQL and SQLite: the conflicting row is updated only when the new offset is higher. */
  protected onConflictKeepHigher(next: string): string {
    return `ON CONFLICT (${OFFSETS_KEY.map((k) => this.quote(k)).join(', ')}) DO UPDATE SET ${next} = excluded.${next} WHERE ${this.quote(OFFSETS_TABLE)}.${next} < excluded.${next}`;
  }

  selectOffsets(): string {
    return `SELECT ${this.quote('topic')} AS topic, ${this.quote('partition')} AS ${this.quote('partition')}, ${this.quote('next_offset')} AS next_offset `
      + `FROM ${this.quote(OFFSETS_TABLE)} WHERE ${this.quote('pipeline')} = ${this.placeholder(1)}`;
  }
}

class SqliteDialect extends BaseDialect {
  readonly name = 'sqlite' as const;
  // SQLITE_MAX_VARIABLE_NUMBER's default since 3.32.
  readonly maxParams = 32766;
  protected readonly quoteChar = '"';
  // STRICT tables know INTEGER, REAL, TEXT, BLOB, ANY only: booleans are stored as 0/1.
  protected readonly types = { integer: 'INTEGER', real: 'REAL', boolean: 'INTEGER', text: 'TEXT' };

  /**
   * Auto-created tables are STRICT: otherwise SQLite stores "abc" in an INTEGER column without complaint, and
   * a record the database should refuse would never reach the dead-letter topic.
   */
  protected override tableSuffix(): string {
    return ' STRICT';
  }
}

class PostgresDialect extends BaseDialect {
  readonly name = 'postgres' as const;
  // The wire protocol counts parameters in an Int16 (unsigned in practice).
  readonly maxParams = 65535;
  protected readonly quoteChar = '"';
  protected readonly types = { integer: 'BIGINT', real: 'DOUBLE PRECISION', boolean: 'BOOLEAN', text: 'TEXT' };

  override placeholder(i: number): string {
    return `$${i}`;
  }
}

class MysqlDialect extends BaseDialect {
  readonly name = 'mysql' as const;
  readonly maxParams = 65535;
  protected readonly quoteChar = '`';
  protected readonly types = { integer: 'BIGINT', real: 'DOUBLE', boolean: 'BOOLEAN', text: 'TEXT' };

  // A TEXT column cannot be a key without a prefix length: keys get a VARCHAR (255 × 4 bytes fits InnoDB's 3072-byte index limit).
  override typeName(kind: ValueKind, isKey: boolean): string {
    return kind === 'text' && isKey ? 'VARCHAR(255)' : this.types[kind];
  }

  /** INSERT … ON DUPLICATE KEY UPDATE c = VALUES(c): understood by MySQL 5.7/8.x and MariaDB alike. */
  protected override upsertClause(columns: readonly string[], keys: readonly string[]): string {
    const keySet = new Set(keys);
    const set = columns.filter((c) => !keySet.has(c)).map((c) => `${this.quote(c)} = VALUES(${this.quote(c)})`);
    // Only key columns: a no-op update keeps the existing row (INSERT IGNORE would also hide bad values).
    if (set.length === 0) set.push(`${this.quote(keys[0])} = ${this.quote(keys[0])}`);
    return `ON DUPLICATE KEY UPDATE ${set.join(', ')}`;
  }

  protected override onConflictKeepHigher(next: string): string {
    return `ON DUPLICATE KEY UPDATE ${next} = GREATEST(${next}, VALUES(${next}))`;
  }
}

const DIALECTS: Record<DialectName, Dialect> = {
  sqlite: new SqliteDialect(),
  postgres: new PostgresDialect(),
  mysql: new MysqlDialect(),
};

export function dialectFor(name: DialectName): Dialect {
  return DIALECTS[name];
}

/** The kind of one JSON value, or null for null (no information). */
export function kindOf(value: unknown): ValueKind | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'real';
  if (typeof value === 'bigint') return 'integer';
  return 'text';
}

/**
 * The column kind for a column's values: the kind most of them have (integer and real count together as
 * numbers, real when any is fractional; a tie with text is text, so no value is refused on a coin toss), so one
 * stray "abc" among ages
 * does not turn the column into text — that value then goes to the dead-letter topic, as a typed table would
 * refuse it. All null → null.
 */
export function dominantKind(values: Iterable<unknown>): ValueKind | null {
  let integer = 0;
  let real = 0;
  let boolean = 0;
  let text = 0;
  for (const v of values) {
    const kind = kindOf(v);
    if (kind === 'integer') integer++;
    else if (kind === 'real') real++;
    else if (kind === 'boolean') boolean++;
    else if (kind === 'text') text++;
  }
  const numbers = integer + real;
  if (numbers + boolean + text === 0) return null;
  if (numbers >= boolean && numbers > text) return real > 0 ? 'real' : 'integer';
  return boolean > text ? 'boolean' : 'text';
}
