/**
 * Change events in Avro or JSON Schema through the schema registry, shaped as Debezium's Avro converter shapes
 * them: per table a value schema, the record `<prefix>.<db>.<table>.Envelope` with `before`/`after` (a nullable
 * `Value` record of the table's columns), `source` (a record), `op`, `ts_ms` and `transaction` (nullable), and a
 * key schema, the record `Key` of the primary-key columns — registered under `<topic>-value` / `<topic>-key`
 * (TopicNameStrategy, auto-register).
 *
 * Column types come from the event's `columns` when the source knows them, else from the JSON values (integer →
 * long, other number → double, boolean, string; objects and arrays as their JSON text), remembered per table: a
 * column seen only as null so far is a string, a long column that meets a fraction becomes double (a promotion the
 * BACKWARD level accepts), and a value of another kind is sent as its text. Column names must be Avro names
 * ([A-Za-z_][A-Za-z0-9_]*) for Avro: another name fails the pipeline with avsc's message (no renaming). Every column is nullable with default
 * null, so a column a DDL adds gives a new schema version that BACKWARD accepts; the derived schema is cached per
 * table and registered again only when the columns change. Tombstones stay null values.
 */
import { SchemaRegistryClient } from '../../registry/client.js';
import { topicNameStrategy } from '../../registry/serdes.js';
import { avroName, avroNamespace, registerWriter, type ValueFormat, type WriterSchema } from '../value-format.js';
import type { CdcColumn, CdcColumnType, CdcRecord, CdcValue, ChangeEvent } from './change-event.js';

type Format = Exclude<ValueFormat, 'json'>;

/** Types of the source block's known fields (both connectors); other fields are inferred like columns. */
const SOURCE_TYPES: Record<string, CdcColumnType> = {
  version: 'string', connector: 'string', name: 'string', ts_ms: 'long', snapshot: 'string', db: 'string', table: 'string',
  server_id: 'long', file: 'string', pos: 'long', row: 'long', gtid: 'string', schema: 'string', lsn: 'long', txId: 'long', xmin: 'long',
};

function kindOf(v: CdcValue | undefined): CdcColumnType | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'long' : 'double';
  return 'string';
}

