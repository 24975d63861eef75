/**
 * The seed's program — read a CSV and insert its rows into MySQL — in TypeScript, twice:
 *
 * - direct: the classic way, one INSERT (one autocommit transaction) per row, the CSV held open until the
 *   database has taken the last row; a row the database refuses is reported and skipped;
 * - broker: the CSV goes to a topic (released as soon as the broker has it), and a sink pipeline — the runtime
 *   of `tributary connect` — writes the topic into the database in multi-row transactions; refused rows go to
 *   a dead-letter topic. The equivalent pipeline file is written next to the data as pipeline.yaml.
 *
 * `--db mysql://user:password@host:3306/db` writes to MySQL/MariaDB; without it a SQLite file, so it runs anywhere.
 *
 *   node dist/examples/csv-to-mysql/main.js [--db URL] [--csv FILE | --rows 1000] [--mode both|direct|broker]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/connect/config.js';
import { runSinkPipeline } from '../../src/connect/sink-runtime.js';
import { runSourcePipeline } from '../../src/connect/source-runtime.js';
import { csvFileRecords } from '../../src/connect/sources/csv.js';
import type { ColumnType } from '../../src/connect/types.js';
import { cliMain, intFlag, openEnv, random, within, type ExampleOptions } from '../common.js';
import { openDatabase, type ExampleDatabase } from './database.js';

export const DIRECT_TABLE = 'users';
export const BROKER_TABLE = 'users_via_broker';

export interface CsvToMysqlOptions extends ExampleOptions {
  /** mysql://… for MySQL/MariaDB; a file path (or nothing: <dir>/users.db) for SQLite. */
  db?: string;
  /** A CSV with a header row; without it one of `rows` users is generated. */
  csv?: string;
  rows?: number;
  mode?: 'both' | 'direct' | 'broker';
}

export interface ModeResult {
  table: string;
  /** Rows in the table afterwards. */
  inserted: number;
  /** Rows the database refused (direct: skipped; broker: in the dead-letter topic). */
  refused: number;
  /** Until the CSV was released: the last row inserted (direct) or acknowledged by the broker. */
  sourceMs: number;
  /** Until the database held every row. */
  totalMs: number;
}

export interface CsvToMysqlSummary {
  database: string;
  kind: 'mysql' | 'sqlite';
  csv: string;
  rows: number;
  direct?: ModeResult;
  broker?: ModeResult & { topic: string; deadLetterTopic: string; pipelineFile: string | null };
  elapsedMs: number;
}

const CITIES = ['Lisbon', 'Osaka', 'Quito', 'Tartu', 'Accra', 'Perth'];

/** Writes `rows` users; every 97th has age "unknown", a value an INT column refuses. Returns how many are bad. */
export async function writeUsersCsv(path: string, rows: number): Promise<number> {
  const rnd = random(1);
  const lines = ['id,name,email,age,city'];
  let bad = 0;
  for (let id = 1; id <= rows; id++) {
    const unknownAge = id % 97 === 0;
    if (unknownAge) bad++;
    const name = `User ${id}`;
    lines.push(`${id},"${name}",user${id}@example.com,${unknownAge ? 'unknown' : 18 + Math.floor(rnd() * 60)},${CITIES[Math.floor(rnd() * CITIES.length)]}`);
  }
  await writeFile(path, `${lines.join('\n')}\n`);
  return bad;
}

/** The table's columns: declared types first, the rest from the first rows' values (as the CSV source typed them). */
async function csvColumns(path: string, declared: Record<string, ColumnType>): Promise<Array<{ name: string; type: ColumnType }>> {
  const samples = new Map<string, unknown[]>();
  let n = 0;
  for await (const r of csvFileRecords(path, { columns: declared, delimiter: ',' })) {
    for (const [k, v] of Object.entries(r.value as Record<string, unknown>)) {
      if (!samples.has(k)) samples.set(k, []);
      if (v !== null) samples.get(k)!.push(v);
    }
    if (++n >= 100) break;
  }
  return [...samples].map(([name, values]) => {
    if (declared[name] !== undefined) return { name, type: declared[name] };
    if (values.length > 0 && values.every((v) => typeof v === 'number' && Number.isInteger(v))) return { name, type: 'int' as const };
    if (values.length > 0 && values.every((v) => typeof v === 'number')) return { name, type: 'float' as const };
    if (values.length > 0 && values.every((v) => typeof v === 'boolean')) return { name, type: 'bool' as const };
    return { name, type: 'string' as const };
  });
}

/** The classic program: for each CSV row, INSERT it and wait. */
async function direct(db: ExampleDatabase, csv: string, declared: Record<string, ColumnType>, log: (l: string) => void): Promise<ModeResult> {
  const started = Date.now();
  let refused = 0;
  for await (const r of csvFileRecords(csv, { columns: declared, delimiter: ',' })) {
    const error = await db.insert(DIRECT_TABLE, r.value as Record<string, unknown>);
    if (error !== null) {
      refused++;
      log(`direct: row refused: ${error}`);
    }
  }
  const ms = Date.now() - started;
  return { table: DIRECT_TABLE, inserted: await db.count(DIRECT_TABLE), refused, sourceMs: ms, totalMs: ms };
}

