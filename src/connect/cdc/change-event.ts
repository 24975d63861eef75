/**
 * Change data capture: the one shape every CDC source (MySQL/MariaDB binlog, PostgreSQL pgoutput) emits, and how
 * it becomes a Kafka record in Debezium's envelope.
 *
 * A source yields ChangeEvents in commit order; the runtime turns each into a record on the topic
 * `<prefix>.<db>.<table>` (PostgreSQL: `<prefix>.<schema>.<table>`, as Debezium names them), keyed by the row's
 * primary key, and after a delete a tombstone (same key, null value) so that a compacted topic forgets the row.
 *
 *   key    {"id": 42}                                  the primary-key columns, in key order
 *   value  {"before": {...} | null, "after": {...} | null,
 *           "source": {"version", "connector", "name", "ts_ms", "snapshot", "db", "table", ...connector fields},
 *           "op": "c" | "u" | "d" | "r", "ts_ms": <when the connector handled it>,
 *           "transaction": null | {"id", "total_order", "data_collection_order"}}
 *
 * (JSON without embedded schemas: Kafka Connect's JsonConverter with schemas.enable=false, Debezium's common
 * setting; Avro/JSON Schema through the schema registry are the other value formats.)
 */

/** Debezium's op codes: create (insert), update, delete, read (a snapshot row). */
export type CdcOp = 'c' | 'u' | 'd' | 'r';

/** A column value as it goes into the JSON envelope. */
export type CdcValue = string | number | boolean | null | CdcValue[] | { [k: string]: CdcValue };

export type CdcRow = Record<string, CdcValue>;

/** A column's type as the registry formats see it (the JSON value's kind: DECIMAL, dates and bytes are strings). */
export type CdcColumnType = 'long' | 'double' | 'boolean' | 'string';

/** A column of the table as the source knows it (for the Avro/JSON Schema value schemas). */
export interface CdcColumn {
  name: string;
  type: CdcColumnType;
  optional: boolean;
}

/** Where a source stands once an event is stored: what it needs to resume right after it (GTID set/binlog file+pos, LSN). */
export type CdcOffset = Record<string, string | number | boolean>;

export interface ChangeEvent {
  op: CdcOp;
  /** MySQL: the database; PostgreSQL: the schema (Debezium's topic naming). */
  db: string;
  table: string;
  /** Row image before the change (u, d; null for c and r, or when the source does not log it). */
  before: CdcRow | null;
  /** Row image after the change (c, u, r; null for d). */
  after: CdcRow | null;
  /** The primary-key columns in key order; empty for a table without one (then the key is null). */
  keyColumns: readonly string[];
  /** When the change was committed at the source (ms since epoch; the snapshot's time for r). */
  sourceTsMs: number;
  /** 'true' for snapshot rows, 'last' for the last snapshot row, 'false' when streaming (Debezium's values). */
  snapshot: 'true' | 'last' | 'false';
  /** Connector-specific source fields (MySQL: server_id, file, pos, row, gtid; PostgreSQL: lsn, txId, xmin). */
  sourceFields: Record<string, CdcValue>;
  /** The source transaction's id, when known (for the optional transaction block). */
  transactionId?: string;
  /** The table's columns with their types, when the source knows them (else the registry formats infer them from the values). */
  columns?: readonly CdcColumn[];
  /** The position to resume after this event; stored as the source's offset once the broker acknowledged the event. */
  offset: CdcOffset;
}

export interface EnvelopeOptions {
  /** topic.prefix: the logical server name, first part of every topic and source.name. */
  prefix: string;
  /** 'mysql' | 'postgresql' (source.connector). */
  connector: string;
  /** Write `transaction` blocks (Debezium's provide.transaction.metadata). */
  transactions?: boolean;
  /** Emit a tombstone after each delete (Debezium's tombstones.on.delete, default true). */
  tombstones?: boolean;
  /** Clock for ts_ms (tests). */
  now?: () => number;
}

