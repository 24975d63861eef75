/**
 * Change data capture from MySQL and MariaDB: a CdcSource reading the row-format binary log as a replica does
 * (COM_BINLOG_DUMP / its GTID form, through @vlasky/zongji), after a consistent snapshot of the captured tables.
 *
 * Snapshot (when no offset is stored, Debezium's snapshot.mode=initial):
 *   MariaDB  START TRANSACTION WITH CONSISTENT SNAPSHOT; the status variables Binlog_snapshot_file/_position are
 *            the binlog position of exactly that snapshot (no lock needed), BINLOG_GTID_POS() turns it into the
 *            GTID position; the tables are read in that transaction as 'r' events.
 *   MySQL    FLUSH TABLES WITH READ LOCK; START TRANSACTION WITH CONSISTENT SNAPSHOT; SHOW MASTER STATUS (file,
 *            position, Executed_Gtid_Set); UNLOCK TABLES, then the tables are read (Debezium's global-lock way).
 * Streaming then starts at that position: the GTID position (MariaDB always; MySQL with gtid_mode=ON) or the
 * binlog file+position.
 *
 * Offset (stored in connect-offsets after each event; see connector.ts): where the event's transaction starts
 * and how many of its captured rows are done —
 *   {gtids: <GTID set/position before the transaction>, file, pos: <start of the transaction>,
 *    gtid: <the transaction's GTID>, skip: <rows of it emitted up to and including this one>}
 * A restart streams from `gtids` (or file+pos), so the server sends that transaction again, and skips its first
 * `skip` captured rows: it resumes exactly after the stored event, even inside a transaction (Debezium stores
 * `event`/`row` counts for the same reason). Snapshot rows carry `snapshot: true` until the last one, so a run
 * killed mid-snapshot snapshots again.
 *
 * DDL: zongji re-reads a table's columns when its table map changes (a new table id or column count, which
 * ALTER TABLE brings), so later events carry the new columns; with binlog_row_metadata=FULL (MariaDB 10.5+,
 * MySQL 8) the names come from the binlog itself. The primary-key columns are re-read after each DDL statement.
 *
 * Values as JSON: integers as numbers (BIGINT beyond 2^53 as a decimal string), DECIMAL as a string (exact),
 * FLOAT to its 7 significant digits, DATE 'YYYY-MM-DD', DATETIME 'YYYY-MM-DDTHH:MM:SS[.ffffff]' (no zone, as
 * stored), TIMESTAMP the same in UTC with 'Z', TIME 'HH:MM:SS', binary strings/BLOB/BIT base64, JSON columns as
 * their JSON text (Debezium's io.debezium.data.Json), ENUM/SET as their text.
 */
import mysql, { type Connection as PromiseConnection, type FieldPacket, type RowDataPacket } from 'mysql2/promise';
import type ZongJiType from '@vlasky/zongji';
import type { AnyBinlogEvent, TableMapEntry } from '@vlasky/zongji';
import { TributaryError } from '../../errors.js';
import type { MysqlCdcSourceConfig } from '../types.js';
import type { CdcColumn, CdcColumnType, CdcOffset, CdcRow, CdcSource, CdcValue, ChangeEvent } from './change-event.js';

/** Pause the binlog connection when this many changes wait to be produced; resume below LOW_WATER. */
const HIGH_WATER = 10_000;
const LOW_WATER = 2_000;

// MySQL column type codes (the protocol's and the binlog's).
const T = { FLOAT: 4, TIMESTAMP: 7, DATETIME: 12, TIMESTAMP2: 17, DATETIME2: 18, JSON: 245 } as const;

export class CdcSetupError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super('ERR_CDC_SETUP', message, { cause });
  }
}

/** Reconnect backoff: from RETRY_MIN_MS doubling to RETRY_MAX_MS, without end (a replica keeps trying too). */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

const LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN', 'ECONNABORTED']);

/** Whether an error (or its cause) is a lost or refused connection, rather than a bad setting or a decoding error. */
function connectionLost(err: unknown): boolean {
  for (let e = err as { code?: unknown; errno?: unknown; cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && LOST.has(e.code)) return true;
    // 1053 server shutdown, 1927 connection killed, 2013 lost connection during query (client-side numbers)
    if (e.errno === 1053 || e.errno === 1927 || e.errno === 2013) return true;
  }
  return false;
}