/** A value as the column's type: the value itself when it fits, else its text (or, for a string column, the JSON text of an object). */
function fit(v: CdcValue | undefined, type: CdcColumnType): CdcValue {
  if (v === null || v === undefined) return null;
  if (type === 'string') return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (type === 'double' && typeof v === 'number') return v;
  if (type === 'long' && typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (type === 'boolean' && typeof v === 'boolean') return v;
  throw new Error(`the value ${JSON.stringify(v)} does not fit the column type ${type}`);
}

/** Columns in order with their types; inference widens remembered types (long → double; a clash → string). */
class ColumnTypes {
  readonly columns = new Map<string, { type: CdcColumnType | undefined; optional: boolean }>();

  /** Takes the event's columns (known types) or learns them from its rows; true when the set or a type changed. */
  learn(declared: readonly CdcColumn[] | undefined, rows: Array<Record<string, CdcValue> | null>): boolean {
    const changed = this.update(declared, rows);
    if (changed) this.cached = null;
    return changed;
  }

  /** The last declared list taken (sources hand the same array for a table until its columns change). */
  private lastDeclared: readonly CdcColumn[] | undefined;

  private update(declared: readonly CdcColumn[] | undefined, rows: Array<Record<string, CdcValue> | null>): boolean {
    let changed = false;
    if (declared !== undefined && declared !== this.lastDeclared) {
      this.lastDeclared = declared;
      const next = new Map<string, { type: CdcColumnType | undefined; optional: boolean }>(declared.map((c) => [c.name, { type: c.type, optional: c.optional }] as const));
      // Columns absent from the declared list are kept (values of an event before the DDL may still come).
      for (const [name, col] of this.columns) if (!next.has(name)) next.set(name, col);
      if (JSON.stringify([...next]) !== JSON.stringify([...this.columns])) {
        this.columns.clear();
        for (const [k, v] of next) this.columns.set(k, v);
        changed = true;
      }
    }
    for (const row of rows) {
      if (row === null) continue;
      for (const [name, v] of Object.entries(row)) {
        const kind = kindOf(v);
        const col = this.columns.get(name);
        if (col === undefined) {
          this.columns.set(name, { type: kind, optional: true });
          changed = true;
        } else if (kind !== undefined && col.type !== kind) {
          if (col.type === undefined) col.type = kind;
          else if (col.type === 'long' && kind === 'double') col.type = 'double';
          else continue; // a clash: sent as the column's type (its text for a string column)
          changed = true;
        }
      }
    }
    return changed;
  }

  private cached: Array<{ name: string; type: CdcColumnType }> | null = null;

  /** The columns with their schema types (cached until learn() changes them). */
  fields(): Array<{ name: string; type: CdcColumnType }> {
    return (this.cached ??= [...this.columns].map(([name, c]) => ({ name, type: c.type ?? 'string' })));
  }

  /** A row as the schema's Value: every known column, fitted to its type. */
  row(row: Record<string, CdcValue> | null): Record<string, CdcValue> | null {
    if (row === null) return null;
    const out: Record<string, CdcValue> = {};
    for (const { name, type } of this.fields()) out[name] = fit(row[name], type);
    return out;
  }
}

const AVRO_TYPE: Record<CdcColumnType, string> = { long: 'long', double: 'double', boolean: 'boolean', string: 'string' };
const JSON_TYPE: Record<CdcColumnType, string> = { long: 'integer', double: 'number', boolean: 'boolean', string: 'string' };

function avroRecord(name: string, fields: Array<{ name: string; type: CdcColumnType }>, nullable = true): object {
  return { type: 'record', name, fields: fields.map((f) => ({ name: f.name, type: nullable ? ['null', AVRO_TYPE[f.type]] : AVRO_TYPE[f.type], ...(nullable ? { default: null } : {}) })) };
}

/**
 * A row as a JSON Schema object. Closed (additionalProperties false): under Confluent's JSON Schema rules a
 * property added to an open content model breaks BACKWARD (an old writer may have put anything there), to a
 * closed one it does not — and the rows sent hold exactly the schema's columns.
 */
function jsonObject(title: string, fields: Array<{ name: string; type: CdcColumnType }>): Record<string, unknown> {
  return { type: 'object', title, properties: Object.fromEntries(fields.map((f) => [f.name, { type: [JSON_TYPE[f.type], 'null'] }])), additionalProperties: false };
}

/** The Debezium-shaped value schema of a table (text), for Avro or JSON Schema. */
export function envelopeSchema(format: Format, topic: string, connector: string, columns: Array<{ name: string; type: CdcColumnType }>, source: Array<{ name: string; type: CdcColumnType }>): string {
  const ns = avroNamespace(topic);
  if (format === 'avro') {
    return JSON.stringify({
      type: 'record', name: 'Envelope', namespace: ns,
      fields: [
        { name: 'before', type: ['null', avroRecord('Value', columns)], default: null },
        { name: 'after', type: ['null', 'Value'], default: null },
        { name: 'source', type: { ...avroRecord('Source', source), namespace: `io.debezium.connector.${avroName(connector)}` } },
        { name: 'op', type: 'string' },
        { name: 'ts_ms', type: ['null', 'long'], default: null },
        {
          name: 'transaction', default: null,
          type: ['null', { type: 'record', name: 'block', namespace: 'event', fields: [{ name: 'id', type: 'string' }, { name: 'total_order', type: 'long' }, { name: 'data_collection_order', type: 'long' }] }],
        },
      ],
    });
  }
  const value = jsonObject(`${topic}.Value`, columns);
  return JSON.stringify({
    type: 'object', title: `${topic}.Envelope`,
    properties: {
      before: { oneOf: [{ type: 'null' }, value] },
      after: { oneOf: [{ type: 'null' }, value] },
      source: jsonObject(`io.debezium.connector.${connector}.Source`, source),
      op: { type: 'string' },
      ts_ms: { type: ['integer', 'null'] },
      transaction: { oneOf: [{ type: 'null' }, { type: 'object', properties: { id: { type: 'string' }, total_order: { type: 'integer' }, data_collection_order: { type: 'integer' } }, required: ['id', 'total_order', 'data_collection_order'] }] },
    },
    required: ['op', 'source'],
  });
}

/** The key schema: the record `Key` of the primary-key columns (not nullable: a key has its values). */
export function keySchema(format: Format, topic: string, columns: Array<{ name: string; type: CdcColumnType }>): string {
  if (format === 'avro') return JSON.stringify({ ...avroRecord('Key', columns, false), namespace: avroNamespace(topic) });
  return JSON.stringify({ type: 'object', title: `${topic}.Key`, properties: Object.fromEntries(columns.map((c) => [c.name, { type: JSON_TYPE[c.type] }])), required: columns.map((c) => c.name) });
}

interface TableState {
  columns: ColumnTypes;
  source: ColumnTypes;
  value?: Promise<WriterSchema>;
  key?: Promise<WriterSchema>;
  keyColumns: string;
  /** The source block's field names last seen (its schema is re-derived only when they change). */
  sourceNames?: string;
}

/** Encodes a table's CDC records (from toCdcRecords) with schemas derived from its events, registered on change. */
export class CdcRegistryEncoder {
  private readonly client: SchemaRegistryClient;
  private readonly tables = new Map<string, TableState>();

  constructor(
    private readonly format: Format,
    registry: string,
    private readonly connector: string,
  ) {
    this.client = new SchemaRegistryClient(registry);
  }

  /** The records of one event with their key and value in wire format (a tombstone's value stays null). */
  async encode(event: ChangeEvent, records: CdcRecord[]): Promise<Array<{ topic: string; key: Buffer | null; value: Buffer | null; timestamp: number }>> {
    const out: Array<{ topic: string; key: Buffer | null; value: Buffer | null; timestamp: number }> = [];
    for (const r of records) {
      let t = this.tables.get(r.topic);
      if (t === undefined) {
        t = { columns: new ColumnTypes(), source: new ColumnTypes(), keyColumns: '' };
        this.tables.set(r.topic, t);
      }
      const env = r.value;
      if (env !== null) {
        const before = env.before as Record<string, CdcValue> | null;
        const after = env.after as Record<string, CdcValue> | null;
        const source = env.source as Record<string, CdcValue>;
        const colsChanged = t.columns.learn(event.columns, [before, after]);
        const sourceNames = Object.keys(source).join('\u0000');
        let sourceChanged = false;
        if (sourceNames !== t.sourceNames) {
          t.sourceNames = sourceNames;
          sourceChanged = t.source.learn(Object.keys(source).map((name) => ({ name, type: SOURCE_TYPES[name] ?? kindOf(source[name]) ?? 'string', optional: true })), []);
        }
        if (colsChanged || sourceChanged || t.value === undefined) {
          const schema = envelopeSchema(this.format, r.topic, this.connector, t.columns.fields(), t.source.fields());
          t.value = registerWriter(this.client, topicNameStrategy(r.topic, false), this.format, schema, false);
        }
      }
      let key: Buffer | null = null;
      if (r.key !== null) {
        const keyRow = JSON.parse(r.key) as Record<string, CdcValue>;
        const names = Object.keys(keyRow).join('\u0000');
        if (t.key === undefined || names !== t.keyColumns) {
          t.keyColumns = names;
          const fields = Object.keys(keyRow).map((name) => ({ name, type: t!.columns.fields().find((c) => c.name === name)?.type ?? kindOf(keyRow[name]) ?? 'string' }));
          t.key = registerWriter(this.client, topicNameStrategy(r.topic, true), this.format, keySchema(this.format, r.topic, fields), false);
        }
        const k = t.key;
        key = (await k).encode(this.keyValue(t, keyRow));
      }
      let value: Buffer | null = null;
      if (env !== null) {
        const v = { ...env, before: t.columns.row(env.before as Record<string, CdcValue> | null), after: t.columns.row(env.after as Record<string, CdcValue> | null), source: t.source.row(env.source as Record<string, CdcValue>) };
        value = (await t.value!).encode(v);
      }
      out.push({ topic: r.topic, key, value, timestamp: r.timestamp });
    }
    return out;
  }

  private keyValue(t: TableState, keyRow: Record<string, CdcValue>): Record<string, CdcValue> {
    const out: Record<string, CdcValue> = {};
    for (const [name, v] of Object.entries(keyRow)) {
      const type = t.columns.fields().find((c) => c.name === name)?.type ?? kindOf(v) ?? 'string';
      out[name] = fit(v, type);
    }
    return out;
  }
}
