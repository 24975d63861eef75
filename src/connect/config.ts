/**
 * Pipeline files (JSON or YAML) and `tributary connect` flags → validated ConnectConfig. Every error names
 * the pipeline, the key, the bad value and what is allowed, so a typo is fixed without reading code.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_BOOTSTRAP } from '../client/cluster.js';
import { TributaryError } from '../errors.js';
import { parseSchema } from '../registry/formats.js';
import type { ColumnType, ConnectConfig, PipelineConfig, SinkConfig, SourceConfig, SourceGuarantee } from './types.js';

export class ConfigError extends TributaryError {
  constructor(message: string) {
    super('ERR_CONNECT_CONFIG', message);
  }
}

export const DEFAULTS = {
  delimiter: ',',
  directoryPattern: '*.csv',
  pollMs: 1000,
  httpHost: '127.0.0.1',
  httpPath: '/events',
  maxBodyBytes: 1024 * 1024,
  mode: 'insert',
  autoCreate: false,
  batchSize: 500,
  guarantee: 'at-least-once',
} as const;

const COLUMN_TYPES: readonly ColumnType[] = ['int', 'float', 'bool', 'string', 'timestamp'];
const SOURCE_TYPES = ['csv', 'jsonl', 'directory', 'http', 'mysql', 'postgres'] as const;
const SINK_TYPES = ['sqlite', 'mysql', 'postgres', 'jsonl'] as const;
const NAME = /^[A-Za-z0-9._-]+$/;

type Obj = Record<string, unknown>;

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

/** Validation context: where we are (`pipeline "x": sink.url`), so every message says it. */
class At {
  constructor(
    readonly pipeline: string,
    readonly prefix: string,
  ) {}

  fail(key: string, value: unknown, allowed: string): never {
    const where = this.pipeline === '' ? '' : `pipeline "${this.pipeline}": `;
    throw new ConfigError(`${where}${this.prefix}${key} ${value === undefined ? 'is missing' : `is ${show(value)}`}: ${allowed}`);
  }

