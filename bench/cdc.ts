/**
 * Change data capture from MariaDB (`npm run bench -- --only cdc`): a MariaDB with the binlog on (started like the
 * compat tests' one, in a temp dir) and one broker process.
 *
 *   capture     N inserts (multi-row INSERTs of 500 rows, committed before the run) read from the binlog from the
 *               position before them: changes per second through the whole source — binlog → Debezium envelope →
 *               broker acknowledged, at-least-once and exactly-once (`tributary connect`'s runtime, in this
 *               process) — against the binlog read alone (the same MysqlCdcSource, events counted, no broker):
 *               the ratio is what producing costs. Rounds alternate the cases.
 *   lag         single-row autocommit INSERTs paced at R changes/s for S seconds while the pipeline streams;
 *               per change, the time from the INSERT's commit acknowledged to the client to the record read by
 *               a consumer of the topic (fetch.max.wait 10 ms), p50/p99/max.
 *
 * All in one process with the database writer and the consumer, on a shared machine: read the ratios, not the
 * absolute rates.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { Producer } from '../src/client/producer.js';
import { parsePipeline } from '../src/connect/config.js';
import { MysqlCdcSource } from '../src/connect/cdc/mysql.js';
import type { CdcOffset } from '../src/connect/cdc/change-event.js';
import { ensureOffsetsTopic, offsetKey, offsetRecord } from '../src/connect/source-offsets.js';
import { runSourcePipeline } from '../src/connect/source-runtime.js';
import type { MysqlCdcSourceConfig, PipelineConfig } from '../src/connect/types.js';
import { measureCdcLag, type CdcLag } from './cdc-lag.js';
import { median } from './support.js';
import { spawnBroker } from '../test/compat/support/broker-process.js';
import { startBinlogMariadb } from '../test/compat/support/mariadb-binlog.js';

export interface CdcBenchOptions {
  workDir: string;
  changes: number;
  rounds: number;
  lagRate: number;
  lagSeconds: number;
}

export interface CdcBenchResult {
  date: string;
  changes: number;
  rounds: number;
  capture: Array<{ name: string; rates: number[]; median: number; ratio: number }>;
  lag: { rate: number; seconds: number; achievedRate: number; count: number; p50: number; p99: number; max: number };
  notes: string[];
}

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

export async function runCdcBench(options: CdcBenchOptions): Promise<CdcBenchResult> {
  const dataDir = await mkdtemp(join(options.workDir, 'cdc-broker-'));
  const [db, broker] = await Promise.all([startBinlogMariadb(), spawnBroker(dataDir, { settings: { 'num.partitions': '1' } })]);
  const client = { bootstrapServers: broker.address };
  const conn = await mysql.createConnection(db.url);
  const notes: string[] = [];
  try {
    await conn.query('CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(40) NOT NULL, total DECIMAL(10,2) NOT NULL, created DATETIME(3) NOT NULL)');
    const [[status]] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    const [[gtid]] = await conn.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS pos');
    const start: CdcOffset = { gtids: String(gtid.pos), file: String(status.File), pos: Number(status.Position), skip: 0 };
    for (let done = 0; done < options.changes; ) {
      const n = Math.min(500, options.changes - done);
      const rows = Array.from({ length: n }, (_, i) => [`customer-${(done + i) % 1000}`, ((done + i) % 10000) / 100, new Date(1_700_000_000_000 + done + i)]);
      await conn.query('INSERT INTO orders (customer, total, created) VALUES ?', [rows]);
      done += n;
    }

    let pipelines = 0;
    const pipeline = (guarantee: 'at-least-once' | 'exactly-once', snapshot: 'initial' | 'never' = 'never'): PipelineConfig => {
      const name = `bench-cdc-${++pipelines}`;
      return parsePipeline({ name, source: { type: 'mysql', url: db.url, tables: ['tributary.orders'], prefix: name, serverId: 7000 + pipelines, snapshot, guarantee } }, 0, process.cwd());
    };
    /** Stores `offset` for the pipeline, as an earlier run would have. */
    const seed = async (p: PipelineConfig, offset: CdcOffset): Promise<void> => {
      await ensureOffsetsTopic(client);
      const producer = new Producer({ ...client, acks: 'all' });
      await producer.connect();
      await producer.send(offsetRecord(offsetKey(p.name, { server: (p.source as MysqlCdcSourceConfig).prefix }), offset));
      await producer.close();
    };

    const binlogAlone = async (): Promise<number> => {
      const p = pipeline('at-least-once');
      const source = new MysqlCdcSource(p.name, p.source as MysqlCdcSourceConfig);
      const t0 = performance.now();
      let n = 0;
      for await (const _ of source.events(start)) if (++n >= options.changes) break;
      const secs = (performance.now() - t0) / 1000;
      await source.stop();
      return n / secs;
    };
    const throughBroker = async (guarantee: 'at-least-once' | 'exactly-once'): Promise<number> => {
      const p = pipeline(guarantee);
      await seed(p, start);
      const stop = new AbortController();
      const t0 = performance.now();
      let secs = 0;
      await runSourcePipeline(p, client, {
        signal: stop.signal,
        stream: devNull,
        onProgress: ({ records }) => {
          if (records >= options.changes && !stop.signal.aborted) {
            secs = (performance.now() - t0) / 1000;
            stop.abort();
          }
        },
      });
      return options.changes / secs;
    };

    // The same runtime and broker with a JSON-lines file of records shaped like the envelopes: what producing costs
    // without the database.
    const file = join(options.workDir, 'cdc-envelopes.jsonl');
    const lines: string[] = [];
    for (let i = 1; i <= options.changes; i++) {
      const after = { id: i, customer: `customer-${i % 1000}`, total: ((i % 10000) / 100).toFixed(2), created: '2023-11-14T22:13:20.000' };
      lines.push(JSON.stringify({ id: i, before: null, after, source: { version: 'x', connector: 'mysql', name: 'bench', ts_ms: 1, snapshot: 'false', db: 'tributary', table: 'orders', server_id: 1, file: 'mysql-bin.000001', pos: 12345, row: 0, gtid: '0-1-5' }, op: 'c', ts_ms: Date.now(), transaction: null }));
    }
    await writeFile(file, `${lines.join('\n')}\n`);
    let files = 0;
    const fileSource = async (): Promise<number> => {
      const p = parsePipeline({ name: `bench-cdc-file-${++files}`, topic: `bench-cdc-file-${files}`, source: { type: 'jsonl', path: file, keyColumn: 'id', guarantee: 'at-least-once' } }, 0, process.cwd());
      const t0 = performance.now();
      const r = await runSourcePipeline(p, client, { stream: devNull });
      return r.records / ((performance.now() - t0) / 1000);
    };

    const cases = [
      { name: 'binlog read alone (no broker)', run: binlogAlone, rates: [] as number[] },
      { name: 'jsonl file → broker, at-least-once', run: fileSource, rates: [] as number[] },
      { name: 'binlog → broker, at-least-once', run: () => throughBroker('at-least-once'), rates: [] as number[] },
      { name: 'binlog → broker, exactly-once', run: () => throughBroker('exactly-once'), rates: [] as number[] },
    ];
    for (let r = 0; r < options.rounds; r++) for (const c of cases) c.rates.push(await c.run());
    const base = median(cases[0].rates);
    const capture = cases.map((c) => ({ name: c.name, rates: c.rates, median: median(c.rates), ratio: median(c.rates) / base }));

    // Lag at a steady rate.
    const p = pipeline('at-least-once', 'never');
    const topic = `${(p.source as MysqlCdcSourceConfig).prefix}.tributary.orders`;
    const stop = new AbortController();
    const run = runSourcePipeline(p, client, { signal: stop.signal, stream: devNull });
    await new Promise((r) => setTimeout(r, 2000)); // connected to the binlog
    // Eight connections, so that one slow commit does not hold the pace.
    const pool = mysql.createPool({ uri: db.url, connectionLimit: 8 });
    let lag: CdcLag;
    try {
      lag = await measureCdcLag({
        client,
        topic,
        rate: options.lagRate,
        seconds: options.lagSeconds,
        insert: async (i) => (await pool.query<mysql.ResultSetHeader>('INSERT INTO orders (customer, total, created) VALUES (?, ?, NOW(3))', [`lag-${i}`, i % 100]))[0].insertId,
      });
    } finally {
      await pool.end();
      stop.abort();
      await run;
    }
    notes.push(...lag.notes);
    return {
      date: new Date().toISOString(),
      changes: options.changes,
      rounds: options.rounds,
      capture,
      lag: { rate: options.lagRate, seconds: options.lagSeconds, achievedRate: lag.achievedRate, count: lag.count, p50: lag.p50, p99: lag.p99, max: lag.max },
      notes,
    };
  } finally {
    await conn.end();
    await Promise.all([db.stop(), broker.stop()]);
  }
}

export function formatCdcTable(result: CdcBenchResult): string {
  const lines = [`\nChange data capture from MariaDB: ${result.changes.toLocaleString('en-US')} inserts in the binlog, median of ${result.rounds} round(s)`];
  lines.push('case'.padEnd(38) + 'changes/s'.padEnd(14) + 'vs binlog alone');
  for (const c of result.capture) lines.push(c.name.padEnd(38) + String(Math.round(c.median)).padEnd(14) + c.ratio.toFixed(2));
  const l = result.lag;
  lines.push(`lag, commit → record read from the topic, at ${l.rate} changes/s for ${l.seconds} s (achieved ${Math.round(l.achievedRate)}/s, ${l.count} changes): p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`);
  for (const n of result.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
