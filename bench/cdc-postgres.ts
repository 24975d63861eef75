/**
 * Change data capture from PostgreSQL (`npm run bench -- --only cdc-postgres`): a throwaway PostgreSQL with
 * wal_level=logical (test/compat/support/postgres.ts) and one broker process; rows of an INT key + ~100 B of text.
 *
 *   snapshot    rows/s of the initial snapshot of an N-row table (slot created with its exported snapshot, rows read
 *               as 'r' events by PostgresCdcSource, no broker)
 *   capture     N inserts (transactions of 100 rows) committed after the slots were made, read from each slot's
 *               start: changes per second through the whole source — pgoutput → Debezium envelope → broker
 *               acknowledged, at-least-once and exactly-once (`tributary connect`'s runtime, in this process) —
 *               against the replication stream read alone (the same PostgresCdcSource, events counted and
 *               acknowledged, no broker): the ratio is what producing costs. Rounds alternate the cases; each run
 *               has its own slot (a slot cannot be rewound).
 *   lag         single-row autocommit INSERTs paced at R changes/s for S seconds while the pipeline streams; per
 *               change, the time from the INSERT's commit acknowledged to the client to the record read by a consumer
 *               of the topic (fetch.max.wait 10 ms): p50/p99/max. A warm-up change first creates the topic.
 *
 * Everything runs on one machine with the database, the writer and the consumer: read the ratios, not the rates.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresCdcSource } from '../src/connect/cdc/postgres.js';
import { parsePipeline } from '../src/connect/config.js';
import { runSourcePipeline } from '../src/connect/source-runtime.js';
import type { PipelineConfig } from '../src/connect/types.js';
import { measureCdcLag, type CdcLag } from './cdc-lag.js';
import { median } from './support.js';
import { spawnBroker } from '../test/compat/support/broker-process.js';
import { startPostgres } from '../test/compat/support/postgres.js';

export interface CdcPostgresBenchOptions {
  /** Rows of the snapshot and inserts of the capture cases. */
  rows: number;
  rounds: number;
  /** Lag phase: changes per second and duration. */
  rate: number;
  seconds: number;
}

export interface CdcPostgresBenchResult {
  date: string;
  rows: number;
  rounds: number;
  snapshotRowsPerSec: number;
  capture: Array<{ name: string; rates: number[]; median: number; ratio: number }>;
  lag: { rate: number; seconds: number; achievedRate: number; count: number; p50: number; p99: number; max: number };
  notes: string[];
}

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
const PUBLICATION = 'bench_pub';