/** A column value (from mysql2 or zongji, both with dateStrings and supportBigNumbers) as JSON. */
export function mysqlValue(v: unknown, type: number | undefined): CdcValue {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'string') {
    if (type === T.DATETIME || type === T.DATETIME2) return v.replace(' ', 'T');
    if (type === T.TIMESTAMP || type === T.TIMESTAMP2) return `${v.replace(' ', 'T')}Z`;
    return v;
  }
  if (typeof v === 'number') return type === T.FLOAT && Number.isFinite(v) ? Number(v.toPrecision(7)) : v;
  if (typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  // A JSON column decoded to a value (MySQL): its JSON text, as Debezium's Json type.
  return JSON.stringify(v);
}

/** Column types whose JSON value is always of one kind (others — BIGINT, BIT, GEOMETRY — are inferred from the values). */
const COLUMN_KIND: Record<number, CdcColumnType> = {
  1: 'long', 2: 'long', 3: 'long', 9: 'long', 13: 'long', // TINY, SHORT, LONG, INT24, YEAR
  4: 'double', 5: 'double', // FLOAT, DOUBLE
  0: 'string', 246: 'string', 7: 'string', 10: 'string', 11: 'string', 12: 'string', 14: 'string', 15: 'string', 17: 'string', 18: 'string', 19: 'string',
  245: 'string', 247: 'string', 248: 'string', 249: 'string', 250: 'string', 251: 'string', 252: 'string', 253: 'string', 254: 'string',
};

/** The table's columns with the types the registry formats use (ChangeEvent.columns), in table order. */
export function mysqlColumns(types: Map<string, number>): CdcColumn[] {
  return [...types].flatMap(([name, t]) => (COLUMN_KIND[t] === undefined ? [] : [{ name, type: COLUMN_KIND[t], optional: true }]));
}

function row(values: Record<string, unknown>, types: Map<string, number>): CdcRow {
  const out: CdcRow = {};
  for (const [name, v] of Object.entries(values)) out[name] = mysqlValue(v, types.get(name));
  return out;
}

/** mysql://user:password@host:port/db → mysql2 options. */
export function mysqlOptions(url: string): mysql.ConnectionOptions {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  return {
    host: u.hostname === '' ? '127.0.0.1' : u.hostname,
    port: u.port === '' ? 3306 : Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    // Values as the binlog decoder gives them: exact strings for dates, numbers (or strings) for big integers.
    dateStrings: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    // JSON columns as their text (MariaDB's JSON is LONGTEXT: the binlog carries the text as written).
    jsonStrings: true,
    connectTimeout: 10_000,
  };
}

const quote = (id: string): string => `\`${id.replace(/`/g, '``')}\``;

/** A change waiting in the queue, or a DDL statement (re-read the keys) in its place in the stream. */
type Item = { kind: 'change'; event: Omit<ChangeEvent, 'keyColumns'> } | { kind: 'ddl' };

interface StartPosition {
  gtids: string;
  file: string;
  pos: number;
}

export class MysqlCdcSource implements CdcSource {
  readonly connector = 'mysql';
  private control: PromiseConnection | null = null;
  private zongji: ZongJiType | null = null;
  private stopped = false;
  private queue: Item[] = [];
  private head = 0;
  private paused = false;
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly keys = new Map<string, string[]>();
  private mariadb = false;
  private readonly tables: Array<{ db: string; table: string }>;

  constructor(
    readonly pipeline: string,
    private readonly config: MysqlCdcSourceConfig,
    /** One-line notes for the user (a setting worth changing). */
    private readonly log: (message: string) => void = () => {},
  ) {
    this.tables = config.tables.map((t) => {
      const [db, table] = t.split('.');
      return { db, table };
    });
  }

