/**
 * The generic SQL sink (Kafka Connect's JDBC sink, over a SqlDriver): a record's value is a JSON object, its
 * fields are mapped to table columns, and a batch becomes multi-row INSERTs (or upserts) in one transaction.
 * Exactly-once mode stores the consumed offsets in `tributary_offsets` in that same transaction.
 *
 * A row the database refuses does not fail the batch. The statements go without savepoints first (as a plain
 * batched loader's); when one is refused the transaction is rolled back and written again with each statement
 * under a SAVEPOINT, and a refused statement's rows are retried one by one (each under its own SAVEPOINT) so the
 * good ones are written and the bad ones are returned as RecordFailures (for the dead-letter topic); the next
 * writes then use savepoints straight away for a while. Retriable
 * errors (database down, locked, busy) abort the whole transaction and reject with SinkError{retriable: true}.
 */
import { SinkError, StatementError, type RecordFailure, type SinkConfig, type SinkConnector, type SinkRecord, type SqlDriver, type SqlExecutor, type TopicPartitionOffset } from '../types.js';
import { OFFSETS_TABLE, dialectFor, dominantKind, type Dialect } from './dialects.js';
import { FlatJsonDecoder } from '../flat-json.js';

export type SqlSinkOptions = Pick<SinkConfig, 'mode' | 'keyColumns' | 'autoCreate' | 'columns' | 'batchSize' | 'guarantee' | 'cdc'> & {
  table: string;
};

type Value = string | number | bigint | boolean | null;

/** One record as a row: its columns in the order they appear, and the values. */
interface PreparedRow {
  record: SinkRecord;
  columns: string[];
  values: Value[];
  /** The key columns' values joined, for upsert chunking. */
  key: string | null;
}

/** How records with the field names `names` (in this order) become rows: `fields[i]` fills `columns[i]`. */
interface RowShape {
  names: string[];
  columns: string[];
  fields: string[];
}

function sameNames(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when the error says "try the same batch again later". */
export function isRetriable(err: unknown): boolean {
  return err instanceof SinkError ? err.retriable : (err as { retriable?: unknown } | null)?.retriable === true;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** A record's value as a JSON object, or the reason it is not one. */
export function parseRecordValue(record: SinkRecord, flat?: FlatJsonDecoder): Record<string, unknown> | Error {
  if (record.value === null) return new SinkError('record has no value (a tombstone): nothing to write', { retriable: false });
  if (flat !== undefined) {
    const decoded = flat.decode(record.value);
    if (decoded !== undefined) return decoded;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    return new SinkError(`record value is not JSON: ${(err as Error).message}`, { retriable: false });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return new SinkError(`record value is not a JSON object but ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`, { retriable: false });
  }
  flat?.parsed(parsed as Record<string, unknown>);
  return parsed as Record<string, unknown>;
}

/** A JSON field as a bindable value: nested objects and arrays are stored as their JSON text. */
function toValue(v: unknown): Value {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  return JSON.stringify(v);
}

/** The rows' values one after the other, as one statement binds them. */
function flatValues(rows: PreparedRow[]): Value[] {
  const width = rows[0].values.length;
  const out: Value[] = new Array(rows.length * width);
  let at = 0;
  for (const row of rows) {
    const v = row.values;
    for (let i = 0; i < v.length; i++) out[at++] = v[i];
  }
  out.length = at;
  return out;
}

/**
 * The rows whose records are at or past `next` (the next offset to write per `topic\0partition`; none stored: 0).
 * `known`: null instead when a partition of theirs has no entry. Records come in runs of one partition, so the
 * entry is looked up once per run; the very same array when every row is kept.
 */
function pastStored<R extends { record: SinkRecord }>(rows: R[], next: Map<string, number>, known: boolean): R[] | null {
  let out: R[] | null = null;
  let last: SinkRecord | null = null;
  let from = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i].record;
    if (last === null || r.partition !== last.partition || r.topic !== last.topic) {
      last = r;
      const n = next.get(`${r.topic}\u0000${r.partition}`);
      if (n === undefined && known) return null;
      from = n ?? 0;
    }
    if (r.offset >= from) out?.push(rows[i]);
    else out ??= rows.slice(0, i);
  }
  return out ?? rows;
}

/** The record key's fields (a CDC key is the primary-key columns as a JSON object), or none. */
function keyFields(record: SinkRecord): string[] {
  const key = keyObject(record);
  return key === null ? [] : Object.keys(key);
}