export async function runCdcPostgresBench(options: CdcPostgresBenchOptions): Promise<CdcPostgresBenchResult> {
  const work = await mkdtemp(join(tmpdir(), 'tributary-bench-cdc-pg-'));
  const [db, broker] = await Promise.all([
    startPostgres({ serverArgs: ['-c', 'wal_level=logical', '-c', 'max_wal_size=1GB', '-c', 'max_replication_slots=20', '-c', 'max_wal_senders=20'] }),
    spawnBroker(work, { settings: { 'num.partitions': '1' } }),
  ]);
  const client = { bootstrapServers: broker.address };
  const app = new pg.Client({ connectionString: db.adminUrl });
  const notes: string[] = [];
  try {
    await app.connect();
    await app.query('CREATE TABLE bench (id INT PRIMARY KEY, pad TEXT NOT NULL)');
    await app.query(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE bench`);
    const insert = async (from: number, count: number, pad: string): Promise<void> => {
      for (let base = from; base < from + count; base += 100) {
        const last = Math.min(base + 99, from + count - 1);
        await app.query(`INSERT INTO bench SELECT g, repeat('${pad}', 100) FROM generate_series(${base}, ${last}) g`);
      }
    };

    // Snapshot of N rows.
    await insert(1, options.rows, 'x');
    const snap = new PostgresCdcSource({ url: db.adminUrl, slot: 'bench_snapshot', publication: PUBLICATION });
    const t0 = performance.now();
    let n = 0;
    for await (const event of snap.events(null)) {
      snap.acknowledge(event.offset);
      if (++n === options.rows) break;
    }
    const snapshotRowsPerSec = options.rows / ((performance.now() - t0) / 1000);
    await snap.stop();
    await app.query("SELECT pg_drop_replication_slot('bench_snapshot')");

    // One slot per capture run, all made before the inserts they read.
    const cases = ['pgoutput read alone (no broker)', 'pgoutput → broker, at-least-once', 'pgoutput → broker, exactly-once'];
    const slots = new Map<string, string>();
    for (let r = 0; r < options.rounds; r++) {
      for (let c = 0; c < cases.length; c++) {
        const slot = `bench_${r}_${c}`;
        await app.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
        slots.set(`${r}/${c}`, slot);
      }
    }
    await insert(options.rows + 1, options.rows, 'y');

    const pipeline = (name: string, slot: string, guarantee: 'at-least-once' | 'exactly-once'): PipelineConfig =>
      parsePipeline({ name, source: { type: 'postgres', url: db.adminUrl, tables: ['public.bench'], prefix: name, slot, publication: PUBLICATION, snapshot: 'never', guarantee } }, 0, process.cwd());
    const alone = async (slot: string): Promise<number> => {
      const source = new PostgresCdcSource({ url: db.adminUrl, slot, publication: PUBLICATION, snapshot: 'never' });
      const start = performance.now();
      let count = 0;
      for await (const event of source.events(null)) {
        source.acknowledge(event.offset);
        if (++count >= options.rows) break;
      }
      const secs = (performance.now() - start) / 1000;
      await source.stop();
      return count / secs;
    };
    const throughBroker = async (slot: string, guarantee: 'at-least-once' | 'exactly-once'): Promise<number> => {
      const p = pipeline(`bench-cdc-pg-${slot.replace(/_/g, '-')}`, slot, guarantee);
      const stop = new AbortController();
      const start = performance.now();
      let secs = 0;
      await runSourcePipeline(p, client, {
        signal: stop.signal,
        stream: devNull,
        onProgress: ({ records }) => {
          if (records >= options.rows && !stop.signal.aborted) {
            secs = (performance.now() - start) / 1000;
            stop.abort();
          }
        },
      });
      return options.rows / secs;
    };
    const rates: number[][] = cases.map(() => []);
    for (let r = 0; r < options.rounds; r++) {
      rates[0]!.push(await alone(slots.get(`${r}/0`)!));
      rates[1]!.push(await throughBroker(slots.get(`${r}/1`)!, 'at-least-once'));
      rates[2]!.push(await throughBroker(slots.get(`${r}/2`)!, 'exactly-once'));
    }
    const base = median(rates[0]!);
    const capture = cases.map((name, i) => ({ name, rates: rates[i]!.map(Math.round), median: Math.round(median(rates[i]!)), ratio: median(rates[i]!) / base }));
    for (const slot of slots.values()) await app.query('SELECT pg_drop_replication_slot($1)', [slot]);

    // Lag at a steady rate, through the runtime and the broker to a consumer.
    await app.query("SELECT pg_create_logical_replication_slot('bench_lag', 'pgoutput')");
    const p = pipeline('bench-cdc-pg-lag', 'bench_lag', 'at-least-once');
    const topic = 'bench-cdc-pg-lag.public.bench';
    const stop = new AbortController();
    const run = runSourcePipeline(p, client, { signal: stop.signal, stream: devNull, producer: { lingerMs: 0 } });
    // One change first, so that the pipeline streams and the topic exists (created on its first record) before the clock runs.
    const first = 2 * options.rows + 2;
    // Eight connections, so that one slow commit does not hold the pace.
    const pool = new pg.Pool({ connectionString: db.adminUrl, max: 8 });
    let lag: CdcLag;
    try {
      lag = await measureCdcLag({
        client,
        topic,
        rate: options.rate,
        seconds: options.seconds,
        warmUp: async () => {
          await app.query("INSERT INTO bench VALUES ($1, 'warm-up')", [first - 1]);
          return first - 1;
        },
        insert: async (i) => {
          await pool.query("INSERT INTO bench VALUES ($1, 'lag')", [first + i]);
          return first + i;
        },
      });
    } finally {
      await pool.end();
      stop.abort();
      await run;
    }
    notes.push(...lag.notes);
    return {
      date: new Date().toISOString(),
      rows: options.rows,
      rounds: options.rounds,
      snapshotRowsPerSec: Math.round(snapshotRowsPerSec),
      capture,
      lag: { rate: options.rate, seconds: options.seconds, achievedRate: Math.round(lag.achievedRate), count: lag.count, p50: lag.p50, p99: lag.p99, max: lag.max },
      notes,
    };
  } finally {
    await app.end().catch(() => {});
    await Promise.all([db.stop(), broker.stop()]);
    await rm(work, { recursive: true, force: true });
  }
}

export function formatCdcPostgresTable(r: CdcPostgresBenchResult): string {
  const lines = [`\nChange data capture from PostgreSQL: ${r.rows.toLocaleString('en-US')} rows/inserts of ~100 B, median of ${r.rounds} round(s)`];
  lines.push(`${'snapshot (no broker)'.padEnd(38)}${`${r.snapshotRowsPerSec} rows/s`}`);
  lines.push('case'.padEnd(38) + 'changes/s'.padEnd(14) + 'vs pgoutput alone');
  for (const c of r.capture) lines.push(c.name.padEnd(38) + String(c.median).padEnd(14) + `${c.ratio.toFixed(2)}×   (${c.rates.join(', ')})`);
  const l = r.lag;
  lines.push(`lag commit → record on the topic at ${l.rate}/s for ${l.seconds} s (achieved ${l.achievedRate}/s, ${l.count} read): p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`);
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [rows, rounds, rate, seconds] = process.argv.slice(2).map(Number);
  const result = await runCdcPostgresBench({ rows: rows || 50_000, rounds: rounds || 2, rate: rate || 1000, seconds: seconds || 10 });
  console.log(formatCdcPostgresTable(result));
  console.log(JSON.stringify(result));
}
