/**
 * Change data capture from PostgreSQL: logical replication with the built-in `pgoutput` plugin (PostgreSQL ≥ 10,
 * nothing to install on the server), decoded by pg-logical-replication.
 *
 * Setup (every start): wal_level must be `logical` and the user needs the REPLICATION attribute (or superuser);
 * the publication (default `tributary_publication`) is created FOR TABLE the chosen tables when missing, or used as
 * it is when it exists; the captured tables are the publication's.
 *
 * Snapshot (no stored offset): the replication slot is created with EXPORT_SNAPSHOT, the tables are read in a
 * REPEATABLE READ transaction that adopts that snapshot (SET TRANSACTION SNAPSHOT), so the rows read ('r' events)
 * are exactly the state at the slot's consistent point, and streaming starts from that point: no change is missed
 * or doubled. When the slot already exists (a snapshot interrupted before its last row was stored, or a slot made
 * by hand) its exported snapshot is gone: the tables are read in a fresh REPEATABLE READ transaction and streaming
 * starts at the slot's confirmed_flush_lsn, so changes between the two may come twice (at least once, never lost).
 *
 * Streaming: each Insert/Update/Delete becomes a ChangeEvent; Begin gives the commit LSN, commit time and xid;
 * Relation messages (sent before a table's first change and again after ALTER TABLE) carry the columns, so schema
 * changes show in the next events; Truncate is skipped with a note. Before images: with REPLICA IDENTITY DEFAULT a
 * delete carries the primary key only and an update no before image (unless the key changed: then the old key);
 * REPLICA IDENTITY FULL gives whole before rows.
 *
 * Offsets: {lsn: commit LSN of the event's transaction, event: its index in the transaction}; a snapshot row's is
 * {lsn: consistent point, event: -1, snapshot: true}, the last snapshot row's drops `snapshot`. events(offset)
 * starts replication at offset.lsn and skips the events of that transaction up to offset.event, so a restart in the
 * middle of a transaction neither loses nor repeats. acknowledge(offset) is the only thing that confirms an LSN to
 * the slot (standby status update): the commit LSN itself while the transaction is partly stored (the server then
 * sends it again on restart), its end LSN once its last event is stored. Received-but-unacknowledged changes thus
 * stay in the slot.
 */
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { CdcColumn, CdcColumnType, CdcOffset, CdcRow, CdcSource, CdcValue, ChangeEvent } from './change-event.js';

export interface PostgresCdcOptions {
  /** postgres://user:password@host:port/database (the user needs REPLICATION, or superuser). */
  url: string;
  /** Tables to capture, `schema.table` or `table` (schema public); used to create the publication when missing. */
  tables?: readonly string[];
  /** Publication name (created FOR TABLE `tables` when missing, used as it is when it exists). */
  publication?: string;
  /** Logical replication slot name (created when missing). */
  slot?: string;
  /** 'initial' (default): the tables' rows first when there is no stored offset; 'never': changes only. */
  snapshot?: 'initial' | 'never';
  /** Rows fetched per round trip during the snapshot. */
  snapshotFetchSize?: number;
  /** Events buffered ahead of the reader before the replication stream is paused. */
  maxQueuedEvents?: number;
  /** How often the confirmed LSN is sent to the server even without new acknowledgements (ms). */
  statusIntervalMs?: number;
  /** One-line notes for the user (snapshot progress, skipped truncates). */
  log?: (message: string) => void;
}

export const DEFAULT_PUBLICATION = 'tributary_publication';
export const DEFAULT_SLOT = 'tributary_slot';

// ---------------------------------------------------------------------------------------------------------------
// LSNs: "X/Y" (two hex 32-bit halves) ⇄ bigint

export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Column values: PostgreSQL's text output → JSON

/** Type OIDs of pg_type (stable across versions). */
const OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, oid: 26, json: 114, float4: 700, float8: 701,
  date: 1082, timestamp: 1114, timestamptz: 1184, interval: 1186, numeric: 1700, jsonb: 3802,
} as const;