function keyObject(record: SinkRecord): Record<string, unknown> | null {
  if (record.key === null) return null;
  try {
    const k = JSON.parse(record.key.toString('utf8')) as unknown;
    return k !== null && typeof k === 'object' && !Array.isArray(k) ? (k as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A statement of a transaction written without savepoints was refused: the transaction is written again with them. */
class RefusedStatement extends SinkError {
  constructor(cause: Error) {
    super(`statement refused: ${cause.message}`, { retriable: false, cause });
  }
}

/** After a refusal, this many writes go guarded (savepoints) at once: a topic with bad rows is not written twice per batch. */
const GUARDED_AFTER_REFUSAL = 100;

export class SqlSink implements SinkConnector {
  readonly name: string;
  private readonly dialect: Dialect;
  /** Upsert keys: the configured ones; in CDC mode else the fields of the first record key. */
  private keys: string[];
  /** Table columns (from the database); null until the table exists. */
  private tableColumns: Set<string> | null = null;
  /** Lower-cased table column → its real name, for fields that differ only in case. */
  private columnsLower = new Map<string, string>();
  private offsetsTableReady = false;
  /**
   * Exactly-once: the next offsets per partition in the offsets table as this sink's last committed write left
   * them (null: not known, read them in the next transaction); readNext: read in the transaction in progress.
   */
  private storedNext: Map<string, number> | null = null;
  private readNext: Map<string, number> | null = null;
  /** Writes left to go straight to savepoints (after a refusal). */
  private guardedWrites = 0;

  constructor(
    readonly driver: SqlDriver,
    private readonly options: SqlSinkOptions,
    /** The pipeline: the key of this sink's rows in the offsets table. */
    private readonly pipeline: string,
  ) {
    this.name = pipeline;
    this.dialect = dialectFor(driver.dialect);
    this.keys = options.keyColumns ?? [];
    if (options.mode === 'upsert' && this.keys.length === 0 && options.cdc !== true) {
      throw new SinkError(`pipeline '${pipeline}': mode 'upsert' needs keyColumns`, { retriable: false, code: 'ERR_SINK_CONFIG' });
    }
    if (!(options.batchSize >= 1)) throw new SinkError(`pipeline '${pipeline}': batchSize must be at least 1`, { retriable: false, code: 'ERR_SINK_CONFIG' });
  }

  /** Upserts by the key columns: mode upsert, or CDC mode. */
  private get upsert(): boolean {
    return this.options.mode === 'upsert' || this.options.cdc === true;
  }

  async open(): Promise<void> {
    await this.driver.connect();
    await this.loadTable();
    if (this.tableColumns === null && !this.options.autoCreate) {
      throw new SinkError(`table '${this.options.table}' does not exist: create it, or set autoCreate: true to create it from the first records`, {
        retriable: false,
        code: 'ERR_SINK_CONFIG',
      });
    }
    if (this.options.guarantee === 'exactly-once') await this.ensureOffsetsTable();
  }

  /** Values of the topic's usual shape read straight from their bytes (JSON.parse for the rest). */
  private readonly flat = new FlatJsonDecoder();

  /** Rows worked out by prepare() for the records array write() gets next. */
  private prepared: { records: SinkRecord[]; rows: PreparedRow[]; failures: RecordFailure[] } | null = null;

  prepare(records: SinkRecord[]): void {
    // Before the table exists the first batch creates it (from its values): write() does all of that.
    if (this.options.cdc === true || this.tableColumns === null) return;
    this.prepared = { records, ...this.toRows(records.map((record) => ({ record, fields: parseRecordValue(record, this.flat) }))) };
  }

  /** Parsed values → rows, and the records that are not one (not a JSON object, no field for any column). */
  private toRows(parsed: Array<{ record: SinkRecord; fields: Record<string, unknown> | Error }>): { rows: PreparedRow[]; failures: RecordFailure[] } {
    const failures: RecordFailure[] = [];
    const rows: PreparedRow[] = [];
    for (const { record, fields } of parsed) {
      const row = fields instanceof Error ? fields : this.toRow(record, fields);
      if (row instanceof Error) failures.push({ record, error: row });
      else rows.push(row);
    }
    return { rows, failures };
  }

  async write(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> {
    if (this.options.cdc === true) return this.writeChanges(records, offsets);
    const ready = this.prepared;
    this.prepared = null;
    let rows: PreparedRow[];
    let failures: RecordFailure[];
    if (ready !== null && ready.records === records && this.tableColumns !== null) {
      ({ rows, failures } = ready);
    } else {
      const parsed = records.map((record) => ({ record, fields: parseRecordValue(record, this.flat) }));
      if (this.tableColumns === null) {
        const objects = parsed.flatMap((p) => (p.fields instanceof Error ? [] : [p.fields]));
        if (objects.length > 0) await this.createTable(objects);
      }
      ({ rows, failures } = this.toRows(parsed));
    }
    if (offsets !== undefined && offsets.length > 0) await this.ensureOffsetsTable();
    else if (rows.length === 0) return failures;
    const attempt = async (guarded: boolean): Promise<RecordFailure[]> => {
      const out = [...failures];
      const all = guarded ? null : this.allAtOnce(rows, offsets);
      if (all !== null) {
        // The whole transaction at once (MySQL: one request after BEGIN). A refused statement rolled it back: it
        // is written again with savepoints, statement by statement, which finds and reports what was refused.
        try {
          await this.driver.writeAll!(all);
        } catch (err) {
          throw err instanceof StatementError ? new RefusedStatement(err.error) : err;
        }
        return out;
      }
      await this.driver.transaction(async (tx) => {
        const toWrite = offsets !== undefined && offsets.length > 0 ? await this.notYetStored(tx, rows) : rows;
        for (const chunk of this.chunks(toWrite)) await this.writeChunk(tx, chunk, out, guarded);
        if (offsets !== undefined && offsets.length > 0) await this.storeOffsets(tx, offsets);
      });
      return out;
    };
    try {
      return await this.keepingStored(offsets, async () => {
        // Statements without savepoints first (what a plain batched loader sends); a refused one rolls the
        // transaction back, and it is written again with them, isolating the bad rows.
        if (this.guardedWrites === 0) {
          try {
            return await attempt(false);
          } catch (err) {
            if (!(err instanceof RefusedStatement)) throw err;
            this.guardedWrites = GUARDED_AFTER_REFUSAL;
          }
        } else {
          this.guardedWrites--;
        }
        return await attempt(true);
      });
    } catch (err) {
      throw this.wrap(err, 'write');
    }
  }

  /**
   * The unguarded transaction as a list of statements, for a driver that takes them at once (writeAll): the
   * inserts, then (exactly-once) the offsets. Null when the driver cannot, or when the stored offsets must first be
   * read inside the transaction (this sink's last committed write did not leave them known: see notYetStored).
   */
  private allAtOnce(rows: PreparedRow[], offsets: TopicPartitionOffset[] | undefined): Array<{ sql: string; params: unknown[] }> | null {
    if (this.driver.writeAll === undefined) return null;
    let toWrite = rows;
    if (offsets !== undefined && offsets.length > 0) {
      const known = this.storedNext === null ? null : pastStored(rows, this.storedNext, true);
      if (known === null) return null;
      toWrite = known;
    }
    const statements: Array<{ sql: string; params: unknown[] }> = [];
    for (const chunk of this.chunks(toWrite)) statements.push({ sql: this.insertSql(chunk[0].columns, chunk.length), params: flatValues(chunk) });
    if (offsets !== undefined) statements.push(...this.offsetStatements(offsets));
    return statements;
  }

  async storedOffsets(pipeline: string, partitions: Array<{ topic: string; partition: number }>): Promise<TopicPartitionOffset[]> {
    // Partitions assigned (again): another member may have written them meanwhile, so the next write reads.
    this.storedNext = null;
    await this.ensureOffsetsTable();
    let rows: Array<{ topic: string; partition: number | string | bigint; next_offset: number | string | bigint }>;
    try {
      rows = await this.driver.transaction((tx) => tx.query(this.dialect.selectOffsets(), [pipeline]));
    } catch (err) {
      throw this.wrap(err, 'read stored offsets');
    }
    const wanted = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    return rows
      .map((r) => ({ topic: String(r.topic), partition: Number(r.partition), offset: Number(r.next_offset) }))
      .filter((o) => wanted.has(`${o.topic}\u0000${o.partition}`));
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  // ---------------------------------------------------------------- internals

  private wrap(err: unknown, what: string): Error {
    if (err instanceof SinkError) return err;
    const e = asError(err);
    return new SinkError(`${what} on table '${this.options.table}': ${e.message}`, { retriable: isRetriable(err), cause: err });
  }

  private async loadTable(): Promise<void> {
    let cols: Array<{ name: string; type: string }> | null;
    try {
      cols = await this.driver.describeTable(this.options.table);
    } catch (err) {
      throw this.wrap(err, 'describe');
    }
    if (cols === null) return;
    this.tableColumns = new Set(cols.map((c) => c.name));
    // Row shapes map fields to these columns: worked out again against the table as it is now.
    this.shapes.clear();
    this.lastShape = null;
    this.columnsLower = new Map(cols.map((c) => [c.name.toLowerCase(), c.name]));
  }

  private async ensureOffsetsTable(): Promise<void> {
    if (this.offsetsTableReady) return;
    try {
      await this.driver.transaction((tx) => tx.execute(this.dialect.createOffsetsTable(), []));
    } catch (err) {
      throw this.wrap(err, `create ${OFFSETS_TABLE} for`);
    }
    this.offsetsTableReady = true;
  }

  /**
   * CREATE TABLE IF NOT EXISTS from the first records: the mapped columns (or every field seen), types from
   * the values (the kind most values have: integer, real, boolean or text; all-null → text), the key columns as
   * primary key in upsert mode.
   */
  private async createTable(objects: Array<Record<string, unknown>>): Promise<void> {
    // table column → the record field it is filled from
    const fieldOf = new Map<string, string>();
    const mapping = this.options.columns;
    if (mapping) {
      for (const [col, field] of Object.entries(mapping)) fieldOf.set(col, field);
    } else {
      for (const fields of objects) for (const field of Object.keys(fields)) fieldOf.set(field, field);
    }
    for (const k of this.keys) if (!fieldOf.has(k)) fieldOf.set(k, k);
    const columns = [...fieldOf].map(([name, field]) => ({ name, kind: dominantKind(objects.map((o) => o[field])) ?? ('text' as const) }));
    const sql = this.dialect.createTable(this.options.table, columns, this.upsert ? this.keys : null);
    try {
      await this.driver.transaction((tx) => tx.execute(sql, []));
    } catch (err) {
      throw this.wrap(err, 'create');
    }
    // Another process may have created it first, with other columns: what the database says counts.
    await this.loadTable();
    if (this.tableColumns === null) throw new SinkError(`table '${this.options.table}' is still missing after CREATE TABLE`, { retriable: false });
  }

  private column(name: string): string | undefined {
    if (this.tableColumns === null) return undefined;
    if (this.tableColumns.has(name)) return name;
    return this.columnsLower.get(name.toLowerCase());
  }

  /**
   * Fields → columns: with a mapping, `column ← field` for each mapped field present; without one, every field
   * that names a table column (others are ignored). Absent fields are left out, so column defaults apply.
   * Which fields go to which columns depends only on the record's field names (and, with a mapping, on which
   * mapped fields are present), so it is worked out once per shape and reused: a topic's records mostly share one.
   */
  private toRow(record: SinkRecord, fields: Record<string, unknown>): PreparedRow | Error {
    const shape = this.shapeOf(fields);
    const n = shape.fields.length;
    const columns = shape.columns;
    const values: Value[] = new Array(n);
    let present = 0;
    for (let i = 0; i < n; i++) {
      const v = fields[shape.fields[i]];
      if (v !== undefined) present++;
      values[i] = toValue(v);
    }
    let row: { columns: string[]; values: Value[] } = { columns, values };
    // A field present with `undefined` cannot come from JSON, but a decoder could hand one over: left out as before.
    if (present < n) {
      const cols: string[] = [];
      const vals: Value[] = [];
      for (let i = 0; i < n; i++) {
        if (fields[shape.fields[i]] === undefined) continue;
        cols.push(columns[i]);
        vals.push(values[i]);
      }
      row = { columns: cols, values: vals };
    }
    let key: string | null = null;
    if (this.upsert) {
      const parts: string[] = [];
      for (const k of this.keys) {
        const col = this.column(k);
        const i = col === undefined ? -1 : row.columns.indexOf(col);
        if (i < 0 || row.values[i] === null) return new SinkError(`upsert needs key column '${k}', and the record has no value for it`, { retriable: false });
        parts.push(JSON.stringify(row.values[i]));
      }
      key = parts.join('\u0000');
    }
    if (row.columns.length === 0) return new SinkError(`no field of the record matches a column of table '${this.options.table}'`, { retriable: false });
    return { record, columns: row.columns, values: row.values, key };
  }

  /** The last shape used, checked first; others by their field names joined. */
  private lastShape: RowShape | null = null;
  private readonly shapes = new Map<string, RowShape>();

  private shapeOf(fields: Record<string, unknown>): RowShape {
    const names = Object.keys(fields);
    const last = this.lastShape;
    if (last !== null && sameNames(last.names, names)) return last;
    const id = names.join('\u0000');
    let shape = this.shapes.get(id);
    if (shape === undefined) {
      shape = this.buildShape(names, fields);
      // Bounded: records with ever-new field sets (sparse JSON) must not grow it without end.
      if (this.shapes.size >= 256) this.shapes.clear();
      this.shapes.set(id, shape);
    }
    this.lastShape = shape;
    return shape;
  }

  private buildShape(names: string[], fields: Record<string, unknown>): RowShape {
    const columns: string[] = [];
    const from: string[] = [];
    const mapping = this.options.columns;
    const seen = new Set<string>();
    const add = (col: string | undefined, field: string): void => {
      if (col === undefined || seen.has(col) || !(field in fields)) return;
      seen.add(col);
      columns.push(col);
      from.push(field);
    };
    if (mapping) {
      for (const [col, field] of Object.entries(mapping)) add(this.column(col), field);
      for (const k of this.keys) if (!(k in mapping)) add(this.column(k), k);
    } else {
      for (const field of names) add(this.column(field), field);
    }
    return { names, columns, fields: from };
  }

  /**
   * Rows → statements, in record order: a new statement when the column set changes, when it would pass
   * batchSize rows or the dialect's parameter cap, or (upsert) when a key repeats (PostgreSQL refuses to
   * update one row twice in a statement, and order must decide which value wins).
   */
  private *chunks(rows: PreparedRow[]): Generator<PreparedRow[]> {
    let chunk: PreparedRow[] = [];
    let signature = '';
    /** The columns array the signature is of: rows of one shape share it, so most rows skip the join. */
    let signatureOf: string[] | null = null;
    let maxRows = 1;
    let keys = new Set<string>();
    for (const row of rows) {
      let same = row.columns === signatureOf;
      if (!same) {
        const sig = row.columns.join('\u0000');
        same = sig === signature;
        signature = sig;
        signatureOf = row.columns;
        maxRows = Math.max(1, Math.min(this.options.batchSize, Math.floor(this.dialect.maxParams / row.columns.length)));
      }
      if (chunk.length > 0 && (!same || chunk.length >= maxRows || (row.key !== null && keys.has(row.key)))) {
        yield chunk;
        chunk = [];
        keys = new Set();
      }
      chunk.push(row);
      if (row.key !== null) keys.add(row.key);
    }
    if (chunk.length > 0) yield chunk;
  }

  /** Statement texts by column set and row count: a 500-row INSERT's placeholders are built once, not per batch. */
  private readonly insertTexts = new Map<string, string>();

  private insertSql(columns: string[], rows: number): string {
    const id = `${rows}\u0000${columns.join('\u0000')}`;
    let sql = this.insertTexts.get(id);
    if (sql === undefined) {
      sql = this.dialect.insert(this.options.table, columns, rows, this.upsert ? this.keys.map((k) => this.column(k) ?? k) : null);
      if (this.insertTexts.size >= 64) this.insertTexts.clear();
      this.insertTexts.set(id, sql);
    }
    return sql;
  }

  /** Runs fn under a savepoint: a failure rolls back only what fn did, and the transaction goes on. */
  private async savepointed(tx: SqlExecutor, fn: () => Promise<unknown>): Promise<void> {
    await tx.execute(this.dialect.savepoint, []);
    try {
      await fn();
    } catch (err) {
      if (isRetriable(err)) throw err;
      await tx.execute(this.dialect.rollbackToSavepoint, []);
      await tx.execute(this.dialect.releaseSavepoint, []);
      throw err;
    }
    await tx.execute(this.dialect.releaseSavepoint, []);
  }

  /**
   * One multi-row INSERT. `guarded`: under a savepoint, a refused statement retried row by row (failures collected);
   * otherwise a refusal throws RefusedStatement, for the caller to write the transaction again guarded.
   */
  private async writeChunk(tx: SqlExecutor, chunk: PreparedRow[], failures: RecordFailure[], guarded = true): Promise<void> {
    const columns = chunk[0].columns;
    const insert = (): Promise<unknown> => tx.execute(this.insertSql(columns, chunk.length), flatValues(chunk));
    if (!guarded) {
      try {
        await insert();
        return;
      } catch (err) {
        if (isRetriable(err)) throw err;
        throw new RefusedStatement(asError(err));
      }
    }
    try {
      await this.savepointed(tx, insert);
      return;
    } catch (err) {
      if (isRetriable(err)) throw err;
      if (chunk.length === 1) {
        failures.push({ record: chunk[0].record, error: asError(err) });
        return;
      }
    }
    // Some row of the statement was refused: find which, writing the others.
    const single = this.insertSql(columns, 1);
    for (const row of chunk) {
      try {
        await this.savepointed(tx, () => tx.execute(single, row.values));
      } catch (err) {
        if (isRetriable(err)) throw err;
        failures.push({ record: row.record, error: asError(err) });
      }
    }
  }

  /**
   * Exactly-once: the rows at or past the offsets this pipeline has stored. A COMMIT whose reply was lost (the
   * connection broke after the database committed) surfaces as a retriable error, and the runtime then writes the
   * same batch again: reading the stored offsets inside the new transaction drops what the first one wrote.
   * Refused records are still reported, since the dead-letter produce happens only after a write resolves.
   */
  private async notYetStored<R extends { record: SinkRecord }>(tx: SqlExecutor, rows: R[]): Promise<R[]> {
    // What this sink's own last committed write stored is still what the table holds, unless a write failed since
    // (its COMMIT may have gone through) or partitions were assigned again (storedOffsets): then read it.
    const known = this.storedNext === null ? null : pastStored(rows, this.storedNext, true);
    if (known !== null) return known;
    const stored = await tx.query<{ topic: string; partition: number | string | bigint; next_offset: number | string | bigint }>(this.dialect.selectOffsets(), [this.pipeline]);
    const next = new Map(stored.map((r) => [`${String(r.topic)}\u0000${Number(r.partition)}`, Number(r.next_offset)]));
    this.readNext = next;
    return pastStored(rows, next, false)!;
  }

  /**
   * Runs a write; once it resolved (committed), remembers the offsets it stored (exactly-once), so the next write's
   * notYetStored needs no SELECT; forgets them when it failed.
   */
  private async keepingStored<T>(offsets: TopicPartitionOffset[] | undefined, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      if (offsets !== undefined && offsets.length > 0) {
        const next = this.readNext ?? this.storedNext ?? new Map<string, number>();
        for (const o of offsets) next.set(`${o.topic}\u0000${o.partition}`, o.offset);
        this.storedNext = next;
      }
      return result;
    } catch (err) {
      this.storedNext = null;
      throw err;
    } finally {
      this.readNext = null;
    }
  }

  // ---------------------------------------------------------------- CDC mode

  /**
   * Change events in Debezium's envelope: c/u/r upsert `after`, d deletes the row of `before` (or of the record
   * key), tombstones are skipped. Within a batch only the last change of each key counts (each carries the
   * whole row), so the batch is one DELETE per chunk of deleted keys and multi-row upserts for the rest, in one
   * transaction — with the offsets in it in exactly-once mode.
   */
  private async writeChanges(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> {
    const failures: RecordFailure[] = [];
    const changes: Array<{ record: SinkRecord; op: 'upsert' | 'delete'; fields: Record<string, unknown> }> = [];
    for (const record of records) {
      if (record.value === null) continue; // a tombstone: the delete before it did the work
      const envelope = parseRecordValue(record);
      if (envelope instanceof Error) {
        failures.push({ record, error: envelope });
        continue;
      }
      if (this.keys.length === 0) this.keys = keyFields(record);
      const op = envelope.op;
      const image = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
      if (op === 'c' || op === 'u' || op === 'r') {
        const after = image(envelope.after);
        if (after === null) failures.push({ record, error: new SinkError(`change event op '${op}' has no 'after' row`, { retriable: false }) });
        else changes.push({ record, op: 'upsert', fields: after });
      } else if (op === 'd') {
        const before = image(envelope.before) ?? keyObject(record);
        if (before === null) failures.push({ record, error: new SinkError("delete event has neither a 'before' row nor a key", { retriable: false }) });
        else changes.push({ record, op: 'delete', fields: before });
      } else {
        failures.push({ record, error: new SinkError(`not a change event (Debezium envelope with op c/u/d/r): op is ${JSON.stringify(op)}`, { retriable: false }) });
      }
    }
    if (this.keys.length === 0 && changes.length > 0) {
      for (const c of changes) failures.push({ record: c.record, error: new SinkError('a CDC sink needs the rows\' key columns: set keyColumns, or capture a table with a primary key', { retriable: false }) });
      return failures;
    }
    const upserts = changes.filter((c) => c.op === 'upsert');
    if (this.tableColumns === null && upserts.length > 0) await this.createTable(upserts.map((c) => c.fields));
    if (this.tableColumns === null && (offsets === undefined || offsets.length === 0)) return failures; // only deletes, no table: nothing to delete
    const prepared: Array<{ record: SinkRecord; key: string; row: PreparedRow | null; keyValues: Value[] }> = [];
    for (const c of changes) {
      const keyValues = this.keys.map((k) => toValue(c.fields[k] ?? c.fields[this.column(k) ?? k]));
      if (keyValues.some((v) => v === null)) {
        failures.push({ record: c.record, error: new SinkError(`the change has no value for key column(s) ${this.keys.join(', ')}`, { retriable: false }) });
        continue;
      }
      const key = keyValues.map((v) => JSON.stringify(typeof v === 'bigint' ? v.toString() : v)).join('\u0000');
      if (c.op === 'delete') {
        prepared.push({ record: c.record, key, row: null, keyValues });
        continue;
      }
      const row = this.toRow(c.record, c.fields);
      if (row instanceof Error) failures.push({ record: c.record, error: row });
      else prepared.push({ record: c.record, key, row, keyValues });
    }
    if (offsets !== undefined && offsets.length > 0) await this.ensureOffsetsTable();
    else if (prepared.length === 0) return failures;
    try {
      await this.keepingStored(offsets, () => this.driver.transaction(async (tx) => {
        const todo = offsets !== undefined && offsets.length > 0 ? await this.notYetStored(tx, prepared) : prepared;
        // The last change of each key wins.
        const last = new Map<string, (typeof prepared)[number]>();
        for (const c of todo) {
          last.delete(c.key);
          last.set(c.key, c);
        }
        const deletes = [...last.values()].filter((c) => c.row === null);
        const rows = [...last.values()].flatMap((c) => (c.row === null ? [] : [c.row]));
        if (deletes.length > 0 && this.tableColumns !== null) {
          const keyCols = this.keys.map((k) => this.column(k) ?? k);
          const perStatement = Math.max(1, Math.min(this.options.batchSize, Math.floor(this.dialect.maxParams / keyCols.length)));
          for (let i = 0; i < deletes.length; i += perStatement) {
            const part = deletes.slice(i, i + perStatement);
            try {
              await this.savepointed(tx, () => tx.execute(this.dialect.deleteByKeys(this.options.table, keyCols, part.length), part.flatMap((d) => d.keyValues)));
            } catch (err) {
              if (isRetriable(err)) throw err;
              for (const d of part) failures.push({ record: d.record, error: asError(err) });
            }
          }
        }
        for (const chunk of this.chunks(rows)) await this.writeChunk(tx, chunk, failures);
        if (offsets !== undefined && offsets.length > 0) await this.storeOffsets(tx, offsets);
      }));
    } catch (err) {
      throw this.wrap(err, 'write');
    }
    return failures;
  }

  private async storeOffsets(tx: SqlExecutor, offsets: TopicPartitionOffset[]): Promise<void> {
    for (const st of this.offsetStatements(offsets)) await tx.execute(st.sql, st.params);
  }

  /** The upserts of the next offsets into the offsets table (one statement unless the parameter cap splits it). */
  private offsetStatements(offsets: TopicPartitionOffset[]): Array<{ sql: string; params: unknown[] }> {
    const perStatement = Math.floor(this.dialect.maxParams / 4);
    const out: Array<{ sql: string; params: unknown[] }> = [];
    for (let i = 0; i < offsets.length; i += perStatement) {
      const part = offsets.slice(i, i + perStatement);
      out.push({ sql: this.dialect.upsertOffsets(part.length), params: part.flatMap((o) => [this.pipeline, o.topic, o.partition, o.offset]) });
    }
    return out;
  }
}