/** The version string put in source.version. */
export const CDC_SOURCE_VERSION = 'tributary-0.1.0';

export interface CdcRecord {
  topic: string;
  /** JSON of the key columns, or null for a table without a primary key. */
  key: string | null;
  /** The envelope, or null for a tombstone. */
  value: Record<string, CdcValue> | null;
  timestamp: number;
}

/** `<prefix>.<db>.<table>`. */
export function cdcTopic(prefix: string, db: string, table: string): string {
  return `${prefix}.${db}.${table}`;
}

/** The record key of a row: its primary-key columns as a JSON object (null without a primary key). */
export function cdcKey(event: Pick<ChangeEvent, 'keyColumns' | 'before' | 'after'>): string | null {
  if (event.keyColumns.length === 0) return null;
  const row = event.after ?? event.before;
  if (!row) return null;
  const key: CdcRow = {};
  for (const c of event.keyColumns) key[c] = row[c] ?? null;
  return JSON.stringify(key);
}

/**
 * The records for one change: the envelope, and after a delete (when tombstones are on and the row has a key) a
 * tombstone. An update that changed the primary key is, as in Debezium, a delete of the old key (+ tombstone)
 * followed by a create of the new one.
 */
export function toCdcRecords(event: ChangeEvent, options: EnvelopeOptions, txOrder?: { total: number; table: number }): CdcRecord[] {
  const topic = cdcTopic(options.prefix, event.db, event.table);
  const now = options.now ?? Date.now;
  const tombstones = options.tombstones ?? true;
  if (event.op === 'u' && event.before && event.after && event.keyColumns.length > 0) {
    const oldKey = cdcKey({ keyColumns: event.keyColumns, before: event.before, after: null });
    const newKey = cdcKey({ keyColumns: event.keyColumns, before: null, after: event.after });
    if (oldKey !== newKey) {
      return [
        ...toCdcRecords({ ...event, op: 'd', after: null }, options, txOrder),
        ...toCdcRecords({ ...event, op: 'c', before: null }, options, txOrder),
      ];
    }
  }
  const key = cdcKey(event);
  const source: Record<string, CdcValue> = {
    version: CDC_SOURCE_VERSION,
    connector: options.connector,
    name: options.prefix,
    ts_ms: event.sourceTsMs,
    snapshot: event.snapshot,
    db: event.db,
    table: event.table,
    ...event.sourceFields,
  };
  const value: Record<string, CdcValue> = {
    before: event.before,
    after: event.after,
    source,
    op: event.op,
    ts_ms: now(),
    transaction:
      options.transactions && event.transactionId !== undefined
        ? { id: event.transactionId, total_order: txOrder?.total ?? 0, data_collection_order: txOrder?.table ?? 0 }
        : null,
  };
  const out: CdcRecord[] = [{ topic, key, value, timestamp: event.sourceTsMs }];
  if (event.op === 'd' && tombstones && key !== null) out.push({ topic, key, value: null, timestamp: event.sourceTsMs });
  return out;
}

/**
 * A capture source (MySQL binlog, PostgreSQL pgoutput). The connect runtime wraps it into a SourceConnector that
 * produces toCdcRecords() of each event and stores each event's offset in connect-offsets once the broker
 * acknowledged it (exactly-once: in the same transaction).
 */
export interface CdcSource {
  /** 'mysql' | 'postgresql' (source.connector in the envelope). */
  readonly connector: string;
  /**
   * The change events in commit order, starting right after `offset` (the last stored one), or with a consistent
   * snapshot of the captured tables (op 'r') followed by the changes after it when `offset` is null. Ends only
   * when stop() is called or on an error.
   */
  events(offset: CdcOffset | null): AsyncIterable<ChangeEvent>;
  /**
   * Everything up to and including the event with this offset is stored (acknowledged by the broker, committed
   * under exactly-once): the source may let the database forget it (PostgreSQL: confirm the LSN to the slot).
   */
  acknowledge(offset: CdcOffset): void;
  stop(): Promise<void>;
}