/** int8 as a number when it is exactly representable, else its decimal string. */
function int8(text: string): CdcValue {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

function float(text: string): CdcValue {
  const n = Number(text);
  return Number.isFinite(n) ? n : text; // NaN, Infinity, -Infinity stay strings (JSON has no such numbers)
}

/** '2024-05-06 07:08:09.123456' → '2024-05-06T07:08:09.123456' ('infinity' and BC dates unchanged). */
function timestamp(text: string): string {
  return /^\d{4,}-\d\d-\d\d \d/.test(text) && !text.endsWith(' BC') ? text.replace(' ', 'T') : text;
}

/** With TimeZone=UTC the server writes '… 07:08:09.123+00': → '…T07:08:09.123Z'. */
function timestamptz(text: string): string {
  const t = timestamp(text);
  return t.endsWith('+00') ? `${t.slice(0, -3)}Z` : t;
}

/** JSON-safe form of what pg's own parsers return (arrays of dates, buffers, bigints). */
function normalize(value: unknown): CdcValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'bigint') return int8(value.toString());
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value as CdcValue;
}

/** Array type OID → element type OID, for the arrays whose elements get the same mapping as a column of that type. */
const ARRAY_ELEMENT: Record<number, number> = {
  1000: OID.bool, 1001: OID.bytea, 1005: OID.int2, 1007: OID.int4, 1016: OID.int8, 1021: OID.float4, 1022: OID.float8,
  1231: OID.numeric, 199: OID.json, 3807: OID.jsonb, 1115: OID.timestamp, 1185: OID.timestamptz, 1182: OID.date, 1187: OID.interval,
};

/** pg's text[] parser: any array's text form → nested arrays of element texts (NULL → null). */
const TEXT_ARRAY: number = 1009;
const parseTextArray = pg.types.getTypeParser(TEXT_ARRAY, 'text') as (text: string) => unknown;

function arrayValue(elementOid: number, text: string): CdcValue {
  const walk = (v: unknown): CdcValue => (Array.isArray(v) ? v.map(walk) : v === null ? null : columnValue(elementOid, v as string));
  return walk(parseTextArray(text));
}

/** Types whose JSON value (columnValue) is always of one kind; int8 and floats (a string beyond 2^53, NaN) and the rest are inferred from the values. */
const COLUMN_KIND: Record<number, CdcColumnType> = {
  [OID.bool]: 'boolean', [OID.int2]: 'long', [OID.int4]: 'long', [OID.oid]: 'long',
  [OID.numeric]: 'string', [OID.json]: 'string', [OID.jsonb]: 'string', [OID.bytea]: 'string', [OID.date]: 'string', [OID.timestamp]: 'string',
  [OID.timestamptz]: 'string', [OID.interval]: 'string', 25: 'string', 1042: 'string', 1043: 'string', 1083: 'string', 2950: 'string', // text, bpchar, varchar, time, uuid
};

const RELATION_COLUMNS = new WeakMap<object, CdcColumn[]>();

/** The table's columns with the types the registry formats use (ChangeEvent.columns), in table order; once per Relation message. */
export function pgColumns(columns: ReadonlyArray<{ name: string; typeOid: number }>): CdcColumn[] {
  let got = RELATION_COLUMNS.get(columns);
  if (got === undefined) RELATION_COLUMNS.set(columns, (got = kinds(columns)));
  return got;
}

function kinds(columns: ReadonlyArray<{ name: string; typeOid: number }>): CdcColumn[] {
  return columns.flatMap((c) => (COLUMN_KIND[c.typeOid] === undefined ? [] : [{ name: c.name, type: COLUMN_KIND[c.typeOid], optional: true }]));
}

/** The JSON value of a column from its text form; unknown types (enums, geometry, intervals…) stay text. */
export function columnValue(typeOid: number, text: string): CdcValue {
  switch (typeOid) {
    case OID.bool: return text === 't';
    case OID.int2: case OID.int4: case OID.oid: return Number(text);
    case OID.int8: return int8(text);
    case OID.float4: case OID.float8: return float(text);
    // numeric: its decimal string, always (as the MySQL source's DECIMAL): one JSON type per column, no precision lost.
    case OID.numeric: return text;
    case OID.bytea: return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : text;
    // JSON text, as Debezium's io.debezium.data.Json and the MySQL source's JSON columns.
    case OID.json: case OID.jsonb: return text;
    case OID.timestamp: return timestamp(text);
    case OID.timestamptz: return timestamptz(text);
    case OID.date: case OID.interval: return text;
    default: {
      const element = ARRAY_ELEMENT[typeOid];
      if (element !== undefined) return arrayValue(element, text);
      // Other arrays and built-ins pg knows (its parser returns the text itself for the rest).
      const parse = pg.types.getTypeParser(typeOid, 'text') as (t: string) => unknown;
      return normalize(parse(text));
    }
  }
}