  known(o: Obj, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(k, o[k], `not a known key here; the keys are ${allowed.join(', ')}`);
    }
  }

  str(o: Obj, key: string, required: true): string;
  str(o: Obj, key: string, required?: false): string | undefined;
  str(o: Obj, key: string, required = false): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.fail(key, undefined, 'a non-empty string is required');
      return undefined;
    }
    if (typeof v === 'number') return String(v); // YAML reads `topic: 2024` as a number
    if (typeof v !== 'string' || v === '') this.fail(key, v, 'must be a non-empty string');
    return v;
  }

  int(o: Obj, key: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    let v = o[key];
    if (v === undefined || v === null) return def;
    if (typeof v === 'string' && /^\d+$/.test(v.trim())) v = Number(v.trim());
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(key, v, `must be an integer from ${min} to ${max}`);
    return v;
  }

  bool(o: Obj, key: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) return def;
    if (v === 'true') return true;
    if (v === 'false') return false;
    if (typeof v !== 'boolean') this.fail(key, v, 'must be true or false');
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[], def?: T): T {
    const v = o[key];
    if ((v === undefined || v === null) && def !== undefined) return def;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(key, v, `must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  obj(o: Obj, key: string): Obj | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, v, 'must be a mapping (key: value)');
    return v as Obj;
  }

  strList(o: Obj, key: string): string[] | undefined {
    let v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') v = v.split(',').map((s) => s.trim()).filter(Boolean);
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x !== '')) this.fail(key, v, 'must be a non-empty list of column names');
    return v as string[];
  }

  columnTypes(o: Obj, key: string): Record<string, ColumnType> | undefined {
    const m = this.obj(o, key);
    if (m === undefined) return undefined;
    const out: Record<string, ColumnType> = {};
    for (const [col, t] of Object.entries(m)) {
      if (typeof t !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(t)) this.fail(`${key}.${col}`, t, `must be one of ${COLUMN_TYPES.join(', ')}`);
      out[col] = t as ColumnType;
    }
    return out;
  }

  nested(key: string): At {
    return new At(this.pipeline, `${this.prefix}${key}.`);
  }
}

function resolvePath(p: string, baseDir: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** File sources whose guarantee was given (the others follow the sinks of their topic: see inferSourceGuarantees). */
const explicitGuarantee = new WeakSet<SourceConfig>();

const GUARANTEES = ['at-least-once', 'exactly-once'] as const;

function sourceGuarantee<T extends SourceConfig>(src: T, o: Obj, s: At): T {
  if (o.guarantee !== undefined && o.guarantee !== null) {
    (src as { guarantee?: string }).guarantee = s.oneOf(o, 'guarantee', GUARANTEES);
    explicitGuarantee.add(src);
  }
  return src;
}

/**
 * A file source without a guarantee is exactly-once when a sink in the same config reads its topic exactly-once
 * (so a source crash does not put duplicates in front of a sink that promises none), else at-least-once.
 */
function inferSourceGuarantees(pipelines: PipelineConfig[]): void {
  for (const p of pipelines) {
    const src = p.source;
    if (src === undefined || src.type === 'http' || explicitGuarantee.has(src)) continue;
    if (src.type === 'mysql' || src.type === 'postgres') {
      // A CDC source feeds the sinks of its tables' topics.
      src.guarantee = pipelines.some((q) => q.sink?.guarantee === 'exactly-once' && q.topic.startsWith(`${src.prefix}.`)) ? 'exactly-once' : 'at-least-once';
      continue;
    }
    src.guarantee = pipelines.some((q) => q.topic === p.topic && q.sink?.guarantee === 'exactly-once') ? 'exactly-once' : 'at-least-once';
  }
}

/** A replica server id from the pipeline name (stable across runs, in Debezium's default range 5400-6399 + more). */
export function defaultServerId(pipeline: string): number {
  let h = 0;
  for (const c of pipeline) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return 5400 + (h % 100_000);
}

/** A mysql/postgres (change data capture) source. */
function parseCdcSource(type: 'mysql' | 'postgres', o: Obj, s: At): SourceConfig {
  const common = ['type', 'url', 'tables', 'prefix', 'snapshot', 'tombstones', 'cleanupPolicy', 'transactions', 'guarantee'];
  s.known(o, type === 'mysql' ? [...common, 'serverId'] : [...common, 'slot', 'publication']);
  const url = s.str(o, 'url');
  if (url === undefined) s.fail('url', undefined, `is required: ${type === 'mysql' ? 'mysql://user:password@127.0.0.1:3306/' : 'postgres://user:password@127.0.0.1:5432/db'}`);
  if (type === 'mysql' && !/^(mysql|mariadb):\/\//.test(url)) s.fail('url', url, 'must be a mysql://user:password@host:port/ URL');
  if (type === 'postgres' && !/^postgres(ql)?:\/\//.test(url)) s.fail('url', url, 'must be a postgres://user:password@host:port/database URL');
  const tables = s.strList(o, 'tables');
  if (tables === undefined) s.fail('tables', undefined, `the tables to capture are required, as ${type === 'mysql' ? 'db.table' : 'schema.table'}`);
  for (const t of tables) if (!/^[^.\s]+\.[^.\s]+$/.test(t)) s.fail('tables', t, `each table is ${type === 'mysql' ? 'db.table' : 'schema.table'}`);
  const pipeline = s.pipeline;
  const prefix = s.str(o, 'prefix') ?? pipeline;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(prefix)) s.fail('prefix', prefix, "the topic prefix is letters, digits, '.', '_' and '-'");
  const common_ = {
    url,
    tables,
    prefix,
    snapshot: s.oneOf(o, 'snapshot', ['initial', 'never'] as const, 'initial'),
    tombstones: s.bool(o, 'tombstones', true),
    cleanupPolicy: s.oneOf(o, 'cleanupPolicy', ['delete', 'compact'] as const, 'delete'),
    transactions: s.bool(o, 'transactions', false),
    guarantee: 'at-least-once' as SourceGuarantee,
  };
  if (type === 'mysql') return sourceGuarantee({ type, ...common_, serverId: s.int(o, 'serverId', defaultServerId(pipeline), 1, 4294967295) }, o, s);
  const ident = pipeline.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
  return sourceGuarantee({ type, ...common_, slot: s.str(o, 'slot') ?? `tributary_${ident}`, publication: s.str(o, 'publication') ?? `tributary_${ident}` }, o, s);
}

function parseSource(raw: unknown, at: At, baseDir: string): SourceConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) at.fail('source', raw, `must be a mapping with a type (${SOURCE_TYPES.join(', ')})`);
  const o = raw as Obj;
  const s: At = at.nested('source');
  const type = s.oneOf(o, 'type', SOURCE_TYPES);
  switch (type) {
    case 'mysql':
    case 'postgres':
      return parseCdcSource(type, o, s);
    case 'csv': {
      s.known(o, ['type', 'path', 'keyColumn', 'columns', 'delimiter', 'guarantee']);
      return sourceGuarantee({ type, path: resolvePath(s.str(o, 'path', true), baseDir), keyColumn: s.str(o, 'keyColumn'), columns: s.columnTypes(o, 'columns'), delimiter: delimiter(o, s), guarantee: 'at-least-once' }, o, s);
    }
    case 'jsonl': {
      s.known(o, ['type', 'path', 'keyColumn', 'skipBadLines', 'guarantee']);
      return sourceGuarantee({ type, path: resolvePath(s.str(o, 'path', true), baseDir), keyColumn: s.str(o, 'keyColumn'), skipBadLines: s.bool(o, 'skipBadLines', false), guarantee: 'at-least-once' }, o, s);
    }
    case 'directory': {
      s.known(o, ['type', 'path', 'pattern', 'format', 'keyColumn', 'columns', 'delimiter', 'skipBadLines', 'pollMs', 'guarantee']);
      const pattern = s.str(o, 'pattern') ?? DEFAULTS.directoryPattern;
      if (pattern.includes('/')) s.fail('pattern', pattern, 'must be a file-name pattern such as *.csv or *.jsonl (no directories)');
      const format = o.format === undefined ? undefined : s.oneOf(o, 'format', ['csv', 'jsonl'] as const);
      if (format === undefined && !/\.(csv|jsonl|ndjson)(\.gz)?$/i.test(pattern.replace(/\*$/, ''))) {
        s.fail('format', undefined, `is needed because pattern ${show(pattern)} does not end in .csv or .jsonl: set format: csv or format: jsonl`);
      }
      return sourceGuarantee({
        type,
        path: resolvePath(s.str(o, 'path', true), baseDir),
        pattern,
        format,
        keyColumn: s.str(o, 'keyColumn'),
        columns: s.columnTypes(o, 'columns'),
        delimiter: delimiter(o, s),
        skipBadLines: s.bool(o, 'skipBadLines', false),
        pollMs: s.int(o, 'pollMs', DEFAULTS.pollMs, 10, 3_600_000),
        guarantee: 'at-least-once',
      }, o, s);
    }
    case 'http': {
      if (o.guarantee !== undefined) s.fail('guarantee', o.guarantee, 'an http source is at-least-once (a client that does not get its 202 sends again): remove the key');
      s.known(o, ['type', 'port', 'host', 'path', 'keyColumn', 'maxBodyBytes']);
      if (o.port === undefined) s.fail('port', undefined, 'the TCP port to listen on is required (0 picks a free one)');
      const path = s.str(o, 'path') ?? DEFAULTS.httpPath;
      if (!path.startsWith('/')) s.fail('path', path, 'must start with /');
      return {
        type,
        port: s.int(o, 'port', 0, 0, 65535),
        host: s.str(o, 'host') ?? DEFAULTS.httpHost,
        path,
        keyColumn: s.str(o, 'keyColumn'),
        maxBodyBytes: s.int(o, 'maxBodyBytes', DEFAULTS.maxBodyBytes, 1, 1024 * 1024 * 1024),
      };
    }
  }
}

function delimiter(o: Obj, s: At): string {
  const d = s.str(o, 'delimiter') ?? DEFAULTS.delimiter;
  const v = d === '\\t' || d === 'tab' ? '\t' : d;
  if (v.length !== 1 || v === '"' || v === '\n' || v === '\r') s.fail('delimiter', d, 'must be one character other than a quote or newline (e.g. ",", ";", "\\t")');
  return v;
}

function parseSink(raw: unknown, at: At, topic: string, baseDir: string): SinkConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) at.fail('sink', raw, `must be a mapping with a type (${SINK_TYPES.join(', ')})`);
  const o = raw as Obj;
  const s: At = at.nested('sink');
  s.known(o, ['type', 'url', 'table', 'mode', 'keyColumns', 'autoCreate', 'columns', 'batchSize', 'guarantee', 'deadLetterTopic', 'metadata', 'cdc']);
  const type = s.oneOf(o, 'type', SINK_TYPES);
  let url = s.str(o, 'url');
  if (url === undefined) {
    const hint = { sqlite: 'a database file such as ./users.db', mysql: 'mysql://user:password@127.0.0.1:3306/db', postgres: 'postgres://user@127.0.0.1:5432/db', jsonl: 'the output file path' }[type];
    s.fail('url', undefined, `is required: ${hint}`);
  }
  if (type === 'mysql' && !/^(mysql|mariadb):\/\//.test(url)) s.fail('url', url, 'must be a mysql://user:password@host:port/database URL');
  if (type === 'postgres' && !/^postgres(ql)?:\/\//.test(url)) s.fail('url', url, 'must be a postgres://user:password@host:port/database URL');
  if ((type === 'sqlite' && url !== ':memory:') || type === 'jsonl') url = resolvePath(url.replace(/^sqlite:(\/\/)?/, ''), baseDir);
  const table = s.str(o, 'table');
  if (type !== 'jsonl' && table === undefined) s.fail('table', undefined, 'the table to write to is required for a SQL sink');
  const cdc = s.bool(o, 'cdc', false);
  if (cdc && type === 'jsonl') s.fail('cdc', cdc, 'applies to SQL sinks (sqlite, mysql, postgres): a jsonl sink writes the envelopes as they are');
  if (cdc && o.mode !== undefined && o.mode !== 'upsert') s.fail('mode', o.mode, 'a cdc sink upserts (c/u/r) and deletes (d): leave mode out');
  const mode = cdc ? 'upsert' : s.oneOf(o, 'mode', ['insert', 'upsert'] as const, DEFAULTS.mode);
  const keyColumns = s.strList(o, 'keyColumns');
  if (mode === 'upsert' && keyColumns === undefined && !cdc) s.fail('keyColumns', undefined, 'mode upsert needs the key columns that identify a row, e.g. keyColumns: [id]');
  if (mode === 'upsert' && type === 'jsonl') s.fail('mode', mode, 'a jsonl sink only appends: use mode insert');
  const colMap = s.obj(o, 'columns');
  let columns: Record<string, string> | undefined;
  if (colMap !== undefined) {
    columns = {};
    for (const [col, field] of Object.entries(colMap)) {
      if (typeof field !== 'string' || field === '') s.fail(`columns.${col}`, field, 'must be the record field this column is filled from');
      columns[col] = field;
    }
  }
  const guarantee = s.oneOf(o, 'guarantee', ['at-least-once', 'exactly-once'] as const, DEFAULTS.guarantee);
  return {
    type,
    url,
    table,
    mode,
    keyColumns,
    autoCreate: s.bool(o, 'autoCreate', DEFAULTS.autoCreate),
    columns,
    batchSize: s.int(o, 'batchSize', DEFAULTS.batchSize, 1, 100_000),
    guarantee,
    deadLetterTopic: s.str(o, 'deadLetterTopic') ?? `${topic}-dlq`,
    metadata: s.bool(o, 'metadata', false),
    ...(cdc ? { cdc } : {}),
  };
}

/** valueFormat, schemaRegistry and the value schema of a pipeline (nothing for the default json). */
function valueFormat(o: Obj, at: At, source: SourceConfig | undefined, baseDir: string): Pick<PipelineConfig, 'valueFormat' | 'schemaRegistry' | 'valueSchema'> {
  const format = at.oneOf(o, 'valueFormat', ['json', 'avro', 'json-schema'] as const, 'json');
  const registry = at.str(o, 'schemaRegistry');
  const schemaGiven = o.valueSchema !== undefined || o.valueSchemaFile !== undefined;
  if (format === 'json') {
    if (registry !== undefined) at.fail('schemaRegistry', registry, 'applies to valueFormat avro or json-schema: set valueFormat, or remove schemaRegistry');
    if (schemaGiven) at.fail(o.valueSchema !== undefined ? 'valueSchema' : 'valueSchemaFile', o.valueSchema ?? o.valueSchemaFile, 'applies to valueFormat avro or json-schema: set valueFormat, or remove it');
    return {};
  }
  if (registry === undefined) at.fail('schemaRegistry', undefined, `valueFormat ${format} needs the schema registry's URL, e.g. schemaRegistry: http://127.0.0.1:8081`);
  if (!/^https?:\/\/[^/\s]+/.test(registry)) at.fail('schemaRegistry', registry, 'must be an http:// or https:// URL of a schema registry');
  if (o.valueSchema !== undefined && o.valueSchemaFile !== undefined) at.fail('valueSchemaFile', o.valueSchemaFile, 'give valueSchema or valueSchemaFile, not both');
  const cdc = source?.type === 'mysql' || source?.type === 'postgres';
  let schema: string | undefined;
  if (schemaGiven) {
    const key = o.valueSchema !== undefined ? 'valueSchema' : 'valueSchemaFile';
    if (source === undefined) at.fail(key, o[key], 'a sink reads each record with the schema its id names: remove it');
    if (cdc) at.fail(key, o[key], 'a CDC source derives the schema of each table from its columns: remove it');
    if (key === 'valueSchema') {
      const v = o.valueSchema;
      if (typeof v === 'string' && v.trim() !== '') schema = v;
      else if (v !== null && typeof v === 'object') schema = JSON.stringify(v);
      else at.fail('valueSchema', v, `must be the ${format === 'avro' ? 'Avro' : 'JSON'} schema, as a mapping or its JSON text`);
    } else {
      const file = resolvePath(at.str(o, 'valueSchemaFile', true), baseDir);
      try {
        schema = readFileSync(file, 'utf8');
      } catch (err) {
        at.fail('valueSchemaFile', file, `cannot be read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
    }
    try {
      parseSchema(format === 'avro' ? 'AVRO' : 'JSON', schema);
    } catch (err) {
      at.fail(key, key === 'valueSchema' ? o.valueSchema : o.valueSchemaFile, `is not a valid ${format === 'avro' ? 'Avro' : 'JSON'} schema: ${(err as Error).message}`);
    }
  } else if (source !== undefined && !cdc && !(source.type === 'csv' || (source.type === 'directory' && (source.format ?? (/\.csv(\.gz)?$/i.test(source.pattern) ? 'csv' : 'jsonl')) === 'csv'))) {
    at.fail('valueSchema', undefined, `a ${source.type} source with valueFormat ${format} needs the value schema (valueSchema, or valueSchemaFile); only a csv source derives one (from its header)`);
  }
  return { valueFormat: format, schemaRegistry: registry, ...(schema !== undefined ? { valueSchema: schema } : {}) };
}

/** One pipeline entry → PipelineConfig. `index` names entries that have no (valid) name yet. */
export function parsePipeline(raw: unknown, index: number, baseDir: string): PipelineConfig {
  const label = `pipelines[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${label} must be a mapping with name, topic and a source or a sink, got ${show(raw)}`);
  const o = raw as Obj;
  const name = o.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigError(`${label}.name ${name === undefined ? 'is missing' : `is ${show(name)}`}: every pipeline needs a unique name of letters, digits, '.', '_' and '-'`);
  }
  const at = new At(name, '');
  at.known(o, ['name', 'topic', 'source', 'sink', 'group', 'tasks', 'valueFormat', 'schemaRegistry', 'valueSchema', 'valueSchemaFile']);
  const cdcSource = typeof o.source === 'object' && o.source !== null && ['mysql', 'postgres'].includes(String((o.source as Obj).type));
  // A CDC source writes one topic per table (<prefix>.<db>.<table>): its pipeline's topic is optional (the prefix).
  const topic = cdcSource && o.sink === undefined && o.topic === undefined ? (at.str(o.source as Obj, 'prefix') ?? name) : at.str(o, 'topic', true);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) at.fail('topic', topic, "a Kafka topic name is 1-249 letters, digits, '.', '_' and '-'");
  if (o.source === undefined && o.sink === undefined) at.fail('source', undefined, 'a pipeline needs a source (csv, jsonl, directory, http), a sink (sqlite, mysql, postgres, jsonl), or both');
  const tasks = at.int(o, 'tasks', 1, 1);
  if (tasks !== 1) at.fail('tasks', tasks, 'must be 1: scale out by running more processes with the same pipeline file (they share the consumer group)');
  const source = o.source === undefined ? undefined : parseSource(o.source, at, baseDir);
  const sink = o.sink === undefined ? undefined : parseSink(o.sink, at, topic, baseDir);
  if (sink !== undefined && sink.deadLetterTopic === topic) at.fail('sink.deadLetterTopic', sink.deadLetterTopic, 'must differ from the topic the sink reads');
  const pipeline: PipelineConfig = { name, topic, source, sink, group: at.str(o, 'group') ?? `connect-${name}`, tasks, ...valueFormat(o, at, source, baseDir) };
  inferSourceGuarantees([pipeline]);
  return pipeline;
}

/** A parsed document (from JSON or YAML) → ConnectConfig. Relative paths resolve against baseDir. */
export function parseConfig(doc: unknown, baseDir = process.cwd()): ConnectConfig {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`a pipeline file is a mapping with bootstrapServers (optional) and pipelines (a list), got ${show(doc)}`);
  const o = doc as Obj;
  const top: At = new At('', '');
  top.known(o, ['bootstrapServers', 'pipelines']);
  const bootstrapServers = top.str(o, 'bootstrapServers') ?? DEFAULT_BOOTSTRAP;
  if (!Array.isArray(o.pipelines) || o.pipelines.length === 0) top.fail('pipelines', o.pipelines, 'must be a non-empty list of pipelines');
  const pipelines = (o.pipelines as unknown[]).map((p, i) => parsePipeline(p, i, baseDir));
  const seen = new Set<string>();
  for (const p of pipelines) {
    if (seen.has(p.name)) throw new ConfigError(`pipeline "${p.name}": the name is used twice; names must be unique (each is a consumer group and an offsets-table key)`);
    seen.add(p.name);
  }
  inferSourceGuarantees(pipelines);
  return { bootstrapServers, pipelines };
}

/** Parses a pipeline file's text: JSON for .json, YAML for .yaml/.yml, otherwise sniffed ('{' starts JSON). */
export function parseConfigText(text: string, fileName: string): unknown {
  const ext = extname(fileName).toLowerCase();
  const json = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && text.trimStart().startsWith('{'));
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${fileName}: not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** Reads and validates a pipeline file; relative paths in it resolve against the file's directory. */
export async function loadConfigFile(file: string): Promise<ConnectConfig> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`pipeline file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  try {
    return parseConfig(parseConfigText(text, file), dirname(resolve(file)));
  } catch (err) {
    if (err instanceof ConfigError && !err.message.startsWith(file)) throw new ConfigError(`${file}: ${err.message}`);
    throw err;
  }
}

/** `tributary connect` flags for one pipeline (commander's camelCase names). */
export interface PipelineFlags {
  name?: string;
  topic?: string;
  group?: string;
  sourceType?: string;
  sourcePath?: string;
  keyColumn?: string;
  columns?: string;
  delimiter?: string;
  skipBadLines?: boolean;
  pattern?: string;
  format?: string;
  pollMs?: string;
  port?: string;
  host?: string;
  httpPath?: string;
  maxBodyBytes?: string;
  sinkType?: string;
  sinkUrl?: string;
  table?: string;
  mode?: string;
  keyColumns?: string;
  autoCreate?: boolean;
  sinkColumns?: string;
  batchSize?: string;
  guarantee?: string;
  deadLetterTopic?: string;
  valueFormat?: string;
  schemaRegistry?: string;
  valueSchemaFile?: string;
}

function pairs(text: string, flag: string, sep: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf(sep);
    if (i <= 0) throw new ConfigError(`${flag} expects name${sep}value pairs separated by commas, got ${show(part)}`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * Flags → the same pipeline entry a file would hold, validated by the same code (so flags and files cannot
 * drift apart). Returns null when no pipeline flag is given.
 */
export function pipelineFromFlags(f: PipelineFlags, baseDir = process.cwd()): PipelineConfig | null {
  const given = Object.entries(f).some(([k, v]) => v !== undefined && k !== 'autoCreate' && k !== 'skipBadLines') || f.autoCreate === true || f.skipBadLines === true;
  if (!given) return null;
  const entry: Obj = {
    name: f.name ?? (f.topic === undefined ? undefined : `${f.sourceType !== undefined ? 'source' : 'sink'}-${f.topic}`),
    topic: f.topic,
    group: f.group,
    valueFormat: f.valueFormat,
    schemaRegistry: f.schemaRegistry,
    valueSchemaFile: f.valueSchemaFile,
  };
  if (f.sourceType !== undefined) {
    entry.source = {
      type: f.sourceType,
      keyColumn: f.keyColumn,
      columns: f.columns === undefined ? undefined : pairs(f.columns, '--columns', ':'),
      delimiter: f.delimiter,
      skipBadLines: f.skipBadLines,
      pattern: f.pattern,
      format: f.format,
      pollMs: f.pollMs,
      port: f.port,
      host: f.host,
      path: f.sourceType === 'http' ? f.httpPath : f.sourcePath,
      maxBodyBytes: f.maxBodyBytes,
      // --guarantee applies to the sink and to a file source alike.
      guarantee: f.sourceType === 'http' ? undefined : f.guarantee,
    };
    const src = entry.source as Obj;
    if (f.sourceType === 'http' && f.sourcePath !== undefined) throw new ConfigError('--source-path does not apply to --source-type http: the URL path is --http-path');
    if (f.sourceType !== 'http' && f.httpPath !== undefined) throw new ConfigError(`--http-path does not apply to --source-type ${f.sourceType}`);
    // Only the keys this source type knows, so flags for another type are reported, not silently ignored.
    const known: Record<string, string[]> = {
      csv: ['type', 'path', 'keyColumn', 'columns', 'delimiter', 'guarantee'],
      jsonl: ['type', 'path', 'keyColumn', 'skipBadLines', 'guarantee'],
      directory: ['type', 'path', 'pattern', 'format', 'keyColumn', 'columns', 'delimiter', 'skipBadLines', 'pollMs', 'guarantee'],
      http: ['type', 'port', 'host', 'path', 'keyColumn', 'maxBodyBytes'],
    };
    const flagOf: Record<string, string> = { path: '--source-path', keyColumn: '--key-column', columns: '--columns', delimiter: '--delimiter', skipBadLines: '--skip-bad-lines', pattern: '--pattern', format: '--format', pollMs: '--poll-ms', port: '--port', host: '--host', maxBodyBytes: '--max-body-bytes' };
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined || v === false) {
        delete src[k];
        continue;
      }
      if (known[f.sourceType] !== undefined && !known[f.sourceType].includes(k)) {
        throw new ConfigError(`${flagOf[k] ?? k} does not apply to --source-type ${f.sourceType}`);
      }
    }
  } else {
    for (const [flag, v] of [['--source-path', f.sourcePath], ['--key-column', f.keyColumn], ['--columns', f.columns], ['--port', f.port], ['--pattern', f.pattern]] as const) {
      if (v !== undefined) throw new ConfigError(`${flag} needs --source-type`);
    }
  }
  if (f.sinkType !== undefined) {
    const sink: Obj = {
      type: f.sinkType,
      url: f.sinkUrl,
      table: f.table,
      mode: f.mode,
      keyColumns: f.keyColumns,
      autoCreate: f.autoCreate === true ? true : undefined,
      columns: f.sinkColumns === undefined ? undefined : pairs(f.sinkColumns, '--sink-columns', '='),
      batchSize: f.batchSize,
      guarantee: f.guarantee,
      deadLetterTopic: f.deadLetterTopic,
    };
    for (const [k, v] of Object.entries(sink)) if (v === undefined) delete sink[k];
    entry.sink = sink;
  } else {
    for (const [flag, v] of [['--sink-url', f.sinkUrl], ['--table', f.table], ['--mode', f.mode], ['--key-columns', f.keyColumns], ['--sink-columns', f.sinkColumns], ['--batch-size', f.batchSize], ['--dead-letter-topic', f.deadLetterTopic]] as const) {
      if (v !== undefined) throw new ConfigError(`${flag} needs --sink-type`);
    }
    if (f.guarantee !== undefined && (f.sourceType === undefined || f.sourceType === 'http')) throw new ConfigError('--guarantee needs --sink-type or a file source (csv, jsonl, directory): an http source is at-least-once');
    if (f.autoCreate === true) throw new ConfigError('--auto-create needs --sink-type');
  }
  if (entry.topic === undefined) throw new ConfigError('--topic is required: the topic the pipeline produces to or consumes from');
  for (const k of Object.keys(entry)) if (entry[k] === undefined) delete entry[k];
  return parsePipeline(entry, 0, baseDir);
}