  async *events(offset: CdcOffset | null): AsyncIterable<ChangeEvent> {
    const control = await this.connect();
    await this.checkServer(control);
    let start: StartPosition;
    let skip: { gtid: string | undefined; rows: number } | null = null;
    if (offset !== null && offset.snapshot !== true) {
      start = { gtids: String(offset.gtids ?? ''), file: String(offset.file), pos: Number(offset.pos) };
      skip = { gtid: typeof offset.gtid === 'string' ? offset.gtid : undefined, rows: Number(offset.skip ?? 0) };
    } else if (this.config.snapshot === 'initial') {
      const snap = await this.openSnapshot();
      start = snap.position;
      yield* this.readSnapshot(snap.connection, start);
      if (this.stopped) return;
    } else {
      start = await this.currentPosition(control);
    }
    // Streaming; a lost connection (server restart, network) is retried with backoff from the last event handed
    // over, as a replica reconnects, so the pipeline rides out a database restart.
    let backoff = RETRY_MIN_MS;
    while (true) {
      try {
        for await (const e of this.stream(start, skip)) {
          start = { gtids: String(e.offset.gtids ?? ''), file: String(e.offset.file), pos: Number(e.offset.pos) };
          skip = { gtid: typeof e.offset.gtid === 'string' ? e.offset.gtid : undefined, rows: Number(e.offset.skip ?? 0) };
          backoff = RETRY_MIN_MS;
          yield e;
        }
        return;
      } catch (err) {
        if (this.stopped || !connectionLost(err)) throw err;
        this.log(`lost the connection to ${redact(this.config.url)} (${(err as Error).message}); reconnecting in ${backoff} ms`);
        await this.closeConnections();
        while (!this.stopped) {
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, RETRY_MAX_MS);
          try {
            await this.checkServer(await this.connect());
            break;
          } catch (retryErr) {
            if (!connectionLost(retryErr)) throw retryErr;
            this.log(`${redact(this.config.url)} still unreachable (${(retryErr as Error).message}); retrying in ${backoff} ms`);
          }
        }
        if (this.stopped) return;
        this.log(`reconnected to ${redact(this.config.url)}; resuming at ${start.gtids === '' ? `${start.file}:${start.pos}` : start.gtids}`);
      }
    }
  }

  acknowledge(_offset: CdcOffset): void {
    // The binlog needs no confirmation: the server keeps it for binlog_expire_logs_seconds / expire_logs_days.
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeUp();
    await this.closeConnections();
  }

  private async closeConnections(): Promise<void> {
    const z = this.zongji;
    this.zongji = null;
    if (z !== null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        z.once('stopped', () => {
          clearTimeout(t);
          resolve();
        });
        z.stop();
      });
    }
    const c = this.control;
    this.control = null;
    if (c !== null) {
      // end() waits for the server's answer, which a dead server never gives.
      const ended = await Promise.race([c.end().then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
      if (!ended) c.destroy();
    }
  }

  // ---------------------------------------------------------------- set-up

  private async connect(): Promise<PromiseConnection> {
    let c: PromiseConnection;
    try {
      c = await mysql.createConnection(mysqlOptions(this.config.url));
    } catch (err) {
      throw new CdcSetupError(`cannot connect to ${redact(this.config.url)}: ${(err as Error).message}`, err);
    }
    this.control = c;
    // Errors of a connection already replaced (after a reconnect) are old news.
    c.on('error', (err: Error) => {
      if (this.control === c) this.fail(err);
    });
    await c.query("SET SESSION time_zone = '+00:00'");
    return c;
  }

  /** The binlog settings and grants change capture needs, each with what to change when missing. */
  private async checkServer(c: PromiseConnection): Promise<void> {
    const [[v]] = await c.query<RowDataPacket[]>('SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, @@server_id AS serverId, VERSION() AS version');
    this.mariadb = /mariadb/i.test(String(v.version));
    const [metadata] = await c.query<RowDataPacket[]>("SHOW GLOBAL VARIABLES LIKE 'binlog_row_metadata'");
    if (metadata.length > 0 && String(metadata[0].Value).toUpperCase() !== 'FULL') {
      this.log(
        `binlog_row_metadata is ${metadata[0].Value}: column names are read from the live table, so an ALTER TABLE made while the source is behind stops it at the first older change; SET GLOBAL binlog_row_metadata=FULL (and in my.cnf) to have the binlog carry them`,
      );
    }
    const problems: string[] = [];
    if (Number(v.logBin) !== 1) problems.push('the binary log is off: start the server with log-bin (e.g. log-bin=mysql-bin in my.cnf)');
    if (String(v.format).toUpperCase() !== 'ROW') problems.push(`binlog_format is ${v.format}: set binlog_format=ROW (SET GLOBAL binlog_format=ROW, and in my.cnf)`);
    if (String(v.image).toUpperCase() !== 'FULL') problems.push(`binlog_row_image is ${v.image}: set binlog_row_image=FULL, so updates and deletes log the whole row`);
    if (Number(v.serverId) === 0) problems.push('server_id is 0: give the server a server-id (e.g. server-id=1 in my.cnf)');
    if (Number(v.serverId) === this.config.serverId) problems.push(`the server's server_id is ${v.serverId}, the same as this source's serverId: set source.serverId to another number`);
    const [grantRows] = await c.query<RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
    const lines = grantRows.map((r) => String(Object.values(r)[0]));
    // Privileges that come through roles are not in these lines: then the server is left to say what is missing.
    const viaRoles = lines.some((g) => !/ ON /i.test(g) && /^GRANT /i.test(g));
    const grants = lines.filter((g) => / ON \*\.\* /i.test(g)).join('\n').toUpperCase();
    const all = viaRoles || grants.includes('ALL PRIVILEGES');
    const missing: string[] = [];
    if (!all && !/REPLICATION (SLAVE|REPLICA)\b/.test(grants)) missing.push('REPLICATION SLAVE');
    if (!all && !/REPLICATION CLIENT|BINLOG MONITOR|SUPER/.test(grants)) missing.push('REPLICATION CLIENT');
    if (!this.mariadb && !all && !/\bRELOAD\b/.test(grants) && this.config.snapshot === 'initial') missing.push('RELOAD');
    if (missing.length > 0) {
      const [[who]] = await c.query<RowDataPacket[]>('SELECT CURRENT_USER() AS user');
      const [user, host] = String(who.user).split('@');
      problems.push(`the user lacks ${missing.join(', ')}: GRANT ${missing.join(', ')}, SELECT ON *.* TO '${user}'@'${host}'`);
    }
    if (problems.length > 0) throw new CdcSetupError(`${redact(this.config.url)} cannot be captured: ${problems.join('; ')}`);
  }

  /** Where the binlog stands now (snapshot: never). */
  private async currentPosition(c: PromiseConnection): Promise<StartPosition> {
    const [[status]] = await c.query<RowDataPacket[]>('SHOW MASTER STATUS');
    if (status === undefined) throw new CdcSetupError('SHOW MASTER STATUS returned nothing: is the binary log on?');
    let gtids = '';
    if (this.mariadb) {
      const [[g]] = await c.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtids', [status.File, status.Position]);
      gtids = String(g.gtids ?? '');
    } else if (await this.mysqlGtidMode(c)) gtids = String(status.Executed_Gtid_Set ?? '').replace(/\s+/g, '');
    return { gtids, file: String(status.File), pos: Number(status.Position) };
  }

  private async mysqlGtidMode(c: PromiseConnection): Promise<boolean> {
    const [[m]] = await c.query<RowDataPacket[]>('SELECT @@gtid_mode AS mode');
    return String(m.mode).toUpperCase() === 'ON';
  }

  // ---------------------------------------------------------------- snapshot

  private async openSnapshot(): Promise<{ connection: PromiseConnection; position: StartPosition }> {
    const c = await mysql.createConnection(mysqlOptions(this.config.url));
    try {
      await c.query("SET SESSION time_zone = '+00:00'");
      await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      if (this.mariadb) {
        await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
        const [status] = await c.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
        const get = (name: string): string => String(status.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value ?? '');
        const file = get('binlog_snapshot_file');
        const pos = Number(get('binlog_snapshot_position'));
        const [[g]] = await c.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtids', [file, pos]);
        return { connection: c, position: { gtids: String(g.gtids ?? ''), file, pos } };
      }
      await c.query('FLUSH TABLES WITH READ LOCK');
      try {
        await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
        const [[status]] = await c.query<RowDataPacket[]>('SHOW MASTER STATUS');
        const gtids = (await this.mysqlGtidMode(c)) ? String(status.Executed_Gtid_Set ?? '').replace(/\s+/g, '') : '';
        return { connection: c, position: { gtids, file: String(status.File), pos: Number(status.Position) } };
      } finally {
        await c.query('UNLOCK TABLES');
      }
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
  }

  /** Every row of the captured tables as 'r' events, in the snapshot's transaction; the last one is marked. */
  private async *readSnapshot(c: PromiseConnection, at: StartPosition): AsyncIterable<ChangeEvent> {
    const ts = Date.now();
    const base: CdcOffset = { gtids: at.gtids, file: at.file, pos: at.pos, skip: 0 };
    let pending: ChangeEvent | null = null;
    try {
      for (const { db, table } of this.tables) {
        const keyColumns = await this.keyColumns(db, table);
        const [, fields] = await c.query<RowDataPacket[]>(`SELECT * FROM ${quote(db)}.${quote(table)} LIMIT 0`);
        const types = new Map((fields as FieldPacket[]).map((f) => [f.name, Number((f as { columnType?: number }).columnType ?? f.type)]));
        const columns = mysqlColumns(types);
        const core = (c as unknown as { connection: { query(sql: string): { stream(o: { highWaterMark: number }): NodeJS.ReadableStream & { destroy(): void } } } }).connection;
        const rows = core.query(`SELECT * FROM ${quote(db)}.${quote(table)}`).stream({ highWaterMark: 256 });
        try {
          for await (const r of rows as AsyncIterable<Record<string, unknown>>) {
            if (this.stopped) return;
            if (pending !== null) yield pending;
            pending = {
              op: 'r',
              db,
              table,
              before: null,
              after: row(r, types),
              columns,
              keyColumns,
              sourceTsMs: ts,
              snapshot: 'true',
              sourceFields: { server_id: 0, file: at.file, pos: at.pos, row: 0, gtid: null },
              offset: { ...base, snapshot: true },
            };
          }
        } finally {
          rows.destroy();
        }
      }
      await c.query('COMMIT');
      if (pending !== null) yield { ...pending, snapshot: 'last', offset: base };
    } finally {
      await c.end().catch(() => {});
    }
  }

  private async keyColumns(db: string, table: string): Promise<string[]> {
    const k = `${db}.${table}`;
    const cached = this.keys.get(k);
    if (cached !== undefined) return cached;
    const [rows] = await this.control!.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS name FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
      [db, table],
    );
    const keys = rows.map((r) => String(r.name));
    this.keys.set(k, keys);
    return keys;
  }

  // ---------------------------------------------------------------- streaming

  private fail(err: Error): void {
    this.failure ??= err;
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private push(item: Item): void {
    this.queue.push(item);
    if (!this.paused && this.queue.length - this.head >= HIGH_WATER) {
      this.paused = true;
      (this.zongji as unknown as { connection?: { pause(): void } } | null)?.connection?.pause();
    }
    this.wakeUp();
  }

  private async *stream(start: StartPosition, resume: { gtid: string | undefined; rows: number } | null): AsyncIterable<ChangeEvent> {
    const { default: ZongJi } = (await import('@vlasky/zongji')) as unknown as { default: typeof ZongJiType };
    if (this.stopped) return;
    this.failure = null;
    this.queue = [];
    this.head = 0;
    this.paused = false;
    const zongji = new ZongJi(mysqlOptions(this.config.url));
    this.zongji = zongji;
    const includeSchema: Record<string, string[]> = {};
    for (const { db, table } of this.tables) (includeSchema[db] ??= []).push(table);

    // Per transaction: its GTID, and the captured rows seen so far (the `skip` of each event's offset).
    let txGtid: string | undefined;
    let txRows = 0;
    let serverId = 0;
    // Resuming: skip the rows of the stored transaction up to the stored event (by its GTID, else the first one replayed).
    let skipping = resume !== null && resume.rows > 0 ? resume : null;
    const endTx = (): void => {
      txGtid = undefined;
      txRows = 0;
      if (skipping !== null && skipping.gtid === undefined) skipping = null;
    };
    zongji.on('error', (err: Error) => {
      if (this.zongji === zongji) this.fail(err);
    });
    zongji.on('binlog', (event: AnyBinlogEvent) => {
      if (this.stopped) return;
      const name = event.getEventName();
      switch (name) {
        case 'mariadbgtid':
        case 'gtid':
        case 'anonymousgtid': {
          txGtid = (event as { gtid?: string }).gtid;
          txRows = 0;
          if (name === 'mariadbgtid') serverId = (event as { serverId: number }).serverId;
          // Another transaction than the stored one: nothing (more) to skip.
          if (skipping !== null && skipping.gtid !== undefined && txGtid !== skipping.gtid) skipping = null;
          return;
        }
        case 'xid':
          endTx();
          return;
        case 'query': {
          const q = (event as { query: string }).query.trim().toUpperCase();
          if (q === 'COMMIT' || q === 'ROLLBACK') endTx(); else if (q !== 'BEGIN' && !q.startsWith('SAVEPOINT') && !q.startsWith('XA ')) this.push({ kind: 'ddl' });
          return;
        }
        case 'writerows':
        case 'updaterows':
        case 'deleterows': {
          const ev = event as unknown as { tableId: number; tableMap: Record<number, TableMapEntry>; rows: unknown[]; timestamp: number };
          const map = ev.tableMap[ev.tableId];
          if (map === undefined) return;
          const types = new Map((map.columns ?? []).map((c) => [c.name, c.type]));
          const columns = mysqlColumns(types);
          const file = zongji.options.filename ?? start.file;
          const pos = zongji.options.position ?? start.pos;
          const gtids = zongji.gtidSet ?? start.gtids;
          for (let i = 0; i < ev.rows.length; i++) {
            txRows++;
            if (skipping !== null && (skipping.gtid === undefined || skipping.gtid === txGtid)) {
              if (txRows <= skipping.rows) continue;
              skipping = null;
            }
            const r = ev.rows[i] as Record<string, unknown> & { before?: Record<string, unknown>; after?: Record<string, unknown> };
            const op = name === 'writerows' ? 'c' : name === 'updaterows' ? 'u' : 'd';
            const before = op === 'c' ? null : row(op === 'u' ? r.before! : r, types);
            const after = op === 'd' ? null : row(op === 'u' ? r.after! : r, types);
            const offset: CdcOffset = { gtids, file, pos, skip: txRows };
            if (txGtid !== undefined) offset.gtid = txGtid;
            this.push({
              kind: 'change',
              event: {
                op,
                db: map.parentSchema,
                table: map.tableName,
                before,
                after,
                columns,
                sourceTsMs: ev.timestamp,
                snapshot: 'false',
                sourceFields: { server_id: serverId, file, pos, row: i, gtid: txGtid ?? null },
                transactionId: txGtid,
                offset,
              },
            });
          }
          return;
        }
        default:
          return;
      }
    });
    const opts: Record<string, unknown> = {
      serverId: this.config.serverId,
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'gtid', 'anonymousgtid', 'mariadbgtid'],
      includeSchema,
    };
    if (start.gtids !== '') opts.gtidSet = start.gtids;
    else {
      opts.filename = start.file;
      opts.position = start.pos;
    }
    zongji.start(opts);

    while (true) {
      // Stopping closes the connections: an error after stop() is that, not a failure.
      if (this.stopped) return;
      const failure = this.failure as Error | null;
      if (failure !== null) throw new TributaryError('ERR_CDC_STREAM', `binlog stream of ${redact(this.config.url)}: ${failure.message}`, { cause: failure });
      if (this.head >= this.queue.length) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const item = this.queue[this.head];
      this.queue[this.head++] = undefined as unknown as Item;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.paused && this.queue.length - this.head <= LOW_WATER) {
        this.paused = false;
        (zongji as unknown as { connection?: { resume(): void } }).connection?.resume();
      }
      if (item.kind === 'ddl') {
        this.keys.clear();
        continue;
      }
      const e = item.event;
      yield { ...e, keyColumns: await this.keyColumns(e.db, e.table) };
    }
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