const valueTypes = {
  getTypeParser: (oid: number, format?: string) =>
    format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : (text: string) => columnValue(oid, text),
};

/** Session settings that make the text of values predictable (UTC timestamps, ISO dates, exact floats). */
const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c IntervalStyle=iso_8601';

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function qualified(table: string): { schema: string; table: string } {
  const dot = table.indexOf('.');
  return dot < 0 ? { schema: 'public', table } : { schema: table.slice(0, dot), table: table.slice(dot + 1) };
}

// ---------------------------------------------------------------------------------------------------------------
// The bounded queue between the replication stream and the events() reader

type Item = { event: ChangeEvent } | { error: Error } | { end: true };

class EventQueue {
  private items: Item[] = [];
  private reader: (() => void) | null = null;
  private writers: (() => void)[] = [];
  constructor(private readonly max: number) {}

  /** Resolves once there is room (backpressure to the replication stream). */
  async push(item: Item): Promise<void> {
    this.items.push(item);
    this.wakeReader();
    while (this.items.length > this.max && !('end' in item)) await new Promise<void>((r) => this.writers.push(r));
  }

  /** Error or end: jumps the backpressure. */
  finish(item: Item): void {
    this.items.push(item);
    this.wakeReader();
    for (const w of this.writers.splice(0)) w();
  }

  get size(): number {
    return this.items.length;
  }

  async next(): Promise<Item> {
    while (this.items.length === 0) await new Promise<void>((r) => (this.reader = r));
    const item = this.items.shift()!;
    if (this.items.length <= this.max) for (const w of this.writers.splice(0)) w();
    return item;
  }

  private wakeReader(): void {
    const r = this.reader;
    this.reader = null;
    r?.();
  }
}

/** pgoutput's decoder, with our text → JSON mapping put on each Relation's columns as soon as it is decoded. */
class JsonPgoutputPlugin extends PgoutputPlugin {
  /** Messages decoded so far (on receipt, before the flow-controlled handler sees them). */
  parsed = 0;
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer) as Pgoutput.Message;
    this.parsed++;
    if (message.tag === 'relation') {
      for (const column of message.columns) {
        const oid = column.typeOid;
        column.parser = (text: string) => columnValue(oid, text);
      }
    }
    return message;
  }
}

interface TableInfo {
  schema: string;
  table: string;
  keyColumns: string[];
}

interface OpenTransaction {
  lsn: bigint;
  lsnText: string;
  xid: number;
  tsMs: number;
  events: number;
}

// ---------------------------------------------------------------------------------------------------------------

export class PostgresCdcSource implements CdcSource {
  readonly connector = 'postgresql';
  private readonly publication: string;
  private readonly slot: string;
  private readonly log: (message: string) => void;
  private service: LogicalReplicationService | null = null;
  private meta: pg.Client | null = null;
  /** Every connection open for the snapshot, ended by stop() even while the reader sits at a yield. */
  private readonly clients = new Set<pg.Client>();
  private stopped = false;
  private queue: EventQueue | null = null;
  /** The LSN the slot has been told is flushed (never goes back), and the one acknowledgements asked for. */
  private confirmed = 0n;
  private wanted = 0n;
  private statusTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Committed transactions seen: commit LSN → end LSN and event count (to confirm the end once all are stored). */
  private readonly committed = new Map<bigint, { end: bigint; events: number }>();
  /** The last acknowledged event (its transaction's commit LSN and index). */
  private lastAck: { lsn: bigint; event: number } | null = null;
  /** Truncates skipped. */
  truncatesSkipped = 0;

  constructor(private readonly options: PostgresCdcOptions) {
    this.publication = options.publication ?? DEFAULT_PUBLICATION;
    this.slot = options.slot ?? DEFAULT_SLOT;
    this.log = options.log ?? (() => {});
  }