export async function runCsvToMysql(options: CsvToMysqlOptions = {}): Promise<CsvToMysqlSummary> {
  const mode = options.mode ?? 'both';
  const started = Date.now();
  const env = await openEnv('csv-to-mysql', options);
  let db: ExampleDatabase | null = null;
  try {
    let csv = options.csv;
    const declared: Record<string, ColumnType> = {};
    if (csv === undefined) {
      csv = join(env.dir, 'users.csv');
      await writeUsersCsv(csv, options.rows ?? 1000);
      // Declared, not inferred: the odd "unknown" age must stay an INT column's bad value.
      Object.assign(declared, { id: 'int', age: 'int' });
    }
    db = await openDatabase(options.db ?? join(env.dir, 'users.db'));
    const columns = await csvColumns(csv, declared);
    let rows = 0;
    for await (const _ of csvFileRecords(csv, { columns: declared, delimiter: ',' })) rows++;
    env.log(`${csv}: ${rows} rows, columns ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}; database ${db.label}`);
    const summary: CsvToMysqlSummary = { database: db.label, kind: db.kind, csv, rows, elapsedMs: 0 };

    if (mode !== 'broker') {
      await db.recreateTable(DIRECT_TABLE, columns);
      summary.direct = await direct(db, csv, declared, env.log);
      env.log(`direct: ${summary.direct.inserted} rows in ${summary.direct.totalMs} ms`);
    }

    if (mode !== 'direct') {
      await db.recreateTable(BROKER_TABLE, columns);
      const topic = `csv-users${env.suffix}`;
      const deadLetterTopic = `${topic}-dlq`;
      await env.createTopics([{ name: topic, partitions: 3 }, { name: deadLetterTopic, partitions: 1 }]);
      // The pipeline file `tributary connect pipeline.yaml --once` would run; here the two halves run in-process.
      const pipelineDoc = {
        bootstrapServers: String(env.client.bootstrapServers),
        pipelines: [
          { name: 'csv-in', topic, source: { type: 'csv', path: csv, keyColumn: columns[0].name, columns: declared } },
          {
            name: 'users-to-db',
            topic,
            group: `users-to-db${env.suffix}`,
            // at-least-once (the default): offsets are committed to the group after each database transaction. Not
            // exactly-once here, whose offsets live in the database: a rerun with a fresh embedded broker would find
            // the last run's offsets there and skip the new topic's first records as already written.
            sink: { type: db.sink.type, url: db.sink.url, table: BROKER_TABLE, mode: 'insert', batchSize: 500, guarantee: 'at-least-once', deadLetterTopic },
          },
        ],
      };
      const pipelineFile = env.temporary ? null : join(env.dir, 'pipeline.yaml');
      if (pipelineFile !== null) await writeFile(pipelineFile, stringify(pipelineDoc));
      const config = parseConfig(pipelineDoc, env.dir);
      const [sourcePipeline, sinkPipeline] = config.pipelines;

      const t0 = Date.now();
      const stop = new AbortController();
      let produced = -1;
      const sink = runSinkPipeline(sinkPipeline, env.client, {
        signal: stop.signal,
        progressIntervalMs: 100,
        log: env.log,
        stream: env.stream,
        // Done when every row the source produced is in the table or the dead-letter topic.
        onProgress: (p) => {
          if (produced >= 0 && p.rows + p.dlq >= produced) stop.abort();
        },
      });
      const source = await runSourcePipeline(sourcePipeline, env.client, { stream: env.stream });
      produced = source.records;
      const sourceMs = Date.now() - t0;
      env.log(`broker: the CSV was released after ${sourceMs} ms (${produced} records in ${topic})`);
      const result = await within(60_000, 'the sink catching up', sink);
      summary.broker = {
        table: BROKER_TABLE,
        inserted: await db.count(BROKER_TABLE),
        refused: result.dlq,
        sourceMs,
        totalMs: Date.now() - t0,
        topic,
        deadLetterTopic,
        pipelineFile,
      };
    }
    summary.elapsedMs = Date.now() - started;
    return summary;
  } finally {
    await db?.close();
    await env.close();
  }
}

const rate = (rows: number, ms: number): string => `${Math.round((rows * 1000) / Math.max(ms, 1)).toLocaleString('en-US')} rows/s`;

export function describe(s: CsvToMysqlSummary): string {
  const parts = [`csv-to-mysql: ${s.rows} CSV rows into ${s.database}`];
  if (s.direct) {
    parts.push(`direct row by row: ${s.direct.inserted} inserted, ${s.direct.refused} refused in ${s.direct.totalMs} ms (${rate(s.rows, s.direct.totalMs)})`);
  }
  if (s.broker) {
    parts.push(`via broker: CSV released after ${s.broker.sourceMs} ms (${rate(s.rows, s.broker.sourceMs)}), ${s.broker.inserted} in ${s.broker.table} + ` +
      `${s.broker.refused} to ${s.broker.deadLetterTopic} after ${s.broker.totalMs} ms${s.broker.pipelineFile ? `; pipeline file ${s.broker.pipelineFile}` : ''}`);
  }
  return `${parts.join('; ')}; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/csv-to-mysql/main.js [--db mysql://user:password@host:port/db | --db FILE.db] [--csv FILE | --rows N] [--mode both|direct|broker] [--out DIR]', {
  db: { type: 'string' },
  csv: { type: 'string' },
  rows: { type: 'string' },
  mode: { type: 'string' },
}, async (values, common) => {
  const mode = (values.mode as string | undefined) ?? 'both';
  if (mode !== 'both' && mode !== 'direct' && mode !== 'broker') throw new Error(`--mode must be both, direct or broker, got ${mode}`);
  return describe(await runCsvToMysql({ ...common, db: values.db as string | undefined, csv: values.csv as string | undefined, rows: intFlag(values, 'rows', 1000), mode }));
});