  async *events(offset: CdcOffset | null): AsyncIterable<ChangeEvent> {
    if (this.stopped) return;
    this.confirmed = this.wanted = 0n;
    this.lastAck = null;
    this.committed.clear();
    const meta = new pg.Client({ connectionString: this.options.url, options: SESSION_OPTIONS, types: valueTypes });
    this.meta = meta;
    try {
      await meta.connect();
      const database = await this.checkServer(meta);
      await this.ensurePublication(meta);
      const tables = await this.publishedTables(meta);
      const keys = new Map(tables.map((t) => [`${t.schema}.${t.table}`, t.keyColumns]));
      const existing = await this.slotState(meta, database);

      let startLsn: bigint;
      let resume: { lsn: bigint; event: number } | null = null;
      if (offset && typeof offset.lsn === 'string' && !offset.snapshot) {
        if (!existing) {
          throw new Error(
            `replication slot "${this.slot}" does not exist, so the changes after the stored offset (LSN ${offset.lsn}) are gone; ` +
              'delete the stored offsets to start again with a snapshot',
          );
        }
        resume = { lsn: parseLsn(offset.lsn), event: typeof offset.event === 'number' ? offset.event : -1 };
        startLsn = resume.lsn;
        this.log(`resuming from LSN ${offset.lsn} (event ${resume.event} of that transaction stored)`);
      } else if (this.options.snapshot === 'never') {
        startLsn = existing ? existing.confirmed : (await this.createSlot(false)).point;
        this.log(`no snapshot (snapshot: never): streaming from ${formatLsn(startLsn)}`);
      } else {
        if (offset?.snapshot) this.log('the snapshot was interrupted before its last row was stored: reading the tables again');
        startLsn = yield* this.snapshot(database, tables, existing);
      }
      if (this.stopped) return;
      this.confirmed = existing && existing.confirmed > startLsn ? existing.confirmed : startLsn;
      this.wanted = this.confirmed;
      this.lastAck = resume;
      yield* this.stream(database, keys, startLsn, resume);
    } catch (error) {
      // stop() closed the connections under a query: that is the end asked for, not a failure.
      if (!this.stopped) throw error;
    } finally {
      await this.close();
    }
  }

  acknowledge(offset: CdcOffset): void {
    if (offset.snapshot || typeof offset.lsn !== 'string') return;
    const lsn = parseLsn(offset.lsn);
    const event = typeof offset.event === 'number' ? offset.event : -1;
    const done = this.committed.get(lsn);
    // Whole transaction stored: past its end. Partly: its commit LSN, which the server sends again on restart.
    const target = done && event >= done.events - 1 ? done.end : lsn;
    for (const key of this.committed.keys()) if (key < lsn || (key === lsn && target !== lsn)) this.committed.delete(key);
    this.lastAck = { lsn, event };
    this.want(target);
  }

  private want(target: bigint): void {
    if (target <= this.wanted) return;
    this.wanted = target;
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      this.sendStatus();
    }, 20);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue?.finish({ end: true });
    await this.close();
  }

  // -------------------------------------------------------------------------------------------------------------

  private async checkServer(meta: pg.Client): Promise<string> {
    const walLevel = (await meta.query<{ wal_level: string }>('SHOW wal_level')).rows[0]!.wal_level;
    if (walLevel !== 'logical') {
      throw new Error(
        `PostgreSQL's wal_level is '${walLevel}'; change data capture needs 'logical': ` +
          "run ALTER SYSTEM SET wal_level = logical (or set it in postgresql.conf) and restart PostgreSQL",
      );
    }
    const role = (
      await meta.query<{ user: string; rolreplication: boolean; rolsuper: boolean; database: string }>(
        'SELECT current_user AS user, rolreplication, rolsuper, current_database() AS database FROM pg_roles WHERE rolname = current_user',
      )
    ).rows[0]!;
    if (!role.rolreplication && !role.rolsuper) {
      throw new Error(
        `the PostgreSQL user ${role.user} lacks the REPLICATION attribute that logical replication needs: ` +
          `run ALTER ROLE ${quoteIdent(role.user)} REPLICATION as a superuser`,
      );
    }
    return role.database;
  }

  private async ensurePublication(meta: pg.Client): Promise<void> {
    const found = await meta.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [this.publication]);
    if (found.rowCount) return;
    const tables = this.options.tables ?? [];
    if (tables.length === 0) {
      throw new Error(`publication "${this.publication}" does not exist: name the tables to capture so it can be created`);
    }
    const list = tables.map((t) => {
      const q = qualified(t);
      return `${quoteIdent(q.schema)}.${quoteIdent(q.table)}`;
    });
    await meta.query(`CREATE PUBLICATION ${quoteIdent(this.publication)} FOR TABLE ${list.join(', ')}`);
    this.log(`created publication ${this.publication} for ${tables.join(', ')}`);
  }

  private async publishedTables(meta: pg.Client): Promise<TableInfo[]> {
    const { rows } = await meta.query<{ schemaname: string; tablename: string; oid: number }>(
      `SELECT p.schemaname, p.tablename, c.oid::int AS oid FROM pg_publication_tables p
         JOIN pg_namespace n ON n.nspname = p.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
        WHERE p.pubname = $1 ORDER BY p.schemaname, p.tablename`,
      [this.publication],
    );
    const out: TableInfo[] = [];
    for (const r of rows) out.push({ schema: r.schemaname, table: r.tablename, keyColumns: await this.primaryKey(meta, r.oid) });
    return out;
  }

  private async primaryKey(meta: pg.Client, relationOid: number): Promise<string[]> {
    const { rows } = await meta.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [relationOid],
    );
    return rows.map((r) => r.attname);
  }

  private async slotState(meta: pg.Client, database: string): Promise<{ confirmed: bigint } | null> {
    const { rows } = await meta.query<{ plugin: string | null; database: string | null; confirmed: string | null; active_pid: number | null }>(
      'SELECT plugin, database, confirmed_flush_lsn::text AS confirmed, active_pid FROM pg_replication_slots WHERE slot_name = $1',
      [this.slot],
    );
    const slot = rows[0];
    if (!slot) return null;
    if (slot.plugin !== 'pgoutput' || slot.database !== database) {
      throw new Error(`replication slot "${this.slot}" exists but is not a pgoutput slot of database ${database}; choose another slot name`);
    }
    if (slot.active_pid !== null) throw new Error(`replication slot "${this.slot}" is in use by server process ${slot.active_pid}`);
    return { confirmed: slot.confirmed ? parseLsn(slot.confirmed) : 0n };
  }

  private replicationClient(): pg.Client {
    return new pg.Client({ connectionString: this.options.url, replication: 'database', options: SESSION_OPTIONS } as pg.ClientConfig);
  }

  /**
   * CREATE_REPLICATION_SLOT on a replication connection; with `exportSnapshot` the connection is returned open (the
   * exported snapshot lives only as long as it stays idle), else closed.
   */
  private async createSlot(exportSnapshot: boolean): Promise<{ client: pg.Client | null; point: bigint; snapshotName: string | null }> {
    const client = this.replicationClient();
    this.clients.add(client);
    try {
      await client.connect();
    } catch (error) {
      throw new Error(
        `cannot open a replication connection (pg_hba.conf needs a "host replication <user> <address> <method>" line): ${(error as Error).message}`,
        { cause: error },
      );
    }
    const created = await client.query<{ consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(this.slot)} LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`,
    );
    const point = parseLsn(created.rows[0]!.consistent_point);
    this.log(`created replication slot ${this.slot} at ${formatLsn(point)}`);
    if (exportSnapshot) return { client, point, snapshotName: created.rows[0]!.snapshot_name };
    this.clients.delete(client);
    await client.end();
    return { client: null, point, snapshotName: null };
  }

  /**
   * Creates the slot (exporting its snapshot) unless it exists, reads every table as 'r' events in that snapshot,
   * and returns the LSN streaming starts from.
   */
  private async *snapshot(database: string, tables: TableInfo[], existing: { confirmed: bigint } | null): AsyncGenerator<ChangeEvent, bigint> {
    let exporter: pg.Client | null = null;
    let startLsn: bigint;
    let snapshotName: string | null = null;
    try {
      if (existing) {
        startLsn = existing.confirmed;
        this.log(`replication slot ${this.slot} exists: snapshot without its export, streaming from ${formatLsn(startLsn)} (changes in between may come twice)`);
      } else {
        const created = await this.createSlot(true);
        exporter = created.client;
        startLsn = created.point;
        snapshotName = created.snapshotName;
      }

      const reader = new pg.Client({ connectionString: this.options.url, options: SESSION_OPTIONS, types: valueTypes });
      this.clients.add(reader);
      await reader.connect();
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        if (snapshotName) await reader.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
        // The snapshot is adopted: the exporting connection may go (it must stay idle until here).
        await exporter?.end();
        exporter = null;
        const tsMs = Date.now();
        const lsnNumber = Number(startLsn);
        const offset: CdcOffset = { lsn: formatLsn(startLsn), event: -1, snapshot: true };
        let held: ChangeEvent | null = null;
        const fetchSize = this.options.snapshotFetchSize ?? 1000;
        for (const t of tables) {
          let rows = 0;
          let columns: CdcColumn[] | undefined;
          await reader.query(`DECLARE tributary_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${quoteIdent(t.schema)}.${quoteIdent(t.table)}`);
          for (;;) {
            const batch = await reader.query<CdcRow>(`FETCH ${fetchSize} FROM tributary_snapshot`);
            columns ??= pgColumns(batch.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID })));
            for (const row of batch.rows) {
              if (held) yield held;
              if (this.stopped) return startLsn;
              held = {
                op: 'r', db: t.schema, table: t.table, before: null, after: { ...row }, columns, keyColumns: t.keyColumns,
                sourceTsMs: tsMs, snapshot: 'true',
                sourceFields: { db: database, schema: t.schema, lsn: lsnNumber, txId: null, xmin: null },
                offset,
              };
              rows++;
            }
            if (batch.rows.length < fetchSize) break;
          }
          await reader.query('CLOSE tributary_snapshot');
          this.log(`snapshot of ${t.schema}.${t.table}: ${rows} rows`);
        }
        await reader.query('COMMIT');
        if (held) yield { ...held, snapshot: 'last', offset: { lsn: formatLsn(startLsn), event: -1 } };
      } finally {
        await reader.end().catch(() => {});
      }
      return startLsn;
    } finally {
      await exporter?.end().catch(() => {});
    }
  }

  private async *stream(
    database: string,
    keys: Map<string, string[]>,
    startLsn: bigint,
    resume: { lsn: bigint; event: number } | null,
  ): AsyncGenerator<ChangeEvent> {
    if (this.stopped) return;
    const queue = new EventQueue(this.options.maxQueuedEvents ?? 1000);
    this.queue = queue;
    const service = new LogicalReplicationService(
      { connectionString: this.options.url, options: SESSION_OPTIONS },
      // Never acknowledge on receipt: only acknowledge() moves the slot.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    this.service = service;
    const plugin = new JsonPgoutputPlugin({ protoVersion: 1, publicationNames: [this.publication] });
    const relationKeys = new Map<number, string[]>();
    let tx: OpenTransaction | null = null;

    let handled = 0;
    let lastYielded: { lsn: bigint; event: number } | null = null;
    service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
      // Idle (every message received is handled, every event handed out is stored, no transaction open): the
      // server's position can be confirmed, so that WAL written for other tables is not kept for this slot.
      const ack = this.lastAck;
      const stored = lastYielded === null || (ack !== null && (ack.lsn > lastYielded.lsn || (ack.lsn === lastYielded.lsn && ack.event >= lastYielded.event)));
      if (plugin.parsed === handled && queue.size === 0 && tx === null && stored) this.want(parseLsn(lsn));
      if (shouldRespond) this.sendStatus(true);
    });
    service.on('error', (error: Error) => queue.finish({ error }));
    service.on('data', async (lsn: string, message: Pgoutput.Message) => {
      try {
        await handle(message, lsn);
      } finally {
        handled++;
      }
    });
    /** `lsn`: where the message's WAL record is (XLogData's start), the change's own LSN for Insert/Update/Delete. */
    const handle = async (message: Pgoutput.Message, lsn: string): Promise<void> => {
      switch (message.tag) {
        case 'begin':
          tx = {
            lsn: parseLsn(message.commitLsn!),
            lsnText: message.commitLsn!,
            xid: message.xid,
            tsMs: Number(BigInt(message.commitTime as bigint) / 1000n),
            events: 0,
          };
          return;
        case 'commit':
          if (tx) {
            const end = parseLsn(message.commitEndLsn!);
            // Its last event may be acknowledged already (acknowledge() did not know it was the last).
            if (this.lastAck && this.lastAck.lsn === tx.lsn && this.lastAck.event >= tx.events - 1) this.want(end);
            else this.committed.set(tx.lsn, { end, events: tx.events });
          }
          tx = null;
          return;
        case 'relation': {
          // A table's first change in this session, or its columns changed (ALTER TABLE): look its key up again.
          const pk = await this.primaryKey(this.meta!, message.relationOid).catch(() => null);
          relationKeys.set(
            message.relationOid,
            pk && pk.length > 0 ? pk : message.replicaIdentity === 'index' ? message.keyColumns : keys.get(`${message.schema}.${message.name}`) ?? [],
          );
          return;
        }
        case 'truncate':
          this.truncatesSkipped++;
          this.log(`TRUNCATE of ${message.relations.map((r) => `${r.schema}.${r.name}`).join(', ')} skipped (no per-row events for it)`);
          return;
        case 'insert':
        case 'update':
        case 'delete': {
          if (!tx) return;
          const index = tx.events++;
          if (resume && (tx.lsn < resume.lsn || (tx.lsn === resume.lsn && index <= resume.event))) return;
          const r = message.relation;
          const row = (values: Record<string, unknown> | null): CdcRow | null =>
            values === null ? null : Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as CdcRow;
          const before = message.tag === 'insert' ? null : row(message.old ?? message.key);
          const after = message.tag === 'delete' ? null : row(message.new);
          const event: ChangeEvent = {
            op: message.tag === 'insert' ? 'c' : message.tag === 'update' ? 'u' : 'd',
            db: r.schema,
            table: r.name,
            before,
            after,
            keyColumns: relationKeys.get(r.relationOid) ?? keys.get(`${r.schema}.${r.name}`) ?? [],
            columns: pgColumns(r.columns),
            sourceTsMs: tx.tsMs,
            snapshot: 'false',
            // Debezium's source.lsn is the change's own position; the offset holds the commit LSN.
            sourceFields: { db: database, schema: r.schema, lsn: Number(parseLsn(lsn)), txId: tx.xid, xmin: null },
            transactionId: String(tx.xid),
            offset: { lsn: tx.lsnText, event: index, txId: tx.xid },
          };
          await queue.push({ event });
          return;
        }
        default:
          return;
      }
    };

    this.statusTimer = setInterval(() => this.sendStatus(true), this.options.statusIntervalMs ?? 10_000);
    const subscribed = service.subscribe(plugin, this.slot, formatLsn(startLsn)).then(
      () => queue.finish(this.stopped ? { end: true } : { error: new Error('the replication stream ended') }),
      (error: unknown) => queue.finish(this.stopped ? { end: true } : { error: error as Error }),
    );
    try {
      for (;;) {
        const item = await queue.next();
        if ('end' in item) return;
        if ('error' in item) throw item.error;
        lastYielded = { lsn: parseLsn(item.event.offset.lsn as string), event: item.event.offset.event as number };
        yield item.event;
        if (this.stopped) return;
      }
    } finally {
      await this.close();
      await subscribed;
    }
  }

  /** Standby status update: tells the slot everything below `wanted` is flushed (only what acknowledge() allowed). */
  private sendStatus(always = false): void {
    const service = this.service;
    if (!service || service.isStop()) return;
    if (!always && this.wanted <= this.confirmed) return;
    if (this.wanted <= 0n) return;
    // The library sends lsn + 1 as written/flushed/applied. What counts as confirmed is what this update carried:
    // a later want() while it is on its way still needs its own update.
    const target = this.wanted;
    void service.acknowledge(formatLsn(target - 1n)).then((sent) => {
      if (sent && target > this.confirmed) this.confirmed = target;
    });
  }

  private async close(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    const service = this.service;
    this.service = null;
    if (service) {
      // Whatever was acknowledged goes to the server before the connection closes.
      if (this.wanted > 0n && !service.isStop()) await service.acknowledge(formatLsn(this.wanted - 1n)).catch(() => false);
      await service.destroy().catch(() => {});
    }
    const meta = this.meta;
    this.meta = null;
    await meta?.end().catch(() => {});
    for (const client of [...this.clients]) {
      this.clients.delete(client);
      await client.end().catch(() => {});
    }
  }
}
